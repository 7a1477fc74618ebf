"""The 3D-FRONT-layout dataset (also the synthetic_* sets): split json + per-sample files -> sample dicts.

Layout (docs/data-format.md): ``<base_dir>/data/<scene_id>/{rgb_<id>.png, depth_<id>.exr,
segmap_<id>.mapped.npz, geometry_<id>.npz, segmentation_<id>.mapped.npz, weighting_<id>.npz}``, split
files named by ``dataset.<split>.json_path`` (list of {scene_id, image_id, height, width[, file_name]}),
``meta/frustum_mask.npz``.
Volumes on disk use the 3D-FRONT orientation; they are flipped into our grid convention on load.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps
from torch.utils.data import Dataset

from nvpanoptix3d.data.categories import DataError, load_label_lut
from nvpanoptix3d.data.exrio import read_depth_exr
from nvpanoptix3d.data.layouts import front3d_files, layout_hint
from nvpanoptix3d.data.npzio import load_npz
from nvpanoptix3d.data.options import DatasetOptions
from nvpanoptix3d.data.sample import Frame, assemble_sample, split_segmap, split_segmentation
from nvpanoptix3d.geometry import FRONT3D_INTRINSIC, FrustumGrid, scale_intrinsic

NATIVE_SIZE = (320, 240)


_SPLIT_SHAPE = "a JSON list of {scene_id, image_id, height, width} objects (file_name optional)"


def read_split(path: Path) -> list[dict[str, Any]]:
    """Rows of a split file (any name: meta/train.json, Uni-3D's meta/train_3d.json, ...); every way it can be
    unusable (missing, a folder, binary, empty, not JSON, wrong shape) is a DataError naming the file."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise DataError(f"split file {path} does not exist") from None
    except IsADirectoryError:
        raise DataError(f"split file {path} is a folder; expected {_SPLIT_SHAPE}") from None
    except UnicodeDecodeError:
        raise DataError(f"split file {path} is not UTF-8 text (a binary file?); expected {_SPLIT_SHAPE}") from None
    except OSError as exc:
        raise DataError(f"split file {path} cannot be read: {exc.strerror}") from None
    if not text.strip():
        raise DataError(f"split file {path} is empty; expected {_SPLIT_SHAPE}")
    try:
        rows = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"split file {path} is not valid JSON ({exc.msg} at line {exc.lineno}); expected "
                        f"{_SPLIT_SHAPE}") from None
    if not isinstance(rows, list):
        raise DataError(f"split file {path} holds a JSON {type(rows).__name__}; expected {_SPLIT_SHAPE}")
    for i, row in enumerate(rows):
        missing = [k for k in ("scene_id", "image_id") if not isinstance(row, dict) or k not in row]
        if missing:
            raise DataError(f"split file {path}: row {i} lacks {', '.join(missing)}; expected {_SPLIT_SHAPE}")
    return rows


def read_depth(stem: Path) -> np.ndarray:
    """Metric depth (H, W) from depth_<id>.exr (NVIDIA's format), else a depth_<id>.npz (key `data`)."""
    exr = stem.with_suffix(".exr")
    if exr.exists():
        return read_depth_exr(exr)
    npz = stem.with_suffix(".npz")
    if npz.exists():
        return load_npz(npz).astype(np.float32)
    raise DataError(f"missing sample file {exr} (or {npz.name})")


def front3d_to_grid(volume: np.ndarray) -> np.ndarray:
    """Published 3D-FRONT orientation -> our (x, y, z) camera-grid convention (axes 0 and 1 reversed)."""
    return np.ascontiguousarray(volume[::-1, ::-1])


def load_frustum_mask(path: Path, dims: int, flip: bool = True) -> np.ndarray:
    """meta/frustum_mask.npz (key ``mask``) as a bool grid; ``flip`` undoes the 3D-FRONT orientation."""
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
    if mask.dtype != bool and not (np.issubdtype(mask.dtype, np.integer) and np.isin(mask, (0, 1)).all()):
        raise DataError(f"{path}: frustum mask must be bool or 0/1 integers (uint8), got {mask.dtype} values")
    return front3d_to_grid(mask.astype(bool)) if flip else mask.astype(bool)


class Front3DDataset(Dataset):
    """Samples of one split in the contract of docs/architecture.md."""

    layout = "front3d"

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
        self.frustum = self._global_frustum()
        self.label_lut = load_label_lut(options.resolve(options.label_map) if options.label_map else None,
                                        options.num_classes)

    def _global_frustum(self) -> np.ndarray | None:
        return load_frustum_mask(self.opt.resolve(self.opt.frustum_mask_path), self.opt.grid_dims)

    def __len__(self) -> int:
        return len(self.rows)

    def intrinsic_for(self, size: tuple[int, int]) -> np.ndarray:
        return scale_intrinsic(FRONT3D_INTRINSIC, NATIVE_SIZE, size)

    def read_frame(self, row: dict[str, Any]) -> Frame:
        """Decode the 3D-FRONT files of ``row`` (volumes flipped into our grid convention)."""
        files = front3d_files(self.root, row)
        image = read_rgb(files.rgb, self.layout)
        sem, ins = split_segmap(load_npz(files.segmap), files.segmap)

        def volumes_3d() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            sem3, ins3 = split_segmentation(load_npz(files.segmentation), files.segmentation)
            weighting = load_npz(files.weighting).astype(np.float32)
            return front3d_to_grid(sem3), front3d_to_grid(ins3), front3d_to_grid(weighting)

        return Frame(image=image, depth=read_depth(files.depth), semantic=sem, instance=ins,
                     intrinsic=self.intrinsic_for(image.size), frustum=self.frustum,
                     geometry=lambda: front3d_to_grid(load_npz(files.geometry)), volumes_3d=volumes_3d,
                     files=vars(files), meta={"scene_id": row["scene_id"], "image_id": row["image_id"]})

    def __getitem__(self, index: int) -> dict[str, Any]:
        return assemble_sample(self.opt, self.grid, self.read_frame(self.rows[index]), self.label_lut)


def read_rgb(path: Path, layout: str) -> Image.Image:
    """An RGB image (EXIF orientation applied); a missing file says which layout expected it."""
    try:
        return ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    except FileNotFoundError:
        raise DataError(f"missing sample file {path}{layout_hint(layout, path)}") from None
    except OSError as exc:
        raise DataError(f"unreadable image {path}: {exc}") from None
