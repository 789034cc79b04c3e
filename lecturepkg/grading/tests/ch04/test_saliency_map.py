"""Grading tests of exercise ``saliency_map``: Simonyan et al.'s saliency map.

Oracles: for a linear model ``S = W x + b`` the gradient of class c's score is the row
``W[c]`` itself (Simonyan et al. 2014, Section 3.1), so the map is ``max_k |W[c, k, i, j]|``;
for a small convolutional network, PyTorch's autograd run on one image at a time, checked
against central finite differences. A test computes its expectation before the student's
function runs, on a model of its own (the student's function gets a copy).
"""

import pytest
import torch

from lecturepkg.grading.feedback import GradingFailure, expect_array, expect_raises
from lecturepkg.grading.runtime import input_rng
from lecturepkg.grading.tests.ch04._models import conv_model, given, images, linear_model

EXERCISE = "saliency_map"


def autograd_saliency(model, x, classes):
    """max_k |dS_c / dx| of each image separately, by autograd."""
    maps = []
    for n in range(x.shape[0]):
        leaf = x[n:n + 1].clone().requires_grad_(True)
        (gradient,) = torch.autograd.grad(model(leaf)[0, int(classes[n])], leaf)
        maps.append(gradient[0].abs().amax(dim=0))
    return torch.stack(maps)


def finite_difference(model, x, n, c, k, i, j, h=1e-6):
    """dS_c / dx[n, k, i, j] by central differences."""
    plus, minus = x[n:n + 1].clone(), x[n:n + 1].clone()
    plus[0, k, i, j] += h
    minus[0, k, i, j] -= h
    with torch.no_grad():
        return float((model(plus)[0, c] - model(minus)[0, c]) / (2 * h))


@pytest.mark.points(2)
def test_a_linear_model_gives_its_weights(submission):
    rng = input_rng(4101)
    for (N, C, H, W, classes), target in [((2, 3, 4, 5, 4), 2), ((3, 1, 6, 3, 3), 0)]:
        model = linear_model(rng, C, H, W, classes)
        x = images(rng, (N, C, H, W))
        row = model[1].weight.detach()[target].reshape(C, H, W)
        expected = row.abs().amax(dim=0).expand(N, H, W).clone()
        expect_array(submission(given(model), x, target), expected,
                     what=f"the saliency map of a linear model for class {target} on images {(N, C, H, W)}")


@pytest.mark.points(3)
def test_a_convolutional_network_matches_autograd(submission):
    rng = input_rng(4102)
    model = conv_model(rng, 3, 5)
    x = images(rng, (3, 3, 6, 7))
    classes = torch.tensor([4, 0, 2])
    expected = autograd_saliency(model, x, classes)
    # the oracle against finite differences at one pixel
    leaf = x[1:2].clone().requires_grad_(True)
    (g,) = torch.autograd.grad(model(leaf)[0, 0], leaf)
    assert abs(float(g[0, 2, 3, 4]) - finite_difference(model, x, 1, 0, 2, 3, 4)) < 1e-6
    expect_array(submission(given(model), x, classes), expected,
                 what="the saliency maps of a convolutional network for classes [4, 0, 2]")


@pytest.mark.points(1)
def test_each_image_uses_its_own_class(submission):
    rng = input_rng(4103)
    model = conv_model(rng, 2, 3)
    x = images(rng, (1, 2, 5, 5)).expand(3, 2, 5, 5).clone()  # one image, three times
    classes = torch.tensor([0, 1, 2])
    expected = autograd_saliency(model, x, classes)
    assert not torch.allclose(expected[0], expected[1])
    expect_array(submission(given(model), x, classes), expected,
                 what="the maps of one image for classes 0, 1 and 2 (one per copy)")


@pytest.mark.points(1)
def test_float32_images_give_a_float32_map(submission):
    rng = input_rng(4104)
    model = conv_model(rng, 3, 4).float()
    x = images(rng, (2, 3, 5, 4)).float()
    expected = autograd_saliency(model, x, torch.tensor([1, 1]))
    result = submission(given(model), x, 1)
    expect_array(result, expected, what="the saliency map of float32 images", check_dtype="exact")
    if isinstance(result, torch.Tensor) and result.requires_grad:
        raise GradingFailure("the map still requires a gradient: return it detached (.detach())")


@pytest.mark.points(1)
def test_bad_inputs_raise_value_error(submission):
    rng = input_rng(4105)
    model = conv_model(rng, 3, 4)
    x = images(rng, (2, 3, 5, 5))
    for inputs, target, what in [
        (x[0], 1, "a single image of shape (3, 5, 5) instead of a batch"),
        (x, torch.tensor([0, 1, 2]), "three classes for two images"),
        (x, 4, "class 4 of a model with 4 classes (0 to 3)"),
        (x, torch.tensor([0, -1]), "class -1"),
    ]:
        expect_raises(ValueError, submission, given(model), inputs, target, what=f"saliency_map with {what}")
