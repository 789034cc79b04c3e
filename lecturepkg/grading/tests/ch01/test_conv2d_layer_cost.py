"""Grading tests of exercise ``conv2d_layer_cost``: parameters and MACs of a conv layer.

Oracles: the notes' table for their MNIST network, and the course's counter
``lecturepkg.counting`` run on a real ``nn.Conv2d`` (outside the student's call).
"""

import pytest
import torch
from torch import nn

from lecturepkg.counting import count_macs, count_parameters
from lecturepkg.grading.feedback import GradingFailure, expect_equal

EXERCISE = "conv2d_layer_cost"


def counted(in_channels, out_channels, kernel_size, input_size, stride=1, padding=0, bias=True):
    """(params, macs) of a real nn.Conv2d, counted by lecturepkg.counting."""
    torch.manual_seed(0)
    layer = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=bias)
    return count_parameters(layer), count_macs(layer, (in_channels, input_size, input_size))


def describe(args):
    return "conv2d_layer_cost(" + ", ".join(f"{k}={v}" for k, v in args.items()) + ")"


def expect_cost(result, expected, args):
    what = describe(args)
    if not isinstance(result, tuple) or len(result) != 2:
        raise GradingFailure(f"{what} should return a tuple (params, macs), got {result!r}")
    expect_equal(result[0], expected[0], what=f"the number of parameters of {what}")
    expect_equal(result[1], expected[1], what=f"the number of MACs of {what}")


@pytest.mark.points(2)
def test_mnist_network_layers_from_the_notes(submission):
    # The notes' table: conv1 on 1x28x28 has 832 parameters and 460,800 products, conv2 on
    # 32x8x8 has 51,264 parameters and 819,200 products.
    for args, expected in [
        (dict(in_channels=1, out_channels=32, kernel_size=5, input_size=28), (832, 460_800)),
        (dict(in_channels=32, out_channels=64, kernel_size=5, input_size=8), (51_264, 819_200)),
    ]:
        expect_cost(submission(**args), expected, args)


@pytest.mark.points(2)
def test_stride_and_padding_like_alexnet(submission):
    # AlexNet's first layer: 3 -> 64 channels, 11x11 kernels, stride 4, padding 2, 224x224 input
    args = dict(in_channels=3, out_channels=64, kernel_size=11, input_size=224, stride=4, padding=2)
    expected = counted(**args)
    assert expected == (23_296, 70_276_800)
    expect_cost(submission(**args), expected, args)


@pytest.mark.points(1)
def test_random_layers_match_the_course_counter(submission):
    for args in [
        dict(in_channels=3, out_channels=8, kernel_size=3, input_size=17, stride=2, padding=1),
        dict(in_channels=5, out_channels=2, kernel_size=1, input_size=9),
        dict(in_channels=2, out_channels=6, kernel_size=4, input_size=10, stride=3),
        dict(in_channels=4, out_channels=4, kernel_size=5, input_size=7, padding=2),
    ]:
        expect_cost(submission(**args), counted(**args), args)


@pytest.mark.points(1)
def test_layer_without_bias(submission):
    for args in [
        dict(in_channels=16, out_channels=32, kernel_size=3, input_size=12, padding=1, bias=False),
        dict(in_channels=3, out_channels=7, kernel_size=2, input_size=9, stride=2, bias=False),
    ]:
        expect_cost(submission(**args), counted(**args), args)


@pytest.mark.points(1)
def test_returns_a_tuple_of_python_ints(submission):
    args = dict(in_channels=8, out_channels=16, kernel_size=3, input_size=15, stride=2, padding=1)
    result = submission(**args)
    if not isinstance(result, tuple) or len(result) != 2:
        raise GradingFailure(f"{describe(args)} should return a tuple (params, macs), got {result!r}")
    for name, value in zip(["params", "macs"], result):
        if isinstance(value, bool) or not isinstance(value, int):
            raise GradingFailure(f"{name} should be a Python int, got a {type(value).__name__} ({value!r}); "
                                 "use // for divisions")
    expect_cost(result, counted(**args), args)
