"""Split-level metrics from network outputs: 2D PQ and depth on every stage, PRQ/RSQ/RRQ on the 3D stage.

The predicted depth is scored as NVIDIA's evaluation sees it (TAO 7.0.1 ``Postprocessor``): the image-frame depth
(resized to the padded input, cropped) through the 2D panoptic post-processing, which clamps it to
[0, ``dataset.depth_scale``] - unless no query is kept, where NVIDIA returns it unclamped. (NVIDIA also zeroes it
outside a Matterport room mask; the depth metrics read ground-truth pixels > 0 only, and the loader already zeroes
the ground truth outside the room, so that changes nothing here.)

Statistics are kept per sample (keyed by scene and image id) so that shards evaluated by several
processes merge without counting a padded, repeated sample twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from nvpanoptix3d.engine.predict import to_cpu_float
from nvpanoptix3d.metrics import PanopticQuality2D, PanopticReconstructionQuality, depth_metrics, segments_from_volumes
from nvpanoptix3d.metrics.prq import _ClassStats, panoptic_from_labels_3d, stuff_classes_3d
from nvpanoptix3d.network.frustum3d import panoptic_3d
from nvpanoptix3d.network.postprocess import panoptic_2d


@dataclass(frozen=True)
class EvalSettings:
    stage: str  # "2d" | "3d"
    num_thing_classes: int = 9
    ignore_label: int = 255
    object_mask_threshold: float = 0.4
    overlap_threshold: float = 0.5
    mode: str = "panoptic"
    truncation: float = 3.0
    iso_value_gt: float = 1.0
    iso_value_pred: float = 2.0
    downsample_factor: int = 1
    num_classes: int = 13
    stuff_classes_3d: tuple[int, ...] = (10, 11)
    depth_scale: float = 25.0  # dataset.depth_scale: NVIDIA's upper depth clamp of the 2D post-processing


def settings_from_spec(spec: Any, stage: str) -> EvalSettings:
    ds, m = spec.dataset, spec.model
    return EvalSettings(stage=stage, num_thing_classes=ds.num_thing_classes, ignore_label=ds.ignore_label,
                        object_mask_threshold=m.object_mask_threshold, overlap_threshold=m.overlap_threshold,
                        mode=m.mode, truncation=m.frustum3d.truncation, iso_value_gt=ds.iso_value,
                        iso_value_pred=m.frustum3d.iso_recon_value, downsample_factor=ds.downsample_factor,
                        num_classes=m.sem_seg_head.num_classes,
                        stuff_classes_3d=stuff_classes_3d(ds.name, ds.num_thing_classes, m.sem_seg_head.num_classes),
                        depth_scale=ds.depth_scale)


def gt_segments_2d(semantic: np.ndarray, instance: np.ndarray,
                   ignore_label: int) -> tuple[dict[int, tuple[np.ndarray, int]], np.ndarray]:
    """Ground-truth 2D segments {id: (mask, class)} and the void mask, by TAO 7.0.1's rule: every pixel's
    ground-truth id is (class, instance id) as stored, so each distinct pair outside void is one segment — a
    stuff class stored with several instance ids is several segments, and thing pixels without an instance
    id (0) are one segment of their class (unmatched: a false negative). Void = ``ignore_label`` pixels."""
    void = semantic == ignore_label
    segs: dict[int, tuple[np.ndarray, int]] = {}
    keep = ~void
    if not keep.any():
        return segs, void
    pairs = np.stack([semantic[keep], instance[keep]], axis=1)
    for cls, iid in np.unique(pairs, axis=0):
        segs[len(segs) + 1] = (keep & (semantic == cls) & (instance == iid), int(cls))
    return segs, void


def gt_panoptic_3d(semantic: np.ndarray, instance: np.ndarray,
                   stuff_classes: tuple[int, ...] = (10, 11)) -> tuple[np.ndarray, dict]:
    """A panoptic id volume from semantic + instance volumes by TAO's rules (metrics.prq.panoptic_from_labels_3d)."""
    return panoptic_from_labels_3d(semantic, instance, stuff_classes)


@dataclass
class Evaluator:
    settings: EvalSettings
    samples: dict[str, dict[str, Any]] = field(default_factory=dict)
    loss_sums: dict[str, float] = field(default_factory=dict)
    loss_batches: int = 0

    def reset(self) -> None:
        self.samples.clear()
        self.loss_sums.clear()
        self.loss_batches = 0

    def add_losses(self, losses: dict[str, torch.Tensor]) -> None:
        for k, v in losses.items():
            self.loss_sums[k] = self.loss_sums.get(k, 0.0) + float(v.detach())
        self.loss_batches += 1

    @torch.no_grad()
    def update(self, batch: dict[str, Any], outputs: dict[str, Any]) -> None:
        s = self.settings
        logits = outputs["pred_logits"].float().cpu()
        masks = outputs["pred_masks"].float().cpu()
        depth = outputs["pred_depth"].float().cpu()
        out3d = None
        if s.stage == "3d":
            # post-processing reads the finest level only: copy just that (dense or SparseTensor masks)
            out3d = {"pred_occupancy": [to_cpu_float(outputs["pred_occupancy"][-1])],
                     "pred_masks_3d": [to_cpu_float(outputs["pred_masks_3d"][-1])],
                     "pred_geometry": to_cpu_float(outputs["pred_geometry"])}
            out3d["pred_logits"] = logits
        for i, meta in enumerate(batch["meta"]):
            key = f"{meta.get('scene_id')}/{meta.get('image_id')}"
            if key in self.samples:
                continue
            sem = batch["semantic_2d"][i].cpu().numpy()
            ins = batch["instance_2d"][i].cpu().numpy()
            h, w = sem.shape
            pred = panoptic_2d(logits[i], masks[i], size=(h, w), num_thing_classes=s.num_thing_classes,
                               object_mask_threshold=s.object_mask_threshold, overlap_threshold=s.overlap_threshold,
                               mode=s.mode, depth=depth[i], depth_scale=s.depth_scale)
            pan = pred["panoptic"].numpy()
            gt, void = gt_segments_2d(sem, ins, s.ignore_label)
            pq = PanopticQuality2D(s.num_classes)
            pq.update(gt, {seg["id"]: (pan == seg["id"], seg["category_id"]) for seg in pred["segments"]}, void)
            d_pred = pred["depth"]  # at (h, w), clamped as NVIDIA's post-processing does
            record: dict[str, Any] = {"pq2d": pq.stats,
                                      "depth": depth_metrics(d_pred.numpy(), batch["depth"][i].cpu().numpy())}
            if out3d is not None:
                frustum = batch["frustum_mask"][i].cpu()
                p3 = panoptic_3d(out3d, i, frustum=frustum, num_thing_classes=s.num_thing_classes,
                                 object_mask_threshold=s.object_mask_threshold, truncation=s.truncation, mode=s.mode)
                fr = frustum.numpy()
                gpan, gsem = gt_panoptic_3d(batch["semantic_3d"][i].cpu().numpy(),
                                            batch["instance_3d"][i].cpu().numpy(), s.stuff_classes_3d)
                gt3 = segments_from_volumes(gpan, gsem, batch["geometry"][i].cpu().numpy(), fr, s.iso_value_gt,
                                            s.downsample_factor)
                pr3 = segments_from_volumes(p3["panoptic"].numpy(), {g["id"]: g["category_id"] for g in p3["segments"]},
                                            p3["geometry"].numpy(), fr, s.iso_value_pred, s.downsample_factor)
                prq = PanopticReconstructionQuality(thing_classes=set(range(1, s.num_thing_classes + 1)))
                prq.update(gt3, pr3)
                record["prq"] = {c: (st.iou, st.tp, st.fp, st.fn, st.n) for c, st in prq.stats.items()}
            self.samples[key] = record

    def state(self) -> dict[str, Any]:
        return {"samples": self.samples, "loss_sums": self.loss_sums, "loss_batches": self.loss_batches}

    def merge(self, state: dict[str, Any]) -> None:
        for k, v in state["samples"].items():
            self.samples.setdefault(k, v)
        for k, v in state["loss_sums"].items():
            self.loss_sums[k] = self.loss_sums.get(k, 0.0) + v
        self.loss_batches += state["loss_batches"]

    def losses(self) -> dict[str, float]:
        return {k: v / max(self.loss_batches, 1) for k, v in self.loss_sums.items()}

    def compute(self) -> dict[str, Any]:
        """{"kpi": {PQ, SQ, RQ, AbsRel, RMSE, delta1[, PRQ, RSQ, RRQ, PRQ_th, PRQ_st]}, "per_class": {...},
        "num_samples": n}."""
        pq = PanopticQuality2D(self.settings.num_classes)
        prq = PanopticReconstructionQuality(thing_classes=set(range(1, self.settings.num_thing_classes + 1)))
        depth: dict[str, list[float]] = {}
        for rec in self.samples.values():
            for c, (iou, tp, fp, fn) in rec["pq2d"].items():
                st = pq.stats.setdefault(c, [0.0, 0, 0, 0])
                st[0] += iou
                st[1] += tp
                st[2] += fp
                st[3] += fn
            for k, v in rec["depth"].items():
                depth.setdefault(k, []).append(v)
            for c, (iou, tp, fp, fn, n) in rec.get("prq", {}).items():
                st = prq.stats.setdefault(c, _ClassStats())
                st.iou += iou
                st.tp += tp
                st.fp += fp
                st.fn += fn
                st.n += n
        r2 = pq.compute()
        kpi = {"PQ": r2["PQ"], "SQ": r2["SQ"], "RQ": r2["RQ"], "PQ_panopticapi": r2["PQ_panopticapi"]}
        kpi.update({k: float(np.mean(v)) for k, v in depth.items()})
        per_class: dict[str, Any] = {"2d": {str(c): v for c, v in sorted(r2["per_class"].items())}}
        if self.settings.stage == "3d":
            r3 = prq.compute()
            kpi.update({k: r3[k] for k in ("PRQ", "RSQ", "RRQ", "PRQ_th", "PRQ_st")})
            per_class["3d"] = {str(c): v for c, v in r3["per_class"].items()}
        return {"kpi": kpi, "per_class": per_class, "num_samples": len(self.samples)}


def format_table(result: dict[str, Any], names: dict[int, str] | None = None) -> str:
    """A readable per-class table (3D PRQ/RSQ/RRQ when present, 2D PQ/SQ/RQ) plus the averages."""
    names = names or {}
    lines = []
    pc3 = result["per_class"].get("3d")
    pc2 = result["per_class"].get("2d", {})
    classes = sorted({int(c) for c in list(pc2) + list(pc3 or {})})
    head = f"{'class':<12}"
    if pc3 is not None:
        head += f"{'PRQ':>8}{'RSQ':>8}{'RRQ':>8}{'N':>6}"
    head += f"{'PQ':>8}{'SQ':>8}{'RQ':>8}"
    lines.append(head)
    for c in classes:
        row = f"{names.get(c, str(c)):<12}"
        if pc3 is not None:
            v = pc3.get(str(c))
            row += (f"{v['PRQ']:8.3f}{v['RSQ']:8.3f}{v['RRQ']:8.3f}{v['N']:6d}" if v else f"{'-':>8}" * 3 + f"{'-':>6}")
        v2 = pc2.get(str(c))
        row += f"{v2['PQ']:8.3f}{v2['SQ']:8.3f}{v2['RQ']:8.3f}" if v2 else f"{'-':>8}" * 3
        lines.append(row)
    k = result["kpi"]
    row = f"{'mean':<12}"
    if pc3 is not None:
        row += f"{k['PRQ']:8.3f}{k['RSQ']:8.3f}{k['RRQ']:8.3f}{'':>6}"
    row += f"{k['PQ']:8.3f}{k['SQ']:8.3f}{k['RQ']:8.3f}"
    lines.append(row)
    lines.append("depth: " + ", ".join(f"{n} {k[n]:.3f}" for n in ("AbsRel", "RMSE", "delta1") if n in k)
                 + f"  ({result['num_samples']} images)")
    return "\n".join(lines)
