"""One convention for every model of ``lecturepkg.models``.

Constructors: the input's channel count comes first (``in_channels``, or ``alphabet_size``
for the character CNN, whose input channels are the alphabet), and the number of classes is
the keyword ``num_classes``, as in torchvision's builders. Models built for one input kind
(``DigitsLeNet``, ``MnistConvNet``: one-channel digits) take no ``in_channels``.

Forward: input that is not a tensor raises ``TypeError``, a tensor of the wrong shape
``ValueError``; both name the argument ``x`` and the expected shape.
"""

from __future__ import annotations

import inspect

import pytest
import torch
import torchvision.models
from torch import nn

import lecturepkg.models as models

# every model with the input it accepts and a tensor of the wrong shape for it
CASES = {
    "LeNet5": (
        lambda: models.LeNet5(), (2, 1, 32, 32), [(2, 3, 32, 32), (1, 32, 32), (2, 1, 28, 28)]
    ),
    "DigitsLeNet": (lambda: models.DigitsLeNet(), (2, 1, 8, 8), [(2, 3, 8, 8), (1, 8, 8)]),
    "MnistConvNet": (lambda: models.MnistConvNet(), (2, 1, 28, 28), [(2, 2, 28, 28), (1, 28, 28)]),
    "FCN": (lambda: models.FCN(3, 2), (2, 3, 20), [(2, 1, 20), (3, 20)]),
    "CharCNN": (lambda: models.CharCNN(5, 2, 16), (2, 5, 16), [(2, 5, 15), (5, 16)]),
    "CNN3d": (
        lambda: models.CNN3d(2, 3, width=2), (2, 2, 8, 8, 8), [(2, 1, 8, 8, 8), (2, 8, 8, 8)]
    ),
    "TCN": (lambda: models.TCN(2, 4, 2, [1, 2], 3), (2, 2, 10), [(2, 3, 10), (2, 10)]),
    "CausalConv1d": (lambda: models.CausalConv1d(2, 4, 2), (2, 2, 10), [(2, 3, 10), (2, 10)]),
    "TemporalBlock": (lambda: models.TemporalBlock(2, 4, 2, 1), (2, 2, 10), [(2, 3, 10), (2, 10)]),
    "ResNet": (
        lambda: models.resnet18(num_classes=3), (2, 3, 32, 32), [(2, 1, 32, 32), (3, 32, 32)]
    ),
    "GoogLeNet": (
        lambda: models.googlenet(num_classes=3, aux_logits=False), (2, 3, 32, 32),
        [(2, 1, 32, 32), (3, 32, 32)],
    ),
    "InceptionAux": (lambda: models.InceptionAux(8, 3), (2, 8, 14, 14), [(2, 7, 14, 14)]),
    "CifarResNet": (
        lambda: models.CifarResNet(2, 3, depth=8, width=2), (2, 2, 7, 9),
        [(2, 1, 8, 8), (2, 8, 8)],
    ),
    "UNet": (
        lambda: models.UNet(3, 1, base_channels=2, depth=2, padding="same"), (2, 3, 8, 12),
        [(2, 1, 8, 8), (3, 8, 8)],
    ),
    "AlexNet": (lambda: models.AlexNet(10), (2, 3, 63, 70), [(2, 1, 64, 64), (3, 64, 64)]),
    "AlexNet2012": (
        lambda: models.AlexNet2012(10), (1, 3, 227, 227), [(1, 3, 224, 224), (3, 227, 227)]
    ),
    "GapNet": (
        lambda: models.GapNet(3, num_classes=4, width=2), (2, 3, 8, 12),
        [(2, 1, 8, 8), (3, 8, 8)],
    ),
    "VGG": (
        lambda: models.VGG(2, 3, config=[4, "M", 8, "M"]), (2, 2, 4, 6),
        [(2, 3, 8, 8), (2, 8, 8)],
    ),
}


# classes that take the arguments of their torchvision namesake, in its order
TORCHVISION_ORDER = {"ResNet"}


def all_models() -> set[str]:
    return {
        name for name in models.__all__
        if inspect.isclass(getattr(models, name)) and issubclass(getattr(models, name), nn.Module)
    }


def test_every_model_is_covered():
    assert set(CASES) == all_models()


@pytest.mark.parametrize("name", sorted(CASES))
def test_good_input_runs(name):
    make, good, _ = CASES[name]
    model = make().eval()
    with torch.no_grad():
        assert model(torch.randn(good)).shape[0] == good[0]


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("bad", [[[0.0]], "x", None], ids=["list", "str", "None"])
def test_non_tensor_input_raises_type_error_naming_x(name, bad):
    model = CASES[name][0]()
    with pytest.raises(TypeError, match=r"^x must be a torch\.Tensor of shape \(N, "):
        model(bad)


@pytest.mark.parametrize(
    "name, shape", [(name, shape) for name, (_, _, bad) in CASES.items() for shape in bad]
)
def test_wrong_shape_raises_value_error_naming_x(name, shape):
    model = CASES[name][0]()
    with pytest.raises(ValueError, match=r"^x must have shape \(N, ") as info:
        model(torch.zeros(shape))
    assert str(tuple(shape)) in str(info.value)


@pytest.mark.parametrize("name", sorted(all_models()))
def test_constructor_order(name):
    params = list(inspect.signature(getattr(models, name)).parameters)
    if name in TORCHVISION_ORDER:  # torchvision's (block, layers, num_classes, ...)
        theirs = list(inspect.signature(getattr(torchvision.models, name)).parameters)
        assert params[: len(theirs)] == theirs, params
        return
    if "num_classes" in params:
        assert params[0] in ("in_channels", "alphabet_size", "num_classes"), params
        if "in_channels" in params:
            assert params.index("in_channels") < params.index("num_classes"), params
    elif params:
        assert params[0] == "in_channels", params
