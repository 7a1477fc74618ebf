"""Lift 2D predictions into the camera-frustum voxel grid.

Every voxel centre in the frustum is projected into the image; it receives the (projected) per-pixel
features, the per-pixel semantic probabilities, the multi-plane occupancy probability of its own depth
bin (BUOL's occupancy-aware lifting), and its signed distance to the predicted depth along the ray
(in voxels, truncated) as in Dahnert et al.'s reprojection. Voxels outside the frustum or image get zeros.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nvpanoptix3d.geometry import FrustumGrid


class FrustumLifting(nn.Module):
    def __init__(self, *, grid_dims: int, voxel_size: float, depth_min: float, depth_max: float,
                 truncation: float) -> None:
        super().__init__()
        grid = FrustumGrid.cube(grid_dims, voxel_size, depth_min, depth_max)
        self.dims = grid.dims
        self.voxel_size, self.depth_min, self.depth_max, self.truncation = voxel_size, depth_min, depth_max, truncation
        self.register_buffer("centers", torch.from_numpy(grid.voxel_centers().reshape(-1, 3)), persistent=False)

    def extra_channels(self, num_classes: int) -> int:
        return num_classes + 3  # semantic probs, occupancy prob, sign, |distance|

    def forward(self, *, features: torch.Tensor, semantic: torch.Tensor, depth: torch.Tensor, mp_occ: torch.Tensor,
                intrinsic: torch.Tensor, image_size: tuple[int, int], frustum: torch.Tensor) -> torch.Tensor:
        """Args:
            features: (B, Cf, h, w) projected 2D features; semantic: (B, C, h', w') class probabilities.
            depth: (B, 1, H, W) metres; mp_occ: (B, bins, h'', w'') occupancy logits.
            intrinsic: (B, 4, 4) for an image of ``image_size`` (W, H); frustum: (B, X, Y, Z) bool.
        Returns:
            (B, Cf + C + 3, X, Y, Z) lifted feature volume.
        """
        b = features.shape[0]
        w, h = image_size
        c = self.centers.to(features.dtype)
        z = c[:, 2]
        fx, fy = intrinsic[:, 0, 0, None], intrinsic[:, 1, 1, None]
        cx, cy = intrinsic[:, 0, 2, None], intrinsic[:, 1, 2, None]
        u = fx * c[None, :, 0] / z + cx  # (B, N)
        v = fy * c[None, :, 1] / z + cy
        un = (u + 0.5) / w * 2 - 1
        vn = (v + 0.5) / h * 2 - 1
        grid2d = torch.stack([un, vn], dim=-1)[:, None]  # (B, 1, N, 2)
        sample = lambda img, mode="bilinear": F.grid_sample(img, grid2d, mode=mode, align_corners=False)[:, :, 0]  # noqa: E731
        feat = sample(features)
        sem = sample(semantic)
        d_pix = sample(depth, "nearest")[:, 0]
        zn = (z[None] / self.depth_max) * 2 - 1
        grid3d = torch.stack([un, vn, zn.expand_as(un)], dim=-1)[:, None, None]  # (B, 1, 1, N, 3)
        occ = F.grid_sample(mp_occ[:, None].sigmoid(), grid3d, align_corners=False)[:, 0, 0, 0]
        sd = (z[None] - d_pix) / self.voxel_size
        valid = (frustum.reshape(b, -1) & (un.abs() <= 1) & (vn.abs() <= 1) & (d_pix > 0)).to(features.dtype)
        dist = sd.abs().clamp(max=self.truncation) / self.truncation
        extra = torch.stack([occ, sd.sign(), dist], dim=1)
        vol = torch.cat([feat, sem, extra], dim=1) * valid[:, None]
        return vol.reshape(b, -1, *self.dims)
