"""Grading tests of exercise ``conv1d_multichannel``: a 1D layer with stride and dilation.

Oracles: ``torch.nn.functional.conv1d`` in float64 (with and without dilation), a dense
kernel with zeros between its taps, and direct dot products (``np.einsum``).
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lecturepkg.grading.feedback import expect_array, expect_raises
from lecturepkg.grading.runtime import input_rng

EXERCISE = "conv1d_multichannel"


def torch_conv1d(x, weight, bias, stride=1, dilation=1):
    """F.conv1d in float64 on one (C, L) signal."""
    t = torch.from_numpy
    return F.conv1d(t(x)[None], t(weight), t(bias), stride=stride, dilation=dilation)[0].numpy()


@pytest.mark.points(2)
def test_sensor_layer_of_the_overview(submission):
    # The chapter's overview: 6 sensor channels of 100 samples, 16 filters of 3 taps with
    # dilation 4 (they span 9 samples, so the output is 8 samples shorter).
    rng = input_rng(2101)
    x = rng.normal(size=(6, 100))
    weight, bias = rng.normal(size=(16, 6, 3)), rng.normal(size=16)
    expected = torch_conv1d(x, weight, bias, dilation=4)
    assert expected.shape == (16, 92)
    expect_array(submission(x, weight, bias, dilation=4), expected,
                 what="the output for x (6, 100), weight (16, 6, 3), dilation=4")


@pytest.mark.points(2)
def test_random_signals_match_torch(submission):
    rng = input_rng(2102)
    for C, L, D, k, s, d in [(3, 20, 2, 3, 1, 1), (2, 17, 4, 2, 2, 1), (1, 30, 3, 5, 3, 2),
                             (4, 25, 2, 3, 2, 3), (3, 12, 5, 4, 1, 2), (2, 40, 3, 8, 4, 1)]:
        x = rng.normal(size=(C, L))
        weight, bias = rng.normal(size=(D, C, k)), rng.normal(size=D)
        expected = torch_conv1d(x, weight, bias, stride=s, dilation=d)
        expect_array(submission(x, weight, bias, stride=s, dilation=d), expected,
                     what=f"the output for x {x.shape}, weight {weight.shape}, stride={s}, dilation={d}")


@pytest.mark.points(1)
def test_dilation_equals_a_kernel_interleaved_with_zeros(submission):
    # A kernel of k taps with dilation d is a dense kernel of d(k - 1) + 1 taps, zeros between.
    rng = input_rng(2103)
    for d in [2, 3, 5]:
        x = rng.normal(size=(2, 24))
        weight, bias = rng.normal(size=(3, 2, 3)), rng.normal(size=3)
        dense = np.zeros((3, 2, d * 2 + 1))
        dense[:, :, ::d] = weight
        expected = torch_conv1d(x, dense, bias)  # no dilation: the zeros do the skipping
        expect_array(submission(x, weight, bias, dilation=d), expected,
                     what=f"the output with dilation={d} (expected: the dense kernel with zeros between the taps)")


@pytest.mark.points(1)
def test_stride_subsamples_the_outputs(submission):
    # The notes' figure: the kernel (0.5, 1.0) applied with stride 2.
    x = np.arange(1.0, 11.0)[None]  # (1, 10)
    weight, bias = np.array([[[0.5, 1.0]]]), np.zeros(1)
    expected = torch_conv1d(x, weight, bias)[:, ::2]  # stride 1, then every second output
    np.testing.assert_allclose(expected, torch_conv1d(x, weight, bias, stride=2))
    np.testing.assert_allclose(expected, [[2.5, 5.5, 8.5, 11.5, 14.5]])
    expect_array(submission(x, weight, bias, stride=2), expected,
                 what="the kernel (0.5, 1.0) with stride 2 on the signal 1, 2, ..., 10")
    rng = input_rng(2104)
    x = rng.normal(size=(3, 23))
    weight, bias = rng.normal(size=(2, 3, 4)), rng.normal(size=2)
    expected = torch_conv1d(x, weight, bias, dilation=2)[:, ::3]
    expect_array(submission(x, weight, bias, stride=3, dilation=2), expected,
                 what="the output with stride=3 and dilation=2 (every third output of stride 1)")


@pytest.mark.points(1)
def test_dilated_kernel_spanning_the_whole_signal_gives_one_float64_value(submission):
    rng = input_rng(2105)
    x = rng.normal(size=(2, 9))
    weight, bias = rng.normal(size=(4, 2, 3)), rng.normal(size=4)
    # taps 4 apart at positions 0, 4 and 8: one window, the whole signal
    expected = (np.einsum("dck,ck->d", weight, x[:, ::4]) + bias)[:, None]  # (4, 1)
    expect_array(submission(x, weight, bias, stride=2, dilation=4), expected,
                 what="the output when the dilated kernel spans the whole signal", check_dtype="exact")


@pytest.mark.points(1)
def test_bad_inputs_raise_value_error(submission):
    rng = input_rng(2106)
    x = rng.normal(size=(3, 8))
    # a weight of one input channel would broadcast silently over the 3 channels of x
    expect_raises(ValueError, submission, x, rng.normal(size=(2, 1, 3)), rng.normal(size=2),
                  what="conv1d_multichannel with x of 3 channels and a weight of 1")
    # 3 taps with dilation 4 span 9 samples: they do not fit in a signal of 8
    expect_raises(ValueError, submission, x, rng.normal(size=(2, 3, 3)), rng.normal(size=2), dilation=4,
                  what="conv1d_multichannel with a dilated kernel of span 9 on a signal of length 8")
