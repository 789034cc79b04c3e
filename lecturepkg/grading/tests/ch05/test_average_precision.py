"""Grading tests of exercise ``average_precision``: COCO's 101-point interpolated AP.

Oracle: the definition, written out differently from the usual code: at each of the 101
recall points ``r``, the best precision among all the cut-offs of the ranked list whose
recall is at least ``r`` (0 if none), averaged; the cut-offs are computed one by one with
Python sums. CI also checks the reference solution against pycocotools' ``COCOeval``
(tests/test_grading_oracles_ch05.py).
"""

import numpy as np
import pytest

from lecturepkg.grading.feedback import GradingFailure, expect_raises
from lecturepkg.grading.runtime import input_rng

EXERCISE = "average_precision"


def oracle(scores, is_true_positive, num_gt):
    ranked = sorted(range(len(scores)), key=lambda i: -scores[i])  # Python's sort is stable
    points = []  # (recall, precision) after each cut-off
    for k in range(1, len(ranked) + 1):
        hits = sum(bool(is_true_positive[i]) for i in ranked[:k])
        points.append((hits / num_gt, hits / k))
    values = [max([p for r, p in points if r >= point], default=0.0) for point in np.linspace(0, 1, 101)]
    return sum(values) / 101


def expect_ap(result, expected, what):
    if not isinstance(result, (float, np.floating)):
        raise GradingFailure(f"{what} should be a float, but your function returned a {type(result).__name__}")
    if not np.isclose(float(result), expected, rtol=1e-10, atol=1e-12):
        raise GradingFailure(f"{what}: expected {expected:.6f}, got {float(result):.6f}")


def random_case(rng, D, num_gt, quality):
    scores = rng.random(D)
    hits = rng.random(D) < np.clip(quality * scores + (1 - quality) * 0.5, 0, 1)  # better scores hit more
    while hits.sum() > num_gt:
        hits[rng.choice(np.flatnonzero(hits))] = False
    return scores, hits, num_gt


@pytest.mark.points(3)
def test_random_detections(submission):
    rng = input_rng(5601)
    for D, num_gt, quality in [(10, 6, 0.8), (40, 25, 0.5), (60, 20, 0.9), (25, 40, 0.7), (7, 3, 0.0)]:
        scores, hits, num_gt = random_case(rng, D, num_gt, quality)
        expect_ap(submission(scores, hits, num_gt), oracle(scores, hits, num_gt),
                  what=f"the AP of {D} detections ({hits.sum()} true positives) for {num_gt} objects")


@pytest.mark.points(1)
def test_a_small_example(submission):
    scores, hits = np.array([0.9, 0.8, 0.7]), np.array([True, False, True])
    expected = oracle(scores, hits, 2)
    assert expected == pytest.approx((51 * 1.0 + 50 * 2 / 3) / 101)  # recall 0.5 with precision 1, then 1 at 2/3
    expect_ap(submission(scores, hits, 2), expected,
              what="the AP of 3 detections (true, false, true by decreasing score) for 2 objects")


@pytest.mark.points(1)
def test_the_detections_are_ranked_by_score(submission):
    scores = np.array([0.2, 0.9, 0.5, 0.7, 0.1, 0.8])
    hits = np.array([True, False, True, True, False, True])
    expect_ap(submission(scores, hits, 5), oracle(scores, hits, 5),
              what="the AP of 6 detections given in no particular order")


@pytest.mark.points(1)
def test_ties_keep_their_order(submission):
    scores = np.array([0.9, 0.6, 0.6, 0.6, 0.3, 0.3])
    for hits in [np.array([True, False, True, True, False, True]), np.array([False, True, False, True, True, False])]:
        expect_ap(submission(scores, hits, 4), oracle(scores, hits, 4),
                  what=f"the AP of detections with tied scores {scores.tolist()}, hits {hits.tolist()} (ties: the "
                       f"order of the input)")


@pytest.mark.points(1)
def test_perfect_missing_and_no_detections(submission):
    scores = np.linspace(1, 0.1, 8)
    for hits, num_gt, what in [(np.ones(8, dtype=bool), 8, "8 true positives for 8 objects"),
                               (np.ones(8, dtype=bool), 16, "8 true positives for 16 objects"),
                               (np.zeros(8, dtype=bool), 3, "8 false positives for 3 objects")]:
        expect_ap(submission(scores, hits, num_gt), oracle(scores, hits, num_gt), what=f"the AP of {what}")
    expect_ap(submission(np.zeros(0), np.zeros(0, dtype=bool), 3), 0.0, what="the AP of no detections at all")


@pytest.mark.points(1)
def test_bad_inputs_raise_value_error(submission):
    scores, hits = np.array([0.9, 0.8, 0.7]), np.array([True, False, True])
    for args, what in [((scores, hits, 0), "num_gt 0"),
                       ((scores, hits[:2], 2), "2 hits for 3 scores"),
                       ((scores, hits, 1), "2 true positives for 1 object"),
                       ((scores[None], hits[None], 2), "scores of shape (1, 3)")]:
        expect_raises(ValueError, submission, *args, what=f"average_precision with {what}")
