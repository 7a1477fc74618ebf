"""The camera-frustum voxel grid of NVPanoptix3D's data, targets, masks and meshes: NVIDIA's placement.

Camera coordinates are x right, y down, z forward (metres); pinhole ``u = fx * x / z + cx``,
``v = fy * y / z + cy``. Volumes have ``dims = (X, Y, Z)`` voxels of ``voxel_size`` metres, array axes
``(x, y, z)``, z the depth axis (published 3D-FRONT volumes store axes 0 and 1 reversed; the loaders undo it).

The grid is placed exactly where NVIDIA's 3D stage puts the image's content (one definition: the frustum
box of :mod:`nvpanoptix3d.network.frustum3d.frustum_box`, used by NVIDIA's ``BackProjection``). The box is
built for the K the lifter hands ``BackProjection`` -- the sample's K rescaled to
``dataset.reduced_target_size`` -- and that reduced image: ``low`` = per-axis minimum of the eight
unprojected frustum corners / voxel size, ``extent = ceil(high - low)``, centring ``pad = (D - extent) / 2``
(not floored). ``BackProjection`` samples voxel ``v`` at frustum coordinate ``v - pad - 1`` and the
occupancy-aware lifting stores that sample at grid voxel ``v - 1``; so the centre of grid voxel ``i`` is the
camera point ``(i - pad + low) * voxel_size`` and voxel ``i`` spans one voxel around it:

    origin (corner of voxel 0) = (low - pad - 0.5) * voxel_size,   centre(i) = origin + (i + 0.5) * voxel_size.

A point goes to ``floor((p - origin) / voxel_size)``; the frustum mask is ``BackProjection``'s kept set moved to
the same indices. NVIDIA's own 3D-FRONT ``frustum_mask.npz`` (after its loader's flip) spans exactly the
depth slices this gives at 256^3 / 3 cm (35..221). Details and NVIDIA's internal half-voxel differences:
``docs/data-format.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

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

#: The size ``FRONT3D_INTRINSIC`` belongs to and NVIDIA's reduced size (``dataset.reduced_target_size``), (W, H).
FRONT3D_SIZE = (320, 240)
REDUCED_SIZE = (160, 120)


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


def _as_key(intrinsic) -> tuple[tuple[float, ...], ...]:
    """A hashable 4x4 float32 copy of a 3x3 or 4x4 K (the grid is a frozen, hashable value)."""
    k = np.asarray(intrinsic, dtype=np.float32)
    if k.shape == (3, 3):
        k = np.pad(k, ((0, 1), (0, 1)))
        k[3, 3] = 1.0
    if k.shape != (4, 4):
        raise ValueError(f"intrinsic must be 3x3 or 4x4, got shape {k.shape}")
    return tuple(tuple(float(x) for x in row) for row in k)


@dataclass(frozen=True)
class FrustumGrid:
    """A regular voxel grid placed in front of one camera, where NVIDIA's lifting places it.

    Args:
        dims: voxels along (x, y, z); NVIDIA's lifting needs a cube.
        voxel_size: edge length of one voxel in metres.
        depth_min, depth_max: the depth range the grid covers, metres.
        intrinsic: K of an image of ``image_size`` (4x4 or 3x3; default 3D-FRONT's camera at 320x240).
        image_size: (W, H) ``intrinsic`` belongs to.
        reduced_size: (W, H) the 3D stage lifts at (``dataset.reduced_target_size``); K is rescaled to it
            exactly as the lifter does, and the frustum box is built for that image.
    """

    dims: tuple[int, int, int] = (256, 256, 256)
    voxel_size: float = 0.03
    depth_min: float = 0.4
    depth_max: float = 6.0
    intrinsic: tuple[tuple[float, ...], ...] = _as_key(FRONT3D_INTRINSIC)
    image_size: tuple[int, int] = FRONT3D_SIZE
    reduced_size: tuple[int, int] = REDUCED_SIZE

    def __post_init__(self) -> None:
        object.__setattr__(self, "dims", tuple(int(d) for d in self.dims))
        object.__setattr__(self, "intrinsic", _as_key(self.intrinsic))
        object.__setattr__(self, "image_size", (int(self.image_size[0]), int(self.image_size[1])))
        object.__setattr__(self, "reduced_size", (int(self.reduced_size[0]), int(self.reduced_size[1])))

    @classmethod
    def cube(cls, size: int, voxel_size: float, depth_min: float = 0.4, depth_max: float = 6.0, *,
             intrinsic=None, image_size: tuple[int, int] | None = None,
             reduced_size: tuple[int, int] | None = None) -> "FrustumGrid":
        """A ``size``^3 grid; camera arguments left out keep the 3D-FRONT defaults."""
        grid = cls((size, size, size), voxel_size, depth_min, depth_max)
        if reduced_size is not None:
            grid = replace(grid, reduced_size=tuple(reduced_size))
        return grid if intrinsic is None else grid.with_camera(intrinsic, image_size or FRONT3D_SIZE)

    def with_camera(self, intrinsic, image_size: tuple[int, int],
                    reduced_size: tuple[int, int] | None = None) -> "FrustumGrid":
        """The same grid placed for the camera ``intrinsic`` of an image of ``image_size`` (W, H)."""
        return replace(self, intrinsic=_as_key(intrinsic), image_size=tuple(image_size),
                       reduced_size=tuple(reduced_size) if reduced_size is not None else self.reduced_size)

    # ------------------------------------------------------------------ NVIDIA's placement
    def reduced_intrinsic(self):
        """(4, 4) float32 torch K at ``reduced_size``, computed as the lifter computes it."""
        import torch  # noqa: PLC0415

        return scale_intrinsic(torch.tensor(self.intrinsic, dtype=torch.float32), self.image_size, self.reduced_size)

    @cached_property
    def _box(self) -> tuple[np.ndarray, np.ndarray]:
        """(low (3,) voxel units, pad (3,) voxels) of NVIDIA's frustum box for this camera."""
        import torch  # noqa: PLC0415

        from nvpanoptix3d.network.frustum3d.frustum_box import frustum_box, frustum_corners  # noqa: PLC0415

        if len(set(self.dims)) != 1:
            raise ValueError(f"NVIDIA's frustum placement needs a cubic grid, got dims {self.dims}")
        k = self.reduced_intrinsic()
        # the same calls and dtypes as BackProjection._frustum: K^-1 in float32, corners and box in float64
        corners = frustum_corners(torch.inverse(k).double(), self.reduced_size, self.depth_min, self.depth_max)
        extent, camera_to_frustum = frustum_box(corners, self.voxel_size)
        pad = (self.dims[0] - extent).float() / 2
        return -camera_to_frustum[:3, 3].numpy().astype(np.float64), pad.numpy().astype(np.float64)

    @property
    def origin(self) -> np.ndarray:
        """Camera-space position (metres) of the corner of voxel (0, 0, 0): ``(low - pad - 0.5) * voxel_size``."""
        low, pad = self._box
        return (low - pad - 0.5) * self.voxel_size

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

    def frustum_mask(self, intrinsic=None, image_size: tuple[int, int] | None = None) -> np.ndarray:
        """Boolean ``(X, Y, Z)`` mask of the voxels NVIDIA's ``BackProjection`` keeps, at this grid's indices.

        ``intrinsic`` / ``image_size`` (W, H) place the grid for another camera first. Kept: the voxel's
        sample has depth_min <= z <= depth_max and projects to 0 <= u < W, 0 <= v < H of the reduced image.
        """
        grid = self if intrinsic is None else self.with_camera(intrinsic, image_size or self.image_size)
        return grid._kept()

    def _kept(self) -> np.ndarray:
        from nvpanoptix3d.network.frustum3d.back_projection import BackProjection  # noqa: PLC0415

        if len(set(self.dims)) != 1:
            raise ValueError(f"NVIDIA's frustum placement needs a cubic grid, got dims {self.dims}")
        rw, rh = self.reduced_size
        bp = BackProjection(grid_dims=self.dims[0], voxel_size=self.voxel_size, depth_min=self.depth_min,
                            depth_max=self.depth_max, depth_size=(rh, rw))
        kept, _mapping = bp(self.reduced_intrinsic()[None])
        mask = np.zeros(self.dims, dtype=bool)
        mask[:-1, :-1, :-1] = kept[0, 1:, 1:, 1:].numpy()  # BackProjection voxel v is grid voxel v - 1
        return mask

    def backproject_depth(self, depth: np.ndarray, intrinsic: np.ndarray) -> np.ndarray:
        """Camera-space points ``(H, W, 3)`` of a metric depth map ``(H, W)`` (0 = invalid stays at z=0)."""
        h, w = depth.shape
        v, u = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
        z = depth.astype(np.float64)
        x = (u - intrinsic[0, 2]) * z / intrinsic[0, 0]
        y = (v - intrinsic[1, 2]) * z / intrinsic[1, 1]
        return np.stack([x, y, z], axis=-1)
