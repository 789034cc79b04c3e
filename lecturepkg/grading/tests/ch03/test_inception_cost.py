"""Grading tests of exercise ``inception_cost``: an inception module's channels and cost.

Oracles: the module built from ``nn.Conv2d`` and ``nn.MaxPool2d`` layers and run on
PyTorch's ``meta`` device (shapes without arithmetic) under
``torch.utils.flop_counter.FlopCounterMode``, which counts 2 FLOPs per multiply-add of a
convolution; the lecture notes' worked example (120,422,400 and 12,443,648
multiplications); and Table 1 of Szegedy et al. 2015 (GoogLeNet), which gives inception
(3a) 256 output maps and 128M operations, (3b) 480 maps and 304M.
"""

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from lecturepkg.grading.feedback import GradingFailure, expect_equal, expect_raises
from lecturepkg.grading.runtime import input_rng

EXERCISE = "inception_cost"


class Module(nn.Module):
    """The inception module of the docstring; a branch of 0 maps is left out."""

    def __init__(self, in_channels, ch1x1, ch3x3, ch5x5, ch3x3red=None, ch5x5red=None, pool_proj=None):
        super().__init__()
        self.branches = nn.ModuleList()
        if ch1x1:
            self.branches.append(nn.Conv2d(in_channels, ch1x1, 1))
        for red, out, k in [(ch3x3red, ch3x3, 3), (ch5x5red, ch5x5, 5)]:
            if not out:
                continue
            layers = [] if red is None else [nn.Conv2d(in_channels, red, 1)]
            layers.append(nn.Conv2d(in_channels if red is None else red, out, k, padding=k // 2))
            self.branches.append(nn.Sequential(*layers))
        if pool_proj != 0:
            pool = [nn.MaxPool2d(3, stride=1, padding=1)]
            if pool_proj is not None:
                pool.append(nn.Conv2d(in_channels, pool_proj, 1))
            self.branches.append(nn.Sequential(*pool))

    def forward(self, x):
        return torch.cat([branch(x) for branch in self.branches], dim=1)


def counted(in_channels, size, ch1x1, ch3x3, ch5x5, ch3x3red=None, ch5x5red=None, pool_proj=None):
    """(output channels, multiplications) of the module, by FlopCounterMode on meta tensors."""
    H, W = (size, size) if isinstance(size, int) else size
    with torch.device("meta"):
        module = Module(in_channels, ch1x1, ch3x3, ch5x5, ch3x3red, ch5x5red, pool_proj)
        x = torch.zeros(1, in_channels, H, W)
        with FlopCounterMode(display=False) as counter:
            y = module(x)
    assert y.shape[2:] == (H, W)
    return int(y.shape[1]), counter.get_total_flops() // 2


def describe(args):
    return "inception_cost(" + ", ".join(f"{k}={v!r}" for k, v in args.items()) + ")"


def expect_cost(result, expected, args):
    what = describe(args)
    if not isinstance(result, tuple) or len(result) != 2:
        raise GradingFailure(f"{what} should return a tuple (out_channels, multiplications), got {result!r}")
    expect_equal(result[0], expected[0], what=f"the output channels of {what}")
    expect_equal(result[1], expected[1], what=f"the multiplications of {what}")


@pytest.mark.points(2)
def test_five_by_five_branch_of_the_notes(submission):
    # 32 maps of 5 x 5 on 28 x 28 x 192: 5^2 * 28^2 * 192 * 32 = 120,422,400 multiplications,
    # and 12,443,648 after a 1 x 1 reduction to 16 maps
    naive = dict(in_channels=192, size=28, ch1x1=0, ch3x3=0, ch5x5=32, pool_proj=0)
    reduced = dict(naive, ch5x5red=16)
    for args, published in [(naive, 120_422_400), (reduced, 12_443_648)]:
        expected = counted(**args)
        assert expected == (32, published)
        expect_cost(submission(**args), expected, args)


@pytest.mark.points(2)
def test_naive_module_of_the_notes(submission):
    # 1x1: 128, 3x3: 192, 5x5: 96 maps and the pooled input (256 maps): 28 x 28 x 672
    args = dict(in_channels=256, size=28, ch1x1=128, ch3x3=192, ch5x5=96)
    expected = counted(**args)
    assert expected[0] == 128 + 192 + 96 + 256 == 672
    expect_cost(submission(**args), expected, args)


@pytest.mark.points(2)
def test_googlenet_modules_3a_and_3b(submission):
    # Szegedy et al. 2015, Table 1: (3a) 28x28x256, 128M ops; (3b) 28x28x480, 304M ops
    for args, channels, millions in [
        (dict(in_channels=192, size=28, ch1x1=64, ch3x3red=96, ch3x3=128, ch5x5red=16, ch5x5=32, pool_proj=32),
         256, 128),
        (dict(in_channels=256, size=28, ch1x1=128, ch3x3red=128, ch3x3=192, ch5x5red=32, ch5x5=96, pool_proj=64),
         480, 304),
    ]:
        expected = counted(**args)
        assert expected[0] == channels and round(expected[1] / 1e6) == millions
        expect_cost(submission(**args), expected, args)


@pytest.mark.points(2)
def test_random_modules_on_rectangular_maps(submission):
    rng = input_rng(3401)
    for _ in range(8):
        n = lambda: int(rng.integers(0, 20))  # noqa: E731
        maybe = lambda: None if rng.random() < 0.4 else int(rng.integers(1, 12))  # noqa: E731
        args = dict(in_channels=int(rng.integers(1, 30)), size=(int(rng.integers(1, 20)), int(rng.integers(1, 20))),
                    ch1x1=n(), ch3x3=n(), ch5x5=n(), ch3x3red=maybe(), ch5x5red=maybe(), pool_proj=maybe())
        expect_cost(submission(**args), counted(**args), args)


@pytest.mark.points(1)
def test_returns_python_ints(submission):
    result = submission(192, 28, 64, 128, 32, ch3x3red=96, ch5x5red=16, pool_proj=32)
    for value in result if isinstance(result, tuple) else [result]:
        if isinstance(value, bool) or not isinstance(value, int):
            raise GradingFailure(f"inception_cost should return Python ints, got a {type(value).__name__} "
                                 f"({value!r}); use int(...) on numpy results")


@pytest.mark.points(1)
def test_bad_arguments_raise_value_error(submission):
    for args in [dict(in_channels=192, size=0, ch1x1=1, ch3x3=1, ch5x5=1),
                 dict(in_channels=192, size=(28, -1), ch1x1=1, ch3x3=1, ch5x5=1),
                 dict(in_channels=192, size=28, ch1x1=-4, ch3x3=1, ch5x5=1),
                 dict(in_channels=192, size=28, ch1x1=1, ch3x3=1, ch5x5=1, ch5x5red=-16)]:
        expect_raises(ValueError, submission, **args, what=describe(args))
