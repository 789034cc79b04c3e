"""Grading tests of exercise ``causal_conv1d``: a convolution that only looks at the past.

Oracles: the notes' toy example, and ``torch.nn.functional.conv1d`` in float64 after padding
the signal on the left with ``torch.nn.functional.pad``.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lecturepkg.grading.feedback import GradingFailure, expect_array, expect_raises
from lecturepkg.grading.runtime import input_rng

EXERCISE = "causal_conv1d"


def torch_causal(x, weight, dilation=1):
    """Left-pad by dilation * (k - 1), then F.conv1d (float64): (C, T) -> (D, T)."""
    k = weight.shape[-1]
    padded = F.pad(torch.from_numpy(x)[None], (dilation * (k - 1), 0))
    return F.conv1d(padded, torch.from_numpy(weight), dilation=dilation)[0].numpy()


@pytest.mark.points(2)
def test_toy_example_from_the_notes(submission):
    # The notes: the signal 10, 20, 30 and the kernel 1, 2, with a zero padded at the start.
    x = np.array([[10.0, 20.0, 30.0]])
    w = np.array([[[1.0, 2.0]]])
    expected = torch_causal(x, w)
    np.testing.assert_array_equal(expected, [[20.0, 50.0, 80.0]])  # 0*1 + 10*2, 10*1 + 20*2, ...
    expect_array(submission(x, w), expected, what="causal_conv1d of (10, 20, 30) with the kernel (1, 2)")


@pytest.mark.points(2)
def test_random_signals_match_torch(submission):
    rng = input_rng(2401)
    for C, T, D, k, d in [(1, 12, 1, 3, 1), (3, 20, 2, 2, 1), (2, 16, 4, 3, 2), (4, 30, 3, 2, 4), (2, 25, 2, 4, 3)]:
        x, weight = rng.normal(size=(C, T)), rng.normal(size=(D, C, k))
        expected = torch_causal(x, weight, d)
        expect_array(submission(x, weight, dilation=d), expected,
                     what=f"the output for x {x.shape}, weight {weight.shape}, dilation={d}")


@pytest.mark.points(1)
def test_the_future_does_not_change_the_past(submission):
    rng = input_rng(2402)
    x, weight = rng.normal(size=(2, 16)), rng.normal(size=(3, 2, 3))
    future = x.copy()
    future[:, 9:] = rng.normal(size=(2, 7))  # only time steps 9, 10, ... change
    before, after = submission(x, weight, dilation=2), submission(future, weight, dilation=2)
    expect_array(before, torch_causal(x, weight, 2), what="the output for x (2, 16), dilation=2")
    expect_array(after, torch_causal(future, weight, 2), what="the output after changing x from time 9 on")
    if not np.array_equal(before[:, :9], after[:, :9]):
        raise GradingFailure("changing the inputs at time 9 and later changed outputs before time 9: "
                             "the convolution is not causal")


@pytest.mark.points(1)
def test_impulse_response_is_the_kernel_back_to_front(submission):
    # an impulse at time 0 meets tap k - 1 - i at time i * dilation
    x = np.zeros((1, 10))
    x[0, 0] = 1.0
    w = np.array([[[1.0, 2.0, 3.0]]])
    expected = torch_causal(x, w, dilation=3)
    np.testing.assert_array_equal(expected, [[3.0, 0, 0, 2.0, 0, 0, 1.0, 0, 0, 0]])
    expect_array(submission(x, w, dilation=3), expected,
                 what="the response to an impulse at time 0 (kernel (1, 2, 3), dilation 3)")


@pytest.mark.points(1)
def test_signal_shorter_than_the_receptive_field_keeps_its_length_and_float64(submission):
    rng = input_rng(2403)
    x, weight = rng.normal(size=(2, 4)), rng.normal(size=(3, 2, 5))  # the kernel reaches 12 steps back
    expect_array(submission(x, weight, dilation=3), torch_causal(x, weight, 3),
                 what="the output for a signal of 4 steps, 5 taps, dilation 3", check_dtype="exact")


@pytest.mark.points(1)
def test_channel_mismatch_raises_value_error(submission):
    rng = input_rng(2404)
    x = rng.normal(size=(3, 10))
    for c in [2, 1]:
        expect_raises(ValueError, submission, x, rng.normal(size=(2, c, 3)),
                      what=f"causal_conv1d with x of 3 channels and a weight of {c}")
