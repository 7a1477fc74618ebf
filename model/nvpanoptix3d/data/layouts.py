"""File naming of one sample in each on-disk layout (3D-FRONT, Matterport3D), in one place.

The loaders, the checker and the synthetic generator all ask this module where a sample's files are,
so the three cannot disagree about a name. Layouts are described in ``docs/data-format.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nvpanoptix3d.data.categories import DataError

FRONT3D_FAMILY = ("front3d", "synthetic_hospital", "synthetic_warehouse")
LAYOUTS = (*FRONT3D_FAMILY, "matterport")


@dataclass(frozen=True)
class SampleFiles:
    """Every file of one sample. ``depth`` of 3D-FRONT names the ``.exr``; a ``.npz`` sibling is read when no
    ``.exr`` exists (datasets written by older versions of our generator)."""

    rgb: Path
    depth: Path
    segmap: Path
    geometry: Path
    segmentation: Path
    weighting: Path
    intrinsic: Path | None = None  # Matterport: per-image camera
    room_mask: Path | None = None  # Matterport: optional, pixels of the room the camera stands in


def split_matterport_id(image_id: str) -> tuple[str, str, str]:
    """``<name>_<angle>_<rot>`` -> (name, angle, rot); the name itself may contain underscores."""
    parts = str(image_id).rsplit("_", 2)
    if len(parts) != 3 or not all(parts):
        raise DataError(f"matterport image_id {image_id!r} must look like <name>_<angle>_<rot> "
                        "(e.g. b7016dcb34d747d2b18281748a257f5a_1_4)")
    return parts[0], parts[1], parts[2]


def front3d_files(root: Path, row: dict[str, Any]) -> SampleFiles:
    """A row's files; its optional ``file_name`` names the RGB image (as NVIDIA's loader honours it),
    absolute or relative to the dataset root."""
    scene = Path(root) / "data" / str(row["scene_id"])
    img = row["image_id"]
    rgb = scene / f"rgb_{img}.png"
    if isinstance(row.get("file_name"), str) and row["file_name"]:
        named = Path(row["file_name"]).expanduser()
        rgb = named if named.is_absolute() else Path(root) / named
    return SampleFiles(rgb=rgb, depth=scene / f"depth_{img}.exr",
                       segmap=scene / f"segmap_{img}.mapped.npz", geometry=scene / f"geometry_{img}.npz",
                       segmentation=scene / f"segmentation_{img}.mapped.npz", weighting=scene / f"weighting_{img}.npz")


def matterport_files(root: Path, row: dict[str, Any]) -> SampleFiles:
    root = Path(root)
    sid = str(row["scene_id"])
    name, angle, rot = split_matterport_id(row["image_id"])
    scene = root / "data" / sid
    return SampleFiles(
        rgb=scene / f"{name}_i{angle}_{rot}.jpg",
        depth=root / "depth_gen" / sid / f"{name}_d{angle}_{rot}.png",
        segmap=scene / f"{name}_segmap{angle}_{rot}.mapped.npz",
        geometry=scene / f"{name}_geometry{angle}_{rot}.npz",
        segmentation=scene / f"{name}_segmentation{angle}_{rot}.mapped.npz",
        weighting=scene / f"{name}_weighting{angle}_{rot}.npz",
        intrinsic=scene / f"{name}_intrinsics_{angle}.npy",
        room_mask=root / "room_mask" / sid / f"{name}_rm{angle}_{rot}.png",
    )


def sample_files(layout: str, root: Path, row: dict[str, Any]) -> SampleFiles:
    if layout == "matterport":
        return matterport_files(root, row)
    if layout in FRONT3D_FAMILY:
        return front3d_files(root, row)
    raise DataError(f"unknown dataset layout {layout!r}; expected one of {', '.join(LAYOUTS)}")


def guess_layout(scene_dir: Path) -> str | None:
    """Which layout the files of one scene folder follow (None when neither is recognisable)."""
    scene_dir = Path(scene_dir)
    if not scene_dir.is_dir():
        return None
    names = [p.name for p in scene_dir.iterdir()]
    if any(n.startswith("rgb_") and n.endswith(".png") for n in names):
        return "front3d"
    if any("_intrinsics_" in n and n.endswith(".npy") for n in names) or \
            any("_i" in n and n.endswith(".jpg") for n in names):
        return "matterport"
    return None


def layout_hint(layout: str, missing: Path) -> str:
    """A sentence to add when ``missing`` is absent because the data follows the other layout."""
    found = guess_layout(missing.parent) if missing.parent.name != "depth_gen" else None
    if layout == "matterport" and found == "front3d":
        return (" — this scene folder follows the 3D-FRONT layout (rgb_<id>.png ...): set dataset.name: front3d "
                "(checker: --format front3d)")
    if layout in FRONT3D_FAMILY and found == "matterport":
        return (" — this scene folder follows the Matterport3D layout (<name>_i<angle>_<rot>.jpg ...): set "
                "dataset.name: matterport and dataset.downsample_factor: 2 (checker: --format matterport)")
    return ""
