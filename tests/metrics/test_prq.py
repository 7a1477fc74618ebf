"""PRQ/RSQ/RRQ and 2D PQ on hand-built cases, one test per rule of docs/metrics.md (TAO 7.0.1 / Uni-3D / Dahnert)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nvpanoptix3d.metrics import PanopticQuality2D, PanopticReconstructionQuality, depth_metrics, segments_from_volumes
from nvpanoptix3d.metrics.prq import panoptic_from_labels_3d, stuff_classes_3d, to_volume


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


def _whole_grid_reference(panoptic, semantic_of, geometry, frustum, iso_value, downsample=1):
    """The references' segments written out plainly on the whole grid: |df| < iso, max-pool (k f+1, s f, p 1),
    every voxel sets its offset cube v + {0,1,2}^3, frustum cut."""
    surface = np.abs(geometry) < iso_value
    fr = torch.from_numpy(frustum.astype(np.float32))[None, None]
    if downsample > 1:
        fr = F.interpolate(fr, size=[n // downsample for n in frustum.shape], mode="nearest")
    fr = fr[0, 0].numpy() > 0
    out = {}
    for seg_id, cls in semantic_of.items():
        m = torch.from_numpy((panoptic == seg_id) & surface).float()[None, None]
        if downsample > 1:
            m = F.max_pool3d(m, kernel_size=downsample + 1, stride=downsample, padding=1)
        m = m[0, 0].numpy() > 0
        thick = np.zeros_like(m)
        for v in np.argwhere(m):
            for d in np.ndindex(3, 3, 3):
                w = v + np.array(d)
                if np.all(w < m.shape):
                    thick[tuple(w)] = True
        out[seg_id] = (thick & fr, cls)
    return out


@pytest.mark.parametrize("downsample", [1, 2, 3])
def test_segments_equal_the_references_whole_grid_rules(downsample):
    rng = np.random.default_rng(downsample)
    for _ in range(8):
        n = int(rng.integers(3, 6)) * downsample
        pan = np.zeros((n, n, n), np.int32)
        for i in range(3):
            lo, size = rng.integers(0, n, 3), rng.integers(1, n, 3)
            pan[lo[0]:lo[0] + size[0], lo[1]:lo[1] + size[1], lo[2]:lo[2] + size[2]] = i + 1
        pan[rng.random(pan.shape) < 0.01] = 2
        geometry = (rng.random(pan.shape) * 4 - 2).astype(np.float32)  # signed: |df| decides
        frustum = rng.random(pan.shape) < 0.8
        sem_of = {1: 3, 2: 4, 3: 10, 9: 5}  # id 9 is absent: an empty segment
        got = segments_from_volumes(pan, sem_of, geometry, frustum, 1.0, downsample)
        on_torch = segments_from_volumes(pan, sem_of, geometry, frustum, 1.0, downsample, device="cpu")
        want = _whole_grid_reference(pan, sem_of, geometry, frustum, 1.0, downsample)
        for k in sem_of:
            shape = want[k][0].shape
            assert got[k][1] == want[k][1]
            assert np.array_equal(to_volume(got[k][0], shape), want[k][0]), (n, k)
            assert np.array_equal(on_torch[k][0], got[k][0]), (n, k)


def test_thickening_is_the_offset_cube_not_the_centred_one():
    pan = np.zeros((6, 6, 6), np.int32)
    pan[2, 2, 2] = 1
    pan[5, 0, 5] = 2  # at the far border: the cube is cut
    seg = segments_from_volumes(pan, {1: 3, 2: 3}, np.zeros(pan.shape, np.float32), np.ones(pan.shape, bool), 1.0)
    one = to_volume(seg[1][0], pan.shape)
    assert one.sum() == 27 and one[2:5, 2:5, 2:5].all() and not one[1, 1, 1]
    two = to_volume(seg[2][0], pan.shape)
    assert two.sum() == 3 and two[5, 0:3, 5].all()


def test_surface_test_takes_the_absolute_distance():
    pan = np.zeros((4, 4, 4), np.int32)
    pan[0, 0, 0] = pan[0, 0, 3] = pan[3, 0, 0] = 1
    geometry = np.full(pan.shape, 3.0, np.float32)
    geometry[0, 0, 0], geometry[0, 0, 3], geometry[3, 0, 0] = -0.5, -1.5, 0.99
    seg = to_volume(segments_from_volumes(pan, {1: 3}, geometry, np.ones(pan.shape, bool), 1.0)[1][0], pan.shape)
    assert seg[0, 0, 0] and seg[3, 0, 0] and not seg[0, 0, 3]  # -0.5 and 0.99 are surface, -1.5 is not


def test_segments_empty_after_the_frustum_cut_still_count():
    pan = np.zeros((8, 8, 8), np.int32)
    pan[0:2, 0:2, 0:2] = 1   # outside the frustum
    pan[5:7, 5:7, 5:7] = 2
    frustum = np.zeros(pan.shape, bool)
    frustum[4:, 4:, 4:] = True
    geometry = np.zeros(pan.shape, np.float32)
    gt = segments_from_volumes(pan, {1: 3, 2: 3}, geometry, frustum, 1.0)
    assert gt[1][0].size == 0 and gt[2][0].size > 0
    m = PanopticReconstructionQuality()
    m.update(gt, {7: gt[2], 8: (np.zeros(0, np.int64), 3)})  # an empty prediction is a false positive
    c3 = m.compute()["per_class"][3]
    assert (c3["TP"], c3["FN"], c3["FP"], c3["N"]) == (1, 1, 1, 2)
    assert c3["PRQ"] == pytest.approx(1 / (1 + 0.5 + 0.5))


def test_gt_segments_follow_taos_stuff_and_instance_rules():
    sem = np.zeros((4, 4, 4), np.int64)
    ins = np.zeros((4, 4, 4), np.int64)
    sem[0] = 10                       # wall
    sem[1] = 12                       # ceiling: stuff only for Matterport
    ins[2, :, :2], sem[2, :, :2] = 5, 3    # instance 5: chair ...
    sem[2, 0, 0] = 0                  # ... one voxel labelled free space stays in its mask
    sem[2, 1, 0] = 4                  # minority label loses the vote
    ins[3, 0, 0], sem[3, 0, 0] = 6, 11     # instance 6 only on floor: no class, no segment
    ins[0, 0, 0] = 5                  # wall voxel carrying instance 5 goes to the wall
    pan, sem_of = panoptic_from_labels_3d(sem, ins, stuff_classes_3d("front3d"))
    assert sorted(sem_of.values()) == [3, 10, 11]
    chair = [k for k, c in sem_of.items() if c == 3][0]
    assert (pan == chair).sum() == 8 and pan[2, 0, 0] == chair and pan[0, 0, 0] != chair
    assert not np.isin(pan[1], list(sem_of)).any()           # front3d ceiling: no segment
    _, mp = panoptic_from_labels_3d(sem, ins, stuff_classes_3d("matterport"))
    assert 12 in mp.values()
    assert stuff_classes_3d("front3d") == (10, 11) and stuff_classes_3d("matterport") == (10, 11, 12)


def test_pq2d_union_leaves_out_the_predictions_void_pixels():
    gt = np.zeros((1, 10), bool)
    gt[0, :4] = True
    pred = np.zeros((1, 10), bool)
    pred[0, :9] = True                 # 4 on the segment, 5 on void
    void = np.zeros((1, 10), bool)
    void[0, 4:9] = True
    pq = PanopticQuality2D()
    pq.update({1: (gt, 5)}, {1: (pred, 5)}, void)
    assert pq.stats[5][:4] == [1.0, 1, 0, 0]  # IoU 4 / (4 + 9 - 4 - 5) = 1
    pq = PanopticQuality2D()
    pq.update({1: (gt, 5)}, {1: (pred, 5)})   # without void: 4 / 9 < 0.5, no match
    assert pq.stats[5][1:] == [0, 1, 1]


def test_pq2d_class_average_is_taos_with_panopticapis_beside_it():
    a = np.zeros((4, 4), bool)
    a[:2] = True
    b = ~a
    pq = PanopticQuality2D(num_classes=5)        # classes 1..4 are averaged, absent ones score 0
    pq.update({1: (a, 1), 2: (b, 2)}, {1: (a, 1), 2: (a, 3)})
    r = pq.compute()
    # class 1: PQ 1; class 2: FN only, 0; class 3: FP only, 0; class 4 absent: 0
    assert r["PQ"] == pytest.approx(1 / 4)
    assert r["PQ_panopticapi"] == pytest.approx(1 / 3)
    assert r["per_class"][1]["PQ"] == 1.0 and 4 not in r["per_class"]
