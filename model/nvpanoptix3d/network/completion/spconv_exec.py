"""spconv's gather-GEMM-scatter kernels behind NVIDIA's completion layers (``model.frustum3d.backend=spconv``).

Only the arithmetic moves to spconv: the output coordinates and the (input row, output row) pairs of every
kernel offset stay ours (:mod:`.sparse_layers`, warpconvnet's rules), because spconv's own strided and
transposed convolutions place their outputs elsewhere (a k3 s2 p1 conv also writes floor(i/2)+1 for odd i).
The pairs are packed into spconv's ``indice_pairs`` (2, K, L) int32 (row 0 input rows, row 1 output rows,
offset k's first ``indice_pair_num[k]`` entries valid) and run through ``spconv.pytorch.ops.indice_conv`` /
``indice_conv_backward`` (its ``Native`` algorithm: per offset, gather, GEMM, scatter-add; CUDA kernels on
GPU tensors, its C++ gather/scatter and ``torch.mm`` on CPU).

The parameter stays ours: weight (K, C_in, C_out), flat offset index ix*k^2 + iy*k + iz; spconv wants
(C_out, K, C_in) (its KRSC layout with the three spatial axes flattened into K, which is only the index of
an offset in ``indice_pairs``), so the permuted copy is made on each call and its gradient is permuted back.
The state dict, and so NVIDIA's checkpoint, is the same for every backend.

Dtypes: the operands run in the autocast dtype (else their own), as the pure path: fp32 and fp64 as they are;
fp16 on CUDA (on CPU spconv's fp16 GEMM goes through numpy: fp32 instead); spconv 2.3 has no bf16 GEMM, so
bf16 runs in fp32. Results and gradients are cast back to the input's and the weight's dtypes.

Tolerance (tests/network/test_completion_spconv.py): each layer kind equal to the pure path to 1e-5 in fp32
(on CPU bitwise, the same per-offset order); the whole decoder equal in fp64 (gradients to 1e-9 relative),
in fp32 within the network's own fp32 rounding.

Threads: spconv 2.3's CPU scatter-add is not safe with more than one intra-op thread (two threads writing the
same output row lose updates: errors of ~0.4 on 20,000 random voxels with 2 threads, none with 1), so CPU
calls run with ``torch.set_num_threads(1)`` and restore the count after (process-wide while a call runs).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from nvpanoptix3d.network.frustum3d.sparse.backend import SPCONV_MISSING, SpconvMissingError
from nvpanoptix3d.network.frustum3d.sparse.kernel_map import KernelMap
from nvpanoptix3d.network.frustum3d.sparse.tensor import SparseTensor

try:
    from spconv.core import ConvAlgo
    from spconv.pytorch import ops as spconv_ops
except ImportError:  # the dev extra installs spconv (CPU wheel); spconv-cuXXX on GPU machines
    spconv_ops = None


def available() -> bool:
    return spconv_ops is not None


def require() -> None:
    """Raise the one-line "install spconv or choose sparse" error when spconv is absent."""
    if spconv_ops is None:
        raise SpconvMissingError(SPCONV_MISSING)


def _cpu_stream_guard() -> None:
    """spconv 2.3.8's ``indice_conv_backward`` asks torch for the current CUDA stream before it takes its CPU
    branch (which never uses it), so with a CPU-only torch every backward raises. Without CUDA there is no
    stream to ask for: answer 0 (the value spconv passes for CPU tensors everywhere else)."""
    if spconv_ops is not None and not torch.cuda.is_available():
        spconv_ops.get_current_stream = lambda: 0


_cpu_stream_guard()


def indice_pairs(kmap: KernelMap, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Our per-offset (in_rows, out_rows) -> spconv's (indice_pairs (2, K, L) int32, indice_pair_num (K,) int32),
    L = the largest pair count (at least 1), unused entries -1."""
    counts = torch.tensor([rows_in.numel() for rows_in, _ in kmap], dtype=torch.long)
    width = max(int(counts.max()) if len(kmap) else 0, 1)
    pairs = torch.full((2, len(kmap), width), -1, dtype=torch.int32, device=device)
    total = int(counts.sum())
    if total:
        offset = torch.repeat_interleave(torch.arange(len(kmap)), counts).to(device)
        starts = (torch.cumsum(counts, 0) - counts).to(device)
        pos = torch.arange(total, device=device) - starts[offset]
        pairs[0, offset, pos] = torch.cat([rows_in for rows_in, _ in kmap]).to(device, torch.int32)
        pairs[1, offset, pos] = torch.cat([rows_out for _, rows_out in kmap]).to(device, torch.int32)
    return pairs, counts.to(device=device, dtype=torch.int32)


@contextlib.contextmanager
def _single_thread_on_cpu(device: torch.device) -> Iterator[None]:
    """One intra-op thread while spconv's CPU kernels run (their scatter-add races with more; module docstring)."""
    threads = torch.get_num_threads()
    if device.type != "cpu" or threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _run_dtype(feats: torch.Tensor) -> torch.dtype:
    dev = feats.device.type
    dtype = torch.get_autocast_dtype(dev) if torch.is_autocast_enabled(dev) else feats.dtype
    if dtype == torch.float16 and dev == "cpu":
        return torch.float32  # spconv's CPU fp16 GEMM goes through numpy, far slower than fp32
    return dtype if dtype in (torch.float32, torch.float16, torch.float64) else torch.float32


class _SpconvGatherGemmScatter(torch.autograd.Function):
    """out[o] += feats[i] @ W[k] over the pairs (i, o) of offset k, forward and backward on spconv's kernels.
    Saves only feats, the converted weight and the pairs (spconv re-gathers in backward, as the pure path)."""

    @staticmethod
    def forward(ctx, feats: torch.Tensor, weight: torch.Tensor, pairs: torch.Tensor, pair_num: torch.Tensor,
                n_out: int) -> torch.Tensor:
        dtype = _run_dtype(feats)
        ctx.dtypes = (feats.dtype, weight.dtype)
        f = feats.to(dtype).contiguous()
        filters = weight.to(dtype).permute(2, 0, 1).contiguous()  # (K, C_in, C_out) -> spconv (C_out, K, C_in)
        ctx.save_for_backward(f, filters, pairs, pair_num)
        with torch.autocast(feats.device.type, enabled=False), _single_thread_on_cpu(f.device):
            out = spconv_ops.indice_conv(f, filters, pairs, pair_num, n_out, False, False, algo=ConvAlgo.Native)
        return out.to(feats.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        f, filters, pairs, pair_num = ctx.saved_tensors
        feats_dtype, weight_dtype = ctx.dtypes
        with torch.autocast(f.device.type, enabled=False), _single_thread_on_cpu(f.device):
            d_in, d_filters = spconv_ops.indice_conv_backward(f, filters, grad.to(f.dtype).contiguous(), pairs,
                                                              pair_num, False, False, algo=ConvAlgo.Native)
        d_weight = d_filters.reshape(filters.shape).permute(1, 2, 0)
        return d_in.to(feats_dtype), d_weight.to(weight_dtype), None, None, None


def gather_gemm_scatter(x: SparseTensor, weight: torch.Tensor, kmap: KernelMap, n_out: int) -> torch.Tensor:
    """(n_out, C_out) = sum over offsets k of scatter_add(out rows, x.feats[in rows] @ weight[k]) on spconv.

    The packed pairs are cached on ``x`` next to the kernel map they come from (the map lives in the same
    cache, so its ``id`` is stable while the entry exists)."""
    require()
    key = ("spconv_pairs", id(kmap))
    if key not in x.cache:
        x.cache[key] = indice_pairs(kmap, x.feats.device)
    pairs, pair_num = x.cache[key]
    if x.num_voxels == 0 or n_out == 0:  # nothing to multiply (spconv's CPU path cannot view empty tensors)
        return (x.feats.new_zeros(n_out, weight.shape[-1])
                + 0 * weight.sum() + 0 * x.feats.sum())  # keeps both in the graph: zero gradients, as the pure path
    return _SpconvGatherGemmScatter.apply(x.feats, weight, pairs, pair_num, n_out)


def use_executor(module: torch.nn.Module, executor: str) -> int:
    """Route every NVIDIA-layout ``SparseConv3d`` under ``module`` to ``executor`` ("sparse": our
    gather-GEMM-scatter, "spconv": spconv's kernels; the same numbers); returns their count."""
    from nvpanoptix3d.network.completion.sparse_layers import SparseConv3d  # noqa: PLC0415

    layers = [m for m in module.modules() if isinstance(m, SparseConv3d)]
    for m in layers:
        m.executor = executor
    return len(layers)


def use_spconv(module: torch.nn.Module) -> int:
    """Route every NVIDIA-layout ``SparseConv3d`` under ``module`` to spconv's kernels; returns their count."""
    return use_executor(module, "spconv")
