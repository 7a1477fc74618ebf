"""Dataset checker: layout, every referenced file, shapes and ranges, in plain words.

    python -m nvpanoptix3d.data.check DIR [--format front3d] [--downsample-factor N] [--grid G] [--json]

Exit 0 when the dataset is usable, 1 with one line per problem otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from nvpanoptix3d.data.categories import DataError, load_colormap
from nvpanoptix3d.data.front3d import read_depth, read_split
from nvpanoptix3d.data.npzio import load_npz

EXPECTED_DOWNSAMPLE = {"front3d": 1, "matterport": 2, "synthetic_hospital": 1, "synthetic_warehouse": 1}


@dataclass
class Problem:
    where: str
    message: str


def memory_estimate_gib(grid: int, channels: int = 64, batch: int = 1) -> float:
    """Dense float32 activations of one 3D feature volume of the grid, times the U-Net's ~6 live volumes."""
    return grid ** 3 * channels * 4 * 6 * batch / 2 ** 30


def check_dataset(root: Path, fmt: str = "front3d", *, downsample_factor: int | None = None,
                  grid: int | None = None, max_samples: int = 0) -> tuple[list[Problem], dict]:
    root = Path(root)
    problems: list[Problem] = []
    info: dict = {"root": str(root), "format": fmt, "samples": 0}
    if fmt not in EXPECTED_DOWNSAMPLE:
        return [Problem("--format", f"unknown format `{fmt}`; choose {', '.join(EXPECTED_DOWNSAMPLE)}")], info
    if downsample_factor is not None and downsample_factor != EXPECTED_DOWNSAMPLE[fmt]:
        problems.append(Problem("dataset.downsample_factor",
                                f"Downsample factor mismatch: {fmt} needs downsample_factor={EXPECTED_DOWNSAMPLE[fmt]}, "
                                f"got {downsample_factor} (2 for Matterport3D, 1 for 3D-FRONT and the synthetic sets)"))
    if not root.is_dir():
        return problems + [Problem(str(root), "dataset folder does not exist")], info
    mask_path = root / "meta" / "frustum_mask.npz"
    dims = None
    if not mask_path.exists():
        problems.append(Problem(str(mask_path), "Missing frustum mask: meta/frustum_mask.npz is required "
                                                "(a bool grid under key `mask`)"))
    else:
        try:
            with np.load(mask_path) as npz:
                mask = npz["mask"]
            dims = mask.shape
            if mask.ndim != 3 or len(set(mask.shape)) != 1:
                problems.append(Problem(str(mask_path), f"frustum mask must be a cubic 3D grid, got shape {mask.shape}"))
            elif grid is not None and mask.shape[0] != grid:
                problems.append(Problem(str(mask_path), f"frustum mask is {mask.shape[0]}^3 but the grid is {grid}^3 "
                                                        "(model.frustum3d.grid_dimensions)"))
            if mask.dtype != bool:
                problems.append(Problem(str(mask_path), f"frustum mask must be bool, got {mask.dtype}"))
        except (KeyError, ValueError, OSError) as exc:
            problems.append(Problem(str(mask_path), f"unreadable frustum mask ({exc}); expected key `mask`"))
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
            base = root / "data" / row["scene_id"]
            img = row["image_id"]
            rgb = base / f"rgb_{img}.png"
            if not rgb.exists():
                problems.append(Problem(str(rgb), "missing sample file"))
            try:
                depth = read_depth(base / f"depth_{img}")
                if depth.ndim != 2 or not np.isfinite(depth).all() or (depth < 0).any():
                    problems.append(Problem(f"{base}/depth_{img}", "depth must be a finite, non-negative (H, W) map"))
            except DataError as exc:
                problems.append(Problem(f"{base}/depth_{img}", str(exc)))
            for name, want in ((f"segmap_{img}.mapped.npz", "2d"), (f"geometry_{img}.npz", "3d"),
                               (f"segmentation_{img}.mapped.npz", "seg3d"), (f"weighting_{img}.npz", "3d")):
                try:
                    arr = load_npz(base / name)
                except DataError as exc:
                    problems.append(Problem(str(base / name), str(exc)))
                    continue
                if want == "2d" and (arr.ndim != 3 or arr.shape[-1] != 2):
                    problems.append(Problem(str(base / name), f"expected (H, W, 2) semantic/instance, got {arr.shape}"))
                elif want == "3d" and dims is not None and arr.shape != dims:
                    problems.append(Problem(str(base / name), f"shape {arr.shape} differs from the frustum mask {dims}"))
                elif want == "seg3d" and dims is not None and arr.shape not in ((2, *dims), (*dims, 2)):
                    problems.append(Problem(str(base / name), f"expected (2, {dims[0]}, ...) semantic/instance, got {arr.shape}"))
    if dims is not None:
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
