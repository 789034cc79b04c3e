"""Grading tests of exercise ``correlate1d_kernel_grad``: backpropagation to the kernel.

Oracles: PyTorch's autograd through ``torch.nn.functional.conv1d`` in float64, and small
cases worked out by hand from the definition.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lecturepkg.grading.feedback import expect_array, expect_raises
from lecturepkg.grading.runtime import input_rng

EXERCISE = "correlate1d_kernel_grad"


def autograd_kernel_grad(x, grad_output, kernel_size, seed=0):
    """dL/dw from autograd for y = conv1d(x, w); the value of w does not matter."""
    w = torch.from_numpy(input_rng(seed).normal(size=kernel_size)).requires_grad_()
    y = F.conv1d(torch.from_numpy(x).view(1, 1, -1), w.view(1, 1, -1)).view(-1)
    y.backward(torch.from_numpy(grad_output))
    return w.grad.numpy()


@pytest.mark.points(1)
def test_loss_sum_on_the_notes_example(submission):
    # x = (1, 2, 3, 4), kernel of length 2, L = y_1 + y_2 + y_3 (dL/dy = 1 everywhere):
    # dL/dw_1 = 1 + 2 + 3 and dL/dw_2 = 2 + 3 + 4.
    x = np.array([1.0, 2.0, 3.0, 4.0])
    expect_array(submission(x, np.ones(3), 2), np.array([6.0, 9.0]),
                 what="dL/dw for x = (1, 2, 3, 4), k = 2 and dL/dy = (1, 1, 1)")


@pytest.mark.points(1)
def test_one_hot_upstream_gradient_picks_one_window(submission):
    # If only output i matters (dL/dy = e_i), dL/dw is the window of x that output i saw.
    rng = input_rng(401)
    x = rng.normal(size=9)
    for i in [0, 2, 5]:
        grad_output = np.zeros(6)
        grad_output[i] = 1.0
        expect_array(submission(x, grad_output, 4), x[i:i + 4].copy(),
                     what=f"dL/dw for dL/dy = 1 at output {i} and 0 elsewhere")


@pytest.mark.points(3)
def test_random_cases_match_torch_autograd(submission):
    rng = input_rng(402)
    for W, k in [(10, 3), (7, 1), (12, 5), (8, 7), (15, 4)]:
        x, grad_output = rng.normal(size=W), rng.normal(size=W - k + 1)
        expected = autograd_kernel_grad(x, grad_output, k)
        expect_array(submission(x, grad_output, k), expected,
                     what=f"dL/dw for a signal of length {W} and a kernel of length {k}")


@pytest.mark.points(1)
def test_kernel_as_long_as_the_signal(submission):
    rng = input_rng(403)
    x = rng.normal(size=5)
    expected = autograd_kernel_grad(x, np.array([-1.5]), 5)  # = -1.5 * x
    expect_array(submission(x, np.array([-1.5]), 5), expected, what="dL/dw when the kernel is as long as x",
                 check_dtype="exact")


@pytest.mark.points(1)
def test_wrong_length_of_grad_output_raises_value_error(submission):
    rng = input_rng(404)
    # x of length 8 and a kernel of length 3 give 6 outputs, not 5
    expect_raises(ValueError, submission, rng.normal(size=8), rng.normal(size=5), 3,
                  what="correlate1d_kernel_grad with a grad_output of length 5 for 6 outputs")
