"""Feature pyramid and ResNet-FPN backbone of lecturepkg.detection against torchvision.

Oracles: ``torchvision.ops.FeaturePyramidNetwork`` and ``LastLevelMaxPool``,
``torchvision.ops.misc.FrozenBatchNorm2d``, ``torchvision.models.detection.backbone_utils``'s
``resnet_fpn_backbone`` and the backbone of ``maskrcnn_resnet50_fpn(weights=None,
weights_backbone=None)``. Each torchvision module is built with random weights (batch norm
statistics randomised too), its ``state_dict`` is loaded strictly into the course's module,
and both are run on the same random input: outputs and gradients must agree.
"""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
import torchvision
from torch import nn
from torchvision.models.detection import backbone_utils as tv_backbone_utils
from torchvision.ops import feature_pyramid_network as tv_fpn
from torchvision.ops import misc as tv_misc

from lecturepkg.detection import backbone as our_backbone
from lecturepkg.detection import fpn as our_fpn
from lecturepkg.models import resnets


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def randomise_(module: nn.Module) -> nn.Module:
    """Random parameters and batch norm statistics, so that no layer is an identity."""
    with torch.no_grad():
        for name, t in module.state_dict().items():
            if name.endswith("num_batches_tracked"):
                continue
            if name.endswith("running_var"):
                t.uniform_(0.5, 1.5)
            elif name.endswith("bn3.weight") or name.endswith("bn2.weight"):
                t.uniform_(0.1, 0.3)  # keeps a deep ResNet's activations of moderate size
            else:
                t.normal_(0.0, 0.1 if t.ndim > 1 else 0.2)
    return module


def assert_close_dicts(ours, theirs, **tol):
    assert list(ours.keys()) == list(theirs.keys())
    for k in ours:
        assert ours[k].shape == theirs[k].shape, k
        torch.testing.assert_close(ours[k], theirs[k], **tol)


# ---------------------------------------------------------------- FrozenBatchNorm2d


def test_frozen_batch_norm_equals_torchvisions_and_batch_norm_in_eval_mode():
    bn = randomise_(nn.BatchNorm2d(5)).eval()
    ours = our_backbone.FrozenBatchNorm2d(5)
    theirs = tv_misc.FrozenBatchNorm2d(5)
    ours.load_state_dict(bn.state_dict(), strict=True)  # num_batches_tracked is dropped
    theirs.load_state_dict(bn.state_dict(), strict=True)
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    assert list(ours.parameters()) == []
    x = torch.randn(2, 5, 4, 3, requires_grad=True)
    y = ours(x)
    torch.testing.assert_close(y, theirs(x))
    torch.testing.assert_close(y, bn(x))
    (g,) = torch.autograd.grad((y * torch.randn_like(y)).sum(), x)
    assert g.abs().sum() > 0


def test_frozen_batch_norm_rejects_bad_input():
    with pytest.raises(ValueError, match="x must have shape"):
        our_backbone.FrozenBatchNorm2d(3)(torch.randn(1, 4, 2, 2))
    with pytest.raises(TypeError, match="num_features"):
        our_backbone.FrozenBatchNorm2d(3.0)


# ---------------------------------------------------------------- FeaturePyramidNetwork


@pytest.mark.parametrize("extra", [False, True])
@pytest.mark.parametrize("norm", [False, True])
def test_fpn_equals_torchvisions_forward_and_backward(extra, norm):
    channels = [6, 10, 12]
    norm_layer = nn.BatchNorm2d if norm else None
    theirs = tv_fpn.FeaturePyramidNetwork(
        channels, 8, extra_blocks=tv_fpn.LastLevelMaxPool() if extra else None,
        norm_layer=norm_layer)
    ours = our_fpn.FeaturePyramidNetwork(
        channels, 8, extra_blocks=our_fpn.LastLevelMaxPool() if extra else None,
        norm_layer=norm_layer)
    randomise_(theirs)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    ours.eval(), theirs.eval()
    # odd sizes: the top-down pathway resizes 7x5 -> 13x9 and 13x9 -> 25x17
    sizes = [(25, 17), (13, 9), (7, 5)]
    x = OrderedDict(
        (f"c{i}", torch.randn(2, c, h, w, requires_grad=True))
        for i, (c, (h, w)) in enumerate(zip(channels, sizes)))
    out_ours, out_theirs = ours(x), theirs(x)
    assert_close_dicts(out_ours, out_theirs)
    assert list(out_ours) == ["c0", "c1", "c2"] + (["pool"] if extra else [])
    weights = {k: torch.randn_like(v) for k, v in out_ours.items()}
    loss_ours = sum((out_ours[k] * weights[k]).sum() for k in out_ours)
    loss_theirs = sum((out_theirs[k] * weights[k]).sum() for k in out_theirs)
    g_ours = torch.autograd.grad(loss_ours, list(x.values()) + list(ours.parameters()))
    g_theirs = torch.autograd.grad(loss_theirs, list(x.values()) + list(theirs.parameters()))
    for a, b in zip(g_ours, g_theirs):
        torch.testing.assert_close(a, b)


def test_fpn_initialisation_follows_torchvisions():
    # kaiming_uniform_(a=1) bounds each weight by sqrt(3 / fan_in); biases start at zero
    ours = our_fpn.FeaturePyramidNetwork([64, 128], 32)
    for block, fan_in in [(ours.inner_blocks[1][0], 128), (ours.layer_blocks[0][0], 32 * 9)]:
        bound = (3.0 / fan_in) ** 0.5
        assert block.weight.abs().max() <= bound
        assert block.weight.abs().max() > 0.9 * bound
        assert torch.all(block.bias == 0)


def test_last_level_max_pool_equals_torchvisions():
    x = [torch.randn(1, 3, 9, 7)]
    ours, names = our_fpn.LastLevelMaxPool()(list(x), [], ["p"])
    theirs, tv_names = tv_fpn.LastLevelMaxPool()(list(x), [], ["p"])
    assert names == tv_names == ["p", "pool"]
    torch.testing.assert_close(ours[1], theirs[1])
    torch.testing.assert_close(ours[1], x[0][:, :, ::2, ::2])


def test_fpn_rejects_bad_arguments_and_inputs():
    with pytest.raises(TypeError, match="in_channels_list"):
        our_fpn.FeaturePyramidNetwork(64, 8)
    with pytest.raises(ValueError, match=r"in_channels_list\[1\]"):
        our_fpn.FeaturePyramidNetwork([4, 0], 8)
    with pytest.raises(TypeError, match="out_channels"):
        our_fpn.FeaturePyramidNetwork([4], 8.0)
    with pytest.raises(TypeError, match="extra_blocks"):
        our_fpn.FeaturePyramidNetwork([4], 8, extra_blocks=nn.Identity())
    fpn = our_fpn.FeaturePyramidNetwork([4, 6], 8)
    with pytest.raises(TypeError, match="ordered dict"):
        fpn([torch.randn(1, 4, 8, 8), torch.randn(1, 6, 4, 4)])
    with pytest.raises(ValueError, match="2 feature maps"):
        fpn(OrderedDict(a=torch.randn(1, 4, 8, 8)))
    with pytest.raises(ValueError, match=r"x\['b'\] must have shape \(1, 6, H, W\)"):
        fpn(OrderedDict(a=torch.randn(1, 4, 8, 8), b=torch.randn(1, 5, 4, 4)))
    with pytest.raises(ValueError, match=r"x\['b'\]"):
        fpn(OrderedDict(a=torch.randn(1, 4, 8, 8), b=torch.randn(2, 6, 4, 4)))
    with pytest.raises(ValueError, match=r"x\['a'\] must have shape \(N, C, H, W\)"):
        fpn(OrderedDict(a=torch.randn(4, 8, 8), b=torch.randn(1, 6, 4, 4)))


# ---------------------------------------------------------------- ResNet-FPN backbone


def test_maskrcnn_backbone_state_dict_loads_strictly_and_gives_the_same_maps():
    """The backbone of torchvision's Mask R-CNN (random weights, BatchNorm2d, all trainable)."""
    tv_model = torchvision.models.detection.maskrcnn_resnet50_fpn(
        weights=None, weights_backbone=None, num_classes=3)
    theirs = randomise_(tv_model.backbone).eval()
    ours = our_backbone.resnet_fpn_extractor(
        resnets.resnet50(norm_layer=nn.BatchNorm2d), trainable_layers=5).eval()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict(), strict=True)
    assert ours.out_channels == theirs.out_channels == 256
    assert ([n for n, p in ours.named_parameters() if p.requires_grad]
            == [n for n, p in theirs.named_parameters() if p.requires_grad])
    x = torch.randn(1, 3, 96, 80, requires_grad=True)
    out_ours, out_theirs = ours(x), theirs(x)
    assert [tuple(v.shape) for v in out_ours.values()] == [
        (1, 256, 24, 20), (1, 256, 12, 10), (1, 256, 6, 5), (1, 256, 3, 3), (1, 256, 2, 2)]
    assert_close_dicts(out_ours, out_theirs, rtol=1e-4, atol=1e-4)
    weights = {k: torch.randn_like(v) for k, v in out_ours.items()}
    g_ours = torch.autograd.grad(sum((out_ours[k] * weights[k]).sum() for k in out_ours), x)
    g_theirs = torch.autograd.grad(
        sum((out_theirs[k] * weights[k]).sum() for k in out_theirs), x)
    torch.testing.assert_close(g_ours[0], g_theirs[0], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("trainable_layers", [0, 3, 5])
def test_resnet_fpn_backbone_equals_torchvisions(trainable_layers):
    """Frozen batch norm, torchvision's default; a ResNet-18 keeps the test quick."""
    theirs = tv_backbone_utils.resnet_fpn_backbone(
        backbone_name="resnet18", weights=None, trainable_layers=trainable_layers)
    ours = our_backbone.resnet_fpn_backbone(
        backbone_name="resnet18", trainable_layers=trainable_layers)
    randomise_(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict(), strict=True)
    trainable = [n for n, p in ours.named_parameters() if p.requires_grad]
    assert trainable == [n for n, p in theirs.named_parameters() if p.requires_grad]
    body = [n for n in trainable if n.startswith("body.")]
    stages = {n.split(".")[1] for n in body}
    expected = {0: set(), 3: {"layer2", "layer3", "layer4"},
                5: {"conv1", "layer1", "layer2", "layer3", "layer4"}}[trainable_layers]
    assert stages == expected
    assert isinstance(ours.body.bn1, our_backbone.FrozenBatchNorm2d)
    x = torch.randn(2, 3, 64, 72)
    ours.train(), theirs.train()  # frozen batch norm: the same in train mode
    assert_close_dicts(ours(x), theirs(x), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("returned_layers", [[2, 3, 4], [1, 3]])
def test_returned_layers_and_extra_blocks_follow_torchvision(returned_layers):
    theirs = tv_backbone_utils.resnet_fpn_backbone(
        backbone_name="resnet18", weights=None, returned_layers=returned_layers)
    ours = our_backbone.resnet_fpn_backbone(
        backbone_name="resnet18", returned_layers=returned_layers)
    randomise_(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(1, 3, 64, 64)
    out = ours(x)
    assert list(out) == [str(i) for i in range(len(returned_layers))] + ["pool"]
    assert_close_dicts(out, theirs(x), rtol=1e-4, atol=1e-4)


def test_backbone_rejects_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match="backbone_name"):
        our_backbone.resnet_fpn_backbone(backbone_name="vgg16")
    with pytest.raises(ValueError, match="weights"):
        our_backbone.resnet_fpn_backbone(weights="DEFAULT")
    with pytest.raises(ValueError, match=r"trainable_layers must be in \[0, 5\]"):
        our_backbone.resnet_fpn_backbone(backbone_name="resnet18", trainable_layers=6)
    with pytest.raises(ValueError, match="trainable_layers"):
        our_backbone.resnet_fpn_backbone(backbone_name="resnet18", trainable_layers=-1)
    with pytest.raises(ValueError, match="returned_layers"):
        our_backbone.resnet_fpn_backbone(backbone_name="resnet18", returned_layers=[0, 1])
    with pytest.raises(TypeError, match="backbone must be"):
        our_backbone.resnet_fpn_extractor(nn.Conv2d(3, 3, 1), 3)
    with pytest.raises(ValueError, match="return_layers"):
        our_backbone.IntermediateLayers(resnets.resnet18(), {"layer5": "0"})
    backbone = our_backbone.resnet_fpn_backbone(backbone_name="resnet18")
    with pytest.raises(ValueError, match=r"x must have shape \(N, 3, H, W\)"):
        backbone(torch.randn(1, 1, 32, 32))
    with pytest.raises(TypeError, match="x must be"):
        backbone(torch.randn(1, 3, 32, 32).numpy())
