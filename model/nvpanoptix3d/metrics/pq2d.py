"""2D panoptic quality (Kirillov et al. 2019; NVIDIA TAO 7.0.1 and panopticapi averages) and depth metrics."""

from __future__ import annotations

import numpy as np


class PanopticQuality2D:
    """PQ/SQ/RQ over a split, as NVIDIA TAO 7.0.1 and panopticapi compute them (docs/metrics.md).

    Segments are ``{id: (bool mask, class)}`` and ``void`` the ground truth's void pixels. A prediction and
    a ground-truth segment of one class match when IoU > 0.5, where the union leaves out the prediction's
    void pixels; an unmatched prediction lying more than half on void is not a false positive.
    ``compute()`` averages like TAO, over every class 1..num_classes-1 (a class without ground truth or
    prediction scores 0), and reports panopticapi's average over the classes that occur as ``PQ_panopticapi``.
    """

    def __init__(self, num_classes: int | None = None) -> None:
        self.num_classes = num_classes
        self.stats: dict[int, list[float]] = {}

    def update(self, gt: dict[int, tuple[np.ndarray, int]], pred: dict[int, tuple[np.ndarray, int]],
               void: np.ndarray | None = None) -> None:
        matched_p: set[int] = set()
        on_void = {pid: int(np.logical_and(pm, void).sum()) if void is not None else 0
                   for pid, (pm, _) in pred.items()}
        for gid, (gm, gc) in gt.items():
            st = self.stats.setdefault(int(gc), [0.0, 0, 0, 0])
            hit = None
            for pid, (pm, pc) in pred.items():
                if pid in matched_p or pc != gc:
                    continue
                inter = int(np.logical_and(gm, pm).sum())
                if not inter:
                    continue
                union = int(gm.sum()) + int(pm.sum()) - inter - on_void[pid]
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
            area = int(pm.sum())
            if area and on_void[pid] / area > 0.5:
                continue
            self.stats.setdefault(int(pc), [0.0, 0, 0, 0])[2] += 1

    @staticmethod
    def _row(iou: float, tp: int, fp: int, fn: int) -> dict[str, float]:
        sq = iou / max(tp, 1)
        rq = tp / max(tp + 0.5 * fp + 0.5 * fn, 1)
        return {"PQ": sq * rq, "SQ": sq, "RQ": rq}

    def compute(self) -> dict:
        rows = {c: self._row(*st) for c, st in sorted(self.stats.items()) if st[1] + st[2] + st[3] > 0}
        present = [r for c, r in rows.items() if c != 0]
        if self.num_classes is not None:
            every = [rows.get(c, {"PQ": 0.0, "SQ": 0.0, "RQ": 0.0}) for c in range(1, self.num_classes)]
        else:
            every = present
        mean = lambda vals, k: float(np.mean([r[k] for r in vals])) if vals else 0.0  # noqa: E731
        return {"PQ": mean(every, "PQ"), "SQ": mean(every, "SQ"), "RQ": mean(every, "RQ"),
                "PQ_panopticapi": mean(present, "PQ"), "SQ_panopticapi": mean(present, "SQ"),
                "RQ_panopticapi": mean(present, "RQ"), "per_class": rows}


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
