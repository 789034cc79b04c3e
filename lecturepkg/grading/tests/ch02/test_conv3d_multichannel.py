"""Grading tests of exercise ``conv3d_multichannel``: a 3D layer on volumes and clips.

Oracles: ``torch.nn.functional.conv3d`` in float64, ``torch.nn.functional.conv2d`` frame by
frame for kernels one frame deep, and ``np.einsum`` for 1 x 1 x 1 kernels.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lecturepkg.grading.feedback import expect_array, expect_raises
from lecturepkg.grading.runtime import input_rng

EXERCISE = "conv3d_multichannel"


def torch_conv3d(x, weight, bias, stride=1):
    """F.conv3d in float64 on one (C, D, H, W) volume."""
    t = torch.from_numpy
    return F.conv3d(t(x)[None], t(weight), t(bias), stride=stride)[0].numpy()


@pytest.mark.points(2)
def test_random_volumes_match_torch(submission):
    rng = input_rng(2301)
    for (C, D, H, W), (O, kd, kh, kw), s in [((2, 5, 6, 7), (3, 2, 3, 2), 1), ((1, 6, 5, 5), (2, 3, 3, 3), 1),
                                             ((3, 4, 7, 6), (2, 1, 2, 4), 1), ((2, 7, 7, 7), (2, 3, 2, 3), 2)]:
        x = rng.normal(size=(C, D, H, W))
        weight, bias = rng.normal(size=(O, C, kd, kh, kw)), rng.normal(size=O)
        expected = torch_conv3d(x, weight, bias, stride=s)
        expect_array(submission(x, weight, bias, stride=s), expected,
                     what=f"the output for x {x.shape}, weight {weight.shape}, stride={s}")


@pytest.mark.points(2)
def test_video_clip_with_a_different_stride_per_axis(submission):
    # video models often keep every frame and halve the image: stride (1, 2, 2)
    rng = input_rng(2302)
    for (C, D, H, W), (O, kd, kh, kw), s in [((3, 6, 9, 8), (2, 3, 3, 3), (1, 2, 2)),
                                             ((2, 8, 5, 7), (3, 2, 2, 3), (3, 1, 2))]:
        x = rng.normal(size=(C, D, H, W))
        weight, bias = rng.normal(size=(O, C, kd, kh, kw)), rng.normal(size=O)
        expected = torch_conv3d(x, weight, bias, stride=s)
        expect_array(submission(x, weight, bias, stride=s), expected,
                     what=f"the output for x {x.shape}, weight {weight.shape}, stride={s}")


@pytest.mark.points(1)
def test_kernel_one_frame_deep_is_a_2d_convolution_per_frame(submission):
    rng = input_rng(2303)
    x = rng.normal(size=(2, 4, 6, 5))  # 4 frames
    weight, bias = rng.normal(size=(3, 2, 1, 3, 2)), rng.normal(size=3)
    frames = [F.conv2d(torch.from_numpy(x[:, t])[None], torch.from_numpy(weight[:, :, 0]),
                       torch.from_numpy(bias))[0].numpy() for t in range(4)]
    expected = np.stack(frames, axis=1)  # (3, 4, 4, 4)
    expect_array(submission(x, weight, bias), expected,
                 what="the output of a 1 x 3 x 2 kernel (expected: a 2D convolution of each frame)")


@pytest.mark.points(1)
def test_one_voxel_kernel_mixes_channels_per_voxel(submission):
    rng = input_rng(2304)
    x = rng.normal(size=(3, 3, 4, 5))
    weight, bias = rng.normal(size=(2, 3, 1, 1, 1)), rng.normal(size=2)
    expected = np.einsum("oc,cdhw->odhw", weight[:, :, 0, 0, 0], x) + bias[:, None, None, None]
    expect_array(submission(x, weight, bias), expected, what="the output of a 1 x 1 x 1 convolution")


@pytest.mark.points(1)
def test_box_filter_counts_the_voxels_of_a_bright_cube(submission):
    # an MRI-like volume, dark but for a bright 3 x 3 x 3 cube; a box filter of ones counts
    # the bright voxels under it, 27 where it covers the cube exactly
    x = np.zeros((1, 6, 7, 8))
    x[0, 1:4, 2:5, 3:6] = 1.0
    weight, bias = np.ones((1, 1, 3, 3, 3)), np.zeros(1)
    expected = torch_conv3d(x, weight, bias)
    assert expected.max() == 27.0 and expected[0, 1, 2, 3] == 27.0
    expect_array(submission(x, weight, bias), expected, what="the box-filtered volume", check_dtype="exact")


@pytest.mark.points(1)
def test_channel_mismatch_raises_value_error(submission):
    rng = input_rng(2305)
    x = rng.normal(size=(3, 4, 5, 5))
    for c in [2, 1]:  # one channel would broadcast silently
        expect_raises(ValueError, submission, x, rng.normal(size=(2, c, 2, 2, 2)), rng.normal(size=2),
                      what=f"conv3d_multichannel with x of 3 channels and a weight of {c}")
