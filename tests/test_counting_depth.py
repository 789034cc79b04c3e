"""``count_weight_layers`` against the depths the papers and the networks' names give.

The oracles: a network's name (VGG-16, ResNet-152: torchvision's own models, so the count
is not checked against the course's code only), the papers' statements (AlexNet "eight
learned layers", GoogLeNet "22 layers deep when counting only layers with parameters",
U-Net "23 convolutional layers"), and small hand-built graphs whose longest path is known
by construction. Models are built on the meta device: the count needs shapes, not numbers.
"""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

import lecturepkg.models as models
from lecturepkg.counting import count_weight_layers


@pytest.mark.parametrize(
    "name, depth",
    [("vgg11", 11), ("vgg13_bn", 13), ("vgg16", 16), ("vgg19_bn", 19), ("resnet18", 18),
     ("resnet34", 34), ("resnet50", 50), ("resnet101", 101), ("resnet152", 152),
     ("alexnet", 8)],
)
def test_torchvision_networks_have_the_depth_of_their_name(name, depth):
    with torch.device("meta"):
        model = getattr(torchvision.models, name)()
    assert count_weight_layers(model, (3, 224, 224)) == depth


def test_papers_depths():
    with torch.device("meta"):
        googlenet = torchvision.models.googlenet(init_weights=False)
        unet = models.unet()
        alexnet = models.alexnet2012()
    assert count_weight_layers(googlenet, (3, 224, 224)) == 22  # Szegedy et al., Section 5
    assert count_weight_layers(unet, (1, 572, 572)) == 23  # Ronneberger et al., Section 2
    assert count_weight_layers(alexnet, (3, 227, 227)) == 8  # Krizhevsky et al., Section 3
    assert count_weight_layers(models.LeNet5(), (1, 32, 32)) == 5


class TwoBranches(nn.Module):
    """A branch of 3 linear layers and one of 1, added, then one more: longest path 4."""

    def __init__(self):
        super().__init__()
        self.long = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4), nn.Linear(4, 4))
        self.short = nn.Linear(4, 4)
        self.last = nn.Linear(4, 2)

    def forward(self, x):
        return self.last(torch.relu(self.short(x) + self.long(x)))


class Reused(nn.Module):
    """One convolution applied three times in a row: three layers deep, one layer of weights."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 2, 3, padding=1)

    def forward(self, x):
        return self.conv(self.conv(self.conv(x)))


class TwoOutputs(nn.Module):
    """Returns a 1-layer and a 3-layer output (a tuple, like GoogLeNet's auxiliary outputs)."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv1d(1, 2, 3)
        self.b = nn.Sequential(nn.Conv1d(1, 2, 3), nn.ConvTranspose1d(2, 2, 3),
                               nn.Conv1d(2, 1, 1))

    def forward(self, x):
        return self.a(x), {"deep": self.b(x)}


@pytest.mark.parametrize(
    "model, input_size, depth",
    [
        (TwoBranches(), (4,), 4),
        (Reused(), (2, 5, 5), 3),
        (TwoOutputs(), (1, 9), 3),
        (nn.Sequential(nn.ReLU(), nn.MaxPool2d(2), nn.Flatten()), (1, 4, 4), 0),
        (nn.Sequential(nn.Conv3d(1, 1, 1), nn.BatchNorm3d(1), nn.Conv3d(1, 1, 1),
                       nn.Flatten(), nn.Linear(8, 3)), (1, 2, 2, 2), 3),
    ],
    ids=["branches", "reused", "outputs", "no-weights", "conv3d-bn-linear"],
)
def test_hand_built_graphs(model, input_size, depth):
    assert count_weight_layers(model, input_size) == depth


def test_training_mode_is_restored():
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5)).train()
    assert count_weight_layers(model, (3,)) == 1
    assert model.training


@pytest.mark.parametrize(
    "model, input_size, error, match",
    [
        ("vgg16", (3, 224, 224), TypeError, "model must be a torch.nn.Module"),
        (nn.Linear(3, 3), "3", TypeError, "input_size must be a non-empty tuple"),
        (nn.Linear(3, 3), (0,), ValueError, r"input_size\[0\] must be >= 1"),
    ],
)
def test_bad_input(model, input_size, error, match):
    with pytest.raises(error, match=match):
        count_weight_layers(model, input_size)
