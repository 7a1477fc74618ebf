"""The 2D evaluation scores the depth NVIDIA's post-processing returns (TAO 7.0.1): clamped to
[0, dataset.depth_scale] when a query is kept, unclamped when none is (NVIDIA's early return)."""

from __future__ import annotations

import pytest
import torch

from nvpanoptix3d.config.loader import validate_spec
from nvpanoptix3d.engine.evaluation import EvalSettings, Evaluator, settings_from_spec

H, W, C, Q = 4, 6, 13, 2
WALL = 11  # a stuff class


def _batch(gt_depth: torch.Tensor) -> dict:
    b = gt_depth.shape[0]
    return {"meta": [{"scene_id": "s", "image_id": str(i)} for i in range(b)],
            "semantic_2d": torch.full((b, H, W), WALL), "instance_2d": torch.zeros(b, H, W, dtype=torch.long),
            "depth": gt_depth}


def _outputs(pred_depth: torch.Tensor, kept: list[bool]) -> dict:
    """Query 0 is a confident wall over the whole image where ``kept``; otherwise every query is "no object"."""
    b = pred_depth.shape[0]
    logits = torch.full((b, Q, C + 1), -10.0)
    logits[..., C] = 10.0
    for i, k in enumerate(kept):
        if k:
            logits[i, 0] = -10.0
            logits[i, 0, WALL] = 10.0
    return {"pred_logits": logits, "pred_masks": torch.full((b, Q, H // 2, W // 2), 10.0),
            "pred_depth": pred_depth[:, None]}


def _abs_rel(pred: float, gt: float) -> float:
    return abs(pred - gt) / gt


def test_a_depth_beyond_depth_scale_is_scored_clamped_as_nvidia_does():
    gt = torch.full((1, H, W), 20.0)
    gt[..., W // 2:] = 2.0
    pred = torch.full((1, H, W), 30.0)  # 10 m too far where the ground truth is 20 m ...
    pred[..., W // 2:] = 2.0
    for scale, expected in ((25.0, (_abs_rel(25.0, 20.0) + 0.0) / 2), (40.0, (_abs_rel(30.0, 20.0) + 0.0) / 2)):
        ev = Evaluator(EvalSettings(stage="2d", num_classes=C, depth_scale=scale))
        ev.update(_batch(gt), _outputs(pred, [True]))
        result = ev.compute()
        assert result["kpi"]["AbsRel"] == pytest.approx(expected, rel=1e-6), scale
        assert result["per_class"]["2d"][str(WALL)]["PQ"] == pytest.approx(1.0)  # the query was kept
    rmse = Evaluator(EvalSettings(stage="2d", num_classes=C, depth_scale=25.0))
    rmse.update(_batch(gt), _outputs(pred, [True]))
    assert rmse.compute()["kpi"]["RMSE"] == pytest.approx((5.0 ** 2 / 2) ** 0.5, rel=1e-6)


def test_negative_depth_clamps_to_zero_and_an_image_without_kept_queries_is_not_clamped():
    gt = torch.full((2, H, W), 4.0)
    pred = torch.full((2, H, W), 30.0)
    pred[0, :, : W // 2] = -1.0
    ev = Evaluator(EvalSettings(stage="2d", num_classes=C, depth_scale=25.0))
    ev.update(_batch(gt), _outputs(pred, [True, False]))
    per_image = {k: rec["depth"] for k, rec in ev.samples.items()}
    # image 0: -1 -> 0 (the metric floors at 1e-6: AbsRel 1 there), 30 -> 25 elsewhere
    assert per_image["s/0"]["AbsRel"] == pytest.approx((1.0 + _abs_rel(25.0, 4.0)) / 2, rel=1e-5)
    assert per_image["s/1"]["AbsRel"] == pytest.approx(_abs_rel(30.0, 4.0), rel=1e-6)  # NVIDIA returns early


def test_the_spec_depth_scale_reaches_the_evaluation():
    spec = validate_spec({"dataset": {"depth_scale": 7.5}})
    assert settings_from_spec(spec, "2d").depth_scale == 7.5
