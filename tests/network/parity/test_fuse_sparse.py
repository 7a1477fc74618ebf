"""NVIDIA's fuse_sparse_tensors (function, no parameters): fixture parity, duplicates, SparseTensor wrapper, grads."""

from __future__ import annotations

import torch

from nvpanoptix3d.network.frustum3d.fuse import fuse_sparse, fuse_sparse_tensors
from nvpanoptix3d.network.frustum3d.sparse.tensor import SparseTensor
from nvpanoptix3d.network.frustum3d.sparse_rows import SparseRows, batch_by_position
from tests.network.parity.fixtures import assert_matches, load_fixture


def test_fixture_parity():
    fx = load_fixture("fuse_sparse")
    i = fx.inputs
    # The fixture built warpconvnet Voxels from rows that are not grouped by batch; a Voxels keeps batch
    # membership as row counts, so its batch column is the positional one (batch_by_position).
    a = SparseRows(batch_by_position(i["a.coords"].long()), i["a.features"], 1)
    b = SparseRows(batch_by_position(i["b.coords"].long()), i["b.features"], 1)
    fused = fuse_sparse(a, b)
    assert fused.coords.dtype == torch.int64
    assert_matches(fx, {"fused.coords": fused.coords, "fused.features": fused.feats,
                        "fused.tensor_stride": torch.tensor([fused.stride] * 3)})
    assert torch.equal(fused.coords, fx.outputs["fused.coords"])  # sorted like torch.unique


def test_last_duplicate_wins_and_stride_from_a():
    a = SparseRows(torch.tensor([[0, 1, 1, 1], [0, 0, 0, 0], [0, 1, 1, 1]]), torch.tensor([[1.0], [2.0], [3.0]]), 2)
    b = (torch.tensor([[0, 0, 0, 0], [1, 0, 0, 0]], dtype=torch.int32), torch.tensor([[10.0, 11.0], [20.0, 21.0]]))
    fused = fuse_sparse(a, b)
    assert fused.stride == 2
    assert fused.coords.tolist() == [[0, 0, 0, 0], [0, 1, 1, 1], [1, 0, 0, 0]]
    assert fused.feats.tolist() == [[2.0, 10.0, 11.0], [3.0, 0.0, 0.0], [0.0, 20.0, 21.0]]


def test_sparse_tensor_wrapper_and_gradients():
    fa = torch.randn(3, 2, requires_grad=True)
    fb = torch.randn(2, 1, requires_grad=True)
    a = SparseTensor(torch.tensor([[0, 0, 0, 1], [0, 2, 0, 0], [1, 1, 1, 1]]), fa, (4, 4, 4), 2)
    b = SparseTensor(torch.tensor([[0, 2, 0, 0], [1, 3, 3, 3]]), fb, (4, 4, 4), 2)
    fused = fuse_sparse_tensors(a, b)
    assert fused.spatial_shape == (4, 4, 4) and fused.batch_size == 2 and fused.num_voxels == 4
    fused.feats.sum().backward()
    assert torch.equal(fa.grad, torch.ones(3, 2)) and torch.equal(fb.grad, torch.ones(2, 1))


def test_unique_coords_equals_torch_unique():
    """The fusion's union (voxel_index.unique_coords) is ``torch.unique(dim=0)``: same rows, order, inverse."""
    from nvpanoptix3d.network.completion.voxel_index import unique_coords

    g = torch.Generator().manual_seed(0)
    coords = torch.randint(-5, 6, (500, 4), generator=g)
    coords[:, 0] = coords[:, 0].abs() % 3
    u, inv = unique_coords(coords)
    ru, rinv = torch.unique(coords, dim=0, return_inverse=True)
    assert torch.equal(u, ru) and torch.equal(inv, rinv)
    assert unique_coords(coords[:0])[0].shape == (0, 4)
