"""Which voxels of the D^3 frustum grid project into the depth map, and where (NVIDIA's ``BackProjection``).

Every voxel index v of the (frustum-masked) grid is taken to frustum coordinate v - pad - 1, where pad =
(D - extent) / 2 is the centring of the frustum box (see :mod:`frustum_box`) **without flooring** (NVIDIA's
sparse projection floors the same padding, so the two place the grid up to half a voxel apart when the
extent is odd - reproduced as is). The point is brought back to the camera and projected with K. A voxel is
kept when depth_min <= z <= depth_max, u < W and v < H, and then only if every mapping entry is >= 0 (which
adds u >= 0 and v >= 0). The mapping rows feed :class:`OccupancyAwareLifting`.

The frustum box uses float64 corners (NVIDIA computes it in numpy) and the projection float32, as NVIDIA.
"""

from __future__ import annotations

import torch
from torch import nn

from nvpanoptix3d.network.frustum3d.frustum_box import frustum_box, frustum_corners


class BackProjection(nn.Module):
    """Parameter-free voxel -> pixel mapping of the camera frustum grid.

    Args:
        grid_dims: D of the D^3 grid (NVIDIA: ``model.frustum3d.frustum_dims`` = 256).
        voxel_size: metres per voxel (``model.projection.voxel_size``).
        depth_min, depth_max: kept depth range in metres (``dataset.depth_min/max``).
        depth_size: (H, W) of the depth map whose K is passed (``dataset.depth_size``); the frustum box is
            built for the image (W, H) = (depth_size[1], depth_size[0]).
    """

    def __init__(self, *, grid_dims: int = 256, voxel_size: float = 0.03, depth_min: float = 0.4,
                 depth_max: float = 6.0, depth_size: tuple[int, int] = (120, 160)) -> None:
        super().__init__()
        self.grid_dims = int(grid_dims)
        self.voxel_size = float(voxel_size)
        self.depth_min = float(depth_min)
        self.depth_max = float(depth_max)
        self.depth_size = (int(depth_size[0]), int(depth_size[1]))

    @property
    def image_size(self) -> tuple[int, int]:
        """(W, H) of the frustum's image."""
        return self.depth_size[1], self.depth_size[0]

    def _frustum(self, intrinsic: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(camera->frustum (4, 4) float32, centring pad (3,) float32, not floored) for one (4, 4) K."""
        corners = frustum_corners(torch.inverse(intrinsic).double(), self.image_size, self.depth_min, self.depth_max)
        extent, camera_to_frustum = frustum_box(corners, self.voxel_size)
        pad = (self.grid_dims - extent).float() / 2
        return camera_to_frustum.float(), pad

    def forward(self, intrinsic: torch.Tensor, frustum_mask: torch.Tensor | None = None,
                room_mask: torch.Tensor | None = None, *,
                image_shape: tuple[int, int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Args:
            intrinsic: (B, 4, 4) K for the depth map of ``depth_size`` (NVIDIA rescales 320x240 -> 160x120).
            frustum_mask: (B, D, D, D) bool voxels to consider; all when None.
            room_mask: optional (B, 1, H, W) bool; kept voxels whose pixel is outside it are dropped.
            image_shape: (H, W) bound for u, v (NVIDIA's ``shape[:2]``); ``depth_size`` when None.
        Returns:
            kept: (B, D, D, D) bool.
            mapping: (B, D, D, D, 5) float32 = (batch, u, v, z voxel index, metric depth); -1 where no voxel
                projected in range. Rejected voxels may hold other values (e.g. u < 0): read it with ``kept``.
        """
        h_bound, w_bound = image_shape if image_shape is not None else self.depth_size
        d = self.grid_dims
        device = intrinsic.device
        intrinsic = intrinsic.float()
        if frustum_mask is None:
            frustum_mask = torch.ones(intrinsic.shape[0], d, d, d, dtype=torch.bool, device=device)
        if tuple(frustum_mask.shape[1:]) != (d, d, d):
            raise ValueError(f"frustum_mask {tuple(frustum_mask.shape)} does not match the {d}^3 grid")
        kepts, mappings = [], []
        for b in range(intrinsic.shape[0]):
            k = intrinsic[b]
            camera_to_frustum, pad = self._frustum(k.cpu())
            camera_to_frustum, pad = camera_to_frustum.to(device), pad.to(device)
            voxels = frustum_mask[b].nonzero()
            frustum_xyz = voxels - pad - 1.0
            homogeneous = torch.cat([frustum_xyz, frustum_xyz.new_ones(len(frustum_xyz), 1)], 1)
            camera = torch.inverse(camera_to_frustum) @ homogeneous.T
            pixels = k @ camera
            z = pixels[2]
            uv = pixels[:2] / z
            in_range = (z <= self.depth_max) & (z >= self.depth_min) & (uv[0] < w_bound) & (uv[1] < h_bound)
            rows = torch.cat([torch.full_like(z[:, None], float(b)), uv.T, voxels[:, 2:3].to(z.dtype), z[:, None]], 1)
            sel = voxels[in_range]
            mapping = torch.full((d, d, d, 5), -1.0, dtype=z.dtype, device=device)
            mapping = mapping.index_put((sel[:, 0], sel[:, 1], sel[:, 2]), rows[in_range])
            kept = (mapping >= 0).all(-1)
            if room_mask is not None:
                idx = mapping[kept].long()
                in_room = torch.zeros_like(kept)
                in_room[kept] = room_mask[b, 0, idx[:, 2], idx[:, 1]].bool()
                kept = in_room
            kepts.append(kept)
            mappings.append(mapping)
        return torch.stack(kepts), torch.stack(mappings)
