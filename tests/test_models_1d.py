"""The FCN of Wang, Yan & Oates (2017) and the small character CNN: layer structure and
parameter counts against the papers' layer sizes (counted by hand), Keras-style "same"
padding, the GAP identity behind class activation maps, shapes, and clear errors."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lecturepkg.counting import count_parameters
from lecturepkg.models.charcnn import CharCNN
from lecturepkg.models.fcn import FCN, conv_bn_relu, same_padding

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# Wang et al. (2017), section on the FCN: (filters, kernel size) of the three blocks.
PAPER_BLOCKS = [(128, 8), (256, 5), (128, 3)]


def fcn_params_by_hand(c_in: int, classes: int) -> int:
    total, prev = 0, c_in
    for filters, k in PAPER_BLOCKS:
        total += prev * k * filters + filters  # convolution weights and biases
        total += 2 * filters  # batch norm scale and shift
        prev = filters
    return total + prev * classes + classes  # the linear layer after global average pooling


@pytest.mark.parametrize("c_in, classes, expected", [(1, 2, 264_962), (6, 4, 270_340)])
def test_fcn_parameter_count_matches_the_paper_layers(c_in, classes, expected):
    assert fcn_params_by_hand(c_in, classes) == expected  # the numbers the page prints
    assert count_parameters(FCN(c_in, classes)) == expected


@settings(max_examples=20, deadline=None)
@given(c_in=st.integers(1, 12), classes=st.integers(2, 30))
def test_fcn_parameter_count_for_any_sizes(c_in, classes):
    assert count_parameters(FCN(c_in, classes)) == fcn_params_by_hand(c_in, classes)


def test_fcn_layer_structure():
    model = FCN(3, 5)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv1d)]
    assert [(m.in_channels, m.out_channels, m.kernel_size[0]) for m in convs] == [
        (3, 128, 8), (128, 256, 5), (256, 128, 3)]
    assert all(m.stride == (1,) and m.padding == (0,) and m.dilation == (1,) for m in convs)
    pads = [m.padding for m in model.modules() if isinstance(m, nn.ConstantPad1d)]
    assert pads == [(3, 4), (2, 2), (1, 1)]
    kinds = [type(m).__name__ for m in model.features.modules()
             if not isinstance(m, nn.Sequential)]
    assert kinds == ["ConstantPad1d", "Conv1d", "BatchNorm1d", "ReLU"] * 3
    assert [m.num_features for m in model.modules() if isinstance(m, nn.BatchNorm1d)] == [128, 256, 128]
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(128, 5)]
    assert not any(isinstance(m, (nn.MaxPool1d, nn.Dropout)) for m in model.modules())


@pytest.mark.parametrize("k", range(1, 12))
def test_same_padding_keeps_the_length_and_splits_like_torch(k):
    """Oracle: torch. A stride-1 conv1d of the padded input keeps the length and equals
    torch's own ``padding="same"`` (which puts the smaller half before)."""
    torch.manual_seed(k)
    x, w = torch.randn(2, 3, 13, dtype=torch.float64), torch.randn(4, 3, k, dtype=torch.float64)
    out = F.conv1d(F.pad(x, same_padding(k)), w)
    assert out.shape[-1] == x.shape[-1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about "same" with even kernels
        torch.testing.assert_close(out, F.conv1d(x, w, padding="same"))


@settings(max_examples=25, deadline=None)
@given(length=st.integers(1, 40), k=st.sampled_from([3, 5, 8]))
def test_block_equals_torch_same_padding_and_keeps_the_length(length, k):
    torch.manual_seed(length)
    block = conv_bn_relu(2, 4, k).double().eval()
    conv = block[1]
    x = torch.randn(3, 2, length, dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about "same" with even kernels
        reference = F.conv1d(x, conv.weight, conv.bias, padding="same")
    torch.testing.assert_close(conv(block[0](x)), reference)
    assert block(x).shape == (3, 4, length)


@settings(max_examples=10, deadline=None)
@given(length=st.integers(1, 60), n=st.integers(1, 3))
def test_fcn_accepts_any_length(length, n):
    model = FCN(2, 3).eval()
    assert model.features(torch.randn(n, 2, length)).shape == (n, 128, length)
    assert model(torch.randn(n, 2, length)).shape == (n, 3)


def test_gap_then_linear_is_the_time_average_of_per_step_scores():
    """The identity behind class activation maps: logits = mean_t (W f_t + b)."""
    torch.manual_seed(0)
    model = FCN(1, 4).double().eval()
    x = torch.randn(5, 1, 37, dtype=torch.float64)
    features = model.features(x)  # (5, 128, 37)
    per_step = torch.einsum("kc,nct->nkt", model.fc.weight, features) + model.fc.bias[:, None]
    torch.testing.assert_close(model(x), per_step.mean(dim=2))


def test_fcn_gradients_reach_every_parameter():
    model = FCN(2, 3)
    model(torch.randn(4, 2, 20)).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


@pytest.mark.parametrize("call, error, match", [
    (lambda: FCN(0, 2), ValueError, "in_channels"),
    (lambda: FCN(1.0, 2), TypeError, "in_channels"),
    (lambda: FCN(1, 1), ValueError, "num_classes"),
    (lambda: FCN(2, 3)(torch.zeros(4, 1, 10)), ValueError, "x must have shape"),
    (lambda: FCN(2, 3)(torch.zeros(2, 10)), ValueError, "x must have shape"),
    (lambda: FCN(2, 3)([[0.0]]), TypeError, "x must be a torch.Tensor"),
    (lambda: same_padding(0), ValueError, "kernel_size"),
])
def test_fcn_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


def charcnn_params_by_hand(a, classes, length, width=64, k=3, hidden=128):
    steps = length // 2 // 2  # two poolings of size 2 ("same"-padded odd kernels keep the length)
    conv = (a * k * width + width) + (width * k * 2 * width + 2 * width)
    return conv + (2 * width * steps * hidden + hidden) + (hidden * classes + classes)


@settings(max_examples=20, deadline=None)
@given(a=st.integers(1, 60), classes=st.integers(2, 9), length=st.integers(4, 40),
       width=st.integers(1, 16), k=st.sampled_from([1, 3, 5]), hidden=st.integers(1, 32))
def test_charcnn_shapes_and_parameter_count(a, classes, length, width, k, hidden):
    model = CharCNN(a, classes, length, width=width, kernel_size=k, hidden=hidden).eval()
    assert count_parameters(model) == charcnn_params_by_hand(a, classes, length, width, k, hidden)
    x = torch.zeros(3, a, length)
    x[:, 0, :2] = 1
    assert model(x).shape == (3, classes)
    assert model.features(x).shape == (3, 2 * width, length // 4)


def test_charcnn_layer_structure():
    model = CharCNN(51, 7, 16)
    kinds = [type(m).__name__ for m in model.modules() if not list(m.children())]
    assert kinds == ["Conv1d", "ReLU", "MaxPool1d", "Conv1d", "ReLU", "MaxPool1d",
                     "Flatten", "Dropout", "Linear", "ReLU", "Dropout", "Linear"]
    linears = [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, nn.Linear)]
    assert linears == [(128 * 4, 128), (128, 7)]


def test_charcnn_dropout_only_in_training():
    torch.manual_seed(0)
    model = CharCNN(5, 3, 8, dropout=0.5)
    x = torch.rand(4, 5, 8)
    model.eval()
    torch.testing.assert_close(model(x), model(x))
    model.train()
    assert not torch.equal(model(x), model(x))


@pytest.mark.parametrize("call, error, match", [
    (lambda: CharCNN(0, 2, 16), ValueError, "alphabet_size"),
    (lambda: CharCNN(5, 1, 16), ValueError, "num_classes"),
    (lambda: CharCNN(5, 2, 3), ValueError, "length"),
    (lambda: CharCNN(5, 2, 16, kernel_size=4), ValueError, "kernel_size"),
    (lambda: CharCNN(5, 2, 16, width=0), ValueError, "width"),
    (lambda: CharCNN(5, 2, 16, hidden=2.5), TypeError, "hidden"),
    (lambda: CharCNN(5, 2, 16, dropout=1.0), ValueError, "dropout"),
    (lambda: CharCNN(5, 2, 16, dropout="0.1"), ValueError, "dropout"),
    (lambda: CharCNN(5, 2, 16)(torch.zeros(2, 5, 15)), ValueError, "x must have shape"),
    (lambda: CharCNN(5, 2, 16)(torch.zeros(2, 6, 16)), ValueError, "x must have shape"),
    (lambda: CharCNN(5, 2, 16)(torch.zeros(5, 16)), ValueError, "x must have shape"),
    (lambda: CharCNN(5, 2, 16)("abc"), TypeError, "x must be a torch.Tensor"),
])
def test_charcnn_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
