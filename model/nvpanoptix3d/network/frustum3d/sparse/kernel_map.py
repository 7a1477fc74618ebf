"""Coordinate hashing with plain torch ops: linear keys, a sorted key table and binary search.

``torch.sort`` + ``torch.searchsorted`` replace a GPU hash table: O(N log N) to build, O(log N) per
query, memory O(N) (never the grid volume), and the same code runs on CPU and CUDA. A kernel map lists,
for every kernel offset, the (input row, output row) pairs that the offset connects; a sparse
convolution is then one gather - GEMM - scatter per offset.
"""

from __future__ import annotations

import torch

KernelMap = list[tuple[torch.Tensor, torch.Tensor]]  # per offset: (input rows, output rows)


def linearize(coords: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    """(N, 4) batch-first int coordinates -> (N,) int64 keys, ordered batch, x, y, z."""
    x, y, z = shape
    c = coords.long()
    return ((c[:, 0] * x + c[:, 1]) * y + c[:, 2]) * z + c[:, 3]


def kernel_offsets(kernel_size: int, device: torch.device | None = None) -> torch.Tensor:
    """(k^3, 3) offsets 0..k-1 in the flattening order of a dense (.., k, k, k) weight."""
    r = torch.arange(kernel_size, device=device)
    return torch.stack(torch.meshgrid(r, r, r, indexing="ij"), -1).reshape(-1, 3)


def in_bounds(xyz: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    hi = torch.tensor(shape, device=xyz.device)
    return ((xyz >= 0) & (xyz < hi)).all(-1)


class CoordIndex:
    """Row lookup for coordinates: sorted linear keys searched with ``torch.searchsorted``."""

    def __init__(self, coords: torch.Tensor, shape: tuple[int, int, int]) -> None:
        self.shape = tuple(shape)
        self.sorted, self.order = torch.sort(linearize(coords, self.shape))

    def lookup(self, query: torch.Tensor) -> torch.Tensor:
        """(M, 4) coordinates -> (M,) row index, -1 where absent or outside the grid."""
        n = self.sorted.numel()
        if n == 0 or query.shape[0] == 0:
            return torch.full((query.shape[0],), -1, dtype=torch.long, device=query.device)
        inside = in_bounds(query[:, 1:], self.shape)
        keys = linearize(torch.where(inside[:, None], query, torch.zeros_like(query)), self.shape)
        pos = torch.searchsorted(self.sorted, keys).clamp(max=n - 1)
        found = inside & (self.sorted[pos] == keys)
        return torch.where(found, self.order[pos], torch.full_like(pos, -1))


def _offset_pairs(index: CoordIndex, queries: torch.Tensor) -> KernelMap:
    """queries (N_out, K, 4): one batched lookup, then the (input row, output row) pairs per offset."""
    n, k = queries.shape[:2]
    found = index.lookup(queries.reshape(n * k, 4)).reshape(n, k)
    valid = found >= 0
    offs, out_rows = valid.T.nonzero().unbind(1)  # grouped by offset, rows ascending
    counts = valid.sum(0).tolist()
    return list(zip(found[out_rows, offs].split(counts), out_rows.split(counts)))


def submanifold_map(coords: torch.Tensor, shape: tuple[int, int, int], kernel_size: int,
                    index: CoordIndex | None = None) -> KernelMap:
    """Outputs at the input sites; offset o connects site p + o - k//2 to p."""
    index = index or CoordIndex(coords, shape)
    q = coords[:, None, :].repeat(1, kernel_size ** 3, 1)
    q[:, :, 1:] += kernel_offsets(kernel_size, coords.device) - kernel_size // 2
    return _offset_pairs(index, q)


def strided_output_shape(shape: tuple[int, int, int], k: int, s: int, p: int) -> tuple[int, int, int]:
    return tuple((d + 2 * p - k) // s + 1 for d in shape)


def strided_output_coords(coords: torch.Tensor, shape: tuple[int, int, int], k: int, s: int, p: int) -> torch.Tensor:
    """Every output site that a (k, s, p) convolution reaches from an active input, sorted by key (so the
    result is deterministic); these are exactly the sites where a dense conv3d sees a non-zero input."""
    out_shape = strided_output_shape(shape, k, s, p)
    cands = []
    for off in kernel_offsets(k, coords.device):
        num = coords[:, 1:] + p - off
        ok = (num % s == 0).all(-1)
        c = torch.cat([coords[:, :1], torch.div(num, s, rounding_mode="floor")], 1)[ok]
        cands.append(c[in_bounds(c[:, 1:], out_shape)])
    cand = torch.cat(cands)
    return unlinearize(torch.unique(linearize(cand, out_shape)), out_shape)


def unlinearize(keys: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    """Inverse of :func:`linearize`."""
    x, y, z = shape
    zz = keys % z
    yy = (keys // z) % y
    xx = (keys // (y * z)) % x
    bb = keys // (x * y * z)
    return torch.stack([bb, xx, yy, zz], 1)


def strided_map(in_coords: torch.Tensor, in_shape: tuple[int, int, int], out_coords: torch.Tensor, k: int, s: int,
                p: int, index: CoordIndex | None = None) -> KernelMap:
    """Offset o connects input site y*s - p + o to output site y (cross-correlation, as conv3d)."""
    index = index or CoordIndex(in_coords, in_shape)
    q = out_coords[:, None, :].repeat(1, k ** 3, 1)
    q[:, :, 1:] = q[:, :, 1:] * s - p + kernel_offsets(k, out_coords.device)
    return _offset_pairs(index, q)
