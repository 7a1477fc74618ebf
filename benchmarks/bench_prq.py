#!/usr/bin/env python3
"""Time and memory of PRQ/RSQ/RRQ on 256^3 volumes with a realistic number of segments.

A 3D-FRONT frame has about a dozen thing instances plus wall/floor/ceiling; evaluation turns each
into a thickened surface shell (``segments_from_volumes``) and matches ground truth to predictions
(``PanopticReconstructionQuality.update``). This script builds such a frame (``--things`` boxes of 3
classes so several segments share a class, 3 stuff planes; predictions shifted by a few voxels, plus
false positives), then measures, each in a fresh process so peak memory is its own:

  segments  segments_from_volumes for ground truth and prediction (surface, dilation, frustum cut),
            NumPy bounding-box path; segments_torch: the whole-grid torch path (on the GPU when there is one)
  update    our PRQ update (IoU of all same-class pairs at once, greedy matching)
  naive     the same matching with IoU computed pair by pair with dense logical_and/logical_or

Prints median seconds over ``--repeats`` and the peak resident memory each step adds, then the
naive/ours time ratio.  Usage: python benchmarks/bench_prq.py [--grid 256] [--things 12] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import numpy as np


def _frame(grid: int, things: int, seed: int = 0):
    """Inputs of ``segments_from_volumes`` (panoptic, semantic_of, geometry, frustum) for ground truth and prediction."""
    from nvpanoptix3d.geometry import FRONT3D_INTRINSIC, FrustumGrid, scale_intrinsic  # noqa: PLC0415
    rng = np.random.default_rng(seed)
    g = FrustumGrid.cube(grid, 0.03 * 256 / grid)
    frustum = g.frustum_mask(scale_intrinsic(FRONT3D_INTRINSIC, (320, 240), (320, 240)), (320, 240))
    s = grid / 256

    def volumes(shift: int, extra: int):
        pan = np.zeros((grid,) * 3, np.int32)
        sem_of = {}
        pan[:, int(200 * s):int(204 * s) + 1, :] = 1  # floor
        pan[:, :, int(230 * s):int(234 * s) + 1] = 2  # back wall
        pan[int(20 * s):int(24 * s) + 1, :, :] = 3  # side wall
        sem_of.update({1: 11, 2: 10, 3: 12})
        for i in range(things + extra):
            lo = (rng.integers(40, 180, 3) * s).astype(int) + shift
            size = (rng.integers(15, 45, 3) * s).astype(int) + 2
            pan[lo[0]:lo[0] + size[0], lo[1]:lo[1] + size[1], lo[2]:lo[2] + size[2]] = 10 + i
            sem_of[10 + i] = 1 + i % 3
        geometry = np.full(pan.shape, 3.0, np.float32)
        geometry[pan > 0] = 0.5  # every labelled voxel is on the surface (a pessimistic, dense case)
        return pan, sem_of, geometry, frustum

    state = rng.bit_generator.state
    gt = volumes(0, 0)
    rng.bit_generator.state = state  # same boxes, shifted, plus false positives
    pred = volumes(int(3 * s) or 1, 2)
    return gt, pred


def naive_update(metric, gt, pred) -> None:
    """Reference: the same greedy matching, IoU of every pair from dense boolean operations."""
    from nvpanoptix3d.metrics.prq import MATCH_IOU, _ClassStats  # noqa: PLC0415

    classes = {c for _, c in gt.values()} | {c for _, c in pred.values()}
    for cls in sorted(classes - metric.ignore_classes):
        g = [m for m, c in gt.values() if c == cls]
        p = [m for m, c in pred.values() if c == cls]
        st = metric.stats.setdefault(cls, _ClassStats())
        st.n += len(g)
        used: set[int] = set()
        for gm in g:
            for j, pm in enumerate(p):
                if j in used:
                    continue
                inter = np.logical_and(gm, pm).sum()
                iou = inter / max(np.logical_or(gm, pm).sum(), 1)
                if iou > MATCH_IOU:
                    used.add(j)
                    st.tp += 1
                    st.iou += float(iou)
                    break
            else:
                st.fn += 1
        st.fp += len(p) - len(used)


def _status_kib(key: str) -> float | None:
    try:
        for line in open("/proc/self/status"):
            if line.startswith(key + ":"):
                return float(line.split()[1])
    except OSError:
        pass
    return None


def _start_peak() -> float:
    """Reset the kernel's peak-RSS counter (Linux: clear_refs 5) and return the current RSS in MiB."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return (_status_kib("VmRSS") or 0) / 1024
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _peak_mib() -> float:
    peak = _status_kib("VmHWM")
    return peak / 1024 if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _segments(grid: int, things: int):
    from nvpanoptix3d.metrics import segments_from_volumes  # noqa: PLC0415

    gt_in, pred_in = _frame(grid, things)
    return segments_from_volumes(*gt_in, iso_value=1.0), segments_from_volumes(*pred_in, iso_value=1.0)


def _one(step: str, grid: int, things: int, repeats: int) -> dict:
    from nvpanoptix3d.metrics import PanopticReconstructionQuality, segments_from_volumes  # noqa: PLC0415
    from nvpanoptix3d.metrics.prq import to_volume  # noqa: PLC0415

    if step == "segments_torch":
        import torch  # noqa: PLC0415

        device = "cuda" if torch.cuda.is_available() else "cpu"
        gt_in, pred_in = _frame(grid, things)
        gt_t = [torch.as_tensor(a).to(device) if isinstance(a, np.ndarray) else a for a in gt_in]
        pred_t = [torch.as_tensor(a).to(device) if isinstance(a, np.ndarray) else a for a in pred_in]
        base = _start_peak()
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            segments_from_volumes(*gt_t, iso_value=1.0, device=device)
            segments_from_volumes(*pred_t, iso_value=1.0, device=device)
            if device == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t)
        return {"seconds": statistics.median(times), "peak_added_mib": _peak_mib() - base, "device": device}
    if step == "segments":
        gt_in, pred_in = _frame(grid, things)
        base = _start_peak()
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            gt = segments_from_volumes(*gt_in, iso_value=1.0)
            pred = segments_from_volumes(*pred_in, iso_value=1.0)
            times.append(time.perf_counter() - t)
            peak = _peak_mib() - base
            del gt, pred
        gt, pred = segments_from_volumes(*gt_in, iso_value=1.0), segments_from_volumes(*pred_in, iso_value=1.0)
        return {"seconds": statistics.median(times), "peak_added_mib": peak,
                "segments_gt": len(gt), "segments_pred": len(pred),
                "surface_share": float(np.mean([m.size for m, _ in gt.values()])) / grid ** 3}
    gt, pred = _segments(grid, things)
    if step == "naive":  # the naive update works on dense volumes
        shape = (grid,) * 3
        gt = {k: (to_volume(m, shape), c) for k, (m, c) in gt.items()}
        pred = {k: (to_volume(m, shape), c) for k, (m, c) in pred.items()}
    base = _start_peak()
    times, result = [], None
    for _ in range(repeats):
        metric = PanopticReconstructionQuality()
        t = time.perf_counter()
        if step == "update":
            metric.update(gt, pred)
        else:
            naive_update(metric, gt, pred)
        times.append(time.perf_counter() - t)
        result = metric.compute()
    return {"seconds": statistics.median(times), "peak_added_mib": _peak_mib() - base,
            "PRQ": round(result["PRQ"], 6), "RSQ": round(result["RSQ"], 6), "RRQ": round(result["RRQ"], 6)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, default=256)
    parser.add_argument("--things", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--one", choices=["segments", "segments_torch", "update", "naive"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(_one(args.one, args.grid, args.things, args.repeats)))
        return
    rows = {}
    for step in ("segments", "segments_torch", "update", "naive"):
        proc = subprocess.run([sys.executable, __file__, "--one", step, "--grid", str(args.grid), "--things",
                               str(args.things), "--repeats", str(args.repeats)],
                              check=True, capture_output=True, text=True)
        rows[step] = json.loads(proc.stdout.strip().splitlines()[-1])
    seg = rows["segments"]
    print(f"grid {args.grid}^3, {seg['segments_gt']} GT / {seg['segments_pred']} predicted segments, "
          f"mean segment share of the volume {seg['surface_share']:.2%}; median of {args.repeats}")
    labels = {"segments": "segments_from_volumes (GT+pred)",
              "segments_torch": f"  same, whole-grid torch ({rows['segments_torch']['device']})",
              "update": "PRQ update (ours)",
              "naive": "PRQ update (naive per pair)"}
    for step, row in rows.items():
        print(f"{labels[step]:<34}{row['seconds']:8.3f} s   peak +{row['peak_added_mib']:7.1f} MiB")
    same = all(rows["update"][k] == rows["naive"][k] for k in ("PRQ", "RSQ", "RRQ"))
    print(f"PRQ {rows['update']['PRQ']:.4f}  RSQ {rows['update']['RSQ']:.4f}  RRQ {rows['update']['RRQ']:.4f} "
          f"(naive gives {'the same' if same else 'DIFFERENT'} values)")
    print(f"naive / ours time ratio: {rows['naive']['seconds'] / max(rows['update']['seconds'], 1e-9):.1f}x")


if __name__ == "__main__":
    main()
