"""Named backbone presets (the name is the spec: ``model.backbone.preset``) of NVIDIA's architecture.

Both presets build the same network (network/vggt.py + network/maskformer.py); the decoder widths come from
the spec, the VGGT sizes from the preset. ``full`` is NVIDIA's VGGT-1B configuration: the DINOv2 ViT-L/14
patch embedding with 4 registers, 24 frame + 24 global blocks of width 1024 with 16 heads, the camera head,
the DPT depth head and the ``dpt2pixeldecoder``, NVIDIA's 448-pixel-wide VGGT input and a frozen
aggregator; at the spec defaults its state dict is NVIDIA's, entry for entry. ``tiny`` has small widths, 4
aggregator layers, a 1-block DINO patch embedding, a 224-pixel-wide VGGT input and a trainable aggregator
(trained from scratch on a laptop CPU: the demo and the tests).

Two entries are not VGGT arguments: ``vggt_input_width`` (the model's input resize) and
``occupancy_fuse_channels`` (the multi-plane occupancy head's per-level width, NVIDIA's 16).
"""

from __future__ import annotations

_PRESETS: dict[str, dict] = {
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


def list_presets() -> list[str]:
    return sorted(_PRESETS)


def backbone_preset(name: str, **overrides) -> dict:
    """VGGT backbone kwargs (plus ``vggt_input_width`` and ``occupancy_fuse_channels``) of a preset."""
    if name not in _PRESETS:
        raise ValueError(f"unknown backbone preset `{name}`; choose one of {', '.join(list_presets())}")
    return dict(_PRESETS[name], **overrides)
