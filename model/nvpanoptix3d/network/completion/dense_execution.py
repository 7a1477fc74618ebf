"""The same :class:`FrustumDecoder` weights executed with dense, masked convolutions over the grid.

A sparse tensor becomes a :class:`Masked` volume: features (B, C, X, Y, Z), zero wherever the boolean
``mask`` (B, X, Y, Z) of active voxels is unset. Each sparse rule has a dense equivalent: submanifold conv =
``conv3d`` (padding k//2) read at the mask; stride-2 conv = ``conv3d`` over inputs 2o + d with the mask
max-pooled by 2 (outputs at floor(in / 2)); generative transposed conv = ``conv_transpose3d`` (padding 0:
input i lands on 2i + d, so a level grows by 2 voxels past the grid, as the sparse outputs do before they
are pruned); unions are sums / concatenations with OR-ed masks. The input lies inside the grid, so every
level starts at coordinate 0 and only the upper side grows.

Cost is the grid volume (this is the ``dense`` backend's trade: no kernel maps, plain cuDNN convs) and the
outputs are the densified sparse ones (:func:`~nvpanoptix3d.network.frustum3d.densify.densify`):
the test checks both executions agree.

Multi-scale features (``use_multi_scale``): the stride-2, 4, 8 voxels come as masked volumes of the grids
D/2, D/4, D/8 (:func:`masked_volume`); each goes through its ``feature_adapters`` block and is added to the
level encoder's output as the sparse ``add_voxels`` does (sum, OR-ed masks; the third, dense level: plus the
volume). A volume holds the voxels inside its grid only: NVIDIA's multi-scale voxels are not bounded to the
grid, so the two executions agree when every multi-scale voxel lies inside it (:func:`masked_volume` counts
the others; the export reports them).

ONNX: this execution traces with ``torch.onnx.export`` (opset 17) and onnxruntime reproduces it (checked at a
64^3 grid, fp32, max abs difference 3e-5); NVIDIA's empty-set fallback (``bool(...)`` on the data) is frozen
at the branch taken while tracing. The sparse execution does not export (``searchsorted`` / ``unique``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from nvpanoptix3d.network.completion.decoder import FrustumDecoder, children_targets
from nvpanoptix3d.network.completion.sparse_layers import (Linear, SparseBasicBlock3D, SparseConv3d,
                                                           SparseInstanceNorm, SparseReLU)
from nvpanoptix3d.network.completion.voxel_index import in_grid
from nvpanoptix3d.network.frustum3d.densify import ABSENT_LOGIT


@dataclass
class Masked:
    feats: torch.Tensor  # (B, C, X, Y, Z), zero outside mask
    mask: torch.Tensor  # (B, X, Y, Z) bool

    def with_feats(self, feats: torch.Tensor) -> "Masked":
        return Masked(feats * self.mask[:, None].to(feats.dtype), self.mask)


def masked_volume(coords: torch.Tensor, feats: torch.Tensor, batch_size: int, size: tuple[int, int, int]
                  ) -> tuple[Masked, int]:
    """(the voxels ``coords`` (N, 4) (batch, x, y, z), unique, with ``feats`` (N, C) as a Masked volume
    (B, C, *size), how many lay outside [0, size) and were left out)."""
    inside = in_grid(coords, size)
    coords, feats = coords[inside], feats[inside]
    volume = feats.new_zeros(batch_size, *size, feats.shape[1])
    mask = torch.zeros(batch_size, *size, dtype=torch.bool, device=feats.device)
    b, x, y, z = coords.long().unbind(1)
    volume = volume.index_put((b, x, y, z), feats)
    mask[b, x, y, z] = True
    return Masked(volume.permute(0, 4, 1, 2, 3), mask), int((~inside).sum())


def _dense_weight(conv: SparseConv3d) -> torch.Tensor:
    """(C_out, C_in, k, k, k) cross-correlation weight of a (K, C_in, C_out) sparse one."""
    k = conv.kernel_size
    return conv.weight.permute(2, 1, 0).reshape(conv.out_channels, conv.in_channels, k, k, k)


def _conv(conv: SparseConv3d, x: Masked) -> Masked:
    k, s = conv.kernel_size, conv.stride
    if conv.generative:
        w = conv.weight.permute(1, 2, 0).reshape(conv.in_channels, conv.out_channels, k, k, k)
        out = F.conv_transpose3d(x.feats, w, stride=s)
        ones = torch.ones(1, 1, k, k, k, dtype=x.feats.dtype, device=x.feats.device)
        mask = F.conv_transpose3d(x.mask[:, None].to(x.feats.dtype), ones, stride=s)[:, 0] > 0
    elif s == 1:
        if k % 2 == 0:
            raise NotImplementedError("even stride-1 kernels are not used by the decoder")
        out, mask = F.conv3d(x.feats, _dense_weight(conv), padding=k // 2), x.mask
    else:
        c = (k - 1) // 2 if k % 2 else 0
        size = x.mask.shape[1:]
        if any(d % s for d in size):
            raise ValueError(f"stride-{s} convolution of a {tuple(size)} grid")
        out = F.conv3d(F.pad(x.feats, (c, k - s - c) * 3), _dense_weight(conv), stride=s)
        mask = F.max_pool3d(x.mask[:, None].to(x.feats.dtype), s)[:, 0] > 0
    if conv.bias is not None:
        out = out + conv.bias.view(1, -1, 1, 1, 1)
    return Masked(out, mask).with_feats(out)


def _norm(x: Masked) -> Masked:
    """warpconvnet's instance norm: each voxel over its channels."""
    mean = x.feats.mean(1, keepdim=True)
    centred = x.feats - mean
    var = (centred * centred).mean(1, keepdim=True)  # biased, as InstanceNorm1d; explicit ops export to ONNX
    return x.with_feats(centred * torch.rsqrt(var + 1e-5))


def union(a: Masked, b: Masked, combine: str) -> Masked:
    """Coordinate union: ``sum`` (add_voxels) or ``cat`` (channels [a | b]); grids padded to the larger one."""
    size = [max(p, q) for p, q in zip(a.mask.shape[1:], b.mask.shape[1:])]
    a, b = _pad_to(a, size), _pad_to(b, size)
    feats = a.feats + b.feats if combine == "sum" else torch.cat([a.feats, b.feats], 1)
    return Masked(feats, a.mask | b.mask)


def _pad_to(x: Masked, size: list[int]) -> Masked:
    pad = []
    for have, want in reversed(list(zip(x.mask.shape[1:], size))):
        pad += [0, want - have]
    return Masked(F.pad(x.feats, pad), F.pad(x.mask, pad))


def crop(x: Masked, size: tuple[int, ...]) -> Masked:
    """Drop the voxels outside [0, size) (the sparse ``prune_to_grid``)."""
    X, Y, Z = size
    return Masked(x.feats[..., :X, :Y, :Z], x.mask[:, :X, :Y, :Z])


def keep(x: Masked, rows: torch.Tensor) -> Masked:
    """The voxels where ``rows`` (B, X, Y, Z) bool is set."""
    m = x.mask & rows
    return Masked(x.feats * m[:, None].to(x.feats.dtype), m)


def apply(layer: nn.Module, x: Masked) -> Masked:
    """One sparse layer (or a Sequential of them) on a masked volume."""
    if isinstance(layer, nn.Sequential):
        for sub in layer:
            x = apply(sub, x)
        return x
    if isinstance(layer, SparseConv3d):
        return _conv(layer, x)
    if isinstance(layer, SparseInstanceNorm):
        return _norm(x)
    if isinstance(layer, SparseReLU):
        return Masked(torch.relu(x.feats), x.mask)
    if isinstance(layer, Linear):
        return x.with_feats(layer.block(x.feats.permute(0, 2, 3, 4, 1)).permute(0, 4, 1, 2, 3))
    if isinstance(layer, SparseBasicBlock3D):
        out = apply(layer.bn2, apply(layer.conv2, apply(layer.relu, apply(layer.bn1, apply(layer.conv1, x)))))
        identity = apply(layer.downsample, x) if layer.downsample is not None else x
        return Masked(torch.relu(out.feats + identity.feats), out.mask | identity.mask)
    raise TypeError(f"no dense execution for {type(layer).__name__}")


def _query_masks(emb: Masked, queries: torch.Tensor) -> torch.Tensor:
    """(B, Q, X, Y, Z) mask logits, ABSENT_LOGIT outside the voxel set."""
    logits = torch.einsum("bqc,bcxyz->bqxyz", queries, emb.feats)
    return logits.masked_fill(~emb.mask[:, None], ABSENT_LOGIT)


def _keep_or_fallback(x: Masked, rows: torch.Tensor, valid: torch.Tensor) -> Masked:
    """NVIDIA's empty-set rule, as the sparse decoder applies it (over the whole batch)."""
    if bool((rows & x.mask).any()):
        return keep(x, rows)
    if bool((valid & x.mask).any()):
        return keep(x, valid)
    return x


class DenseFrustumDecoder(FrustumDecoder):
    """:class:`FrustumDecoder` (same constructor, same state dict) run as masked dense convolutions."""

    def forward(self, volume: torch.Tensor, active: torch.Tensor, queries: torch.Tensor,  # type: ignore[override]
                frustum: torch.Tensor, occupancy: list | None = None, ms_volumes: list[Masked] | None = None
                ) -> dict[str, list[torch.Tensor] | torch.Tensor]:
        """volume (B, sum(input_dims), D, D, D) input features; active (B, D, D, D) bool input voxels; queries
        (B, Q, query_dim); frustum (B, D, D, D) bool; ms_volumes (``use_multi_scale`` only): the multi-scale
        voxels as Masked volumes of the grids D/2, D/4, D/8 (:func:`masked_volume`). Returns densify's dict:
        ``pred_occupancy`` [(B, D/4^3), (B, D/2^3), (B, D^3)], ``pred_masks_3d`` [(B, Q, ...)] (ABSENT_LOGIT
        outside each set) and ``pred_geometry`` (B, D, D, D) (``truncation`` outside the occupied voxels)."""
        if self.use_multi_scale and (ms_volumes is None or len(ms_volumes) != 3):
            raise ValueError("use_multi_scale needs ms_volumes (masked volumes at strides 2, 4, 8)")
        forced = children_targets(occupancy, frustum.device) \
            if self.training and self.keep_target_voxels else None
        x = Masked(volume, active).with_feats(volume)
        start, slices = 0, []
        for dim, encoder in zip(self.input_dims, self.input_encoders):
            slices.append(apply(encoder, x.with_feats(volume[:, start:start + dim])))
            start += dim
        level = Masked(torch.cat([s.feats for s in slices], 1), slices[0].mask)
        enc0 = apply(self.level_encoders[0], level)
        if self.use_multi_scale:  # the sparse decoder's add_voxels of the adapted multi-scale voxels
            enc0 = union(enc0, apply(self.feature_adapters[0], ms_volumes[0]), "sum")
        enc1 = apply(self.level_encoders[1], enc0)
        if self.use_multi_scale:
            enc1 = union(enc1, apply(self.feature_adapters[1], ms_volumes[1]), "sum")
        enc2 = self.level_encoders[2](enc1.feats)
        if self.use_multi_scale:
            enc2 = enc2 + crop(apply(self.feature_adapters[2], ms_volumes[2]), tuple(enc2.shape[2:])).feats
        enc3 = self.level_encoders[3](enc2)
        enc4 = self.level_encoders[4](enc3)
        frustum64 = F.max_pool3d(frustum[:, None].float(), kernel_size=2, stride=4)[:, 0] > 0

        decoded = self.level_decoders[4](enc4)
        decoded = self.level_decoders[3](torch.cat([enc3, decoded], 1))
        decoded = self.level_decoders[2](torch.cat([enc2, decoded], 1))
        dense64 = torch.cat([enc1.feats, decoded], 1)
        occ64 = self.level_occupancy_heads[2](dense64.permute(0, 2, 3, 4, 1))[..., 0]
        emb64 = self.level_segm_embeddings[2](dense64)
        occupancy_out = [occ64.masked_fill(~frustum64, ABSENT_LOGIT)]
        masks_out = [_query_masks(Masked(emb64, frustum64), self.level_segm_query_projection[2](queries))]
        parents = (occ64.sigmoid() > 0.5) & frustum64
        if forced is not None:
            parents = parents | (forced[0] & frustum64)
        level_in = union(enc1, Masked(dense64 * parents[:, None].to(dense64.dtype), parents), "cat")

        grid = tuple(frustum64.shape[1:])
        grid = tuple(2 * d for d in grid)
        decoded = apply(self.level_decoders[1], level_in)
        occ = apply(self.level_occupancy_heads[1], decoded)
        valid = self._valid(decoded.mask, grid)
        occupancy_out.append(crop(_logits(occ), grid).feats[:, 0])
        rows = (occ.feats[:, 0].sigmoid() > 0.5) & valid
        if forced is not None:
            rows = rows | (_pad_bool(forced[1], decoded.mask.shape[1:]) & valid)
        union128 = union(enc0, _keep_or_fallback(decoded, rows, valid), "cat")
        emb = apply(self.level_segm_embeddings[1], union128)
        masks_out.append(crop(Masked(_query_masks(emb, self.level_segm_query_projection[1](queries)), emb.mask), grid)
                         .feats)
        level_in = crop(union128, grid)

        grid = tuple(2 * d for d in grid)
        decoded = apply(self.level_decoders[0], level_in)
        occ = apply(self.level_occupancy_heads[0], decoded)
        valid = self._valid(decoded.mask, grid)
        occupancy_out.append(crop(_logits(occ), grid).feats[:, 0])
        kept = _keep_or_fallback(decoded, (occ.feats[:, 0].sigmoid() > 0.5) & valid, valid)
        geo = crop(apply(self.geometry_head, kept), grid)
        geometry = torch.where(geo.mask, geo.feats[:, 0].clamp(0.0, self.truncation),
                               torch.full_like(geo.feats[:, 0], self.truncation))
        emb = apply(self.level_segm_embeddings[0], kept)
        masks_out.append(crop(Masked(_query_masks(emb, self.level_segm_query_projection[0](queries)), emb.mask), grid)
                         .feats)
        return {"pred_occupancy": occupancy_out, "pred_masks_3d": masks_out, "pred_geometry": geometry}

    @staticmethod
    def _valid(mask: torch.Tensor, grid: tuple[int, ...]) -> torch.Tensor:
        """(B, X', Y', Z') bool: inside [0, grid)."""
        valid = torch.zeros_like(mask)
        valid[:, :grid[0], :grid[1], :grid[2]] = True
        return valid


def _logits(x: Masked) -> Masked:
    """Occupancy logits with ABSENT_LOGIT where no voxel is active (densify's fill)."""
    return Masked(x.feats.masked_fill(~x.mask[:, None], ABSENT_LOGIT), x.mask)


def _pad_bool(volume: torch.Tensor, size: torch.Size) -> torch.Tensor:
    pad = []
    for have, want in reversed(list(zip(volume.shape[1:], size))):
        pad += [0, want - have]
    return F.pad(volume, pad)


__all__ = ["DenseFrustumDecoder", "Masked", "apply", "masked_volume"]
