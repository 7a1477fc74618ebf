"""Named trunk presets (the name is the spec: ``model.backbone.preset``).

``full`` is the published VGGT-1B backbone of NVPanoptix3D: the DINOv2 ViT-L/14 patch embedding with 4
registers (304.4 M parameters), the aggregator's 24 frame + 24 global blocks of width 1024 with 16 heads
(604.7 M), the camera head (216.2 M, frozen in NVIDIA's recipe), the DPT depth head (32.7 M) and the
``dpt2pixeldecoder`` pyramid adapter (146.3 M): 1,304.2 M in the backbone and 1,327.7 M for the whole 2D+3D
model at the spec defaults, against about 1.4 B stated by NVIDIA (the rest: docs/architecture.md, "Backbone").
``tiny`` (a few million parameters, convolutional patch embedding, no VGGT heads) trains on a laptop CPU.
The decoder widths come from the spec, not from the preset.
"""

from __future__ import annotations

from typing import Callable

_PRESETS: dict[str, Callable[..., dict]] = {}


def register_preset(fn: Callable[..., dict]) -> Callable[..., dict]:
    _PRESETS[fn.__name__] = fn
    return fn


@register_preset
def full(**overrides) -> dict:
    return dict(dict(patch_size=14, embed_dim=1024, depth=24, num_heads=16, num_register_tokens=4,
                     feature_layers=(4, 11, 17, 23), out_channels=(256, 512, 1024, 2048),
                     patch_embed="dinov2_vitl14_reg", camera_head=True, depth_head=True, dpt_features=256,
                     dpt_out_channels=(256, 512, 1024, 1024), dpt_layers=(4, 11, 17, 23), pyramid="dpt"), **overrides)


@register_preset
def tiny(**overrides) -> dict:
    return dict(dict(patch_size=8, embed_dim=96, depth=4, num_heads=4, num_register_tokens=2,
                     feature_layers=(0, 1, 2, 3), out_channels=(64, 64, 96, 128), patch_embed="conv",
                     camera_head=False, depth_head=False, pyramid="linear"), **overrides)


def list_presets() -> list[str]:
    return sorted(_PRESETS)


def backbone_preset(name: str, **overrides) -> dict:
    if name not in _PRESETS:
        raise ValueError(f"unknown backbone preset `{name}`; choose one of {', '.join(list_presets())}")
    return _PRESETS[name](**overrides)


# NVIDIA's architecture (network/vggt.py + network/maskformer.py): the VGGT sizes of each preset. The decoder
# widths come from the spec. ``full`` is NVIDIA's VGGT-1B configuration with NVIDIA's 448-pixel-wide VGGT input;
# ``tiny`` is the same network with small widths, 4 aggregator layers, a 1-block DINO patch embedding and a
# 224-pixel-wide VGGT input, trained from scratch (aggregator not frozen) on a laptop CPU.
_VGGT_PRESETS: dict[str, dict] = {
    "full": dict(img_size=518, patch_size=14, embed_dim=1024, depth=24, num_heads=16, num_register_tokens=4,
                 dino_depth=24, dino_num_heads=16, enable_camera=True, camera_trunk_depth=4, camera_num_heads=16,
                 dpt_out_channels=(256, 512, 1024, 1024), intermediate_layer_idx=(4, 11, 17, 23),
                 num_inter_features=(256, 512, 1024, 2048), freeze_aggregator=True, vggt_input_width=448,
                 occupancy_fuse_channels=16),
    "tiny": dict(img_size=518, patch_size=14, embed_dim=64, depth=4, num_heads=4, num_register_tokens=4,
                 dino_depth=1, dino_num_heads=4, enable_camera=True, camera_trunk_depth=1, camera_num_heads=4,
                 dpt_out_channels=(16, 32, 64, 64), intermediate_layer_idx=(0, 1, 2, 3),
                 num_inter_features=(16, 32, 64, 128), freeze_aggregator=False, vggt_input_width=224,
                 occupancy_fuse_channels=4),
}


def vggt_preset(name: str, **overrides) -> dict:
    """VGGT backbone kwargs (plus ``vggt_input_width``) of a preset of NVIDIA's architecture."""
    if name not in _VGGT_PRESETS:
        raise ValueError(f"unknown backbone preset `{name}`; choose one of {', '.join(sorted(_VGGT_PRESETS))}")
    return dict(_VGGT_PRESETS[name], **overrides)
