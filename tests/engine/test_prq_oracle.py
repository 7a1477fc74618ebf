"""Guards the 3D metric path: outputs built from the ground truth (occupancy, geometry, 3D masks, classes)
go through the real post-processing and Evaluator and must give PRQ close to 1."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from nvpanoptix3d.config.loader import load_spec
from nvpanoptix3d.data import collate
from nvpanoptix3d.engine.data import split_dataset
from nvpanoptix3d.engine.evaluation import Evaluator, settings_from_spec

from .conftest import make_spec, write_spec


def test_ground_truth_outputs_give_prq_near_one(tiny_data, tmp_path):
    spec = load_spec(write_spec(tmp_path / "spec.yaml", make_spec(tiny_data, tmp_path, **{"dataset.enable_3d": True})))
    ds = split_dataset(spec, "val")
    batch = collate([ds[i] for i in range(len(ds))])
    n_q, n_cls = spec.model.mask_former.num_object_queries, spec.model.sem_seg_head.num_classes
    b = len(batch["meta"])
    logits = torch.full((b, n_q, n_cls + 1), -10.0)
    logits[..., n_cls] = 10.0
    occ = [torch.stack(level).float() * 20 - 10 for level in zip(*batch["occupancy"])][::-1]  # coarse -> fine
    masks = [torch.full((b, n_q, *o.shape[-3:]), -10.0) for o in occ]
    for i, (classes, gm3) in enumerate(zip(batch["gt_classes"], batch["gt_masks_3d"])):
        assert 0 < len(classes) <= n_q
        logits[i, :len(classes)] = -10.0
        logits[i, torch.arange(len(classes)), classes] = 10.0
        for m in masks:
            m[i, :len(classes)] = F.adaptive_max_pool3d(gm3.float()[None], m.shape[-3:])[0] * 20 - 10
    h, w = batch["semantic_2d"].shape[-2:]
    outputs = {"pred_logits": logits, "pred_masks": torch.zeros(b, n_q, h // 4, w // 4),
               "pred_depth": batch["depth"][:, None].float(), "pred_occupancy": occ, "pred_masks_3d": masks,
               "pred_geometry": batch["geometry"].clamp(0, spec.model.frustum3d.truncation).float()}
    ev = Evaluator(settings_from_spec(spec, "3d"))
    ev.update(batch, outputs)
    kpi = ev.compute()["kpi"]
    assert kpi["PRQ"] > 0.9 and kpi["RRQ"] > 0.9, kpi
