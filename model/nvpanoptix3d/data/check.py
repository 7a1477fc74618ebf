"""Dataset checker: layout, every referenced file, shapes and ranges, in plain words.

    python -m nvpanoptix3d.data.check DIR [--format front3d|matterport] [--downsample-factor N] [--grid G] [--json]

Exit 0 when the dataset is usable, 1 with one line per problem otherwise. Each problem names the file
(or spec key) and says what was expected and what was found. File names per layout: data/layouts.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from PIL import Image

from nvpanoptix3d.data.categories import DataError, load_colormap
from nvpanoptix3d.data.front3d import read_depth, read_split
from nvpanoptix3d.data.layouts import guess_layout, layout_hint, sample_files
from nvpanoptix3d.data.matterport import load_geometry, read_depth_png, read_intrinsic, read_room_mask
from nvpanoptix3d.data.npzio import load_npz

EXPECTED_DOWNSAMPLE = {"front3d": 1, "matterport": 2, "synthetic_hospital": 1, "synthetic_warehouse": 1}


@dataclass
class Problem:
    where: str
    message: str


def memory_estimate_gib(grid: int, channels: int = 64, batch: int = 1) -> float:
    """Dense float32 activations of one 3D feature volume of the grid, times the U-Net's ~6 live volumes."""
    return grid ** 3 * channels * 4 * 6 * batch / 2 ** 30


def _expected_downsample(fmt: str, downsample_factor: int | None, grid: int | None) -> list[Problem]:
    problems = []
    want = EXPECTED_DOWNSAMPLE[fmt]
    if downsample_factor is not None and downsample_factor != want:
        why = ("Matterport3D is evaluated on a grid downsampled by 2 (256^3 -> 128^3)" if fmt == "matterport"
               else "3D-FRONT and the synthetic sets are evaluated at full grid resolution")
        problems.append(Problem("dataset.downsample_factor",
                                f"Downsample factor mismatch: {fmt} needs downsample_factor={want}, got "
                                f"{downsample_factor} ({why}); set dataset.downsample_factor: {want}"))
    if downsample_factor and grid and grid % downsample_factor:
        problems.append(Problem("dataset.downsample_factor",
                                f"the {grid}^3 grid is not divisible by downsample_factor={downsample_factor}; "
                                "choose a grid (model.frustum3d.grid_dimensions) that is a multiple of it"))
    return problems


def _check_frustum_mask(path: Path, fmt: str, grid: int | None, problems: list[Problem]) -> tuple | None:
    """Shape of meta/frustum_mask.npz (None when absent or unusable); required for the 3D-FRONT layout only."""
    if not path.exists():
        if fmt != "matterport":
            problems.append(Problem(str(path), "Missing frustum mask: meta/frustum_mask.npz is required "
                                               "(a bool grid under key `mask`)"))
        return None
    try:
        with np.load(path) as npz:
            mask = npz["mask"]
    except (KeyError, ValueError, OSError) as exc:
        problems.append(Problem(str(path), f"unreadable frustum mask ({exc}); expected a bool grid under key `mask`"))
        return None
    if mask.ndim != 3 or len(set(mask.shape)) != 1:
        problems.append(Problem(str(path), f"frustum mask must be a cubic 3D grid, got shape {mask.shape}"))
    elif grid is not None and mask.shape[0] != grid:
        problems.append(Problem(str(path), f"frustum mask is {mask.shape[0]}^3 but the grid is {grid}^3 "
                                           "(model.frustum3d.grid_dimensions)"))
    if mask.dtype != bool:
        problems.append(Problem(str(path), f"frustum mask must be bool, got {mask.dtype}"))
    return mask.shape


def _image_size(path: Path, fmt: str, problems: list[Problem]) -> tuple[int, int] | None:
    try:
        with Image.open(path) as im:
            return im.size
    except FileNotFoundError:
        problems.append(Problem(str(path), f"missing sample file (the {fmt} RGB image){layout_hint(fmt, path)}"))
    except OSError as exc:
        problems.append(Problem(str(path), f"unreadable image ({exc})"))
    return None


def _check_sample(fmt: str, root: Path, row: dict, split_file: str, state: dict, problems: list[Problem]) -> None:
    """Every file of one sample: present, readable, shapes consistent with the image and the grid."""
    try:
        files = sample_files(fmt, root, row)
    except DataError as exc:
        problems.append(Problem(split_file, f"row {row}: {exc}"))
        return
    size = _image_size(files.rgb, fmt, problems)
    if size is not None and {"width", "height"} <= set(row) and (row["width"], row["height"]) != size:
        problems.append(Problem(str(files.rgb), f"image is {size[0]}x{size[1]} but {split_file} says "
                                                f"{row['width']}x{row['height']} (width x height)"))
    hw = (size[1], size[0]) if size else None
    try:
        depth = read_depth_png(files.depth) if fmt == "matterport" else read_depth(files.depth)
        if depth.ndim != 2 or not np.isfinite(depth).all() or (depth < 0).any():
            problems.append(Problem(str(files.depth), "depth must be a finite, non-negative (H, W) map in metres"))
        elif hw and depth.shape != hw:
            problems.append(Problem(str(files.depth), f"depth is {depth.shape[1]}x{depth.shape[0]}, expected "
                                                      f"{size[0]}x{size[1]} like {files.rgb.name}"))
    except DataError as exc:
        problems.append(Problem(str(files.depth), str(exc)))
    if fmt == "matterport" and size is not None:
        try:
            read_intrinsic(files.intrinsic, size)
        except DataError as exc:
            problems.append(Problem(str(files.intrinsic), str(exc)))
        try:
            read_room_mask(files.room_mask, size)
        except DataError as exc:
            problems.append(Problem(str(files.room_mask), str(exc)))
    try:
        seg = load_npz(files.segmap)
        if seg.ndim != 3 or seg.shape[-1] != 2:
            problems.append(Problem(str(files.segmap), f"expected (H, W, 2) semantic/instance, got {seg.shape}"))
        elif hw and seg.shape[:2] != hw:
            problems.append(Problem(str(files.segmap), f"2D segmentation is {seg.shape[1]}x{seg.shape[0]}, expected "
                                                       f"{size[0]}x{size[1]} like {files.rgb.name}"))
    except DataError as exc:
        problems.append(Problem(str(files.segmap), str(exc)))
    try:
        if fmt == "matterport":
            geo, frustum = load_geometry(files.geometry)
            if frustum is None and not state["global_mask"]:
                problems.append(Problem(str(files.geometry), "no `mask` array (bool, True outside the camera frustum) "
                                                             "and no meta/frustum_mask.npz to fall back on"))
        else:
            geo = load_npz(files.geometry)
        dims = state.setdefault("dims", geo.shape)
        if geo.ndim != 3 or len(set(geo.shape)) != 1:
            problems.append(Problem(str(files.geometry), f"expected a cubic (G, G, G) distance field, got {geo.shape}"))
        elif geo.shape != dims:
            problems.append(Problem(str(files.geometry), f"shape {geo.shape} differs from the frustum mask {dims}"))
    except DataError as exc:
        problems.append(Problem(str(files.geometry), str(exc)))
    dims = state.get("dims")
    for path, seg3d in ((files.segmentation, True), (files.weighting, False)):
        try:
            arr = load_npz(path)
        except DataError as exc:
            problems.append(Problem(str(path), str(exc)))
            continue
        if dims is None:
            continue
        if seg3d and arr.shape not in ((2, *dims), (*dims, 2)):
            problems.append(Problem(str(path), f"expected (2, {dims[0]}, {dims[1]}, {dims[2]}) semantic/instance, "
                                               f"got {arr.shape}"))
        elif not seg3d and arr.shape != dims:
            problems.append(Problem(str(path), f"shape {arr.shape} differs from the frustum mask {dims}"))


def _layout_mismatch(root: Path, fmt: str) -> Problem | None:
    """One clear problem when the scene folders follow the other layout than ``fmt`` (instead of one per file)."""
    for split in ("train", "val", "test"):
        try:
            rows = read_split(root / "meta" / f"{split}.json")
        except DataError:
            continue
        if not rows:
            continue
        scene = root / "data" / str(rows[0]["scene_id"])
        found = guess_layout(scene)
        family = "matterport" if fmt == "matterport" else "front3d"
        if found is None or found == family:
            return None
        if found == "front3d":
            return Problem(str(scene), f"--format {fmt} expects Matterport3D files (<name>_i<angle>_<rot>.jpg, "
                                       "<name>_intrinsics_<angle>.npy, depth_gen/...), but this scene holds 3D-FRONT "
                                       "files (rgb_<id>.png, depth_<id>.exr|npz): check it with --format front3d and "
                                       "set dataset.name: front3d, dataset.downsample_factor: 1")
        return Problem(str(scene), f"--format {fmt} expects 3D-FRONT files (rgb_<id>.png, depth_<id>.exr|npz), but "
                                   "this scene holds Matterport3D files (<name>_i<angle>_<rot>.jpg, "
                                   "<name>_intrinsics_<angle>.npy): check it with --format matterport and set "
                                   "dataset.name: matterport, dataset.downsample_factor: 2")
    return None


def check_dataset(root: Path, fmt: str = "front3d", *, downsample_factor: int | None = None,
                  grid: int | None = None, max_samples: int = 0) -> tuple[list[Problem], dict]:
    """All problems of the dataset at ``root`` in layout ``fmt`` (one per file and fault) and a summary."""
    root = Path(root)
    info: dict = {"root": str(root), "format": fmt, "samples": 0}
    if fmt not in EXPECTED_DOWNSAMPLE:
        return [Problem("--format", f"unknown format `{fmt}`; choose {', '.join(EXPECTED_DOWNSAMPLE)}")], info
    problems = _expected_downsample(fmt, downsample_factor, grid)
    if not root.is_dir():
        return problems + [Problem(str(root), "dataset folder does not exist")], info
    if not (root / "meta").is_dir():
        hint = (f"; {root.parent} has one — pass the dataset root, not its data/ folder"
                if (root.parent / "meta").is_dir() else "")
        return problems + [Problem(str(root / "meta"), "no meta/ folder: the dataset root must hold meta/{train,val,test}"
                                                       f".json, meta/colormap.json and data/<scene_id>/{hint}")], info
    wrong = _layout_mismatch(root, fmt)
    if wrong:
        return problems + [wrong], info
    dims = _check_frustum_mask(root / "meta" / "frustum_mask.npz", fmt, grid, problems)
    state: dict = {"global_mask": dims is not None}
    if dims is not None:
        state["dims"] = dims
    elif grid is not None:
        state["dims"] = (grid, grid, grid)
    try:
        info["categories"] = len(load_colormap(root / "meta" / "colormap.json"))
    except DataError as exc:
        problems.append(Problem("meta/colormap.json", str(exc)))
    for split in ("train", "val", "test"):
        path = root / "meta" / f"{split}.json"
        if not path.exists():
            if split != "test":
                problems.append(Problem(str(path), f"missing split file meta/{split}.json"))
            continue
        try:
            rows = read_split(path)
        except DataError as exc:
            problems.append(Problem(str(path), str(exc)))
            continue
        info[split] = len(rows)
        for row in rows[: max_samples or None]:
            info["samples"] += 1
            _check_sample(fmt, root, row, f"meta/{split}.json", state, problems)
    dims = state.get("dims")
    if dims is not None:
        if downsample_factor and downsample_factor == EXPECTED_DOWNSAMPLE[fmt]:
            problems += _expected_downsample(fmt, downsample_factor, dims[0])
        gib = memory_estimate_gib(dims[0])
        info["memory_estimate_gib"] = round(gib, 2)
        if gib > 40:
            info["advice"] = (f"3D stage needs about {gib:.0f} GiB per sample at {dims[0]}^3 with the dense backend: "
                              "reduce model.frustum3d.frustum_dims / grid_dimensions if you run out of GPU memory")
    return problems, info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nvpanoptix3d.data.check", description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--format", dest="fmt", default="front3d", choices=sorted(EXPECTED_DOWNSAMPLE))
    parser.add_argument("--downsample-factor", type=int, default=None)
    parser.add_argument("--grid", type=int, default=None)
    parser.add_argument("--max-samples", type=int, default=0, help="check at most this many samples per split")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    problems, info = check_dataset(args.root, args.fmt, downsample_factor=args.downsample_factor, grid=args.grid,
                                   max_samples=args.max_samples)
    if args.json:
        print(json.dumps({"ok": not problems, "problems": [asdict(p) for p in problems], **info}, indent=1))
    else:
        for p in problems:
            print(f"problem: {p.where}: {p.message}")
        if "advice" in info:
            print(f"advice: {info['advice']}")
        print(f"{'OK' if not problems else 'FAILED'}: {info['samples']} samples checked in {info['root']}"
              + (f", 3D memory ~{info['memory_estimate_gib']} GiB/sample" if "memory_estimate_gib" in info else ""))
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
