"""Grading tests of exercise ``nms``: greedy non-maximum suppression.

Oracle: ``torchvision.ops.nms`` on clustered random boxes with distinct random scores, at
several thresholds, in float64 and float32; and on boxes placed by hand for the two rules
that random boxes rarely test: a box whose IoU with a kept box equals the threshold is kept
(only an IoU strictly above it suppresses), and a suppressed box suppresses nothing.
"""

import pytest
import torch
from torchvision.ops import box_iou, nms as torchvision_nms

from lecturepkg.grading.feedback import expect_array, expect_raises
from lecturepkg.grading.runtime import input_rng
from lecturepkg.grading.tests.ch05._boxes import clustered_boxes

EXERCISE = "nms"


def scores_for(rng, n, dtype=torch.float64):
    return torch.from_numpy(rng.permutation(n) / n + rng.uniform(0, 0.5 / n, size=n)).to(dtype)  # distinct


@pytest.mark.points(3)
def test_clustered_boxes_match_torchvision(submission):
    rng = input_rng(5301)
    for clusters, per_cluster, threshold in [(3, 5, 0.5), (6, 8, 0.3), (5, 10, 0.7), (1, 12, 0.5)]:
        boxes = clustered_boxes(rng, clusters, per_cluster)
        scores = scores_for(rng, len(boxes))
        expect_array(submission(boxes, scores, threshold), torchvision_nms(boxes, scores, threshold),
                     check_dtype="exact",
                     what=f"the indices kept from {len(boxes)} boxes in {clusters} clusters at IoU threshold "
                          f"{threshold}")


@pytest.mark.points(1)
def test_float32_boxes(submission):
    rng = input_rng(5302)
    boxes = clustered_boxes(rng, 4, 6).float()
    scores = scores_for(rng, len(boxes), torch.float32)
    expect_array(submission(boxes, scores, 0.5), torchvision_nms(boxes, scores, 0.5), check_dtype="exact",
                 what="the indices kept from 24 float32 boxes")


@pytest.mark.points(1)
def test_an_iou_equal_to_the_threshold_does_not_suppress(submission):
    boxes = torch.tensor([[0.0, 0.0, 3.0, 1.0], [1.0, 0.0, 4.0, 1.0], [0.0, 0.0, 3.0, 1.2]], dtype=torch.float64)
    scores = torch.tensor([0.9, 0.8, 0.7], dtype=torch.float64)
    assert box_iou(boxes[:1], boxes[1:2]).item() == 0.5  # exactly: 2 / (3 + 3 - 2)
    expected = torchvision_nms(boxes, scores, 0.5)
    assert expected.tolist() == [0, 1]
    expect_array(submission(boxes, scores, 0.5), expected, check_dtype="exact",
                 what="the indices kept at threshold 0.5 when box 1 overlaps box 0 with an IoU of exactly 0.5")


@pytest.mark.points(1)
def test_a_suppressed_box_suppresses_nothing(submission):
    boxes = torch.tensor([[10.0, 0.0, 20.0, 10.0],  # the best
                          [6.0, 0.0, 16.0, 10.0],  # IoU 60/140 with box 0: suppressed at 0.3
                          [1.0, 0.0, 11.0, 10.0]], dtype=torch.float64)  # IoU 50/150 with box 1, 10/190 with 0
    scores = torch.tensor([0.9, 0.8, 0.7], dtype=torch.float64)
    expected = torchvision_nms(boxes, scores, 0.3)
    assert expected.tolist() == [0, 2]
    expect_array(submission(boxes, scores, 0.3), expected, check_dtype="exact",
                 what="the indices kept at threshold 0.3 from a chain: box 0 suppresses box 1, which overlaps "
                      "box 2")
    order = torch.tensor([2, 0, 1])  # the same boxes in another order
    expect_array(submission(boxes[order], scores[order], 0.3), torchvision_nms(boxes[order], scores[order], 0.3),
                 check_dtype="exact", what="the indices kept from the same three boxes given in another order")


@pytest.mark.points(1)
def test_no_boxes(submission):
    boxes, scores = torch.zeros(0, 4, dtype=torch.float64), torch.zeros(0, dtype=torch.float64)
    expect_array(submission(boxes, scores, 0.5), torchvision_nms(boxes, scores, 0.5), check_dtype="exact",
                 what="the indices kept from no boxes at all")


@pytest.mark.points(1)
def test_bad_inputs_raise_value_error(submission):
    rng = input_rng(5303)
    boxes = clustered_boxes(rng, 2, 3)
    scores = scores_for(rng, 6)
    for args, what in [((boxes, scores[:5], 0.5), "5 scores for 6 boxes"),
                       ((boxes[:, :3], scores, 0.5), "boxes of shape (6, 3)"),
                       ((boxes, scores[:, None], 0.5), "scores of shape (6, 1)")]:
        expect_raises(ValueError, submission, *args, what=f"nms with {what}")
