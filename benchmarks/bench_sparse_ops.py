"""Dispatched operations per 3D completion training step, sparse vs dense execution (a proxy for GPU launch cost).

    python benchmarks/bench_sparse_ops.py [--grid 64] [--occupancy 5] [--features 8]

On a GPU every dispatched op is at least one kernel launch, and the sparse execution also synchronises with
the host (``nonzero`` / ``.tolist()`` to build and split its kernel maps: one set per layer kind and voxel
set, cached on the coordinates). The network, input and voxel sets are ``bench_sparse3d.py``'s (NVIDIA's
``FrustumDecoder`` on our sparse layers vs the same weights as masked dense convolutions, a surface band of
``--occupancy`` % of the grid, one forward + backward). Counts come from ``torch.profiler`` on the CPU (the op
graph is the same on both devices); wall time is in ``bench_sparse3d.py``. The global convolution-algorithm
switch (``set_conv_algorithm``) does not apply: the completion's layers always run per-offset kernel maps.
"""

from __future__ import annotations

import argparse

import torch
from bench_sparse3d import _surface_band, build_decoder, training_step
from torch.profiler import ProfilerActivity, profile

SYNCS = ("aten::nonzero", "aten::_local_scalar_dense", "aten::unique_dim", "aten::_unique2")


def _count(execution: str, grid: int, percent: float, features: int, input_dims: tuple[int, ...]) -> dict[str, int]:
    band = _surface_band(grid, percent)
    feats = torch.randn(int(band.sum()), sum(input_dims), generator=torch.Generator().manual_seed(2))
    net = build_decoder(execution, input_dims, features, grid)
    step = training_step(execution, net, band, feats)
    step()
    net.zero_grad(set_to_none=True)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
    counts = {e.key: e.count for e in prof.key_averages()}
    # aten::mm and aten::matmul nest (matmul dispatches mm): count the innermost GEMM kernels only
    gemm = sum(counts.get(k, 0) for k in ("aten::mm", "aten::addmm", "aten::bmm"))
    return {"ops": sum(c for k, c in counts.items() if k.startswith("aten::")), "gemm": gemm,
            "conv": counts.get("aten::convolution", 0) + counts.get("aten::convolution_backward", 0),
            "scatter": counts.get("aten::index_add_", 0) + counts.get("aten::index_put_", 0),
            "sync": sum(counts.get(k, 0) for k in SYNCS), "voxels": int(band.sum())}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--grid", type=int, default=64)
    p.add_argument("--occupancy", type=float, default=5.0, help="percent of the grid")
    p.add_argument("--features", type=int, default=8)
    p.add_argument("--input-dims", type=int, nargs="+", default=[2, 16, 13, 16])
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = default; counts do not depend on it)")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    dims = tuple(a.input_dims)
    res = {ex: _count(ex, a.grid, a.occupancy, a.features, dims) for ex in ("sparse", "dense")}
    print(f"3D completion training step, grid {a.grid}^3, {res['sparse']['voxels']} lifted voxels "
          f"({a.occupancy:g}%), features {a.features}, input dims {dims}")
    print(f"{'execution':<10}{'aten ops':>10}{'GEMMs':>8}{'convs':>8}{'scatters':>10}{'host syncs':>12}")
    for ex, r in res.items():
        print(f"{ex:<10}{r['ops']:>10d}{r['gemm']:>8d}{r['conv']:>8d}{r['scatter']:>10d}{r['sync']:>12d}")
    print(f"sparse / dense: {res['sparse']['ops'] / res['dense']['ops']:.1f}x the dispatched ops "
          "(convs: dense convolution kernels incl. backward; host syncs: nonzero / item / unique)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
