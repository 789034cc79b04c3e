"""Grading tests of exercise ``center_crop``: U-Net's crop before concatenation.

Oracles: ``torchvision.transforms.v2.functional.center_crop`` where the margins are even
(U-Net's crops are: 64 -> 56, 136 -> 104, 280 -> 200, 568 -> 392 in Ronneberger et al. 2015,
Fig. 1); where they are odd, torchvision rounds the top margin half to even, so the oracle
is the window ``narrow``-ed at ``floor((H - h) / 2)``, the offset Torch7's DepthConcat
pads with: cropping undoes ``depth_concat``'s padding.
"""

import math

import numpy as np
import pytest
import torch
import torchvision.transforms.v2.functional as TF

from lecturepkg.grading.feedback import expect_array, expect_raises
from lecturepkg.grading.runtime import input_rng

EXERCISE = "center_crop"


def torchvision_crop(x, h, w):
    return TF.center_crop(torch.from_numpy(x), [h, w]).numpy()


def narrowed(x, h, w):
    t = torch.from_numpy(x)
    return t.narrow(2, math.floor((x.shape[2] - h) / 2), h).narrow(3, math.floor((x.shape[3] - w) / 2), w).numpy()


@pytest.mark.points(2)
def test_the_crops_of_unet(submission):
    rng = input_rng(3701)
    for big, small in [(64, 56), (136, 104), (280, 200), (568, 392)]:
        x = rng.normal(size=(1, 2, big, big))
        expected = torchvision_crop(x, small, small)
        np.testing.assert_array_equal(expected, narrowed(x, small, small))
        expect_array(submission(x, small), expected, what=f"center_crop of a {big} x {big} map to {small}")


@pytest.mark.points(2)
def test_rectangles_with_even_margins_match_torchvision(submission):
    rng = input_rng(3702)
    for shape, (h, w) in [((2, 3, 10, 8), (4, 6)), ((3, 1, 9, 13), (5, 3)), ((1, 4, 6, 6), (6, 2))]:
        x = rng.normal(size=shape)
        expect_array(submission(x, (h, w)), torchvision_crop(x, h, w),
                     what=f"center_crop of a map {shape} to {(h, w)}")


@pytest.mark.points(2)
def test_odd_margins_drop_the_extra_row_at_the_bottom(submission):
    rng = input_rng(3703)
    for shape, (h, w) in [((1, 2, 7, 7), (4, 4)), ((2, 1, 9, 6), (6, 3)), ((1, 3, 8, 11), (5, 8))]:
        x = rng.normal(size=shape)
        expect_array(submission(x, (h, w)), narrowed(x, h, w), what=f"center_crop of a map {shape} to {(h, w)}")


@pytest.mark.points(1)
def test_cropping_undoes_depth_concat_padding(submission):
    rng = input_rng(3704)
    small = rng.normal(size=(2, 3, 5, 4))
    padded = np.zeros((2, 3, 8, 9))
    padded[:, :, 1:6, 2:6] = small  # DepthConcat's centring: 3 // 2 = 1 row on top, 5 // 2 = 2 columns left
    expect_array(submission(padded, (5, 4)), small, what="center_crop of a centred, zero-padded (5, 4) map")


@pytest.mark.points(1)
def test_keeps_the_dtype_and_the_whole_map(submission):
    rng = input_rng(3705)
    x = rng.integers(0, 255, size=(1, 3, 6, 5)).astype(np.uint8)
    expect_array(submission(x, (6, 5)), x, what="center_crop of a uint8 map to its own size", check_dtype="exact")


@pytest.mark.points(1)
def test_impossible_sizes_raise_value_error(submission):
    rng = input_rng(3706)
    x = rng.normal(size=(1, 2, 6, 8))
    for size in [(7, 4), (4, 9), 0, (3, 0)]:
        expect_raises(ValueError, submission, x, size, what=f"center_crop of a 6 x 8 map to {size}")
