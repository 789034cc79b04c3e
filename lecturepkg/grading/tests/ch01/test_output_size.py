"""Grading tests of exercise ``output_size``: the output length of a convolution.

Oracles: the notes' published sizes, and the shape of what ``torch.nn.functional.conv1d``
actually returns for the same hyper-parameters.
"""

import itertools

import pytest
import torch
import torch.nn.functional as F

from lecturepkg.grading.feedback import GradingFailure, expect_equal

EXERCISE = "output_size"


def torch_output_size(input_size, kernel_size, stride=1, padding=0, dilation=1):
    """The length PyTorch gives: run F.conv1d on zeros and read the shape."""
    x = torch.zeros(1, 1, input_size)
    w = torch.zeros(1, 1, kernel_size)
    return F.conv1d(x, w, stride=stride, padding=padding, dilation=dilation).shape[-1]


def call(submission, **kwargs):
    return submission(kwargs.pop("input_size"), kwargs.pop("kernel_size"), **kwargs)


def describe(**kwargs):
    return "output_size(" + ", ".join(f"{k}={v}" for k, v in kwargs.items()) + ")"


@pytest.mark.points(1)
def test_dilated_example_from_the_notes(submission):
    # The notes: a 3x3 kernel with dilation 4 turns a 20 x 30 map into a 12 x 22 map.
    for i, expected in [(20, 12), (30, 22)]:
        args = dict(input_size=i, kernel_size=3, dilation=4)
        expect_equal(call(submission, **args), expected, what=describe(**args))


@pytest.mark.points(1)
def test_no_padding_stride_one_gives_valid_length(submission):
    for i, k in [(28, 5), (7, 7), (10, 1), (6, 3)]:
        args = dict(input_size=i, kernel_size=k)
        expect_equal(call(submission, **args), i - k + 1, what=describe(**args))


@pytest.mark.points(1)
def test_padding_is_added_on_both_sides(submission):
    # 'same' padding keeps the length, 'full' padding (k - 1 on each side) grows it by k - 1
    for args, expected in [(dict(input_size=5, kernel_size=3, padding=1), 5),
                           (dict(input_size=5, kernel_size=3, padding=2), 7),
                           (dict(input_size=8, kernel_size=5, padding=2), 8)]:
        expect_equal(call(submission, **args), expected, what=describe(**args))


@pytest.mark.points(2)
def test_stride_rounds_down_like_alexnet(submission):
    # AlexNet's first layer: 224 x 224 input, 11 x 11 kernel, stride 4, padding 2 -> 55 x 55
    cases = [dict(input_size=224, kernel_size=11, stride=4, padding=2),
             dict(input_size=7, kernel_size=3, stride=2),
             dict(input_size=8, kernel_size=3, stride=2),
             dict(input_size=10, kernel_size=2, stride=3, padding=1)]
    for args in cases:
        expect_equal(call(submission, **args), torch_output_size(**args), what=describe(**args))


@pytest.mark.points(2)
def test_all_hyperparameters_together_match_torch(submission):
    for i, k, s, p, d in itertools.product([5, 9, 16], [1, 2, 3], [1, 2, 3], [0, 1, 2], [1, 2, 3]):
        if d * (k - 1) + 1 > i + 2 * p:
            continue  # the dilated kernel does not fit
        args = dict(input_size=i, kernel_size=k, stride=s, padding=p, dilation=d)
        expect_equal(call(submission, **args), torch_output_size(**args), what=describe(**args))


@pytest.mark.points(1)
def test_returns_an_int(submission):
    args = dict(input_size=32, kernel_size=5, stride=2, padding=1)
    result = call(submission, **args)
    if isinstance(result, bool) or not isinstance(result, int):
        raise GradingFailure(f"{describe(**args)} should return a Python int, got a "
                             f"{type(result).__name__} ({result!r}); use // for the division")
    expect_equal(result, torch_output_size(**args), what=describe(**args))
