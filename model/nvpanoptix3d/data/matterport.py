"""The Matterport3D-layout dataset: per-image intrinsics, 16-bit depth PNGs, per-sample frustum masks.

Layout (docs/data-format.md), for ``image_id = <name>_<angle>_<rot>`` of scene ``S``:
``data/S/<name>_i<angle>_<rot>.jpg`` (RGB), ``data/S/<name>_intrinsics_<angle>.npy`` (4x4 camera of that
image), ``depth_gen/S/<name>_d<angle>_<rot>.png`` (uint16, metres x 4000), optional
``room_mask/S/<name>_rm<angle>_<rot>.png``, ``data/S/<name>_{segmap,geometry,segmentation,weighting}...npz``.
Volumes are stored in our grid orientation already (no flip, unlike 3D-FRONT). The geometry file's
``mask`` array marks voxels *outside* the camera frustum; its complement is the sample's frustum mask.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from nvpanoptix3d.data.categories import DataError
from nvpanoptix3d.data.front3d import Front3DDataset, load_frustum_mask, read_rgb
from nvpanoptix3d.data.layouts import layout_hint, matterport_files, split_matterport_id
from nvpanoptix3d.data.npzio import load_npz
from nvpanoptix3d.data.sample import Frame, split_segmap, split_segmentation

#: Matterport depth PNGs store metres x 4000 (quarter millimetres) as uint16.
DEPTH_UNITS_PER_METRE = 4000.0


def read_intrinsic(path: Path, image_size: tuple[int, int]) -> np.ndarray:
    """The 4x4 float32 camera of one image (16 values, or a 3x3/4x4 array) for an image of ``image_size`` (W, H)."""
    try:
        raw = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"missing sample file {path} (per-image 4x4 intrinsics, float32){layout_hint('matterport', path)}") \
            from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path} is not a readable .npy intrinsics file ({exc})") from None
    k = np.asarray(raw, dtype=np.float32)
    if k.size == 16:
        k = k.reshape(4, 4)
    elif k.size == 9:
        k4 = np.eye(4, dtype=np.float32)
        k4[:3, :3] = k.reshape(3, 3)
        k = k4
    else:
        raise DataError(f"{path}: intrinsics must hold 16 values (a flattened 4x4 matrix), found shape {raw.shape}")
    w, h = image_size
    fx, fy, cx, cy = float(k[0, 0]), float(k[1, 1]), float(k[0, 2]), float(k[1, 2])
    if not (fx > 0 and fy > 0):
        raise DataError(f"{path}: focal lengths must be positive, found fx={fx:g}, fy={fy:g}")
    if not (0 <= cx <= w and 0 <= cy <= h):
        raise DataError(f"{path}: principal point ({cx:g}, {cy:g}) lies outside the {w}x{h} image it belongs to "
                        "— the intrinsics must be for the stored image size")
    return k


def read_depth_png(path: Path) -> np.ndarray:
    """Metric depth (H, W) float32 from a 16-bit PNG in quarter millimetres."""
    try:
        with Image.open(path) as im:
            mode = im.mode
            arr = np.asarray(im)
    except FileNotFoundError:
        raise DataError(f"missing sample file {path} (16-bit depth PNG, metres x 4000)") from None
    except OSError as exc:
        raise DataError(f"unreadable depth PNG {path}: {exc}") from None
    if mode not in ("I;16", "I;16B", "I") or arr.ndim != 2:
        raise DataError(f"{path}: depth must be a single-channel 16-bit PNG (metres x 4000), found mode {mode} "
                        f"with shape {arr.shape}")
    return (arr.astype(np.float32) / DEPTH_UNITS_PER_METRE).astype(np.float32)


def read_room_mask(path: Path | None, size: tuple[int, int]) -> np.ndarray | None:
    """Optional bool (H, W) mask of the room's pixels; None when the file is absent."""
    if path is None or not path.exists():
        return None
    with Image.open(path) as im:
        arr = np.asarray(im.convert("L")) > 0
    if (arr.shape[1], arr.shape[0]) != size:
        raise DataError(f"{path}: room mask is {arr.shape[1]}x{arr.shape[0]}, expected {size[0]}x{size[1]} like the image")
    return arr


def load_geometry(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """(distance field, frustum mask or None) of a Matterport geometry file (``mask`` = outside the frustum)."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            names = list(npz.files)
            if not names:
                raise DataError(f"{path} holds no arrays")
            df = npz["data"] if "data" in names else npz[names[0]]
            outside = npz["mask"] if "mask" in names else None
    except FileNotFoundError:
        raise DataError(f"missing sample file {path}{layout_hint('matterport', path)}") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path} is not a readable .npz ({exc})") from None
    if outside is None:
        return df, None
    if outside.shape != df.shape:
        raise DataError(f"{path}: `mask` has shape {outside.shape}, expected {df.shape} like `data`")
    return df, ~outside.astype(bool)


class MatterportDataset(Front3DDataset):
    """Samples of one Matterport3D-layout split, in the same contract as :class:`Front3DDataset`."""

    layout = "matterport"

    def __init__(self, options: Any) -> None:
        super().__init__(options)
        for i, row in enumerate(self.rows):
            try:
                split_matterport_id(row["image_id"])
            except DataError as exc:
                hint = layout_hint(self.layout, self.root / "data" / str(row["scene_id"]) / "_")
                raise DataError(f"{options.json_path}, row {i}: {exc}{hint}") from None

    def _global_frustum(self) -> np.ndarray | None:
        """meta/frustum_mask.npz is only a fallback here (each geometry file carries its own mask)."""
        path = self.opt.resolve(self.opt.frustum_mask_path) if self.opt.frustum_mask_path else None
        if path is None or not path.exists():
            return None
        return load_frustum_mask(path, self.opt.grid_dims, flip=False)

    def read_frame(self, row: dict[str, Any]) -> Frame:
        files = matterport_files(self.root, row)
        image = read_rgb(files.rgb, self.layout)
        intrinsic = read_intrinsic(files.intrinsic, image.size)
        depth = read_depth_png(files.depth)
        if (depth.shape[1], depth.shape[0]) != image.size:
            raise DataError(f"{files.depth}: depth is {depth.shape[1]}x{depth.shape[0]}, expected "
                            f"{image.size[0]}x{image.size[1]} like {files.rgb.name}")
        room = read_room_mask(files.room_mask, image.size)
        if room is not None:
            depth = np.where(room, depth, 0.0).astype(np.float32)
        sem, ins = split_segmap(load_npz(files.segmap), files.segmap)
        df, frustum = load_geometry(files.geometry)
        if frustum is None:
            if self.frustum is None:
                raise DataError(f"{files.geometry}: no `mask` array (voxels outside the frustum) and no "
                                f"dataset.frustum_mask_path file to fall back on")
            frustum = self.frustum
        dims = (self.opt.grid_dims,) * 3
        if frustum.shape != dims:
            raise DataError(f"{files.geometry}: volume shape {frustum.shape}, expected {dims} "
                            "(model.frustum3d.grid_dimensions)")

        def volumes_3d() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            sem3, ins3 = split_segmentation(load_npz(files.segmentation), files.segmentation)
            return sem3, ins3, load_npz(files.weighting).astype(np.float32)

        return Frame(image=image, depth=depth, semantic=sem, instance=ins, intrinsic=intrinsic, frustum=frustum,
                     geometry=lambda: df, volumes_3d=volumes_3d, files=vars(files),
                     meta={"scene_id": row["scene_id"], "image_id": row["image_id"]})
