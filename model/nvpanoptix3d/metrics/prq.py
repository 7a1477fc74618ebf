"""Panoptic reconstruction quality (PRQ, RSQ, RRQ) of Dahnert et al., "Panoptic 3D Scene Reconstruction
From a Single RGB Image" (NeurIPS 2021), as also used by BUOL and Uni-3D.

Per sample, ground truth and prediction are dicts ``{segment_id: (bool volume, class)}``. A predicted
segment matches a ground-truth segment of the same class when their voxel IoU is > 0.25 (strict); each
is matched at most once. Per class over the whole split: PRQ = ΣIoU / (TP + FP/2 + FN/2),
RSQ = ΣIoU / TP, RRQ = TP / (TP + FP/2 + FN/2). Averages are over classes that have ground truth; we
report fractions in [0, 1] (the papers print them x100).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

MATCH_IOU = 0.25


@dataclass
class _ClassStats:
    iou: float = 0.0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    n: int = 0


def _iou_matrix(gt: list[np.ndarray], pred: list[np.ndarray]) -> np.ndarray:
    """Pairwise IoU from the predicted segments' voxel indices looked up in each ground-truth volume.

    Segments are thin shells (well under 1 % of a 256^3 grid), so counting through index lists costs
    O(segment size) per pair and no dense float copies of the volumes (see benchmarks/bench_prq.py).
    """
    out = np.zeros((len(gt), len(pred)))
    if not gt or not pred:
        return out
    g_flat = [m.reshape(-1) for m in gt]
    g_size = [int(np.count_nonzero(m)) for m in g_flat]
    p_idx = [np.flatnonzero(m) for m in pred]
    for i, g in enumerate(g_flat):
        for j, idx in enumerate(p_idx):
            inter = int(np.count_nonzero(g[idx]))
            if inter:
                out[i, j] = inter / (g_size[i] + idx.size - inter)
    return out


@dataclass
class PanopticReconstructionQuality:
    """Accumulates per-class statistics over a split; ``compute()`` gives PRQ/RSQ/RRQ per class and averaged."""

    thing_classes: set[int] = field(default_factory=lambda: set(range(1, 10)))
    ignore_classes: set[int] = field(default_factory=lambda: {0})
    stats: dict[int, _ClassStats] = field(default_factory=dict)

    def reset(self) -> None:
        self.stats.clear()

    def update(self, gt: dict[int, tuple[np.ndarray, int]], pred: dict[int, tuple[np.ndarray, int]]) -> None:
        classes = {c for _, c in gt.values()} | {c for _, c in pred.values()}
        for cls in classes - self.ignore_classes:
            g = [m for m, c in gt.values() if c == cls and m.any()]
            p = [m for m, c in pred.values() if c == cls and m.any()]
            st = self.stats.setdefault(cls, _ClassStats())
            st.n += len(g)
            iou = _iou_matrix(g, p)
            matched_pred: set[int] = set()
            for i in range(len(g)):
                hit = None
                for j in range(len(p)):
                    if j not in matched_pred and iou[i, j] > MATCH_IOU:
                        hit = j
                        break
                if hit is None:
                    st.fn += 1
                else:
                    matched_pred.add(hit)
                    st.tp += 1
                    st.iou += float(iou[i, hit])
            st.fp += len(p) - len(matched_pred)

    def compute(self) -> dict:
        per_class = {}
        for cls, st in sorted(self.stats.items()):
            if st.n == 0:
                continue
            denom = st.tp + 0.5 * st.fp + 0.5 * st.fn
            per_class[cls] = {
                "PRQ": st.iou / denom if denom else 0.0,
                "RSQ": st.iou / st.tp if st.tp else 0.0,
                "RRQ": st.tp / denom if denom else 0.0,
                "TP": st.tp, "FP": st.fp, "FN": st.fn, "N": st.n,
            }

        def mean(key: str, subset=None) -> float:
            vals = [v[key] for c, v in per_class.items() if subset is None or c in subset]
            return float(np.mean(vals)) if vals else 0.0

        stuff = set(per_class) - self.thing_classes
        return {"PRQ": mean("PRQ"), "RSQ": mean("RSQ"), "RRQ": mean("RRQ"),
                "PRQ_th": mean("PRQ", self.thing_classes), "PRQ_st": mean("PRQ", stuff), "per_class": per_class}

    def table(self, names: dict[int, str] | None = None) -> str:
        result = self.compute()
        lines = [f"{'class':<12}{'PRQ':>8}{'RSQ':>8}{'RRQ':>8}{'N':>6}"]
        for cls, v in result["per_class"].items():
            name = (names or {}).get(cls, str(cls))
            lines.append(f"{name:<12}{v['PRQ']:8.3f}{v['RSQ']:8.3f}{v['RRQ']:8.3f}{v['N']:6d}")
        lines.append(f"{'mean':<12}{result['PRQ']:8.3f}{result['RSQ']:8.3f}{result['RRQ']:8.3f}")
        return "\n".join(lines)


def _crop(volume: np.ndarray, start: list[int], stop: list[int]) -> np.ndarray:
    """``volume[start:stop]`` per axis, zero-padded where the range leaves the volume."""
    a = [max(s, 0) for s in start]
    b = [min(e, n) for e, n in zip(stop, volume.shape)]
    part = volume[a[0]:b[0], a[1]:b[1], a[2]:b[2]]
    return np.pad(part, [(x - s, e - y) for s, x, e, y in zip(start, a, stop, b)])


def segments_from_volumes(panoptic: np.ndarray, semantic_of: dict[int, int], geometry: np.ndarray,
                          frustum: np.ndarray, iso_value: float, downsample: int = 1) -> dict[int, tuple[np.ndarray, int]]:
    """Evaluation segments: surface voxels (geometry < iso) of each panoptic id, optionally max-pool
    downsampled (kernel f+1, stride f, padding 1), dilated by the 3x3x3 neighbourhood and cut to the frustum.

    Pooling and dilation run on each segment's bounding box plus a margin, which gives the same result
    as on the whole grid (both reach only a voxel or two beyond the segment) at a fraction of the cost.
    """
    surface = geometry < iso_value
    f = max(int(downsample), 1)
    frustum_t = torch.from_numpy(frustum.astype(np.float32))[None, None]
    if f > 1:
        frustum_t = F.interpolate(frustum_t, scale_factor=1.0 / f, mode="nearest")
    small = frustum_t[0, 0].numpy() > 0
    n_out = small.shape
    out = {}
    for seg_id, cls in semantic_of.items():
        mask = np.zeros(n_out, dtype=bool)
        m = (panoptic == seg_id) & surface
        nz = [np.flatnonzero(m.any(axis=tuple(a for a in range(3) if a != ax))) for ax in range(3)]
        if any(v.size == 0 for v in nz):
            out[seg_id] = (mask, cls)
            continue
        # output voxels the segment can reach: pooled window of o is input [o*f - 1, o*f + f - 1], then +-1 dilation
        lo = [max(int(v[0]) // f - 1, 0) for v in nz]
        hi = [min((int(v[-1]) + 1) // f + 2, n) for v, n in zip(nz, n_out)]
        plo = [max(a - 1, 0) for a in lo]
        phi = [min(b + 1, n) for b, n in zip(hi, n_out)]
        if f > 1:
            window = _crop(m, [a * f - 1 for a in plo], [b * f for b in phi])
            pooled = F.max_pool3d(torch.from_numpy(window).float()[None, None], kernel_size=f + 1, stride=f)
        else:
            pooled = torch.from_numpy(m[plo[0]:phi[0], plo[1]:phi[1], plo[2]:phi[2]]).float()[None, None]
        dilated = F.max_pool3d(pooled, kernel_size=3, stride=1, padding=1)[0, 0].numpy() > 0
        part = dilated[tuple(slice(a - p, b - p) for a, b, p in zip(lo, hi, plo))]
        sl = tuple(slice(a, b) for a, b in zip(lo, hi))
        mask[sl] = part & small[sl]
        out[seg_id] = (mask, cls)
    return out
