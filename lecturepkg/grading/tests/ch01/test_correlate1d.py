"""Grading tests of exercise ``correlate1d``: valid 1D cross-correlation.

Oracles: the notes' worked example, ``torch.nn.functional.conv1d`` in float64 and direct
dot products. Expectations are computed here, outside the student's call.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lecturepkg.grading.feedback import expect_array, expect_raises
from lecturepkg.grading.runtime import input_rng

EXERCISE = "correlate1d"


def torch_correlate(x, w):
    """F.conv1d on one signal with one kernel, float64: (W,), (k,) -> (W - k + 1,)."""
    return F.conv1d(torch.from_numpy(x).view(1, 1, -1), torch.from_numpy(w).view(1, 1, -1)).view(-1).numpy()


@pytest.mark.points(2)
def test_worked_example_from_the_notes(submission):
    # Fleuret's notes: (1, 2, 3, 4) correlated with (3, 2) is (3 + 4, 6 + 6, 9 + 8).
    x = np.array([1.0, 2.0, 3.0, 4.0])
    w = np.array([3.0, 2.0])
    expect_array(submission(x, w), np.array([7.0, 12.0, 17.0]), what="correlate1d([1, 2, 3, 4], [3, 2])")


@pytest.mark.points(2)
def test_random_signals_match_torch(submission):
    rng = input_rng(101)
    for W, k in [(10, 3), (7, 2), (16, 5), (9, 4), (12, 6)]:
        x, w = rng.normal(size=W), rng.normal(size=k)
        expected = torch_correlate(x, w)
        expect_array(submission(x, w), expected,
                     what=f"the result for a signal of length {W} and a kernel of length {k}")


@pytest.mark.points(1)
def test_kernel_as_long_as_the_signal(submission):
    rng = input_rng(102)
    x, w = rng.normal(size=6), rng.normal(size=6)
    expected = np.array([float(np.dot(x, w))])  # one position: the dot product
    expect_array(submission(x, w), expected, what="the result when len(w) == len(x)")


@pytest.mark.points(1)
def test_length_one_kernel_scales_the_signal(submission):
    rng = input_rng(103)
    x = rng.normal(size=8)
    expect_array(submission(x, np.array([-2.5])), -2.5 * x, what="the result for the kernel [-2.5]")


@pytest.mark.points(1)
def test_returns_float64_of_the_valid_length(submission):
    rng = input_rng(104)
    x, w = rng.normal(size=11), rng.normal(size=4)
    expected = torch_correlate(x, w)  # (8,) float64
    expect_array(submission(x, w), expected, what="the result for float64 inputs", check_dtype="exact")


@pytest.mark.points(1)
def test_kernel_longer_than_signal_raises_value_error(submission):
    rng = input_rng(105)
    # one tap too long: W - k + 1 = 0 output positions, which is an error, not an empty result
    expect_raises(ValueError, submission, rng.normal(size=4), rng.normal(size=5),
                  what="correlate1d with a kernel of length 5 on a signal of length 4")
