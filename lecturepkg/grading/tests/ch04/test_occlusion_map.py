"""Grading tests of exercise ``occlusion_map``: Zeiler & Fergus's occlusion experiment.

Oracles: the windows' drops spread back onto the pixels with a transposed convolution of
ones (``F.conv_transpose2d``, cropped to the image where the last window overhangs it),
divided by the number of windows covering each pixel, computed the same way. The drops come
from the model run on all occluded copies at once; for a linear model ``S = W x + b`` they
are also known in closed form, ``sum over the window of W[c] * (x - baseline)``, which
checks the oracle. (captum's ``Occlusion`` gives the same maps; the course's CI checks
that, since captum may be missing where students work.)
"""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lecturepkg.grading.feedback import expect_array, expect_raises
from lecturepkg.grading.runtime import input_rng
from lecturepkg.grading.tests.ch04._models import conv_model, given, images, linear_model

EXERCISE = "occlusion_map"


def positions(H, W, kh, kw, sh, sw):
    """Rows and columns of window positions: until the last row and column are reached."""
    return math.ceil((H - kh) / sh) + 1, math.ceil((W - kw) / sw) + 1


def spread(drops, H, W, kh, kw, sh, sw):
    """Each window's drop (N, 1, rows, cols) averaged onto the pixels it covers -> (N, H, W)."""
    ones = torch.ones(1, 1, kh, kw, dtype=drops.dtype)
    total = F.conv_transpose2d(drops, ones, stride=(sh, sw))[:, 0, :H, :W]
    count = F.conv_transpose2d(torch.ones_like(drops), ones, stride=(sh, sw))[:, 0, :H, :W]
    assert (count > 0).all()
    return total / count


def oracle(model, x, classes, kh, kw, sh, sw, baseline):
    N, C, H, W = x.shape
    rows, cols = positions(H, W, kh, kw, sh, sw)
    masks = torch.zeros(rows * cols, 1, 1, H, W, dtype=torch.bool)
    for p in range(rows * cols):
        i, j = divmod(p, cols)
        masks[p, 0, 0, i * sh:i * sh + kh, j * sw:j * sw + kw] = True  # cut off at the border
    occluded = torch.where(masks, torch.full_like(x, baseline), x)  # (P, N, C, H, W)
    with torch.no_grad():
        scores = model(occluded.reshape(-1, C, H, W)).reshape(rows * cols, N, -1)
        reference = model(x)
    picked = scores[:, torch.arange(N), classes]  # (P, N)
    drops = (reference[torch.arange(N), classes] - picked).T.reshape(N, 1, rows, cols)
    return spread(drops, H, W, kh, kw, sh, sw), drops


@pytest.mark.points(2)
def test_a_linear_model_in_closed_form(submission):
    rng = input_rng(4401)
    N, C, H, W, k, s, baseline = 2, 3, 6, 5, 3, 2, 0.0  # the last column of windows overhangs
    model = linear_model(rng, C, H, W, 4)
    x = images(rng, (N, C, H, W))
    classes = torch.tensor([1, 3])
    expected, drops = oracle(model, x, classes, k, k, s, s, baseline)
    contribution = (model[1].weight.detach()[classes].reshape(N, C, H, W) * (x - baseline)).sum(dim=1, keepdim=True)
    rows, cols = positions(H, W, k, k, s, s)
    padded = F.pad(contribution, (0, (cols - 1) * s + k - W, 0, (rows - 1) * s + k - H))  # zeros past the border
    closed = F.conv2d(padded, torch.ones(1, 1, k, k, dtype=x.dtype), stride=s)  # each window's drop
    np.testing.assert_allclose(drops.numpy(), closed.numpy(), rtol=1e-10, atol=1e-10)
    expect_array(submission(given(model), x, classes, 3, stride=2), expected,
                 what=f"the occlusion map of a linear model, images {(N, C, H, W)}, 3 x 3 window, stride 2")


@pytest.mark.points(3)
def test_windows_strides_and_baselines_on_a_network(submission):
    rng = input_rng(4402)
    model = conv_model(rng, 3, 5)
    for shape, target, window, stride, baseline in [
        ((2, 3, 7, 7), 2, 3, 2, 0.0),  # the last window ends at the border
        ((1, 3, 8, 6), 0, (2, 3), (2, 2), 0.5),  # the last column of windows is cut off
        ((2, 3, 7, 8), torch.tensor([4, 1]), 3, 3, -1.0),  # the last row and column are cut off
        ((1, 3, 5, 6), 3, 4, 1, 0.0),
    ]:
        x = images(rng, shape)
        kh, kw = (window, window) if isinstance(window, int) else window
        sh, sw = (stride, stride) if isinstance(stride, int) else stride
        classes = torch.as_tensor(target).expand(shape[0])
        expected, _ = oracle(model, x, classes, kh, kw, sh, sw, baseline)
        expect_array(submission(given(model), x, target, window, stride=stride, baseline=baseline), expected,
                     what=f"the occlusion map of images {shape} for target {target}, window {window}, "
                          f"stride {stride}, baseline {baseline}")


@pytest.mark.points(1)
def test_a_window_as_large_as_the_image(submission):
    # one position: every pixel gets the drop to the all-baseline image
    rng = input_rng(4403)
    model = conv_model(rng, 2, 3)
    x = images(rng, (2, 2, 4, 5))
    expected, _ = oracle(model, x, torch.tensor([1, 1]), 4, 5, 1, 1, 0.25)
    expect_array(submission(given(model), x, 1, (4, 5), baseline=0.25), expected,
                 what="the occlusion map with a 4 x 5 window on 4 x 5 images")


@pytest.mark.points(1)
def test_float32_images_give_a_float32_map(submission):
    rng = input_rng(4404)
    model = conv_model(rng, 3, 2).float()
    x = images(rng, (1, 3, 5, 5)).float()
    expected, _ = oracle(model, x, torch.tensor([0]), 2, 2, 1, 1, 0.0)
    expect_array(submission(given(model), x, 0, 2), expected, what="the occlusion map of float32 images",
                 check_dtype="exact")


@pytest.mark.points(1)
def test_bad_windows_and_strides_raise_value_error(submission):
    rng = input_rng(4405)
    model = conv_model(rng, 3, 2)
    x = images(rng, (1, 3, 5, 6))
    for args, kwargs, what in [((x, 0, 6), {}, "a 6 x 6 window on 5 x 6 images"),
                               ((x, 0, (2, 7)), {}, "a 2 x 7 window on 5 x 6 images"),
                               ((x, 0, 0), {}, "a 0 x 0 window"),
                               ((x, 0, 2), {"stride": 0}, "stride 0"),
                               ((x, 0, 2), {"stride": 3}, "stride 3 for a 2 x 2 window (pixels left uncovered)"),
                               ((x, 0, (3, 2)), {"stride": (1, 3)}, "stride (1, 3) for a 3 x 2 window"),
                               ((x[0], 0, 2), {}, "a single image of shape (3, 5, 6)")]:
        expect_raises(ValueError, submission, given(model), *args, **kwargs, what=f"occlusion_map with {what}")
