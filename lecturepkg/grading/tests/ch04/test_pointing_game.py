"""Grading tests of exercise ``pointing_game``: the pointing game of Zhang et al. (2018).

Oracle: ``scipy.ndimage.distance_transform_edt`` of each mask's complement, the Euclidean
distance from every pixel to the nearest pixel of the object, read at the map's first
maximum (``np.argmax``): a hit where it is at most the tolerance. Maps with ties, objects
that are thin lines, non-square images and the paper's 15-pixel tolerance are covered.
"""

import numpy as np
import pytest
from scipy import ndimage

from lecturepkg.grading.feedback import expect_array, expect_raises
from lecturepkg.grading.runtime import input_rng

EXERCISE = "pointing_game"


def oracle(maps, masks, tolerance=0):
    hits = []
    for m, mask in zip(maps, masks):
        distance = ndimage.distance_transform_edt(~mask)  # 0 on the object
        hits.append(distance.flat[np.argmax(m)] <= tolerance)
    return np.array(hits, dtype=bool)


def boxes(rng, N, H, W):
    masks = np.zeros((N, H, W), dtype=bool)
    for n in range(N):
        h, w = rng.integers(2, H // 2 + 1), rng.integers(2, W // 2 + 1)
        i, j = rng.integers(0, H - h + 1), rng.integers(0, W - w + 1)
        masks[n, i:i + h, j:j + w] = True
    return masks


@pytest.mark.points(2)
def test_random_maps_and_boxes(submission):
    rng = input_rng(4601)
    for N, H, W in [(20, 8, 8), (15, 6, 11), (10, 12, 5)]:
        masks = boxes(rng, N, H, W)
        maps = rng.normal(size=(N, H, W)) + 1.5 * masks  # maps that often, not always, find the box
        expected = oracle(maps, masks)
        expect_array(submission(maps, masks), expected, what=f"the hits of {N} maps {H} x {W} on boxes")


@pytest.mark.points(2)
def test_tolerance_in_euclidean_pixels(submission):
    rng = input_rng(4602)
    for N, H, W, tolerance in [(30, 10, 9, 1.5), (30, 12, 12, 3), (20, 40, 30, 15)]:
        maps = rng.normal(size=(N, H, W))
        masks = np.zeros((N, H, W), dtype=bool)
        masks[:, rng.integers(0, H), :] = True  # a horizontal line in every image
        masks[:N // 2] = boxes(rng, N // 2, H, W)
        expected = oracle(maps, masks, tolerance)
        expect_array(submission(maps, masks, tolerance=tolerance), expected,
                     what=f"the hits of {N} maps {H} x {W} with tolerance {tolerance}")


@pytest.mark.points(1)
def test_ties_point_at_the_first_maximum(submission):
    maps = np.zeros((2, 4, 5))
    maps[:, 1, 3] = maps[:, 3, 0] = 1.0  # two maxima: (1, 3) comes first
    masks = np.zeros((2, 4, 5), dtype=bool)
    masks[0, 1, 3] = True  # the first maximum is on the object
    masks[1, 3, 0] = True  # only the second one is
    expected = oracle(maps, masks)
    assert expected.tolist() == [True, False]
    expect_array(submission(maps, masks), expected, what="the hits of maps whose maximum is tied")


@pytest.mark.points(1)
def test_rows_and_columns_on_a_wide_image(submission):
    maps, masks = np.zeros((3, 3, 7)), np.zeros((3, 3, 7), dtype=bool)
    maps[0, 2, 5] = maps[1, 0, 6] = maps[2, 0, 0] = 1.0
    masks[0, 2, 5] = True
    masks[1, 2, 0] = True  # (0, 6) is 6.3 pixels from (2, 0): too far
    masks[2, 0, 6] = True  # (0, 0) is exactly 6 pixels from (0, 6): close enough
    expected = oracle(maps, masks, tolerance=6)
    assert expected.tolist() == [True, False, True]
    expect_array(submission(maps, masks, tolerance=6), expected,
                 what="the hits of three 3 x 7 maps with tolerance 6")


@pytest.mark.points(1)
def test_bad_inputs_raise_value_error(submission):
    rng = input_rng(4603)
    maps, masks = rng.normal(size=(3, 5, 5)), boxes(rng, 3, 5, 5)
    empty = masks.copy()
    empty[1] = False
    for args, kwargs, what in [((maps, masks[:, :4]), {}, "masks of shape (3, 4, 5) for maps (3, 5, 5)"),
                               ((maps[0], masks[0]), {}, "a single map of shape (5, 5)"),
                               ((maps, empty), {}, "an empty mask (no object)"),
                               ((maps, masks), {"tolerance": -1}, "tolerance -1")]:
        expect_raises(ValueError, submission, *args, **kwargs, what=f"pointing_game with {what}")
