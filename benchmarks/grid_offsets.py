"""Voxel placement of our data path vs NVIDIA's lifting: the per-axis index offset, at the demo and NVIDIA sizes.

For every voxel NVIDIA's ``BackProjection`` keeps, its sample (pixel u, v and metric depth from the mapping) is
unprojected to a camera point, optionally moved by a random offset of less than half a voxel per axis. NVIDIA's
lifting stores that pixel's content at grid voxel ``v - 1`` (the occupancy-aware lifting's shift); our data
path puts the point at ``FrustumGrid.voxel_index``. Printed: mean / min / max of ours - NVIDIA's per axis, and
the share of points with exact agreement. Run: ``python benchmarks/grid_offsets.py [--old PATH_TO_OLD_frustum.py]``
(``--old`` measures another ``FrustumGrid`` implementation, e.g. an earlier revision, with the same points).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys

import numpy as np
import torch

from nvpanoptix3d.geometry import FRONT3D_INTRINSIC, FrustumGrid, scale_intrinsic
from nvpanoptix3d.network.frustum3d.back_projection import BackProjection

#: (name, grid D, voxel size m, K's image size, reduced size): the demo recipe and NVIDIA's 3D-FRONT setup.
CASES = (("demo 32^3 / 0.18 m, 160x120", 32, 0.18, (160, 120), (160, 120)),
         ("NVIDIA 256^3 / 0.03 m, 320x240 -> 160x120", 256, 0.03, (320, 240), (160, 120)))


def nvidia_samples(grid: FrustumGrid, *, max_points: int = 200_000, jitter: float = 0.0,
                   seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(camera points (N, 3) float64, NVIDIA's grid voxel (N, 3) int64) from ``BackProjection``'s mapping."""
    rw, rh = grid.reduced_size
    k = grid.reduced_intrinsic()
    bp = BackProjection(grid_dims=grid.dims[0], voxel_size=grid.voxel_size, depth_min=grid.depth_min,
                        depth_max=grid.depth_max, depth_size=(rh, rw))
    kept, mapping = bp(k[None])
    vox = kept[0].nonzero()
    rng = np.random.default_rng(seed)
    if len(vox) > max_points:
        vox = vox[torch.from_numpy(np.sort(rng.choice(len(vox), max_points, replace=False)))]
    rows = mapping[0][vox[:, 0], vox[:, 1], vox[:, 2]].double().numpy()  # (batch, u, v, z index, depth)
    u, v, z = rows[:, 1], rows[:, 2], rows[:, 4]
    kd = k.double().numpy()
    pts = np.stack([(u - kd[0, 2]) * z / kd[0, 0], (v - kd[1, 2]) * z / kd[1, 1], z], 1)
    if jitter:
        pts = pts + rng.uniform(-jitter, jitter, pts.shape) * grid.voxel_size
    return pts, vox.numpy().astype(np.int64) - 1


def offsets(grid: FrustumGrid, measured=None, **kw) -> dict:
    """Per-axis statistics of (our voxel - NVIDIA's voxel) for the points of ``grid``'s camera.

    ``measured`` (default ``grid``) is the object whose ``voxel_index`` / ``camera_to_grid`` are measured;
    ``centre`` is where NVIDIA's sample sits in our voxel, in voxels from its centre (0 = centred)."""
    measured = measured or grid
    pts, nv = nvidia_samples(grid, **kw)
    d = measured.voxel_index(pts)[0] - nv
    centre = measured.camera_to_grid(pts) - (nv + 0.5)
    return {"points": int(len(d)), "mean": d.mean(0).round(3).tolist(), "min": d.min(0).tolist(),
            "max": d.max(0).tolist(), "exact": round(float(np.all(d == 0, axis=1).mean()), 4),
            "centre": centre.mean(0).round(3).tolist()}


def _grid(d: int, s: float, size: tuple[int, int], reduced: tuple[int, int]) -> FrustumGrid:
    k = scale_intrinsic(FRONT3D_INTRINSIC, (320, 240), size)
    return FrustumGrid.cube(d, s, reduced_size=reduced).with_camera(k, size)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", help="path of another geometry/frustum.py whose FrustumGrid.cube(D, s) to measure")
    ap.add_argument("--jitter", type=float, default=0.45, help="random offset per axis, in voxels (< 0.5)")
    args = ap.parse_args()
    old = None
    if args.old:
        spec = importlib.util.spec_from_file_location("old_frustum", args.old)
        old = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = old  # dataclasses look their module up
        spec.loader.exec_module(old)
    report = {}
    for name, d, s, size, reduced in CASES:
        grid = _grid(d, s, size, reduced)
        other = old.FrustumGrid.cube(d, s) if old else None
        report[name] = {"samples": offsets(grid, other), "jittered": offsets(grid, other, jitter=args.jitter)}
    for name, r in report.items():
        print(name)
        for kind, st in r.items():
            print(f"  {kind:9s} {json.dumps(st)}")


if __name__ == "__main__":
    main()
