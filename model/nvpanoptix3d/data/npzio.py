"""Deterministic .npz writing (numpy stamps zip members with the current time) and tolerant reading."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np

from nvpanoptix3d.data.categories import DataError

_EPOCH = (1980, 1, 1, 0, 0, 0)


def save_npz(path: Path, **arrays: np.ndarray) -> None:
    """Write a compressed npz byte-identically for identical arrays, atomically."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, array in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())
    os.replace(tmp, path)


def load_npz(path: Path, key: str = "data") -> np.ndarray:
    """Array ``key`` of an npz (else its first array); a clear DataError when missing or corrupt."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            names = list(npz.files)
            if not names:
                raise DataError(f"{path} holds no arrays")
            return npz[key] if key in names else npz[names[0]]
    except FileNotFoundError:
        raise DataError(f"missing sample file {path}") from None
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path} is not a readable .npz ({exc})") from None
