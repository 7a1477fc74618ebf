"""Training targets derived from a frame: 2D segments, 3D masks, occupancy pyramids, multi-plane occupancy."""

from __future__ import annotations

from typing import Literal

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


MultiplaneRule = Literal["nvidia", "surface"]

NVIDIA_TDF_CLIP = 12.0
"""NVIDIA clips |TDF| here (``DatasetConstants.DEFAULT_TRUNCATION``) before comparing it with the band."""

SLAB_VOXELS = 1 << 20
"""The ``nvidia`` rule projects the frustum in x-slabs of about this many voxels (memory at 256^3)."""


def multiplane_band(abs_tdf: np.ndarray, rule: MultiplaneRule, truncation_range: tuple[float, float]) -> np.ndarray:
    """Boolean volume of the voxels the multi-plane target marks occupied under ``rule``.

    ``nvidia``: ``min(|TDF|, 12) < truncation_range[1]`` (TAO 7.0.1's ``mp_occupancy`` transform: a band of 12
    voxels at the default [0, 12]; above 12 every voxel is in it). ``surface``: ``|TDF| < 1``, the surface shell.
    """
    if rule == "nvidia":
        return np.minimum(abs_tdf, NVIDIA_TDF_CLIP) < float(truncation_range[1])
    if rule == "surface":
        return abs_tdf < 1.0
    raise ValueError(f"dataset.multiplane_target: unknown rule {rule!r}, expected 'nvidia' or 'surface'")


def multiplane_occupancy(band: np.ndarray, grid: FrustumGrid, frustum: np.ndarray, intrinsic: np.ndarray,
                         size: tuple[int, int], bins: int, depth_max: float,
                         rule: MultiplaneRule = "nvidia") -> np.ndarray:
    """(bins, H, W) float multi-plane occupancy target of a ``band`` volume (:func:`multiplane_band`).

    ``intrinsic`` is K at ``size`` (W, H), the reduced image the 3D stage lifts at. A voxel's sample point is
    projected as the lifting reads the multi-plane prediction: pixel ``(floor(v), floor(u))``, plane
    ``floor(z * bins / depth_max)`` (NVIDIA writes ``* 100``, its ``depth_bins``); kept when
    depth_min <= z <= depth_max and 0 <= u < W, 0 <= v < H (``BackProjection``'s rule). Then dilated by one
    plane and one pixel (3x3x3 max-pool), as NVIDIA's target. The rules (docs/data-format.md):

    - ``nvidia`` (TAO 7.0.1 ``gen_occ2d_tg``): every ``BackProjection`` voxel v with ``frustum[v]`` whose sample
      (the centre of grid voxel v - 1) is kept writes ``band[v]`` -- NVIDIA reads the volumes at v, not v - 1 --
      and where several land on one cell the last in BP's order (C order of v) wins, so a far voxel outside the
      band can clear a 1. Decided here explicitly, not by numpy's or CUDA's duplicate-index assignment.
    - ``surface`` (ours): 1 where any voxel i with ``band[i] & frustum[i]`` lands, its own centre projected.
    """
    w, h = size
    occ = np.zeros((bins, h, w), dtype=np.float32)
    placed = grid.with_camera(intrinsic, size, reduced_size=size)
    k = placed.reduced_intrinsic().double().numpy()
    if rule == "surface":
        idx = np.argwhere(band & frustum)
        cells, _ = _cells(placed, k, idx.astype(np.float64), occ.shape, depth_max)
        occ.reshape(-1)[cells] = 1.0
    elif rule == "nvidia":
        # BP order is x-major; slabs of x in increasing order keep "later overwrites earlier" across slabs.
        step = max(1, SLAB_VOXELS // max(1, frustum.shape[1] * frustum.shape[2]))
        for x0 in range(0, frustum.shape[0], step):
            idx = np.argwhere(frustum[x0:x0 + step])
            if idx.size == 0:
                continue
            idx[:, 0] += x0
            cells, ok = _cells(placed, k, idx.astype(np.float64) - 1.0, occ.shape, depth_max)
            values = band[tuple(idx[ok].T)].astype(np.float32)
            rev_first = np.unique(cells[::-1], return_index=True)[1]  # first in reverse = last in BP order
            last = len(cells) - 1 - rev_first
            occ.reshape(-1)[cells[last]] = values[last]
    else:
        raise ValueError(f"dataset.multiplane_target: unknown rule {rule!r}, expected 'nvidia' or 'surface'")
    occ_t = torch.from_numpy(occ)[None, None]
    return F.max_pool3d(occ_t, kernel_size=3, stride=1, padding=1)[0, 0].numpy()


def _cells(placed: FrustumGrid, k: np.ndarray, grid_index: np.ndarray, shape: tuple[int, int, int],
           depth_max: float) -> tuple[np.ndarray, np.ndarray]:
    """Flat (plane, v, u) cell of each kept voxel centre (grid index, float) and the kept mask, in input order."""
    bins, h, w = shape
    if grid_index.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, bool)
    uvz = placed.project(placed.origin + (grid_index + 0.5) * placed.voxel_size, k)
    u, v, z = uvz[:, 0], uvz[:, 1], uvz[:, 2]
    ok = (z >= placed.depth_min) & (z <= placed.depth_max) & (u >= 0) & (u < w) & (v >= 0) & (v < h)
    b = np.clip(np.floor(z[ok] * bins / depth_max).astype(np.int64), 0, bins - 1)
    return (b * h + np.floor(v[ok]).astype(np.int64)) * w + np.floor(u[ok]).astype(np.int64), ok
