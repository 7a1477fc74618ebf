"""NVIDIA's 3D completion U-Net (``FrustumDecoder``, key prefix ``completion.``) on our pure-PyTorch sparse layers.

What follows NVIDIA (TAO 7.0.1, warpconvnet): parameter names and shapes (76 entries at the defaults), the
layer list, the coordinate rules of every sparse layer (see ``sparse_layers``), the per-voxel sparse instance
norm, the dense levels at D/4 .. D/32 (64^3 .. 8^3 for D = 256) with ``nn.InstanceNorm3d`` over the whole
volume, the frustum mask of the dense level (``max_pool3d(k2, s4)`` of the full-resolution mask), the pruning
rules (sigmoid > 0.5 inside the grid / frustum; at 128^3 and 256^3 an empty result falls back to every valid
voxel), the channel order of every concatenation and union ([encoder | decoder]), the geometry clamp to
[0, truncation], and which voxel set each output lives on:

- level 64 (dense): occupancy and masks at every frustum voxel; parents = occupied frustum voxels;
- level 128: occupancy at every valid generated voxel; masks on the union of the occupied voxels with the
  stride-2 encoder voxels (the next decoder's input);
- level 256: occupancy at every valid generated voxel; geometry and masks on the occupied ones.

Where ours differs (the rest of our pipeline, :func:`~nvpanoptix3d.network.frustum3d.densify.densify`
and ``sparse_3d_losses``, consumes the output unchanged):

- the output dict is ours: ``occupancy`` / ``masks_3d`` lists of SparseTensors (coarse -> fine) and
  ``geometry``; the dense level is returned as a SparseTensor over the frustum voxels, so densified
  voxels outside the frustum read ``ABSENT_LOGIT`` where NVIDIA writes -inf;
- ``geometry`` is given on the finest occupancy's voxels (the sparse criterion needs them to match):
  NVIDIA's predicted distance on the occupied voxels, ``truncation`` on the others (what densifying
  NVIDIA's geometry with its default value gives);
- in training, with occupancy targets, voxels whose own or descendants' target is occupied are kept as
  parents at the 64^3 and 128^3 levels too (so every target stays reachable; NVIDIA has no such rule).

What NVIDIA's GPU run may compute differently from the rules above (read from warpconvnet 1.8.2's source, not
observed on a GPU; we keep the rules): warpconvnet caches a kernel map on the tensor lineage (``replace``
carries the cache) under the kernel settings and per-batch voxel counts only (``IntSearchCacheKey``), and
NVIDIA's ``add_voxels`` always re-sorts the union. A block whose input rows are not sorted (a strided conv's
hash-ordered output, a generative output) therefore hands its own map to the next same-count conv, which
reads it on sorted rows: ``level_encoders.0.1`` and ``.1.1`` (both convs), and the final k3 conv of
``level_occupancy_heads.0`` and of ``geometry_head``. Only their centre tap stays row-correct.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nvpanoptix3d.network.completion.sparse_layers import (BasicBlock3D, Linear, SparseBasicBlock3D, SparseConv3d,
                                                           SparseInstanceNorm, SparseReLU, VolumeInstanceNorm, add_voxels, cat_features,
                                                           cat_union, prune, to_dense, voxel_index)
from nvpanoptix3d.network.completion.voxel_index import in_grid
from nvpanoptix3d.network.frustum3d.sparse.tensor import SparseTensor

NUM_LEVELS = 5


def _sparse_encoder(cin: int, cout: int) -> nn.Sequential:
    down = nn.Sequential(SparseConv3d(cin, cout, 4, stride=2, bias=True), SparseInstanceNorm(cout))
    return nn.Sequential(SparseBasicBlock3D(cin, cout, stride=2, downsample=down), SparseBasicBlock3D(cout, cout))


def _dense_encoder(cin: int, cout: int) -> nn.Sequential:
    down = nn.Conv3d(cin, cout, 4, stride=2, padding=1, bias=False)
    return nn.Sequential(BasicBlock3D(cin, cout, stride=2, downsample=down), BasicBlock3D(cout, cout))


def _sparse_decoder(cin: int, cout: int, *extra: nn.Module) -> nn.Sequential:
    return nn.Sequential(SparseConv3d(cin, cout, 4, stride=2, bias=False, transposed=True, generative=True),
                         SparseInstanceNorm(cout), SparseReLU(), *extra)


def _dense_decoder(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose3d(cin, cout, 4, stride=2, padding=1, bias=False), VolumeInstanceNorm(),
                         nn.ReLU())


def _sparse_head(channels: int, out: int | None) -> nn.Sequential:
    """IN - ReLU - SparseBasicBlock3D (- SparseConv3d k3 with bias to ``out`` channels)."""
    layers: list[nn.Module] = [SparseInstanceNorm(channels), SparseReLU(), SparseBasicBlock3D(channels, channels)]
    if out is not None:
        layers.append(SparseConv3d(channels, out, 3, bias=True))
    return nn.Sequential(*layers)


def _adapter(cin: int, cout: int) -> SparseBasicBlock3D:
    down = nn.Sequential(SparseConv3d(cin, cout, 1, bias=True), SparseInstanceNorm(cout))
    return SparseBasicBlock3D(cin, cout, downsample=down)


def query_masks(emb: SparseTensor, queries: torch.Tensor) -> SparseTensor:
    """(N, Q) mask logits: each voxel's embedding (N, C) times its own sample's projected queries (B, Q, C)^T."""
    if queries.shape[0] == 1:
        return emb.replace(emb.feats @ queries[0].T)
    out = emb.feats.new_zeros(emb.num_voxels, queries.shape[1])
    batch = emb.coords[:, 0]
    for b in range(queries.shape[0]):
        rows = (batch == b).nonzero().flatten()
        out = out.index_put((rows,), emb.feats[rows] @ queries[b].T)
    return emb.replace(out)


def children_targets(occupancy: list | None, device: torch.device) -> list[torch.Tensor] | None:
    """Per parent level (D/4, D/2) bool (B, X, Y, Z): the voxel's own target or a target among the children
    2i..2i+3 its k4 s2 generative upsampling creates (recursively), from per-sample targets fine -> coarse."""
    if not occupancy:
        return None
    fine, mid, coarse = (torch.stack([s[i] for s in occupancy]).to(device) > 0.5 for i in range(3))

    def reach(child: torch.Tensor) -> torch.Tensor:
        padded = F.pad(child[:, None].float(), (0, 2, 0, 2, 0, 2))
        return F.max_pool3d(padded, 4, stride=2)[:, 0] > 0

    mid = mid | reach(fine)
    coarse = coarse | reach(mid)
    return [coarse, mid]


def _at(volume: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    b, x, y, z = coords.unbind(1)
    return volume[b, x, y, z]


class FrustumDecoder(nn.Module):
    """NVIDIA's ``FrustumDecoder`` (sparse 3D U-Net with dense D/4..D/32 levels); module docstring for details.

    ``input_dims``: channel slices of the fused input ([sign+|df| | encoder | semantics | lifting]), one input
    encoder each; ``grid_dims`` D: a multiple of 32 (five stride-2 levels; the
    coarsest dense level of a 32^3 grid is one voxel: it normalises to 0); ``ms_feature_channels``: width
    of the multi-scale voxels (``use_multi_scale``); ``keep_target_voxels``: our training-time rule."""

    def __init__(self, *, input_dims: tuple[int, ...] = (2, 512, 13, 16), unet_features: int = 16,
                 unet_output_channels: int = 16, query_dim: int = 256, grid_dims: int = 256,
                 truncation: float = 3.0, use_multi_scale: bool = False, ms_feature_channels: int = 272,
                 keep_target_voxels: bool = True) -> None:
        super().__init__()
        if grid_dims % 32:
            raise ValueError(f"grid_dims must be a multiple of 32 (five stride-2 levels), got {grid_dims}")
        self._kwargs = dict(input_dims=tuple(input_dims), unet_features=unet_features,
                            unet_output_channels=unet_output_channels, query_dim=query_dim, grid_dims=grid_dims,
                            truncation=truncation, use_multi_scale=use_multi_scale,
                            ms_feature_channels=ms_feature_channels, keep_target_voxels=keep_target_voxels)
        f, o = unet_features, unet_output_channels
        self.input_dims, self.grid_dims, self.truncation = tuple(input_dims), grid_dims, truncation
        self.use_multi_scale, self.keep_target_voxels = use_multi_scale, keep_target_voxels
        self.input_encoders = nn.ModuleList([_adapter(c, f) for c in self.input_dims])
        self.level_encoders = nn.ModuleList([
            _sparse_encoder(len(self.input_dims) * f, f), _sparse_encoder(f, 2 * f),
            _dense_encoder(2 * f, 4 * f), _dense_encoder(4 * f, 8 * f), _dense_encoder(8 * f, 8 * f)])
        if use_multi_scale:
            # NVIDIA's adapters are Sequential(block, *extra): keys feature_adapters.j.0.*; the third one's extra
            # layer (SparseToDense, no parameters) is applied in _encode.
            self.feature_adapters = nn.ModuleList([nn.Sequential(_adapter(ms_feature_channels, c))
                                                   for c in (f, 2 * f, 4 * f)])
        self.level_decoders = nn.ModuleList([
            _sparse_decoder(3 * f, o), _sparse_decoder(6 * f, 2 * f, SparseBasicBlock3D(2 * f, 2 * f)),
            _dense_decoder(8 * f, 2 * f), _dense_decoder(16 * f, 4 * f), _dense_decoder(8 * f, 8 * f)])
        self.level_occupancy_heads = nn.ModuleList([_sparse_head(o, 1), Linear(2 * f, 1), nn.Linear(4 * f, 1)])
        self.level_segm_embeddings = nn.ModuleList([
            _sparse_head(o, None), SparseBasicBlock3D(3 * f, 3 * f),
            nn.Sequential(BasicBlock3D(4 * f, 4 * f), BasicBlock3D(4 * f, 4 * f))])
        self.level_segm_query_projection = nn.ModuleList([nn.Linear(query_dim, c) for c in (o, 3 * f, 4 * f)])
        self.geometry_head = _sparse_head(o, 1)

    def _encode(self, x: SparseTensor, ms_features: list[SparseTensor] | None) -> list:
        """Encoder outputs: sparse at strides 2 and 4, dense (B, C, D/8..D/32) after."""
        start, slices = 0, []
        for dim, encoder in zip(self.input_dims, self.input_encoders):
            slices.append(encoder(x.replace(x.feats[:, start:start + dim])))
            start += dim
        if start != x.feats.shape[1]:
            raise ValueError(f"input has {x.feats.shape[1]} channels, input_dims {self.input_dims} sum to {start}")
        level = cat_features(slices)
        outputs: list = []
        for idx, encoder in enumerate(self.level_encoders):
            level = encoder(level)
            if self.use_multi_scale and idx < 3:
                if ms_features is None:
                    raise ValueError("use_multi_scale needs ms_features (sparse, strides 2, 4, 8)")
                feat = self.feature_adapters[idx](ms_features[idx])
                level = add_voxels(level, feat) if idx < 2 else level + to_dense(feat, tuple(level.shape[2:]))
            outputs.append(level)
            if idx == 1:
                level = to_dense(level)
        return outputs

    def _keep(self, scores: torch.Tensor, valid: torch.Tensor, forced: torch.Tensor | None) -> torch.Tensor:
        keep = (scores.sigmoid() > 0.5) & valid
        return keep | (forced & valid) if forced is not None else keep

    def constructor_kwargs(self) -> dict:
        """The keyword arguments this decoder was built with (to run its weights in the other execution)."""
        return dict(self._kwargs)

    def forward(self, x: SparseTensor, queries: torch.Tensor, frustum: torch.Tensor, occupancy: list | None = None,
                ms_features: list[SparseTensor] | None = None) -> dict[str, list[SparseTensor] | SparseTensor]:
        """x: fused input voxels at stride 1 (N, sum(input_dims)) on a (D, D, D) grid; queries (B, Q, query_dim);
        frustum (B, D, D, D) bool; occupancy: per-sample targets (fine -> coarse), used only in training to
        keep target voxels; ms_features: the multi-scale voxels at strides 2, 4, 8 (use_multi_scale only).
        Returns ``occupancy`` [(N64, 1), (N128, 1), (N256, 1)], ``masks_3d`` [(N64, Q), (M128, Q), (M256, Q)]
        SparseTensors (coarse -> fine) and ``geometry`` (N256, 1) on the finest occupancy's voxels."""
        forced = children_targets(occupancy, frustum.device) \
            if self.training and self.keep_target_voxels else None
        enc = self._encode(x, ms_features)
        frustum64 = F.max_pool3d(frustum[:, None].float(), kernel_size=2, stride=4)[:, 0] > 0

        # Dense levels, coarse to fine: decoder output concatenated after the encoder level it lands on.
        decoded = self.level_decoders[4](enc[4])
        decoded = self.level_decoders[3](torch.cat([enc[3], decoded], 1))
        decoded = self.level_decoders[2](torch.cat([enc[2], decoded], 1))
        dense64 = torch.cat([to_dense(enc[1]), decoded], 1)  # (B, 4f, D/4, D/4, D/4)

        occupancy_out, masks_out = [], []
        occ64 = self.level_occupancy_heads[2](dense64.permute(0, 2, 3, 4, 1))[..., 0]  # (B, X, Y, Z)
        emb64 = self.level_segm_embeddings[2](dense64)
        cells = frustum64.float().nonzero()  # the frustum voxels of the dense level
        shape64 = tuple(frustum64.shape[1:])
        level = SparseTensor(cells, _at(occ64, cells)[:, None], shape64, frustum64.shape[0], enc[1].stride)
        occupancy_out.append(level)
        emb = level.replace(_at(emb64.permute(0, 2, 3, 4, 1), cells))
        masks_out.append(query_masks(emb, self.level_segm_query_projection[2](queries)))
        keep = self._keep(occ64, frustum64, None if forced is None else forced[0])
        parents = keep.float().nonzero()
        sparse64 = SparseTensor(parents, _at(dense64.permute(0, 2, 3, 4, 1), parents), shape64,
                                frustum64.shape[0], enc[1].stride)
        level_in = cat_union(enc[1], sparse64)

        # Level D/2: generative upsampling, occupancy per voxel, parents for the finest level.
        decoded = self.level_decoders[1](level_in)
        occ = self.level_occupancy_heads[1](decoded)
        valid = in_grid(decoded.coords, decoded.spatial_shape)
        occupancy_out.append(prune(occ, valid))
        forced128 = None if forced is None else _at_or_false(forced[1], decoded.coords, valid)
        kept = _prune_or_fallback(decoded, self._keep(occ.feats[:, 0], valid, forced128), valid)
        union = cat_union(enc[0], kept)
        emb = self.level_segm_embeddings[1](union)
        masks = query_masks(emb, self.level_segm_query_projection[1](queries))
        masks_out.append(prune(masks, in_grid(masks.coords, masks.spatial_shape)))
        level_in = prune(union, in_grid(union.coords, union.spatial_shape))

        # Full resolution: occupancy on every generated voxel, geometry and masks on the occupied ones.
        decoded = self.level_decoders[0](level_in)
        occ = self.level_occupancy_heads[0](decoded)
        valid = in_grid(decoded.coords, decoded.spatial_shape)
        fine = prune(occ, valid)
        occupancy_out.append(fine)
        kept = _prune_or_fallback(decoded, self._keep(occ.feats[:, 0], valid, None), valid)
        geo = self.geometry_head(kept)
        geo = prune(geo, in_grid(geo.coords, geo.spatial_shape))
        emb = self.level_segm_embeddings[0](kept)
        masks = query_masks(emb, self.level_segm_query_projection[0](queries))
        masks_out.append(prune(masks, in_grid(masks.coords, masks.spatial_shape)))
        return {"occupancy": occupancy_out, "masks_3d": masks_out,
                "geometry": self._geometry_on(fine, geo)}

    def _geometry_on(self, fine: SparseTensor, geo: SparseTensor) -> SparseTensor:
        """The clamped distance on ``fine``'s voxels: predicted where ``geo`` has the voxel, truncation elsewhere."""
        rows = voxel_index(fine).lookup(geo.coords)
        found = rows >= 0
        values = geo.feats.clamp(0.0, self.truncation)
        full = values.new_full((fine.num_voxels, 1), self.truncation)
        return fine.replace(full.index_put((rows[found],), values[found]))


def _at_or_false(volume: torch.Tensor, coords: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """volume (B, X, Y, Z) bool read at coords where valid, False elsewhere."""
    safe = torch.where(valid[:, None], coords, torch.zeros_like(coords))
    return _at(volume, safe) & valid


def _prune_or_fallback(x: SparseTensor, keep: torch.Tensor, valid: torch.Tensor) -> SparseTensor:
    """The kept voxels; if none, every valid voxel; if none either, all of them (NVIDIA's empty-set rule)."""
    if bool(keep.any()):
        return prune(x, keep)
    if bool(valid.any()):
        return prune(x, valid)
    return x


__all__ = ["FrustumDecoder", "children_targets", "query_masks"]
