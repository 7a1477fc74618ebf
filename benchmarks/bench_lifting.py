"""Per-batch lifting time (the parameter-free ``FrustumLifter``: 2D panoptic inference -> BackProjection ->
occupancy-aware lifting + sparse projection -> fusion) with and without the BackProjection cache.

    python benchmarks/bench_lifting.py [--grid 64] [--voxel-size 0.1] [--batch 2] [--repeats 5] [--device cpu]

The 2D outputs are random (seeded) at the tiny preset's widths over 3D-FRONT's K (one K, one frustum mask, as a
3D-FRONT training run sees). ``uncached`` recomputes the voxel -> pixel map every batch (``back_projection_cache=0``);
``cached`` is the lifter's default after its first batch. Prints the median seconds per batch of each, the
BackProjection share, and checks both lifters give bitwise the same voxels.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from nvpanoptix3d.geometry import FRONT3D_INTRINSIC, FrustumGrid, scale_intrinsic
from nvpanoptix3d.network.frustum3d.lifter import FrustumLifter


def inputs(grid: int, voxel_size: float, batch: int, device: str, size=(320, 240), reduced=(160, 120),
           queries: int = 16, classes: int = 12, enc: int = 32, bins: int = 8) -> tuple:
    """(out2d, encoder, intrinsic, frustum, image size) of random 2D outputs over 3D-FRONT's camera."""
    g = torch.Generator().manual_seed(0)
    w, h = size
    k = torch.from_numpy(scale_intrinsic(FRONT3D_INTRINSIC, (320, 240), size)).float()
    mask = torch.from_numpy(FrustumGrid.cube(grid, voxel_size).frustum_mask(k.numpy(), size))
    out2d = {"pred_logits": torch.randn(batch, queries, classes + 1, generator=g) * 3,
             "pred_masks": torch.randn(batch, queries, h // 2, w // 2, generator=g) * 3,
             "pred_depth_half": 1.0 + 4.0 * torch.rand(batch, 1, h // 2, w // 2, generator=g),
             "pred_mp_occ": torch.randn(batch, bins, reduced[1], reduced[0], generator=g)}
    encoder = torch.randn(batch, enc, h // 4, w // 4, generator=g)
    out2d = {key: v.to(device) for key, v in out2d.items()}
    return (out2d, encoder.to(device), k[None].repeat(batch, 1, 1).to(device),
            mask[None].repeat(batch, 1, 1, 1).to(device), size)


def lifter(grid: int, voxel_size: float, cache: int, reduced=(160, 120)) -> FrustumLifter:
    return FrustumLifter(grid_dims=grid, voxel_size=voxel_size, reduced_size=reduced, num_thing_classes=9,
                         object_mask_threshold=0.0, back_projection_cache=cache).eval()


def timed(fn, repeats: int, device: str) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        out = fn()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", type=int, default=64)
    ap.add_argument("--voxel-size", type=float, default=0.1)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    args_in = inputs(args.grid, args.voxel_size, args.batch, args.device)
    rows = {}
    with torch.no_grad():
        for name, cache in (("uncached", 0), ("cached", 4)):
            lift = lifter(args.grid, args.voxel_size, cache)
            lift(*args_in)  # warm-up (the cached lifter's first batch fills its cache)
            rows[name] = timed(lambda lift=lift: lift(*args_in), args.repeats, args.device)
        bp = lifter(args.grid, args.voxel_size, 0).back_projection
        k_reduced = scale_intrinsic(args_in[2], args_in[4], (160, 120))
        bp_s, _ = timed(lambda: bp(k_reduced, args_in[3], image_shape=(120, 160)), args.repeats, args.device)
    (t0, x0), (t1, x1) = rows["uncached"], rows["cached"]
    same = torch.equal(x0.coords, x1.coords) and torch.equal(x0.feats, x1.feats)
    print(f"grid {args.grid}^3, voxel {args.voxel_size} m, batch {args.batch}, device {args.device}, "
          f"{torch.get_num_threads()} thread(s), {x0.coords.shape[0]} lifted voxels")
    print(f"lifting per batch: uncached {t0:.3f} s, cached {t1:.3f} s ({t0 / t1:.2f}x); "
          f"BackProjection alone {bp_s:.3f} s per batch; outputs bitwise equal: {same}")


if __name__ == "__main__":
    main()
