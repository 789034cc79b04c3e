"""Grading tests of exercise ``im2col``: image patches unfolded into matrix columns.

Oracles: ``torch.nn.functional.unfold`` (the same layout), ``torch.nn.functional.conv2d``
in float64 for the matrix product it enables, and a small example written out by hand.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lecturepkg.grading.feedback import expect_array, expect_raises
from lecturepkg.grading.runtime import input_rng

EXERCISE = "im2col"


def torch_unfold(x, kernel_size, stride=1):
    """F.unfold on one (C, H, W) image: (C * kh * kw, H_out * W_out)."""
    return F.unfold(torch.from_numpy(x)[None], kernel_size, stride=stride)[0].numpy()


@pytest.mark.points(2)
def test_small_example_by_hand(submission):
    x = np.arange(12.0).reshape(1, 3, 4)  # one channel: rows (0 1 2 3), (4 5 6 7), (8 9 10 11)
    # 2 x 2 patches at (0,0) (0,1) (0,2) (1,0) (1,1) (1,2), one per column; rows: the
    # patch's top-left, top-right, bottom-left and bottom-right entries
    expected = np.array([
        [0.0, 1, 2, 4, 5, 6],
        [1, 2, 3, 5, 6, 7],
        [4, 5, 6, 8, 9, 10],
        [5, 6, 7, 9, 10, 11],
    ])
    np.testing.assert_array_equal(expected, torch_unfold(x, (2, 2)))
    expect_array(submission(x, (2, 2)), expected, what="im2col of the 3 x 4 image arange(12) with a 2 x 2 kernel")


@pytest.mark.points(2)
def test_random_images_match_torch_unfold(submission):
    rng = input_rng(2201)
    for (C, H, W), kernel_size, s in [((3, 5, 6), (2, 3), 1), ((2, 7, 7), (3, 3), 2), ((1, 6, 9), (4, 2), 1),
                                      ((4, 8, 5), (1, 1), 1), ((2, 9, 8), (3, 2), 3), ((3, 6, 6), 3, 1)]:
        x = rng.normal(size=(C, H, W))
        expected = torch_unfold(x, kernel_size, stride=s)
        expect_array(submission(x, kernel_size, stride=s), expected,
                     what=f"im2col of an image {x.shape} with kernel_size={kernel_size}, stride={s}")


@pytest.mark.points(2)
def test_one_matrix_product_computes_the_convolution(submission):
    rng = input_rng(2202)
    for (C, H, W), (D, kh, kw), s in [((3, 7, 8), (4, 3, 2), 1), ((2, 9, 9), (5, 3, 3), 2)]:
        x, weight = rng.normal(size=(C, H, W)), rng.normal(size=(D, C, kh, kw))
        expected = F.conv2d(torch.from_numpy(x)[None], torch.from_numpy(weight), stride=s)[0].numpy()
        cols = submission(x, (kh, kw), stride=s)
        expect_array(cols, torch_unfold(x, (kh, kw), stride=s),
                     what=f"im2col of an image {x.shape} with kernel_size=({kh}, {kw}), stride={s}")
        product = (weight.reshape(D, -1) @ cols).reshape(expected.shape)
        expect_array(product, expected, what="weight.reshape(D, -1) @ im2col(x), reshaped to (D, H_out, W_out)")


@pytest.mark.points(1)
def test_kernel_as_large_as_the_image_gives_one_column(submission):
    rng = input_rng(2203)
    x = rng.normal(size=(2, 3, 4))
    expected = x.reshape(-1, 1).copy()  # one patch: the whole image, flattened
    expect_array(submission(x, (3, 4)), expected, what="im2col with a kernel as large as the image")


@pytest.mark.points(1)
def test_keeps_the_dtype_of_the_image(submission):
    rng = input_rng(2204)
    x = rng.normal(size=(3, 6, 5)).astype(np.float32)
    expect_array(submission(x, (2, 2), stride=2), torch_unfold(x, (2, 2), stride=2),
                 what="im2col of a float32 image", check_dtype="exact")


@pytest.mark.points(1)
def test_kernel_larger_than_the_image_raises_value_error(submission):
    rng = input_rng(2205)
    x = rng.normal(size=(2, 4, 6))
    expect_raises(ValueError, submission, x, (5, 2), what="im2col with a 5 x 2 kernel on a 4 x 6 image")
    expect_raises(ValueError, submission, x, (2, 7), what="im2col with a 2 x 7 kernel on a 4 x 6 image")
