"""Grading tests of exercise ``conv_transpose_matrix``: the matrix K^T of a transposed
convolution.

Oracles: the 6 x 4 matrix printed in the notes, and PyTorch in float64: column i of the
matrix is ``torch.nn.functional.conv_transpose1d`` of the i-th unit vector, and the
transpose of the matrix is the matrix of ``torch.nn.functional.conv1d`` (its columns are
convolutions of unit vectors) with the same kernel, stride and padding.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lecturepkg.grading.feedback import expect_array, expect_raises
from lecturepkg.grading.runtime import input_rng

EXERCISE = "conv_transpose_matrix"


def torch_transpose_matrix(w, n, stride=1, padding=0):
    """Column i: F.conv_transpose1d of the unit vector e_i of length n."""
    unit = torch.eye(n, dtype=torch.float64).view(n, 1, n)  # a batch of the n unit vectors
    return F.conv_transpose1d(unit, torch.from_numpy(w).view(1, 1, -1), stride=stride, padding=padding)[:, 0].T.numpy()


def torch_conv_matrix(w, n_in, stride=1, padding=0):
    """K of the forward convolution on signals of length n_in: column m is F.conv1d(e_m)."""
    unit = torch.eye(n_in, dtype=torch.float64).view(n_in, 1, n_in)
    return F.conv1d(unit, torch.from_numpy(w).view(1, 1, -1), stride=stride, padding=padding)[:, 0].T.numpy()


def describe(k, n, s, p):
    return f"conv_transpose_matrix(kernel of {k} taps, input_size={n}, stride={s}, padding={p})"


@pytest.mark.points(2)
def test_the_matrix_of_the_notes(submission):
    # The notes: kernel (w1, w2, w3), 4 inputs, stride 1, no padding: the 6 x 4 matrix K^T.
    w1, w2, w3 = 2.0, -1.0, 3.0
    expected = np.array([
        [w1, 0, 0, 0],
        [w2, w1, 0, 0],
        [w3, w2, w1, 0],
        [0, w3, w2, w1],
        [0, 0, w3, w2],
        [0, 0, 0, w3],
    ])
    w = np.array([w1, w2, w3])
    np.testing.assert_array_equal(expected, torch_transpose_matrix(w, 4))
    np.testing.assert_array_equal(expected.T, torch_conv_matrix(w, 6))  # K, the 4 x 6 convolution
    expect_array(submission(w, 4), expected, what="conv_transpose_matrix((2, -1, 3), 4)")


@pytest.mark.points(2)
def test_columns_are_transposed_convolutions_of_unit_vectors(submission):
    rng = input_rng(2801)
    for k, n, s, p in [(3, 5, 1, 0), (2, 4, 2, 0), (4, 3, 2, 1), (3, 6, 3, 1), (5, 4, 2, 2), (1, 5, 2, 0)]:
        w = rng.normal(size=k)
        expect_array(submission(w, n, stride=s, padding=p), torch_transpose_matrix(w, n, s, p),
                     what=describe(k, n, s, p))


@pytest.mark.points(1)
def test_its_transpose_is_the_convolution(submission):
    rng = input_rng(2802)
    for k, n, s, p in [(3, 4, 2, 1), (4, 5, 3, 0), (2, 6, 1, 1)]:
        w = rng.normal(size=k)
        n_out = (n - 1) * s - 2 * p + k
        M = submission(w, n, stride=s, padding=p)
        expect_array(M, torch_transpose_matrix(w, n, s, p), what=describe(k, n, s, p))
        expect_array(M.T, torch_conv_matrix(w, n_out, s, p),
                     what=f"the transpose of {describe(k, n, s, p)} (expected: the convolution's matrix K)")


@pytest.mark.points(1)
def test_stride_two_padding_one_upsamples(submission):
    # the 3-tap kernel with stride 2 and padding 1 of the notes' figure, on 4 inputs: 7 outputs
    rng = input_rng(2803)
    w = rng.normal(size=3)
    expected = torch_transpose_matrix(w, 4, stride=2, padding=1)
    assert expected.shape == (7, 4)
    expect_array(submission(w, 4, stride=2, padding=1), expected, what=describe(3, 4, 2, 1))


@pytest.mark.points(1)
def test_single_input_gives_the_cropped_kernel_in_float64(submission):
    w = np.array([1.0, 2.0, 3.0, 4.0])
    expected = torch_transpose_matrix(w, 1, stride=3, padding=1)  # rows 1 and 2 of the kernel
    np.testing.assert_array_equal(expected, [[2.0], [3.0]])
    expect_array(submission(w, 1, stride=3, padding=1), expected, what=describe(4, 1, 3, 1), check_dtype="exact")


@pytest.mark.points(1)
def test_empty_output_raises_value_error(submission):
    # one input, a 2-tap kernel and padding 1 on each side: (1 - 1) * 1 - 2 + 2 = 0 outputs
    expect_raises(ValueError, submission, np.array([1.0, 2.0]), 1, padding=1, what=describe(2, 1, 1, 1))
    expect_raises(ValueError, submission, np.array([1.0, 2.0, 3.0]), 2, stride=1, padding=2,
                  what=describe(3, 2, 1, 2))
