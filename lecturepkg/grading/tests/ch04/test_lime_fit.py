"""Grading tests of exercise ``lime_fit``: LIME's weighted ridge regression.

Oracles: scikit-learn's ``Ridge(alpha, fit_intercept=True)`` fitted with
``sample_weight=sqrt(exp(-d**2 / width**2))``, which is how the ``lime`` package fits its
explanation (``lime_base.LimeBase``, ``Ridge(alpha=1)``); without a penalty, numpy's
``lstsq`` on the rows scaled by the square roots of the weights, a column of ones added for
the intercept; and scores that are exactly linear in the superpixels, whose coefficients any
weighting recovers. (The course's CI also checks the reference against the ``lime`` package
itself.)
"""

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from lecturepkg.grading.feedback import GradingFailure, expect_array, expect_raises
from lecturepkg.grading.runtime import input_rng

EXERCISE = "lime_fit"


def kernel(distances, width):
    return np.sqrt(np.exp(-distances ** 2 / width ** 2))


def sklearn_fit(Z, y, d, width, alpha):
    model = Ridge(alpha=alpha, fit_intercept=True, solver="cholesky").fit(Z, y, sample_weight=kernel(d, width))
    return model.coef_, float(model.intercept_)


def random_samples(rng, S, M):
    Z = rng.integers(0, 2, size=(S, M)).astype(float)
    Z[0] = 1  # the first sample is the image itself, as in lime
    # cosine distance to the all-ones vector, the distance lime_image uses
    d = 1 - Z.sum(axis=1) / (np.sqrt(np.maximum(Z.sum(axis=1), 1e-12)) * np.sqrt(M))
    y = Z @ rng.normal(size=M) + 0.3 * rng.normal(size=S) + 0.5
    return Z, y, d


def expect_fit(result, expected, what, rtol=1e-7):
    if not isinstance(result, tuple) or len(result) != 2:
        raise GradingFailure(f"{what} should return a tuple (coef, intercept), got {type(result).__name__}")
    coef, intercept = result
    expect_array(coef, expected[0], what=f"the coefficients of {what}", rtol=rtol, atol=rtol)
    if not isinstance(intercept, (float, np.floating)):
        raise GradingFailure(f"the intercept of {what} should be a float, got a {type(intercept).__name__}")
    if not np.isclose(intercept, expected[1], rtol=rtol, atol=rtol):
        raise GradingFailure(f"the intercept of {what}: expected {expected[1]:.8g}, got {intercept:.8g}")


@pytest.mark.points(3)
def test_matches_a_weighted_ridge(submission):
    rng = input_rng(4501)
    for S, M, width, alpha in [(50, 6, 0.25, 1.0), (200, 12, 0.25, 1.0), (80, 5, 0.5, 0.1), (40, 3, 1.0, 10.0)]:
        Z, y, d = random_samples(rng, S, M)
        expect_fit(submission(Z, y, d, kernel_width=width, alpha=alpha), sklearn_fit(Z, y, d, width, alpha),
                   f"lime_fit on {S} samples of {M} superpixels, kernel width {width}, alpha {alpha}")


@pytest.mark.points(2)
def test_without_penalty_it_is_weighted_least_squares(submission):
    rng = input_rng(4502)
    Z, y, d = random_samples(rng, 60, 5)
    root = np.sqrt(kernel(d, 0.3))
    design = np.hstack([np.ones((60, 1)), Z])  # the intercept's column
    solution = np.linalg.lstsq(design * root[:, None], y * root, rcond=None)[0]
    expected = (solution[1:], float(solution[0]))
    np.testing.assert_allclose(sklearn_fit(Z, y, d, 0.3, 0.0)[0], expected[0], rtol=1e-8, atol=1e-10)
    expect_fit(submission(Z, y, d, kernel_width=0.3, alpha=0.0), expected,
               "lime_fit with alpha=0 on 60 samples of 5 superpixels")


@pytest.mark.points(1)
def test_linear_scores_are_recovered_exactly(submission):
    rng = input_rng(4503)
    Z, _, d = random_samples(rng, 40, 4)
    truth, bias = rng.normal(size=4), 2.0
    expect_fit(submission(Z, Z @ truth + bias, d, alpha=0.0), (truth, bias),
               "lime_fit with alpha=0 on scores exactly linear in the superpixels", rtol=1e-8)


@pytest.mark.points(1)
def test_the_kernel_weights_the_samples(submission):
    # two groups of samples that disagree: the fit follows the near ones
    rng = input_rng(4504)
    Z, y, d = random_samples(rng, 120, 4)
    d = np.where(np.arange(120) < 60, 0.05, 0.6)
    y = np.where(np.arange(120) < 60, Z @ np.array([1.0, 0, 0, 0]), Z @ np.array([0, 0, 0, 5.0]))
    expected = sklearn_fit(Z, y, d, 0.25, 1.0)
    expect_fit(submission(Z, y, d), expected, "lime_fit when near and far samples disagree (default width, alpha)")


@pytest.mark.points(1)
def test_bad_inputs_raise_value_error(submission):
    rng = input_rng(4505)
    Z, y, d = random_samples(rng, 20, 3)
    for args, kwargs, what in [((Z, y[:-1], d), {}, "19 scores for 20 samples"),
                               ((Z, y, d[:, None]), {}, "distances of shape (20, 1)"),
                               ((Z[0], y[:3], d[:3]), {}, "perturbations of shape (3,)"),
                               ((Z, y, d), {"kernel_width": 0.0}, "kernel_width 0"),
                               ((Z, y, d), {"alpha": -1.0}, "alpha -1")]:
        expect_raises(ValueError, submission, *args, **kwargs, what=f"lime_fit with {what}")
