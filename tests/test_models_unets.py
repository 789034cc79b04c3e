"""U-Net (Ronneberger et al. 2015) against the paper's figures and an independent oracle.

The oracle is a straightforward U-Net written out below with ``torch.nn.functional`` calls
and a flat list of weight tensors (no modules, no loops over levels shared with the package),
cropping by plain slicing. The package's network is loaded with the oracle's weights and both
must agree forward and backward. Figure 1's map sizes for a 572 x 572 tile are checked
directly, and the parameter count, 31,030,658, is recomputed from the layer sizes of Figure 1
(the paper itself does not state it).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lecturepkg.counting import count_parameters, layer_stats
from lecturepkg.models import UNet, center_crop, unet, unet_output_size

# Figure 1 of Ronneberger et al. (2015): (channels, size) after each level's two convolutions
PAPER_ENCODER = [(64, 568), (128, 280), (256, 136), (512, 64), (1024, 28)]
PAPER_DECODER = [(512, 52), (256, 100), (128, 196), (64, 388)]


def test_paper_parameter_count():
    # Figure 1: 3x3 convolutions with biases, 64 -> 1024 maps down and back up, a 2x2
    # up-convolution halving the maps at each level, a final 1x1 convolution to 2 classes
    def conv(c_in, c_out, k):
        return c_out * (c_in * k * k + 1)

    widths = [64, 128, 256, 512, 1024]
    down = sum(conv(c_in, c, 3) + conv(c, c, 3) for c_in, c in zip([1] + widths, widths))
    up = sum(conv(2 * c, c, 2) + conv(2 * c, c, 3) + conv(c, c, 3) for c in widths[:-1])
    by_hand = down + up + conv(64, 2, 1)
    assert by_hand == 31_030_658
    assert count_parameters(unet()) == by_hand


def test_paper_sizes_572_to_388():
    assert unet_output_size(572) == 388
    rows = layer_stats(unet(), (1, 572, 572))
    # the second ReLU of every pair of convolutions ends a level, in the order they run
    ends = [r.output_shape for r in rows if r.kind == "ReLU"][1::2]
    assert [(c, h) for c, h, w in ends] == PAPER_ENCODER + PAPER_DECODER
    assert all(h == w for _, h, w in ends)
    ups = [r.output_shape for r in rows if r.kind == "ConvTranspose2d"]
    # up-convolutions: 28 -> 56, 52 -> 104, 100 -> 200, 196 -> 392, halving the maps
    assert ups == [(512, 56, 56), (256, 104, 104), (128, 200, 200), (64, 392, 392)]
    assert rows[-1].output_shape == (2, 388, 388)


# --- the oracle ---------------------------------------------------------------------------


def oracle_weights(in_channels, num_classes, base, depth, generator):
    """A flat list of (weight, bias) pairs in the order the oracle uses them."""
    def conv(c_in, c_out, k):
        w = torch.randn(c_out, c_in, k, k, generator=generator, dtype=torch.float64)
        return [w * (2.0 / (c_in * k * k)) ** 0.5,
                torch.randn(c_out, generator=generator, dtype=torch.float64) * 0.1]

    def upconv(c_in, c_out):
        w = torch.randn(c_in, c_out, 2, 2, generator=generator, dtype=torch.float64)
        return [w * (2.0 / (c_in * 4)) ** 0.5,
                torch.randn(c_out, generator=generator, dtype=torch.float64) * 0.1]

    params = []
    c = in_channels
    for i in range(depth + 1):  # encoder levels, then the bottom
        width = base * 2**i
        params += conv(c, width, 3) + conv(width, width, 3)
        c = width
    for i in reversed(range(depth)):  # decoder levels
        width = base * 2**i
        params += upconv(2 * width, width) + conv(2 * width, width, 3) + conv(width, width, 3)
    params += conv(base, num_classes, 1)
    return [p.requires_grad_() for p in params]


def oracle_forward(x, params, depth, pad):
    p = iter(params)
    skips = []
    for _ in range(depth):
        x = F.relu(F.conv2d(x, next(p), next(p), padding=pad))
        x = F.relu(F.conv2d(x, next(p), next(p), padding=pad))
        skips.append(x)
        x = F.max_pool2d(x, 2)
    x = F.relu(F.conv2d(x, next(p), next(p), padding=pad))
    x = F.relu(F.conv2d(x, next(p), next(p), padding=pad))
    for skip in reversed(skips):
        x = F.conv_transpose2d(x, next(p), next(p), stride=2)
        dh = (skip.shape[2] - x.shape[2]) // 2
        dw = (skip.shape[3] - x.shape[3]) // 2
        skip = skip[:, :, dh : dh + x.shape[2], dw : dw + x.shape[3]]
        x = torch.cat([skip, x], dim=1)
        x = F.relu(F.conv2d(x, next(p), next(p), padding=pad))
        x = F.relu(F.conv2d(x, next(p), next(p), padding=pad))
    return F.conv2d(x, next(p), next(p))


@pytest.mark.parametrize(
    "in_channels, num_classes, base, depth, padding, size",
    [
        (1, 2, 4, 4, "valid", (188, 204)),  # smallest valid height, non-square
        (3, 1, 3, 2, "valid", (44, 52)),
        (3, 1, 4, 3, "same", (32, 24)),
        (2, 3, 2, 1, "same", (6, 10)),
    ],
)
def test_matches_oracle_forward_and_backward(in_channels, num_classes, base, depth, padding,
                                             size):
    g = torch.Generator().manual_seed(sum(size) + depth)
    params = oracle_weights(in_channels, num_classes, base, depth, g)
    model = UNet(in_channels, num_classes, base_channels=base, depth=depth,
                 padding=padding).double()
    ours = list(model.parameters())
    assert [p.shape for p in ours] == [p.shape for p in params]  # same layers, same order
    with torch.no_grad():
        for mine, theirs in zip(ours, params):
            mine.copy_(theirs)
    x = torch.randn(2, in_channels, *size, generator=g, dtype=torch.float64, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_()
    pad = 0 if padding == "valid" else 1
    expected = oracle_forward(x_ref, params, depth, pad)
    got = model(x)
    out = tuple(unet_output_size(s, depth, padding) for s in size)
    assert got.shape == expected.shape == (2, num_classes, *out)
    torch.testing.assert_close(got, expected)
    weight = torch.randn(expected.shape, generator=g, dtype=torch.float64)
    (got * weight).sum().backward()
    (expected * weight).sum().backward()
    torch.testing.assert_close(x.grad, x_ref.grad)
    for mine, theirs in zip(ours, params):
        torch.testing.assert_close(mine.grad, theirs.grad)


def test_same_padding_keeps_size_and_counts_like_valid():
    same = unet(in_channels=3, num_classes=1, padding="same", base_channels=8)
    valid = unet(in_channels=3, num_classes=1, padding="valid", base_channels=8)
    assert count_parameters(same) == count_parameters(valid)  # padding adds no weights
    with torch.no_grad():
        assert same(torch.randn(1, 3, 48, 64)).shape == (1, 1, 48, 64)


def test_batch_norm_variant_has_a_norm_after_each_conv():
    model = unet(in_channels=3, num_classes=1, padding="same", base_channels=4, depth=2,
                 batch_norm=True)
    kinds = [type(m).__name__ for m in model.modules()]
    assert kinds.count("BatchNorm2d") == kinds.count("Conv2d") - 1  # all but the 1x1 head
    model.train()
    assert model(torch.randn(2, 3, 8, 8)).shape == (2, 1, 8, 8)


# --- center_crop --------------------------------------------------------------------------


@pytest.mark.parametrize("shape, size", [((2, 3, 9, 12), (5, 6)), ((4, 7), 3), ((1, 1, 8, 8), 8),
                                         ((2, 5, 10, 7), [1, 7])])
def test_center_crop_is_slicing(shape, size):
    x = torch.randn(shape)
    h, w = (size, size) if isinstance(size, int) else size
    top, left = (shape[-2] - h) // 2, (shape[-1] - w) // 2
    expected = x[..., top : top + h, left : left + w]
    torch.testing.assert_close(center_crop(x, size), expected)


def test_center_crop_odd_margin_drops_the_extra_row_at_the_bottom():
    x = torch.arange(5.0).reshape(5, 1)
    assert center_crop(x, (2, 1)).flatten().tolist() == [1.0, 2.0]


@pytest.mark.parametrize(
    "x, size, error, match",
    [
        ([[1.0]], 1, TypeError, "x must be a torch.Tensor"),
        (torch.zeros(5), 1, ValueError, "at least 2 dimensions"),
        (torch.zeros(4, 4), 5, ValueError, r"must not exceed .* \(4, 4\)"),
        (torch.zeros(4, 4), (2, 2, 2), ValueError, "size must be an int or a pair"),
        (torch.zeros(4, 4), 0, ValueError, "size must be >= 1"),
        (torch.zeros(4, 4), 2.0, TypeError, "size must be an int"),
    ],
)
def test_center_crop_bad_input(x, size, error, match):
    with pytest.raises(error, match=match):
        center_crop(x, size)


# --- bad inputs ---------------------------------------------------------------------------


def test_valid_size_that_does_not_tile_names_nearest_valid_sizes():
    with pytest.raises(ValueError, match="571 does not tile.*nearest valid sizes: 556 or 572"):
        unet_output_size(571)
    model = unet(base_channels=1)
    with pytest.raises(ValueError, match="573 does not tile.*572 or 588"):
        model(torch.zeros(1, 1, 572, 573))
    with pytest.raises(ValueError, match="nearest valid sizes: 188$"):
        unet_output_size(100)


def test_nearest_valid_sizes_are_valid_and_nearest():
    valid = [s for s in range(1, 700) if _is_valid(s)]
    assert valid[:3] == [188, 204, 220] and 572 in valid  # 16 * b + 60: paper's tiles
    for s in (189, 301, 571, 573, 650):
        below = max(v for v in valid if v <= s)
        above = min(v for v in valid if v > s)
        with pytest.raises(ValueError, match=f"nearest valid sizes: {below} or {above}"):
            unet_output_size(s)


def _is_valid(size):
    try:
        unet_output_size(size)
    except ValueError:
        return False
    return True


def test_same_padding_needs_divisible_sizes():
    model = unet(in_channels=3, num_classes=1, padding="same", base_channels=2, depth=3)
    with pytest.raises(ValueError, match="divisible by 2\\*\\*depth = 8, got 20; .* 16 or 24"):
        model(torch.zeros(1, 3, 20, 16))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"padding": "full"}, ValueError, "padding must be 'valid' or 'same'"),
        ({"depth": 0}, ValueError, "depth must be >= 1"),
        ({"base_channels": 2.5}, TypeError, "base_channels must be an int"),
        ({"in_channels": 0}, ValueError, "in_channels must be >= 1"),
        ({"num_classes": "2"}, TypeError, "num_classes must be an int"),
        ({"batch_norm": 1}, TypeError, "batch_norm must be a bool"),
    ],
)
def test_bad_constructor_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        unet(**kwargs)


def test_wrong_channels_raise():
    with pytest.raises(ValueError, match=r"x must have shape \(N, 3, H, W\)"):
        unet(in_channels=3, base_channels=1, padding="same")(torch.zeros(1, 1, 16, 16))
