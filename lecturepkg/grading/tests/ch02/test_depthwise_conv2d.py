"""Grading tests of exercise ``depthwise_conv2d``: one kernel per channel, no mixing.

Oracle: ``torch.nn.functional.conv2d`` with ``groups`` equal to the number of input
channels, in float64.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lecturepkg.grading.feedback import GradingFailure, expect_array, expect_raises
from lecturepkg.grading.runtime import input_rng

EXERCISE = "depthwise_conv2d"


def torch_depthwise(x, weight, bias, padding=0):
    """F.conv2d with groups = C on one (C, H, W) image, float64."""
    t = torch.from_numpy
    return F.conv2d(t(x)[None], t(weight), t(bias), padding=padding, groups=x.shape[0])[0].numpy()


@pytest.mark.points(2)
def test_one_kernel_per_channel_matches_torch(submission):
    rng = input_rng(2701)
    for (C, H, W), (kh, kw), p in [((3, 6, 7), (3, 3), 0), ((4, 5, 5), (2, 3), 1), ((1, 8, 6), (3, 2), 0),
                                   ((5, 7, 6), (5, 5), 2)]:
        x = rng.normal(size=(C, H, W))
        weight, bias = rng.normal(size=(C, 1, kh, kw)), rng.normal(size=C)
        expected = torch_depthwise(x, weight, bias, p)
        expect_array(submission(x, weight, bias, padding=p), expected,
                     what=f"the output for x {x.shape}, weight {weight.shape}, padding={p}")


@pytest.mark.points(2)
def test_channel_multiplier_matches_torch(submission):
    # D = m * C output channels: input channel c feeds outputs c*m, ..., c*m + m - 1
    rng = input_rng(2702)
    for (C, H, W), m, p in [((3, 5, 6), 2, 0), ((2, 6, 5), 3, 1)]:
        x = rng.normal(size=(C, H, W))
        weight, bias = rng.normal(size=(m * C, 1, 3, 3)), rng.normal(size=m * C)
        expected = torch_depthwise(x, weight, bias, p)
        expect_array(submission(x, weight, bias, padding=p), expected,
                     what=f"the output for x {x.shape} and weight {weight.shape} (channel multiplier {m})")


@pytest.mark.points(1)
def test_channels_are_never_mixed(submission):
    rng = input_rng(2703)
    x = np.zeros((3, 6, 6))
    x[1] = rng.normal(size=(6, 6))  # only channel 1 carries a signal
    weight, bias = rng.normal(size=(6, 1, 3, 3)), rng.normal(size=6)
    expected = torch_depthwise(x, weight, bias)
    silent = [0, 1, 4, 5]  # the outputs of channels 0 and 2 (multiplier 2): bias only
    np.testing.assert_allclose(expected[silent], np.broadcast_to(bias[silent, None, None], (4, 4, 4)))
    result = submission(x, weight, bias)
    expect_array(result, expected, what="the output when only input channel 1 is non-zero")
    if not np.allclose(np.asarray(result)[silent], bias[silent, None, None]):
        raise GradingFailure("outputs of silent input channels changed: channels were mixed")


@pytest.mark.points(1)
def test_same_padding_keeps_the_size_and_float64(submission):
    # MobileNet's 3 x 3 depthwise layers use padding 1: the map keeps its size
    rng = input_rng(2704)
    x = rng.normal(size=(8, 7, 9))
    weight, bias = rng.normal(size=(8, 1, 3, 3)), rng.normal(size=8)
    expected = torch_depthwise(x, weight, bias, padding=1)
    assert expected.shape == x.shape
    expect_array(submission(x, weight, bias, padding=1), expected,
                 what="the output of a 3 x 3 depthwise layer with padding 1", check_dtype="exact")


@pytest.mark.points(1)
def test_bad_weights_raise_value_error(submission):
    rng = input_rng(2705)
    x = rng.normal(size=(3, 6, 6))
    # the weight of a full convolution (it would mix the 3 channels)
    expect_raises(ValueError, submission, x, rng.normal(size=(3, 3, 3, 3)), rng.normal(size=3),
                  what="depthwise_conv2d with a weight of shape (3, 3, 3, 3)")
    # 4 output channels cannot be split evenly over 3 input channels
    expect_raises(ValueError, submission, x, rng.normal(size=(4, 1, 3, 3)), rng.normal(size=4),
                  what="depthwise_conv2d with 4 kernels for 3 channels")
