"""Grading tests of exercise ``receptive_field``: how far one output of a stack can see.

Oracles: the numbers the notes and the VGG paper publish, and PyTorch's autograd: run the
stack as ``torch.nn.functional.conv1d`` layers with positive weights, back-propagate from
its first output, and measure the span of input positions where the gradient is not zero.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lecturepkg.grading.feedback import GradingFailure, expect_equal, expect_raises
from lecturepkg.grading.runtime import input_rng

EXERCISE = "receptive_field"


def autograd_receptive_field(layers, length=400):
    """Span of the inputs that the first output of the stack depends on, by autograd."""
    x = torch.zeros(1, 1, length, dtype=torch.float64, requires_grad=True)
    y = x
    for k, s, d in layers:  # positive weights (ones): no gradient cancels out
        y = F.conv1d(y, torch.ones(1, 1, k, dtype=torch.float64), stride=s, dilation=d)
    y[0, 0, 0].backward()
    touched = np.flatnonzero(x.grad[0, 0].numpy())
    assert touched[-1] < length - 1, "the test's input is too short for this stack"
    return int(touched[-1] - touched[0] + 1)


def describe(layers):
    return f"receptive_field({layers})"


@pytest.mark.points(2)
def test_causal_stacks_of_the_notes(submission):
    # The notes: four causal layers with kernels of size 2 look back 4 time steps, with
    # dilations 1, 2, 4, 8 they look back 15: fields of 5 and 16 steps, the present included.
    for layers, look_back in [([(2, 1, 1)] * 4, 4), ([(2, 1, 1), (2, 1, 2), (2, 1, 4), (2, 1, 8)], 15)]:
        expected = autograd_receptive_field(layers)
        assert expected == look_back + 1
        expect_equal(submission(layers), expected, what=describe(layers))


@pytest.mark.points(1)
def test_two_strided_layers_of_the_notes(submission):
    # The notes' figure: kernels of size 2 with stride 2; after two layers a unit sees 4 inputs.
    layers = [(2, 2, 1), (2, 2, 1)]
    expected = autograd_receptive_field(layers)
    assert expected == 4
    expect_equal(submission(layers), expected, what=describe(layers))


@pytest.mark.points(1)
def test_stacked_3x3_layers_of_vgg(submission):
    # Simonyan & Zisserman: two 3x3 layers see 5x5, three see 7x7 (per axis: 5 and 7).
    for n, expected in [(2, 5), (3, 7)]:
        layers = [(3, 1, 1)] * n
        assert autograd_receptive_field(layers) == expected
        expect_equal(submission(layers), expected, what=describe(layers))


@pytest.mark.points(2)
def test_random_stacks_match_autograd(submission):
    rng = input_rng(2501)
    for _ in range(10):
        n = int(rng.integers(1, 5))
        layers = [(int(rng.integers(1, 6)), int(rng.integers(1, 4)), int(rng.integers(1, 4))) for _ in range(n)]
        expect_equal(submission(layers), autograd_receptive_field(layers), what=describe(layers))


@pytest.mark.points(1)
def test_empty_stack_and_one_tap_kernels(submission):
    # no layer: an input sees itself; 1-tap kernels add nothing, but their stride still
    # spreads the taps of the layers above
    for layers in [[], [(1, 2, 1), (1, 3, 1)], [(1, 2, 1), (3, 1, 1)], [(1, 3, 1), (2, 1, 2)]]:
        expected = autograd_receptive_field(layers) if layers else 1
        expect_equal(submission(layers), expected, what=describe(layers))


@pytest.mark.points(1)
def test_returns_a_python_int(submission):
    layers = [(7, 2, 1), (3, 2, 1), (3, 1, 1), (3, 1, 1), (3, 2, 1), (3, 1, 2)]  # a ResNet-like stem and more
    result = submission(layers)
    if isinstance(result, bool) or not isinstance(result, int):
        raise GradingFailure(f"{describe(layers)} should return a Python int, got a {type(result).__name__} "
                             f"({result!r}); use int(...) on numpy results and // for divisions")
    expect_equal(result, autograd_receptive_field(layers), what=describe(layers))


@pytest.mark.points(1)
def test_impossible_layers_raise_value_error(submission):
    for layers in [[(3, 1, 1), (3, 0, 1)], [(0, 1, 1)], [(3, 1, 0), (2, 1, 1)]]:
        expect_raises(ValueError, submission, layers, what=describe(layers))
