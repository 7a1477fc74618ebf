"""Dataset checker: layout, every referenced file, shapes and ranges, in plain words.

    python -m nvpanoptix3d.data.check DIR [--format front3d|matterport] [--downsample-factor N] [--grid G]
                                      [--split FILE ...] [--spec SPEC.yaml] [--json]

Exit 0 when the dataset is usable, 2 with one line per problem otherwise (never a traceback). Each
problem names the file (or spec key) and says what was expected and what was found. The split files are
the ``--split`` files, else the spec's ``dataset.<split>.json_path``, else ``meta/{train,val,test}.json``
(or, when those are absent, every other ``meta/*.json`` such as Uni-3D's ``train_3d.json``). File names
per layout: data/layouts.py.
"""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from PIL import Image

from nvpanoptix3d.data.categories import DataError, load_colormap
from nvpanoptix3d.data.front3d import read_depth, read_split
from nvpanoptix3d.data.layouts import guess_layout, layout_hint, sample_files
from nvpanoptix3d.data.matterport import load_geometry, read_depth_png, read_intrinsic, read_room_mask
from nvpanoptix3d.data.npzio import load_npz

EXPECTED_DOWNSAMPLE = {"front3d": 1, "matterport": 2, "synthetic_hospital": 1, "synthetic_warehouse": 1}
EXIT_OK, EXIT_PROBLEMS = 0, 2
_NOT_SPLITS = {"colormap.json", "synth_info.json"}


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
        with np.load(path, allow_pickle=False) as npz:
            mask = npz["mask"]
    except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        problems.append(Problem(str(path), f"unreadable frustum mask ({exc}); expected a bool grid under key `mask`"))
        return None
    if mask.ndim != 3 or len(set(mask.shape)) != 1:
        problems.append(Problem(str(path), f"frustum mask must be a cubic 3D grid, got shape {mask.shape}"))
    elif grid is not None and mask.shape[0] != grid:
        problems.append(Problem(str(path), f"frustum mask is {mask.shape[0]}^3 but the grid is {grid}^3 "
                                           "(model.frustum3d.grid_dimensions)"))
    if mask.dtype != bool and not (np.issubdtype(mask.dtype, np.integer) and np.isin(mask, (0, 1)).all()):
        problems.append(Problem(str(path), f"frustum mask must be bool or 0/1 integers (uint8), got {mask.dtype} "
                                           f"with values {np.unique(mask)[:5].tolist()}"))
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
    absent = [k for k in ("height", "width") if not isinstance(row.get(k), int) or isinstance(row.get(k), bool)]
    if absent:
        problems.append(Problem(split_file, f"row {row.get('scene_id')}/{row.get('image_id')}: "
                                            f"{' and '.join(absent)} must be {'integers' if len(absent) > 1 else 'an integer'} (NVIDIA's loader reads them)"))
    size = _image_size(files.rgb, fmt, problems)
    if size is not None and not absent and (row["width"], row["height"]) != size:
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


def default_splits(root: Path) -> list[Path]:
    """meta/{train,val,test}.json that exist (train and val are reported when missing), else every other
    meta/*.json (Uni-3D names them train_3d.json, val_3d.json, ...)."""
    meta = root / "meta"
    named = [meta / f"{s}.json" for s in ("train", "val", "test")]
    if any(p.exists() for p in named):
        return named
    others = sorted(p for p in meta.glob("*.json") if p.name not in _NOT_SPLITS)
    return others or named


def splits_from_spec(spec_path: Path, root: Path | None) -> tuple[dict[str, Any], list[Problem]]:
    """What the checker takes from an experiment spec: format, downsample factor, grid, split files, frustum
    mask, label map and the dataset root (relative paths resolve under the root)."""
    try:
        spec = yaml.safe_load(Path(spec_path).read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return {}, [Problem(str(spec_path), f"cannot read the spec ({exc})")]
    if not isinstance(spec, dict):
        return {}, [Problem(str(spec_path), "the spec must be a mapping")]
    ds = spec.get("dataset") if isinstance(spec.get("dataset"), dict) else {}
    f3d = ((spec.get("model") or {}).get("frustum3d") or {}) if isinstance(spec.get("model"), dict) else {}
    out: dict[str, Any] = {"fmt": ds.get("name"), "downsample_factor": ds.get("downsample_factor"),
                           "grid": f3d.get("grid_dimensions") if isinstance(f3d, dict) else None}
    bases = [str((ds.get(s) or {}).get("base_dir") or "") for s in ("train", "val", "test") if isinstance(ds.get(s), dict)]
    out["root"] = root or next((Path(b) for b in bases if b), None)

    def at_root(value: Any) -> Path | None:
        if not isinstance(value, str) or not value or value == "???":
            return None
        p = Path(value).expanduser()
        return p if p.is_absolute() or out["root"] is None else out["root"] / p

    out["splits"] = [p for p in (at_root((ds.get(s) or {}).get("json_path")) for s in ("train", "val", "test")
                                 if isinstance(ds.get(s), dict)) if p is not None]
    out["frustum_mask"] = at_root(ds.get("frustum_mask_path"))
    out["label_map"] = at_root(ds.get("label_map"))
    return out, []


def _layout_mismatch(root: Path, fmt: str, splits: list[Path]) -> Problem | None:
    """One clear problem when the scene folders follow the other layout than ``fmt`` (instead of one per file)."""
    for path in splits:
        try:
            rows = read_split(path)
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
                  grid: int | None = None, max_samples: int = 0, splits: list[Path] | None = None,
                  frustum_mask: Path | None = None, label_map: Path | None = None) -> tuple[list[Problem], dict]:
    """All problems of the dataset at ``root`` in layout ``fmt`` (one per file and fault) and a summary.

    ``splits``: the split files to check (default ``default_splits``); ``frustum_mask`` / ``label_map``:
    other files than meta/frustum_mask.npz and meta/colormap.json.
    """
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
    split_files = [Path(p) for p in splits] if splits else default_splits(root)
    wrong = _layout_mismatch(root, fmt, split_files)
    if wrong:
        return problems + [wrong], info
    dims = _check_frustum_mask(frustum_mask or root / "meta" / "frustum_mask.npz", fmt, grid, problems)
    state: dict = {"global_mask": dims is not None}
    if dims is not None:
        state["dims"] = dims
    elif grid is not None:
        state["dims"] = (grid, grid, grid)
    colormap = label_map or root / "meta" / "colormap.json"
    try:
        info["categories"] = len(load_colormap(colormap))
    except DataError as exc:
        problems.append(Problem(str(colormap) if label_map else "meta/colormap.json", str(exc)))
    info["splits"] = {}
    for path in split_files:
        if not path.exists():
            if splits or path.name != "test.json":
                problems.append(Problem(str(path), f"missing split file {path.name}"
                                        + ("" if splits else " (or pass the split files with --split)")))
            continue
        try:
            rows = read_split(path)
        except DataError as exc:
            problems.append(Problem(str(path), str(exc)))
            continue
        if not rows:
            problems.append(Problem(str(path), "the split lists no samples"))
        name = path.stem
        info[name] = info["splits"][str(path)] = len(rows)
        for row in rows[: max_samples or None]:
            info["samples"] += 1
            try:
                _check_sample(fmt, root, row, path.name, state, problems)
            except (OSError, ValueError, TypeError, EOFError, zipfile.BadZipFile) as exc:
                problems.append(Problem(f"{path.name}: {row.get('scene_id')}/{row.get('image_id')}",
                                        f"a sample file cannot be read ({type(exc).__name__}: {exc})"))
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
    parser.add_argument("root", type=Path, nargs="?", help="dataset root (default: the spec's base_dir)")
    parser.add_argument("--format", dest="fmt", default=None, choices=sorted(EXPECTED_DOWNSAMPLE),
                        help="layout (default: the spec's dataset.name, else front3d)")
    parser.add_argument("--downsample-factor", type=int, default=None)
    parser.add_argument("--grid", type=int, default=None)
    parser.add_argument("--max-samples", type=int, default=0, help="check at most this many samples per split")
    parser.add_argument("--split", action="append", type=Path, default=[],
                        help="a split file to check (repeatable; relative to the root when not found as given)")
    parser.add_argument("--spec", type=Path, default=None,
                        help="an experiment spec: its dataset.name, json_paths, frustum mask, label map, grid")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except Exception as exc:  # noqa: BLE001 - the checker reports, it never shows a traceback
        where = str(args.root or args.spec or ".")
        message = f"the checker stopped on an unexpected error: {type(exc).__name__}: {exc}"
        if args.json:
            print(json.dumps({"ok": False, "problems": [{"where": where, "message": message}]}, indent=1))
        else:
            print(f"problem: {where}: {message}")
        return EXIT_PROBLEMS


def _run(args: argparse.Namespace) -> int:
    from_spec: dict[str, Any] = {}
    problems: list[Problem] = []
    if args.spec is not None:
        from_spec, problems = splits_from_spec(args.spec, args.root)
    root = args.root or from_spec.get("root")
    fmt = args.fmt or from_spec.get("fmt") or "front3d"
    if fmt not in EXPECTED_DOWNSAMPLE:
        problems.append(Problem("dataset.name", f"unknown dataset family `{fmt}`; choose "
                                                f"{', '.join(EXPECTED_DOWNSAMPLE)}"))
        fmt = "front3d"
    info: dict[str, Any] = {"root": str(root), "format": fmt, "samples": 0}
    if root is None:
        problems.append(Problem("ROOT", "give the dataset root (or a --spec whose dataset.<split>.base_dir is set)"))
    else:
        root = Path(root)
        splits = [p if p.exists() or p.is_absolute() else root / p for p in args.split] or from_spec.get("splits")
        found, info = check_dataset(
            root, fmt, max_samples=args.max_samples, splits=splits or None,
            downsample_factor=args.downsample_factor if args.downsample_factor is not None
            else from_spec.get("downsample_factor"),
            grid=args.grid if args.grid is not None else from_spec.get("grid"),
            frustum_mask=from_spec.get("frustum_mask"), label_map=from_spec.get("label_map"))
        problems += found
    if args.json:
        print(json.dumps({"ok": not problems, "problems": [asdict(p) for p in problems], **info}, indent=1,
                         default=str))
    else:
        for p in problems:
            print(f"problem: {p.where}: {p.message}")
        if "advice" in info:
            print(f"advice: {info['advice']}")
        print(f"{'OK' if not problems else 'FAILED'}: {info['samples']} samples checked in {info['root']}"
              + (f", 3D memory ~{info['memory_estimate_gib']} GiB/sample" if "memory_estimate_gib" in info else ""))
    return EXIT_OK if not problems else EXIT_PROBLEMS


if __name__ == "__main__":
    sys.exit(main())
