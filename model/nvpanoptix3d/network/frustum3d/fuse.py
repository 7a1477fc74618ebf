"""NVIDIA's ``fuse_sparse_tensors``: the union of two sparse voxel sets with their features side by side.

Output coordinates are the distinct (batch, x, y, z) rows of both inputs in lexicographic order (as
``torch.unique(dim=0)``); a voxel's features are [row of a or zeros, row of b or zeros]; the stride is a's.

Repeated coordinates inside one input (NVIDIA's lifting always has them: its zero padding rows snap to even
coordinates) are resolved deterministically here: **the last row of that coordinate wins**, which is what
NVIDIA's scattered write gives on CPU in practice (PyTorch does not specify it, and on CUDA it can differ).
Differentiable w.r.t. both feature sets (gathers).
"""

from __future__ import annotations

import torch

from nvpanoptix3d.network.completion.voxel_index import unique_coords
from nvpanoptix3d.network.frustum3d.sparse.tensor import SparseTensor
from nvpanoptix3d.network.frustum3d.sparse_rows import SparseRows


def _last_rows(inverse: torch.Tensor, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """For each of ``count`` unique ids: (index of the last row mapping to it, whether any does)."""
    rows = torch.arange(inverse.numel(), device=inverse.device)
    last = torch.full((count,), -1, dtype=torch.long, device=inverse.device)
    last = last.scatter_reduce(0, inverse, rows, reduce="amax", include_self=True)
    return last.clamp(min=0), last >= 0


def last_row_features(feats: torch.Tensor, inverse: torch.Tensor, count: int) -> torch.Tensor:
    """(count, C): the last row of ``feats`` per unique id, zeros where none."""
    rows, present = _last_rows(inverse, count)
    if feats.shape[0] == 0:
        return feats.new_zeros(count, feats.shape[1])
    return torch.where(present[:, None], feats[rows], feats.new_zeros(()))


def fuse_sparse(a: SparseRows | tuple[torch.Tensor, torch.Tensor],
                b: SparseRows | tuple[torch.Tensor, torch.Tensor]) -> SparseRows:
    """Args:
        a, b: (coords (N, 4) int (batch, x, y, z), feats (N, C)) pairs; a SparseRows carries its stride.
    Returns:
        SparseRows: coords (M, 4) int64 sorted lexicographically, feats (M, Ca + Cb) in a's dtype, a's stride.
    """
    coords_a, feats_a = a[0], a[1]
    coords_b, feats_b = b[0], b[1]
    stride = a.stride if isinstance(a, SparseRows) else 1
    both = torch.cat([coords_a.to(torch.int64), coords_b.to(torch.int64)])
    unique, inverse = unique_coords(both)
    n_a, count = coords_a.shape[0], unique.shape[0]
    fa = last_row_features(feats_a, inverse[:n_a], count)
    fb = last_row_features(feats_b.to(feats_a.dtype), inverse[n_a:], count)
    return SparseRows(unique, torch.cat([fa, fb], 1), stride)


def fuse_sparse_tensors(a: SparseTensor, b: SparseTensor) -> SparseTensor:
    """:func:`fuse_sparse` on our SparseTensors (spatial shape, batch size and stride from ``a``)."""
    rows = fuse_sparse(SparseRows(a.coords, a.feats, a.stride), SparseRows(b.coords, b.feats, b.stride))
    return SparseTensor(rows.coords, rows.feats, a.spatial_shape, a.batch_size, a.stride)
