"""3D completion cost, sparse vs dense execution of the same weights, at several occupancies: one training step.

    python benchmarks/bench_sparse3d.py [--grid 64] [--occupancy 1 5 20] [--features 8]
                                        [--input-dims 2 16 13 16] [--device cpu|cuda]

The network is NVIDIA's completion ``FrustumDecoder`` (``completion.*``): ``sparse`` runs it on our pure
PyTorch sparse layers (the ``sparse`` and ``spconv`` backends), ``dense`` runs the same weights as masked dense
convolutions over the grid (``DenseFrustumDecoder``, the ``dense`` backend). The input is a band of lifted
voxels around a random smooth depth surface (what lifting produces): its thickness sets the occupancy (% of
the grid). Both run in training mode with the band as occupancy target; the 1/4 and 1/2 occupancy heads are
biased to "empty" (-10) and the finest to "occupied" (+10), so exactly the band's ancestors are kept as
parents and every voxel they generate at full resolution is kept: the voxel sets follow the occupancy, not
the random weights, and are the same in both executions. The step is forward + backward of the sum of every
output. Every configuration runs in its own process so the peak memory is its own: CUDA
``torch.cuda.max_memory_allocated``; CPU the growth of the peak resident set (VmHWM, reset after the set-up)
over the resident set after the set-up. Prints time and memory per execution and the dense / sparse ratios.
The grid must be a multiple of 32 and at least 64 (NVIDIA's five levels, InstanceNorm3d at the coarsest).
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


def band_targets(band: torch.Tensor) -> list[list[torch.Tensor]]:
    """Per-sample occupancy targets fine -> coarse (the loader's layout) of a (1, G, G, G) band."""
    pool = torch.nn.functional.max_pool3d
    fine = band[0].float()
    return [[fine, pool(fine[None, None], 2)[0, 0], pool(fine[None, None], 4)[0, 0]]]


def build_decoder(execution: str, input_dims: tuple[int, ...], features: int, grid: int) -> torch.nn.Module:
    """The completion network (seed 0, same weights for both executions) with the benchmark's head biases."""
    # frustum3d first: importing nvpanoptix3d.network.completion on its own runs into an import cycle
    # (completion -> frustum3d.sparse -> frustum3d/__init__ -> model -> completion)
    import nvpanoptix3d.network.frustum3d  # noqa: F401, PLC0415
    from nvpanoptix3d.network.completion import DenseFrustumDecoder, FrustumDecoder  # noqa: PLC0415

    torch.manual_seed(0)
    cls = DenseFrustumDecoder if execution == "dense" else FrustumDecoder
    net = cls(input_dims=input_dims, unet_features=features, unet_output_channels=features, query_dim=32,
              grid_dims=grid)
    heads = net.level_occupancy_heads
    with torch.no_grad():
        heads[2].bias.fill_(-10.0)  # 1/4: keep only the targets' ancestors
        heads[1].block.bias.fill_(-10.0)  # 1/2: the same
        heads[0][3].bias.fill_(10.0)  # full resolution: keep every generated voxel
    return net.train()


def training_step(execution: str, net: torch.nn.Module, band: torch.Tensor, feats: torch.Tensor):
    """A closure running one forward + backward of the sum of every output; it returns the number of voxels at
    full resolution (the finest occupancy's voxels; the dense execution: present ones)."""
    from nvpanoptix3d.network.frustum3d.densify import ABSENT_LOGIT  # noqa: PLC0415
    from nvpanoptix3d.network.frustum3d.sparse import SparseTensor  # noqa: PLC0415

    dev = band.device
    grid = band.shape[-1]
    coords = band.nonzero()
    queries = torch.randn(1, 8, 32, device=dev, generator=torch.Generator(dev).manual_seed(1))
    frustum = torch.ones_like(band)
    occ = [[t.to(dev) for t in band_targets(band.cpu())[0]]]
    if execution == "dense":
        volume = torch.zeros(1, grid, grid, grid, feats.shape[1], device=dev)
        volume[tuple(coords.T)] = feats
        volume = volume.permute(0, 4, 1, 2, 3).contiguous()

        def step() -> None:
            out = net(volume, band, queries, frustum, occ)
            (sum(o.sum() for o in out["pred_occupancy"] + out["pred_masks_3d"]) + out["pred_geometry"].sum()).backward()
            return int((out["pred_occupancy"][-1] > ABSENT_LOGIT).sum())
    else:
        def step() -> None:
            out = net(SparseTensor(coords, feats, (grid,) * 3, 1), queries, frustum, occ)
            (sum(o.feats.sum() for o in out["occupancy"] + out["masks_3d"]) + out["geometry"].feats.sum()).backward()
            return out["occupancy"][-1].num_voxels
    return step


def _one(execution: str, grid: int, percent: float, features: int, input_dims: tuple[int, ...], repeats: int,
         device: str) -> dict:
    dev = torch.device(device)
    band = _surface_band(grid, percent).to(dev)
    feats = torch.randn(int(band.sum()), sum(input_dims), generator=torch.Generator().manual_seed(2)).to(dev)
    net = build_decoder(execution, input_dims, features, grid).to(dev)
    step = training_step(execution, net, band, feats)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    reset_peak_rss()
    base = status_mib("VmRSS")
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base_cuda = torch.cuda.memory_allocated()
    fine = step()  # warm-up (also the memory peak: later steps reuse the same sizes)
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
    return {"voxels": int(band.sum()), "fine_voxels": fine, "time_s": min(times), "peak_mb": max(peak, 0.0)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--grid", type=int, default=64)
    p.add_argument("--occupancy", type=float, nargs="+", default=[1.0, 5.0, 20.0], help="percent of the grid")
    p.add_argument("--features", type=int, default=8, help="unet_features (= unet_output_channels)")
    p.add_argument("--input-dims", type=int, nargs="+", default=[2, 16, 13, 16],
                   help="channel slices of the lifted voxels, one input encoder each (NVIDIA: 2 512 13 16)")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--threads", type=int, default=0, help="torch threads on CPU (0 = default)")
    p.add_argument("--_child", nargs=2, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    dims = tuple(a.input_dims)
    if a._child:
        print(json.dumps(_one(a._child[0], a.grid, float(a._child[1]), a.features, dims, a.repeats, a.device)))
        return 0
    print(f"3D completion (FrustumDecoder), one training step (forward + backward), grid {a.grid}^3, features "
          f"{a.features}, input dims {dims}, device {a.device}"
          + (f" ({torch.cuda.get_device_name()})" if a.device == "cuda" else f" ({torch.get_num_threads()} threads)"))
    print(f"{'occupancy':>9} {'voxels':>8} {'fine':>8} | {'dense s':>8} {'dense MB':>9} | {'sparse s':>8} "
          f"{'sparse MB':>9} | {'time x':>7} {'mem x':>7}")
    for pct in a.occupancy:
        res = {}
        for execution in ("dense", "sparse"):
            cmd = [sys.executable, __file__, "--grid", str(a.grid), "--features", str(a.features), "--input-dims",
                   *map(str, dims), "--repeats", str(a.repeats), "--device", a.device, "--threads", str(a.threads),
                   "--_child", execution, str(pct)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True)
            res[execution] = json.loads(out.stdout.strip().splitlines()[-1])
        d, s = res["dense"], res["sparse"]
        assert d["fine_voxels"] == s["fine_voxels"], (d["fine_voxels"], s["fine_voxels"])  # the same voxel sets
        print(f"{pct:>8g}% {s['voxels']:>8d} {s['fine_voxels']:>8d} | {d['time_s']:>8.3f} {d['peak_mb']:>9.1f} | "
              f"{s['time_s']:>8.3f} {s['peak_mb']:>9.1f} | {d['time_s'] / s['time_s']:>6.1f}x "
              f"{d['peak_mb'] / max(s['peak_mb'], 1e-3):>6.1f}x")
    print("voxels: lifted input; fine: full-resolution voxels generated (both executions); "
          "x = dense / sparse (> 1: the sparse execution is cheaper)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
