"""The 3D-FRONT-layout dataset (also the synthetic_* sets): split json + per-sample files -> sample dicts.

Layout (docs/data-format.md): ``<base_dir>/data/<scene_id>/{rgb_<id>.png, depth_<id>.exr|.npz,
segmap_<id>.mapped.npz, geometry_<id>.npz, segmentation_<id>.mapped.npz, weighting_<id>.npz}``, split
files ``meta/<split>.json`` (list of {scene_id, image_id, height, width}), ``meta/frustum_mask.npz``.
Volumes on disk use the 3D-FRONT orientation; they are flipped into our grid convention on load.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps
from torch.utils.data import Dataset

from nvpanoptix3d.data.categories import DataError
from nvpanoptix3d.data.npzio import load_npz
from nvpanoptix3d.data.options import DatasetOptions
from nvpanoptix3d.data.targets import masks_3d, multiplane_occupancy, occupancy_pyramid, segments_2d
from nvpanoptix3d.geometry import FRONT3D_INTRINSIC, FrustumGrid, scale_intrinsic

NATIVE_SIZE = (320, 240)


def read_split(path: Path) -> list[dict[str, Any]]:
    try:
        rows = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise DataError(f"split file {path} does not exist (expected meta/<split>.json)") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"split file {path} is not valid JSON: {exc}") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) and "scene_id" in r and "image_id" in r for r in rows):
        raise DataError(f"split file {path} must be a JSON list of {{scene_id, image_id, height, width}} objects")
    return rows


def read_depth(stem: Path) -> np.ndarray:
    """Metric depth (H, W) from depth_<id>.exr (needs pyexr/OpenEXR) or depth_<id>.npz."""
    npz = stem.with_suffix(".npz")
    if npz.exists():
        return load_npz(npz).astype(np.float32)
    exr = stem.with_suffix(".exr")
    if exr.exists():
        try:
            import pyexr  # noqa: PLC0415 - optional reader of the published EXR depth maps
        except ImportError:
            raise DataError(f"{exr} is an EXR depth map: `pip install pyexr` to read it, or convert it to "
                            f"{npz.name} (key `data`, float32 metres)") from None
        return np.asarray(pyexr.read(str(exr))).squeeze().astype(np.float32)
    raise DataError(f"missing sample file {exr} (or {npz.name})")


def front3d_to_grid(volume: np.ndarray) -> np.ndarray:
    """Published 3D-FRONT orientation -> our (x, y, z) camera-grid convention (axes 0 and 1 reversed)."""
    return np.ascontiguousarray(volume[::-1, ::-1])


def load_frustum_mask(path: Path, dims: int) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as npz:
            if "mask" not in npz.files:
                raise DataError(f"{path} has no `mask` array (found {npz.files})")
            mask = npz["mask"]
    except FileNotFoundError:
        raise DataError(f"Missing frustum mask: {path} does not exist; the dataset needs meta/frustum_mask.npz") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path} is not a readable frustum mask ({exc})") from None
    if mask.shape != (dims, dims, dims):
        raise DataError(f"{path}: frustum mask has shape {mask.shape}, expected {(dims, dims, dims)} "
                        "(model.frustum3d.grid_dimensions)")
    return front3d_to_grid(mask.astype(bool))


class Front3DDataset(Dataset):
    """Samples of one split in the contract of docs/architecture.md."""

    def __init__(self, options: DatasetOptions) -> None:
        self.opt = options
        self.root = Path(options.base_dir)
        rows = read_split(options.resolve(options.json_path))
        if options.max_samples > 0:
            rows = rows[: options.max_samples]
        if not rows:
            raise DataError(f"split {options.json_path} lists no samples")
        self.rows = rows
        self.grid = FrustumGrid.cube(options.grid_dims, options.voxel_size, options.depth_min, options.depth_max)
        self.frustum = load_frustum_mask(options.resolve(options.frustum_mask_path), options.grid_dims)

    def __len__(self) -> int:
        return len(self.rows)

    def _file(self, row: dict, prefix: str, suffix: str) -> Path:
        return self.root / "data" / row["scene_id"] / f"{prefix}_{row['image_id']}{suffix}"

    def intrinsic_for(self, size: tuple[int, int]) -> np.ndarray:
        return scale_intrinsic(FRONT3D_INTRINSIC, NATIVE_SIZE, size)

    def __getitem__(self, index: int) -> dict[str, Any]:
        o = self.opt
        row = self.rows[index]
        w, h = o.target_size
        rgb_path = self._file(row, "rgb", ".png")
        try:
            image = ImageOps.exif_transpose(Image.open(rgb_path)).convert("RGB")
        except FileNotFoundError:
            raise DataError(f"missing sample file {rgb_path}") from None
        except OSError as exc:
            raise DataError(f"unreadable image {rgb_path}: {exc}") from None
        native = image.size
        image = image.resize((w, h), Image.BILINEAR)
        depth = read_depth(self._file(row, "depth", ""))
        seg = load_npz(self._file(row, "segmap", ".mapped.npz"))
        if seg.ndim != 3 or seg.shape[-1] != 2:
            raise DataError(f"{self._file(row, 'segmap', '.mapped.npz')}: expected (H, W, 2) semantic/instance, "
                            f"got {seg.shape}")
        depth = _resize(depth, (w, h), Image.NEAREST)
        sem = _resize(seg[..., 0].astype(np.int32), (w, h), Image.NEAREST).astype(np.int64)
        ins = _resize(seg[..., 1].astype(np.int32), (w, h), Image.NEAREST).astype(np.int64)
        depth = np.where((depth >= o.depth_min) & (depth <= o.depth_max), depth, 0.0).astype(np.float32)
        intrinsic = scale_intrinsic(FRONT3D_INTRINSIC, NATIVE_SIZE, native)
        intrinsic = scale_intrinsic(intrinsic, native, (w, h))
        classes, masks, keys = segments_2d(sem, ins, num_thing_classes=o.num_thing_classes,
                                           num_classes=o.num_classes, min_pixels=o.min_instance_pixels)
        sem_ignore = np.where(sem == 0, o.ignore_label, sem)
        sample: dict[str, Any] = {
            "image": torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).permute(2, 0, 1).contiguous(),
            "depth": torch.from_numpy(depth),
            "intrinsic": torch.from_numpy(intrinsic),
            "semantic_2d": torch.from_numpy(sem_ignore),
            "instance_2d": torch.from_numpy(ins),
            "gt_classes": torch.from_numpy(classes),
            "gt_masks": torch.from_numpy(masks),
            "frustum_mask": torch.from_numpy(self.frustum),
            "meta": {"scene_id": row["scene_id"], "image_id": row["image_id"], "dataset": o.name},
        }
        need_3d = o.enable_3d or o.enable_mp_occ
        if need_3d:
            tudf = front3d_to_grid(load_npz(self._file(row, "geometry", ".npz")).astype(np.float32))
            if tudf.shape != self.frustum.shape:
                raise DataError(f"{self._file(row, 'geometry', '.npz')}: shape {tudf.shape}, expected {self.frustum.shape}")
            tudf = np.clip(np.abs(tudf), *o.truncation_range).astype(np.float32)
            if o.enable_mp_occ:
                rw, rh = o.reduced_target_size
                sample["mp_occ"] = torch.from_numpy(multiplane_occupancy(
                    tudf, self.grid, self.frustum, scale_intrinsic(intrinsic, (w, h), (rw, rh)), (rw, rh),
                    o.depth_bins, o.depth_max))
            if o.enable_3d:
                seg3 = load_npz(self._file(row, "segmentation", ".mapped.npz"))
                if seg3.shape[-1] == 2 and seg3.shape[0] != 2:
                    seg3 = np.moveaxis(seg3, -1, 0)
                sem3 = front3d_to_grid(seg3[0].astype(np.int64))
                ins3 = front3d_to_grid(seg3[1].astype(np.int64))
                weighting = front3d_to_grid(load_npz(self._file(row, "weighting", ".npz")).astype(np.float32))
                tudf_t = torch.from_numpy(tudf)
                sample.update({
                    "geometry": tudf_t,
                    "semantic_3d": torch.from_numpy(sem3),
                    "instance_3d": torch.from_numpy(ins3),
                    "gt_masks_3d": torch.from_numpy(masks_3d(keys, sem3, ins3)),
                    "occupancy": occupancy_pyramid(tudf_t, (o.iso_value + 0.5, o.occ_truncation_lvl[1] / 6.0 * 1.5,
                                                            o.occ_truncation_lvl[0] / 8.0 * 1.5)),
                    "weighting": torch.from_numpy(weighting),
                })
        return sample


def _resize(array: np.ndarray, size: tuple[int, int], resample: int) -> np.ndarray:
    if (array.shape[1], array.shape[0]) == size:
        return array
    mode = "F" if array.dtype.kind == "f" else "I"
    return np.asarray(Image.fromarray(array.astype(np.float32 if mode == "F" else np.int32), mode=mode)
                      .resize(size, resample))
