"""Grading tests of exercise ``factorize_kernel``: a separable kernel as column times row.

Oracles: the notes' Sobel kernel, outer products of known vectors (the factors are unique
up to scale, so the test checks ``np.outer(column, row)`` against the kernel), 2D
correlation with ``torch.nn.functional.conv2d`` against two 1D passes, and kernels of rank
two (the Laplacian, the sum of both Sobel kernels) that no column and row reproduce.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lecturepkg.grading.feedback import GradingFailure, expect_array, expect_raises
from lecturepkg.grading.runtime import input_rng

EXERCISE = "factorize_kernel"

SOBEL_X = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])


def expect_factors(result, kernel, what):
    """``result`` is (column, row), float arrays of shapes (h,) and (w,), whose outer
    product is ``kernel``; returns them."""
    h, w = kernel.shape
    if not isinstance(result, tuple) or len(result) != 2:
        raise GradingFailure(f"{what} should return a tuple (column, row), got {type(result).__name__}")
    column, row = result
    for name, factor, n in [("column", column, h), ("row", row, w)]:
        if not isinstance(factor, np.ndarray) or factor.shape != (n,):
            got = factor.shape if isinstance(factor, np.ndarray) else type(factor).__name__
            raise GradingFailure(f"the {name} of {what} should be a numpy array of shape ({n},), got {got}")
        if not np.issubdtype(factor.dtype, np.floating):
            raise GradingFailure(f"the {name} of {what} has dtype {factor.dtype}; return float64 factors")
    scale = np.abs(kernel).max()
    expect_array(np.outer(column, row), kernel, what=f"np.outer(column, row) for {what}",
                 rtol=1e-9, atol=1e-9 * scale)
    return column, row


@pytest.mark.points(2)
def test_sobel_kernels_of_the_notes(submission):
    # The notes: Sobel x is the column (1, 2, 1) times the row (1, 0, -1); Sobel y is its transpose.
    np.testing.assert_array_equal(np.outer([1.0, 2.0, 1.0], [1.0, 0.0, -1.0]), SOBEL_X)
    for name, kernel in [("Sobel x", SOBEL_X), ("Sobel y", SOBEL_X.T.copy())]:
        expect_factors(submission(kernel), kernel, what=f"factorize_kernel({name})")


@pytest.mark.points(2)
def test_random_rank_one_kernels_of_any_shape(submission):
    rng = input_rng(2601)
    for h, w in [(3, 5), (5, 3), (7, 7), (2, 6), (1, 4), (4, 1)]:
        kernel = np.outer(rng.normal(size=h), rng.normal(size=w))
        expect_factors(submission(kernel), kernel, what=f"factorize_kernel of a random {h} x {w} rank-one kernel")


@pytest.mark.points(1)
def test_two_1d_passes_reproduce_the_2d_blur(submission):
    binomial = np.array([1.0, 4.0, 6.0, 4.0, 1.0])
    rng = input_rng(2602)
    image = torch.from_numpy(rng.normal(size=(1, 1, 12, 10)))
    for name, kernel in [("the 5 x 5 binomial blur", np.outer(binomial, binomial) / 256),
                         ("the 3 x 5 box filter", np.full((3, 5), 1 / 15))]:
        column, row = expect_factors(submission(kernel), kernel, what=f"factorize_kernel({name})")
        expected = F.conv2d(image, torch.from_numpy(kernel)[None, None])
        down = F.conv2d(image, torch.from_numpy(np.asarray(column, dtype=np.float64)).view(1, 1, -1, 1))
        across = F.conv2d(down, torch.from_numpy(np.asarray(row, dtype=np.float64)).view(1, 1, 1, -1))
        expect_array(across.numpy(), expected.numpy(),
                     what=f"the image filtered with your column, then your row ({name})", rtol=1e-9, atol=1e-12)


@pytest.mark.points(1)
def test_kernels_with_zeros_in_the_first_row_and_column(submission):
    for column, row in [([0.0, 1.0, -2.0], [3.0, 0.0, 1.0, 2.0]), ([0.0, 0.0, 1.5], [0.0, -2.0, 0.0])]:
        kernel = np.outer(column, row)
        expect_factors(submission(kernel), kernel, what=f"factorize_kernel of the kernel {kernel.tolist()}")


@pytest.mark.points(1)
def test_integer_kernel_gives_float64_factors(submission):
    kernel = SOBEL_X.astype(np.int64)
    column, row = expect_factors(submission(kernel), SOBEL_X, what="factorize_kernel of an int64 Sobel kernel")
    expect_array(column, column.astype(np.float64), what="the column for an int64 kernel", check_dtype="exact")
    expect_array(row, row.astype(np.float64), what="the row for an int64 kernel", check_dtype="exact")


@pytest.mark.points(2)
def test_kernels_of_rank_two_raise_value_error(submission):
    rng = input_rng(2603)
    almost = np.outer(rng.normal(size=4), rng.normal(size=3))
    almost[2, 1] += 1e-3 * np.abs(almost).max()  # rank two, if only just
    for name, kernel in [("the Laplacian [[0, 1, 0], [1, -4, 1], [0, 1, 0]]",
                          np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])),
                         ("Sobel x + Sobel y", SOBEL_X + SOBEL_X.T),
                         ("the 3 x 3 identity", np.eye(3)),
                         ("a rank-one kernel with one entry changed by 0.1%", almost)]:
        expect_raises(ValueError, submission, kernel, what=f"factorize_kernel of {name}")
