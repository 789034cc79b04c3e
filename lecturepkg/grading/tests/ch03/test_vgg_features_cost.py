"""Grading tests of exercise ``vgg_features_cost``: a VGG configuration's output and size.

Oracles: torchvision's own VGG builder (``torchvision.models.vgg.make_layers`` on its
``cfgs`` table), built and run on PyTorch's ``meta`` device (shapes without arithmetic),
whose parameters are counted; and the parameter counts torchvision publishes with its
ImageNet weights (``VGG16_Weights.IMAGENET1K_V1.meta["num_params"]``, readable offline).
"""

import pytest
import torch
import torchvision
from torchvision.models import vgg

from lecturepkg.grading.feedback import GradingFailure, expect_equal, expect_raises
from lecturepkg.grading.runtime import input_rng

EXERCISE = "vgg_features_cost"

VGG = {"vgg11": "A", "vgg13": "B", "vgg16": "D", "vgg19": "E"}  # torchvision's names -> cfgs


def torchvision_cost(cfg, in_channels=3, input_size=224, batch_norm=False):
    """((C, H, W), params) of torchvision's make_layers(cfg), on the meta device."""
    H, W = (input_size, input_size) if isinstance(input_size, int) else input_size
    with torch.device("meta"):
        features = vgg.make_layers(list(cfg), batch_norm=batch_norm)
        if in_channels != 3:  # make_layers starts from 3 channels: swap the first convolution
            i = next((i for i, m in enumerate(features) if isinstance(m, torch.nn.Conv2d)), None)
            if i is not None:
                features[i] = torch.nn.Conv2d(in_channels, features[i].out_channels, 3, padding=1)
        out = features(torch.zeros(1, in_channels, H, W))
    params = sum(p.numel() for p in features.parameters())
    return tuple(int(n) for n in out.shape[1:]), int(params)


def describe(cfg, **kwargs):
    extra = "".join(f", {k}={v!r}" for k, v in kwargs.items())
    return f"vgg_features_cost({cfg}{extra})"


def expect_cost(result, expected, what):
    if not isinstance(result, tuple) or len(result) != 2:
        raise GradingFailure(f"{what} should return a tuple (out_shape, params), got {result!r}")
    shape, params = result
    if not isinstance(shape, tuple) or len(shape) != 3:
        raise GradingFailure(f"the output shape of {what} should be a tuple (C, H, W), got {shape!r}")
    for axis, got, want in zip("CHW", shape, expected[0]):
        expect_equal(got, want, what=f"{axis} of the output shape of {what} (expected shape {expected[0]}, "
                                     f"got {shape})")
    expect_equal(params, expected[1], what=f"the number of parameters of {what}")


@pytest.mark.points(2)
def test_vgg16_on_imagenet_images(submission):
    cfg = vgg.cfgs["D"]
    expected = torchvision_cost(cfg)
    assert expected == ((512, 7, 7), 14_714_688)
    expect_cost(submission(list(cfg)), expected, describe("VGG-16's cfg"))


@pytest.mark.points(2)
def test_the_four_vggs_with_and_without_batch_norm(submission):
    # torchvision's published parameter counts, whole networks: the features counted here
    # plus the classifier (512*7*7 -> 4096 -> 4096 -> 1000), counted on the meta device
    with torch.device("meta"):
        classifier = sum(p.numel() for p in torchvision.models.vgg16().classifier.parameters())
    for name, key in VGG.items():
        for batch_norm in (False, True):
            builder = f"{name}_bn" if batch_norm else name
            weights = torchvision.models.get_model_weights(builder).IMAGENET1K_V1
            expected = torchvision_cost(vgg.cfgs[key], batch_norm=batch_norm)
            assert expected[1] + classifier == weights.meta["num_params"], builder
            expect_cost(submission(list(vgg.cfgs[key]), batch_norm=batch_norm), expected,
                        describe(f"{builder}'s cfg", batch_norm=batch_norm))


@pytest.mark.points(2)
def test_other_inputs_and_random_configurations(submission):
    rng = input_rng(3101)
    cases = [([16, "M", 32, "M"], 1, 28), ([8, 8, "M", 16, "M", 16], 2, (37, 50)), (["M", 4], 5, 9)]
    for _ in range(6):
        cfg = []
        for _ in range(int(rng.integers(1, 7))):
            cfg.append("M" if rng.random() < 0.35 else int(rng.integers(1, 40)))
        cases.append((cfg, int(rng.integers(1, 6)), (int(rng.integers(64, 130)), int(rng.integers(64, 130)))))
    for cfg, in_channels, size in cases:
        for batch_norm in (False, True):
            expected = torchvision_cost(cfg, in_channels, size, batch_norm)
            expect_cost(submission(list(cfg), in_channels=in_channels, input_size=size, batch_norm=batch_norm),
                        expected, describe(cfg, in_channels=in_channels, input_size=size, batch_norm=batch_norm))


@pytest.mark.points(1)
def test_odd_sizes_round_down_when_pooling(submission):
    # 7 -> 3 -> 1: max pooling floors, as torchvision's nn.MaxPool2d(2, 2) does
    for size in [7, 15, (9, 12)]:
        cfg = [4, "M", 6, "M"]
        expected = torchvision_cost(cfg, 3, size)
        expect_cost(submission(cfg, input_size=size), expected, describe(cfg, input_size=size))


@pytest.mark.points(1)
def test_returns_python_ints(submission):
    shape, params = submission([64, "M", 128, "M"], input_size=32)
    for value, what in [(params, "params"), *((v, "out_shape") for v in shape)]:
        if isinstance(value, bool) or not isinstance(value, int):
            raise GradingFailure(f"{what} should hold Python ints, got a {type(value).__name__} ({value!r})")


@pytest.mark.points(1)
def test_bad_configurations_raise_value_error(submission):
    for cfg, size in [([64, "X"], 32), ([64, 0], 32), ([64, -8], 32), ([8, "M", "M"], 3), ([8], 0)]:
        expect_raises(ValueError, submission, cfg, input_size=size, what=describe(cfg, input_size=size))
