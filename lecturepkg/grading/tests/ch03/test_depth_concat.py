"""Grading tests of exercise ``depth_concat``: centred zero-padding, then concatenation.

Oracle: Torch7's ``nn.DepthConcat`` (used by Torch implementations of GoogLeNet), written out
in PyTorch: each map is copied into a zero tensor of the largest height and width at the
offset ``floor((size_max - size_i) / 2)`` (Torch7's ``DepthConcat:windowNarrow``), the maps
one after another along the channels. The lecture notes' example fixes the shapes.
"""

import math

import numpy as np
import pytest
import torch

from lecturepkg.grading.feedback import expect_array, expect_raises
from lecturepkg.grading.runtime import input_rng

EXERCISE = "depth_concat"


def torch7_depth_concat(arrays):
    """nn.DepthConcat(2) of Torch7 on (N, C_i, H_i, W_i) arrays, in PyTorch."""
    maps = [torch.from_numpy(a) for a in arrays]
    H, W = max(m.shape[2] for m in maps), max(m.shape[3] for m in maps)
    out = torch.zeros(maps[0].shape[0], sum(m.shape[1] for m in maps), H, W,
                      dtype=torch.from_numpy(np.zeros(0, np.result_type(*arrays))).dtype)
    offset = 0
    for m in maps:
        window = out.narrow(1, offset, m.shape[1])
        window = window.narrow(2, math.floor((H - m.shape[2]) / 2), m.shape[2])
        window = window.narrow(3, math.floor((W - m.shape[3]) / 2), m.shape[3])
        window.copy_(m)
        offset += m.shape[1]
    return out.numpy()


def shapes(arrays):
    return ", ".join(str(a.shape) for a in arrays)


@pytest.mark.points(2)
def test_the_example_of_the_notes(submission):
    # A (14, 14, 2) and B (16, 16, 3), channels last in the notes: (1, 2, 14, 14) and
    # (1, 3, 16, 16) here; the result has height 16, width 16 and depth 5
    rng = input_rng(3301)
    a, b = rng.normal(size=(1, 2, 14, 14)), rng.normal(size=(1, 3, 16, 16))
    expected = torch7_depth_concat([a, b])
    assert expected.shape == (1, 5, 16, 16)
    expect_array(submission([a, b]), expected, what=f"depth_concat of maps {shapes([a, b])}")


@pytest.mark.points(2)
def test_odd_differences_put_the_extra_zeros_bottom_and_right(submission):
    rng = input_rng(3302)
    arrays = [rng.normal(size=(2, 1, 5, 8)), rng.normal(size=(2, 2, 8, 3)), rng.normal(size=(2, 3, 6, 6))]
    expected = torch7_depth_concat(arrays)
    # the 5-row map: 3 missing rows, 1 on top and 2 at the bottom
    assert np.all(expected[:, 0, :1] == 0) and np.all(expected[:, 0, 6:] == 0)
    expect_array(submission(arrays), expected, what=f"depth_concat of maps {shapes(arrays)}")


@pytest.mark.points(2)
def test_random_inception_like_branches(submission):
    rng = input_rng(3303)
    for _ in range(4):
        N = int(rng.integers(1, 4))
        arrays = [rng.normal(size=(N, int(rng.integers(1, 5)), int(rng.integers(3, 12)), int(rng.integers(3, 12))))
                  for _ in range(int(rng.integers(2, 5)))]
        expect_array(submission(arrays), torch7_depth_concat(arrays), what=f"depth_concat of maps {shapes(arrays)}")


@pytest.mark.points(1)
def test_equal_sizes_is_plain_concatenation_and_the_order_is_kept(submission):
    rng = input_rng(3304)
    arrays = [rng.normal(size=(3, c, 7, 5)) for c in (4, 1, 2)]
    expected = torch7_depth_concat(arrays)
    np.testing.assert_array_equal(expected, np.concatenate(arrays, axis=1))
    expect_array(submission(arrays), expected, what=f"depth_concat of maps of one size {shapes(arrays)}")
    one = [rng.normal(size=(2, 3, 4, 4))]
    expect_array(submission(one), one[0], what="depth_concat of a single map")


@pytest.mark.points(1)
def test_dtype_is_kept(submission):
    rng = input_rng(3305)
    arrays = [rng.normal(size=(1, 2, 3, 3)).astype(np.float32), rng.normal(size=(1, 1, 5, 4)).astype(np.float32)]
    expect_array(submission(arrays), torch7_depth_concat(arrays), what="depth_concat of float32 maps",
                 check_dtype="exact")


@pytest.mark.points(1)
def test_bad_inputs_raise_value_error(submission):
    rng = input_rng(3306)
    expect_raises(ValueError, submission, [], what="depth_concat([])")
    expect_raises(ValueError, submission, [rng.normal(size=(2, 1, 4, 4)), rng.normal(size=(3, 1, 4, 4))],
                  what="depth_concat of maps with batch sizes 2 and 3")
    expect_raises(ValueError, submission, [rng.normal(size=(2, 1, 4, 4)), rng.normal(size=(1, 4, 4))],
                  what="depth_concat of a 4D and a 3D array")
