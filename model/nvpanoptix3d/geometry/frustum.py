"""The camera-frustum voxel grid used by every 3D part of NVPanoptix3D.

Convention (ours, documented in ``docs/data-format.md``): camera coordinates are x right, y down,
z forward (metres), pinhole projection ``u = fx * x / z + cx``, ``v = fy * y / z + cy``. The grid
has ``dims = (X, Y, Z)`` voxels of ``voxel_size`` metres, array axes ordered ``(x, y, z)`` with z
the depth axis. It is centred on the optical axis in x and y and centred on the middle of the depth
range in z, i.e. ``origin = (-X*s/2, -Y*s/2, (dmin + dmax)/2 - Z*s/2)`` and voxel ``(i, j, k)``
covers ``origin + [i, i+1) * s`` -- the same placement Dahnert et al. 2021 and Uni-3D use for the
256^3 grid at 3 cm (facts in ``shared/reference/model_facts.md``). Real 3D-FRONT volumes are stored
with axes 0 and 1 flipped relative to this; the loader undoes that flip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: 3D-FRONT pinhole intrinsics for 320x240 images (60 degree horizontal field of view).
FRONT3D_INTRINSIC = np.array(
    [
        [277.1281435, 0.0, 159.5, 0.0],
        [0.0, 277.1281435, 119.5, 0.0],
        [0.0, 0.0, 1.0, 0.0],
        [0.0, 0.0, 0.0, 1.0],
    ],
    dtype=np.float32,
)


def scale_intrinsic(intrinsic, from_size: tuple[int, int], to_size: tuple[int, int]):
    """Rescale 3x3 or 4x4 intrinsic matrices (``[..., 3|4, 3|4]``) for an image resized from ``from_size`` to
    ``to_size``.

    Sizes are ``(width, height)``. Focal lengths scale with the size ratio; the principal point
    scales so that pixel centres stay aligned (``c' = c * (W'-1)/(W-1)``), matching how the
    reference pipeline resizes 320x240 frames to the 160x120 grid of the 3D stage. A NumPy input gives a
    float32 copy; a torch tensor (any batch shape, e.g. the 3D stage's (B, 4, 4)) a copy in its own dtype.
    """
    (w0, h0), (w1, h1) = from_size, to_size
    out = intrinsic.clone() if hasattr(intrinsic, "clone") else np.array(intrinsic, dtype=np.float32, copy=True)
    out[..., 0, 0] *= w1 / w0
    out[..., 1, 1] *= h1 / h0
    out[..., 0, 2] *= (w1 - 1) / max(w0 - 1, 1)
    out[..., 1, 2] *= (h1 - 1) / max(h0 - 1, 1)
    return out


@dataclass(frozen=True)
class FrustumGrid:
    """A regular voxel grid placed in front of the camera.

    Args:
        dims: voxels along (x, y, z).
        voxel_size: edge length of one voxel in metres.
        depth_min: nearest depth the grid must cover, metres.
        depth_max: farthest depth the grid must cover, metres.
    """

    dims: tuple[int, int, int] = (256, 256, 256)
    voxel_size: float = 0.03
    depth_min: float = 0.4
    depth_max: float = 6.0

    @classmethod
    def cube(cls, size: int, voxel_size: float, depth_min: float = 0.4, depth_max: float = 6.0) -> "FrustumGrid":
        return cls((size, size, size), voxel_size, depth_min, depth_max)

    @property
    def origin(self) -> np.ndarray:
        """Camera-space position (metres) of the corner of voxel (0, 0, 0)."""
        x, y, z = (d * self.voxel_size for d in self.dims)
        return np.array([-x / 2.0, -y / 2.0, (self.depth_min + self.depth_max) / 2.0 - z / 2.0], dtype=np.float64)

    def camera_to_grid(self, points: np.ndarray) -> np.ndarray:
        """Continuous grid coordinates (voxel units, voxel i spans [i, i+1)) of camera points ``[..., 3]``."""
        return (np.asarray(points, dtype=np.float64) - self.origin) / self.voxel_size

    def voxel_index(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Integer voxel indices ``[..., 3]`` of camera points and a mask of those inside the grid."""
        idx = np.floor(self.camera_to_grid(points)).astype(np.int64)
        inside = np.all((idx >= 0) & (idx < np.asarray(self.dims)), axis=-1)
        return idx, inside

    def voxel_centers(self) -> np.ndarray:
        """Camera-space centres of all voxels, shape ``(X, Y, Z, 3)``, float32."""
        axes = [(np.arange(n, dtype=np.float64) + 0.5) * self.voxel_size + o for n, o in zip(self.dims, self.origin)]
        return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).astype(np.float32)

    def project(self, points: np.ndarray, intrinsic: np.ndarray) -> np.ndarray:
        """Pinhole projection of camera points ``[..., 3]`` to ``[..., 3]`` = (u, v, depth)."""
        pts = np.asarray(points, dtype=np.float64)
        z = pts[..., 2]
        safe = np.where(np.abs(z) < 1e-9, 1e-9, z)
        u = intrinsic[0, 0] * pts[..., 0] / safe + intrinsic[0, 2]
        v = intrinsic[1, 1] * pts[..., 1] / safe + intrinsic[1, 2]
        return np.stack([u, v, z], axis=-1)

    def frustum_mask(self, intrinsic: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
        """Boolean ``(X, Y, Z)`` mask of voxels whose centre is seen by the camera within the depth range.

        ``image_size`` is ``(width, height)`` of the image ``intrinsic`` belongs to.
        """
        w, h = image_size
        uvz = self.project(self.voxel_centers(), intrinsic)
        u, v, z = uvz[..., 0], uvz[..., 1], uvz[..., 2]
        return (z >= self.depth_min) & (z <= self.depth_max) & (u >= -0.5) & (u < w - 0.5) & (v >= -0.5) & (v < h - 0.5)

    def backproject_depth(self, depth: np.ndarray, intrinsic: np.ndarray) -> np.ndarray:
        """Camera-space points ``(H, W, 3)`` of a metric depth map ``(H, W)`` (0 = invalid stays at z=0)."""
        h, w = depth.shape
        v, u = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
        z = depth.astype(np.float64)
        x = (u - intrinsic[0, 2]) * z / intrinsic[0, 0]
        y = (v - intrinsic[1, 2]) * z / intrinsic[1, 1]
        return np.stack([x, y, z], axis=-1)
