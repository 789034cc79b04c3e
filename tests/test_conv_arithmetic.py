"""Tests of lecturepkg.conv.arithmetic against the shapes torch actually produces."""

from __future__ import annotations


import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lecturepkg.conv import conv_output_size, effective_kernel_size, pool_output_size
from lecturepkg.conv.arithmetic import conv_transpose_output_size

PROPERTY = settings(max_examples=60, deadline=None)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def hyper(dims: int, low: int, high: int):
    """One int per spatial dimension: a bare int for 1D, a tuple for 2D."""
    one = st.integers(low, high)
    return one if dims == 1 else st.tuples(*[one] * dims)


def torch_shape(func, *args, **kwargs):
    """The spatial output shape torch computes, or None when torch refuses the arguments."""
    try:
        return tuple(func(*args, **kwargs).shape[2:])
    except RuntimeError:
        return None


def as_tuple(value, dims):
    return value if isinstance(value, tuple) else (value,) * dims


# ---------------------------------------------------------------------------------------
# Agreement with torch on random arguments, valid or not
# ---------------------------------------------------------------------------------------


@PROPERTY
@given(st.data(), st.sampled_from([1, 2]))
def test_conv_output_size_matches_torch(data, dims):
    size = data.draw(hyper(dims, 1, 12), "input_size")
    kernel = data.draw(hyper(dims, 1, 5), "kernel_size")
    stride = data.draw(hyper(dims, 1, 4), "stride")
    padding = data.draw(hyper(dims, 0, 3), "padding")
    dilation = data.draw(hyper(dims, 1, 3), "dilation")
    x = torch.zeros(1, 1, *as_tuple(size, dims))
    w = torch.zeros(1, 1, *as_tuple(kernel, dims))
    conv = F.conv1d if dims == 1 else F.conv2d
    expected = torch_shape(conv, x, w, stride=stride, padding=padding, dilation=dilation)
    args = (size, kernel, stride, padding, dilation)
    if expected is None:  # torch: "Kernel size can't be greater than actual input size"
        with pytest.raises(ValueError, match="kernel_size"):
            conv_output_size(*args)
    else:
        out = conv_output_size(*args)
        assert as_tuple(out, dims) == expected
        assert isinstance(out, int) == (dims == 1)  # ints in, int out; tuples in, tuple out


@PROPERTY
@given(st.data(), st.sampled_from([1, 2]), st.booleans(), st.booleans())
def test_pool_output_size_matches_torch(data, dims, ceil_mode, default_stride):
    size = data.draw(hyper(dims, 1, 12), "input_size")
    kernel = data.draw(hyper(dims, 1, 5), "kernel_size")
    stride = None if default_stride else data.draw(hyper(dims, 1, 4), "stride")
    padding = data.draw(hyper(dims, 0, 3), "padding")
    dilation = data.draw(hyper(dims, 1, 3), "dilation")
    x = torch.zeros(1, 1, *as_tuple(size, dims))
    pool = F.max_pool1d if dims == 1 else F.max_pool2d
    expected = torch_shape(
        pool, x, kernel, stride, padding, dilation=dilation, ceil_mode=ceil_mode
    )
    args = (size, kernel, stride, padding, dilation, ceil_mode)
    if expected is None:  # torch: padding over half the kernel, or no output left
        with pytest.raises(ValueError, match="kernel_size|padding"):
            pool_output_size(*args)
    else:
        assert as_tuple(pool_output_size(*args), dims) == expected


@PROPERTY
@given(st.data(), st.sampled_from([1, 2, 3]))
def test_conv_transpose_output_size_matches_torch(data, dims):
    """Random arguments, valid or not: our size or our error agrees with torch's."""
    size = data.draw(hyper(dims, 1, 6), "input_size")
    kernel = data.draw(hyper(dims, 1, 4), "kernel_size")
    stride = data.draw(hyper(dims, 1, 3), "stride")
    padding = data.draw(hyper(dims, 0, 4), "padding")
    output_padding = data.draw(hyper(dims, 0, 3), "output_padding")
    dilation = data.draw(hyper(dims, 1, 3), "dilation")
    x = torch.zeros(1, 1, *as_tuple(size, dims))
    w = torch.zeros(1, 1, *as_tuple(kernel, dims))
    conv_t = [F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d][dims - 1]
    expected = torch_shape(conv_t, x, w, stride=stride, padding=padding,
                           output_padding=output_padding, dilation=dilation)
    args = (size, kernel, stride, padding, output_padding, dilation)
    if expected is None:  # torch: output_padding too big, or "Output size is too small"
        with pytest.raises(ValueError, match="output_padding|padding"):
            conv_transpose_output_size(*args)
    else:
        out = conv_transpose_output_size(*args)
        assert as_tuple(out, dims) == expected
        assert isinstance(out, int) == (dims == 1)


@PROPERTY
@given(st.integers(1, 20), st.integers(1, 5), st.integers(1, 4), st.integers(0, 3),
       st.integers(1, 3))
def test_conv_transpose_output_size_undoes_conv_output_size(size, kernel, stride, padding,
                                                            dilation):
    """A convolution maps `size` to `out`; the transposed convolution with the same
    arguments maps `out` back to `size`, with output_padding = the remainder the floor of the
    convolution dropped (always < stride)."""
    span = dilation * (kernel - 1) + 1
    if span > size + 2 * padding:
        return  # no convolution to undo
    out = conv_output_size(size, kernel, stride, padding, dilation)
    remainder = (size + 2 * padding - span) % stride
    assert remainder < stride
    back = conv_transpose_output_size(out, kernel, stride, padding, remainder, dilation)
    assert back == size
    # every other output_padding < stride gives another size the convolution maps to `out`
    for op in range(stride):
        other = size - remainder + op
        if other >= max(1, span - 2 * padding):
            assert conv_transpose_output_size(out, kernel, stride, padding, op, dilation) == other
            assert conv_output_size(other, kernel, stride, padding, dilation) == out


@pytest.mark.parametrize(
    "size,kernel,padding,ceil_mode,expected",
    [
        (1, 4, 1, True, 1),  # the window overhangs the padded input, torch keeps it
        (5, 2, 0, True, 3),  # 2 full windows plus the partial last one
        (5, 2, 0, False, 2),
        (4, 2, 1, True, 3),  # a 4th window would start in the right padding: dropped
    ],
)
def test_pool_output_size_ceil_mode_examples(size, kernel, padding, ceil_mode, expected):
    x = torch.zeros(1, 1, size)
    assert F.max_pool1d(x, kernel, padding=padding, ceil_mode=ceil_mode).shape[-1] == expected
    assert pool_output_size(size, kernel, padding=padding, ceil_mode=ceil_mode) == expected


@PROPERTY
@given(st.integers(1, 5), st.integers(1, 4), st.integers(0, 4))
def test_effective_kernel_size_is_the_dense_equivalent_kernel(k, d, extra):
    """A kernel of size k with dilation d acts like a dense kernel of size 1 + (k-1)d with
    zeros between the taps: same output, hence same output size."""
    span = effective_kernel_size(k, d)
    rng = np.random.default_rng(k * 100 + d * 10 + extra)
    w = torch.from_numpy(rng.standard_normal((1, 1, k)))
    dense = torch.zeros(1, 1, d * (k - 1) + 1, dtype=torch.float64)
    dense[..., ::d] = w  # insert d - 1 zeros between taps
    x = torch.from_numpy(rng.standard_normal((1, 1, span + extra)))
    dilated_out = F.conv1d(x, w, dilation=d)
    torch.testing.assert_close(dilated_out, F.conv1d(x, dense), rtol=1e-12, atol=1e-12)
    assert dense.shape[-1] == span
    assert dilated_out.shape[-1] == span + extra - span + 1  # input - span + 1
    assert effective_kernel_size((k, 1), (d, 3)) == (span, 1)


# ---------------------------------------------------------------------------------------
# Worked examples from the lecture notes
# ---------------------------------------------------------------------------------------


def test_seed_dilated_conv2d_20x30_gives_12x22():
    torch.manual_seed(0)
    layer = nn.Conv2d(1, 1, kernel_size=3, dilation=4)
    expected = tuple(layer(torch.randn(1, 1, 20, 30)).shape[2:])
    assert expected == (12, 22)  # the number the notes publish
    assert conv_output_size((20, 30), kernel_size=3, dilation=4) == expected
    # "the difference between the input map size and the output map size is 8"
    assert effective_kernel_size(3, 4) - 1 == 8


def test_seed_conv2d_layer_117x4x10x3():
    layer = nn.Conv2d(in_channels=4, out_channels=5, kernel_size=(2, 3))
    expected = tuple(layer(torch.zeros(117, 4, 10, 3)).shape)
    assert expected == (117, 5, 9, 1)
    assert conv_output_size((10, 3), (2, 3)) == expected[2:]


def test_seed_padding_and_stride_example():
    # C x 3 x 5 input, padding (2, 1), stride (2, 2), 3 x 3 kernel
    expected = tuple(F.conv2d(torch.zeros(1, 1, 3, 5), torch.zeros(1, 1, 3, 3),
                              stride=2, padding=(2, 1)).shape[2:])
    assert conv_output_size((3, 5), 3, stride=(2, 2), padding=(2, 1)) == expected == (3, 3)


def test_seed_transposed_conv_sizes():
    """4x4 -> 2x2 -> 4x4 (k=3, s=1, p=0); the direct equivalent k'=3, s'=1, p'=2; the
    6 -> 4 -> 6 matrix example; the 3x3, stride 2, pad 1 example (2x2 -> 3x3 or 4x4)."""
    assert conv_output_size((4, 4), 3) == (2, 2)
    assert conv_transpose_output_size((2, 2), 3) == (4, 4)
    assert conv_output_size((2, 2), 3, stride=1, padding=2) == (4, 4)  # k'=3, s'=1, p'=2
    assert conv_output_size(6, 3) == 4 and conv_transpose_output_size(4, 3) == 6
    assert conv_output_size(4, 3, stride=2, padding=1) == 2
    assert conv_output_size(3, 3, stride=2, padding=1) == 2  # 3 and 4 both give 2 ...
    assert conv_transpose_output_size(2, 3, stride=2, padding=1) == 3  # ... hence
    assert conv_transpose_output_size(2, 3, stride=2, padding=1, output_padding=1) == 4
    for size, op in ((3, 0), (4, 1)):
        shape = F.conv_transpose2d(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 3, 3), stride=2,
                                   padding=1, output_padding=op).shape
        assert tuple(shape[2:]) == (size, size)


# ---------------------------------------------------------------------------------------
# Bad input: error type and the argument's name in the message
# ---------------------------------------------------------------------------------------

GOOD = dict(input_size=(8, 8), kernel_size=3, stride=1, padding=0, dilation=1)


@pytest.mark.parametrize("func", [conv_output_size, pool_output_size])
@pytest.mark.parametrize(
    "error,name,changes",
    [
        (ValueError, "kernel_size", dict(kernel_size=11)),  # bigger than the padded input
        (ValueError, "kernel_size", dict(kernel_size=0)),
        (ValueError, "padding", dict(padding=-1)),
        (ValueError, "stride", dict(stride=0)),
        (ValueError, "dilation", dict(dilation=0)),
        (ValueError, "input_size", dict(input_size=(8, 0))),
        (TypeError, "stride", dict(stride=True)),
        (TypeError, "padding", dict(padding=1.0)),
        (TypeError, "kernel_size", dict(kernel_size=3.0)),
        (TypeError, "input_size", dict(input_size=8.5)),
        (TypeError, "dilation", dict(dilation=(1, False))),
        (ValueError, "input_size has 2, kernel_size has 3", dict(kernel_size=(3, 3, 3))),
        (ValueError, "stride has 1", dict(stride=[1])),
    ],
)
def test_output_size_bad_input(func, error, name, changes):
    args = dict(GOOD, **changes)
    with pytest.raises(error, match=name):
        func(**args)


def test_pool_output_size_bad_padding_and_ceil_mode():
    with pytest.raises(ValueError, match="padding"):
        pool_output_size(8, 3, padding=2)  # more than half the kernel, torch refuses too
    with pytest.raises(TypeError, match="ceil_mode"):
        pool_output_size(8, 3, ceil_mode=1)


def test_effective_kernel_size_bad_input():
    with pytest.raises(ValueError, match="kernel_size"):
        effective_kernel_size(0, 1)
    with pytest.raises(ValueError, match="dilation"):
        effective_kernel_size(3, 0)
    with pytest.raises(TypeError, match="dilation"):
        effective_kernel_size(3, 2.0)
    with pytest.raises(ValueError, match="kernel_size has 2.*dilation has 3"):
        effective_kernel_size((3, 3), (1, 1, 1))


@pytest.mark.parametrize(
    "error,name,changes",
    [
        (ValueError, "output_padding", dict(output_padding=1)),  # not < stride 1, dilation 1
        (ValueError, "output_padding", dict(stride=2, dilation=3, output_padding=3)),
        (ValueError, r"output_padding \(dimension 1\)", dict(stride=2, output_padding=(1, 2))),
        (ValueError, "output_padding", dict(output_padding=-1)),
        (TypeError, "output_padding", dict(output_padding=0.5)),
        (ValueError, r"padding \(dimension 0\).*leaves", dict(padding=6)),  # empty output
        (ValueError, "padding", dict(padding=-1)),
        (ValueError, "kernel_size", dict(kernel_size=0)),
        (ValueError, "stride", dict(stride=0)),
        (ValueError, "dilation", dict(dilation=0)),
        (ValueError, "input_size", dict(input_size=(8, 0))),
        (TypeError, "input_size", dict(input_size=8.0)),
        (ValueError, "input_size has 2, output_padding has 3", dict(output_padding=(0, 0, 0))),
    ],
)
def test_conv_transpose_output_size_bad_input(error, name, changes):
    args = dict(input_size=(8, 8), kernel_size=3, stride=1, padding=0, output_padding=0,
                dilation=1)
    args.update(changes)
    with pytest.raises(error, match=name):
        conv_transpose_output_size(**args)
