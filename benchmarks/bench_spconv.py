"""3D completion training step, ``sparse`` vs ``spconv`` backend (the same weights, kernel maps and voxels).

    python benchmarks/bench_spconv.py [--grid 64] [--occupancy 1 5 20] [--features 8] [--repeats 3]
                                      [--device cpu|cuda] [--threads 1]

NVIDIA's completion ``FrustumDecoder`` on the lifted-voxel band of ``bench_sparse3d.py`` (training mode, biased
occupancy heads: the voxel sets follow the band, not the weights). ``sparse`` runs every convolution's
gather-GEMM-scatter in PyTorch (``apply_kernel_map``), ``spconv`` on spconv's ``indice_conv`` /
``indice_conv_backward`` (``completion/spconv_exec.py``); everything else (kernel maps, norms, heads, pruning)
is the same code. A step is forward + backward of the sum of every output; the time is the best of
``--repeats`` (the two backends alternating) after one warm-up step (which also builds and caches the kernel maps of that step's tensors: each
step builds its own, in both backends). Both backends' outputs are checked equal before timing.
"""

from __future__ import annotations

import argparse
import copy
import time

import torch
from bench_sparse3d import _surface_band, build_decoder, training_step


def _outputs(net: torch.nn.Module, coords: torch.Tensor, feats: torch.Tensor, grid: int, band: torch.Tensor):
    from nvpanoptix3d.network.frustum3d.sparse import SparseTensor  # noqa: PLC0415
    from bench_sparse3d import band_targets  # noqa: PLC0415

    queries = torch.randn(1, 8, 32, device=feats.device, generator=torch.Generator(feats.device).manual_seed(1))
    occ = [[t.to(feats.device) for t in band_targets(band.cpu())[0]]]
    with torch.no_grad():
        out = net(SparseTensor(coords, feats, (grid,) * 3, 1), queries, torch.ones_like(band), occ)
    return out["occupancy"] + out["masks_3d"] + [out["geometry"]]


def _time(steps: dict, nets: dict, repeats: int, sync) -> dict[str, float]:
    """Best time per backend; the backends alternate step by step, so load drift on a shared machine hits
    both alike."""
    for step in steps.values():
        step()  # warm-up
    sync()
    best = dict.fromkeys(steps, float("inf"))
    for _ in range(repeats):
        for name, step in steps.items():
            nets[name].zero_grad(set_to_none=True)
            t0 = time.perf_counter()
            step()
            sync()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--grid", type=int, default=64)
    p.add_argument("--occupancy", type=float, nargs="+", default=[1.0, 5.0, 20.0], help="percent of the grid")
    p.add_argument("--features", type=int, default=8, help="unet_features (= unet_output_channels)")
    p.add_argument("--input-dims", type=int, nargs="+", default=[2, 16, 13, 16])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--threads", type=int, default=1, help="torch threads on CPU (0 = torch's default)")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    from nvpanoptix3d.network.completion import spconv_exec  # noqa: PLC0415

    spconv_exec.require()
    dev = torch.device(a.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    dims = tuple(a.input_dims)
    where = torch.cuda.get_device_name() if dev.type == "cuda" else f"CPU, {torch.get_num_threads()} thread(s)"
    print(f"3D completion (FrustumDecoder), one training step (forward + backward), grid {a.grid}^3, features "
          f"{a.features}, input dims {dims}, {where}")
    print(f"{'occupancy':>9} {'voxels':>8} {'fine':>8} | {'sparse s':>9} {'spconv s':>9} | {'sparse/spconv':>13}")
    for pct in a.occupancy:
        band = _surface_band(a.grid, pct).to(dev)
        coords = band.nonzero()
        feats = torch.randn(coords.shape[0], sum(dims), generator=torch.Generator().manual_seed(2)).to(dev)
        pure = build_decoder("sparse", dims, a.features, a.grid).to(dev)
        fast = copy.deepcopy(pure)
        spconv_exec.use_spconv(fast)
        ref, got = _outputs(pure, coords, feats, a.grid, band), _outputs(fast, coords, feats, a.grid, band)
        for r, g in zip(ref, got):
            assert torch.equal(r.coords, g.coords)
            torch.testing.assert_close(g.feats, r.feats, atol=2e-4, rtol=1e-4)
        nets = {"sparse": pure, "spconv": fast}
        best = _time({n: training_step("sparse", net, band, feats) for n, net in nets.items()}, nets, a.repeats, sync)
        t_sparse, t_spconv = best["sparse"], best["spconv"]
        print(f"{pct:>8g}% {coords.shape[0]:>8d} {ref[2].num_voxels:>8d} | {t_sparse:>9.3f} {t_spconv:>9.3f} | "
              f"{t_sparse / t_spconv:>12.2f}x")
    print("voxels: lifted input; fine: full-resolution voxels; > 1x: spconv is faster")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
