"""The network: forward contract per preset and mode, matching, reload, training signal, lifting geometry."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nvpanoptix3d.geometry import FRONT3D_INTRINSIC, FrustumGrid, scale_intrinsic
from nvpanoptix3d.network import MaskFormerModel, SetCriterion2D, backbone_preset, hungarian_match, list_presets
from nvpanoptix3d.network.frustum3d import NVPanoptix3D, SetCriterion3D, panoptic_3d
from nvpanoptix3d.network.postprocess import panoptic_2d

SMALL = dict(conv_dim=32, mask_dim=32, depth_dim=32, enc_layers=1, nheads=4, transformer_dim_feedforward=64,
             hidden_dim=32, num_queries=8, dim_feedforward=64, dec_layers=3, depth_bins=8, reduced_size=(32, 24))
TINY = dict(vggt_input_width=112)  # a 112-pixel-wide VGGT input keeps these tests fast


def _tiny(**kw):
    torch.manual_seed(0)
    return MaskFormerModel(backbone=backbone_preset("tiny", **TINY), **{**SMALL, **kw})


@pytest.mark.parametrize("preset", [p for p in list_presets() if p != "full"])
def test_forward_contract(preset):
    model = MaskFormerModel(backbone=backbone_preset(preset, **TINY), **SMALL).eval()
    out = model(torch.rand(2, 3, 48, 64))
    assert out["pred_logits"].shape == (2, 8, 14)
    assert out["pred_masks"].shape == (2, 8, 24, 32)  # the image at half resolution
    assert len(out["aux_outputs"]) == 2 and out["aux_outputs"][0]["pred_masks"].shape == (2, 8, 24, 32)
    assert out["pred_depth"].shape == (2, 1, 48, 64) and (out["pred_depth"] > 0).all()
    assert out["pred_mp_occ"].shape == (2, 8, 24, 32)
    assert out["query_features"].shape == (2, 8, 32)
    assert out["pred_pose_enc"].shape == (2, 9) and not out["pred_pose_enc"].requires_grad


def test_padding_and_resize_follow_nvidias_preprocessing():
    """A 240x320 image is padded to 256x320 (multiple of 32) and resized to 364x448 for VGGT (NVIDIA's code);
    the outputs are brought back to the unpadded image."""
    from nvpanoptix3d.network.maskformer import vggt_input_size

    assert vggt_input_size((256, 320), 448) == (364, 448)
    assert vggt_input_size((64, 96), 448) == (294, 448)
    model = MaskFormerModel(backbone=backbone_preset("tiny", **TINY), **SMALL, size_divisibility=32).eval()
    vggt_in, pad = model.prepare_images(torch.rand(1, 3, 48, 70))
    assert pad == (64, 96) and vggt_in.shape == (1, 1, 3, 70, 112)
    out = model(torch.rand(1, 3, 48, 70))
    assert out["pred_depth"].shape == (1, 1, 48, 70) and out["pred_masks"].shape == (1, 8, 24, 35)


@pytest.mark.parametrize("mode", ["panoptic", "instance", "semantic"])
def test_postprocess_modes(mode):
    logits = torch.full((4, 14), -5.0)
    logits[0, 3] = logits[1, 3] = logits[2, 10] = logits[3, 10] = 5.0
    masks = torch.full((4, 8, 8), -5.0)
    masks[0, :4, :4] = masks[1, :4, 4:] = masks[2, 4:, :4] = masks[3, 4:, 4:] = 5.0
    r = panoptic_2d(logits, masks, size=(8, 8), num_thing_classes=9, object_mask_threshold=0.5,
                    overlap_threshold=0.5, mode=mode)
    kinds = sorted((s["category_id"], s["isthing"]) for s in r["segments"])
    if mode == "panoptic":
        assert kinds == [(3, True), (3, True), (10, False)]  # two chairs, one merged wall
    elif mode == "instance":
        assert kinds == [(3, True), (3, True)] and (r["panoptic"][4:, :] == 0).all()
    else:
        assert kinds == [(3, False), (10, False)] or kinds == [(3, True), (10, False)]


def test_hungarian_matching_on_a_hand_built_case():
    logits = torch.full((1, 3, 5), -10.0)
    logits[0, 0, 2] = logits[0, 1, 1] = logits[0, 2, 4] = 10.0  # query 0 says class 2, query 1 class 1
    masks = torch.full((1, 3, 4, 4), -10.0)
    masks[0, 0, :2] = 10.0
    masks[0, 1, 2:] = 10.0
    t_masks = torch.zeros(2, 4, 4, dtype=torch.bool)
    t_masks[0, 2:] = True
    t_masks[1, :2] = True
    (q, t), = hungarian_match(logits, masks, [{"labels": torch.tensor([1, 2]), "masks": t_masks}], class_weight=2,
                              mask_weight=5, dice_weight=5, num_points=64)
    assert dict(zip(q.tolist(), t.tolist())) == {0: 1, 1: 0}


def test_state_dict_round_trip_gives_identical_outputs(tmp_path):
    model = _tiny().eval()
    torch.save(model.state_dict(), tmp_path / "w.pth")
    other = _tiny()
    for p in other.parameters():
        torch.nn.init.normal_(p)
    other.load_state_dict(torch.load(tmp_path / "w.pth"))
    x = torch.rand(1, 3, 48, 64)
    assert torch.equal(model(x)["pred_logits"], other.eval()(x)["pred_logits"])


def test_tiny_model_learns_a_scene():
    torch.manual_seed(0)
    model = _tiny()
    crit = SetCriterion2D(num_classes=13, num_points=256)
    img = torch.zeros(1, 3, 48, 64)
    img[:, 0, 10:30, 10:30] = 1.0
    masks = torch.zeros(2, 48, 64, dtype=torch.bool)
    masks[0, 10:30, 10:30] = True
    masks[1] = ~masks[0]
    target = [{"labels": torch.tensor([3, 10]), "masks": masks, "depth": torch.full((48, 64), 2.0),
               "mp_occ": torch.zeros(8, 24, 32)}]
    opt = torch.optim.AdamW(model.parameters(), 2e-3)
    first = None
    for _ in range(40):
        loss = crit(model(img), target)[0]["loss"]
        first = first or float(loss.detach())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss) < first / 3


@pytest.mark.parametrize("backend", ["dense", "sparse"])
def test_two_stage_model_runs_and_3d_losses_backpropagate(backend):
    torch.manual_seed(0)
    model = NVPanoptix3D(backbone=backbone_preset("tiny", **TINY), grid_dims=64, voxel_size=0.1, unet_features=4,
                         unet_output_channels=4, backend=backend, object_mask_threshold=0.0, **SMALL)
    size = (64, 48)
    k = torch.from_numpy(scale_intrinsic(FRONT3D_INTRINSIC, (320, 240), size))[None]
    frustum = torch.from_numpy(FrustumGrid.cube(64, 0.1).frustum_mask(k[0].numpy(), size))[None]
    out = model(torch.rand(1, 3, 48, 64), k, frustum)
    assert [o.shape[-1] for o in out["pred_occupancy"]] == [16, 32, 64]
    assert out["pred_masks_3d"][-1].shape == (1, 8, 64, 64, 64)
    batch = {"frustum_mask": frustum, "weighting": torch.ones(1, 64, 64, 64),
             "occupancy": [[torch.zeros(64, 64, 64), torch.zeros(32, 32, 32), torch.zeros(16, 16, 16)]],
             "geometry": torch.full((1, 64, 64, 64), 3.0), "gt_masks_3d": [torch.zeros(1, 64, 64, 64, dtype=torch.bool)]}
    losses = SetCriterion3D()(out, batch, [(torch.tensor([0]), torch.tensor([0]))])
    losses["loss_3d"].backward()
    assert model.completion.input_encoders[0].conv1.weight.grad is not None
    assert model.projector.conv_block2.weight.grad is not None
    assert all(p.grad is None for n, p in model.named_parameters() if n.startswith(("backbone.", "sem_seg_head.")))
    r = panoptic_3d({k2: v.detach() if torch.is_tensor(v) else [x.detach() for x in v] if k2.startswith("pred_") and isinstance(v, list) else v
                     for k2, v in out.items() if k2 != "aux_outputs"}, 0, frustum=frustum[0], num_thing_classes=9,
                    object_mask_threshold=0.0, truncation=3.0)
    assert r["panoptic"].shape == (64, 64, 64) and r["geometry"].shape == (64, 64, 64)
