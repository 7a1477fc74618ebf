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
    """Pairwise IoU with one matrix product over flattened boolean volumes."""
    if not gt or not pred:
        return np.zeros((len(gt), len(pred)))
    g = torch.from_numpy(np.stack([m.reshape(-1) for m in gt])).float()
    p = torch.from_numpy(np.stack([m.reshape(-1) for m in pred])).float()
    inter = g @ p.T
    union = g.sum(1, keepdim=True) + p.sum(1)[None] - inter
    return (inter / union.clamp(min=1)).numpy()


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


def segments_from_volumes(panoptic: np.ndarray, semantic_of: dict[int, int], geometry: np.ndarray,
                          frustum: np.ndarray, iso_value: float, downsample: int = 1) -> dict[int, tuple[np.ndarray, int]]:
    """Evaluation segments: surface voxels (geometry < iso) of each panoptic id, optionally max-pool
    downsampled, dilated by the 3x3x3 neighbourhood and cut to the frustum."""
    surface = geometry < iso_value
    out = {}
    frustum_t = torch.from_numpy(frustum.astype(np.float32))[None, None]
    if downsample > 1:
        frustum_t = F.interpolate(frustum_t, scale_factor=1.0 / downsample, mode="nearest")
    for seg_id, cls in semantic_of.items():
        m = torch.from_numpy((panoptic == seg_id) & surface).float()[None, None]
        if downsample > 1:
            m = F.max_pool3d(m, kernel_size=downsample + 1, stride=downsample, padding=1)
        m = F.max_pool3d(m, kernel_size=3, stride=1, padding=1)
        m = (m > 0) & (frustum_t > 0)
        out[seg_id] = (m[0, 0].numpy(), cls)
    return out
