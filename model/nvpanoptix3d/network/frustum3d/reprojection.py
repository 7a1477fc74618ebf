"""NVIDIA's sparse projection (``SparseProjection``, module ``reprojection``): every valid depth pixel puts
2 * truncation + 1 voxels along z into the 256^3 grid, with its sampled 2D features.

Per image, per depth pixel (row i, column j) with depth_min <= d <= depth_max (row-major order):
- normalised position p = (j / W_d, i / H_d) (a pixel corner, not its centre: NVIDIA's choice);
- camera point K^-1 (p_x * W d, p_y * H d, d) for the image size (W, H); frustum coordinate through
  camera->frustum (see :mod:`frustum_box`); copies at z offsets -t..t; plus the centring pad
  floor((D - extent) / 2); voxel = floor of that (NVIDIA's collate floors float coordinates);
- distance channels df = (z - trunc(z)) + offset (z before the offset and pad), as (sign(df), |df|);
- features by bilinear ``grid_sample`` (align_corners=False, zero padding): semantic probabilities at p,
  encoder features at (j, i) / (padded size / 2). Row = [sign, |df|, encoder feats, sem probs].
No grid-bound filtering happens here (NVIDIA has none). If an image has no valid pixel, its centre pixel is
used with depth 0 (NVIDIA's fallback).

Multi-scale levels (NVIDIA's ``use_multi_scale``): ratio = level width / encoder width; depth resized by
nearest ``interpolate(scale_factor=ratio)``; voxel size / ratio; grid D * ratio; truncation round(t * ratio)
(Python rounding); features of the level only, at (j, i) / (2 * level width, 2 * level height) - a
normalisation that covers part of the map only, reproduced as is. Strides 2, 4, 8.

Differentiable w.r.t. the sampled feature maps (grid_sample); coordinates are integers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nvpanoptix3d.network.frustum3d.frustum_box import frustum_box, frustum_corners
from nvpanoptix3d.network.frustum3d.sparse_rows import SparseRows

LEVEL_STRIDES = (2, 4, 8)


def sample_points(feature: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """(N, C) bilinear samples of a (C, h, w) map at (N, 2) positions in [0, 1] (x, y), zeros outside."""
    grid = (2.0 * points - 1.0)[None, :, None]
    return F.grid_sample(feature[None], grid, align_corners=False)[0, :, :, 0].T


class SparseProjection(nn.Module):
    """Parameter-free depth-based projection of 2D features into sparse voxel rows.

    Args:
        truncation: z copies on each side of the surface voxel (NVIDIA always uses 3).
        sign_channel: distance as (sign, |df|) (True) or one signed channel.
        depth_min, depth_max: valid depth range in metres.
        voxel_size: metres per voxel; frustum_dims: D of the D^3 grid (256).
    NVIDIA builds it with these defaults whatever the configuration says.
    """

    def __init__(self, *, truncation: float = 3.0, sign_channel: bool = True, depth_min: float = 0.4,
                 depth_max: float = 6.0, voxel_size: float = 0.03, frustum_dims: int = 256) -> None:
        super().__init__()
        self.truncation = truncation
        self.sign_channel = bool(sign_channel)
        self.depth_min, self.depth_max = float(depth_min), float(depth_max)
        self.voxel_size = float(voxel_size)
        self.frustum_dims = int(frustum_dims)

    def _points(self, corners: torch.Tensor, inverse_intrinsic: torch.Tensor, depth: torch.Tensor,
                image_size: tuple[int, int], feat_size: tuple[float, float], voxel_size: float,
                grid_dims: torch.Tensor, truncation: float):
        """Per valid pixel: sem position (N, 2), feature position (N, 2), surface z (N,), offsets (R,) and
        the padded continuous voxel coordinates (N * R, 3), copy-minor."""
        extent, camera_to_frustum = frustum_box(corners, voxel_size)
        pad = torch.div((grid_dims - extent).float(), 2, rounding_mode="floor")
        depth = torch.where((depth < self.depth_min) | (depth > self.depth_max), torch.zeros_like(depth), depth)
        pixels = depth.nonzero()
        if pixels.shape[0] == 0:
            pixels = torch.tensor([[depth.shape[0] // 2, depth.shape[1] // 2]], device=depth.device)
        z = depth[pixels[:, 0], pixels[:, 1]].reshape(-1).float()
        ji = pixels.flip(-1).float()
        sem_pos = ji / torch.tensor([depth.shape[-1], depth.shape[-2]], device=depth.device)
        x, y = (sem_pos * torch.tensor(image_size, device=depth.device) * z[:, None]).unbind(-1)
        feat_pos = ji / torch.tensor(feat_size, device=depth.device)
        camera = inverse_intrinsic.float() @ torch.stack([x, y, z, torch.ones_like(z)]).float()
        frustum = (camera_to_frustum.float() @ camera).T[:, :3]
        copies = int(truncation * 2) + 1
        offsets = torch.arange(-truncation, truncation + 1, 1.0, device=depth.device)
        surface_z = frustum[:, 2]
        coords = frustum[:, None, :].expand(-1, copies, -1)
        coords = torch.cat([coords[..., :2], (coords[..., 2] + offsets)[..., None]], -1)
        return sem_pos, feat_pos, surface_z, offsets, coords.reshape(-1, 3) + pad

    def forward(self, encoder_features: torch.Tensor, depth: torch.Tensor, sem_seg: torch.Tensor,
                intrinsic: torch.Tensor, image_size: tuple[int, int], padded_size: tuple[int, int],
                multi_scale_features: list[torch.Tensor] | tuple[torch.Tensor, ...] = ()
                ) -> tuple[SparseRows, list[SparseRows]]:
        """Args:
            encoder_features: (B, Ce, He, We) map over the padded image at half its resolution.
            depth: (B, Hd, Wd) metres; sem_seg: (B, C, Hd, Wd) probabilities on the same grid.
            intrinsic: (B, 4, 4) K at ``image_size`` (W, H); padded_size: (W, H) after size padding.
            multi_scale_features: optional levels (B, Cl, hl, wl), finest first (NVIDIA: reversed encoder
                features), for ``use_multi_scale``.
        Returns:
            (encoder rows: coords (N, 4) int64, feats (N, 2 + Ce + C) (or 1 + ... without sign channel),
             stride 1; one SparseRows per level with feats (N_l, Cl) and strides 2, 4, 8). Rows are image-major,
             pixel-major, copy-minor; coordinates may repeat and are not bounded to the grid.
        """
        enc_rows: list[tuple[torch.Tensor, torch.Tensor]] = []
        level_rows: list[list[tuple[torch.Tensor, torch.Tensor]]] = [[] for _ in multi_scale_features]
        grid = torch.tensor([self.frustum_dims] * 3, device=depth.device)
        half_padded = (padded_size[0] // 2, padded_size[1] // 2)
        for b in range(depth.shape[0]):
            inverse_intrinsic = torch.inverse(intrinsic[b])
            corners = frustum_corners(inverse_intrinsic, image_size, self.depth_min, self.depth_max)
            sem_pos, feat_pos, surface_z, offsets, coords = self._points(
                corners, inverse_intrinsic, depth[b], image_size, half_padded, self.voxel_size, grid,
                self.truncation)
            copies = offsets.numel()
            df = ((surface_z - surface_z.int())[:, None] + offsets)[..., None]
            if self.sign_channel:
                df = torch.cat([torch.sign(df), torch.abs(df)], -1)
            sampled = torch.cat([sample_points(encoder_features[b], feat_pos), sample_points(sem_seg[b], sem_pos)], 1)
            feats = torch.cat([df, sampled[:, None].expand(-1, copies, -1)], -1)
            feats = feats.reshape(-1, df.shape[-1] + sampled.shape[1])
            enc_rows.append((coords, feats))
            for lvl, feat in enumerate(multi_scale_features):
                ratio = feat.shape[-1] / encoder_features.shape[-1]
                level_depth = F.interpolate(depth[b][None, None], scale_factor=ratio, mode="nearest")[0, 0]
                _, pos, _, level_offsets, level_coords = self._points(
                    corners, inverse_intrinsic, level_depth, image_size, (feat.shape[-1] * 2, feat.shape[-2] * 2),
                    self.voxel_size / ratio, grid * ratio, round(ratio * self.truncation))
                sampled = sample_points(feat[b], pos)
                level_feats = sampled[:, None].expand(-1, level_offsets.numel(), -1).reshape(-1, sampled.shape[1])
                level_rows[lvl].append((level_coords, level_feats))
        encoder = self._collate(enc_rows, 1)
        levels = [self._collate(rows, stride) for rows, stride in zip(level_rows, LEVEL_STRIDES)]
        return encoder, levels

    @staticmethod
    def _collate(rows: list[tuple[torch.Tensor, torch.Tensor]], stride: int) -> SparseRows:
        """Batch column + floored integer coordinates (NVIDIA's collate floors float coordinates)."""
        coords = [torch.cat([torch.full_like(c[:, :1], float(b)), torch.floor(c)], 1) for b, (c, _) in enumerate(rows)]
        return SparseRows(torch.cat(coords).long(), torch.cat([f for _, f in rows]), stride)
