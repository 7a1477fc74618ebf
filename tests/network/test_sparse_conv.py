"""Pure-PyTorch sparse convolutions against dense torch.nn.functional.conv3d (values and gradients),
kernel maps against brute force, sparse norm. (spconv against these layers: tests/network/test_completion_spconv.py
on NVIDIA's completion layers.)"""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from nvpanoptix3d.network.frustum3d.sparse import SparseTensor
from nvpanoptix3d.network.frustum3d.sparse.conv import (GenerativeConvTranspose3d, SparseConv3d, SparseInstanceNorm,
                                                        SubmanifoldConv3d)
from nvpanoptix3d.network.frustum3d.sparse.kernel_map import CoordIndex, submanifold_map

SHAPE = (6, 7, 5)


def _random_input(seed: int, density: float = 0.3, channels: int = 3):
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(2, *SHAPE, generator=g) < density
    vol = torch.randn(2, channels, *SHAPE, generator=g, dtype=torch.float64) * mask[:, None]
    return vol, mask


def _site_mask(coords: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    m = torch.zeros(like.shape[0], *like.shape[2:], dtype=torch.bool)
    m[tuple(coords.T)] = True
    return m


def _compare(sparse_layer, dense_fn, vol, mask):
    """Forward both on the same input; the sparse output must equal the dense one at its sites and the
    gradients (input features at active sites, weight, bias) of the same upstream gradient must agree."""
    feats = vol.permute(0, 2, 3, 4, 1)[mask].clone().requires_grad_(True)
    x = SparseTensor(mask.nonzero(), feats, SHAPE, 2)
    y = sparse_layer(x)
    dvol = vol.clone().requires_grad_(True)
    d = dense_fn(dvol)
    sites = _site_mask(y.coords, d)
    assert torch.allclose(y.dense(), d * sites[:, None], atol=1e-10)
    upstream = torch.randn(d.shape, dtype=d.dtype, generator=torch.Generator().manual_seed(1)) * sites[:, None]
    b, i, j, k = y.coords.unbind(1)
    (y.feats * upstream.permute(0, 2, 3, 4, 1)[b, i, j, k]).sum().backward()
    w_sparse = [p.grad.clone() for p in sparse_layer.parameters()]
    sparse_layer.zero_grad()
    (d * upstream).sum().backward()
    w_dense = [p.grad for p in sparse_layer.parameters()]
    for a, e in zip(w_sparse, w_dense):
        assert torch.allclose(a, e, atol=1e-10)
    assert torch.allclose(feats.grad, dvol.grad.permute(0, 2, 3, 4, 1)[mask], atol=1e-10)
    return y, d, sites


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("kernel_size", [3, 1])
def test_submanifold_equals_conv3d_at_active_sites(seed, kernel_size, conv_algorithm):
    vol, mask = _random_input(seed)
    layer = SubmanifoldConv3d(3, 4, kernel_size).double()
    y, _, sites = _compare(layer, lambda v: F.conv3d(v, layer.weight, layer.bias, padding=kernel_size // 2), vol, mask)
    assert torch.equal(sites, mask) and torch.equal(y.coords, mask.nonzero())


@pytest.mark.parametrize("k,s,p", [(2, 2, 0), (3, 2, 1)])
def test_strided_conv_equals_conv3d(k, s, p, conv_algorithm):
    vol, mask = _random_input(2, density=0.15)
    layer = SparseConv3d(3, 4, k, s, p).double()
    y, d, sites = _compare(layer, lambda v: F.conv3d(v, layer.weight, layer.bias, stride=s, padding=p), vol, mask)
    # Outside the sparse output sites the dense conv saw only zeros: its output is the bias alone.
    assert torch.allclose(d.permute(0, 2, 3, 4, 1)[~sites], layer.bias.expand(int((~sites).sum()), 4))
    assert y.stride == 2 and y.spatial_shape == tuple(d.shape[2:])


def test_generative_transposed_conv_equals_conv_transpose3d():
    vol, mask = _random_input(3)
    layer = GenerativeConvTranspose3d(3, 4).double()
    y, d, sites = _compare(layer, lambda v: F.conv_transpose3d(v, layer.weight, layer.bias, stride=2), vol, mask)
    assert y.num_voxels == 8 * int(mask.sum())  # every child of every active voxel
    assert torch.equal(sites, mask.repeat_interleave(2, 1).repeat_interleave(2, 2).repeat_interleave(2, 3))


def test_kernel_map_matches_brute_force():
    _, mask = _random_input(4, density=0.2)
    coords = mask.nonzero()
    kmap = submanifold_map(coords, SHAPE, 3)
    rows = {tuple(c): r for r, c in enumerate(coords.tolist())}
    for o, (rin, rout) in zip(itertools.product(range(3), repeat=3), kmap):
        expected = set()
        for r, (b, x, y, z) in enumerate(coords.tolist()):
            nb = (b, x + o[0] - 1, y + o[1] - 1, z + o[2] - 1)
            if nb in rows:
                expected.add((rows[nb], r))
        assert set(zip(rin.tolist(), rout.tolist())) == expected


def test_coordinate_lookup_rejects_absent_and_out_of_grid():
    coords = torch.tensor([[0, 1, 2, 3], [1, 0, 0, 0], [0, 5, 6, 4]])
    idx = CoordIndex(coords, SHAPE)
    q = torch.tensor([[0, 5, 6, 4], [1, 0, 0, 0], [0, 1, 2, 4], [0, -1, 2, 3], [0, 6, 0, 0], [2, 0, 0, 0]])
    assert idx.lookup(q).tolist() == [2, 1, -1, -1, -1, -1]


def test_sparse_instance_norm_equals_instance_norm3d_on_a_full_grid():
    vol = torch.randn(2, 3, 4, 4, 4, dtype=torch.float64)
    x = SparseTensor.from_dense(vol, torch.ones(2, 4, 4, 4, dtype=torch.bool))
    norm = SparseInstanceNorm(3).double()
    with torch.no_grad():
        norm.weight.uniform_(0.5, 2)
        norm.bias.uniform_(-1, 1)
    ref = F.instance_norm(vol, weight=norm.weight, bias=norm.bias, eps=norm.eps)
    assert torch.allclose(norm(x).dense(), ref, atol=1e-10)
