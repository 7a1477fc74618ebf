"""NVIDIA's VGGT-1B parts of the `full` preset: parameter counts per part on the meta device, the ViT patch
embedding, reload of our own and of older checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from nvpanoptix3d.config import ExperimentConfig
from nvpanoptix3d.engine.build import model_kwargs_3d
from nvpanoptix3d.network.frustum3d import NVPanoptix3D
from nvpanoptix3d.network.patch_embed import VIT_PATCH_EMBEDS, ViTPatchEmbed, vit_patch_embed_params

NV_KEYS = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "nv_state_dict_keys.json"


def _n(module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_full_preset_parts_have_nvidias_parameter_counts():
    """Every 2D part of the spec-default model has the parameter count NVIDIA's own classes report."""
    groups = json.loads(NV_KEYS.read_text())["models"]["3d"]["groups"]
    with torch.device("meta"):
        model = NVPanoptix3D(**model_kwargs_3d(ExperimentConfig()))  # spec defaults, `full` preset
    bb, head = model.backbone, model.sem_seg_head
    ours = {"backbone.aggregator.patch_embed": _n(bb.aggregator.patch_embed),
            "backbone.aggregator.blocks+tokens": _n(bb.aggregator) - _n(bb.aggregator.patch_embed),
            "backbone.camera_head": _n(bb.camera_head), "backbone.depth_head": _n(bb.depth_head),
            "backbone.dpt2pixeldecoder": _n(bb.dpt2pixeldecoder), "sem_seg_head.pixel_decoder": _n(head.pixel_decoder),
            "sem_seg_head.predictor": _n(head.predictor), "sem_seg_head.occupancy_module": _n(head.occupancy_module),
            "sem_seg_head.depth_projector": _n(head.depth_projector)}
    assert ours == {k: groups[k]["param_elements"] for k in ours}
    assert ours["backbone.aggregator.patch_embed"] == vit_patch_embed_params(**VIT_PATCH_EMBEDS["dinov2_vitl14_reg"])
    assert not any(p.requires_grad for p in bb.aggregator.parameters())  # NVIDIA freezes the VGGT trunk


def test_vit_patch_embed_runs_on_a_non_square_input():
    torch.manual_seed(0)
    vit = ViTPatchEmbed(img_size=56, patch_size=14, embed_dim=32, depth=2, num_heads=4, num_register_tokens=4).eval()
    out = vit(torch.randn(2, 3, 42, 70))
    assert out.shape == (2, 32, 3, 5)  # 15 patch tokens, cls and registers dropped
    assert torch.isfinite(out).all()
    assert vit.interpolate_pos_embed(3, 5).shape == (1, 1 + 15, 32)
    assert vit.interpolate_pos_embed(4, 4) is vit.pos_embed  # the pre-training grid is used as is


def test_vggt_parts_forward_and_state_dict_round_trip(tmp_path, tiny_vggt_model):
    model = tiny_vggt_model().eval()
    x = torch.rand(1, 3, 48, 64)
    out = model(x)
    assert out["pred_depth"].shape == (1, 1, 48, 64) and (out["pred_depth"] > 0).all()
    assert out["pred_pose_enc"].shape == (1, 9) and not out["pred_pose_enc"].requires_grad
    assert not any(p.requires_grad for p in model.backbone.camera_head.parameters())  # frozen, passed through
    assert out["depth_features"].shape == (1, 32, 8, 8)  # coarsest DPT map: 48x64 padded to 64x64, VGGT input 112x112
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
    report = load_weights(other, old, source="old checkpoint")
    assert not report["missing"]
    x = torch.rand(1, 3, 48, 64)
    assert torch.equal(model(x)["pred_logits"], other.eval()(x)["pred_logits"])


def test_pos_embed_resize_exports_to_onnx_as_the_same_map():
    """ONNX has no antialiased bicubic resize: while exporting, the table is resized by two constant matrices
    that equal PyTorch's resize (checked here), and onnxruntime gives PyTorch's tokens."""
    import io

    import onnxruntime as ort

    from nvpanoptix3d.network.patch_embed import aa_bicubic_matrix

    torch.manual_seed(0)
    table = torch.randn(1, 8, 37, 37)
    ref = torch.nn.functional.interpolate(table, size=(9, 11), mode="bicubic", align_corners=False, antialias=True)
    mats = torch.einsum("hi,bcij,wj->bchw", aa_bicubic_matrix(37, 9), table, aa_bicubic_matrix(37, 11))
    assert (mats - ref).abs().max() < 1e-5
    vit = ViTPatchEmbed(img_size=518, patch_size=14, embed_dim=16, depth=1, num_heads=2, num_register_tokens=4).eval()
    torch.nn.init.normal_(vit.pos_embed)
    x = torch.randn(1, 3, 42, 70)
    buf = io.BytesIO()
    torch.onnx.export(vit, (x,), buf, opset_version=17, dynamo=False)
    got = ort.InferenceSession(buf.getvalue()).run(None, {ort.InferenceSession(buf.getvalue()).get_inputs()[0].name:
                                                          x.numpy()})[0]
    with torch.no_grad():
        want = vit(x).numpy()
    assert abs(got - want).max() <= 1e-4 * max(1.0, abs(want).max())
