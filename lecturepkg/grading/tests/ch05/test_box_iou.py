"""Grading tests of exercise ``box_iou``: the IoU of every pair of boxes.

Oracle: ``torchvision.ops.box_iou`` on random boxes in float64 and float32, and on boxes
placed by hand (disjoint, touching, nested, identical) whose IoU is known.
"""

import pytest
import torch
from torchvision.ops import box_iou as torchvision_box_iou

from lecturepkg.grading.feedback import expect_array, expect_raises
from lecturepkg.grading.runtime import input_rng
from lecturepkg.grading.tests.ch05._boxes import random_boxes

EXERCISE = "box_iou"


@pytest.mark.points(3)
def test_random_boxes_match_torchvision(submission):
    rng = input_rng(5101)
    for N, M in [(1, 1), (6, 4), (3, 9), (20, 17)]:
        boxes1, boxes2 = random_boxes(rng, N), random_boxes(rng, M)
        expect_array(submission(boxes1, boxes2), torchvision_box_iou(boxes1, boxes2),
                     what=f"the IoU of {N} boxes with {M} boxes")


@pytest.mark.points(1)
def test_boxes_placed_by_hand(submission):
    boxes1 = torch.tensor([[0.0, 0.0, 4.0, 2.0], [1.0, 1.0, 3.0, 5.0]], dtype=torch.float64)
    boxes2 = torch.tensor([[0.0, 0.0, 4.0, 2.0],  # identical to the first: 1
                           [4.0, 0.0, 6.0, 2.0],  # touches the first along x = 4: 0
                           [1.0, 0.5, 2.0, 1.5],  # inside the first
                           [10.0, 10.0, 11.0, 12.0],  # far from both, down and right
                           [5.0, 3.0, 6.0, 9.0]], dtype=torch.float64)  # beside the second, below the first
    expected = torchvision_box_iou(boxes1, boxes2)
    assert expected[0, 0] == 1 and expected[0, 1] == 0 and expected[0, 2] == 1 / 8 and expected[1, 4] == 0
    expect_array(submission(boxes1, boxes2), expected,
                 what="the IoU of boxes placed by hand (rows: boxes1, columns: boxes2)")


@pytest.mark.points(1)
def test_float32_boxes_give_float32(submission):
    rng = input_rng(5102)
    boxes1, boxes2 = random_boxes(rng, 5, dtype=torch.float32), random_boxes(rng, 7, dtype=torch.float32)
    expect_array(submission(boxes1, boxes2), torchvision_box_iou(boxes1, boxes2), check_dtype="exact",
                 what="the IoU of float32 boxes")


@pytest.mark.points(1)
def test_no_boxes_give_an_empty_matrix(submission):
    rng = input_rng(5103)
    boxes = random_boxes(rng, 3)
    empty = torch.zeros(0, 4, dtype=torch.float64)
    expect_array(submission(empty, boxes), torchvision_box_iou(empty, boxes), what="the IoU of 0 boxes with 3")
    expect_array(submission(boxes, empty), torchvision_box_iou(boxes, empty), what="the IoU of 3 boxes with 0")


@pytest.mark.points(1)
def test_bad_inputs_raise_value_error(submission):
    rng = input_rng(5104)
    boxes = random_boxes(rng, 4)
    for args, what in [((boxes[:, :3], boxes), "boxes1 of shape (4, 3)"),
                       ((boxes, boxes[0]), "boxes2 of shape (4,), a single box without its batch axis"),
                       ((boxes[None], boxes), "boxes1 of shape (1, 4, 4)")]:
        expect_raises(ValueError, submission, *args, what=f"box_iou with {what}")
