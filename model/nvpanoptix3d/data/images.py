"""Inference inputs: every image under a folder (nested), with optional per-image intrinsics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch.utils.data import Dataset

from nvpanoptix3d.data.categories import DataError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def find_images(root: Path) -> list[Path]:
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"images folder {root} does not exist")
    found = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()
                   and not p.name.startswith("."))
    if not found:
        raise DataError(f"images folder {root} holds no images ({', '.join(IMAGE_EXTENSIONS)}, nested folders scanned)")
    return found


def _intrinsic_file(path: Path) -> np.ndarray | None:
    for cand in (path.with_name(f"{path.stem}_intrinsic.npy"), path.with_name(f"{path.stem}_intrinsic.txt")):
        if cand.exists():
            k = np.load(cand) if cand.suffix == ".npy" else np.loadtxt(cand)
            k = np.asarray(k, dtype=np.float32)
            if k.shape == (3, 3):
                k4 = np.eye(4, dtype=np.float32)
                k4[:3, :3] = k
                k = k4
            if k.shape != (4, 4):
                raise DataError(f"{cand}: intrinsics must be 3x3 or 4x4, got {k.shape}")
            return k
    return None


class ImageFolderDataset(Dataset):
    """Images resized to ``target_size`` (W, H); intrinsics from a sidecar file or ``default_intrinsic``."""

    def __init__(self, root: Path, target_size: tuple[int, int], default_intrinsic: np.ndarray,
                 default_size: tuple[int, int]) -> None:
        self.root = Path(root)
        self.paths = find_images(self.root)
        self.size = tuple(target_size)
        self.default_intrinsic = np.asarray(default_intrinsic, dtype=np.float32)
        self.default_size = tuple(default_size)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict:
        from nvpanoptix3d.geometry import scale_intrinsic  # noqa: PLC0415

        path = self.paths[index]
        try:
            image = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
        except (UnidentifiedImageError, OSError) as exc:
            raise DataError(f"unreadable image {path}: {exc}") from None
        k = _intrinsic_file(path)
        native = image.size
        if k is None:
            k, src, default = self.default_intrinsic, self.default_size, True
        else:
            src, default = native, False
        k = scale_intrinsic(k, src, self.size)
        image = image.resize(self.size, Image.BILINEAR)
        return {
            "image": torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).permute(2, 0, 1).contiguous(),
            "intrinsic": torch.from_numpy(k),
            "meta": {"path": str(path), "name": str(path.relative_to(self.root).with_suffix("")),
                     "default_intrinsic": default},
        }
