"""Grading tests of exercise ``deletion_curve``: Petsiuk et al.'s deletion metric.

Oracle: every step's image built at once from the pixels' ranks (``np.argsort`` twice,
stable, on the negated map) and scored in one batch; the probabilities by
``torch.softmax``; the area by ``numpy.trapezoid`` on ``x = 0, 1/n, ..., 1``, which is the
formula of the RISE code, ``(sum - first / 2 - last / 2) / n``. The first and last points are
checked against the untouched and the all-baseline image.
"""

import math

import numpy as np
import pytest
import torch

from lecturepkg.grading.feedback import GradingFailure, expect_array, expect_raises
from lecturepkg.grading.runtime import input_rng
from lecturepkg.grading.tests.ch04._models import conv_model, given, images

EXERCISE = "deletion_curve"


def oracle(model, x, classes, maps, p, baseline):
    N, C, H, W = x.shape
    n = math.ceil(H * W / p)
    flat = maps.reshape(N, H * W).numpy()
    ranks = np.argsort(np.argsort(-flat, axis=1, kind="stable"), axis=1, kind="stable")  # 0: most important
    steps = np.minimum(np.arange(n + 1) * p, H * W)  # pixels removed after each step
    removed = torch.from_numpy(ranks[None, :, :] < steps[:, None, None])  # (n + 1, N, H*W)
    batch = torch.where(removed[:, :, None, :], torch.full((), baseline, dtype=x.dtype),
                        x.reshape(1, N, C, H * W))  # (n + 1, N, C, H*W)
    with torch.no_grad():
        probabilities = torch.softmax(model(batch.reshape(-1, C, H, W)), dim=1).reshape(n + 1, N, -1)
    curve = probabilities[:, torch.arange(N), classes].T.contiguous()  # (N, n + 1)
    trapezoid = getattr(np, "trapezoid", None) or np.trapz
    auc = torch.from_numpy(trapezoid(curve.numpy(), dx=1 / n, axis=1))
    with torch.no_grad():  # the ends: the image itself and the image with every pixel removed
        first = torch.softmax(model(x), dim=1)[torch.arange(N), classes]
        last = torch.softmax(model(torch.full_like(x, baseline)), dim=1)[torch.arange(N), classes]
    np.testing.assert_allclose(curve[:, 0].numpy(), first.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(curve[:, -1].numpy(), last.numpy(), rtol=1e-12, atol=1e-12)
    return curve, auc


def expect_curve(result, expected, what):
    if not isinstance(result, tuple) or len(result) != 2:
        raise GradingFailure(f"{what} should return a tuple (curve, auc), got {type(result).__name__}")
    expect_array(result[0], expected[0], what=f"the curve of {what}")
    expect_array(result[1], expected[1], what=f"the area under the curve of {what}")


@pytest.mark.points(3)
def test_random_maps_pixel_by_pixel_and_in_steps(submission):
    rng = input_rng(4701)
    model = conv_model(rng, 3, 4)
    for shape, target, p, baseline in [((2, 3, 4, 4), torch.tensor([1, 3]), 1, 0.0),
                                       ((3, 3, 5, 6), 2, 4, 0.0),  # 30 pixels in 8 steps: the last takes 2
                                       ((1, 3, 3, 7), 0, 5, 0.5)]:
        x, maps = images(rng, shape), torch.from_numpy(rng.normal(size=(shape[0],) + shape[2:]))
        classes = torch.as_tensor(target).expand(shape[0])
        expected = oracle(model, x, classes, maps, p, baseline)
        expect_curve(submission(given(model), x, target, maps, pixels_per_step=p, baseline=baseline), expected,
                     f"images {shape}, target {target}, {p} pixels per step, baseline {baseline}")


@pytest.mark.points(2)
def test_a_map_and_its_reverse_remove_opposite_ends_first(submission):
    # the same image twice: the curves differ only by the order of the pixels
    rng = input_rng(4702)
    model = conv_model(rng, 1, 2)
    x = images(rng, (1, 1, 5, 5)).expand(2, 1, 5, 5).clone()
    good = torch.from_numpy(rng.normal(size=(5, 5)))
    maps = torch.stack([good, -good])
    expected = oracle(model, x, torch.tensor([0, 0]), maps, 2, 0.0)
    expect_curve(submission(given(model), x, 0, maps, pixels_per_step=2), expected,
                 "a map and its reverse, 2 pixels per step")


@pytest.mark.points(1)
def test_ties_remove_the_lower_index_first(submission):
    rng = input_rng(4703)
    model = conv_model(rng, 2, 3)
    x = images(rng, (1, 2, 4, 4))
    maps = torch.zeros(1, 4, 4, dtype=torch.float64)
    maps[0, 2:, :] = 1.0  # eight tied pixels first, then eight more
    expected = oracle(model, x, torch.tensor([2]), maps, 3, 0.0)
    expect_curve(submission(given(model), x, 2, maps, pixels_per_step=3), expected,
                 "a map with tied values, 3 pixels per step")


@pytest.mark.points(1)
def test_bad_inputs_raise_value_error(submission):
    rng = input_rng(4704)
    model = conv_model(rng, 3, 2)
    x, maps = images(rng, (2, 3, 4, 4)), torch.from_numpy(rng.normal(size=(2, 4, 4)))
    for args, kwargs, what in [((x, 0, maps[:1]), {}, "one map for two images"),
                               ((x, 0, maps[:, :3]), {}, "maps of shape (2, 3, 4) for 4 x 4 images"),
                               ((x[0], 0, maps[0]), {}, "a single image of shape (3, 4, 4)"),
                               ((x, 0, maps), {"pixels_per_step": 0}, "pixels_per_step 0")]:
        expect_raises(ValueError, submission, given(model), *args, **kwargs, what=f"deletion_curve with {what}")
