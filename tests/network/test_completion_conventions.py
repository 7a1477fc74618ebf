"""warpconvnet's coordinate and weight conventions, as NVIDIA's completion network uses them, on cases small
enough to compute by hand (facts and their sources: docs/architecture.md, "3D completion conventions").

Scalar features and a weight whose offset n holds the value n + 1 make every output a readable sum: the test
names which kernel offset (hence which flat index n = ix*k^2 + iy*k + iz) each input must reach. The last test
compares against warpconvnet itself when it is installed with a GPU (it has no CPU kernel-map path)."""

from __future__ import annotations

import pytest
import torch

from nvpanoptix3d.network.completion.decoder import _prune_or_fallback
from nvpanoptix3d.network.completion.sparse_layers import (SparseConv3d, SparseInstanceNorm, centred_offsets,
                                                           to_dense)
from nvpanoptix3d.network.frustum3d.sparse import SparseTensor
from nvpanoptix3d.network.frustum3d.sparse_pool import sparse_max_pool
from nvpanoptix3d.network.frustum3d.sparse_rows import SparseRows

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/network/conftest.py

BIAS = 0.5


def _n(ix: int, iy: int, iz: int, k: int) -> int:
    return ix * k * k + iy * k + iz


def _conv(k: int, stride: int = 1, *, bias: bool = True, generative: bool = False) -> SparseConv3d:
    """1 -> 1 channel conv whose weight at flat offset n is n + 1 (bias 0.5)."""
    conv = SparseConv3d(1, 1, k, stride=stride, bias=bias, transposed=generative, generative=generative)
    with torch.no_grad():
        conv.weight.copy_(torch.arange(1, k ** 3 + 1, dtype=torch.float64).view(-1, 1, 1))
        if bias:
            conv.bias.fill_(BIAS)
    return conv.double()


def _voxels(xyz: list[tuple[int, int, int]], values: list[float], shape: int = 8, stride: int = 1) -> SparseTensor:
    coords = torch.tensor([[0, *p] for p in xyz], dtype=torch.long)
    feats = torch.tensor(values, dtype=torch.float64)[:, None]
    return SparseTensor(coords, feats, (shape,) * 3, 1, stride)


def _as_dict(x: SparseTensor) -> dict[tuple[int, ...], float]:
    return {tuple(c[1:].tolist()): float(f[0]) for c, f in zip(x.coords, x.feats.detach())}


def test_flat_kernel_order_is_x_slowest_and_even_kernels_start_at_zero():
    k3, k4 = centred_offsets(3).tolist(), centred_offsets(4).tolist()
    assert len(k3) == 27 and len(k4) == 64
    assert k3[0] == [-1, -1, -1] and k3[1] == [-1, -1, 0] and k3[3] == [-1, 0, -1] and k3[9] == [0, -1, -1]
    assert k3[13] == [0, 0, 0] and k3[22] == [1, 0, 0] and k3[26] == [1, 1, 1]
    assert k4[0] == [0, 0, 0] and k4[1] == [0, 0, 1] and k4[4] == [0, 1, 0] and k4[16] == [1, 0, 0]
    assert k4[63] == [3, 3, 3]
    assert centred_offsets(1).tolist() == [[0, 0, 0]]


def test_submanifold_k3_reads_input_o_plus_d_with_the_weight_of_d():
    # a, b = a + x, c = a + z; weight(d) = n(d + 1) + 1
    x = _voxels([(1, 1, 1), (2, 1, 1), (1, 1, 2)], [1.0, 10.0, 100.0])
    with torch.no_grad():
        out = _conv(3)(x)
    assert torch.equal(out.coords, x.coords)  # outputs at the input sites, same rows
    centre = _n(1, 1, 1, 3) + 1  # 14
    expect_a = centre * 1 + (_n(2, 1, 1, 3) + 1) * 10 + (_n(1, 1, 2, 3) + 1) * 100 + BIAS  # b at +x, c at +z
    expect_b = centre * 10 + (_n(0, 1, 1, 3) + 1) * 1 + (_n(0, 1, 2, 3) + 1) * 100 + BIAS  # a at -x, c at (-1,0,1)
    expect_c = centre * 100 + (_n(1, 1, 0, 3) + 1) * 1 + (_n(2, 1, 0, 3) + 1) * 10 + BIAS  # a at -z, b at (1,0,-1)
    assert out.feats[:, 0].tolist() == [expect_a, expect_b, expect_c] == [1744.5, 745.5, 1633.5]
    assert out.stride == 1 and out.spatial_shape == (8, 8, 8)


def test_k1_is_features_times_weight_0_plus_bias_on_the_same_voxels():
    conv = SparseConv3d(2, 3, 1, bias=True).double()
    x = SparseTensor(torch.tensor([[0, 0, 0, 0], [0, 5, 1, 2]]), torch.tensor([[1.0, 2.0], [-1.0, 0.5]]).double(),
                     (8, 8, 8), 1)
    out = conv(x)
    assert torch.equal(out.coords, x.coords)
    assert torch.allclose(out.feats, x.feats @ conv.weight[0] + conv.bias)


def test_stride_2_k4_outputs_at_floor_half_read_inputs_2o_to_2o_plus_3():
    x = _voxels([(5, 0, 0), (4, 1, 0), (-1, 0, 0)], [1.0, 10.0, 100.0])
    out = _conv(4, 2)(x)
    # (5,0,0) and (4,1,0) -> output (2,0,0) at offsets (1,0,0) and (0,1,0); -1 floors to output -1, offset (1,0,0)
    assert _as_dict(out) == {(-1, 0, 0): (_n(1, 0, 0, 4) + 1) * 100 + BIAS,
                             (2, 0, 0): (_n(1, 0, 0, 4) + 1) * 1 + (_n(0, 1, 0, 4) + 1) * 10 + BIAS}
    assert out.stride == 2 and out.spatial_shape == (4, 4, 4)


def test_stride_2_k3_reads_inputs_2o_minus_1_to_2o_plus_1():
    x = _voxels([(1, 0, 0), (3, 0, 0)], [1.0, 10.0])
    out = _conv(3, 2, bias=False)(x)
    # output 0 reads x in -1..1 (input 1 at +1); output 1 reads 1..3 (input 1 at -1, input 3 at +1)
    assert _as_dict(out) == {(0, 0, 0): (_n(2, 1, 1, 3) + 1) * 1.0,
                             (1, 0, 0): (_n(0, 1, 1, 3) + 1) * 1.0 + (_n(2, 1, 1, 3) + 1) * 10.0}


def test_generative_transposed_k4_s2_writes_2i_plus_d_for_d_in_0_to_3():
    x = _voxels([(1, 0, 2), (2, 0, 2)], [1.0, 10.0], shape=4, stride=2)
    out = _conv(4, 2, generative=True)(x)
    got = _as_dict(out)
    # union of 2i + [0, 3]^3: x in 2..7, y in 0..3, z in 4..7
    assert set(got) == {(a, b, c) for a in range(2, 8) for b in range(4) for c in range(4, 8)}
    assert got[(2, 0, 4)] == 1 * 1 + BIAS  # only the first input, d = 0
    assert got[(4, 0, 4)] == (_n(2, 0, 0, 4) + 1) * 1 + 1 * 10 + BIAS  # first input at d = (2,0,0), second at 0
    assert got[(7, 3, 7)] == 64 * 10 + BIAS  # second input at d = (3,3,3)
    assert out.stride == 1 and out.spatial_shape == (8, 8, 8)


def test_instance_norm_normalises_each_voxel_over_its_channels_not_each_channel_over_voxels():
    x = SparseTensor(torch.tensor([[0, 0, 0, 0], [0, 1, 0, 0]]), torch.tensor([[0.0, 1.0, 2.0], [0.0, 0.0, 3.0]]),
                     (4, 4, 4), 1)
    out = SparseInstanceNorm(3)(x).feats
    s1, s2 = (2 / 3 + 1e-5) ** 0.5, (2 + 1e-5) ** 0.5  # biased variances 2/3 and 2
    assert torch.allclose(out, torch.tensor([[-1 / s1, 0.0, 1 / s1], [-1 / s2, -1 / s2, 2 / s2]]), atol=1e-6)


def test_max_pool_k3_s2_window_reaches_the_neighbouring_output():
    rows = SparseRows(torch.tensor([[0, 3, 0, 0], [0, 4, 0, 0]]), torch.tensor([[7.0], [1.0]]), 1)
    out = sparse_max_pool(rows)
    # outputs floor(x / 2) = 1, 2; output 1 reads 1..3 -> 7; output 2 reads 3..5 -> max(7, 1)
    assert out.coords.tolist() == [[0, 1, 0, 0], [0, 2, 0, 0]] and out.feats[:, 0].tolist() == [7.0, 7.0]
    assert out.stride == 2


def test_to_dense_drops_voxels_outside_the_grid_and_zero_fills():
    x = SparseTensor(torch.tensor([[0, -1, 0, 0], [0, 0, 0, 1], [0, 2, 1, 1]]), torch.tensor([[5.0], [6.0], [7.0]]),
                     (4, 4, 4), 1, stride=4)
    dense = to_dense(x, (2, 2, 2))
    assert dense.shape == (1, 1, 2, 2, 2)
    expect = torch.zeros(1, 1, 2, 2, 2)
    expect[0, 0, 0, 0, 1] = 6.0  # axis order (B, C, x, y, z); (-1,..) and (2,..) are outside [0, 2)
    assert torch.equal(dense, expect)


def test_empty_pruning_falls_back_to_the_valid_voxels_then_to_all():
    x = _voxels([(0, 0, 0), (1, 0, 0), (9, 0, 0)], [1.0, 2.0, 3.0])
    none = torch.zeros(3, dtype=torch.bool)
    valid = torch.tensor([True, True, False])
    assert _prune_or_fallback(x, torch.tensor([False, True, False]), valid).coords[:, 1].tolist() == [1]
    assert _prune_or_fallback(x, none, valid).coords[:, 1].tolist() == [0, 1]
    assert _prune_or_fallback(x, none, none).coords[:, 1].tolist() == [0, 1, 9]


def test_against_warpconvnet_when_installed_with_a_gpu():
    """Each layer kind on fresh random voxels (fresh tensors: warpconvnet caches kernel maps per tensor lineage,
    keyed by voxel counts). Row order differs (warpconvnet's hash order), so rows are compared as sets."""
    pytest.importorskip("warpconvnet")
    if not torch.cuda.is_available():
        pytest.skip("warpconvnet computes kernel maps with CUDA kernels only")
    from warpconvnet.geometry.types.voxels import Voxels  # noqa: PLC0415
    from warpconvnet.nn.modules.normalizations import InstanceNorm  # noqa: PLC0415
    from warpconvnet.nn.modules.sparse_conv import SparseConv3d as WcnConv  # noqa: PLC0415
    from warpconvnet.nn.modules.sparse_pool import SparseMaxPool  # noqa: PLC0415

    gen = torch.Generator().manual_seed(0)
    xyz = torch.unique(torch.randint(0, 12, (300, 3), generator=gen), dim=0)
    feats = torch.randn(xyz.shape[0], 4, generator=gen)

    def theirs(stride: int = 1) -> Voxels:
        return Voxels([xyz.int().cuda()], [feats.cuda()], tensor_stride=stride)

    def ours(stride: int = 1) -> SparseTensor:
        return SparseTensor(torch.cat([torch.zeros_like(xyz[:, :1]), xyz], 1), feats, (16,) * 3, 1, stride)

    def rows(coords: torch.Tensor, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        order = torch.argsort(coords[:, 0] * 1_000_000 + coords[:, 1] * 1000 + coords[:, 2])
        return coords[order].cpu().long(), values[order].detach().cpu().float()

    for k, s, gen_t in [(3, 1, False), (1, 1, False), (3, 2, False), (4, 2, False), (4, 2, True)]:
        mine = SparseConv3d(4, 5, k, stride=s, bias=True, transposed=gen_t, generative=gen_t)
        other = WcnConv(4, 5, kernel_size=k, stride=s, bias=True, transposed=gen_t, generative=gen_t).cuda()
        with torch.no_grad():
            other.weight.copy_(mine.weight)
            other.bias.copy_(mine.bias)
        in_stride = 2 if gen_t else 1
        a = mine(ours(in_stride))
        b = other(theirs(in_stride))
        ca, fa = rows(a.coords[:, 1:], a.feats)
        cb, fb = rows(b.batch_indexed_coordinates[:, 1:], b.feature_tensor)
        assert torch.equal(ca, cb), (k, s, gen_t)
        assert torch.allclose(fa, fb, atol=1e-4, rtol=1e-4), (k, s, gen_t)
    norm = InstanceNorm(4).cuda()(theirs()).feature_tensor.cpu()
    assert torch.allclose(SparseInstanceNorm(4)(ours()).feats, norm, atol=1e-5)
    pooled = SparseMaxPool(kernel_size=3, stride=2)(theirs())
    mine_pool = sparse_max_pool(SparseRows(ours().coords, feats, 1))
    ca, fa = rows(mine_pool.coords[:, 1:], mine_pool.feats)
    cb, fb = rows(pooled.batch_indexed_coordinates[:, 1:], pooled.feature_tensor)
    assert torch.equal(ca, cb) and torch.allclose(fa, fb)
