"""NVIDIA's ``model.frustum3d.use_multi_scale`` (its front3d 3D specs): the state dict of the full preset, the
k3 s2 sparse max-pool pyramid of the lifting on hand-built voxels, and a small sparse-backend forward/backward
that feeds the multi-scale voxels to ``completion.feature_adapters``."""

from __future__ import annotations

import json

import pytest
import torch

from nvpanoptix3d.config import ExperimentConfig
from nvpanoptix3d.engine.build import model_kwargs_3d
from nvpanoptix3d.geometry import FRONT3D_INTRINSIC, FrustumGrid, scale_intrinsic
from nvpanoptix3d.network import backbone_preset
from nvpanoptix3d.network.frustum3d import NVPanoptix3D
from nvpanoptix3d.network.frustum3d.sparse_pool import max_pool_pyramid, sparse_max_pool
from nvpanoptix3d.network.frustum3d.sparse_rows import SparseRows
from tests.network.parity.module_checks import NV_KEYS, nv_shapes, our_shapes

SMALL = dict(conv_dim=32, mask_dim=32, depth_dim=32, enc_layers=1, nheads=4, transformer_dim_feedforward=64,
             hidden_dim=32, num_queries=8, dim_feedforward=64, dec_layers=3, depth_bins=8, reduced_size=(32, 24))
D = 64
SIZE = (64, 48)  # (W, H)


def test_full_preset_with_multi_scale_has_nvidias_2095_entries():
    nv = nv_shapes("3d", "")
    extra = json.loads(NV_KEYS.read_text())["models"]["3d_multiscale_extra"]
    nv.update({k: tuple(v) for k, v in extra["extra_state_dict"].items()})
    assert len(nv) == extra["entries_total"] == 2095
    with torch.device("meta"):
        model = NVPanoptix3D(**{**model_kwargs_3d(ExperimentConfig()), "backend": "sparse",
                                "use_multi_scale": True})
    ours = our_shapes(model)
    assert sorted(set(nv) - set(ours)) == [] and sorted(set(ours) - set(nv)) == []
    assert {k: v for k, v in ours.items() if nv[k] != v} == {}


def test_multi_scale_on_the_dense_backend_is_refused():
    with pytest.raises(ValueError, match="use_multi_scale needs model.frustum3d.backend=sparse"):
        with torch.device("meta"):
            NVPanoptix3D(**{**model_kwargs_3d(ExperimentConfig()), "backend": "dense", "use_multi_scale": True})


def test_sparse_max_pool_rule_on_hand_built_voxels():
    """Outputs at unique(floor(x / 2)); output o = max over present inputs 2o + {-1, 0, 1} per axis; repeated
    coordinates: the last row counts; batches stay apart; negative coordinates floor."""
    coords = torch.tensor([[0, 0, 0, 0],   # -> o (0,0,0); also a neighbour of nothing else
                           [0, 1, 0, 0],   # odd x: inside the windows of o x=0 and x=1
                           [0, 2, 0, 0],   # -> o (1,0,0)
                           [0, -1, 0, 0],  # -> o (-1,0,0), and inside o (0,0,0)'s window
                           [0, 2, 0, 0],   # repeat of (2,0,0): this later row wins
                           [1, 1, 0, 0]])  # another image: its own output (0,0,0)
    feats = torch.tensor([[1.0, 0.0], [2.0, 5.0], [9.0, 9.0], [4.0, -1.0], [3.0, -2.0], [7.0, 7.0]])
    out = sparse_max_pool(SparseRows(coords, feats, 1))
    assert out.stride == 2
    assert out.coords.tolist() == [[0, -1, 0, 0], [0, 0, 0, 0], [0, 1, 0, 0], [1, 0, 0, 0]]
    # o=-1: inputs x in {-3,-2,-1} -> only x=-1; o=0: x in {-1,0,1}; o=1: x in {1,2,3} -> x=1 and the last
    # (2,0,0) row; image 1: only its own row.
    expected = torch.tensor([[4.0, -1.0], [4.0, 5.0], [3.0, 5.0], [7.0, 7.0]])
    assert torch.equal(out.feats, expected)
    levels = max_pool_pyramid(SparseRows(coords, feats, 1))
    assert [lv.stride for lv in levels] == [2, 4, 8]
    assert torch.equal(levels[0].feats, expected)
    # stride 4 from stride 2: x -1 -> -1 (window {-3,-2,-1}: only -1), x 0, 1 -> 0 (window {-1, 0, 1}).
    assert levels[1].coords.tolist() == [[0, -1, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0]]
    assert torch.equal(levels[1].feats, torch.tensor([[4.0, -1.0], [4.0, 5.0], [7.0, 7.0]]))
    # y and z follow the same rule: outputs unique(floor) = {(0, 1, 2)}; y=3 would also reach o_y=2, but no
    # input creates that output, so both rows pool into (0, 1, 2).
    diag = sparse_max_pool(SparseRows(torch.tensor([[0, 0, 2, 4], [0, 0, 3, 4]]), torch.tensor([[1.0], [5.0]]), 1))
    assert diag.coords.tolist() == [[0, 0, 1, 2]] and diag.feats.tolist() == [[5.0]]


def test_small_model_multi_scale_forward_backward(one_thread):
    torch.manual_seed(0)
    model = NVPanoptix3D(backbone=backbone_preset("tiny", vggt_input_width=112), grid_dims=D, voxel_size=0.1,
                         unet_features=4, unet_output_channels=4, backend="sparse", object_mask_threshold=0.0,
                         use_multi_scale=True, **SMALL).train()
    assert model.completion.feature_adapters[0][0].conv1.weight.shape == (27, 32 + 16, 4)
    k = torch.from_numpy(scale_intrinsic(FRONT3D_INTRINSIC, (320, 240), SIZE))[None]
    frustum = torch.from_numpy(FrustumGrid.cube(D, 0.1).frustum_mask(k[0].numpy(), SIZE))[None]
    images = torch.rand(1, 3, SIZE[1], SIZE[0], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out2d = super(NVPanoptix3D, model).forward(images)
    x, levels = model.lifter.forward_multi_scale(out2d, model.encoder_features(out2d), k, frustum, SIZE)
    assert [lv.stride for lv in levels] == [2, 4, 8]
    assert [lv.spatial_shape for lv in levels] == [(32,) * 3, (16,) * 3, (8,) * 3]
    for lv in levels:
        assert lv.num_voxels > 0 and lv.feats.shape[1] == 32 + 16
        assert torch.unique(lv.coords, dim=0).shape[0] == lv.num_voxels
        assert torch.isfinite(lv.feats).all()
        # both halves are filled somewhere: projected level features and the pooled lifting
        assert lv.feats[:, :32].abs().sum() > 0 and lv.feats[:, 32:].abs().sum() > 0
    out = model(images, k, frustum)
    assert out["pred_geometry"].shape == (1, D, D, D)
    assert [tuple(o.shape) for o in out["pred_occupancy"]] == [(1, 16, 16, 16), (1, 32, 32, 32), (1, D, D, D)]
    finite = [torch.where(o > -1e8, o, torch.zeros_like(o)) for o in out["pred_occupancy"]]
    assert all(torch.isfinite(o).all() for o in finite) and torch.isfinite(out["pred_geometry"]).all()
    loss = sum(o.sigmoid().mean() for o in out["pred_occupancy"]) + out["pred_geometry"].mean()
    loss = loss + sum(m.sigmoid().mean() for m in out["pred_masks_3d"])
    loss.backward()
    for j in range(3):
        for p in model.completion.feature_adapters[j].parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all()
        assert model.completion.feature_adapters[j][0].conv1.weight.grad.abs().sum() > 0
