"""Grading tests of exercise ``grid_anchors``: the anchors of every position of a feature map.

Oracle: torchvision's ``AnchorGenerator`` for one feature map (its ``cell_anchors``, placed by
its ``grid_anchors``), with the paper's 3 scales and 3 ratios, with odd scales whose half
sides end in .5 (rounded half to even), with strides that differ down and across, and at the
size of a real feature map (a 600 x 1000 image at stride 16).
"""

import pytest
import torch
from torchvision.models.detection.anchor_utils import AnchorGenerator

from lecturepkg.grading.feedback import expect_array, expect_raises

EXERCISE = "grid_anchors"


def oracle(scales, aspect_ratios, grid_size, stride):
    generator = AnchorGenerator(sizes=(tuple(scales),), aspect_ratios=(tuple(aspect_ratios),))
    stride_y, stride_x = (stride, stride) if isinstance(stride, int) else stride
    return generator.grid_anchors([list(grid_size)], [[torch.tensor(stride_y), torch.tensor(stride_x)]])[0]


def check(submission, scales, aspect_ratios, grid_size, stride):
    expect_array(submission(scales, aspect_ratios, grid_size, stride),
                 oracle(scales, aspect_ratios, grid_size, stride), check_dtype="exact",
                 what=f"the anchors of scales {scales} and ratios {aspect_ratios} on a grid {grid_size} with "
                      f"stride {stride} (row (i * W + j) * k + a: anchor a at row i, column j)")


@pytest.mark.points(2)
def test_three_scales_and_three_ratios(submission):
    check(submission, (32.0, 64.0, 128.0), (0.5, 1.0, 2.0), (3, 4), 16)
    check(submission, (128.0, 256.0, 512.0), (0.5, 1.0, 2.0), (2, 3), 32)


@pytest.mark.points(1)
def test_one_position(submission):
    check(submission, (16.0, 40.0), (0.25, 1.0, 3.0), (1, 1), 8)


@pytest.mark.points(1)
def test_halves_round_to_even(submission):
    expected = oracle((5.0, 7.0, 9.0), (1.0,), (1, 1), 4)
    assert expected[:, 2].tolist() == [2.0, 4.0, 4.0]  # 2.5 -> 2, 3.5 -> 4, 4.5 -> 4
    check(submission, (5.0, 7.0, 9.0), (1.0, 4.0), (2, 2), 4)


@pytest.mark.points(2)
def test_strides_that_differ_down_and_across(submission):
    check(submission, (24.0, 48.0), (0.5, 2.0), (3, 5), (16, 8))
    check(submission, (10.0,), (1.0, 0.3), (4, 2), (4, 12))


@pytest.mark.points(1)
def test_a_whole_feature_map(submission):
    check(submission, (128.0, 256.0, 512.0), (0.5, 1.0, 2.0), (38, 63), 16)  # 600 x 1000 at stride 16


@pytest.mark.points(1)
def test_bad_inputs_raise_value_error(submission):
    for args, what in [(((), (1.0,), (2, 2), 4), "no scale"),
                       (((32.0,), (0.0, 1.0), (2, 2), 4), "an aspect ratio of 0"),
                       (((32.0,), (1.0,), (0, 3), 4), "a grid of 0 rows"),
                       (((32.0,), (1.0,), (2, 2), 0), "a stride of 0")]:
        expect_raises(ValueError, submission, *args, what=f"grid_anchors with {what}")
