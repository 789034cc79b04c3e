"""The tiny ResNet-FPN backbone of lecturepkg.detection (for CPU training on the shapes).

Oracle: the same layout assembled from torchvision's own parts, ``torchvision.models.resnet``'s
``BasicBlock`` stages under a stem, fed to torchvision's ``BackboneWithFPN``; our backbone's
``state_dict`` must load into it strictly and both must give the same maps and gradients
on random images. The parameter count is checked against the closed formula of the layout,
the strides against the input size.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import pytest
import torch
from torch import nn
from torchvision.models import resnet as tv_resnet
from torchvision.models.detection.backbone_utils import BackboneWithFPN as TvBackboneWithFPN

from lecturepkg.detection import BackboneWithFPN, tiny_resnet_fpn_backbone


@pytest.fixture(autouse=True)
def _seed(one_torch_thread):
    torch.manual_seed(0)


def torchvision_twin(widths, blocks, out_channels):
    """The tiny layout built from torchvision's BasicBlock and BackboneWithFPN."""
    layers = OrderedDict(
        conv1=nn.Conv2d(3, widths[0], 3, stride=2, padding=1, bias=False),
        bn1=nn.BatchNorm2d(widths[0]), relu=nn.ReLU(),
        maxpool=nn.MaxPool2d(3, stride=2, padding=1),
    )
    inplanes = widths[0]
    for k, (width, count) in enumerate(zip(widths, blocks)):
        stride = 1 if k == 0 else 2
        down = None
        if stride != 1 or inplanes != width:
            down = nn.Sequential(nn.Conv2d(inplanes, width, 1, stride=stride, bias=False),
                                 nn.BatchNorm2d(width))
        stage = [tv_resnet.BasicBlock(inplanes, width, stride, down)]
        stage += [tv_resnet.BasicBlock(width, width) for _ in range(count - 1)]
        layers[f"layer{k + 1}"] = nn.Sequential(*stage)
        inplanes = width
    return TvBackboneWithFPN(nn.Sequential(layers), {f"layer{k}": str(k - 1) for k in range(1, 5)},
                             list(widths), out_channels)


def randomise_batch_norms_(module: nn.Module) -> None:
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)


@pytest.mark.parametrize("widths, blocks, out_channels, training", [
    ((16, 32, 64, 128), (1, 1, 1, 1), 64, True),
    ((8, 8, 16, 24), (2, 1, 3, 1), 32, False),
])
def test_equals_the_same_layout_built_from_torchvision(widths, blocks, out_channels, training):
    ours = tiny_resnet_fpn_backbone(widths=widths, blocks=blocks, out_channels=out_channels)
    randomise_batch_norms_(ours)
    twin = torchvision_twin(widths, blocks, out_channels)
    twin.load_state_dict(ours.state_dict(), strict=True)
    ours.train(training)
    twin.train(training)
    x = torch.randn(2, 3, 96, 160, dtype=torch.float64)
    ours.double()
    twin.double()
    a, b = ours(x), twin(x)
    assert list(a) == list(b) == ["0", "1", "2", "3", "pool"]
    for key in a:
        torch.testing.assert_close(a[key], b[key])
    weights = {k: torch.randn_like(v) for k, v in a.items()}
    sum((a[k] * weights[k]).sum() for k in a).backward()
    sum((b[k] * weights[k]).sum() for k in b).backward()
    twin_params = dict(twin.named_parameters())
    for name, p in ours.named_parameters():
        torch.testing.assert_close(p.grad, twin_params[name].grad, msg=name)


@pytest.mark.parametrize("height, width", [(128, 128), (64, 96), (160, 224)])
def test_maps_have_strides_4_to_64_and_out_channels(height, width):
    backbone = tiny_resnet_fpn_backbone(out_channels=24).eval()
    assert isinstance(backbone, BackboneWithFPN)
    assert backbone.out_channels == 24
    maps = backbone(torch.rand(1, 3, height, width))
    for level, stride in zip(["0", "1", "2", "3", "pool"], [4, 8, 16, 32, 64]):
        # every stride-2 layer pads, so a side of n gives ceil(n / 2)
        assert maps[level].shape == (1, 24, math.ceil(height / stride), math.ceil(width / stride))


def test_every_parameter_gets_a_gradient():
    backbone = tiny_resnet_fpn_backbone()
    maps = backbone(torch.rand(2, 3, 64, 64))
    sum(m.square().mean() for m in maps.values()).backward()
    for name, p in backbone.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def expected_parameters(widths, blocks, out_channels):
    """Closed formula: convolutions (no bias) + 2 per batch-norm channel + the pyramid."""
    count = 3 * widths[0] * 9 + 2 * widths[0]  # stem 3x3 conv and its batch norm
    inplanes = widths[0]
    for k, (w, n) in enumerate(zip(widths, blocks)):
        first = 9 * inplanes * w + 9 * w * w + 4 * w  # two 3x3 convs, two batch norms
        if k > 0 or inplanes != w:
            first += inplanes * w + 2 * w  # the 1x1 projection and its batch norm
        count += first + (n - 1) * (18 * w * w + 4 * w)
        inplanes = w
    # the pyramid: a 1x1 lateral and a 3x3 output convolution per level, with biases
    count += sum(c * out_channels + out_channels for c in widths)
    count += 4 * (9 * out_channels * out_channels + out_channels)
    return count


@pytest.mark.parametrize("widths, blocks, out_channels", [
    ((16, 32, 64, 128), (1, 1, 1, 1), 64),
    ((8, 16, 16, 32), (2, 2, 1, 3), 16),
    ((16, 16, 16, 16), (1, 1, 1, 1), 8),
])
def test_parameter_count_matches_the_formula(widths, blocks, out_channels):
    backbone = tiny_resnet_fpn_backbone(widths=widths, blocks=blocks, out_channels=out_channels)
    assert sum(p.numel() for p in backbone.parameters()) == expected_parameters(
        widths, blocks, out_channels)


def test_default_is_about_twenty_times_smaller_than_resnet18_fpn():
    from lecturepkg.detection import resnet_fpn_backbone

    tiny = sum(p.numel() for p in tiny_resnet_fpn_backbone().parameters())
    r18 = sum(p.numel() for p in resnet_fpn_backbone(backbone_name="resnet18").parameters())
    assert tiny == expected_parameters((16, 32, 64, 128), (1, 1, 1, 1), 64)
    assert r18 / tiny > 20


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(widths=(16, 32, 64)), ValueError, "widths must be a sequence of 4 ints"),
    (dict(widths="abcd"), ValueError, "widths must be a sequence of 4 ints"),
    (dict(widths=(16, 32, 0, 128)), ValueError, r"widths\[2\]"),
    (dict(widths=(16, 32, 64.0, 128)), TypeError, r"widths\[2\]"),
    (dict(blocks=(1, 1, 1)), ValueError, "blocks must be a sequence of 4 ints"),
    (dict(blocks=(1, 0, 1, 1)), ValueError, r"blocks\[1\]"),
    (dict(out_channels=0), ValueError, "out_channels"),
    (dict(out_channels=2.5), TypeError, "out_channels"),
    (dict(norm_layer="batch"), TypeError, "norm_layer"),
])
def test_bad_arguments_raise(kwargs, error, match):
    with pytest.raises(error, match=match):
        tiny_resnet_fpn_backbone(**kwargs)


def test_bad_input_raises():
    backbone = tiny_resnet_fpn_backbone()
    with pytest.raises(ValueError, match="x must have shape"):
        backbone(torch.rand(1, 1, 64, 64))
