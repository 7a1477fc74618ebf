"""The parameter-free part of NVIDIA's 3D stage: from the 2D outputs to the completion's input voxels.

Per image (NVIDIA's ``infer_2d`` + the first half of ``NVPanoptix3DModel.forward``):
1. the 2D mask logits (image frame, half resolution) and the depth (VGGT output brought to the padded image at
   half resolution, cropped) are resized to ``reduced_size`` and merged by NVIDIA's 2D panoptic inference into
   per-class probabilities (``sem_seg``) and a clamped depth;
2. ``back_projection`` maps every frustum voxel to its pixel of the reduced image (through a bounded LRU cache,
   :mod:`back_projection_cache`: it depends on K and the frustum mask only); ``ol`` lifts ``sem_seg``
   and the multi-plane occupancy into voxels around and behind the predicted surface (C + 3 channels);
3. ``reprojection`` places the encoder features ([mask features | projected depth features]) and
   ``sem_seg`` at the depth surface, 7 copies along the ray (2 + Ce + C channels);
4. both voxel sets are fused by coordinate union: channels [sign, |df| | encoder | sem_seg | lifting];
5. (``use_multi_scale``, :meth:`FrustumLifter.forward_multi_scale`) the pixel-decoder levels are projected at
   strides 2, 4, 8 and fused with the lifting rows max-pooled to those strides (``sparse_pool``).

It runs inside the PyTorch model and, for the exported models, on the host between the 2D and 3D ONNX files.
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import nn

from nvpanoptix3d.geometry import scale_intrinsic
from nvpanoptix3d.network.completion.voxel_index import in_grid, pack
from nvpanoptix3d.network.frustum3d.back_projection import BackProjection
from nvpanoptix3d.network.frustum3d.back_projection_cache import DEFAULT_MAX_ENTRIES, CachedBackProjection
from nvpanoptix3d.network.frustum3d.fuse import fuse_sparse
from nvpanoptix3d.network.frustum3d.occupancy_lifting import OccupancyAwareLifting
from nvpanoptix3d.network.frustum3d.reprojection import SparseProjection
from nvpanoptix3d.network.frustum3d.sparse.tensor import SparseTensor
from nvpanoptix3d.network.frustum3d.sparse_pool import max_pool_pyramid
from nvpanoptix3d.network.frustum3d.sparse_rows import SparseRows, to_sparse_tensor
from nvpanoptix3d.network.maskformer import padded_hw
from nvpanoptix3d.network.postprocess import panoptic_inference_2d

log = logging.getLogger("nvpanoptix3d")


class FrustumLifter(nn.Module):
    """Parameter-free: the 2D outputs -> the fused input voxels of the completion network."""

    def __init__(self, *, grid_dims: int = 256, voxel_size: float = 0.03, depth_min: float = 0.4,
                 depth_max: float = 6.0, truncation: float = 3.0, reduced_size: tuple[int, int] = (160, 120),
                 size_divisibility: int = 32, num_thing_classes: int = 9, object_mask_threshold: float = 0.4,
                 overlap_threshold: float = 0.5, depth_scale: float = 25.0, max_voxels: int = 0,
                 back_projection_cache: int = DEFAULT_MAX_ENTRIES) -> None:
        """``back_projection_cache``: entries of the voxel -> pixel map kept (0: recompute every batch)."""
        super().__init__()
        self.max_voxels = int(max_voxels)
        rw, rh = reduced_size
        self.reduced_size, self.grid_dims, self.size_divisibility = (rw, rh), grid_dims, size_divisibility
        self.back_projection = BackProjection(grid_dims=grid_dims, voxel_size=voxel_size, depth_min=depth_min,
                                              depth_max=depth_max, depth_size=(rh, rw))
        self.cached_back_projection = CachedBackProjection(self.back_projection, max_entries=back_projection_cache)
        self.ol = OccupancyAwareLifting(depth_max=depth_max, stuff_min_class=num_thing_classes + 1,
                                        valid_extent=grid_dims, empty_voxel=min(127, grid_dims // 2 - 1))
        self.reprojection = SparseProjection(truncation=truncation, voxel_size=voxel_size, depth_min=depth_min,
                                             depth_max=depth_max, frustum_dims=grid_dims)
        self.post_kw = dict(num_thing_classes=num_thing_classes, object_mask_threshold=object_mask_threshold,
                            overlap_threshold=overlap_threshold, depth_scale=depth_scale)

    def reduced_2d(self, masks: torch.Tensor, depth_half: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mask logits (B, Q, H/2, W/2) and depth (B, 1, H/2, W/2) (image frame) -> the reduced size."""
        rw, rh = self.reduced_size
        if masks.shape[-2:] != (rh, rw):
            masks = F.interpolate(masks, size=(rh, rw), mode="bilinear", align_corners=False)
        if depth_half.shape[-2:] != (rh, rw):
            depth_half = F.interpolate(depth_half, size=(rh, rw), mode="bilinear", align_corners=False)
        return masks, depth_half

    @torch.no_grad()
    def semantic_2d(self, logits: torch.Tensor, masks: torch.Tensor, depth: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        """NVIDIA's 2D panoptic inference per image -> (sem_seg (B, C, h, w) probabilities, depth (B, h, w))."""
        sem, dep = [], []
        for b in range(logits.shape[0]):
            r = panoptic_inference_2d(logits[b].float(), masks[b].float(), depth[b].float(), **self.post_kw)
            sem.append(r["sem_seg"])
            dep.append(r["depth"])
        return torch.stack(sem), torch.stack(dep)

    def forward(self, out2d: dict, encoder: torch.Tensor, intrinsic: torch.Tensor, frustum: torch.Tensor,
                image_size: tuple[int, int]) -> SparseTensor:
        """out2d: ``pred_logits`` (B, Q, C+1), ``pred_masks`` (B, Q, H/2, W/2), ``pred_depth_half``
        (B, 1, H/2, W/2), ``pred_mp_occ`` (B, bins, h_r, w_r); encoder (B, Ce, he, we) over the padded image;
        intrinsic (B, 4, 4) for ``image_size`` (W, H); frustum (B, D, D, D) bool. Returns the fused voxels
        (SparseTensor at stride 1, unique coordinates inside the grid, channels 2 + Ce + 2C + 3)."""
        return self.lift(out2d, encoder, intrinsic, frustum, image_size)[0]

    def forward_multi_scale(self, out2d: dict, encoder: torch.Tensor, intrinsic: torch.Tensor,
                            frustum: torch.Tensor, image_size: tuple[int, int]
                            ) -> tuple[SparseTensor, list[SparseTensor]]:
        """:meth:`forward` plus NVIDIA's ``use_multi_scale`` voxels: per pixel-decoder level of
        ``out2d["enc_features"]`` (res5, res4, res3: coarse -> fine, reversed here as NVIDIA does) its sparse
        projection at strides 2, 4, 8, fused with the lifting rows max-pooled to the same stride (channels
        [level features Cl | lifting C + 3]; unique coordinates in each level's index space, grid (D / s)^3,
        not bounded to the grid, as NVIDIA's). Returns (fused stride-1 voxels, [stride 2, 4, 8 SparseTensors])."""
        levels = list(reversed(list(out2d["enc_features"])))
        return self.lift(out2d, encoder, intrinsic, frustum, image_size, levels)

    def lift(self, out2d: dict, encoder: torch.Tensor, intrinsic: torch.Tensor, frustum: torch.Tensor,
             image_size: tuple[int, int], multi_scale_features: list[torch.Tensor] | None = None
             ) -> tuple[SparseTensor, list[SparseTensor]]:
        """The stride-1 fused voxels and (with ``multi_scale_features``, finest first) the multi-scale ones."""
        w, h = image_size
        rw, rh = self.reduced_size
        masks, depth = self.reduced_2d(out2d["pred_masks"], out2d["pred_depth_half"])
        sem_seg, depth = (t.to(encoder.dtype) for t in self.semantic_2d(out2d["pred_logits"], masks, depth))
        k_reduced = scale_intrinsic(intrinsic.float(), (w, h), (rw, rh))
        kept, mapping = self.cached_back_projection(k_reduced, frustum.bool(), image_shape=(rh, rw))
        lifted = self.ol(depth, sem_seg, out2d["pred_mp_occ"].to(encoder.dtype), kept, mapping)
        # NVIDIA samples the encoder at depth-pixel index / (padded size / 2): its depth map is half the padded
        # image. The same normalisation for any depth-map size: the padded size seen at twice the depth map.
        pad_h, pad_w = padded_hw((h, w), self.size_divisibility)
        enc_norm = (round(2 * rw * pad_w / w), round(2 * rh * pad_h / h))
        ms = [f.to(encoder.dtype) for f in multi_scale_features or ()]
        projected, level_rows = self.reprojection(encoder, depth, sem_seg, intrinsic.to(encoder.dtype), (w, h),
                                                  enc_norm, ms)
        fused = fuse_sparse(projected, lifted)
        d, batch = self.grid_dims, int(frustum.shape[0])
        inside = in_grid(fused.coords, (d, d, d))
        rows = self.cap(SparseRows(fused.coords[inside], fused.feats[inside], 1))
        x = to_sparse_tensor(rows, (d, d, d), batch)
        if not ms:
            return x, []
        pooled = max_pool_pyramid(SparseRows(lifted.coords, lifted.feats, 1), len(level_rows))
        levels = []
        for level, pool in zip(level_rows, pooled):
            if level.stride != pool.stride:
                raise ValueError(f"multi-scale level at stride {level.stride}, lifting pooled to {pool.stride}")
            m = d // level.stride
            levels.append(to_sparse_tensor(fuse_sparse(level, pool), (m, m, m), batch))
        return x, levels

    def cap(self, rows: SparseRows) -> SparseRows:
        """At most ``max_voxels`` voxels per image (0: no cap, NVIDIA's behaviour): the ones closest to the
        predicted surface (projected rows by |df| in voxels, lifting-only rows by their |distance| channel
        over the voxel size), ties by voxel index; a warning names the key."""
        if self.max_voxels <= 0:
            return rows
        counts = torch.bincount(rows.coords[:, 0])
        if int(counts.max(initial=0)) <= self.max_voxels:
            return rows
        from nvpanoptix3d.network.frustum3d.sparse.kernel_map import lowest_rows  # noqa: PLC0415

        projected = (rows.feats[:, 0] != 0) | (rows.feats[:, 1] != 0)
        cost = torch.where(projected, rows.feats[:, 1], rows.feats[:, -1].abs() / self.reprojection.voxel_size)
        keys = pack(rows.coords)
        keep = [idx[lowest_rows(cost[idx], keys[idx], self.max_voxels)]
                for idx in (torch.nonzero(rows.coords[:, 0] == b)[:, 0] for b in range(len(counts)))]
        keep = torch.sort(torch.cat(keep)).values
        log.warning("an image lifts %d voxels, more than model.frustum3d.max_voxels=%d: keeping those closest to the "
                    "predicted surface", int(counts.max()), self.max_voxels)
        return SparseRows(rows.coords[keep], rows.feats[keep], rows.stride)
