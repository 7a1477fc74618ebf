"""Pure-PyTorch sparse convolutions (gather - GEMM - scatter) and the point-wise layers around them.

Weights keep the layout of the dense layer they replace (``nn.Conv3d``: (Cout, Cin, k, k, k);
``nn.ConvTranspose3d``: (Cin, Cout, 2, 2, 2)), so a dense checkpoint maps onto them and the tests compare
against ``torch.nn.functional.conv3d`` directly. Cost is O(active pairs x Cin x Cout), never the grid.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from nvpanoptix3d.network.frustum3d.sparse.kernel_map import (CoordIndex, DenseCoordIndex, KernelMap, exporting,
                                                             kernel_offsets, linearize, make_index, neighbor_table,
                                                             strided_map, strided_output_coords, strided_output_shape,
                                                             strided_queries, submanifold_map, submanifold_queries)
from nvpanoptix3d.network.frustum3d.sparse.tensor import SparseTensor


def coord_index(x: SparseTensor) -> CoordIndex | DenseCoordIndex:
    """The tensor's lookup table, built once and cached with its coordinates."""
    if "index" not in x.cache:
        x.cache["index"] = make_index(x.coords, x.spatial_shape, x.batch_size)
    return x.cache["index"]


def accumulation_dtype(dtype: torch.dtype) -> torch.dtype:
    """fp32 for the half-precision autocast dtypes (sums, statistics, losses), the dtype itself otherwise."""
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def _autocast_operands(ctx, feats: torch.Tensor, weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """feats and weight in the autocast dtype (fp16/bf16 training) or their own: a custom Function is not cast
    for us, and index_add_ needs one dtype on both sides. Records the original dtypes for backward."""
    dev = feats.device.type
    dtype = torch.get_autocast_dtype(dev) if torch.is_autocast_enabled(dev) else feats.dtype
    ctx.dtypes = (feats.dtype, weight.dtype)
    return feats.to(dtype), weight.to(dtype)


def with_absent_row(feats: torch.Tensor) -> torch.Tensor:
    """feats with a zero row in front, so that row index -1 ("absent") + 1 reads zeros."""
    return torch.cat([torch.zeros_like(feats[:1]), feats])


def gather_gemm(feats: torch.Tensor, weight: torch.Tensor, neighbors: torch.Tensor) -> torch.Tensor:
    """sum over offsets k of feats[neighbors[:, k]] @ weight[k] (absent neighbours read a zero row) as one
    gather and one GEMM: no data-dependent sizes, so it traces into a static ONNX graph. weight (K, Cin, Cout)."""
    return _padded_gemm(with_absent_row(feats), weight.reshape(-1, weight.shape[-1]), neighbors)


def _padded_gemm(padded: torch.Tensor, weight_flat: torch.Tensor, neighbors: torch.Tensor) -> torch.Tensor:
    return padded[neighbors + 1].flatten(1) @ weight_flat  # gathered (N_out, K x Cin) @ (K x Cin, Cout)


class _GatherGemmScatter(torch.autograd.Function):
    """out[o] += feats[i] @ W[k] over the pairs (i, o) of every offset k.

    Autograd would keep every gathered ``feats[i]`` (pairs x Cin, up to 27x the input) for the backward
    pass; this function keeps only ``feats``, the weight and the kernel map and re-gathers in backward,
    so activation memory stays O(active voxels x channels)."""

    @staticmethod
    def forward(ctx, feats: torch.Tensor, weight: torch.Tensor, kmap: KernelMap, n_out: int) -> torch.Tensor:
        # Under autocast (fp16/bf16 training) the GEMMs run in the autocast dtype and accumulate in fp32.
        f, w = _autocast_operands(ctx, feats, weight)
        ctx.kmap = kmap
        ctx.save_for_backward(f, w)
        acc = accumulation_dtype(f.dtype)
        out = f.new_zeros(n_out, w.shape[-1], dtype=acc)
        with torch.autocast(f.device.type, enabled=False):
            for k, (rows_in, rows_out) in enumerate(kmap):
                if rows_in.numel():
                    out.index_add_(0, rows_out, (f[rows_in] @ w[k]).to(acc))
        return out.to(f.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        f, w = ctx.saved_tensors
        feats_dtype, weight_dtype = ctx.dtypes
        acc = accumulation_dtype(f.dtype)
        g_all = grad.to(f.dtype)
        grad_feats = torch.zeros(f.shape, dtype=acc, device=f.device) if ctx.needs_input_grad[0] else None
        grad_weight = torch.zeros(w.shape, dtype=acc, device=w.device) if ctx.needs_input_grad[1] else None
        for k, (rows_in, rows_out) in enumerate(ctx.kmap):
            if not rows_in.numel():
                continue
            g = g_all[rows_out]
            if grad_feats is not None:
                grad_feats.index_add_(0, rows_in, (g @ w[k].T).to(acc))
            if grad_weight is not None:
                grad_weight[k] = (f[rows_in].T @ g).to(acc)
        return (grad_feats.to(feats_dtype) if grad_feats is not None else None,
                grad_weight.to(weight_dtype) if grad_weight is not None else None, None, None)


def apply_kernel_map(feats: torch.Tensor, weight: torch.Tensor, kmap: KernelMap, n_out: int) -> torch.Tensor:
    """sum over offsets k of scatter_add(out rows, feats[in rows] @ weight[k]); weight (K, Cin, Cout)."""
    return _GatherGemmScatter.apply(feats, weight, kmap, n_out)


# Rows of the neighbour table handled at once by :class:`_NeighborGemm`, so that the gathered
# (rows, K x Cin) block stays near this many elements (64 Mi: 256 MiB in fp32) however many voxels a level has.
GATHER_BUDGET = 1 << 26


def _row_chunks(n: int, k: int, cin: int) -> list[tuple[int, int]]:
    step = max(1, GATHER_BUDGET // max(1, k * cin))
    return [(i, min(i + step, n)) for i in range(0, n, step)]


class _NeighborGemm(torch.autograd.Function):
    """:func:`gather_gemm` with the gathered (N_out, K x Cin) matrix recomputed in backward instead of kept,
    and built in row chunks of at most ``GATHER_BUDGET`` elements (transient memory stays bounded).

    One gather and one GEMM per chunk (two plus one scatter in backward), no per-offset loop and no host
    synchronisation: what a GPU wants. It multiplies the zero rows of absent neighbours too, so on a CPU the
    per-offset pairs (:class:`_GatherGemmScatter`) do less work."""

    @staticmethod
    def forward(ctx, feats: torch.Tensor, weight: torch.Tensor, neighbors: torch.Tensor) -> torch.Tensor:
        f, w = _autocast_operands(ctx, feats, weight)
        ctx.save_for_backward(f, w, neighbors)
        k, cin, cout = w.shape
        padded, w_flat = with_absent_row(f), w.reshape(k * cin, cout)  # once per layer, not per chunk
        out = f.new_empty(neighbors.shape[0], cout)
        with torch.autocast(f.device.type, enabled=False):
            for a, b in _row_chunks(neighbors.shape[0], k, cin):
                out[a:b] = _padded_gemm(padded, w_flat, neighbors[a:b])
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        f, w, neighbors = ctx.saved_tensors
        feats_dtype, weight_dtype = ctx.dtypes
        g = grad.to(f.dtype)
        k, cin, cout = w.shape
        acc = accumulation_dtype(f.dtype)
        w_flat = w.reshape(k * cin, cout)
        padded = with_absent_row(f)
        grad_feats = torch.zeros(f.shape[0] + 1, cin, dtype=acc, device=f.device) if ctx.needs_input_grad[0] else None
        grad_weight = torch.zeros(k * cin, cout, dtype=acc, device=f.device) if ctx.needs_input_grad[1] else None
        for a, b in _row_chunks(neighbors.shape[0], k, cin):
            rows = neighbors[a:b]
            if grad_feats is not None:
                per_pair = (g[a:b] @ w_flat.T).reshape(-1, cin).to(acc)
                grad_feats.index_add_(0, rows.reshape(-1) + 1, per_pair)
            if grad_weight is not None:
                grad_weight += (padded[rows + 1].flatten(1).T @ g[a:b]).to(acc)
        return (grad_feats[1:].to(feats_dtype) if grad_feats is not None else None,
                grad_weight.reshape(k, cin, cout).to(weight_dtype) if grad_weight is not None else None, None)


# How the eager convolutions run: "pairs" (per-offset gather-GEMM-scatter over the active pairs only) or
# "neighbors" (one gather + one GEMM over the padded neighbour table). "auto": neighbours on GPUs, pairs on
# CPUs. The ONNX export always traces the neighbour form.
CONV_ALGORITHMS = ("auto", "pairs", "neighbors")
_conv_algorithm = "auto"


def set_conv_algorithm(name: str) -> str:
    """Select the eager convolution algorithm (returns the previous one); for benchmarks and tests."""
    global _conv_algorithm
    if name not in CONV_ALGORITHMS:
        raise ValueError(f"unknown sparse convolution algorithm {name!r}; choose one of {CONV_ALGORITHMS}")
    previous, _conv_algorithm = _conv_algorithm, name
    return previous


def use_neighbors(feats: torch.Tensor) -> bool:
    if exporting():
        return True
    if _conv_algorithm == "auto":
        return feats.is_cuda
    return _conv_algorithm == "neighbors"


def neighbor_conv(feats: torch.Tensor, weight: torch.Tensor, neighbors: torch.Tensor) -> torch.Tensor:
    """:func:`gather_gemm`, through the memory-saving autograd function when a gradient is needed."""
    if exporting() or not torch.is_grad_enabled() or not (feats.requires_grad or weight.requires_grad):
        return gather_gemm(feats, weight.to(feats.dtype), neighbors)
    return _NeighborGemm.apply(feats, weight, neighbors)


class _ConvBase(nn.Module):
    def __init__(self, cin: int, cout: int, kernel_size: int, bias: bool) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.kernel_size = cin, cout, kernel_size
        self.weight = nn.Parameter(torch.empty(cout, cin, kernel_size, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        # nn.Conv3d's default initialisation, so both backends start from the same distribution.
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(cin * kernel_size ** 3)
            nn.init.uniform_(self.bias, -bound, bound)

    def _kernel(self) -> torch.Tensor:
        return self.weight.flatten(2).permute(2, 1, 0)  # (K, Cin, Cout)

    def _finish(self, out: torch.Tensor) -> torch.Tensor:
        return out + self.bias if self.bias is not None else out


class SubmanifoldConv3d(_ConvBase):
    """Stride-1 convolution whose outputs are exactly the input sites (the active set never dilates)."""

    def __init__(self, cin: int, cout: int, kernel_size: int = 3, bias: bool = True) -> None:
        super().__init__(cin, cout, kernel_size, bias)

    def forward(self, x: SparseTensor) -> SparseTensor:
        if use_neighbors(x.feats):
            key = ("subm_neighbors", self.kernel_size)
            if key not in x.cache:
                x.cache[key] = neighbor_table(coord_index(x), submanifold_queries(x.coords, self.kernel_size))
            return x.replace(self._finish(neighbor_conv(x.feats, self._kernel(), x.cache[key])))
        key = ("subm", self.kernel_size)
        if key not in x.cache:
            x.cache[key] = submanifold_map(x.coords, x.spatial_shape, self.kernel_size, coord_index(x))
        return x.replace(self._finish(apply_kernel_map(x.feats, self._kernel(), x.cache[key], x.num_voxels)))


class SparseConv3d(_ConvBase):
    """Strided (downsampling) convolution; outputs wherever a dense conv3d would see an active input."""

    def __init__(self, cin: int, cout: int, kernel_size: int = 2, stride: int = 2, padding: int = 0,
                 bias: bool = True) -> None:
        super().__init__(cin, cout, kernel_size, bias)
        self.stride, self.padding = stride, padding

    def forward(self, x: SparseTensor) -> SparseTensor:
        k, s, p = self.kernel_size, self.stride, self.padding
        out_shape = strided_output_shape(x.spatial_shape, k, s, p)
        if use_neighbors(x.feats):
            key = ("down_neighbors", k, s, p)
            if key not in x.cache:
                out_coords = (_pooled_output_coords(x, k, s, p) if exporting()
                              else strided_output_coords(x.coords, x.spatial_shape, k, s, p))
                x.cache[key] = (out_coords, neighbor_table(coord_index(x), strided_queries(out_coords, k, s, p)))
            out_coords, neighbors = x.cache[key]
            feats = self._finish(neighbor_conv(x.feats, self._kernel(), neighbors))
            return SparseTensor(out_coords, feats, out_shape, x.batch_size, x.stride * s)
        key = ("down", k, s, p)
        if key not in x.cache:
            out_coords = strided_output_coords(x.coords, x.spatial_shape, k, s, p)
            x.cache[key] = (out_coords, strided_map(x.coords, x.spatial_shape, out_coords, k, s, p, coord_index(x)))
        out_coords, kmap = x.cache[key]
        feats = self._finish(apply_kernel_map(x.feats, self._kernel(), kmap, out_coords.shape[0]))
        return SparseTensor(out_coords, feats, out_shape, x.batch_size, x.stride * s)


def _pooled_output_coords(x: SparseTensor, k: int, s: int, p: int) -> torch.Tensor:
    """:func:`strided_output_coords` from the export-time dense key table: the output sites whose (k, s, p)
    window holds an active input are where a max-pool of the occupancy is non-zero (MaxPool + NonZero on
    floats: no Unique, which TensorRT does not run); NonZero lists them in key order."""
    occupancy = (coord_index(x).table[:-1] >= 0).to(x.feats.dtype).reshape(x.batch_size, 1, *x.spatial_shape)
    return F.max_pool3d(occupancy, k, s, p)[:, 0].nonzero()


class GenerativeConvTranspose3d(nn.Module):
    """Kernel-2, stride-2 transposed convolution that creates all 8 children of every input voxel.

    Each child has exactly one parent, so it is a single GEMM per voxel (no search); pruning the parents
    first (by predicted occupancy) is what keeps the upsampled set sparse."""

    def __init__(self, cin: int, cout: int, bias: bool = True) -> None:
        super().__init__()
        self.in_channels, self.out_channels = cin, cout
        ref = nn.ConvTranspose3d(cin, cout, 2, stride=2, bias=bias)  # reuse its default initialisation
        self.weight = nn.Parameter(ref.weight.detach().clone())
        self.bias = nn.Parameter(ref.bias.detach().clone()) if bias else None

    def forward(self, x: SparseTensor) -> SparseTensor:
        offsets = kernel_offsets(2, x.coords.device)  # (8, 3)
        w = self.weight.flatten(2).permute(0, 2, 1).reshape(self.in_channels, 8 * self.out_channels)
        feats = (x.feats @ w).reshape(-1, self.out_channels)  # -1, not N * 8: sizes stay symbolic in ONNX
        if self.bias is not None:
            feats = feats + self.bias
        offsets = torch.cat([torch.zeros_like(offsets[:, :1]), offsets], 1)
        scale = torch.tensor([1, 2, 2, 2], device=x.coords.device)
        coords = ((x.coords * scale)[:, None, :] + offsets[None]).reshape(-1, 4)
        shape = tuple(2 * d for d in x.spatial_shape)
        return SparseTensor(coords, feats, shape, x.batch_size, max(x.stride // 2, 1))


class SparseInstanceNorm(nn.Module):
    """Instance norm over the active voxels of each sample (inactive voxels are not zeros, they are absent)."""

    def __init__(self, channels: int, eps: float = 1e-5, affine: bool = True) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels)) if affine else None
        self.bias = nn.Parameter(torch.zeros(channels)) if affine else None

    def forward(self, x: SparseTensor) -> SparseTensor:
        f = x.feats.to(accumulation_dtype(x.feats.dtype))  # statistics in fp32 under autocast, as InstanceNorm3d
        # Per-sample sums as a (B, N) one-hot GEMM rather than index_add: the same result, and it exports to
        # ONNX (index_add becomes a ScatterND that drops repeated indices).
        member = (x.coords[:, 0][None] == torch.arange(x.batch_size, device=f.device)[:, None]).to(f.dtype)
        with torch.autocast(f.device.type, enabled=False):
            count = member.sum(1, keepdim=True).clamp(min=1)
            mean = (member @ f) / count
            centred = f - member.T @ mean
            var = (member @ (centred * centred)) / count
            scale = member.T @ torch.rsqrt(var + self.eps)
        out = centred * scale
        if self.weight is not None:
            out = out * self.weight + self.bias
        return x.replace(out.to(x.feats.dtype))


class SparseReLU(nn.Module):
    def forward(self, x: SparseTensor) -> SparseTensor:
        return x.replace(torch.relu(x.feats))


class SparseLinear(nn.Linear):
    """A 1x1x1 convolution: a linear layer on the feature rows."""

    def forward(self, x: SparseTensor) -> SparseTensor:  # type: ignore[override]
        return x.replace(super().forward(x.feats))


def select(x: SparseTensor, rows: torch.Tensor) -> SparseTensor:
    """The voxels at ``rows`` (a new coordinate set: kernel maps are not reused)."""
    return SparseTensor(x.coords[rows], x.feats[rows], x.spatial_shape, x.batch_size, x.stride)


def gather_at(x: SparseTensor, coords: torch.Tensor) -> torch.Tensor:
    """Features of ``x`` at ``coords`` (same level), zeros where ``x`` has no voxel (skip connections)."""
    rows = coord_index(x).lookup(coords)
    return with_absent_row(x.feats)[rows + 1]


def keys_of(x: SparseTensor) -> torch.Tensor:
    return linearize(x.coords, x.spatial_shape)
