"""Coordinate hashing with plain torch ops: linear keys, a sorted key table and binary search.

``torch.sort`` + ``torch.searchsorted`` replace a GPU hash table: O(N log N) to build, O(log N) per
query, memory O(N) (never the grid volume), and the same code runs on CPU and CUDA. A neighbour table
(N_out, K) holds, for every output site and kernel offset, the input row the offset reaches (-1 where
none); a kernel map lists, per offset, the (input row, output row) pairs of that table, so a sparse
convolution is one gather - GEMM - scatter per offset.

ONNX has no binary search, so while ``torch.onnx.export`` traces the network :func:`coord_index` builds
a :class:`DenseCoordIndex` instead: a key -> row table over the whole grid (memory O(grid), lookups
O(1)), made only of Scatter/Gather ops that onnxruntime and TensorRT run.
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


class DenseCoordIndex:
    """Row lookup through a dense key -> row table (``num_keys`` = batch x grid volume entries).

    Built from the coordinates alone (the table is derived from an input tensor, so an exporter cannot
    fold it into a constant of the grid's size); used for ONNX export, where searchsorted does not exist."""

    def __init__(self, coords: torch.Tensor, shape: tuple[int, int, int], batch_size: int) -> None:
        self.shape = tuple(shape)
        self.num_keys = batch_size * self.shape[0] * self.shape[1] * self.shape[2]
        keys = linearize(coords, self.shape)
        rows = torch.arange(keys.shape[0], device=keys.device)  # traced as a Range over the dynamic row count
        absent = (torch.zeros_like(keys[:1]) - 1).expand(self.num_keys + 1)
        self.table = absent.index_put((keys,), rows)

    def lookup(self, query: torch.Tensor) -> torch.Tensor:
        """(M, 4) coordinates -> (M,) row index, -1 where absent or outside the grid."""
        inside = in_bounds(query[:, 1:], self.shape)
        keys = torch.where(inside, linearize(query, self.shape), torch.full_like(query[:, 0], self.num_keys))
        return self.table[keys]


def exporting() -> bool:
    """True while ``torch.onnx.export`` traces the network: the sparse layers then use ONNX-friendly ops."""
    return torch.onnx.is_in_onnx_export()


def make_index(coords: torch.Tensor, shape: tuple[int, int, int], batch_size: int) -> CoordIndex | DenseCoordIndex:
    """The sorted-key index, or the dense table while an ONNX export traces the network."""
    if exporting():
        return DenseCoordIndex(coords, shape, batch_size)
    return CoordIndex(coords, shape)


def neighbor_table(index: CoordIndex | DenseCoordIndex, queries: torch.Tensor) -> torch.Tensor:
    """queries (N_out, K, 4) -> (N_out, K) input rows, -1 where the offset reaches no active site."""
    k = queries.shape[1]
    return index.lookup(queries.reshape(-1, 4)).reshape(-1, k)


def submanifold_queries(coords: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """(N, K, 4): the site reached by each offset of a centred kernel at every input site."""
    off = kernel_offsets(kernel_size, coords.device) - kernel_size // 2
    off = torch.cat([torch.zeros_like(off[:, :1]), off], 1)
    return coords[:, None, :] + off[None]


def strided_queries(out_coords: torch.Tensor, k: int, s: int, p: int) -> torch.Tensor:
    """(N_out, K, 4): input site y*s - p + o of every offset o at every output site y."""
    off = kernel_offsets(k, out_coords.device) - p
    off = torch.cat([torch.zeros_like(off[:, :1]), off], 1)
    scale = torch.tensor([1, s, s, s], device=out_coords.device)
    return (out_coords * scale)[:, None, :] + off[None]


def _offset_pairs(index: CoordIndex, queries: torch.Tensor) -> KernelMap:
    """queries (N_out, K, 4): one batched lookup, then the (input row, output row) pairs per offset."""
    found = neighbor_table(index, queries)
    valid = found >= 0
    offs, out_rows = valid.T.nonzero().unbind(1)  # grouped by offset, rows ascending
    counts = valid.sum(0).tolist()
    return list(zip(found[out_rows, offs].split(counts), out_rows.split(counts)))


def submanifold_map(coords: torch.Tensor, shape: tuple[int, int, int], kernel_size: int,
                    index: CoordIndex | None = None) -> KernelMap:
    """Outputs at the input sites; offset o connects site p + o - k//2 to p."""
    index = index or CoordIndex(coords, shape)
    return _offset_pairs(index, submanifold_queries(coords, kernel_size))


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


def lowest_rows(cost: torch.Tensor, keys: torch.Tensor, limit: int) -> torch.Tensor:
    """Rows of the ``limit`` smallest ``cost``, ties broken by the smaller key (deterministic on any device);
    in cost order."""
    by_key = torch.sort(keys, stable=True).indices
    return by_key[torch.sort(cost[by_key], stable=True).indices[:limit]]


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
    return _offset_pairs(index, strided_queries(out_coords, k, s, p))
