"""GapNet against the same network written with plain torch layers (forward and backward,
training and evaluation mode), the GAP identity that CAM relies on, and train_gapnet:
deterministic for a seed, learns make_scenes well above chance, clear errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lecturepkg.blocks import ConvBNReLU, GlobalAvgPoolHead
from lecturepkg.data import make_scenes
from lecturepkg.models import GapNet, train_gapnet


def _plain(width, in_channels, num_classes):
    """The documented layer table, with torch's layers only."""
    return nn.Sequential(
        nn.Conv2d(in_channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width),
        nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 3, padding=1, bias=False), nn.BatchNorm2d(2 * width),
        nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(2 * width, 4 * width, 3, padding=1, bias=False),
        nn.BatchNorm2d(4 * width), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * width, num_classes),
    )


def _copy(ours, plain):
    pairs = [(ours.stage1.conv, plain[0]), (ours.stage1.bn, plain[1]),
             (ours.stage2.conv, plain[4]), (ours.stage2.bn, plain[5]),
             (ours.features.conv, plain[8]), (ours.features.bn, plain[9]),
             (ours.head.fc, plain[13])]
    for a, b in pairs:
        b.load_state_dict(a.state_dict())


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("shape", [(3, 3, 32, 32), (2, 1, 20, 28)])
def test_matches_plain_torch_forward_and_backward(train, shape):
    torch.manual_seed(0)
    ours = GapNet(shape[1], num_classes=5, width=4).double()
    with torch.no_grad():  # non-trivial batch-norm statistics and affine parameters
        for module in ours.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.normal_()
                module.running_var.uniform_(0.5, 2)
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_()
    plain = _plain(4, shape[1], 5).double()
    _copy(ours, plain)
    ours.train(train)
    plain.train(train)
    x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    x2 = x.detach().clone().requires_grad_()
    out, expected = ours(x), plain(x2)
    torch.testing.assert_close(out, expected)
    weights = torch.randn_like(out)
    (out * weights).sum().backward()
    (expected * weights).sum().backward()
    torch.testing.assert_close(x.grad, x2.grad)
    torch.testing.assert_close(ours.stage1.conv.weight.grad, plain[0].weight.grad)


def test_submodules_are_the_blocks_and_the_logits_are_the_mean_cam():
    model = GapNet(3, num_classes=4, width=6).eval()
    assert isinstance(model.stage1, ConvBNReLU) and isinstance(model.features, ConvBNReLU)
    assert isinstance(model.head, GlobalAvgPoolHead)
    assert [name for name, _ in model.named_children()] == [
        "stage1", "pool1", "stage2", "pool2", "features", "head"]
    x = torch.randn(2, 3, 32, 32)
    maps = {}
    model.features.register_forward_hook(lambda m, i, o: maps.setdefault("f", o))
    with torch.no_grad():
        logits = model(x)
    f = maps["f"]  # (2, 24, 8, 8)
    assert f.shape == (2, 24, 8, 8)
    cams = torch.einsum("kc,nchw->nkhw", model.head.fc.weight, f)  # (N, classes, h, w)
    torch.testing.assert_close(cams.mean(dim=(2, 3)) + model.head.fc.bias, logits,
                               rtol=1e-5, atol=1e-5)


def test_parameter_count():
    w, c, k = 5, 3, 7
    expected = (c * w * 9 + 2 * w) + (w * 2 * w * 9 + 4 * w) + (2 * w * 4 * w * 9 + 8 * w) \
        + (4 * w * k + k)
    assert sum(p.numel() for p in GapNet(c, num_classes=k, width=w).parameters()) == expected


def test_forward_rejects_tiny_images_and_constructor_bad_arguments():
    with pytest.raises(ValueError, match="x must be at least 4 x 4"):
        GapNet(3, num_classes=2, width=2)(torch.zeros(1, 3, 3, 8))
    with pytest.raises(ValueError, match="num_classes must be >= 2"):
        GapNet(3, num_classes=1)
    with pytest.raises(TypeError, match="width must be an int"):
        GapNet(3, num_classes=2, width=2.0)


@pytest.fixture(scope="module")
def small():
    return make_scenes(96, seed=11)


def test_train_gapnet_is_deterministic_for_a_seed(small):
    kwargs = dict(epochs=2, width=4, device="cpu", progress=False)
    a = train_gapnet(small.images, small.labels, seed=1, **kwargs)
    b = train_gapnet(small.images, small.labels, seed=1, **kwargs)
    c = train_gapnet(small.images, small.labels, seed=2, **kwargs)
    assert not a.training
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(p, q), name
    assert not torch.equal(a.stage1.conv.weight, c.stage1.conv.weight)
    assert a.head.fc.out_features == 4


def _disks_and_crosses(n, seed):
    data = make_scenes(n, seed=seed)
    keep = (data.labels == 0) | (data.labels == 3)  # disk, cross
    return data.images[keep], (data.labels[keep] == 3).long()


def test_train_gapnet_learns_the_shapes_well_above_chance():
    (x, y), (x_test, y_test) = _disks_and_crosses(900, 0), _disks_and_crosses(400, 1)
    model = train_gapnet(x, y, width=6, epochs=6, device="cpu", progress=False)
    with torch.no_grad():
        accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
    assert accuracy > 0.6  # chance is about 0.5 (about 400 test images: 4 standard errors)


@pytest.mark.parametrize("args, kwargs, error, match", [
    (("x", torch.zeros(2)), {}, TypeError, "images must be a float torch.Tensor"),
    ((torch.zeros(2, 3, 8), torch.zeros(2)), {}, ValueError, r"images must have shape"),
    ((torch.zeros(2, 3, 8, 8), torch.zeros(2)), {}, TypeError, "labels must be an integer"),
    ((torch.zeros(2, 3, 8, 8), torch.zeros(3, dtype=torch.long)), {}, ValueError,
     r"labels must have shape \(N,\)"),
    ((torch.zeros(2, 3, 8, 8), torch.tensor([0, -1])), {}, ValueError, ">= 0"),
    ((torch.zeros(2, 3, 8, 8), torch.tensor([0, 3])), {"num_classes": 2}, ValueError,
     "labels must be < num_classes"),
    ((torch.zeros(2, 3, 8, 8), torch.tensor([0, 0])), {}, ValueError,
     "num_classes must be >= 2"),
    ((torch.zeros(2, 3, 8, 8), torch.tensor([0, 1])), {"epochs": 0}, ValueError,
     "epochs must be >= 1"),
])
def test_train_gapnet_rejects_bad_input(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        train_gapnet(*args, progress=False, **kwargs)
