"""2D panoptic quality (Kirillov et al. 2019, COCO rules) and depth metrics."""

from __future__ import annotations

import numpy as np


class PanopticQuality2D:
    """PQ/SQ/RQ over a split. Segments: {id: (bool mask, class)}; IoU > 0.5 matches; predictions that lie
    more than half on void pixels are ignored."""

    def __init__(self) -> None:
        self.stats: dict[int, list[float]] = {}

    def update(self, gt: dict[int, tuple[np.ndarray, int]], pred: dict[int, tuple[np.ndarray, int]],
               void: np.ndarray | None = None) -> None:
        matched_p: set[int] = set()
        for gid, (gm, gc) in gt.items():
            st = self.stats.setdefault(gc, [0.0, 0, 0, 0])
            hit = None
            for pid, (pm, pc) in pred.items():
                if pid in matched_p or pc != gc:
                    continue
                inter = np.logical_and(gm, pm).sum()
                union = np.logical_or(gm, pm).sum()
                if union and inter / union > 0.5:
                    hit = (pid, inter / union)
                    break
            if hit:
                matched_p.add(hit[0])
                st[0] += hit[1]
                st[1] += 1
            else:
                st[3] += 1
        for pid, (pm, pc) in pred.items():
            if pid in matched_p:
                continue
            if void is not None and pm.sum() and np.logical_and(pm, void).sum() / pm.sum() > 0.5:
                continue
            self.stats.setdefault(pc, [0.0, 0, 0, 0])[2] += 1

    def compute(self) -> dict:
        rows = {}
        for c, (iou, tp, fp, fn) in self.stats.items():
            if tp + fp + fn == 0:
                continue
            denom = tp + 0.5 * fp + 0.5 * fn
            rows[c] = {"PQ": iou / denom, "SQ": iou / tp if tp else 0.0, "RQ": tp / denom}
        mean = lambda k: float(np.mean([r[k] for r in rows.values()])) if rows else 0.0  # noqa: E731
        return {"PQ": mean("PQ"), "SQ": mean("SQ"), "RQ": mean("RQ"), "per_class": rows}


def depth_metrics(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """AbsRel, RMSE (metres) and the share of pixels with max(pred/gt, gt/pred) < 1.25, on valid GT pixels."""
    valid = gt > 0
    if not valid.any():
        return {"AbsRel": 0.0, "RMSE": 0.0, "delta1": 0.0}
    p = np.maximum(pred[valid], 1e-6)
    g = gt[valid]
    ratio = np.maximum(p / g, g / p)
    return {"AbsRel": float(np.mean(np.abs(p - g) / g)), "RMSE": float(np.sqrt(np.mean((p - g) ** 2))),
            "delta1": float(np.mean(ratio < 1.25))}
