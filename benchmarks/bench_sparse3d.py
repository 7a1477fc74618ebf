"""3D stage cost, sparse vs dense, at several occupancy levels: one training step (forward + backward).

    python benchmarks/bench_sparse3d.py [--grid 64] [--occupancy 1 5 20] [--features 8] [--device cpu|cuda]
                                        [--algorithm auto|pairs|neighbors]

The input is a band of lifted voxels around a random smooth depth surface (what lifting produces): its
thickness sets the occupancy (% of the grid). Both networks have the same layer sizes (features,
in_channels, queries); the sparse one runs the ``sparse`` backend (pure PyTorch) in training mode with the
band as its occupancy target and ``prune_threshold=1`` so exactly the target voxels (and their ancestors)
are kept, i.e. its cost follows the occupied voxels. Every configuration runs in its own process so the
peak memory is its own: CUDA ``torch.cuda.max_memory_allocated``; CPU the growth of the peak resident set
(VmHWM, reset after the set-up) over the resident set after the set-up. Prints time and memory per backend and the dense / sparse ratios.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import torch
from procmem import reset_peak_rss, status_mib


def _surface_band(grid: int, percent: float, seed: int = 0) -> torch.Tensor:
    """(1, G, G, G) bool: voxels within a half-thickness of a smooth random depth surface z = f(x, y)."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(1, 1, 4, 4, generator=g)
    depth = torch.nn.functional.interpolate(low, size=(grid, grid), mode="bicubic", align_corners=True)[0, 0]
    depth = (0.3 + 0.4 * depth.clamp(0, 1)) * grid
    z = torch.arange(grid).float()
    thickness = max(percent / 100.0 * grid, 1.0)
    return ((z[None, None] - depth[..., None]).abs() < thickness / 2)[None]


def _one(backend: str, grid: int, percent: float, features: int, channels: int, repeats: int, device: str,
         algorithm: str = "auto") -> dict:
    from nvpanoptix3d.network.frustum3d.completion import FrustumCompletion  # noqa: PLC0415
    from nvpanoptix3d.network.frustum3d.sparse.conv import set_conv_algorithm  # noqa: PLC0415
    from nvpanoptix3d.network.frustum3d.sparse import SparseTensor  # noqa: PLC0415
    from nvpanoptix3d.network.frustum3d.sparse_completion import SparseFrustumCompletion  # noqa: PLC0415

    set_conv_algorithm(algorithm)
    torch.manual_seed(0)
    dev = torch.device(device)
    band = _surface_band(grid, percent).to(dev)
    frustum = torch.ones_like(band)
    queries = torch.randn(1, 8, 32, device=dev)
    coords = band.nonzero()
    feats = torch.randn(coords.shape[0], channels, device=dev)
    if backend == "dense":
        net = FrustumCompletion(in_channels=channels, features=features, query_dim=32).to(dev).train()
        volume = torch.zeros(1, grid, grid, grid, channels, device=dev)
        volume[tuple(coords.T)] = feats
        volume = volume.permute(0, 4, 1, 2, 3).contiguous()

        def step():
            out = net(volume, queries)
            loss = sum(o.sum() for o in out["pred_occupancy"]) + out["pred_geometry"].sum() \
                + sum(m.sum() for m in out["pred_masks_3d"])
            loss.backward()
    else:
        net = SparseFrustumCompletion(in_channels=channels, features=features, query_dim=32, backend=backend,
                                      max_voxels=grid ** 3, prune_threshold=1.0).to(dev).train()
        occ = [[band[0].float(), torch.zeros(grid // 2, grid // 2, grid // 2, device=dev),
                torch.zeros(grid // 4, grid // 4, grid // 4, device=dev)]]

        def step():
            x = SparseTensor(coords, feats, (grid, grid, grid), 1)
            out = net(x, queries, frustum, occ)
            loss = sum(o.feats.sum() for o in out["occupancy"]) + out["geometry"].feats.sum() \
                + sum(m.feats.sum() for m in out["masks_3d"])
            loss.backward()
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    reset_peak_rss()
    base = status_mib("VmRSS")
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base_cuda = torch.cuda.memory_allocated()
    step()  # warm-up (also the memory peak: later steps reuse the same sizes)
    sync()
    times = []
    for _ in range(repeats):
        net.zero_grad(set_to_none=True)
        t0 = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t0)
    peak = (torch.cuda.max_memory_allocated() - base_cuda) / 2**20 if dev.type == "cuda" else \
        status_mib("VmHWM") - base
    return {"voxels": int(coords.shape[0]), "time_s": min(times), "peak_mb": max(peak, 0.0)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--grid", type=int, default=64)
    p.add_argument("--occupancy", type=float, nargs="+", default=[1.0, 5.0, 20.0], help="percent of the grid")
    p.add_argument("--features", type=int, default=8, help="base channels of both U-Nets")
    p.add_argument("--channels", type=int, default=16, help="lifted feature channels")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--threads", type=int, default=0, help="torch threads on CPU (0 = default)")
    p.add_argument("--algorithm", default="auto", choices=["auto", "pairs", "neighbors"],
                   help="sparse convolution: per-offset pairs, neighbour-table GEMM, or auto (GPU: neighbours)")
    p.add_argument("--_child", nargs=2, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    if a._child:
        print(json.dumps(_one(a._child[0], a.grid, float(a._child[1]), a.features, a.channels, a.repeats,
                              a.device, a.algorithm)))
        return 0
    print(f"3D stage, one training step (forward + backward), grid {a.grid}^3, features {a.features}, "
          f"{a.channels} input channels, sparse convolution {a.algorithm}, device {a.device}"
          + (f" ({torch.cuda.get_device_name()})" if a.device == "cuda" else f" ({torch.get_num_threads()} threads)"))
    print(f"{'occupancy':>9} {'voxels':>8} | {'dense s':>8} {'dense MB':>9} | {'sparse s':>8} {'sparse MB':>9} | "
          f"{'time x':>7} {'mem x':>7}")
    for pct in a.occupancy:
        res = {}
        for backend in ("dense", "sparse"):
            cmd = [sys.executable, __file__, "--grid", str(a.grid), "--features", str(a.features), "--channels",
                   str(a.channels), "--repeats", str(a.repeats), "--device", a.device, "--threads", str(a.threads),
                   "--algorithm", a.algorithm, "--_child", backend, str(pct)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True)
            res[backend] = json.loads(out.stdout.strip().splitlines()[-1])
        d, s = res["dense"], res["sparse"]
        print(f"{pct:>8g}% {s['voxels']:>8d} | {d['time_s']:>8.3f} {d['peak_mb']:>9.1f} | {s['time_s']:>8.3f} "
              f"{s['peak_mb']:>9.1f} | {d['time_s'] / s['time_s']:>6.1f}x {d['peak_mb'] / max(s['peak_mb'], 1e-3):>6.1f}x")
    print("x = dense / sparse (> 1: the sparse backend is cheaper)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
