"""He et al.'s CIFAR networks (lecturepkg.models.resnets_cifar).

Oracles: the parameter counts of Table 6 of He et al. 2016 and a closed-form count written
from the paper's description; a functional forward written here with ``torch.nn.functional``
from the model's ``state_dict`` (forward and backward, batch norm in training and in eval
mode); hand-built tensors for the option-A shortcut.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lecturepkg.blocks import BasicBlock
from lecturepkg.models import CifarResNet, cifar_resnet
from lecturepkg.models.resnets_cifar import ZeroPadShortcut

# Table 6 of He et al. 2016: depth -> parameters in millions, as printed (option A, CIFAR-10)
TABLE_6 = {20: 0.27, 32: 0.46, 44: 0.66, 56: 0.85, 110: 1.7}


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def closed_form_params(depth, in_channels=3, num_classes=10, width=16, option="A"):
    """Weights of 6n + 2 layers counted from the paper's description (BN: 2 per channel)."""
    n = (depth - 2) // 6
    w1, w2, w3 = width, 2 * width, 4 * width

    def conv(cin, cout, k=3):
        return k * k * cin * cout + 2 * cout  # bias-free convolution + batch norm

    total = conv(in_channels, w1)
    for cin, cout in [(w1, w1), (w1, w2), (w2, w3)]:
        total += conv(cin, cout) + conv(cout, cout)  # first block of the stage
        total += (n - 1) * 2 * conv(cout, cout)  # the others
    if option == "B":
        total += conv(w1, w2, k=1) + conv(w2, w3, k=1)  # two projections
    return total + w3 * num_classes + num_classes  # linear layer


# ------------------------------------------------------------------------------------------
# counts
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", sorted(TABLE_6))
def test_parameters_match_table_6(depth):
    count = n_params(cifar_resnet(depth))
    assert float(f"{count / 1e6:.2g}") == TABLE_6[depth], count  # the paper's 2 digits
    assert count == closed_form_params(depth)


def test_resnet20_has_269722_parameters():
    assert n_params(CifarResNet(3, 10, depth=20)) == 269_722


@pytest.mark.parametrize(
    "depth, in_channels, num_classes, width, option",
    [(8, 1, 10, 8, "A"), (14, 1, 7, 4, "B"), (26, 2, 3, 5, "A"), (20, 3, 100, 16, "B")],
)
def test_parameters_match_the_closed_form(depth, in_channels, num_classes, width, option):
    model = CifarResNet(in_channels, num_classes, depth=depth, width=width, option=option)
    assert n_params(model) == closed_form_params(depth, in_channels, num_classes, width,
                                                 option)


def _weighted_layers_run(model, x):
    """Convolutions and linear layers that the forward pass runs, by kernel size."""
    seen = []
    hooks = [
        m.register_forward_hook(lambda m, i, o: seen.append(m))
        for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))
    ]
    model(x)
    for h in hooks:
        h.remove()
    kernel = [m.kernel_size if isinstance(m, nn.Conv2d) else "linear" for m in seen]
    return kernel.count((3, 3)) + kernel.count("linear"), kernel.count((1, 1))


@pytest.mark.parametrize("n", [1, 2, 3, 5])
@pytest.mark.parametrize("shortcut, option", [(True, "A"), (True, "B"), (False, "A")])
def test_depth_is_6n_plus_2_weighted_layers(n, shortcut, option):
    model = CifarResNet(3, 10, depth=6 * n + 2, width=4, shortcut=shortcut, option=option)
    layers, projections = _weighted_layers_run(model, torch.randn(2, 3, 16, 16))
    assert layers == 6 * n + 2
    assert projections == (2 if shortcut and option == "B" else 0)
    assert [len(s) for s in (model.layer1, model.layer2, model.layer3)] == [n, n, n]


@pytest.mark.parametrize("depth", [8, 20, 56])
def test_plain_network_has_the_same_parameters_as_option_a(depth):
    residual, plain = cifar_resnet(depth), cifar_resnet(depth, shortcut=False)
    assert n_params(plain) == n_params(residual)
    shapes = {k: v.shape for k, v in residual.state_dict().items()}
    assert {k: v.shape for k, v in plain.state_dict().items()} == shapes
    plain.load_state_dict(residual.state_dict(), strict=True)
    assert all(not b.shortcut and b.downsample is None
               for s in (plain.layer1, plain.layer2, plain.layer3) for b in s)
    assert all(isinstance(b, BasicBlock) and b.shortcut
               for s in (residual.layer1, residual.layer2, residual.layer3) for b in s)


# ------------------------------------------------------------------------------------------
# forward and backward against a functional oracle
# ------------------------------------------------------------------------------------------


def _bn(x, sd, key, training):
    return F.batch_norm(x, sd[f"{key}.running_mean"].clone(), sd[f"{key}.running_var"].clone(),
                        sd[f"{key}.weight"], sd[f"{key}.bias"], training=training, eps=1e-5)


def reference_forward(x, sd, *, n, shortcut, option, training):
    """The network written out with torch.nn.functional (zero channels by torch.cat)."""
    out = F.relu(_bn(F.conv2d(x, sd["conv1.weight"], padding=1), sd, "bn1", training))
    for stage in (1, 2, 3):
        for b in range(n):
            key = f"layer{stage}.{b}"
            stride = 2 if stage > 1 and b == 0 else 1
            y = F.conv2d(out, sd[f"{key}.conv1.weight"], stride=stride, padding=1)
            y = F.relu(_bn(y, sd, f"{key}.bn1", training))
            y = _bn(F.conv2d(y, sd[f"{key}.conv2.weight"], padding=1), sd, f"{key}.bn2",
                    training)
            if shortcut:
                if stride == 1:
                    s = out
                elif option == "A":
                    sub = out[:, :, ::2, ::2]
                    s = torch.cat([sub, torch.zeros_like(sub)], dim=1)  # depth doubles
                else:
                    s = F.conv2d(out, sd[f"{key}.downsample.0.weight"], stride=2)
                    s = _bn(s, sd, f"{key}.downsample.1", training)
                y = y + s
            out = F.relu(y)
    return F.linear(out.mean(dim=(2, 3)), sd["fc.weight"], sd["fc.bias"])


def _randomise_batch_norms(model, gen):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.weight.data = torch.rand(m.num_features, generator=gen) + 0.5
            m.bias.data = torch.randn(m.num_features, generator=gen) * 0.1
            m.running_mean = torch.randn(m.num_features, generator=gen) * 0.1
            m.running_var = torch.rand(m.num_features, generator=gen) + 0.5


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("shortcut, option", [(True, "A"), (True, "B"), (False, "A")])
@pytest.mark.parametrize("depth, size", [(8, (8, 8)), (14, (9, 7))])
def test_forward_and_backward_match_the_functional_oracle(depth, size, shortcut, option,
                                                          training):
    gen = torch.Generator().manual_seed(depth + 10 * training + 100 * shortcut)
    model = CifarResNet(2, 5, depth=depth, width=3, shortcut=shortcut, option=option)
    _randomise_batch_norms(model, gen)
    model = model.double().train(training)
    params = dict(model.named_parameters())
    x = torch.randn(4, 2, *size, generator=gen, dtype=torch.float64, requires_grad=True)
    out = model(x)
    sd = {k: params.get(k, v) for k, v in model.state_dict(keep_vars=True).items()}
    x_ref = x.detach().clone().requires_grad_(True)
    ref = reference_forward(x_ref, sd, n=(depth - 2) // 6, shortcut=shortcut, option=option,
                            training=training)
    torch.testing.assert_close(out, ref, rtol=1e-9, atol=1e-9)
    weight = torch.randn(out.shape, generator=gen, dtype=torch.float64)
    grads = torch.autograd.grad((out * weight).sum(), [x, *params.values()])
    grads_ref = torch.autograd.grad((ref * weight).sum(), [x_ref, *params.values()])
    for name, g, g_ref in zip(["x", *params], grads, grads_ref):
        torch.testing.assert_close(g, g_ref, rtol=1e-9, atol=1e-9, msg=lambda m: f"{name}: {m}")


def test_plain_and_residual_differ_with_the_same_weights():
    torch.manual_seed(0)
    residual = CifarResNet(1, 4, depth=8, width=4).eval()
    plain = CifarResNet(1, 4, depth=8, width=4, shortcut=False).eval()
    plain.load_state_dict(residual.state_dict())
    x = torch.randn(3, 1, 8, 8)
    assert (residual(x) - plain(x)).abs().max() > 1e-3


@pytest.mark.parametrize("stride, size", [(1, (5, 6)), (2, (8, 8)), (2, (7, 5)), (3, (7, 7))])
def test_zero_pad_shortcut(stride, size):
    x = torch.randn(2, 3, *size, requires_grad=True)
    out = ZeroPadShortcut(3, 7, stride)(x)
    sub = x.detach()[:, :, ::stride, ::stride]
    expected = torch.cat([sub, torch.zeros(2, 4, *sub.shape[2:])], dim=1)
    torch.testing.assert_close(out, expected, rtol=0, atol=0)
    assert out.shape[2:] == (math.ceil(size[0] / stride), math.ceil(size[1] / stride))
    out.sum().backward()
    mask = torch.zeros_like(x)
    mask[:, :, ::stride, ::stride] = 1
    torch.testing.assert_close(x.grad, mask, rtol=0, atol=0)
    assert list(ZeroPadShortcut(3, 7).parameters()) == []


# ------------------------------------------------------------------------------------------
# shapes, initialisation, builder
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(32, 32), (8, 8), (7, 9), (1, 1)])
def test_stage_shapes(size):
    model = CifarResNet(3, 10, depth=8, width=4).eval()
    shapes = {}
    for name in ("layer1", "layer2", "layer3"):
        getattr(model, name).register_forward_hook(
            lambda m, i, o, name=name: shapes.__setitem__(name, tuple(o.shape)))
    out = model(torch.randn(2, 3, *size))
    h, w = size
    half = (math.ceil(h / 2), math.ceil(w / 2))
    quarter = (math.ceil(half[0] / 2), math.ceil(half[1] / 2))
    assert shapes == {"layer1": (2, 4, h, w), "layer2": (2, 8, *half),
                      "layer3": (2, 16, *quarter)}
    assert out.shape == (2, 10)


def test_he_initialisation_of_the_convolutions():
    torch.manual_seed(0)
    model = CifarResNet(3, 10, depth=8, width=32)
    w = model.layer3[0].conv2.weight  # 128 x 128 x 3 x 3: fan_out = 1152
    assert abs(w.mean().item()) < 0.003
    assert w.std().item() == pytest.approx(math.sqrt(2 / (128 * 9)), rel=0.03)


def test_builder_passes_its_keywords():
    model = cifar_resnet(14, in_channels=1, num_classes=5, width=4, shortcut=False)
    assert (model.depth, model.in_channels, model.shortcut) == (14, 1, False)
    assert model(torch.randn(2, 1, 8, 8)).shape == (2, 5)
    assert n_params(model) == closed_form_params(14, 1, 5, 4)
    b = cifar_resnet(20, option="B")
    assert n_params(b) == closed_form_params(20, option="B")


# ------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        (dict(depth=21), ValueError, r"depth must be 6n \+ 2"),
        (dict(depth=2), ValueError, "depth must be >= 8"),
        (dict(depth=20.0), TypeError, "depth must be an int"),
        (dict(depth="20"), TypeError, "depth must be an int"),
        (dict(depth=True), TypeError, "depth must be an int"),
        (dict(width=0), ValueError, "width must be >= 1"),
        (dict(option="C"), ValueError, "option must be 'A' or 'B'"),
        (dict(option="a"), ValueError, "option must be 'A' or 'B'"),
        (dict(shortcut=1), TypeError, "shortcut must be True or False"),
        (dict(shortcut="A"), TypeError, "shortcut must be True or False"),
        (dict(in_channels=0), ValueError, "in_channels must be >= 1"),
        (dict(num_classes=0), ValueError, "num_classes must be >= 1"),
    ],
)
def test_bad_arguments_raise(kwargs, error, words):
    with pytest.raises(error, match=words):
        CifarResNet(**kwargs)


@pytest.mark.parametrize(
    "x, error, words",
    [
        (torch.zeros(2, 1, 8, 8), ValueError, r"x must have shape \(N, 3, H, W\), got \(2, 1"),
        (torch.zeros(3, 8, 8), ValueError, r"x must have shape \(N, 3, H, W\)"),
        ([[0.0]], TypeError, r"x must be a torch.Tensor of shape \(N, 3, H, W\), got list"),
    ],
)
def test_bad_input_raises(x, error, words):
    with pytest.raises(error, match=words):
        CifarResNet(3, 10, depth=8, width=2)(x)


def test_zero_pad_shortcut_refuses_fewer_channels():
    with pytest.raises(ValueError, match="planes must be >= inplanes"):
        ZeroPadShortcut(8, 4)
    with pytest.raises(ValueError, match=r"x must have shape \(N, 8, H, W\)"):
        ZeroPadShortcut(8, 16, 2)(torch.zeros(1, 4, 8, 8))
