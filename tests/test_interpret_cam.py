"""lecturepkg.interpret.class_activation (CAM, Grad-CAM) against independent oracles.

Oracles:

* captum's ``LayerGradCam`` (``relu_attributions`` as ours) with the channel dimension
  squeezed, and ``LayerAttribution.interpolate(..., "bilinear")`` for the upsampled maps;
* pytorch-grad-cam's ``GradCAM``. It always ReLUs, min-max normalises per image (adding
  ``1e-7`` to the divisor), resizes with OpenCV (``cv2.resize``, bilinear, float32) and
  normalises once more. What is compared: its output against our upsampled raw map, min-max
  normalised per image by the formula written below (the two normalisations of
  pytorch-grad-cam collapse into one because bilinear resizing commutes with an affine
  rescaling), to float32 accuracy; and at a layer of the input's resolution (where
  ``cv2.resize`` is the identity) against our map at the layer's resolution;
* for CAM, the formula written out with ``torch.einsum`` on feature maps taken from the
  network's submodules directly, and ``F.interpolate`` for the upsampling;
* the identity CAM = Grad-CAM x (h w) for a GAP + linear head, on random networks
  (the course's small GAP net at several widths, torchvision's ResNet-18).

Everything runs in float64 (pytorch-grad-cam's output is float32), on networks with random
weights and on one trained for a few steps on scikit-learn's digits.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

captum_attr = pytest.importorskip("captum.attr")
pytorch_grad_cam = pytest.importorskip("pytorch_grad_cam")
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget  # noqa: E402

from lecturepkg.interpret.class_activation import cam, grad_cam  # noqa: E402
from helpers import train_on_digits

DTYPE = torch.float64
pytestmark = pytest.mark.usefixtures("one_torch_thread")


class SmallGapNet(nn.Module):
    """conv-BN-ReLU, a strided conv, conv-ReLU -> ``features``; GAP -> ``fc``."""

    def __init__(self, in_channels: int = 3, width: int = 8, maps: int = 6, classes: int = 5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1),  # 0: the input's resolution
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, stride=2, padding=1),  # 3: half resolution
            nn.ReLU(),
            nn.Conv2d(width, maps, 3, padding=1),  # 5
            nn.ReLU(),  # 6: the last feature maps
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(maps, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


def random_net(seed: int, **kwargs) -> SmallGapNet:
    """A random SmallGapNet in eval mode with non-trivial batch-norm statistics."""
    torch.manual_seed(seed)
    net = SmallGapNet(**kwargs).to(DTYPE)
    bn = net.features[1]
    with torch.no_grad():
        for m in net.features:
            if isinstance(m, nn.Conv2d):  # He initialisation: activations of order 1
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.normal_()
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.5, 2.0)
        net.fc.weight.mul_(3.0)  # scores that vary between classes
    return net.eval()


@pytest.fixture(scope="module")
def trained():
    """A SmallGapNet trained for 60 steps on digits (8 x 8, grey), and test images."""
    torch.manual_seed(0)
    net = SmallGapNet(in_channels=1, width=8, maps=12, classes=10).to(DTYPE)
    net, accuracy, x, y = train_on_digits(net, steps=60, lr=0.03, dtype=DTYPE)
    assert accuracy > 0.6, accuracy  # it learned something: chance is 0.1
    return net, x[:4], y[:4]


def minmax(maps: torch.Tensor, eps: float = 0.0) -> torch.Tensor:
    """The oracle's per-image normalisation: (m - min) / (max - min + eps)."""
    low = maps.amin(dim=(-2, -1), keepdim=True)
    high = maps.amax(dim=(-2, -1), keepdim=True)
    return (maps - low) / (high - low + eps)


def targets_for(kind: str, n: int, classes: int) -> int | torch.Tensor:
    return 3 % classes if kind == "int" else torch.arange(n) % classes


def cases():
    """(network, inputs, layers) for random and trained weights."""
    torch.manual_seed(1)
    net = random_net(1)
    x = torch.randn(3, 3, 13, 11, dtype=DTYPE)
    layers = {"conv0": net.features[0], "conv3": net.features[3], "features": net.features}
    return net, x, layers


# ----------------------------------------------------------------------------- Grad-CAM


@pytest.mark.parametrize("target_kind", ["int", "tensor"])
@pytest.mark.parametrize("layer_name", ["conv0", "conv3", "features"])
@pytest.mark.parametrize("relu", [True, False])
def test_grad_cam_equals_captum_random(target_kind, layer_name, relu):
    net, x, layers = cases()
    layer = layers[layer_name]
    target = targets_for(target_kind, x.shape[0], 5)
    expected = captum_attr.LayerGradCam(net, layer).attribute(
        x, target=target, relu_attributions=relu
    )  # (N, 1, h, w)
    got = grad_cam(net, x, target, layer, relu_attributions=relu, upsample=False)
    assert got.shape == expected[:, 0].shape
    torch.testing.assert_close(got, expected[:, 0], rtol=1e-12, atol=1e-14)
    assert expected.abs().max() > 1e-3  # a map with something in it
    upsampled = captum_attr.LayerAttribution.interpolate(expected, (13, 11), "bilinear")
    got = grad_cam(net, x, target, layer, relu_attributions=relu)
    assert got.shape == (3, 13, 11)
    torch.testing.assert_close(got, upsampled[:, 0], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("layer_index", [0, 3, 6])
def test_grad_cam_equals_captum_trained(trained, layer_index):
    net, x, y = trained
    layer = net.features[layer_index]
    expected = captum_attr.LayerGradCam(net, layer).attribute(
        x, target=y, relu_attributions=True
    )
    got = grad_cam(net, x, y, layer, upsample=False)
    torch.testing.assert_close(got, expected[:, 0], rtol=1e-12, atol=1e-14)
    assert expected.amax() > 1e-3  # a map with something in it


@pytest.mark.parametrize("target_kind", ["int", "tensor"])
@pytest.mark.parametrize("layer_name", ["conv3", "features"])
def test_grad_cam_equals_pytorch_grad_cam_upsampled(target_kind, layer_name):
    """pytorch-grad-cam's map = min-max of our upsampled map, to float32 accuracy."""
    net, x, layers = cases()
    layer = layers[layer_name]
    target = targets_for(target_kind, x.shape[0], 5)
    classes = [target] * x.shape[0] if isinstance(target, int) else target.tolist()
    with pytorch_grad_cam.GradCAM(net, [layer]) as explainer:
        expected = explainer(x, [ClassifierOutputTarget(c) for c in classes])  # (N, H, W)
    got = grad_cam(net, x, target, layer)  # raw, ReLU'd, upsampled
    assert expected.shape == got.shape == (3, 13, 11)
    np.testing.assert_allclose(minmax(got).numpy(), expected, atol=2e-6)
    # our own normalize=True scales before upsampling: the same up to the range of the
    # upsampled map, which a bilinear resize keeps inside [0, 1]
    normalized = grad_cam(net, x, target, layer, normalize=True)
    assert 0 <= normalized.min() and normalized.max() <= 1 + 1e-12
    np.testing.assert_allclose(minmax(normalized).numpy(), expected, atol=2e-6)


def test_grad_cam_equals_pytorch_grad_cam_at_the_layers_resolution(trained):
    """At a layer of the input's size, pytorch-grad-cam's resize is the identity: its map
    is our map at the layer's resolution, normalised per image (its two normalisations:
    the first one with 1e-7, the second then maps [0, 1 - tiny] onto [0, 1])."""
    net, x, y = trained
    layer = net.features[0]  # (N, 16, 8, 8), the input's resolution
    with pytorch_grad_cam.GradCAM(net, [layer]) as explainer:
        expected = explainer(x, [ClassifierOutputTarget(int(c)) for c in y])
    got = grad_cam(net, x, y, layer, upsample=False)
    assert got.shape == expected.shape == (4, 8, 8)
    once = minmax(got, eps=1e-7)
    np.testing.assert_allclose(minmax(once, eps=1e-7).numpy(), expected, atol=1e-6)
    np.testing.assert_allclose(
        grad_cam(net, x, y, layer, upsample=False, normalize=True).numpy(), expected,
        atol=1e-6,
    )


def test_grad_cam_takes_the_layer_output_before_an_inplace_relu():
    """A ReLU(inplace=True) after the layer must not turn its maps into ReLU'd maps: the
    oracle is captum on the same network with an out-of-place ReLU."""
    torch.manual_seed(2)
    inplace = nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1),
        nn.Flatten(), nn.Linear(6, 4),
    ).to(DTYPE).eval()
    plain = nn.Sequential(*[nn.ReLU() if isinstance(m, nn.ReLU) else m for m in inplace])
    x = torch.randn(2, 3, 7, 7, dtype=DTYPE)
    expected = captum_attr.LayerGradCam(plain, plain[0]).attribute(
        x, target=1, relu_attributions=False
    )
    got = grad_cam(inplace, x, 1, inplace[0], relu_attributions=False, upsample=False)
    torch.testing.assert_close(got, expected[:, 0], rtol=1e-12, atol=1e-14)
    assert (expected < 0).any()  # the pre-ReLU maps matter here


def test_grad_cam_with_frozen_parameters():
    net, x, layers = cases()
    for p in net.parameters():
        p.requires_grad_(False)
    expected = captum_attr.LayerGradCam(net, layers["conv3"]).attribute(
        x, target=2, relu_attributions=True
    )
    got = grad_cam(net, x, 2, layers["conv3"], upsample=False)
    torch.testing.assert_close(got, expected[:, 0], rtol=1e-12, atol=1e-14)


# ----------------------------------------------------------------------------- CAM


def cam_oracle(features, weight, target, size, normalize):
    """Zhou et al.'s steps written out: einsum, min-max, bilinear upsampling."""
    maps = torch.einsum("nk,nkhw->nhw", weight[target], features)
    if normalize:
        maps = minmax(maps)
    if size is not None:
        maps = F.interpolate(maps[:, None], size=size, mode="bilinear", align_corners=False)
        maps = maps[:, 0]
    return maps


@pytest.mark.parametrize("target_kind", ["int", "tensor"])
@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("upsample", [True, False])
def test_cam_equals_the_einsum_oracle(target_kind, normalize, upsample):
    net, x, _ = cases()
    target = targets_for(target_kind, x.shape[0], 5)
    with torch.no_grad():
        features = net.features(x)  # (N, K, h, w), without hooks
    index = torch.as_tensor(target).expand(x.shape[0])
    size = (13, 11) if upsample else None
    expected = cam_oracle(features, net.fc.weight, index, size, normalize)
    got = cam(net, x, target, net.features, upsample=upsample, normalize=normalize)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-14)
    if normalize and not upsample:
        assert torch.allclose(got.amin(dim=(1, 2)), torch.zeros(3, dtype=DTYPE))
        assert torch.allclose(got.amax(dim=(1, 2)), torch.ones(3, dtype=DTYPE))


def test_cam_of_the_trained_net_and_the_default_fc(trained):
    net, x, y = trained
    with torch.no_grad():
        features = net.features(x)
        logits = net(x)
    expected = cam_oracle(features, net.fc.weight, y, (8, 8), True)
    torch.testing.assert_close(cam(net, x, y, net.features), expected, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(
        cam(net, x, y, net.features, fc=net.fc), expected, rtol=1e-12, atol=1e-14
    )
    # the raw map's mean plus the class's bias is the class score (GAP commutes with fc)
    raw = cam(net, x, y, net.features, normalize=False, upsample=False)
    torch.testing.assert_close(
        raw.mean(dim=(1, 2)) + net.fc.bias[y], logits[torch.arange(4), y], rtol=1e-12,
        atol=1e-12,
    )


def test_cam_of_a_torchvision_resnet():
    torch.manual_seed(3)
    net = torchvision.models.resnet18(num_classes=7).to(DTYPE).eval()
    x = torch.randn(2, 3, 64, 48, dtype=DTYPE)
    with torch.no_grad():
        stem = net.maxpool(net.relu(net.bn1(net.conv1(x))))
        features = net.layer4(net.layer3(net.layer2(net.layer1(stem))))  # (2, 512, 2, 2)
    expected = cam_oracle(features, net.fc.weight, torch.tensor([4, 6]), (64, 48), True)
    got = cam(net, x, torch.tensor([4, 6]), net.layer4)  # fc: the last nn.Linear
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------------------- the identity


def identity_case(case: int):
    """A GAP network with random weights: (network, inputs, layer, fc)."""
    if case < 3:
        seed, width, maps = [(10, 4, 3), (11, 8, 6), (12, 16, 12)][case]
        net = random_net(seed, width=width, maps=maps, classes=4)
        x = torch.randn(2, 3, 10, 12, dtype=DTYPE, generator=torch.Generator().manual_seed(seed))
        return net, x, net.features, net.fc
    torch.manual_seed(13)
    resnet = torchvision.models.resnet18(num_classes=5).to(DTYPE).eval()
    return resnet, torch.randn(2, 3, 64, 64, dtype=DTYPE), resnet.layer4, resnet.fc


@pytest.mark.parametrize("case", range(4))
def test_cam_is_grad_cam_times_h_w_for_a_gap_head(case):
    net, x, layer, fc = identity_case(case)
    target = torch.tensor([1, 3])
    raw_cam = cam(net, x, target, layer, fc=fc, normalize=False, upsample=False)
    h, w = raw_cam.shape[1:]
    # Grad-CAM's channel weights are fc's weights / (h w): measured with autograd
    kept = []
    handle = layer.register_forward_hook(lambda m, i, o: kept.append(o))
    scores = net(x)[torch.arange(2), target]
    handle.remove()
    (gradients,) = torch.autograd.grad(scores.sum(), kept[0])
    torch.testing.assert_close(
        gradients.mean(dim=(2, 3)), fc.weight[target] / (h * w), rtol=1e-10, atol=1e-14
    )
    # so the maps agree up to the positive constant h * w, and exactly once normalised
    no_relu = grad_cam(net, x, target, layer, relu_attributions=False, upsample=False)
    torch.testing.assert_close(raw_cam, no_relu * (h * w), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(
        grad_cam(net, x, target, layer, upsample=False), F.relu(raw_cam) / (h * w),
        rtol=1e-10, atol=1e-12,
    )
    torch.testing.assert_close(
        cam(net, x, target, layer, fc=fc),
        grad_cam(net, x, target, layer, relu_attributions=False, normalize=True),
        rtol=1e-10, atol=1e-12,
    )
    assert (raw_cam < 0).any() and (raw_cam > 0).any()  # a test of the ReLU's effect too


# ----------------------------------------------------------------------------- hygiene


@pytest.mark.parametrize("method", [cam, grad_cam])
def test_no_hook_is_left_and_the_mode_is_kept(method):
    net, x, layers = cases()
    method(net, x, 0, net.features)
    with pytest.raises(ValueError):
        method(net, x, 99, net.features)  # fails after the forward pass
    assert all(not m._forward_hooks for m in net.modules())
    assert not net.training
    net.train()
    with pytest.warns(UserWarning, match="training mode"):
        method(net, x, 0, net.features)
    assert net.training


# ----------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize("method", [cam, grad_cam])
def test_bad_inputs_raise_clear_errors(method):
    net, x, layers = cases()
    layer = net.features
    with pytest.raises(TypeError, match="model"):
        method("net", x, 0, layer)
    with pytest.raises(TypeError, match="inputs"):
        method(net, x.numpy(), 0, layer)
    with pytest.raises(ValueError, match=r"inputs must have shape \(N, C, H, W\)"):
        method(net, x[0], 0, layer)
    with pytest.raises(TypeError, match="dtype"):
        method(net, x.float(), 0, layer)
    with pytest.raises(TypeError, match="target"):
        method(net, x, 1.0, layer)
    with pytest.raises(ValueError, match=r"target must be an int or a tensor of shape \(3,\)"):
        method(net, x, torch.tensor([0, 1]), layer)
    with pytest.raises(ValueError, match="target must be < num_classes = 5"):
        method(net, x, 5, layer)
    with pytest.raises(TypeError, match="layer must be a torch.nn.Module"):
        method(net, x, 0, "features")
    with pytest.raises(ValueError, match="layer must be a submodule of model"):
        method(net, x, 0, nn.Conv2d(3, 6, 3))
    with pytest.raises(ValueError, match=r"layer must output feature maps \(N, K, h, w\)"):
        method(net, x, 0, net.fc)
    with pytest.raises(TypeError, match="upsample must be True or False"):
        method(net, x, 0, layer, upsample=1)
    shared = nn.Conv2d(3, 3, 1)
    twice = nn.Sequential(shared, shared, nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(3, 2)).to(DTYPE)
    with pytest.raises(ValueError, match="layer must run exactly once .* 2 times"):
        method(twice, x, 0, shared)


def test_cam_refuses_a_layer_that_is_not_pooled_into_fc():
    net, x, layers = cases()
    # features[5] has fc's 6 channels, but a ReLU comes between it and the pooling
    with pytest.raises(ValueError, match="not the spatial mean of the class activation map"):
        cam(net, x, 0, net.features[5])
    with pytest.raises(ValueError, match="layer's output has 8 channels but fc takes 6"):
        cam(net, x, 0, layers["conv3"])
    with pytest.raises(TypeError, match="fc must be a torch.nn.Linear"):
        cam(net, x, 0, net.features, fc=net.features[0])
    with pytest.raises(ValueError, match="fc must be a submodule of model"):
        cam(net, x, 0, net.features, fc=nn.Linear(6, 5).to(DTYPE))
    no_linear = nn.Sequential(nn.Conv2d(3, 2, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    with pytest.raises(ValueError, match="no nn.Linear"):
        cam(no_linear.to(DTYPE), x, 0, no_linear[0])
    with pytest.raises(TypeError, match="relu_attributions must be True or False"):
        grad_cam(net, x, 0, net.features, relu_attributions=None)
