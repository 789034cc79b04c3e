"""lecturepkg.blocks against independent oracles, forward and backward.

Oracles: torchvision's own blocks (``BasicConv2d``, ``Inception``, ``BasicBlock``,
``Bottleneck``) with the same weights loaded, and the formulas written with plain torch ops
(``F.conv2d``, ``F.max_pool2d``, slicing into a zero tensor for the depth concatenation).
Each comparison runs in training mode (batch statistics) and in eval mode (running
statistics), and compares the gradients of the input and of the parameters too.
"""

from __future__ import annotations

import importlib
import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import lecturepkg.blocks as blocks
from lecturepkg.blocks import _args
from lecturepkg.counting import layer_stats
from lecturepkg.models import _input

# the modules (``torchvision.models.googlenet`` as an attribute is the builder function)
tv_googlenet = importlib.import_module("torchvision.models.googlenet")
tv_resnet = importlib.import_module("torchvision.models.resnet")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def randomize_bn(module: nn.Module) -> None:
    """Give every batch norm non-trivial affine parameters and running statistics."""
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_()
                m.running_mean.normal_()
                m.running_var.uniform_(0.5, 2.0)


def assert_same_function(ours: nn.Module, oracle, x: torch.Tensor, mode: str) -> None:
    """Same output, same input gradient, same parameter gradients (by name)."""
    ours.train(mode == "train")
    if isinstance(oracle, nn.Module):
        oracle.train(mode == "train")
    x1 = x.clone().requires_grad_(True)
    x2 = x.clone().requires_grad_(True)
    out1, out2 = ours(x1), oracle(x2)
    torch.testing.assert_close(out1, out2)
    g = torch.randn_like(out1)
    (out1 * g).sum().backward()
    (out2 * g).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad)
    if isinstance(oracle, nn.Module):
        theirs = dict(oracle.named_parameters())
        for name, p in ours.named_parameters():
            torch.testing.assert_close(p.grad, theirs[name].grad, msg=name)


def test_blocks_and_models_check_their_input_with_one_function():
    assert _args.check_input is _input.check_input


# ---------------------------------------------------------------- ConvBNReLU


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("kernel_size, stride, padding", [(1, 1, 0), (3, 1, 1), (7, 2, 3)])
def test_conv_bn_relu_equals_torchvision_basic_conv2d(mode, kernel_size, stride, padding):
    oracle = tv_googlenet.BasicConv2d(3, 5, kernel_size=kernel_size, stride=stride,
                                      padding=padding)
    randomize_bn(oracle)
    ours = blocks.ConvBNReLU(3, 5, kernel_size, stride, padding, eps=1e-3)
    ours.load_state_dict(oracle.state_dict(), strict=True)
    assert_same_function(ours, oracle, torch.randn(2, 3, 11, 13), mode)


def test_conv_bn_relu_eps_is_the_batch_norms():
    assert blocks.ConvBNReLU(2, 3, 3).bn.eps == 1e-5
    assert blocks.ConvBNReLU(2, 3, 3, eps=1e-3).bn.eps == 1e-3
    assert blocks.ConvBNReLU(2, 3, 3).conv.bias is None


def test_conv_relu_without_batch_norm_is_conv_with_bias_then_relu():
    ours = blocks.ConvBNReLU(4, 6, 3, stride=2, padding=1, batch_norm=False)
    assert ours.bn is None and sorted(ours.state_dict()) == ["conv.bias", "conv.weight"]

    def oracle(x):
        return F.relu(F.conv2d(x, ours.conv.weight, ours.conv.bias, stride=2, padding=1))

    assert_same_function(ours, oracle, torch.randn(2, 4, 9, 8), "train")


def test_one_by_one_convolution_is_a_linear_map_over_channels_at_each_pixel():
    ours = blocks.ConvBNReLU(5, 3, 1, batch_norm=False)
    x = torch.randn(2, 5, 4, 6)
    w, b = ours.conv.weight[:, :, 0, 0], ours.conv.bias  # (3, 5), (3,)
    expected = torch.relu(torch.einsum("oc,nchw->nohw", w, x) + b[None, :, None, None])
    torch.testing.assert_close(ours(x), expected)


# ---------------------------------------------------------------- depth_concat


def depth_concat_oracle(tensors):
    """Write each map into a zero tensor at row (H - H_i) // 2, column (W - W_i) // 2."""
    n = tensors[0].shape[0]
    height = max(t.shape[2] for t in tensors)
    width = max(t.shape[3] for t in tensors)
    out = torch.zeros(n, sum(t.shape[1] for t in tensors), height, width,
                      dtype=tensors[0].dtype)
    c = 0
    for t in tensors:
        top, left = (height - t.shape[2]) // 2, (width - t.shape[3]) // 2
        out[:, c : c + t.shape[1], top : top + t.shape[2], left : left + t.shape[3]] = t
        c += t.shape[1]
    return out


def test_depth_concat_lecture_example():
    a, b = torch.randn(1, 2, 14, 14), torch.randn(1, 3, 16, 16)
    out = blocks.depth_concat([a, b])
    assert out.shape == (1, 5, 16, 16)  # (16, 16, 5) in the notes' (H, W, depth) order
    torch.testing.assert_close(out[:, :2, 1:15, 1:15], a)  # centred: one zero row/col each side
    assert out[:, :2].abs().sum() == a.abs().sum()
    torch.testing.assert_close(out[:, 2:], b)


@pytest.mark.parametrize("seed", range(12))
def test_depth_concat_equals_oracle_on_random_shapes_forward_and_backward(seed):
    gen = torch.Generator().manual_seed(seed)

    def rint(lo, hi):
        return int(torch.randint(lo, hi + 1, (1,), generator=gen))

    n, k = rint(1, 3), rint(1, 4)
    shapes = [(n, rint(1, 4), rint(1, 9), rint(1, 9)) for _ in range(k)]
    tensors = [torch.randn(s, generator=gen, dtype=torch.float64, requires_grad=True)
               for s in shapes]
    out = blocks.depth_concat(tensors)
    expected = depth_concat_oracle([t.detach() for t in tensors])
    torch.testing.assert_close(out, expected)
    g = torch.randn(out.shape, generator=gen, dtype=torch.float64)
    (out * g).sum().backward()
    c = 0
    for t in tensors:  # each input's gradient is its window of g
        top = (out.shape[2] - t.shape[2]) // 2
        left = (out.shape[3] - t.shape[3]) // 2
        window = g[:, c : c + t.shape[1], top : top + t.shape[2], left : left + t.shape[3]]
        torch.testing.assert_close(t.grad, window)
        c += t.shape[1]


def test_depth_concat_of_equal_sizes_is_torch_cat():
    tensors = [torch.randn(2, c, 5, 7) for c in (1, 3, 2)]
    torch.testing.assert_close(blocks.depth_concat(tuple(tensors)), torch.cat(tensors, 1))


def test_depth_concat_module_runs_each_branch_on_the_input():
    branches = [nn.Conv2d(4, 2, 3), nn.Conv2d(4, 3, 1), nn.MaxPool2d(2)]
    module = blocks.DepthConcat(branches)
    x = torch.randn(2, 4, 10, 10)
    out = module(x)
    torch.testing.assert_close(out, depth_concat_oracle([b(x) for b in branches]))
    assert out.shape == (2, 9, 10, 10)
    assert len(list(module.parameters())) == 4  # the branches are registered
    assert blocks.DepthConcat(nn.ModuleList(branches))(x).shape == out.shape


@pytest.mark.parametrize(
    "bad, error, match",
    [
        (torch.zeros(1, 2, 3, 3), TypeError, "tensors must be a list or tuple"),
        ([], ValueError, "at least one"),
        ([torch.zeros(1, 2, 3, 3), "a"], TypeError, r"tensors\[1\] must be a torch.Tensor"),
        ([torch.zeros(2, 3, 3)], ValueError, r"tensors\[0\] must have shape \(N, C, H, W\)"),
        ([torch.zeros(1, 2, 3, 3), torch.zeros(2, 2, 3, 3)], ValueError, "same batch size"),
        ([torch.zeros(1, 2, 3, 3), torch.zeros(1, 2, 3, 3, dtype=torch.float64)],
         ValueError, "same dtype"),
    ],
)
def test_depth_concat_rejects_bad_input(bad, error, match):
    with pytest.raises(error, match=match):
        blocks.depth_concat(bad)


def test_depth_concat_module_rejects_bad_branches():
    with pytest.raises(TypeError, match="branches must be a list"):
        blocks.DepthConcat(nn.Conv2d(1, 1, 1))
    with pytest.raises(TypeError, match=r"branches\[1\] must be an nn.Module"):
        blocks.DepthConcat([nn.Conv2d(1, 1, 1), "conv"])
    with pytest.raises(ValueError, match="branches must hold at least one"):
        blocks.DepthConcat([])
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        blocks.DepthConcat([nn.Identity()])([1.0])


# ---------------------------------------------------------------- inception


def test_naive_inception_equals_the_formula():
    ours = blocks.NaiveInception(6, 2, 3, 4)
    b1, b2, b3 = ours.branch1[0], ours.branch2[0], ours.branch3[0]

    def oracle(x):
        return torch.cat([
            F.relu(F.conv2d(x, b1.weight, b1.bias)),
            F.relu(F.conv2d(x, b2.weight, b2.bias, padding=1)),
            F.relu(F.conv2d(x, b3.weight, b3.bias, padding=2)),
            F.max_pool2d(x, 3, stride=1, padding=1),
        ], dim=1)

    x = torch.randn(2, 6, 9, 7)
    assert_same_function(ours, oracle, x, "train")
    assert ours(x).shape == (2, 2 + 3 + 4 + 6, 9, 7)
    assert b3.kernel_size == (5, 5)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_inception_equals_torchvision_with_its_3x3_branch(mode):
    oracle = tv_googlenet.Inception(16, 4, 6, 8, 3, 5, 2)
    randomize_bn(oracle)
    ours = blocks.Inception(16, 4, 6, 8, 3, 5, 2, branch3_kernel_size=3)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in oracle.state_dict().items()
    }
    ours.load_state_dict(oracle.state_dict(), strict=True)
    assert_same_function(ours, oracle, torch.randn(2, 16, 9, 10), mode)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_inception_with_the_papers_5x5_branch(mode):
    oracle = tv_googlenet.Inception(16, 4, 6, 8, 3, 5, 2)
    oracle.branch3[1] = tv_googlenet.BasicConv2d(3, 5, kernel_size=5, padding=2)  # the paper
    randomize_bn(oracle)
    ours = blocks.Inception(16, 4, 6, 8, 3, 5, 2)  # the default: 5x5
    assert ours.branch3[1].conv.kernel_size == (5, 5)
    ours.load_state_dict(oracle.state_dict(), strict=True)
    assert_same_function(ours, oracle, torch.randn(2, 16, 9, 10), mode)


def test_inception_without_batch_norm_is_the_papers_formula():
    ours = blocks.Inception(8, 2, 3, 4, 2, 3, 1, batch_norm=False)

    def unit(u, x, padding=0):
        return F.relu(F.conv2d(x, u.conv.weight, u.conv.bias, padding=padding))

    def oracle(x):
        return torch.cat([
            unit(ours.branch1, x),
            unit(ours.branch2[1], unit(ours.branch2[0], x), 1),
            unit(ours.branch3[1], unit(ours.branch3[0], x), 2),
            unit(ours.branch4[1], F.max_pool2d(x, 3, stride=1, padding=1)),
        ], dim=1)

    assert_same_function(ours, oracle, torch.randn(2, 8, 7, 7), "train")


def branch_macs(module, input_size, prefix):
    return sum(r.macs for r in layer_stats(module, input_size) if r.name.startswith(prefix))


def test_inception_costs_of_the_lecture_notes():
    """The notes' example: 32 filters of 5x5 on a 28 x 28 x 192 input, without and with a
    16-channel 1x1 reduction (published: 120,422,400 and 12,443,648 multiplications)."""
    naive = blocks.NaiveInception(192, 1, 1, 32)
    reduced = blocks.Inception(192, 1, 1, 1, 16, 32, 1)
    assert branch_macs(naive, (192, 28, 28), "branch3") == 120_422_400
    assert branch_macs(reduced, (192, 28, 28), "branch3") == 12_443_648


# ---------------------------------------------------------------- residual blocks


def tv_block(kind, inplanes, planes, stride):
    cls = tv_resnet.BasicBlock if kind == "basic" else tv_resnet.Bottleneck
    downsample = None
    if stride != 1 or inplanes != planes * cls.expansion:
        downsample = nn.Sequential(tv_resnet.conv1x1(inplanes, planes * cls.expansion, stride),
                                   nn.BatchNorm2d(planes * cls.expansion))
    return cls(inplanes, planes, stride, downsample)


def our_block(kind, inplanes, planes, stride, **kwargs):
    cls = blocks.BasicBlock if kind == "basic" else blocks.Bottleneck
    downsample = None
    if stride != 1 or inplanes != planes * cls.expansion:
        downsample = blocks.projection_shortcut(inplanes, planes * cls.expansion, stride)
    return cls(inplanes, planes, stride, downsample, **kwargs)


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("kind, inplanes, planes, stride",
                         [("basic", 4, 4, 1), ("basic", 4, 6, 2), ("bottleneck", 8, 2, 1),
                          ("bottleneck", 4, 3, 2), ("bottleneck", 12, 3, 1)])
def test_residual_blocks_equal_torchvision(mode, kind, inplanes, planes, stride):
    oracle = tv_block(kind, inplanes, planes, stride)
    randomize_bn(oracle)
    ours = our_block(kind, inplanes, planes, stride)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in oracle.state_dict().items()
    }
    ours.load_state_dict(oracle.state_dict(), strict=True)
    assert ours.expansion == oracle.expansion
    assert_same_function(ours, oracle, torch.randn(2, inplanes, 9, 8), mode)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_bottleneck_stride_in_1x1_is_resnet_v1(mode):
    oracle = tv_block("bottleneck", 8, 4, 2)
    oracle.conv1.stride, oracle.conv2.stride = (2, 2), (1, 1)  # v1: the 1x1 strides
    randomize_bn(oracle)
    ours = our_block("bottleneck", 8, 4, 2, stride_in_1x1=True)
    ours.load_state_dict(oracle.state_dict(), strict=True)
    assert_same_function(ours, oracle, torch.randn(2, 8, 10, 10), mode)


@pytest.mark.parametrize("kind", ["basic", "bottleneck"])
def test_plain_block_has_the_same_layers_and_no_addition(kind):
    inplanes = 4 if kind == "basic" else 8
    oracle = tv_block(kind, inplanes, inplanes // blocks.Bottleneck.expansion
                      if kind == "bottleneck" else inplanes, 1)
    randomize_bn(oracle)
    oracle.eval()  # the oracle below calls its layers directly
    planes = oracle.conv1.out_channels
    ours = our_block(kind, inplanes, planes, 1, shortcut=False)
    ours.load_state_dict(oracle.state_dict(), strict=True)

    def residual_branch(x):  # torchvision's layers, without "+ identity"
        out = F.relu(oracle.bn1(oracle.conv1(x)))
        out = oracle.bn2(oracle.conv2(out))
        if kind == "bottleneck":
            out = oracle.bn3(oracle.conv3(F.relu(out)))
        return F.relu(out)

    assert_same_function(ours, residual_branch, torch.randn(2, inplanes, 6, 6), "eval")


def test_projection_shortcut_is_a_strided_1x1_convolution_and_a_batch_norm():
    proj = blocks.projection_shortcut(3, 5, stride=2)
    conv, bn = proj[0], proj[1]
    assert isinstance(bn, nn.BatchNorm2d) and conv.bias is None
    proj.eval()
    randomize_bn(proj)
    x = torch.randn(2, 3, 7, 7)
    expected = F.batch_norm(F.conv2d(x, conv.weight, stride=2), bn.running_mean,
                            bn.running_var, bn.weight, bn.bias, eps=bn.eps)
    torch.testing.assert_close(proj(x), expected)
    assert isinstance(blocks.projection_shortcut(3, 5, norm_layer=nn.Identity)[1], nn.Identity)


# ---------------------------------------------------------------- highway


def test_highway_equals_the_formula_forward_and_backward():
    layer = blocks.Highway(6, gate_bias=-1.5)
    wh, bh, wt, bt = (layer.transform.weight, layer.transform.bias, layer.gate.weight,
                      layer.gate.bias)

    def oracle(x):
        h = torch.clamp(x @ wh.T + bh, min=0)
        t = 1 / (1 + torch.exp(-(x @ wt.T + bt)))
        return h * t + x * (1 - t)

    assert_same_function(layer, oracle, torch.randn(3, 4, 6), "train")
    torch.testing.assert_close(bt.detach(), torch.full((6,), -1.5))


def test_highway_conv2d_equals_the_formula_forward_and_backward():
    layer = blocks.HighwayConv2d(3, kernel_size=5, gate_bias=-2.0)
    h_conv, t_conv = layer.transform, layer.gate

    def oracle(x):
        h = F.relu(F.conv2d(x, h_conv.weight, h_conv.bias, padding=2))
        t = torch.sigmoid(F.conv2d(x, t_conv.weight, t_conv.bias, padding=2))
        return h * t + x * (1 - t)

    assert_same_function(layer, oracle, torch.randn(2, 3, 8, 7), "train")
    torch.testing.assert_close(t_conv.bias.detach(), torch.full((3,), -2.0))


def test_highway_with_a_closed_gate_carries_its_input():
    x = torch.randn(4, 5)
    torch.testing.assert_close(blocks.Highway(5, gate_bias=-40.0)(x), x)
    x = torch.randn(1, 2, 4, 4)
    torch.testing.assert_close(blocks.HighwayConv2d(2, 1, gate_bias=-40.0)(x), x)


# ---------------------------------------------------------------- GAP head


def test_global_avg_pool_head_is_mean_then_linear():
    head = blocks.GlobalAvgPoolHead(7, 3)

    def oracle(x):
        return x.mean(dim=(2, 3)) @ head.fc.weight.T + head.fc.bias

    assert_same_function(head, oracle, torch.randn(2, 7, 5, 9), "train")
    assert sum(p.numel() for p in head.parameters()) == 7 * 3 + 3


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: blocks.ConvBNReLU(0, 3, 3), ValueError, "in_channels must be >= 1"),
        (lambda: blocks.ConvBNReLU(2, 3, 3.0), TypeError, "kernel_size must be an int"),
        (lambda: blocks.ConvBNReLU(2, 3, 3, padding=-1), ValueError, "padding must be >= 0"),
        (lambda: blocks.ConvBNReLU(2, 3, 3, eps=0), ValueError, "eps must be > 0"),
        (lambda: blocks.ConvBNReLU(2, 3, 3, batch_norm=1), TypeError, "batch_norm must be"),
        (lambda: blocks.NaiveInception(4, 1, 0, 1), ValueError, "ch3x3 must be >= 1"),
        (lambda: blocks.Inception(4, 1, 1, 1, 1, 1, "1"), TypeError, "pool_proj must be an int"),
        (lambda: blocks.Inception(4, 1, 1, 1, 1, 1, 1, branch3_kernel_size=7), ValueError,
         "branch3_kernel_size must be 5"),
        (lambda: blocks.BasicBlock(4, 4, groups=2), ValueError, "groups=1"),
        (lambda: blocks.BasicBlock(4, 4, dilation=2), ValueError, "dilation=1"),
        (lambda: blocks.BasicBlock(4, 4, downsample="proj"), TypeError, "downsample must be"),
        (lambda: blocks.BasicBlock(4, 4, downsample=nn.Identity(), shortcut=False), ValueError,
         "shortcut=False"),
        (lambda: blocks.Bottleneck(4, 4, norm_layer="bn"), TypeError, "norm_layer must be"),
        (lambda: blocks.Bottleneck(4, 4, stride_in_1x1="yes"), TypeError, "stride_in_1x1"),
        (lambda: blocks.projection_shortcut(4, 0), ValueError, "outplanes must be >= 1"),
        (lambda: blocks.Highway(0), ValueError, "features must be >= 1"),
        (lambda: blocks.Highway(3, gate_bias="-1"), TypeError, "gate_bias must be a real"),
        (lambda: blocks.Highway(3, gate_bias=float("nan")), ValueError, "gate_bias must be fin"),
        (lambda: blocks.HighwayConv2d(3, kernel_size=2), ValueError, "kernel_size must be odd"),
        (lambda: blocks.GlobalAvgPoolHead(3, 0), ValueError, "num_classes must be >= 1"),
    ],
)
def test_constructors_reject_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


FORWARD_CASES = [
    (lambda: blocks.ConvBNReLU(3, 4, 3), (2, 3, 5, 5), "(N, 3, H, W)"),
    (lambda: blocks.NaiveInception(3, 1, 1, 1), (2, 3, 5, 5), "(N, 3, H, W)"),
    (lambda: blocks.Inception(3, 1, 1, 1, 1, 1, 1), (2, 3, 5, 5), "(N, 3, H, W)"),
    (lambda: blocks.BasicBlock(3, 3), (2, 3, 5, 5), "(N, 3, H, W)"),
    (lambda: blocks.Bottleneck(8, 2), (2, 8, 5, 5), "(N, 8, H, W)"),
    (lambda: blocks.Highway(3), (2, 3), "(..., 3)"),
    (lambda: blocks.HighwayConv2d(3), (2, 3, 5, 5), "(N, 3, H, W)"),
    (lambda: blocks.GlobalAvgPoolHead(3, 2), (2, 3, 5, 5), "(N, 3, H, W)"),
]


@pytest.mark.parametrize("make, good, expected", FORWARD_CASES)
def test_forward_rejects_bad_input_naming_x(make, good, expected):
    module = make()
    module(torch.randn(good))  # the good input runs
    type_message = r"^x must be a torch\.Tensor of shape " + re.escape(expected)
    with pytest.raises(TypeError, match=type_message):
        module(good)  # a tuple, not a tensor
    wrong = (*good[:-1], good[-1] + 1) if expected.startswith("(...") else (good[0], 1, *good[2:])
    with pytest.raises(ValueError, match=r"^x must have shape " + re.escape(expected)):
        module(torch.randn(wrong))
    with pytest.raises(ValueError, match=r"^x must have shape "):
        module(torch.randn(good[1:]) if len(good) == 4 else torch.randn(()))

