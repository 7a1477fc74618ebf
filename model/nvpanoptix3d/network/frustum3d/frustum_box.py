"""The axis-aligned box around the camera frustum, in voxel units: NVIDIA's frustum-grid placement.

NVIDIA's 3D stage does not place its voxel grid with a fixed origin: it unprojects the eight corners of the
image frustum (image corners (0, 0), (0, H), (W, H), (W, 0) at the near and far depth) with K^-1, takes the
per-axis minimum and maximum divided by the voxel size, and maps camera points into voxels by scaling with
1 / voxel size and translating by -minimum ("camera -> frustum"). The box extent ceil(max - min) is then
centred in the D^3 grid by a padding of (D - extent) / 2 voxels; whether that padding is floored differs
between NVIDIA's back-projection (not floored) and its sparse projection (floored), so callers decide.
"""

from __future__ import annotations

import torch


def frustum_corners(inverse_intrinsic: torch.Tensor, image_size: tuple[int, int], depth_min: float,
                    depth_max: float) -> torch.Tensor:
    """(8, 3) camera-space frustum corners, in ``inverse_intrinsic``'s dtype.

    Args:
        inverse_intrinsic: (4, 4) K^-1.
        image_size: (W, H) of the image K belongs to.
    """
    w, h = image_size
    rows = []
    for d in (depth_min, depth_max):
        rows += [[0.0, 0.0, d, 1.0], [0.0, h * d, d, 1.0], [w * d, h * d, d, 1.0], [w * d, 0.0, d, 1.0]]
    pixels = torch.tensor(rows, dtype=inverse_intrinsic.dtype, device=inverse_intrinsic.device)
    return (inverse_intrinsic @ pixels.T).T[:, :3]


def frustum_box(corners: torch.Tensor, voxel_size: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(extent (3,) whole voxels as floats, camera->frustum (4, 4)), both in ``corners``' dtype.

    camera->frustum scales by 1 / voxel_size and translates by the box minimum (in voxels), so the box
    starts at frustum coordinate 0 on every axis (x = image right, y = image down, z = depth).
    """
    low = corners.min(0).values / voxel_size
    high = corners.max(0).values / voxel_size
    extent = torch.ceil(high - low)
    camera_to_frustum = torch.eye(4, dtype=corners.dtype, device=corners.device)
    camera_to_frustum[:3, :3] *= torch.tensor(1.0 / voxel_size, dtype=corners.dtype)
    camera_to_frustum[:3, 3] = -low
    return extent, camera_to_frustum
