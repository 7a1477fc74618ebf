"""2D ground-truth segments by TAO 7.0.1's rule (ids = class·1000 + stored instance id): hand-made maps."""

from __future__ import annotations

import numpy as np

from nvpanoptix3d.engine.evaluation import gt_segments_2d
from nvpanoptix3d.metrics.pq2d import PanopticQuality2D

VOID = 13


def _segments(sem, ins):
    segs, void = gt_segments_2d(np.array(sem), np.array(ins), VOID)
    return sorted((cls, int(m.sum())) for m, cls in segs.values()), int(void.sum())


def test_thing_pixels_without_an_instance_id_are_one_segment_of_their_class():
    sem = [[3, 3, 3, 3], [3, 3, 10, 10]]
    ins = [[1, 1, 0, 0], [0, 2, 0, 0]]
    assert _segments(sem, ins) == ([(3, 1), (3, 2), (3, 3), (10, 2)], 0)  # ids 3001, 3002, 3000 and 10000


def test_a_stuff_class_stored_with_several_instance_ids_is_several_segments():
    sem = [[10, 10, 11, 11]]
    ins = [[0, 5, 0, 0]]
    assert _segments(sem, ins) == ([(10, 1), (10, 1), (11, 2)], 0)


def test_void_pixels_are_no_segment_whatever_their_instance_id():
    sem = [[VOID, VOID, 3]]
    ins = [[4, 0, 4]]
    assert _segments(sem, ins) == ([(3, 1)], 2)
    assert _segments([[VOID]], [[0]]) == ([], 1)


def test_an_unmatched_id_less_thing_region_is_a_false_negative():
    """A 2x2 map: the chair (class 3) instance 1 is predicted exactly; its 2 id-less pixels are not: FN."""
    sem = np.array([[3, 3], [3, 3]])
    ins = np.array([[1, 1], [0, 0]])
    gt, void = gt_segments_2d(sem, ins, VOID)
    pred = {1: (np.array([[True, True], [False, False]]), 3)}
    pq = PanopticQuality2D(14)
    pq.update(gt, pred, void)
    iou, tp, fp, fn = pq.stats[3]  # [IoU sum, TP, FP, FN] of the class
    assert (iou, tp, fp, fn) == (1.0, 1, 0, 1)
    assert pq.compute()["per_class"][3]["RQ"] == 1 / 1.5
