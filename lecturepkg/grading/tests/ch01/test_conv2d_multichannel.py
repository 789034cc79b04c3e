"""Grading tests of exercise ``conv2d_multichannel``: a conv layer's forward pass.

Oracles: the notes' 6 x 6 worked example, ``torch.nn.functional.conv2d`` in float64, and
direct formulas (``np.einsum``) for the 1 x 1 and the full-size kernel.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lecturepkg.grading.feedback import expect_array, expect_raises
from lecturepkg.grading.runtime import input_rng

EXERCISE = "conv2d_multichannel"


def torch_conv2d(x, weight, bias):
    """F.conv2d in float64 on one (C, H, W) image."""
    t = lambda a: torch.from_numpy(a)  # noqa: E731
    return F.conv2d(t(x)[None], t(weight), t(bias))[0].numpy()


@pytest.mark.points(2)
def test_worked_example_from_the_notes(submission):
    # Sick's slides: a 3x3 filter on a 6x6 grey image. The slides print the 4x4 map
    # transposed (see the page "The convolution operator"); row by row it is:
    image = np.array([
        [255, 220, 150, 200, 110, 100],
        [240, 50, 35, 45, 200, 130],
        [0, 20, 245, 250, 230, 120],
        [170, 180, 235, 145, 170, 255],
        [190, 185, 170, 165, 130, 120],
        [255, 255, 245, 190, 200, 175],
    ], dtype=np.float64)
    kernel = np.array([[-0.7, 0.2, 0.1], [0.3, 0.5, 0.4], [-0.2, -0.4, 0.2]])
    published = np.array([
        [32.5, -105.5, 185.5, 54],
        [-105.5, 104, 217.5, 31],
        [-44, 224, 38.5, -18],
        [-60.5, 213.5, 52.5, 37.5],
    ])
    expected = published.T[np.newaxis]  # (D=1, 4, 4)
    result = submission(image[np.newaxis], kernel[np.newaxis, np.newaxis], np.zeros(1))
    expect_array(result, expected, what="the feature map of the 6x6 example", atol=1e-9, rtol=1e-12)


@pytest.mark.points(2)
def test_random_inputs_match_torch(submission):
    rng = input_rng(201)
    for C, H, W, D, h, w in [(3, 7, 7, 2, 3, 3), (2, 6, 9, 4, 2, 4), (1, 5, 8, 3, 5, 1), (4, 6, 5, 1, 3, 2)]:
        x = rng.normal(size=(C, H, W))
        weight = rng.normal(size=(D, C, h, w))
        bias = rng.normal(size=D)
        expected = torch_conv2d(x, weight, bias)
        expect_array(submission(x, weight, bias), expected,
                     what=f"the output for x {x.shape}, weight {weight.shape}")


@pytest.mark.points(1)
def test_bias_is_added_to_each_output_channel(submission):
    rng = input_rng(202)
    x = rng.normal(size=(2, 5, 4))
    weight = np.zeros((3, 2, 2, 2))
    bias = np.array([1.5, -2.0, 0.25])
    expected = np.broadcast_to(bias[:, None, None], (3, 4, 3)).copy()  # zero filters: bias only
    expect_array(submission(x, weight, bias), expected, what="the output with all-zero weights")


@pytest.mark.points(1)
def test_one_by_one_kernel_mixes_channels_per_pixel(submission):
    rng = input_rng(203)
    x = rng.normal(size=(3, 4, 5))
    weight = rng.normal(size=(2, 3, 1, 1))
    bias = rng.normal(size=2)
    expected = np.einsum("dc,chw->dhw", weight[:, :, 0, 0], x) + bias[:, None, None]
    expect_array(submission(x, weight, bias), expected, what="the output of a 1x1 convolution")


@pytest.mark.points(1)
def test_kernel_as_large_as_the_image_returns_one_value_per_filter(submission):
    rng = input_rng(204)
    x = rng.normal(size=(2, 3, 4))
    weight = rng.normal(size=(5, 2, 3, 4))
    bias = rng.normal(size=5)
    expected = (np.einsum("dchw,chw->d", weight, x) + bias).reshape(5, 1, 1)
    expect_array(submission(x, weight, bias), expected, what="the output when the kernel covers the whole image",
                 check_dtype="exact")


@pytest.mark.points(1)
def test_channel_mismatch_raises_value_error(submission):
    rng = input_rng(205)
    x = rng.normal(size=(3, 6, 6))
    # a weight of 1 input channel would broadcast silently over the 3 channels of x
    for c in [2, 1]:
        weight = rng.normal(size=(2, c, 3, 3))
        expect_raises(ValueError, submission, x, weight, rng.normal(size=2),
                      what=f"conv2d_multichannel with x of 3 channels and a weight of {c}")
