"""Metrics of a batch of predictions against its targets: PRQ/RSQ/RRQ (3D), PQ (2D), depth."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from nvpanoptix3d.metrics import PanopticQuality2D, PanopticReconstructionQuality, depth_metrics, segments_from_volumes
from nvpanoptix3d.network.frustum3d import panoptic_3d
from nvpanoptix3d.network.postprocess import panoptic_2d


def gt_segments_3d(semantic: np.ndarray, instance: np.ndarray, num_thing_classes: int) -> tuple[np.ndarray, dict]:
    """Ground-truth panoptic ids: one per thing instance (class by majority vote), one per stuff class."""
    pan = np.zeros(semantic.shape, dtype=np.int64)
    classes: dict[int, int] = {}
    for inst in np.unique(instance):
        if inst <= 0:
            continue
        m = instance == inst
        labels = semantic[m]
        labels = labels[(labels >= 1) & (labels <= num_thing_classes)]
        if labels.size == 0:
            continue
        sid = 1000 + int(inst)
        pan[m] = sid
        classes[sid] = int(np.bincount(labels).argmax())
    for cls in np.unique(semantic):
        if cls > num_thing_classes:
            m = (semantic == cls) & (pan == 0)
            if m.any():
                pan[m] = int(cls)
                classes[int(cls)] = int(cls)
    return pan, classes


class Evaluator:
    def __init__(self, spec: Any) -> None:
        self.spec = spec
        nt = spec.dataset.num_thing_classes
        self.prq = PanopticReconstructionQuality(thing_classes=set(range(1, nt + 1)))
        self.pq = PanopticQuality2D()
        self.depth: list[dict[str, float]] = []

    def update(self, outputs: dict, batch: dict) -> None:
        spec = self.spec
        m, ds = spec.model, spec.dataset
        for i in range(batch["image"].shape[0]):
            h, w = batch["image"].shape[-2:]
            r2 = panoptic_2d(outputs["pred_logits"][i].float().cpu(), outputs["pred_masks"][i].float().cpu(),
                             size=(h, w), num_thing_classes=ds.num_thing_classes,
                             object_mask_threshold=m.object_mask_threshold, overlap_threshold=m.overlap_threshold,
                             mode=m.mode)
            gt2 = {k: (mask.numpy(), int(c)) for k, (mask, c) in enumerate(zip(batch["gt_masks"][i], batch["gt_classes"][i]))}
            pr2 = {s["id"]: ((r2["panoptic"] == s["id"]).numpy(), s["category_id"]) for s in r2["segments"]}
            self.pq.update(gt2, pr2, void=(batch["semantic_2d"][i] == ds.ignore_label).numpy())
            self.depth.append(depth_metrics(outputs["pred_depth"][i, 0].float().cpu().numpy(), batch["depth"][i].numpy()))
            if "pred_occupancy" not in outputs or "geometry" not in batch:
                continue
            frustum = batch["frustum_mask"][i].cpu()
            r3 = panoptic_3d({k: v for k, v in outputs.items() if k != "aux_outputs"}, i, frustum=frustum,
                             num_thing_classes=ds.num_thing_classes, object_mask_threshold=m.object_mask_threshold,
                             truncation=m.frustum3d.truncation, mode=m.mode)
            f = frustum.numpy()
            gpan, gcls = gt_segments_3d(batch["semantic_3d"][i].numpy(), batch["instance_3d"][i].numpy(),
                                        ds.num_thing_classes)
            gt = segments_from_volumes(gpan, gcls, batch["geometry"][i].numpy(), f, ds.iso_value, ds.downsample_factor)
            pred = segments_from_volumes(r3["panoptic"].numpy(), {s["id"]: s["category_id"] for s in r3["segments"]},
                                         r3["geometry"].float().numpy(), f, m.frustum3d.iso_recon_value,
                                         ds.downsample_factor)
            self.prq.update(gt, pred)

    def compute(self) -> dict[str, float]:
        kpi: dict[str, float] = {}
        pq = self.pq.compute()
        kpi.update({"PQ": pq["PQ"], "SQ": pq["SQ"], "RQ": pq["RQ"]})
        if self.depth:
            for key in self.depth[0]:
                kpi[f"depth_{key}"] = float(np.mean([d[key] for d in self.depth]))
        if self.prq.stats:
            r = self.prq.compute()
            kpi.update({k: r[k] for k in ("PRQ", "RSQ", "RRQ", "PRQ_th", "PRQ_st")})
        return kpi

    def per_class(self) -> dict:
        return self.prq.compute()["per_class"] if self.prq.stats else {}
