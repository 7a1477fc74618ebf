"""Sparse max pooling of voxel rows, and the pyramid NVIDIA's ``use_multi_scale`` builds from the lifting.

NVIDIA's ``generate_multiscale_feat3d`` pools the lifted voxels with warpconvnet's ``SparseMaxPool(kernel 3,
stride 2)`` three times (strides 2, 4, 8, each level pooled from the previous one). The rule written here is
warpconvnet's strided kernel map (the one of its stride-2 convolutions, see ``completion/sparse_layers``):

- output coordinates = unique(floor(input / 2)) per spatial axis (the batch column is kept), in the coarser
  level's index space (a stride-2 level lives on a grid half the size);
- output o takes the per-channel maximum over the present inputs 2o + d, d in {-1, 0, 1}^3 (every output has
  at least one: the inputs it came from); absent neighbours do not count (no zero padding).

Checked against warpconvnet 1.8.2: ``nn/functional/sparse_pool.py`` (``sparse_reduce``: outputs from
``stride_coords``, the strided kernel map of ``generate_kernel_map``, a per-output max over the matched rows
only; an output without rows would be zero, which k3 s2 never produces) and NVIDIA's
``utils/coords_transform.py`` (``SparseMaxPool(kernel_size=3, stride=2)`` applied three times).

Repeated input coordinates (the lifting's padding rows repeat, and its zero padding rows follow its real rows)
are first reduced to one row each, the last row winning, the rule
:func:`~nvpanoptix3d.network.frustum3d.fuse.fuse_sparse` uses. warpconvnet reads only one of them too: its
hash table (``csrc/include/cuhash/hash_table.cuh``) keeps the row whose GPU thread claims the slot first, so
which one is a race (earlier rows tend to win); the choice matters only where a padding row repeats a real
one. Differentiable (``scatter_reduce`` amax).
"""

from __future__ import annotations

import itertools

import torch

from nvpanoptix3d.network.completion.voxel_index import VoxelIndex, unique_coords
from nvpanoptix3d.network.frustum3d.fuse import last_row_features
from nvpanoptix3d.network.frustum3d.sparse_rows import SparseRows

PYRAMID_STRIDES = (2, 4, 8)


def dedup_last(rows: SparseRows) -> SparseRows:
    """One row per coordinate (sorted lexicographically), the last of the repeated ones."""
    coords, inverse = unique_coords(rows.coords.long())
    return SparseRows(coords, last_row_features(rows.feats, inverse, coords.shape[0]), rows.stride)


def sparse_max_pool(rows: SparseRows, kernel_size: int = 3, stride: int = 2) -> SparseRows:
    """Args:
        rows: coords (N, 4) int (batch, x, y, z), feats (N, C), any stride; coordinates may repeat and may lie
            outside the grid.
    Returns:
        SparseRows at ``rows.stride * stride``: coords (M, 4) int64 sorted, feats (M, C) per-channel maxima.
    """
    if kernel_size % 2 != 1:
        raise ValueError(f"sparse_max_pool takes an odd kernel size, got {kernel_size}")
    rows = dedup_last(rows)
    coords, feats = rows.coords, rows.feats
    down = torch.cat([coords[:, :1], torch.div(coords[:, 1:], stride, rounding_mode="floor")], 1)
    out_coords, _ = unique_coords(down)
    out = feats.new_zeros(out_coords.shape[0], feats.shape[1])
    if coords.shape[0] == 0:
        return SparseRows(out_coords, out, rows.stride * stride)
    index = VoxelIndex(out_coords)
    half = (kernel_size - 1) // 2
    targets, sources = [], []
    for d in itertools.product(range(-half, half + 1), repeat=3):
        shifted = coords[:, 1:] - torch.tensor(d, device=coords.device)
        aligned = (shifted % stride == 0).all(1)
        cand = torch.cat([coords[:, :1], torch.div(shifted, stride, rounding_mode="floor")], 1)
        hit = index.lookup(cand)
        ok = aligned & (hit >= 0)
        targets.append(hit[ok])
        sources.append(ok.nonzero().flatten())
    tgt, src = torch.cat(targets), torch.cat(sources)
    out = out.scatter_reduce(0, tgt[:, None].expand(-1, feats.shape[1]), feats[src], reduce="amax",
                             include_self=False)
    return SparseRows(out_coords, out, rows.stride * stride)


def max_pool_pyramid(rows: SparseRows, levels: int = len(PYRAMID_STRIDES)) -> list[SparseRows]:
    """NVIDIA's ``generate_multiscale_feat3d``: ``levels`` successive k3 s2 max pools (strides 2, 4, 8 of a
    stride-1 input), each from the previous level."""
    out, current = [], rows
    for _ in range(levels):
        current = sparse_max_pool(current)
        out.append(current)
    return out


__all__ = ["PYRAMID_STRIDES", "dedup_last", "max_pool_pyramid", "sparse_max_pool"]
