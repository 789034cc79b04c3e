"""Grading tests of exercise ``conv1x1``: a 1 x 1 convolution as one matrix product.

Oracle: ``torch.nn.functional.conv2d`` with a 1 x 1 kernel, in float64 (float32 where the
dtype is what is tested).
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lecturepkg.grading.feedback import GradingFailure, expect_array, expect_raises
from lecturepkg.grading.runtime import input_rng

EXERCISE = "conv1x1"


def torch_conv1x1(x, weight, bias):
    t = torch.from_numpy
    return F.conv2d(t(x), t(weight), t(bias)).numpy()


@pytest.mark.points(2)
def test_random_batches_match_torch(submission):
    rng = input_rng(3201)
    for N, C, D, H, W in [(2, 3, 5, 4, 6), (3, 6, 2, 5, 5), (1, 4, 4, 7, 3), (4, 1, 3, 2, 9)]:
        x, weight, bias = rng.normal(size=(N, C, H, W)), rng.normal(size=(D, C, 1, 1)), rng.normal(size=D)
        expect_array(submission(x, weight, bias), torch_conv1x1(x, weight, bias),
                     what=f"the output for x {x.shape} and weight {weight.shape}")


@pytest.mark.points(2)
def test_each_pixel_gets_the_same_linear_map(submission):
    # y[n, :, i, j] = W @ x[n, :, i, j] + b: a pixel's output depends on that pixel only
    rng = input_rng(3202)
    x, weight, bias = rng.normal(size=(2, 5, 6, 7)), rng.normal(size=(3, 5, 1, 1)), rng.normal(size=3)
    x[1, :, 4, 2] = 100.0  # one loud pixel in the second image
    expected = torch_conv1x1(x, weight, bias)
    np.testing.assert_allclose(expected[1, :, 4, 2], weight[:, :, 0, 0] @ x[1, :, 4, 2] + bias)
    result = submission(x, weight, bias)
    expect_array(result, expected, what="the output when one pixel of the second image is 100")
    quiet = np.ones(x.shape[2:], dtype=bool)
    quiet[4, 2] = False
    if np.abs(np.asarray(result)[1][:, quiet]).max() > 100:
        raise GradingFailure("the loud pixel leaked into other pixels: pixels were mixed")


@pytest.mark.points(1)
def test_googlenet_reduction_of_the_notes(submission):
    # the notes' 1x1 reduction: 192 maps of 28 x 28 -> 16 maps, the same size
    rng = input_rng(3203)
    x, weight, bias = rng.normal(size=(1, 192, 28, 28)), rng.normal(size=(16, 192, 1, 1)), rng.normal(size=16)
    expected = torch_conv1x1(x, weight, bias)
    assert expected.shape == (1, 16, 28, 28)
    expect_array(submission(x, weight, bias), expected, what="the 192 -> 16 reduction on 28 x 28 maps")


@pytest.mark.points(1)
def test_float32_stays_float32(submission):
    rng = input_rng(3204)
    x = rng.normal(size=(2, 4, 5, 3)).astype(np.float32)
    weight, bias = rng.normal(size=(6, 4, 1, 1)).astype(np.float32), rng.normal(size=6).astype(np.float32)
    expect_array(submission(x, weight, bias), torch_conv1x1(x, weight, bias),
                 what="the output for float32 inputs", check_dtype="exact")


@pytest.mark.points(1)
def test_bad_weights_raise_value_error(submission):
    rng = input_rng(3205)
    x = rng.normal(size=(2, 3, 4, 4))
    for weight, bias, what in [
        (rng.normal(size=(5, 3, 3, 3)), rng.normal(size=5), "a 3 x 3 kernel"),
        (rng.normal(size=(5, 4, 1, 1)), rng.normal(size=5), "a weight for 4 channels on 3"),
        (rng.normal(size=(5, 3, 1, 1)), rng.normal(size=4), "4 biases for 5 filters"),
    ]:
        expect_raises(ValueError, submission, x, weight, bias, what=f"conv1x1 with {what}")
