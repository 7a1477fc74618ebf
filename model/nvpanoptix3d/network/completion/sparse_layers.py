"""Sparse layers with warpconvnet's parameter layout and coordinate rules (NVIDIA's 3D checkpoint loads as is).

``SparseConv3d.weight`` is (K, C_in, C_out), K = k^3, flat kernel index n = ix*k^2 + iy*k + iz (x slowest),
offset (ix, iy, iz) - c with c = (k-1)/2 for odd k and 0 for even k. A conv adds ``in[i] @ W[n]`` to
``out[o]`` for every (input i, output o, offset n) pair of its kernel map:

- stride 1, not generative: outputs at the input sites, pair (o, o + d) (submanifold; k=1 is a GEMM);
- stride s, not transposed: outputs at unique(floor(in / s)), pair (o, s*o + d);
- transposed + generative, stride s: outputs at every s*i + d, pair (i, s*i + d).

The gather-GEMM-scatter itself is the frustum3d backend's (``apply_kernel_map``: it re-gathers in backward
instead of keeping the gathered rows), or spconv's on the same pairs when ``executor`` is "spconv"
(``spconv_exec.py``, ``model.frustum3d.backend=spconv``). Kernel maps depend only on coordinates and are cached on the input
tensor, so layers sharing a coordinate set share their maps.

Checked against warpconvnet's source (1.8.2 sdist; the same rules in NVlabs/WarpConvNet since Dec 2025; NVIDIA
pins the fork daocongtuyen2x/WarpConvNet at b784cc41, not public here): weight shape in
``nn/modules/sparse_conv.py``, offsets and their flat order in ``geometry/coords/search/torch_discrete.py``
(``kernel_offsets_from_size``) and ``csrc/include/cuhash/kernel_map.cuh``, output coordinates in
``geometry/coords/ops/stride.py`` (float floor division) and ``nn/functional/sparse_conv/helper.py``
(transposed generative: input scaled by s, then expanded by the kernel offsets), bias added after the GEMM,
the norm in ``nn/modules/normalizations.py`` (``nn.InstanceNorm1d`` on the (N, C) rows). Two warpconvnet
behaviours are deliberately not reproduced (both depend on GPU hash order): an odd-kernel conv whose output
count equals its input count takes its centre tap row for row (right for submanifold convs, a row mix-up for
a strided one), and kernel maps are cached per tensor lineage under the per-batch voxel counts only, so a
later conv on re-ordered rows of the same count reuses a map built for the old order. Row order here is
lexicographic wherever a set is built; it never changes values.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from nvpanoptix3d.network.completion.voxel_index import VoxelIndex, in_grid, pack, unique_coords
from nvpanoptix3d.network.frustum3d.sparse.conv import apply_kernel_map
from nvpanoptix3d.network.frustum3d.sparse.kernel_map import KernelMap, kernel_offsets
from nvpanoptix3d.network.frustum3d.sparse.tensor import SparseTensor


def centred_offsets(kernel_size: int, device: torch.device | None = None) -> torch.Tensor:
    """(k^3, 3) offsets in warpconvnet's flat kernel order: (ix, iy, iz) - c, c = (k-1)/2 odd k, 0 even k."""
    c = (kernel_size - 1) // 2 if kernel_size % 2 else 0
    return kernel_offsets(kernel_size, device) - c


def voxel_index(x: SparseTensor) -> VoxelIndex:
    """The tensor's row lookup, built once and cached with its coordinates."""
    if "nv_index" not in x.cache:
        x.cache["nv_index"] = VoxelIndex(x.coords)
    return x.cache["nv_index"]


def _with_batch(offsets: torch.Tensor) -> torch.Tensor:
    return torch.cat([torch.zeros_like(offsets[:, :1]), offsets], 1)


def _pairs(found: torch.Tensor, rows: torch.Tensor) -> KernelMap:
    """found (M, K) rows of the other side (-1 absent), rows (M,) of this side -> (input, output) per offset."""
    valid = found >= 0
    offs, m = valid.T.nonzero().unbind(1)  # grouped by offset
    counts = valid.sum(0).tolist()
    return list(zip(found[m, offs].split(counts), rows[m].split(counts)))


def submanifold_map(x: SparseTensor, kernel_size: int) -> KernelMap:
    """Stride 1: output o (an input site) reads input o + d."""
    key = ("nv_subm", kernel_size)
    if key not in x.cache:
        off = _with_batch(centred_offsets(kernel_size, x.coords.device))
        queries = (x.coords[:, None, :] + off[None]).reshape(-1, 4)
        found = voxel_index(x).lookup(queries).reshape(x.num_voxels, off.shape[0])  # K explicit: N may be 0
        x.cache[key] = _pairs(found, torch.arange(x.num_voxels, device=x.coords.device))
    return x.cache[key]


def downsampled_coords(x: SparseTensor, stride: int) -> torch.Tensor:
    """unique(floor(coords / stride)), sorted (shared by every stride-``stride`` conv of ``x``)."""
    key = ("nv_down_coords", stride)
    if key not in x.cache:
        xyz = torch.div(x.coords[:, 1:], stride, rounding_mode="floor")
        x.cache[key] = unique_coords(torch.cat([x.coords[:, :1], xyz], 1))[0]
    return x.cache[key]


def strided_map(x: SparseTensor, kernel_size: int, stride: int) -> tuple[torch.Tensor, KernelMap]:
    """Output o (at unique(floor(in / s))) reads input s*o + d."""
    key = ("nv_strided", kernel_size, stride)
    if key not in x.cache:
        out = downsampled_coords(x, stride)
        off = _with_batch(centred_offsets(kernel_size, x.coords.device))
        scale = torch.tensor([1, stride, stride, stride], device=out.device)
        queries = ((out * scale)[:, None, :] + off[None]).reshape(-1, 4)
        found = voxel_index(x).lookup(queries).reshape(out.shape[0], off.shape[0])
        x.cache[key] = (out, _pairs(found, torch.arange(out.shape[0], device=out.device)))
    return x.cache[key]


def generative_map(x: SparseTensor, kernel_size: int, stride: int) -> tuple[torch.Tensor, KernelMap]:
    """Outputs at every s*i + d (sorted union); input i writes output s*i + d."""
    key = ("nv_generative", kernel_size, stride)
    if key not in x.cache:
        off = _with_batch(centred_offsets(kernel_size, x.coords.device))
        scale = torch.tensor([1, stride, stride, stride], device=x.coords.device)
        targets = ((x.coords * scale)[:, None, :] + off[None]).reshape(-1, 4)
        out, inverse = unique_coords(targets)
        n, k = x.num_voxels, off.shape[0]
        out_rows = inverse.reshape(n, k)
        in_rows = torch.arange(n, device=out.device)
        x.cache[key] = (out, [(in_rows, out_rows[:, j]) for j in range(k)])
    return x.cache[key]


class SparseConv3d(nn.Module):
    """warpconvnet-style sparse convolution; weight (K, C_in, C_out), bias (C_out,)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 bias: bool = True, transposed: bool = False, generative: bool = False) -> None:
        super().__init__()
        if transposed and not generative:
            raise NotImplementedError("only generative transposed convolutions are used by the decoder")
        if generative and not transposed:
            raise NotImplementedError("generative convolutions here are transposed (upsampling) ones")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = kernel_size, stride
        self.transposed, self.generative = transposed, generative
        k = kernel_size ** 3
        bound = 1 / math.sqrt(in_channels * k)  # nn.Conv3d's default bound for the same fan-in
        self.weight = nn.Parameter(torch.empty(k, in_channels, out_channels).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(out_channels).uniform_(-bound, bound)) if bias else None

    def forward(self, x: SparseTensor) -> SparseTensor:
        """x (N, C_in) -> (M, C_out) on the output coordinates of the layer's rule (module docstring)."""
        k, s = self.kernel_size, self.stride
        if self.generative:
            coords, kmap = generative_map(x, k, s)
            shape, stride = tuple(d * s for d in x.spatial_shape), max(x.stride // s, 1)
        elif s == 1:
            if k == 1:
                return x.replace(self._finish(x.feats @ self.weight[0]))
            coords, kmap = x.coords, submanifold_map(x, k)
            feats = self._finish(self._gather_gemm_scatter(x, kmap, x.num_voxels))
            return x.replace(feats)
        else:
            coords, kmap = strided_map(x, k, s)
            shape, stride = tuple(d // s for d in x.spatial_shape), x.stride * s
        feats = self._finish(self._gather_gemm_scatter(x, kmap, coords.shape[0]))
        return SparseTensor(coords, feats, shape, x.batch_size, stride)

    executor = "sparse"  # "spconv": spconv's kernels on the same kernel map (set by spconv_exec.use_spconv)

    def _gather_gemm_scatter(self, x: SparseTensor, kmap: KernelMap, n_out: int) -> torch.Tensor:
        if self.executor == "spconv":
            from nvpanoptix3d.network.completion.spconv_exec import gather_gemm_scatter  # noqa: PLC0415

            return gather_gemm_scatter(x, self.weight, kmap, n_out)
        return apply_kernel_map(x.feats, self.weight, kmap, n_out)

    def _finish(self, out: torch.Tensor) -> torch.Tensor:
        return out + self.bias if self.bias is not None else out

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"transposed={self.transposed}, generative={self.generative}, bias={self.bias is not None}")


class SparseInstanceNorm(nn.Module):
    """warpconvnet ``InstanceNorm``: ``nn.InstanceNorm1d`` on the (N, C) feature matrix, which PyTorch reads
    as one unbatched sample with N channels, so each voxel is normalised over its own C channels (a
    LayerNorm without affine, eps 1e-5). No parameters; ``channels`` only documents the width."""

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.channels, self.eps = channels, eps

    def forward(self, x: SparseTensor) -> SparseTensor:
        return x.replace(F.layer_norm(x.feats, (x.feats.shape[1],), eps=self.eps))


class SparseReLU(nn.Module):
    def forward(self, x: SparseTensor) -> SparseTensor:
        return x.replace(torch.relu(x.feats))


class Linear(nn.Module):
    """warpconvnet ``Linear``: an ``nn.Linear`` (key ``block``) on the feature rows."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.block = nn.Linear(in_features, out_features, bias=bias)

    def forward(self, x: SparseTensor) -> SparseTensor:
        return x.replace(self.block(x.feats))


def prune(x: SparseTensor, keep: torch.Tensor) -> SparseTensor:
    """The voxels where ``keep`` (N,) bool is set, in their order (a new coordinate set)."""
    rows = keep.nonzero().flatten()
    return SparseTensor(x.coords[rows], x.feats[rows], x.spatial_shape, x.batch_size, x.stride)


def prune_to_grid(x: SparseTensor) -> SparseTensor:
    """Drop the voxels outside [0, spatial_shape)."""
    return prune(x, in_grid(x.coords, x.spatial_shape))


def _union(a: SparseTensor, b: SparseTensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    if a.stride != b.stride or a.batch_size != b.batch_size:
        raise ValueError(f"union of tensors at strides {a.stride}/{b.stride}, batch sizes {a.batch_size}/"
                         f"{b.batch_size}")
    coords, inverse = unique_coords(torch.cat([a.coords, b.coords]))
    return coords, inverse[:a.num_voxels], inverse[a.num_voxels:]


def add_voxels(a: SparseTensor, b: SparseTensor) -> SparseTensor:
    """Coordinate union with summed features (sorted union; ``a`` unchanged when both share coordinates)."""
    if a.coords is b.coords or (a.coords.shape == b.coords.shape and torch.equal(a.coords, b.coords)):
        return a.replace(a.feats + b.feats)
    if b.num_voxels == 0:
        return a
    if a.num_voxels == 0:
        return b
    coords, ia, ib = _union(a, b)
    feats = a.feats.new_zeros(coords.shape[0], a.feats.shape[1]).index_add(0, ia, a.feats).index_add(0, ib, b.feats)
    return SparseTensor(coords, feats, a.spatial_shape, a.batch_size, a.stride)


def cat_union(a: SparseTensor, b: SparseTensor) -> SparseTensor:
    """Coordinate union (sorted) with channels [a | b], zeros where a tensor has no voxel."""
    coords, ia, ib = _union(a, b)
    n = coords.shape[0]
    fa = a.feats.new_zeros(n, a.feats.shape[1]).index_put((ia,), a.feats)
    fb = b.feats.new_zeros(n, b.feats.shape[1]).index_put((ib,), b.feats)
    return SparseTensor(coords, torch.cat([fa, fb], 1), a.spatial_shape, a.batch_size, a.stride)


def cat_features(tensors: list[SparseTensor]) -> SparseTensor:
    """Channel concatenation of tensors on the same coordinates (warpconvnet ``cat``)."""
    first = tensors[0]
    for t in tensors[1:]:
        if not (t.coords is first.coords or torch.equal(t.coords, first.coords)):
            raise ValueError("cat_features needs tensors on the same coordinates")
    return first.replace(torch.cat([t.feats for t in tensors], 1))


def to_dense(x: SparseTensor, shape: tuple[int, int, int] | None = None) -> torch.Tensor:
    """(B, C, *shape) zeros-filled volume of the voxels inside [0, shape) (NVIDIA's SparseToDense; ``shape``
    defaults to the tensor's own grid)."""
    shape = tuple(shape or x.spatial_shape)
    inside = prune(x, in_grid(x.coords, shape))
    return SparseTensor(inside.coords, inside.feats, shape, x.batch_size, x.stride).dense(0.0)


class SparseBasicBlock3D(nn.Module):
    """conv3 (stride s, no bias) - IN - ReLU - conv3 - IN, plus the identity (or ``downsample(x)``) by
    coordinate union with summation, then ReLU; IN is warpconvnet's per-voxel norm."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = SparseConv3d(inplanes, planes, 3, stride=stride, bias=False)
        self.bn1 = SparseInstanceNorm(planes)
        self.relu = SparseReLU()
        self.conv2 = SparseConv3d(planes, planes, 3, bias=False)
        self.bn2 = SparseInstanceNorm(planes)
        self.downsample = downsample

    def forward(self, x: SparseTensor) -> SparseTensor:
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        identity = self.downsample(x) if self.downsample is not None else x
        return self.relu(add_voxels(out, identity))


class VolumeInstanceNorm(nn.Module):
    """``nn.InstanceNorm3d`` without affine or running statistics (NVIDIA's dense levels), written out so that
    a 1-voxel volume (the coarsest level of a 32^3 grid) normalises to 0 in training too instead of raising."""

    def __init__(self, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, X, Y, Z) -> each channel of each sample normalised over its voxels."""
        if x.shape[2] * x.shape[3] * x.shape[4] > 1:
            return F.instance_norm(x, eps=self.eps)
        return x - x  # one voxel: (x - mean) = 0, as the normalisation of a single value


class BasicBlock3D(nn.Module):
    """Dense twin: Conv3d k3 (padding 1, no bias) - InstanceNorm3d - ReLU - Conv3d - InstanceNorm3d, plus the
    identity (or ``downsample(x)``), ReLU. InstanceNorm3d has no affine and no running statistics."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv3d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = VolumeInstanceNorm()
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv3d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = VolumeInstanceNorm()
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, C_in, X, Y, Z) -> (B, planes, X/s, Y/s, Z/s)."""
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        identity = self.downsample(x) if self.downsample is not None else x
        return self.relu(out + identity)


__all__ = ["BasicBlock3D", "Linear", "SparseBasicBlock3D", "SparseConv3d", "SparseInstanceNorm", "SparseReLU",
           "add_voxels", "cat_features", "cat_union", "centred_offsets", "pack", "prune", "prune_to_grid",
           "to_dense"]
