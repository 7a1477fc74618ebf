"""PRQ/RSQ/RRQ against the definition (Dahnert et al. 2021) on hand-built cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nvpanoptix3d.metrics import PanopticQuality2D, PanopticReconstructionQuality, depth_metrics, segments_from_volumes


def _box(shape, lo, hi):
    m = np.zeros(shape, bool)
    m[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = True
    return m


S = (10, 10, 10)


def test_perfect_prediction_scores_one():
    gt = {1: (_box(S, (0, 0, 0), (4, 4, 4)), 3), 2: (_box(S, (5, 5, 5), (9, 9, 9)), 11)}
    m = PanopticReconstructionQuality()
    m.update(gt, gt)
    r = m.compute()
    assert r["PRQ"] == r["RSQ"] == r["RRQ"] == 1.0


def test_empty_prediction_scores_zero():
    m = PanopticReconstructionQuality()
    m.update({1: (_box(S, (0, 0, 0), (4, 4, 4)), 3)}, {})
    assert m.compute()["PRQ"] == 0.0


def test_hand_computed_case():
    a = _box(S, (0, 0, 0), (4, 4, 4))            # 64 voxels
    a_pred = _box(S, (0, 0, 0), (4, 4, 2))       # 32 voxels inside a: IoU 0.5
    b = _box(S, (6, 6, 6), (8, 8, 8))            # missed instance of class 3
    fp = _box(S, (0, 6, 0), (2, 8, 2))           # false positive of class 3
    wall_gt = _box(S, (9, 0, 0), (10, 10, 10))   # stuff class 10, 100 voxels
    wall_pred = _box(S, (9, 0, 0), (10, 10, 8))  # 80 voxels: IoU 0.8
    gt = {1: (a, 3), 2: (b, 3), 10: (wall_gt, 10)}
    pred = {7: (a_pred, 3), 8: (fp, 3), 9: (wall_pred, 10)}
    m = PanopticReconstructionQuality()
    m.update(gt, pred)
    r = m.compute()
    c3 = r["per_class"][3]
    assert (c3["TP"], c3["FP"], c3["FN"]) == (1, 1, 1)
    assert c3["PRQ"] == pytest.approx(0.5 / (1 + 0.5 + 0.5))
    assert c3["RSQ"] == pytest.approx(0.5) and c3["RRQ"] == pytest.approx(0.5)
    assert r["per_class"][10]["PRQ"] == pytest.approx(0.8)
    assert r["PRQ"] == pytest.approx((0.25 + 0.8) / 2)
    assert r["PRQ_th"] == pytest.approx(0.25) and r["PRQ_st"] == pytest.approx(0.8)


def test_iou_threshold_is_strict_and_class_must_match():
    a = _box(S, (0, 0, 0), (4, 4, 4))
    quarter = _box(S, (0, 0, 0), (4, 4, 1))  # IoU exactly 0.25 -> no match
    m = PanopticReconstructionQuality()
    m.update({1: (a, 3)}, {2: (quarter, 3), 3: (a, 4)})
    r = m.compute()["per_class"]
    assert r[3]["TP"] == 0 and r[3]["FN"] == 1 and r[3]["FP"] == 1


def test_pq2d_and_depth_metrics():
    g = np.zeros((8, 8), bool)
    g[:4] = True
    pq = PanopticQuality2D()
    pq.update({1: (g, 5)}, {1: (g, 5)})
    assert pq.compute()["PQ"] == 1.0
    d = depth_metrics(np.full((4, 4), 2.0), np.full((4, 4), 2.0))
    assert d == {"AbsRel": 0.0, "RMSE": 0.0, "delta1": 1.0}


def test_prq_on_a_256_grid_matches_shifted_boxes():
    """Correctness at the published grid size; its time and memory are measured by benchmarks/bench_prq.py."""
    rng = np.random.default_rng(0)
    shape = (256, 256, 256)
    gt, pred = {}, {}
    for i in range(6):
        lo = rng.integers(0, 200, 3)
        gt[i + 1] = (_box(shape, lo, lo + 40), 1 + i % 3)
        pred[i + 1] = (_box(shape, lo + 5, lo + 45), 1 + i % 3)
    m = PanopticReconstructionQuality()
    m.update(gt, pred)
    r = m.compute()
    assert r["RRQ"] == 1.0 and r["RSQ"] == pytest.approx(35 ** 3 / (2 * 40 ** 3 - 35 ** 3))


def _segments_reference(panoptic, semantic_of, geometry, frustum, iso_value, downsample=1):
    """The evaluation segments computed on the whole grid, the plain way."""
    surface = geometry < iso_value
    frustum_t = torch.from_numpy(frustum.astype(np.float32))[None, None]
    if downsample > 1:
        frustum_t = F.interpolate(frustum_t, scale_factor=1.0 / downsample, mode="nearest")
    out = {}
    for seg_id, cls in semantic_of.items():
        m = torch.from_numpy((panoptic == seg_id) & surface).float()[None, None]
        if downsample > 1:
            m = F.max_pool3d(m, kernel_size=downsample + 1, stride=downsample, padding=1)
        m = (F.max_pool3d(m, kernel_size=3, stride=1, padding=1) > 0) & (frustum_t > 0)
        out[seg_id] = (m[0, 0].numpy(), cls)
    return out


@pytest.mark.parametrize("downsample", [1, 2, 3])
def test_segments_from_volumes_equals_whole_grid_computation(downsample):
    rng = np.random.default_rng(downsample)
    for _ in range(15):
        n = int(rng.integers(4, 8)) * downsample
        pan = np.zeros((n, n, n), np.int32)
        for i in range(3):
            lo, size = rng.integers(0, n, 3), rng.integers(1, n, 3)
            pan[lo[0]:lo[0] + size[0], lo[1]:lo[1] + size[1], lo[2]:lo[2] + size[2]] = i + 1
        pan[rng.random(pan.shape) < 0.01] = 2
        geometry = (rng.random(pan.shape) * 2).astype(np.float32)
        frustum = rng.random(pan.shape) < 0.8
        sem_of = {1: 3, 2: 4, 3: 10, 9: 5}  # id 9 is absent: an empty segment
        got = segments_from_volumes(pan, sem_of, geometry, frustum, 1.0, downsample)
        want = _segments_reference(pan, sem_of, geometry, frustum, 1.0, downsample)
        for k in sem_of:
            assert got[k][1] == want[k][1] and np.array_equal(got[k][0], want[k][0]), (n, k)
