"""Grading tests of exercise ``max_pool2d``: non-overlapping max pooling.

Oracles: the notes' pooled 4 x 4 example, ``torch.nn.functional.max_pool2d`` in float64,
and a reshape of the input into its k x k blocks.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lecturepkg.grading.feedback import expect_array, expect_raises
from lecturepkg.grading.runtime import input_rng

EXERCISE = "max_pool2d"


def torch_max_pool2d(x, k):
    """F.max_pool2d on one (C, H, W) array; stride = kernel size, no padding, floor mode."""
    return F.max_pool2d(torch.from_numpy(x), k).numpy()


@pytest.mark.points(2)
def test_worked_example_from_the_notes(submission):
    # Sick's slides: the 4x4 feature map after ReLU, pooled 2x2 -> [[104, 217.5], [224, 52.5]]
    feature_map = np.array([
        [32.5, -105.5, 185.5, 54],
        [-105.5, 104, 217.5, 31],
        [-44, 224, 38.5, -18],
        [-60.5, 213.5, 52.5, 37.5],
    ])
    relu = np.maximum(feature_map, 0)[np.newaxis]  # (C=1, 4, 4)
    expected = np.array([[[104.0, 217.5], [224.0, 52.5]]])
    expect_array(submission(relu, 2), expected, what="the pooled map of the slides' example")


@pytest.mark.points(2)
def test_random_maps_match_torch(submission):
    rng = input_rng(301)
    for shape, k in [((3, 8, 8), 2), ((2, 9, 7), 3), ((1, 13, 8), 4), ((4, 6, 10), 2)]:
        x = rng.normal(size=shape)
        expect_array(submission(x, k), torch_max_pool2d(x, k), what=f"the result for x of shape {shape} and k={k}")


@pytest.mark.points(1)
def test_odd_sizes_drop_the_incomplete_border(submission):
    rng = input_rng(302)
    x = rng.uniform(0, 1, size=(2, 7, 5))
    x[:, 6, :] = 10.0  # the last row and column do not fill a 2x2 window: ignored
    x[:, :, 4] = 10.0
    expected = x[:, :6, :4].reshape(2, 3, 2, 2, 2).max(axis=(2, 4))  # (2, 3, 2)
    np.testing.assert_array_equal(expected, torch_max_pool2d(x, 2))
    expect_array(submission(x, 2), expected, what="the result for a 7x5 map pooled 2x2")


@pytest.mark.points(1)
def test_negative_maps(submission):
    rng = input_rng(303)
    x = -rng.uniform(1, 2, size=(3, 4, 6))  # every value negative
    expect_array(submission(x, 2), torch_max_pool2d(x, 2), what="the result for an all-negative input")


@pytest.mark.points(1)
def test_non_square_map_with_a_large_window_keeps_float32(submission):
    rng = input_rng(304)
    x = rng.normal(size=(2, 5, 11)).astype(np.float32)
    expected = torch_max_pool2d(x, 5)  # (2, 1, 2), float32
    expect_array(submission(x, 5), expected, what="the result for a float32 input of shape (2, 5, 11), k=5",
                 check_dtype="exact")


@pytest.mark.points(1)
def test_window_larger_than_the_map_raises_value_error(submission):
    rng = input_rng(305)
    expect_raises(ValueError, submission, rng.normal(size=(2, 3, 8)), 4,
                  what="max_pool2d with a 4x4 window on a 3x8 map")
