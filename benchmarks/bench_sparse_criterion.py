"""3D losses of the sparse backend: on its voxels (sparse criterion) vs densified outputs + the dense criterion.

    python benchmarks/bench_sparse_criterion.py [--grid 64 128] [--queries 32] [--occupancy 5]

The outputs have the layout of NVIDIA's completion ``FrustumDecoder`` on our sparse layers: occupancy and
per-query mask logits at 1/4 resolution on every frustum voxel (its dense level; the frustum is the whole
grid here), at 1/2 and full resolution on a band of active voxels (a smooth random surface, ``--occupancy``
% of the grid), geometry on the full-resolution voxels. The targets are dense volumes as the data loader
gives them (occupancy per level, geometry, weighting, frustum, 8 instance masks, 4 matched queries). Each
configuration runs forward + backward of the losses in its own process; it prints time and the growth of
the peak resident set (VmHWM) over the set-up, and the dense / sparse ratios. The densified path
(``densify`` + ``SetCriterion3D``) holds a (queries x grid) volume per level, the sparse one (queries x
active voxels).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import torch
from bench_sparse3d import _surface_band
from procmem import reset_peak_rss, status_mib


def _one(mode: str, grid: int, percent: float, queries: int) -> dict:
    from nvpanoptix3d.network.frustum3d import SetCriterion3D  # noqa: PLC0415
    from nvpanoptix3d.network.frustum3d.densify import densify  # noqa: PLC0415
    from nvpanoptix3d.network.frustum3d.sparse import SparseTensor  # noqa: PLC0415

    torch.manual_seed(0)
    band = _surface_band(grid, percent)
    # coarse -> fine active sets: the dense 1/4 level's frustum voxels (all of them), then the band
    levels = [torch.ones_like(F_max(band, 4)), F_max(band, 2), band]

    def sparse_level(mask: torch.Tensor, channels: int) -> SparseTensor:
        coords = mask.nonzero()
        feats = torch.randn(coords.shape[0], channels, requires_grad=True)
        return SparseTensor(coords, feats, tuple(mask.shape[1:]), 1)

    out = {"occupancy": [sparse_level(m, 1) for m in levels], "masks_3d": [sparse_level(m, queries) for m in levels]}
    out["geometry"] = out["occupancy"][-1].replace((torch.rand(int(levels[-1].sum()), 1) * 3).requires_grad_())
    inst = torch.zeros(8, grid, grid, grid, dtype=torch.bool)
    for i in range(8):
        inst[i, i * grid // 8:(i + 1) * grid // 8] = band[0, i * grid // 8:(i + 1) * grid // 8]
    batch = {"frustum_mask": torch.ones(1, grid, grid, grid, dtype=torch.bool),
             "weighting": torch.rand(1, grid, grid, grid) + 0.5,
             "occupancy": [[band[0].float(), F_max(band, 2)[0].float(), F_max(band, 4)[0].float()]],
             "geometry": torch.rand(1, grid, grid, grid) * 3, "gt_masks_3d": [inst]}
    indices = [(torch.arange(4), torch.arange(4))]
    crit = SetCriterion3D()

    def step() -> float:
        outputs = {"sparse_3d": out} if mode == "sparse" else densify(out, 3.0)
        loss = crit(outputs, batch, indices)["loss_3d"]
        loss.backward()
        return float(loss)

    reset_peak_rss()
    base = status_mib("VmRSS")
    value = step()
    peak = status_mib("VmHWM") - base
    times = []
    for _ in range(2):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return {"voxels": int(band.sum()), "time_s": min(times), "peak_mb": max(peak, 0.0), "loss": value}


def F_max(mask: torch.Tensor, factor: int) -> torch.Tensor:  # noqa: N802
    return torch.nn.functional.max_pool3d(mask[:, None].float(), factor)[:, 0] > 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--grid", type=int, nargs="+", default=[64, 128])
    p.add_argument("--queries", type=int, default=32)
    p.add_argument("--occupancy", type=float, default=5.0, help="percent of the grid")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    p.add_argument("--_child", nargs=2, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    if a._child:
        print(json.dumps(_one(a._child[0], int(a._child[1]), a.occupancy, a.queries)))
        return 0
    print(f"3D losses forward + backward, {a.queries} queries, {a.occupancy:g}% occupancy, "
          f"CPU ({torch.get_num_threads()} threads)")
    print(f"{'grid':>6} {'voxels':>8} | {'dense s':>8} {'dense MB':>9} | {'sparse s':>8} {'sparse MB':>9} | "
          f"{'time x':>7} {'mem x':>7} | loss equal")
    for grid in a.grid:
        res = {}
        for mode in ("dense", "sparse"):
            cmd = [sys.executable, __file__, "--queries", str(a.queries), "--occupancy", str(a.occupancy),
                   "--threads", str(a.threads), "--_child", mode, str(grid)]
            done = subprocess.run(cmd, capture_output=True, text=True, check=True)
            res[mode] = json.loads(done.stdout.splitlines()[-1])
        d, s = res["dense"], res["sparse"]
        same = abs(d["loss"] - s["loss"]) <= 1e-4 * max(1.0, abs(d["loss"]))
        print(f"{grid:>5}³ {s['voxels']:>8d} | {d['time_s']:>8.3f} {d['peak_mb']:>9.1f} | {s['time_s']:>8.3f} "
              f"{s['peak_mb']:>9.1f} | {d['time_s'] / s['time_s']:>6.1f}x "
              f"{d['peak_mb'] / max(s['peak_mb'], 1e-3):>6.1f}x | {same}")
    print("x = dense / sparse (> 1: the sparse criterion is cheaper)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
