"""Dispatched operations per sparse 3D training step, per convolution algorithm (a proxy for GPU launch cost).

    python benchmarks/bench_sparse_ops.py [--grid 64] [--occupancy 5]

On a GPU every dispatched op is at least one kernel launch, and the per-offset ``pairs`` algorithm also
synchronises with the host to split its kernel map; the ``neighbors`` algorithm (one gather + one GEMM
per layer) is what ``auto`` picks on CUDA. Counts come from ``torch.profiler`` on the CPU (the op graph is
the same on both devices); wall time is in ``bench_sparse3d.py``.
"""

from __future__ import annotations

import argparse

import torch
from bench_sparse3d import _surface_band
from torch.profiler import ProfilerActivity, profile


def _count(algorithm: str, grid: int, percent: float) -> dict[str, int]:
    from nvpanoptix3d.network.frustum3d.sparse import SparseTensor  # noqa: PLC0415
    from nvpanoptix3d.network.frustum3d.sparse.conv import set_conv_algorithm  # noqa: PLC0415
    from nvpanoptix3d.network.frustum3d.sparse_completion import SparseFrustumCompletion  # noqa: PLC0415

    set_conv_algorithm(algorithm)
    torch.manual_seed(0)
    band = _surface_band(grid, percent)
    coords = band.nonzero()
    feats = torch.randn(coords.shape[0], 16)
    occ = [[band[0].float(), torch.zeros((grid // 2,) * 3), torch.zeros((grid // 4,) * 3)]]
    queries = torch.randn(1, 8, 32)
    net = SparseFrustumCompletion(in_channels=16, features=8, query_dim=32, max_voxels=grid ** 3,
                                  prune_threshold=1.0).train()

    def step() -> None:
        out = net(SparseTensor(coords, feats, (grid,) * 3, 1), queries, torch.ones_like(band), occ)
        (sum(o.feats.sum() for o in out["occupancy"]) + out["geometry"].feats.sum()).backward()

    step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
    counts = {e.key: e.count for e in prof.key_averages()}
    return {"ops": sum(c for k, c in counts.items() if k.startswith("aten::")), "mm": counts.get("aten::mm", 0),
            "scatter": counts.get("aten::index_add_", 0), "voxels": int(coords.shape[0])}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--grid", type=int, default=64)
    p.add_argument("--occupancy", type=float, default=5.0, help="percent of the grid")
    a = p.parse_args(argv)
    res = {algo: _count(algo, a.grid, a.occupancy) for algo in ("pairs", "neighbors")}
    print(f"sparse 3D training step, grid {a.grid}^3, {res['pairs']['voxels']} lifted voxels ({a.occupancy:g}%)")
    print(f"{'algorithm':<10}{'aten ops':>10}{'GEMMs':>8}{'scatters':>10}")
    for algo, r in res.items():
        print(f"{algo:<10}{r['ops']:>10d}{r['mm']:>8d}{r['scatter']:>10d}")
    print(f"pairs / neighbors: {res['pairs']['ops'] / res['neighbors']['ops']:.1f}x the dispatched ops")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
