"""Tests of lecturepkg.models.tcn (dilated causal TCN) and lecturepkg.models.cnn3d.

Oracles: autograd (which inputs an output depends on), torch's own conv1d with symmetric
padding followed by a crop (an independent way to compute a causal convolution), parameter
counts written out by hand from the layer shapes.
"""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lecturepkg.models.cnn3d import CNN3d
from lecturepkg.models.tcn import TCN, CausalConv1d, TemporalBlock

pytestmark = pytest.mark.usefixtures("one_torch_thread")
FAST = settings(max_examples=30, deadline=None)

dilation_lists = st.lists(st.integers(1, 6), min_size=1, max_size=4)


def positive(model: nn.Module) -> nn.Module:
    """All weights and biases made positive: no ReLU is ever off and no paths cancel, so a
    zero gradient means 'not connected'."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.abs() + 0.01)
    return model


def support(model, x, t):
    """Input time steps whose gradient of sum_c out[0, c, t] is non-zero (autograd)."""
    x = x.clone().requires_grad_(True)
    model(x)[0, :, t].sum().backward()
    nz = torch.nonzero(x.grad[0].abs().sum(0)).flatten()
    return nz.min().item(), nz.max().item()


# ---------------------------------------------------------------- TCN


@FAST
@given(k=st.integers(1, 4), dils=dilation_lists, t=st.integers(0, 29), seed=st.integers(0, 99))
def test_tcn_is_causal(k, dils, t, seed):
    torch.manual_seed(seed)
    model = TCN(3, 5, k, dils, 2).double().eval()
    x = torch.randn(2, 3, 30, dtype=torch.float64)
    changed = x.clone()
    changed[..., t + 1 :] = torch.randn_like(changed[..., t + 1 :])  # rewrite the future
    with torch.no_grad():
        a, b = model(x), model(changed)
    assert a.shape == (2, 2, 30)
    torch.testing.assert_close(a[..., : t + 1], b[..., : t + 1], rtol=0, atol=0)
    if t < 29 and k > 1:
        assert not torch.allclose(a[..., t + 1 :], b[..., t + 1 :])  # the future does matter


@FAST
@given(k=st.integers(1, 4), dils=dilation_lists, seed=st.integers(0, 99))
def test_tcn_receptive_field_equals_autograd(k, dils, seed):
    torch.manual_seed(seed)
    model = positive(TCN(2, 3, k, dils, 1)).double()
    rf = 1 + sum((k - 1) * d for d in dils)
    assert model.receptive_field == rf
    length = rf + 10
    x = torch.rand(1, 2, length, dtype=torch.float64) + 0.1
    t = length - 1
    assert support(model, x, t) == (t - rf + 1, t)  # exactly the last rf inputs
    # the first output sees only the first input (the rest of its window is padding)
    assert support(model, x, 0) == (0, 0)


@FAST
@given(k=st.integers(2, 5), dils=dilation_lists, seed=st.integers(0, 99))
def test_non_causal_tcn_window_is_centred(k, dils, seed):
    torch.manual_seed(seed)
    model = positive(TCN(2, 3, k, dils, 1, causal=False)).double()
    left = sum((k - 1) * d // 2 for d in dils)
    right = sum((k - 1) * d - (k - 1) * d // 2 for d in dils)
    assert model.receptive_field == 1 + left + right
    length = left + right + 12
    x = torch.rand(1, 2, length, dtype=torch.float64) + 0.1
    t = left + 5
    assert support(model, x, t) == (t - left, t + right)
    # same-length output, like padding="same"
    assert model(x).shape == (1, 1, length)


@FAST
@given(
    c_in=st.integers(1, 4), c_out=st.integers(1, 4), k=st.integers(1, 4), d=st.integers(1, 5),
    length=st.integers(1, 20), seed=st.integers(0, 99),
)
def test_causal_conv1d_against_symmetric_padding_and_crop(c_in, c_out, k, d, length, seed):
    torch.manual_seed(seed)
    layer = CausalConv1d(c_in, c_out, k, d).double()
    x = torch.randn(2, c_in, length, dtype=torch.float64)
    pad = (k - 1) * d
    # torch pads both ends; the first `length` outputs are the causal ones
    expected = F.conv1d(x, layer.conv.weight, layer.conv.bias, padding=pad, dilation=d)
    torch.testing.assert_close(layer(x), expected[..., :length])


@pytest.mark.parametrize("c_in, c_out", [(3, 3), (2, 5)])
def test_temporal_block_is_residual(c_in, c_out):
    torch.manual_seed(0)
    block = TemporalBlock(c_in, c_out, kernel_size=3, dilation=2).double()
    x = torch.randn(2, c_in, 12, dtype=torch.float64)
    conv = block.conv.conv
    causal = F.conv1d(F.pad(x, (4, 0)), conv.weight, conv.bias, dilation=2)
    if c_in == c_out:
        skip = x  # identity shortcut
    else:
        skip = F.conv1d(x, block.skip.weight, block.skip.bias)  # 1x1 projection
        assert block.skip.weight.shape == (c_out, c_in, 1)
    torch.testing.assert_close(block(x), torch.relu(causal) + skip)


@pytest.mark.parametrize("c_in, channels, k, dils", [(4, 16, 2, 4), (1, 8, 3, 6), (8, 8, 2, 3)])
def test_dilated_and_undilated_have_the_same_parameters(c_in, channels, k, dils):
    dilated = TCN(c_in, channels, k, [2**i for i in range(dils)], 5)
    plain = TCN(c_in, channels, k, [1] * dils, 5)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    skip = 0 if c_in == channels else c_in * channels + channels  # 1x1 projection
    by_hand = (
        (c_in * channels * k + channels + skip)
        + (dils - 1) * (channels * channels * k + channels)
        + (channels * 5 + 5)
    )
    assert count(dilated) == count(plain) == by_hand
    assert [tuple(p.shape) for p in dilated.parameters()] == [
        tuple(p.shape) for p in plain.parameters()
    ]


def test_tcn_receptive_field_examples():
    # the lecture notes: four layers of kernel 2 look back 4 steps, dilations 1, 2, 4, 8 look
    # back 15 steps
    assert TCN(1, 4, 2, [1, 1, 1, 1], 1).receptive_field == 5
    assert TCN(1, 4, 2, [1, 2, 4, 8], 1).receptive_field == 16
    # WaveNet: dilations 1, 2, ..., 512 with kernel 2 cover 1024 samples
    assert TCN(1, 2, 2, [2**i for i in range(10)], 1).receptive_field == 1024


def test_tcn_shorter_input_than_receptive_field():
    model = TCN(3, 4, 2, [1, 2, 4, 8], 2)
    assert model(torch.zeros(5, 3, 4)).shape == (5, 2, 4)


@pytest.mark.parametrize(
    "kwargs, name, error",
    [
        ({"in_channels": 0}, "in_channels", ValueError),
        ({"channels": 2.0}, "channels", TypeError),
        ({"kernel_size": 0}, "kernel_size", ValueError),
        ({"dilations": []}, "dilations", TypeError),
        ({"dilations": 2}, "dilations", TypeError),
        ({"dilations": [1, 0]}, r"dilations\[1\]", ValueError),
        ({"num_outputs": 0}, "num_outputs", ValueError),
        ({"causal": "yes"}, "causal", TypeError),
    ],
)
def test_tcn_bad_arguments(kwargs, name, error):
    args = {"in_channels": 2, "channels": 4, "kernel_size": 2, "dilations": [1, 2],
            "num_outputs": 3, **kwargs}
    with pytest.raises(error, match=name):
        TCN(**args)


@pytest.mark.parametrize(
    "x, error",
    [(torch.zeros(2, 3, 10), ValueError), (torch.zeros(2, 10), ValueError),
     ("not a tensor", TypeError)],
)
def test_tcn_bad_input(x, error):
    with pytest.raises(error, match=r"x must .*shape \(N, 2, L\)"):
        TCN(2, 4, 2, [1, 2], 3)(x)


# ---------------------------------------------------------------- 3D CNN


def test_cnn3d_shapes_and_feature_maps():
    torch.manual_seed(0)
    model = CNN3d(num_classes=4, width=4).eval()
    x = torch.randn(3, 1, 16, 16, 16)
    assert model(x).shape == (3, 4)
    shapes = {}
    h = x
    for name, layer in model.features.named_children():
        h = layer(h)
        shapes[name] = tuple(h.shape)
    assert shapes == {
        "stage1": (3, 4, 16, 16, 16),
        "pool1": (3, 4, 8, 8, 8),
        "stage2": (3, 8, 8, 8, 8),
        "pool2": (3, 8, 4, 4, 4),
        "stage3": (3, 16, 4, 4, 4),
    }
    # global average pooling: any volume size works, including non-cubes
    assert model(torch.randn(2, 1, 20, 12, 8)).shape == (2, 4)
    assert CNN3d(in_channels=3, num_classes=3)(torch.randn(1, 3, 8, 8, 8)).shape == (1, 3)


def test_cnn3d_parameter_count_by_hand():
    w, c = 8, 4
    conv = lambda i, o: o * i * 27 + 2 * o  # noqa: E731  (3x3x3 kernel, no bias; BN weight+bias)
    by_hand = conv(1, w) + conv(w, 2 * w) + conv(2 * w, 4 * w) + (4 * w * c + c)
    assert sum(p.numel() for p in CNN3d(1, c, w).parameters()) == by_hand


def test_cnn3d_max_pool_matches_reshape_max():
    # oracle for 2x2x2 max pooling: split every axis in pairs and take the max over them
    model = CNN3d(num_classes=2, width=2)
    h = torch.randn(1, 2, 6, 8, 4)
    pooled = model.features.pool1(h)
    blocks = h.reshape(1, 2, 3, 2, 4, 2, 2, 2).amax(dim=(3, 5, 7))
    torch.testing.assert_close(pooled, blocks)


@pytest.mark.parametrize(
    "x", [torch.zeros(2, 2, 8, 8, 8), torch.zeros(2, 8, 8, 8), torch.zeros(1, 1, 2, 8, 8)]
)
def test_cnn3d_bad_input(x):
    with pytest.raises(ValueError, match="x must"):
        CNN3d(num_classes=4)(x)


@pytest.mark.parametrize("kwargs, name", [({"num_classes": 0}, "num_classes"),
                                          ({"in_channels": 0}, "in_channels"),
                                          ({"width": 0}, "width")])
def test_cnn3d_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        CNN3d(**kwargs)
