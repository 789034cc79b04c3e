"""Grading tests of exercise ``highway_forward``: a dense highway layer.

Oracle: equation (3) of Srivastava, Greff & Schmidhuber (2015), ``y = H(x) T(x) + x (1 -
T(x))``, written with ``torch.nn.Linear`` layers (which hold the weights in the layout the
exercise uses), ``torch.relu`` and ``torch.sigmoid``, in float64; and the paper's two limits:
a closed gate carries x through, an open gate gives H(x).
"""

import numpy as np
import pytest
import torch
from torch import nn

from lecturepkg.grading.feedback import expect_array, expect_raises
from lecturepkg.grading.runtime import input_rng

EXERCISE = "highway_forward"


def torch_highway(x, weight_h, bias_h, weight_t, bias_t):
    F = x.shape[1]
    plain, gate = nn.Linear(F, F).double(), nn.Linear(F, F).double()
    with torch.no_grad():
        for layer, w, b in [(plain, weight_h, bias_h), (gate, weight_t, bias_t)]:
            layer.weight.copy_(torch.from_numpy(w))
            layer.bias.copy_(torch.from_numpy(b))
        x = torch.from_numpy(x)
        h, t = torch.relu(plain(x)), torch.sigmoid(gate(x))
        return (h * t + x * (1 - t)).numpy()


def random_layer(rng, N, F, gate_bias=0.0):
    x = rng.normal(size=(N, F))
    weight_h, weight_t = rng.normal(size=(F, F)) / np.sqrt(F), rng.normal(size=(F, F)) / np.sqrt(F)
    bias_h, bias_t = rng.normal(size=F), rng.normal(size=F) + gate_bias
    return x, weight_h, bias_h, weight_t, bias_t


@pytest.mark.points(3)
def test_random_layers_match_the_paper(submission):
    rng = input_rng(3601)
    for N, F in [(4, 3), (7, 8), (1, 5), (16, 2)]:
        args = random_layer(rng, N, F)
        expect_array(submission(*args), torch_highway(*args), what=f"the output for x of shape {(N, F)}")


@pytest.mark.points(1)
def test_a_closed_gate_carries_the_input(submission):
    # T(x) ~ 0 (gate bias -40): y = x, whatever H computes
    rng = input_rng(3602)
    args = random_layer(rng, 5, 6, gate_bias=-40.0)
    expected = torch_highway(*args)
    np.testing.assert_allclose(expected, args[0], rtol=1e-12, atol=1e-12)
    expect_array(submission(*args), expected, what="the output when the transform gate is closed (T = 0)")


@pytest.mark.points(1)
def test_an_open_gate_gives_the_transform(submission):
    # T(x) ~ 1 (gate bias +40): y = H(x) = relu(x W_H^T + b_H)
    rng = input_rng(3603)
    args = random_layer(rng, 5, 6, gate_bias=40.0)
    x, weight_h, bias_h = args[:3]
    expected = torch_highway(*args)
    np.testing.assert_allclose(expected, np.maximum(x @ weight_h.T + bias_h, 0), rtol=1e-12, atol=1e-12)
    expect_array(submission(*args), expected, what="the output when the transform gate is open (T = 1)")


@pytest.mark.points(1)
def test_negative_gate_bias_of_the_paper(submission):
    # the paper initialises the gate bias negative (-1 to -3): the layer starts close to
    # carrying its input
    rng = input_rng(3604)
    args = random_layer(rng, 6, 4, gate_bias=-2.0)
    expect_array(submission(*args), torch_highway(*args), what="the output with a gate bias around -2")


@pytest.mark.points(1)
def test_bad_shapes_raise_value_error(submission):
    rng = input_rng(3605)
    x, weight_h, bias_h, weight_t, bias_t = random_layer(rng, 3, 4)
    for args, what in [
        ((x, rng.normal(size=(5, 4)), rng.normal(size=5), weight_t, bias_t), "a transform to 5 features of 4"),
        ((x, weight_h, bias_h, rng.normal(size=(4, 5)), bias_t), "a gate weight of shape (4, 5)"),
        ((x, weight_h, bias_h, weight_t, rng.normal(size=3)), "a gate bias of 3 for 4 features"),
        # numpy would broadcast these silently: only a check of the shapes catches them
        ((x, rng.normal(size=(1, 4)), rng.normal(size=1), weight_t, bias_t), "a transform to 1 feature of 4"),
        ((x, weight_h, bias_h, weight_t, rng.normal(size=1)), "a gate bias of shape (1,)"),
    ]:
        expect_raises(ValueError, submission, *args, what=f"highway_forward with {what}")
