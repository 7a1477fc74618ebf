"""NVIDIA's 3D completion network on our sparse layers: state-dict keys/shapes at the full default size, each
sparse layer kind against its dense torch equivalent (values and gradients), warpconvnet's per-voxel
instance norm, and a small forward + backward whose outputs densify as the pipeline expects."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from nvpanoptix3d.network.completion import FrustumDecoder, SparseConv3d, SparseInstanceNorm
from nvpanoptix3d.network.completion.decoder import children_targets
from nvpanoptix3d.network.completion.dense_execution import DenseFrustumDecoder
from nvpanoptix3d.network.completion.sparse_layers import add_voxels, cat_union
from nvpanoptix3d.network.frustum3d.sparse import SparseTensor
from nvpanoptix3d.network.frustum3d.criterion import SetCriterion3D
from nvpanoptix3d.network.frustum3d.densify import densify


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/network/conftest.py


KEYS = Path("/work/shared/reference/nv_state_dict_keys.json")
GRID = 8


def _active(seed: int, channels: int, density: float = 0.3, batch: int = 2) -> tuple[SparseTensor, torch.Tensor]:
    """A random sparse tensor on a GRID^3 grid and its dense (B, C, X, Y, Z) twin (zeros where inactive)."""
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(batch, GRID, GRID, GRID, generator=g) < density
    coords = mask.nonzero()
    perm = torch.randperm(coords.shape[0], generator=g)  # the layers must not rely on the input order
    coords = coords[perm]
    feats = torch.randn(coords.shape[0], channels, generator=g, dtype=torch.float64)
    x = SparseTensor(coords, feats.clone().requires_grad_(), (GRID,) * 3, batch)
    b, i, j, k = coords.unbind(1)
    dense = torch.zeros(batch, GRID, GRID, GRID, channels, dtype=torch.float64).index_put((b, i, j, k), feats)
    dense = dense.permute(0, 4, 1, 2, 3).contiguous().requires_grad_()
    return x, dense


def _at(volume: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    b, i, j, k = coords.unbind(1)
    return volume.permute(0, 2, 3, 4, 1)[b, i, j, k]


def _dense_weight(conv: SparseConv3d) -> torch.Tensor:
    """(C_out, C_in, k, k, k) cross-correlation weight with W[n] = dense[:, :, ix, iy, iz]^T."""
    k = conv.kernel_size
    return conv.weight.permute(2, 1, 0).reshape(conv.out_channels, conv.in_channels, k, k, k)


def _check(sparse_out: SparseTensor, dense_out: torch.Tensor, x: SparseTensor, dense_in: torch.Tensor,
           conv: SparseConv3d, dense_weight: torch.Tensor) -> None:
    """Values at the sparse outputs, then input and weight gradients of the same random read-out."""
    ref = _at(dense_out, sparse_out.coords)
    torch.testing.assert_close(sparse_out.feats, ref, atol=1e-10, rtol=1e-10)
    probe = torch.randn(sparse_out.feats.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(9))
    g_sparse = torch.autograd.grad((sparse_out.feats * probe).sum(), [x.feats, conv.weight])
    g_dense = torch.autograd.grad((ref * probe).sum(), [dense_in, dense_weight])
    torch.testing.assert_close(g_sparse[0], _at(g_dense[0], x.coords), atol=1e-10, rtol=1e-10)
    k = conv.kernel_size
    torch.testing.assert_close(g_sparse[1], g_dense[1].reshape(conv.out_channels, conv.in_channels, k ** 3)
                               .permute(2, 1, 0), atol=1e-10, rtol=1e-10)


def _conv(cin: int, cout: int, k: int, **kw) -> SparseConv3d:
    torch.manual_seed(k * 10 + cin)
    return SparseConv3d(cin, cout, k, **kw).double()


def test_state_dict_matches_nvidia_completion_keys_at_default_size():
    ref = json.loads(KEYS.read_text())["models"]["3d"]["state_dict"]
    ref = {k[len("completion."):]: v for k, v in ref.items() if k.startswith("completion.")}
    with torch.device("meta"):
        model = FrustumDecoder()
    ours = {k: list(v.shape) for k, v in model.state_dict().items()}
    assert len(ours) == len(ref) == 76
    assert ours == ref


def test_submanifold_k3_equals_conv3d_padding_1_at_active_sites():
    x, dense = _active(0, 3)
    conv = _conv(3, 5, 3, bias=True)
    w = _dense_weight(conv)
    out = conv(x)
    assert torch.equal(out.coords, x.coords) and out.stride == 1
    _check(out, F.conv3d(dense, w, conv.bias, padding=1), x, dense, conv, w)


def test_strided_k4_s2_reads_inputs_2o_to_2o_plus_3_at_floor_half_coords():
    x, dense = _active(1, 3)
    conv = _conv(3, 4, 4, stride=2, bias=True)
    w = _dense_weight(conv)
    out = conv(x)
    floor_half = torch.cat([x.coords[:, :1], x.coords[:, 1:] // 2], 1)
    assert {tuple(c) for c in out.coords.tolist()} == {tuple(c) for c in floor_half.tolist()}
    assert out.coords.shape[0] == len({tuple(c) for c in floor_half.tolist()})
    assert out.stride == 2 and out.spatial_shape == (GRID // 2,) * 3
    # offsets 0..3 from 2o: a padding-0 cross-correlation, padded at the far end so that o = GRID/2 - 1 exists
    ref = F.conv3d(F.pad(dense, (0, 2, 0, 2, 0, 2)), w, conv.bias, stride=2)
    _check(out, ref, x, dense, conv, w)


def test_strided_k3_s2_reads_inputs_2o_minus_1_to_2o_plus_1():
    x, dense = _active(2, 2)
    conv = _conv(2, 3, 3, stride=2, bias=False)
    w = _dense_weight(conv)
    _check(conv(x), F.conv3d(dense, w, stride=2, padding=1), x, dense, conv, w)


def test_generative_transposed_k4_s2_writes_2i_plus_d():
    x, dense = _active(3, 3, density=0.1)
    conv = _conv(3, 2, 4, stride=2, bias=False, transposed=True, generative=True)
    # ConvTranspose3d weight (C_in, C_out, k, k, k) with W[n] = dense[:, :, ix, iy, iz]; padding 0 puts
    # in[i] at 2i + d (padding 1, NVIDIA's dense decoders, would put it at 2i + d - 1).
    w = conv.weight.permute(1, 2, 0).reshape(3, 2, 4, 4, 4)
    out = conv(x)
    children = {(b, 2 * i + dx, 2 * j + dy, 2 * k + dz) for b, i, j, k in x.coords.tolist()
                for dx in range(4) for dy in range(4) for dz in range(4)}
    assert {tuple(c) for c in out.coords.tolist()} == children and out.coords.shape[0] == len(children)
    assert out.spatial_shape == (2 * GRID,) * 3
    ref = F.conv_transpose3d(dense, w, stride=2)
    assert ref.shape[-1] == 2 * GRID + 2  # the generated voxels at 2*GRID, 2*GRID + 1 lie outside the grid
    torch.testing.assert_close(out.feats, _at(ref, out.coords), atol=1e-10, rtol=1e-10)
    probe = torch.randn(out.feats.shape, dtype=torch.float64)
    g_sparse = torch.autograd.grad((out.feats * probe).sum(), [x.feats, conv.weight])
    g_dense = torch.autograd.grad((_at(ref, out.coords) * probe).sum(), [dense, w])
    torch.testing.assert_close(g_sparse[0], _at(g_dense[0], x.coords), atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(g_sparse[1], g_dense[1].reshape(3, 2, 64).permute(2, 0, 1), atol=1e-10, rtol=1e-10)


def test_k1_is_a_linear_layer():
    x, dense = _active(4, 3)
    conv = _conv(3, 4, 1, bias=True)
    w = _dense_weight(conv)
    out = conv(x)
    torch.testing.assert_close(out.feats, x.feats @ conv.weight[0] + conv.bias)
    _check(out, F.conv3d(dense, w, conv.bias), x, dense, conv, w)


def test_instance_norm_normalises_each_voxel_over_its_channels():
    x, _ = _active(5, 6)
    out = SparseInstanceNorm(6)(x).feats
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's num_features warning: the quirk itself
        ref = torch.nn.InstanceNorm1d(6)(x.feats)  # what warpconvnet calls on the (N, C) matrix
    torch.testing.assert_close(out, ref, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(out.mean(1), torch.zeros(x.num_voxels, dtype=out.dtype), atol=1e-12, rtol=0)
    assert not list(SparseInstanceNorm(6).parameters())


def test_unions_sort_coordinates_and_order_channels():
    a = SparseTensor(torch.tensor([[0, 2, 0, 0], [0, 0, 1, 0]]), torch.tensor([[1.0], [2.0]]), (4, 4, 4), 1)
    b = SparseTensor(torch.tensor([[0, 0, 1, 0], [0, -1, 0, 0]]), torch.tensor([[10.0], [20.0]]), (4, 4, 4), 1)
    cat = cat_union(a, b)
    assert cat.coords.tolist() == [[0, -1, 0, 0], [0, 0, 1, 0], [0, 2, 0, 0]]
    assert cat.feats.tolist() == [[0.0, 20.0], [2.0, 10.0], [1.0, 0.0]]
    assert add_voxels(a, b).feats.flatten().tolist() == [20.0, 12.0, 1.0]


def test_children_targets_reach_every_occupied_child():
    fine = torch.zeros(64, 64, 64)
    fine[37, 5, 63] = 1
    mid, coarse = torch.zeros(32, 32, 32), torch.zeros(16, 16, 16)
    coarse_t, mid_t = children_targets([[fine, mid, coarse]], torch.device("cpu"))
    # a k4 s2 generative parent i creates 2i..2i+3: the fine voxel 37 comes from mid 17 or 18, those from 7..9
    assert mid_t[0].nonzero().tolist() == [[a, b, c] for a in (17, 18) for b in (1, 2) for c in (30, 31)]
    assert set(coarse_t[0].nonzero()[:, 0].tolist()) == {7, 8, 9}


def _small_network(train: bool):
    torch.manual_seed(0)
    dims, D = (2, 5, 3, 4), 64
    model = FrustumDecoder(input_dims=dims, unet_features=4, unet_output_channels=4, query_dim=8, grid_dims=D)
    # Fewer kept voxels than at p = 0.5 (random heads keep half of them): a fast test.
    with torch.no_grad():
        model.level_occupancy_heads[2].bias.fill_(-1.5)
        model.level_occupancy_heads[1].block.bias.fill_(-1.5)
        model.level_occupancy_heads[0][3].bias.fill_(-1.0)
    model.train(train)
    frustum = torch.zeros(1, D, D, D, dtype=torch.bool)
    frustum[:, 20:44, 20:44, 16:48] = True
    g = torch.Generator().manual_seed(1)
    coords = ((torch.rand(1, D, D, D, generator=g) < 0.03) & frustum).nonzero()
    coords = torch.cat([coords, torch.tensor([[0, -1, 30, 30]])])  # NVIDIA's lifted voxels can sit at -1
    x = SparseTensor(coords, torch.randn(coords.shape[0], sum(dims), generator=g).requires_grad_(), (D,) * 3, 1)
    queries = torch.randn(1, 5, 8, generator=g)
    return model, x, queries, frustum


@pytest.mark.parametrize("train", [False, True])
def test_small_network_forward_backward_and_densified_shapes(train: bool):
    model, x, queries, frustum = _small_network(train)
    occupancy = None
    if train:
        occupancy = [[(torch.rand(64, 64, 64) < 0.01).float(), torch.zeros(32, 32, 32), torch.zeros(16, 16, 16)]]
    out = model(x, queries, frustum, occupancy)
    occ, masks, geo = out["occupancy"], out["masks_3d"], out["geometry"]
    assert [t.spatial_shape for t in occ] == [(16,) * 3, (32,) * 3, (64,) * 3]
    assert [t.spatial_shape for t in masks] == [(16,) * 3, (32,) * 3, (64,) * 3]
    frustum16 = F.max_pool3d(frustum[:, None].float(), 2, stride=4)[:, 0] > 0
    assert occ[0].num_voxels == int(frustum16.sum())  # the dense level: every frustum voxel
    assert torch.equal(geo.coords, occ[2].coords) and geo.feats.shape == (occ[2].num_voxels, 1)
    assert (geo.feats >= 0).all() and (geo.feats <= 3.0).all() and (geo.feats < 3.0).any()
    assert all(t.feats.shape[1] == 5 for t in masks) and all(t.feats.shape[1] == 1 for t in occ)
    for t in occ + masks:
        assert ((t.coords[:, 1:] >= 0) & (t.coords[:, 1:] < t.spatial_shape[0])).all()
        assert torch.isfinite(t.feats).all()
    dense = densify(out, 3.0)
    assert [tuple(t.shape) for t in dense["pred_occupancy"]] == [(1, 16, 16, 16), (1, 32, 32, 32), (1, 64, 64, 64)]
    assert [tuple(t.shape) for t in dense["pred_masks_3d"]] == [(1, 5, 16, 16, 16), (1, 5, 32, 32, 32),
                                                                (1, 5, 64, 64, 64)]
    assert tuple(dense["pred_geometry"].shape) == (1, 64, 64, 64)
    loss = sum(t.feats.square().mean() for t in occ + masks) + geo.feats.mean()
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert torch.isfinite(x.feats.grad).all() and x.feats.grad.abs().sum() > 0
    if train:  # every occupied fine target has a kept parent at the 32^3 level
        kept = {tuple(c) for c in masks[1].coords.tolist()}
        for i, j, k in (occupancy[0][0] > 0).nonzero().tolist():
            parents = [(0, p, q, r) for p in (i // 2 - 1, i // 2) for q in (j // 2 - 1, j // 2)
                       for r in (k // 2 - 1, k // 2)]
            if frustum[0, i, j, k]:
                assert any(p in kept for p in parents)


def test_sparse_criterion_on_the_outputs_equals_the_dense_criterion_on_densified_ones():
    model, x, queries, frustum = _small_network(False)
    model.double()
    x = x.replace(x.feats.detach().double())
    out = model(x, queries.double(), frustum)
    g = torch.Generator().manual_seed(3)
    size = (64, 64, 64)
    occupancy = [[(torch.rand(size, generator=g) < 0.05).double(), (torch.rand(32, 32, 32, generator=g) < 0.1).double(),
                  (torch.rand(16, 16, 16, generator=g) < 0.2).double()]]
    batch = {"frustum_mask": frustum, "weighting": torch.rand((1, *size), generator=g, dtype=torch.float64),
             "occupancy": occupancy, "geometry": 4 * torch.rand((1, *size), generator=g, dtype=torch.float64),
             "gt_masks_3d": [torch.rand((3, *size), generator=g) < 0.05]}
    indices = [(torch.tensor([0, 3, 4]), torch.tensor([2, 0, 1]))]
    criterion = SetCriterion3D(truncation=3.0)
    sparse = criterion({"sparse_3d": out}, batch, indices)
    dense = criterion(densify(out, 3.0), batch, indices)
    assert sparse.keys() == dense.keys()
    for name in sparse:
        torch.testing.assert_close(sparse[name], dense[name], atol=1e-6, rtol=1e-6)  # the dense one casts masks to fp32
    sparse["loss_3d"].backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_dense_execution_of_the_same_weights_equals_the_sparse_one():
    """In training mode (the target-voxel rule too); the norms behave the same in both modes."""
    train = True
    model, x, queries, frustum = _small_network(train)
    model.double()
    inside = (x.coords[:, 1:] >= 0).all(1)  # a dense input volume holds only in-grid voxels
    x = SparseTensor(x.coords[inside], x.feats.detach()[inside].double(), x.spatial_shape, 1)
    dense_model = DenseFrustumDecoder(input_dims=model.input_dims, unet_features=4, unet_output_channels=4,
                                      query_dim=8, grid_dims=64).double().train(train)
    dense_model.load_state_dict(model.state_dict(), strict=True)
    occupancy = None
    if train:
        g = torch.Generator().manual_seed(5)
        occupancy = [[(torch.rand(64, 64, 64, generator=g) < 0.01).double(), torch.zeros(32, 32, 32),
                      torch.zeros(16, 16, 16)]]
    sparse = densify(model(x, queries.double(), frustum, occupancy), 3.0)
    volume, active = x.dense(0.0), torch.zeros(1, 64, 64, 64, dtype=torch.bool)
    active[tuple(x.coords.unbind(1))] = True
    dense = dense_model(volume, active, queries.double(), frustum, occupancy)
    for name in ("pred_occupancy", "pred_masks_3d"):
        for a, b in zip(sparse[name], dense[name]):
            torch.testing.assert_close(a, b, atol=1e-9, rtol=1e-9)
    torch.testing.assert_close(sparse["pred_geometry"], dense["pred_geometry"], atol=1e-9, rtol=1e-9)
    assert (dense["pred_geometry"] < 3.0).any() and (dense["pred_occupancy"][2] > -12).any()


def test_multi_scale_adapters_have_nvidia_keys_and_run():
    with torch.device("meta"):
        full = FrustumDecoder(use_multi_scale=True)
    adapters = {k: list(v.shape) for k, v in full.state_dict().items() if k.startswith("feature_adapters.")}
    assert adapters["feature_adapters.0.0.conv1.weight"] == [27, 272, 16]
    assert adapters["feature_adapters.2.0.downsample.0.weight"] == [1, 272, 64]
    assert len(adapters) == 3 * 4
    model, x, queries, frustum = _small_network(False)
    ms_model = FrustumDecoder(input_dims=model.input_dims, unet_features=4, unet_output_channels=4, query_dim=8,
                              grid_dims=64, use_multi_scale=True, ms_feature_channels=6).eval()
    ms_model.load_state_dict(model.state_dict(), strict=False)
    g = torch.Generator().manual_seed(7)
    ms = []
    for stride in (2, 4, 8):
        size = 64 // stride
        coords = ((torch.rand(1, size, size, size, generator=g) < 0.1) & frustum[:, ::stride, ::stride, ::stride])
        coords = coords.nonzero()
        ms.append(SparseTensor(coords, torch.randn(coords.shape[0], 6, generator=g), (size,) * 3, 1, stride))
    with torch.no_grad():
        base = model.eval()(x, queries, frustum)
        out = ms_model(x, queries, frustum, ms_features=ms)
    assert all(torch.isfinite(t.feats).all() for t in out["occupancy"] + out["masks_3d"])
    assert not torch.equal(out["occupancy"][0].feats, base["occupancy"][0].feats)
