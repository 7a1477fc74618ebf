"""One decoded frame -> the sample dict of docs/architecture.md, shared by every layout's loader.

A layout's loader only knows its file names and encodings (3D-FRONT EXR depth and flipped volumes,
Matterport 16-bit depth PNGs and per-image intrinsics); resizing, label mapping, 2D/3D targets and the
multi-plane occupancy are built here once, so both datasets feed the network the same contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from PIL import Image

from nvpanoptix3d.data.categories import DataError, map_labels
from nvpanoptix3d.data.options import DatasetOptions
from nvpanoptix3d.data.targets import (masks_3d, multiplane_band, multiplane_occupancy, occupancy_pyramid,
                                      segments_2d)
from nvpanoptix3d.geometry import FrustumGrid, scale_intrinsic


@dataclass
class Frame:
    """Decoded arrays of one sample at the resolution they are stored in.

    ``intrinsic`` belongs to ``image.size``; volumes are already in our (x, y, z) grid convention.
    ``geometry`` returns the distance field (voxels); ``volumes_3d`` returns (semantic, instance,
    weighting). Both are called only when the spec needs them.
    """

    image: Image.Image
    depth: np.ndarray
    semantic: np.ndarray
    instance: np.ndarray
    intrinsic: np.ndarray
    frustum: np.ndarray
    geometry: Callable[[], np.ndarray]
    volumes_3d: Callable[[], tuple[np.ndarray, np.ndarray, np.ndarray]]
    files: dict[str, Path]
    meta: dict[str, Any]


def resize_nearest(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of an (H, W) label or depth map to ``size`` = (W, H)."""
    if (array.shape[1], array.shape[0]) == size:
        return array
    if array.dtype.kind == "f":
        return np.asarray(Image.fromarray(array.astype(np.float32), mode="F").resize(size, Image.NEAREST))
    return np.asarray(Image.fromarray(array.astype(np.int32), mode="I").resize(size, Image.NEAREST))


def assemble_sample(opt: DatasetOptions, grid: FrustumGrid, frame: Frame, label_lut: np.ndarray) -> dict[str, Any]:
    """The network-ready sample of ``frame``: resized to ``opt.target_size``, labels mapped, targets built."""
    w, h = opt.target_size
    native = frame.image.size
    image = frame.image.resize((w, h), Image.BILINEAR)
    depth = resize_nearest(frame.depth.astype(np.float32), (w, h))
    # map before resizing, so that no stored label escapes the check by falling between sampled pixels
    sem = resize_nearest(map_labels(frame.semantic, label_lut, frame.files["segmap"]), (w, h)).astype(np.int64)
    ins = resize_nearest(frame.instance, (w, h)).astype(np.int64)
    depth = np.where((depth >= opt.depth_min) & (depth <= opt.depth_max), depth, 0.0).astype(np.float32)
    intrinsic = scale_intrinsic(frame.intrinsic, native, (w, h))
    classes, masks, keys = segments_2d(sem, ins, num_thing_classes=opt.num_thing_classes,
                                       num_classes=opt.num_classes, min_pixels=opt.min_instance_pixels)
    sample: dict[str, Any] = {
        "image": torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).permute(2, 0, 1).contiguous(),
        "depth": torch.from_numpy(depth),
        "intrinsic": torch.from_numpy(intrinsic),
        "semantic_2d": torch.from_numpy(np.where(sem == 0, opt.ignore_label, sem)),
        "instance_2d": torch.from_numpy(ins),
        "gt_classes": torch.from_numpy(classes),
        "gt_masks": torch.from_numpy(masks),
        "frustum_mask": torch.from_numpy(np.ascontiguousarray(frame.frustum)),
        "meta": dict(frame.meta, dataset=opt.name),
    }
    if not (opt.enable_3d or opt.enable_mp_occ):
        return sample
    tudf = frame.geometry().astype(np.float32)
    if tudf.shape != frame.frustum.shape:
        raise DataError(f"{frame.files['geometry']}: shape {tudf.shape}, expected {frame.frustum.shape} "
                        "(the frustum mask's grid, model.frustum3d.grid_dimensions)")
    abs_tdf = np.abs(tudf)
    tudf = np.clip(abs_tdf, *opt.truncation_range).astype(np.float32)
    if opt.enable_mp_occ:
        rw, rh = opt.reduced_target_size
        # NVIDIA's band reads the unclipped |TDF| (its own clip at 12); ours the clipped shell as before
        band = multiplane_band(abs_tdf if opt.multiplane_target == "nvidia" else tudf, opt.multiplane_target,
                               opt.truncation_range)
        sample["mp_occ"] = torch.from_numpy(multiplane_occupancy(
            band, grid, frame.frustum, scale_intrinsic(intrinsic, (w, h), (rw, rh)), (rw, rh),
            opt.depth_bins, opt.depth_max, rule=opt.multiplane_target))
    if opt.enable_3d:
        sem3, ins3, weighting = frame.volumes_3d()
        for key, vol in (("segmentation", sem3), ("weighting", weighting)):
            if vol.shape != tudf.shape:
                raise DataError(f"{frame.files[key]}: volume shape {vol.shape}, expected {tudf.shape} like the geometry")
        sem3 = map_labels(sem3, label_lut, frame.files["segmentation"])
        ins3 = ins3.astype(np.int64)
        tudf_t = torch.from_numpy(tudf)
        sample.update({
            "geometry": tudf_t,
            "semantic_3d": torch.from_numpy(sem3),
            "instance_3d": torch.from_numpy(ins3),
            "gt_masks_3d": torch.from_numpy(masks_3d(keys, sem3, ins3)),
            "occupancy": occupancy_pyramid(tudf_t, (opt.iso_value + 0.5, opt.occ_truncation_lvl[1] / 6.0 * 1.5,
                                                    opt.occ_truncation_lvl[0] / 8.0 * 1.5)),
            "weighting": torch.from_numpy(weighting.astype(np.float32)),
        })
    return sample


def split_segmentation(seg3: np.ndarray, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(semantic, instance) volumes from a (2, X, Y, Z) or (X, Y, Z, 2) array."""
    if seg3.ndim == 4 and seg3.shape[0] == 2:
        return seg3[0], seg3[1]
    if seg3.ndim == 4 and seg3.shape[-1] == 2:
        return seg3[..., 0], seg3[..., 1]
    raise DataError(f"{path}: expected a (2, X, Y, Z) or (X, Y, Z, 2) semantic/instance volume, got {seg3.shape}")


def split_segmap(seg: np.ndarray, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(semantic, instance) images from an (H, W, 2) array."""
    if seg.ndim != 3 or seg.shape[-1] != 2:
        raise DataError(f"{path}: expected (H, W, 2) semantic/instance, got {seg.shape}")
    return seg[..., 0].astype(np.int64), seg[..., 1].astype(np.int64)
