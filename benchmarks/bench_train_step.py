"""Time and peak memory of one 2D-stage training step (forward, losses, backward) per preset and precision.

    python benchmarks/bench_train_step.py [--device cpu|cuda] [--presets tiny,full] [--precisions fp32,bf16,fp16]
                                          [--height 240 --width 320] [--batch 1] [--steps 5]

Builds the network exactly as training does (``engine.build``) with random weights and runs real steps:
random images, synthetic targets (a few boxes as masks), Hungarian matching and the set criterion, under
``torch.autocast`` for fp16/bf16 as the Lightning trainer does. Prints the median step time, images per
second and the peak memory (CUDA: ``max_memory_allocated``; CPU on Linux: growth of the peak resident set,
VmHWM reset after the set-up, over the resident set after the set-up), and the speed-up of each
precision over fp32 for the same preset. The full preset is meant for a GPU.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from procmem import reset_peak_rss, status_mib

ROOT = Path(__file__).resolve().parents[1]


def _spec(preset: str, height: int, width: int):
    from nvpanoptix3d.config.loader import load_spec  # noqa: PLC0415

    spec = ROOT / "references" / ("demo_spec_tiny.yaml" if preset == "tiny" else "spec_template_train.yaml")
    overrides = {"model.backbone.preset": preset, "dataset.target_size": [width, height],
                 "dataset.reduced_target_size": [width, height], "dataset.depth_size": [height, width]}
    return load_spec(spec, overrides)


def _targets(batch: int, height: int, width: int, num_classes: int, device: torch.device) -> list[dict]:
    gen = torch.Generator().manual_seed(0)
    out = []
    for _ in range(batch):
        masks = torch.zeros(4, height, width, dtype=torch.bool)
        for i in range(4):
            y0, x0 = int(torch.randint(0, height // 2, (1,), generator=gen)), int(torch.randint(0, width // 2, (1,), generator=gen))
            masks[i, y0:y0 + height // 3, x0:x0 + width // 3] = True
        labels = torch.randint(1, num_classes, (4,), generator=gen)
        out.append({"labels": labels.to(device), "masks": masks.to(device),
                    "depth": torch.rand(height, width, generator=gen).to(device) * 5 + 0.5})
    return out


def bench(preset: str, precision: str, args: argparse.Namespace) -> dict[str, float]:
    from nvpanoptix3d.engine import build  # noqa: PLC0415

    device = torch.device(args.device)
    spec = _spec(preset, args.height, args.width)
    model = build.build_model(spec, stage="2d").to(device).train()
    criterion, _ = build.build_criteria(spec, stage="2d")
    criterion = criterion.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(precision)
    images = torch.rand(args.batch, 3, args.height, args.width, device=device)
    targets = _targets(args.batch, args.height, args.width, spec.model.sem_seg_head.num_classes, device)
    times = []
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    on_linux_cpu = device.type == "cpu" and sys.platform.startswith("linux")
    base_rss = status_mib("VmRSS") if on_linux_cpu else 0.0
    if on_linux_cpu:
        reset_peak_rss()
    for step in range(args.steps + 2):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t = time.perf_counter()
        with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            out = model(images)
            losses, _ = criterion(out, targets)
        opt.zero_grad(set_to_none=True)
        scaler.scale(losses["loss"]).backward()
        scaler.step(opt)
        scaler.update()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if step >= 2:  # two warm-up steps
            times.append(time.perf_counter() - t)
    med = statistics.median(times)
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else \
        (status_mib("VmHWM") - base_rss) / 1024 if on_linux_cpu else float("nan")
    params = sum(p.numel() for p in model.parameters()) / 1e6
    return {"step_s": med, "img_per_s": args.batch / med, "peak_gib": peak, "params_m": params}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--presets", default="tiny")
    ap.add_argument("--precisions", default="fp32,bf16")
    ap.add_argument("--height", type=int, default=240)
    ap.add_argument("--width", type=int, default=320)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--steps", type=int, default=5)
    args = ap.parse_args()
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU"
    print(f"device {name}, {args.batch} x 3 x {args.height} x {args.width}, median of {args.steps} steps")
    print(f"{'preset':<6} {'precision':<9} {'params M':>9} {'step s':>8} {'img/s':>8} {'peak GiB':>9} {'vs fp32':>8}")
    for preset in args.presets.split(","):
        base = None
        for precision in args.precisions.split(","):
            try:
                r = bench(preset, precision, args)
            except torch.OutOfMemoryError:
                print(f"{preset:<6} {precision:<9} out of memory")
                continue
            base = r["step_s"] if precision == "fp32" else base
            ratio = f"{base / r['step_s']:.2f}x" if base else "-"
            print(f"{preset:<6} {precision:<9} {r['params_m']:>9.1f} {r['step_s']:>8.3f} {r['img_per_s']:>8.2f} "
                  f"{r['peak_gib']:>9.2f} {ratio:>8}")
            if args.device.startswith("cuda"):
                torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
