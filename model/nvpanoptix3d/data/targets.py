"""Training targets derived from a frame: 2D segments, 3D masks, occupancy pyramids, multi-plane occupancy."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from nvpanoptix3d.geometry import FrustumGrid


def segments_2d(semantic: np.ndarray, instance: np.ndarray, *, num_thing_classes: int, num_classes: int,
                min_pixels: int) -> tuple[np.ndarray, np.ndarray, list[tuple[str, int]]]:
    """(classes (N,), masks (N,H,W) bool, keys) — things (one per instance id) first, then one per stuff class.

    A thing instance's class is the majority semantic label of its pixels; instances below
    ``min_pixels`` are dropped. ``keys`` are ("thing", instance_id) or ("stuff", class_id).
    """
    classes, masks, keys = [], [], []
    for inst in np.unique(instance):
        if inst <= 0:
            continue
        m = instance == inst
        if m.sum() < min_pixels:
            continue
        labels = semantic[m]
        labels = labels[(labels >= 1) & (labels <= num_thing_classes)]
        if labels.size == 0:
            continue
        cls = int(np.bincount(labels).argmax())
        classes.append(cls)
        masks.append(m)
        keys.append(("thing", int(inst)))
    for cls in range(num_thing_classes + 1, num_classes):
        m = semantic == cls
        if m.sum() < max(1, min_pixels // 4):
            continue
        classes.append(cls)
        masks.append(m)
        keys.append(("stuff", cls))
    h, w = semantic.shape
    return (np.array(classes, dtype=np.int64), np.stack(masks) if masks else np.zeros((0, h, w), bool), keys)


def masks_3d(keys: list[tuple[str, int]], semantic_3d: np.ndarray, instance_3d: np.ndarray) -> np.ndarray:
    """One 3D mask per 2D segment key, same order (things by instance id, stuff by class)."""
    out = [instance_3d == v if kind == "thing" else semantic_3d == v for kind, v in keys]
    return np.stack(out) if out else np.zeros((0, *semantic_3d.shape), bool)


def occupancy_pyramid(tudf: torch.Tensor, thresholds: tuple[float, float, float]) -> list[torch.Tensor]:
    """Occupancy targets at full, 1/2 and 1/4 resolution (fine -> coarse): downsampled distance < threshold."""
    vol = tudf[None, None]
    out = [(tudf < thresholds[0]).float()]
    for factor, thr in ((2, thresholds[1]), (4, thresholds[2])):
        small = F.interpolate(vol, scale_factor=1.0 / factor, mode="trilinear", align_corners=False)[0, 0]
        out.append((small < thr).float())
    return out


def multiplane_occupancy(tudf: np.ndarray, grid: FrustumGrid, frustum: np.ndarray, intrinsic: np.ndarray,
                         size: tuple[int, int], bins: int, depth_max: float, surface: float = 1.0) -> np.ndarray:
    """(bins, H, W) float: 1 where a near-surface voxel of the frustum lands at pixel (v, u), depth plane b.

    ``intrinsic`` is K at ``size`` (W, H), the reduced image the 3D stage lifts at. Each near-surface voxel
    (``tudf < surface``) is taken at its centre in NVIDIA's placement -- the very point NVIDIA's
    ``BackProjection`` samples for it -- and indexed as the lifting reads the multi-plane prediction: pixel
    ``(floor(v), floor(u))``, plane ``floor(z * bins / depth_max)``; kept when depth_min <= z <= depth_max and
    0 <= u < W, 0 <= v < H (BackProjection's rule). Then dilated by one plane and one pixel (3x3x3 max-pool), as
    NVIDIA's target. The band (``surface``) and the union over voxels are ours (docs/data-format.md).
    """
    w, h = size
    occ = np.zeros((bins, h, w), dtype=np.float32)
    idx = np.argwhere((tudf < surface) & frustum)
    if idx.size == 0:
        return occ
    placed = grid.with_camera(intrinsic, size, reduced_size=size)
    centers = placed.origin + (idx + 0.5) * placed.voxel_size
    uvz = placed.project(centers, placed.reduced_intrinsic().double().numpy())
    u, v, z = uvz[:, 0], uvz[:, 1], uvz[:, 2]
    ok = (z >= placed.depth_min) & (z <= placed.depth_max) & (u >= 0) & (u < w) & (v >= 0) & (v < h)
    b = np.clip(np.floor(z[ok] * bins / depth_max).astype(int), 0, bins - 1)
    occ[b, np.floor(v[ok]).astype(int), np.floor(u[ok]).astype(int)] = 1.0
    occ_t = torch.from_numpy(occ)[None, None]
    return F.max_pool3d(occ_t, kernel_size=3, stride=1, padding=1)[0, 0].numpy()
