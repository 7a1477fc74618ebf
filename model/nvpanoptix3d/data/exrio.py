"""3D-FRONT depth maps as OpenEXR files (``depth_<id>.exr``), through the OpenEXR project's own bindings.

NVIDIA's loader reads them with pyexr and squeezes the channel axis, so a depth map is one float channel
(named ``Y``, the name pyexr gives a single-channel image) in metres. We write exactly that (ZIP
compressed, no time stamps: byte-identical for identical arrays) and read any single-channel or
greyscale-in-RGB file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from nvpanoptix3d.data.categories import DataError

_PREFERRED = ("Y", "Z", "depth", "R", "RGB", "RGBA")


def write_depth_exr(path: str | Path, depth: np.ndarray) -> None:
    """Write an (H, W) float depth map in metres as a single-channel float32 EXR, atomically."""
    import OpenEXR  # noqa: PLC0415 - only the data tools need it

    path = Path(path)
    array = np.ascontiguousarray(np.asarray(depth, dtype=np.float32))
    if array.ndim != 2:
        raise ValueError(f"depth must be (H, W), got shape {array.shape}")
    tmp = path.with_name(f".{path.stem}.tmp.exr")
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    with OpenEXR.File(header, {"Y": array}) as exr:
        exr.write(str(tmp))
    os.replace(tmp, path)


def read_depth_exr(path: str | Path) -> np.ndarray:
    """The (H, W) float32 depth of an EXR file; a DataError names the file when it is missing or unreadable."""
    try:
        import OpenEXR  # noqa: PLC0415
    except ImportError:  # a broken install: the dependency is declared in pyproject.toml
        raise DataError(f"{path} is an EXR depth map and the OpenEXR package is missing: pip install OpenEXR") \
            from None
    path = Path(path)
    if not path.is_file():
        raise DataError(f"missing sample file {path}")
    try:
        with OpenEXR.File(str(path)) as exr:
            channels = {name: ch.pixels for name, ch in exr.channels().items()}
    except (RuntimeError, OSError, ValueError) as exc:
        raise DataError(f"{path} is not a readable OpenEXR depth map ({exc})") from None
    if not channels:
        raise DataError(f"{path} holds no image channels")
    name = next((n for n in _PREFERRED if n in channels), sorted(channels)[0])
    pixels = np.asarray(channels[name])
    if pixels.ndim == 3:
        pixels = pixels[..., 0]
    return pixels.astype(np.float32)
