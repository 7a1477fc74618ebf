"""The published VGGT-1B parts of the `full` backbone: sizes on the meta device, the ViT patch embedding, reload."""

from __future__ import annotations

import pytest
import torch

from nvpanoptix3d.config import ExperimentConfig
from nvpanoptix3d.engine.build import model_kwargs_3d
from nvpanoptix3d.network.backbone import dpt_pyramid_params
from nvpanoptix3d.network.camera_head import camera_head_params
from nvpanoptix3d.network.dpt_head import dpt_head_params
from nvpanoptix3d.network.frustum3d import NVPanoptix3D
from nvpanoptix3d.network.patch_embed import VIT_PATCH_EMBEDS, ViTPatchEmbed, build_patch_embed, vit_patch_embed_params

PUBLISHED_TOTAL = 1.4e9  # TAO docs: "The total model size is approximately 1.4 billion parameters."
TOLERANCE = 0.075  # the simplified 2D/3D decoders are listed in docs/architecture.md, "Backbone"


def _n(module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_full_preset_parts_and_total_match_the_published_sizes():
    with torch.device("meta"):
        model = NVPanoptix3D(**model_kwargs_3d(ExperimentConfig()))  # spec defaults, `full` preset
    bb = model.backbone
    vit = _n(bb.aggregator.patch_embed)
    blocks = _n(bb.aggregator.frame_blocks) + _n(bb.aggregator.global_blocks)
    camera, dpt, pyramid, total = _n(bb.camera_head), _n(bb.depth_head), _n(bb.dpt2pixeldecoder), _n(model)
    parts = (f"patch_embed {vit:,}, aggregator blocks {blocks:,}, camera_head {camera:,}, depth_head {dpt:,}, "
             f"dpt2pixeldecoder {pyramid:,}, "
             f"backbone {_n(bb):,}, 2D {total - _n(model.completion) - _n(model.projector):,}, total {total:,}")
    assert vit == vit_patch_embed_params(**VIT_PATCH_EMBEDS["dinov2_vitl14_reg"]) == 304_372_736, parts  # ViT-L/14
    assert blocks == 604_729_344, parts
    assert camera == camera_head_params(dim_in=2048) == 216_174_610, parts
    assert dpt == dpt_head_params(dim_in=2048) == 32_654_562, parts
    assert pyramid == dpt_pyramid_params(dim_in=2048, out_channels=(256, 512, 1024, 2048)) == 146_298_624, parts
    assert abs(total - PUBLISHED_TOTAL) <= TOLERANCE * PUBLISHED_TOTAL, parts


def test_vit_patch_embed_runs_on_a_non_square_input():
    torch.manual_seed(0)
    vit = ViTPatchEmbed(img_size=56, patch_size=14, embed_dim=32, depth=2, num_heads=4, num_register_tokens=4).eval()
    out = vit(torch.randn(2, 3, 42, 70))
    assert out.shape == (2, 32, 3, 5)  # 15 patch tokens, cls and registers dropped
    assert torch.isfinite(out).all()
    assert vit.interpolate_pos_embed(3, 5).shape == (1, 1 + 15, 32)
    assert vit.interpolate_pos_embed(4, 4) is vit.pos_embed  # the pre-training grid is used as is


def test_patch_embed_choices_are_validated():
    with pytest.raises(ValueError, match="unknown patch_embed `vit_huge`; choose one of conv, dinov2_vitl14_reg"):
        build_patch_embed("vit_huge", patch_size=14, embed_dim=1024)
    with pytest.raises(ValueError, match="must agree"):
        build_patch_embed("dinov2_vitl14_reg", patch_size=8, embed_dim=96)


def test_vggt_parts_forward_and_state_dict_round_trip(tmp_path, tiny_vggt_model):
    model = tiny_vggt_model().eval()
    assert model.sem_seg_head.depth_head is None  # the DPT head predicts depth, no second depth head
    x = torch.rand(1, 3, 48, 64)
    out = model(x)
    assert out["pred_depth"].shape == (1, 1, 48, 64) and (out["pred_depth"] > 0).all()
    assert out["pred_pose_enc"].shape == (1, 9) and not out["pred_pose_enc"].requires_grad
    assert not any(p.requires_grad for p in model.backbone.camera_head.parameters())  # frozen, passed through
    assert out["depth_features"].shape == (1, 32, 12, 16)
    torch.save(model.state_dict(), tmp_path / "w.pth")
    other = tiny_vggt_model()
    for p in other.parameters():
        torch.nn.init.normal_(p)
    other.load_state_dict(torch.load(tmp_path / "w.pth"))
    again = other.eval()(x)
    for key in ("pred_logits", "pred_depth", "pred_pose_enc"):
        assert torch.equal(out[key], again[key]), key


def test_checkpoints_with_the_old_layerscale_keys_still_load(tiny_vggt_model):
    model = tiny_vggt_model().eval()
    old = {k.replace(".ls1.gamma", ".ls1").replace(".ls2.gamma", ".ls2"): v for k, v in model.state_dict().items()}
    assert any(k.endswith(".ls1") for k in old)
    other = tiny_vggt_model()
    for p in other.parameters():
        torch.nn.init.normal_(p)
    other.load_state_dict(old)  # a plain dict carries no version: read as v1 and remapped
    x = torch.rand(1, 3, 48, 64)
    assert torch.equal(model(x)["pred_logits"], other.eval()(x)["pred_logits"])


def test_engine_weight_loading_also_maps_the_old_layerscale_keys(tiny_vggt_model):
    """``engine.checkpoint_io.load_weights`` (train.checkpoint_2d, evaluate, export) matches keys before loading,
    so it maps the old names itself rather than relying on ``Block._load_from_state_dict``."""
    from nvpanoptix3d.engine.checkpoint_io import load_weights

    model = tiny_vggt_model().eval()
    old = {"model." + k.replace(".ls1.gamma", ".ls1").replace(".ls2.gamma", ".ls2"): v
           for k, v in model.state_dict().items()}
    other = tiny_vggt_model()
    for p in other.parameters():
        torch.nn.init.normal_(p)
    report = load_weights(other, old, source="old checkpoint", min_match=1.0)
    assert not report["missing"]
    x = torch.rand(1, 3, 48, 64)
    assert torch.equal(model(x)["pred_logits"], other.eval()(x)["pred_logits"])
