"""Parameter and MAC counts against published figures: torchvision's model metadata (shipped
offline inside torchvision) and the MNIST-network table of Fleuret's lecture notes."""

from __future__ import annotations

import pytest
import torch
import torchvision
from hypothesis import given, settings, strategies as st
from torch import nn

from lecturepkg.counting import count_macs, count_parameters, layer_stats, summary
from lecturepkg.models import MnistConvNet

# (constructor, weights enum, parameters and GMACs as torchvision's weights metadata publishes
# them: num_params and _ops)
PUBLISHED = [
    ("alexnet", "AlexNet_Weights", 61_100_840, 0.714),
    ("vgg16", "VGG16_Weights", 138_357_544, 15.47),
    ("resnet18", "ResNet18_Weights", 11_689_512, 1.814),
]


@pytest.mark.parametrize("name, weights, params, gmacs", PUBLISHED, ids=[p[0] for p in PUBLISHED])
def test_torchvision_published_figures(name, weights, params, gmacs):
    meta = getattr(torchvision.models, weights).IMAGENET1K_V1.meta
    assert (meta["num_params"], meta["_ops"]) == (params, gmacs)  # the oracle is what we think
    model = getattr(torchvision.models, name)()
    assert count_parameters(model) == params
    digits = len(str(gmacs).split(".")[1])
    assert round(count_macs(model, (3, 224, 224)) / 1e9, digits) == gmacs


def test_mnist_network_table_of_the_notes():
    rows = {r.name: r for r in layer_stats(MnistConvNet(), (1, 28, 28))}
    # Each line of the notes' table: parameters and products per layer.
    assert (rows["conv1"].params, rows["conv1"].macs) == (32 * (5**2 + 1), 32 * 24**2 * 5**2)
    assert rows["conv1"].output_shape == (32, 24, 24)
    assert rows["pool1"].output_shape == (32, 8, 8) and rows["pool1"].macs == 0
    assert (rows["conv2"].params, rows["conv2"].macs) == (64 * (32 * 5**2 + 1), 32 * 64 * 4**2 * 5**2)
    assert rows["pool2"].output_shape == (64, 2, 2)
    assert (rows["fc1"].params, rows["fc1"].macs) == (200 * 257, 200 * 256)
    assert (rows["fc2"].params, rows["fc2"].macs) == (10 * 201, 10 * 200)
    assert count_parameters(MnistConvNet()) == 105_506
    assert count_macs(MnistConvNet(), (1, 28, 28)) == 1_333_200


@settings(max_examples=25, deadline=None)
@given(cin=st.integers(1, 4), mult=st.integers(1, 3), groups=st.sampled_from([1, 2]),
       k=st.integers(1, 4), stride=st.integers(1, 3), pad=st.integers(0, 2), size=st.integers(5, 12),
       transposed=st.booleans())
def test_conv_macs_equal_a_brute_force_count_of_products(cin, mult, groups, k, stride, pad, size, transposed):
    """Oracle: with every input (padding included) equal to one, d(sum of outputs)/d(weight tap)
    is the number of products that tap takes part in; summed over taps, all products."""
    cin, cout = cin * groups, mult * groups
    x = torch.ones(1, cin, size, size)
    if transposed:
        conv = nn.ConvTranspose2d(cin, cout, k, stride=stride, padding=pad, groups=groups)
        # padding only crops the output of a transposed convolution; the uncropped output
        # is what is computed, so count on it
        full = torch.nn.functional.conv_transpose2d(x, conv.weight, stride=stride, groups=groups)
    else:
        conv = nn.Conv2d(cin, cout, k, stride=stride, padding=pad, groups=groups)
        padded = torch.nn.functional.pad(x, (pad,) * 4, value=1.0)
        full = torch.nn.functional.conv2d(padded, conv.weight, stride=stride, groups=groups)
    products = int(torch.autograd.grad(full.sum(), conv.weight)[0].sum().item())
    assert count_macs(conv, (cin, size, size)) == products


def test_linear_and_shared_modules():
    lin = nn.Linear(10, 4)
    assert count_macs(lin, (7, 10)) == 7 * 40  # applied to each of 7 rows
    shared = nn.Sequential(lin, nn.ReLU(), nn.Linear(4, 10), nn.ReLU(), nn.Linear(10, 4))
    shared[4] = lin  # the same module (and parameters) used twice
    assert count_parameters(shared) == count_parameters(lin) + 4 * 10 + 10
    rows = layer_stats(shared, (10,))
    assert [r.params for r in rows if r.kind == "Linear"] == [44, 50, 0]
    assert count_macs(shared, (10,)) == 40 + 40 + 40


def test_trainable_only_and_training_mode_restored():
    model = MnistConvNet().train()
    model.conv1.weight.requires_grad_(False)
    assert count_parameters(model, trainable_only=True) == 105_506 - 32 * 25
    layer_stats(model, (1, 28, 28))
    assert model.training


def test_summary_lists_every_layer_and_totals():
    text = summary(MnistConvNet(), (1, 28, 28))
    for name in ("conv1", "pool1", "relu1", "conv2", "flatten", "fc1", "fc2"):
        assert name in text
    assert text.splitlines()[-1].split()[-2:] == ["105,506", "1,333,200"]


def test_bad_input():
    with pytest.raises(TypeError, match="model"):
        count_parameters("resnet")
    with pytest.raises(TypeError, match="input_size"):
        count_macs(nn.Linear(2, 2), "2")
    with pytest.raises(ValueError, match=r"input_size\[1\]"):
        count_macs(nn.Conv2d(1, 1, 3), (1, 0, 5))
