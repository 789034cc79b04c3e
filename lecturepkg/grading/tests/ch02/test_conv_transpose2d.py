"""Grading tests of exercise ``conv_transpose2d``: transposed convolution by overlap-add.

Oracles: ``torch.nn.functional.conv_transpose2d`` in float64; autograd through
``torch.nn.functional.conv2d`` (a transposed convolution is the gradient of a convolution
with respect to its input); a single painted kernel written out directly.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lecturepkg.grading.feedback import expect_array, expect_raises
from lecturepkg.grading.runtime import input_rng

EXERCISE = "conv_transpose2d"


def torch_conv_transpose2d(x, weight, stride=1, padding=0):
    """F.conv_transpose2d in float64 on one (C_in, H, W) image."""
    t = torch.from_numpy
    return F.conv_transpose2d(t(x)[None], t(weight), stride=stride, padding=padding)[0].numpy()


@pytest.mark.points(1)
def test_one_input_value_paints_the_scaled_kernel(submission):
    rng = input_rng(2901)
    x = np.zeros((1, 3, 3))
    x[0, 1, 2] = 2.5
    weight = rng.normal(size=(1, 2, 3, 3))
    expected = np.zeros((2, 7, 7))  # (3 - 1) * 2 + 3 = 7
    expected[:, 2:5, 4:7] = 2.5 * weight[0]  # the kernel, scaled, with its corner at (1 * 2, 2 * 2)
    np.testing.assert_allclose(expected, torch_conv_transpose2d(x, weight, stride=2), atol=1e-15)
    expect_array(submission(x, weight, stride=2), expected,
                 what="the output for a single non-zero input value 2.5 at (1, 2), stride 2")


@pytest.mark.points(2)
def test_random_inputs_match_torch(submission):
    rng = input_rng(2902)
    for (C_in, H, W), (C_out, kh, kw), s, p in [((2, 3, 4), (3, 3, 3), 1, 0), ((3, 4, 3), (2, 2, 3), 2, 0),
                                                ((1, 5, 5), (2, 4, 4), 2, 1), ((2, 3, 3), (1, 3, 2), 3, 1),
                                                ((4, 2, 5), (3, 5, 3), 2, 2)]:
        x = rng.normal(size=(C_in, H, W))
        weight = rng.normal(size=(C_in, C_out, kh, kw))
        expected = torch_conv_transpose2d(x, weight, stride=s, padding=p)
        expect_array(submission(x, weight, stride=s, padding=p), expected,
                     what=f"the output for x {x.shape}, weight {weight.shape}, stride={s}, padding={p}")


@pytest.mark.points(2)
def test_uneven_overlap_makes_a_checkerboard(submission):
    # Odena et al.: a kernel size that the stride does not divide overlaps unevenly. A constant
    # input and a kernel of ones show how many copies land on each output position.
    x = np.ones((1, 5, 5))
    uneven = torch_conv_transpose2d(x, np.ones((1, 1, 3, 3)), stride=2)  # 3 is not a multiple of 2
    assert set(np.unique(uneven[0, 2:-2, 2:-2])) == {1.0, 2.0, 4.0}  # a checkerboard
    even = torch_conv_transpose2d(x, np.ones((1, 1, 4, 4)), stride=2, padding=1)  # 4 = 2 * 2
    assert set(np.unique(even[0, 1:-1, 1:-1])) == {4.0}  # every interior position gets 4 copies
    expect_array(submission(x, np.ones((1, 1, 3, 3)), stride=2), uneven,
                 what="the overlap counts of a 3 x 3 kernel with stride 2")
    expect_array(submission(x, np.ones((1, 1, 4, 4)), stride=2, padding=1), even,
                 what="the overlap counts of a 4 x 4 kernel with stride 2, padding 1")


@pytest.mark.points(1)
def test_it_is_the_gradient_of_a_convolution(submission):
    # conv2d maps x (2, 7, 7) to y (3, 4, 4) with stride 2, padding 1; the gradient of
    # <conv2d(x), g> with respect to x is the transposed convolution of g
    rng = input_rng(2903)
    weight = rng.normal(size=(3, 2, 3, 3))  # conv2d sees it as (out=3, in=2, 3, 3)
    g = rng.normal(size=(3, 4, 4))
    x = torch.zeros(1, 2, 7, 7, dtype=torch.float64, requires_grad=True)
    y = F.conv2d(x, torch.from_numpy(weight), stride=2, padding=1)
    assert y.shape == (1, 3, 4, 4)
    y.backward(torch.from_numpy(g)[None])
    expected = x.grad[0].numpy()
    expect_array(submission(g, weight, stride=2, padding=1), expected,
                 what="the transposed convolution of g (expected: the gradient of conv2d with respect to its input)")


@pytest.mark.points(1)
def test_one_pixel_input_returns_the_weighted_kernels_in_float64(submission):
    rng = input_rng(2904)
    x = rng.normal(size=(3, 1, 1))
    weight = rng.normal(size=(3, 2, 4, 3))
    expected = np.einsum("c,cohw->ohw", x[:, 0, 0], weight)  # the channels' kernels, weighted and summed
    expect_array(submission(x, weight, stride=3), expected, what="the output for a 1 x 1 input with 3 channels",
                 check_dtype="exact")


@pytest.mark.points(1)
def test_channel_mismatch_raises_value_error(submission):
    rng = input_rng(2905)
    x = rng.normal(size=(3, 4, 4))
    # a weight in the layout of a forward convolution (C_out=2, C_in=3) instead of (C_in, C_out)
    expect_raises(ValueError, submission, x, rng.normal(size=(2, 3, 3, 3)),
                  what="conv_transpose2d with x of 3 channels and a weight of shape (2, 3, 3, 3)")
    expect_raises(ValueError, submission, x, rng.normal(size=(1, 3, 3, 3)),
                  what="conv_transpose2d with x of 3 channels and a weight of shape (1, 3, 3, 3)")
