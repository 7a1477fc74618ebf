"""Plain sparse voxel rows (coordinates + features + stride) as NVIDIA's lifting, projection and fusion produce
them, and the wrap into our :class:`SparseTensor`.

NVIDIA's row sets may hold one coordinate several times (the lifting's padding always does), which our
SparseTensor does not expect; :func:`to_sparse_tensor` therefore only wraps, and the caller decides whether to
deduplicate first (``fuse_sparse`` does it deterministically).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from nvpanoptix3d.network.frustum3d.sparse.tensor import SparseTensor


class SparseRows(NamedTuple):
    coords: torch.Tensor  # (N, 4) int64: batch, x, y, z
    feats: torch.Tensor  # (N, C)
    stride: int = 1


def to_sparse_tensor(rows: SparseRows, spatial_shape: tuple[int, int, int], batch_size: int) -> SparseTensor:
    """Our SparseTensor over the same rows (no copy, no deduplication)."""
    return SparseTensor(rows.coords.to(torch.int64), rows.feats, spatial_shape, batch_size, rows.stride)


def batch_by_position(coords: torch.Tensor) -> torch.Tensor:
    """The (N, 4) coordinates as a warpconvnet ``Voxels`` built from them holds them: batch membership is by
    position (the first count_0 rows are batch 0, the next count_1 batch 1, ... with count_i the number of
    rows of the i-th present batch value). Equal to ``coords`` when rows are grouped by batch in ascending
    order; NVIDIA's fixtures and its lifting for B > 1 hand ungrouped rows to ``Voxels``."""
    _, counts = torch.unique(coords[:, 0], return_counts=True)
    batch = torch.repeat_interleave(torch.arange(len(counts), device=coords.device), counts)
    return torch.cat([batch[:, None].to(coords.dtype), coords[:, 1:]], 1)
