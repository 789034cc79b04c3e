"""Tests of lecturepkg.conv.functional against torch (float64 functional ops and autograd)."""

from __future__ import annotations


import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import as_arg, conv_cases, seeded_rng, t
from lecturepkg.conv import (
    avg_pool2d,
    conv1d,
    conv1d_backward,
    conv2d,
    conv2d_backward,
    max_pool2d,
    pad2d,
)

PROPERTY = settings(max_examples=60, deadline=None)


pytestmark = pytest.mark.usefixtures("one_torch_thread")

TOL = dict(rtol=1e-10, atol=1e-10)
BIGGER = {1: 9, 2: 5}  # inputs up to this much larger than the smallest valid one


# ---------------------------------------------------------------------------------------
# Forward against torch
# ---------------------------------------------------------------------------------------


@PROPERTY
@given(conv_cases(dims=1, extra=BIGGER))
def test_conv1d_matches_torch(case):
    _, x, w, b, hyper, _ = case
    expected = F.conv1d(t(x), t(w), None if b is None else t(b), **hyper).numpy()
    out = conv1d(x, w, b, **hyper)
    assert out.shape == expected.shape and out.dtype == np.float64
    np.testing.assert_allclose(out, expected, **TOL)


@PROPERTY
@given(conv_cases(dims=2, extra=BIGGER))
def test_conv2d_matches_torch(case):
    _, x, w, b, hyper, _ = case
    expected = F.conv2d(t(x), t(w), None if b is None else t(b), **hyper).numpy()
    out = conv2d(x, w, b, **hyper)
    assert out.shape == expected.shape and out.dtype == np.float64
    np.testing.assert_allclose(out, expected, **TOL)


def test_conv_positional_arguments_follow_torch_order():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 4, 9, 8)), rng.standard_normal((6, 2, 3, 2)), np.ones(6)
    args = (b, (2, 1), (1, 2), (2, 1), 2)  # bias, stride, padding, dilation, groups
    expected = F.conv2d(t(x), t(w), *[t(b), *args[1:]]).numpy()
    np.testing.assert_allclose(conv2d(x, w, *args), expected, **TOL)
    x1, w1 = x[..., 0], w[..., 0]
    expected1 = F.conv1d(t(x1), t(w1), t(b), 2, 1, 2, 2).numpy()
    np.testing.assert_allclose(conv1d(x1, w1, b, 2, 1, 2, 2), expected1, **TOL)


@pytest.mark.parametrize("func", [conv1d, conv2d])
def test_conv_dtype_is_numpy_result_type(func):
    x = np.ones((1, 2) + (4,) * (func is conv2d), dtype=np.float32)
    w = np.ones((3, 1, 2) + (2,) * (func is conv2d), dtype=np.float32)
    assert func(x, w).dtype == np.float32
    assert func(x, w.astype(np.float64)).dtype == np.float64
    assert func(x.astype(np.int64), w.astype(np.int64)).dtype == np.int64
    # the float32 result agrees with torch's float32 conv
    torch_func = F.conv1d if func is conv1d else F.conv2d
    np.testing.assert_allclose(func(x, w), torch_func(t(x), t(w)).numpy(), rtol=1e-6)


# ---------------------------------------------------------------------------------------
# Backward against torch autograd
# ---------------------------------------------------------------------------------------


def autograd_reference(torch_conv, x, w, hyper, grad_output_rng):
    xt = t(x).requires_grad_()
    wt = t(w).requires_grad_()
    bt = torch.zeros(w.shape[0], dtype=torch.float64, requires_grad=True)
    out = torch_conv(xt, wt, bt, **hyper)
    grad_output = grad_output_rng.standard_normal(tuple(out.shape))
    (out * t(grad_output)).sum().backward()
    return grad_output, xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


@PROPERTY
@given(conv_cases(dims=1, extra=BIGGER))
def test_conv1d_backward_matches_autograd(case):
    _, x, w, _, hyper, rng = case
    grad_output, gx, gw, gb = autograd_reference(F.conv1d, x, w, hyper, rng)
    grad_input, grad_weight, grad_bias = conv1d_backward(grad_output, x, w, **hyper)
    assert grad_input.shape == x.shape and grad_weight.shape == w.shape
    np.testing.assert_allclose(grad_input, gx, **TOL)
    np.testing.assert_allclose(grad_weight, gw, **TOL)
    np.testing.assert_allclose(grad_bias, gb, **TOL)


@PROPERTY
@given(conv_cases(dims=2, extra=BIGGER))
def test_conv2d_backward_matches_autograd(case):
    _, x, w, _, hyper, rng = case
    grad_output, gx, gw, gb = autograd_reference(F.conv2d, x, w, hyper, rng)
    grad_input, grad_weight, grad_bias = conv2d_backward(grad_output, x, w, **hyper)
    assert grad_input.shape == x.shape and grad_weight.shape == w.shape
    np.testing.assert_allclose(grad_input, gx, **TOL)
    np.testing.assert_allclose(grad_weight, gw, **TOL)
    np.testing.assert_allclose(grad_bias, gb, **TOL)


# ---------------------------------------------------------------------------------------
# Pooling and padding against torch
# ---------------------------------------------------------------------------------------


@st.composite
def pool_cases(draw, with_dilation: bool):
    k = tuple(draw(st.integers(1, 4)) for _ in range(2))
    p = tuple(draw(st.integers(0, ki // 2)) for ki in k)  # torch: padding <= kernel_size / 2
    d = tuple(draw(st.integers(1, 2)) for _ in range(2)) if with_dilation else (1, 1)
    size = tuple(
        max(1, di * (ki - 1) + 1 - 2 * pi) + draw(st.integers(0, 6))
        for ki, pi, di in zip(k, p, d)
    )
    lead = draw(st.sampled_from([(), (1,), (2,)]))
    rng = seeded_rng(draw)
    x = rng.standard_normal((*lead, draw(st.integers(1, 3)), *size))  # continuous: no ties
    kwargs = dict(kernel_size=as_arg(draw, k), padding=as_arg(draw, p))
    if draw(st.booleans()):
        kwargs["stride"] = as_arg(draw, tuple(draw(st.integers(1, 3)) for _ in range(2)))
    if with_dilation and draw(st.booleans()):  # else dilation 1, for which size is valid too
        kwargs["dilation"] = as_arg(draw, d)
    return x, kwargs


@PROPERTY
@given(pool_cases(with_dilation=True))
def test_max_pool2d_matches_torch(case):
    x, kwargs = case
    expected = F.max_pool2d(t(x), **kwargs).numpy()
    out = max_pool2d(x, **kwargs)
    assert out.shape == expected.shape and out.dtype == x.dtype
    np.testing.assert_array_equal(out, expected)


@PROPERTY
@given(pool_cases(with_dilation=False))
def test_avg_pool2d_matches_torch(case):
    x, kwargs = case
    expected = F.avg_pool2d(t(x), **kwargs).numpy()
    out = avg_pool2d(x, **kwargs)
    assert out.shape == expected.shape and out.dtype == x.dtype
    np.testing.assert_allclose(out, expected, **TOL)


def test_max_pool2d_integer_input_with_padding_matches_torch():
    x = -np.arange(2 * 5 * 5, dtype=np.int64).reshape(2, 5, 5)  # all <= 0: padding must lose
    out = max_pool2d(x, 3, stride=2, padding=1)
    np.testing.assert_array_equal(out, F.max_pool2d(t(x), 3, stride=2, padding=1).numpy())
    assert out.dtype == np.int64


def test_avg_pool2d_counts_padding_and_gives_float_for_int_input():
    x = np.ones((1, 1, 2, 2), dtype=np.int64)
    out = avg_pool2d(x, 2, stride=1, padding=1)
    expected = F.avg_pool2d(t(x).double(), 2, stride=1, padding=1).numpy()
    np.testing.assert_allclose(out, expected, **TOL)  # corners: 1 of 4 taps are real
    assert out.dtype == np.float64 and out[0, 0, 0, 0] == 0.25


@PROPERTY
@given(
    st.sampled_from([(3, 4), (2, 3, 4), (1, 2, 3, 4)]),
    st.one_of(st.integers(0, 3), st.tuples(st.integers(0, 3), st.integers(0, 3))),
    st.sampled_from([0.0, -1.5, 7]),
)
def test_pad2d_matches_torch_pad(shape, padding, value):
    x = np.random.default_rng(0).standard_normal(shape)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    expected = F.pad(t(x), (pw, pw, ph, ph), value=value).numpy()
    out = pad2d(x, padding, value)
    assert out.shape == expected.shape and out.dtype == x.dtype
    np.testing.assert_array_equal(out, expected)


# ---------------------------------------------------------------------------------------
# Worked examples from the lecture notes (published numbers are the oracle)
# ---------------------------------------------------------------------------------------


def test_seed_example_conv1d_of_1234_with_32():
    out = conv1d(np.array([[[1, 2, 3, 4]]]), np.array([[[3, 2]]]))
    np.testing.assert_array_equal(out, [[[7, 12, 17]]])


def test_seed_example_difference_operator():
    x = np.array([[0, 0, 0, 0, 1, 2, 3, 4, 4, 4, 4]])  # (C_in=1, L=11), unbatched
    out = conv1d(x, np.array([[[-1, 1]]]))
    np.testing.assert_array_equal(out, [[0, 0, 0, 1, 1, 1, 1, 0, 0, 0]])


def test_seed_example_dilated_conv2d_shape():
    x = np.random.default_rng(0).standard_normal((1, 1, 20, 30))
    w = np.random.default_rng(1).standard_normal((1, 1, 3, 3))
    out = conv2d(x, w, dilation=4)
    assert out.shape == (1, 1, 12, 22)
    np.testing.assert_allclose(out, F.conv2d(t(x), t(w), dilation=4).numpy(), **TOL)


def test_seed_example_conv2d_layer_shape():
    x = np.zeros((117, 4, 10, 3))
    assert conv2d(x, np.zeros((5, 4, 2, 3)), np.zeros(5)).shape == (117, 5, 9, 1)


def test_seed_example_max_pool_1x2():
    x = np.array(
        [[[[0, 2, 2, 0, 0, 2], [2, 2, 0, 1, 0, 2]], [[2, 1, 1, 0, 1, 2], [2, 2, 2, 1, 1, 0]]]],
        dtype=float,
    )
    expected = [[[[2, 2, 2], [2, 1, 2]], [[2, 1, 2], [2, 2, 1]]]]
    np.testing.assert_array_equal(max_pool2d(x, (1, 2)), expected)


def test_backward_worked_example_kernel_gradient_1d():
    # loss = sum of conv1d((1,2,3,4), (w1, w2)) = w1*(1+2+3) + w2*(2+3+4)
    _, grad_weight, grad_bias = conv1d_backward(
        np.ones((1, 3)), np.array([[1.0, 2, 3, 4]]), np.array([[[3.0, 2]]])
    )
    np.testing.assert_array_equal(grad_weight, [[[6.0, 9.0]]])
    np.testing.assert_array_equal(grad_bias, [3.0])


# ---------------------------------------------------------------------------------------
# Bad input: error type and the argument's name in the message
# ---------------------------------------------------------------------------------------

X1, W1 = np.ones((2, 4, 8)), np.ones((6, 2, 3))  # (N, C_in, L), (C_out, C_in/2, k)
X2, W2 = np.ones((2, 4, 8, 8)), np.ones((6, 2, 3, 3))
G1, G2 = np.ones((2, 6, 6)), np.ones((2, 6, 6, 6))  # grad_output for groups=2


def call_conv(func, dims, **changes):
    """Call a conv function with valid arguments (groups=2) except for ``changes``."""
    x, w = (X1, W1) if dims == 1 else (X2, W2)
    args = dict(input=x, weight=w, groups=2)
    if func in (conv1d_backward, conv2d_backward):
        args["grad_output"] = G1 if dims == 1 else G2
    args.update(changes)
    return func(**args)


CONVS = [(conv1d, 1), (conv2d, 2), (conv1d_backward, 1), (conv2d_backward, 2)]
BAD_CONV_ARGS = [
    (TypeError, "input", dict(input=[[1.0, 2.0]])),
    (TypeError, "input", dict(input=torch.ones(2, 4, 8))),
    (TypeError, "input", "bool input"),
    (ValueError, "input", dict(input=np.ones(8))),
    (TypeError, "weight", dict(weight=[1.0])),
    (ValueError, "weight", dict(weight=np.ones((6, 2)))),
    (ValueError, "groups", dict(groups=3)),
    (ValueError, "groups", dict(groups=0)),
    (TypeError, "groups", dict(groups=2.0)),
    (ValueError, "stride", dict(stride=0)),
    (ValueError, "stride", dict(stride=(1, 1, 1))),
    (TypeError, "stride", dict(stride=True)),
    (TypeError, "stride", dict(stride=1.0)),
    (ValueError, "padding", dict(padding=-1)),
    (ValueError, "dilation", dict(dilation=0)),
    (ValueError, "weight", dict(dilation=5)),  # the dilated kernel no longer fits
]


@pytest.mark.parametrize("func,dims", CONVS, ids=lambda v: getattr(v, "__name__", str(v)))
@pytest.mark.parametrize("error,name,changes", BAD_CONV_ARGS)
def test_conv_bad_input(func, dims, error, name, changes):
    if changes == "bool input":
        changes = dict(input=(X1 if dims == 1 else X2).astype(bool))
    with pytest.raises(error, match=name):
        call_conv(func, dims, **changes)


@pytest.mark.parametrize("func,dims", CONVS, ids=lambda v: getattr(v, "__name__", str(v)))
def test_conv_channel_mismatch_names_both_arrays_and_shapes(func, dims):
    x = np.ones((2, 5) + (8,) * dims)
    w = W1 if dims == 1 else W2
    with pytest.raises(ValueError, match="weight") as info:
        call_conv(func, dims, input=x, groups=1)
    message = str(info.value)
    assert "input" in message and str(x.shape) in message and str(w.shape) in message


@pytest.mark.parametrize("func,dims", [(conv1d, 1), (conv2d, 2)])
def test_conv_bad_bias(func, dims):
    with pytest.raises(ValueError, match="bias"):
        call_conv(func, dims, bias=np.ones(5))
    with pytest.raises(ValueError, match="bias"):
        call_conv(func, dims, bias=np.ones((6, 1)))
    with pytest.raises(TypeError, match="bias"):
        call_conv(func, dims, bias=[0.0] * 6)


@pytest.mark.parametrize("func,dims", [(conv1d_backward, 1), (conv2d_backward, 2)])
def test_conv_backward_bad_grad_output(func, dims):
    good = G1 if dims == 1 else G2
    with pytest.raises(ValueError, match=r"grad_output.*\(2, 6, 6") as info:
        call_conv(func, dims, grad_output=good[..., :-1])
    assert str(good.shape) in str(info.value)  # says which shape was expected
    with pytest.raises(ValueError, match="grad_output"):
        call_conv(func, dims, grad_output=good[0])  # unbatched gradient for a batched input
    with pytest.raises(TypeError, match="grad_output"):
        call_conv(func, dims, grad_output=good.tolist())


X_POOL = np.ones((1, 2, 6, 6))
BAD_POOL_ARGS = [
    (TypeError, "input", dict(input=X_POOL.tolist())),
    (ValueError, "input", dict(input=np.ones((6, 6)))),
    (TypeError, "input", dict(input=X_POOL.astype(bool))),
    (ValueError, "kernel_size", dict(kernel_size=0)),
    (ValueError, "kernel_size", dict(kernel_size=(2, 2, 2))),
    (TypeError, "kernel_size", dict(kernel_size=2.0)),
    (ValueError, "kernel_size", dict(kernel_size=8)),  # bigger than the input
    (ValueError, "stride", dict(stride=0)),
    (ValueError, "padding", dict(padding=-1)),
    (ValueError, "padding", dict(padding=2)),  # more than half the kernel
]


@pytest.mark.parametrize("func", [max_pool2d, avg_pool2d])
@pytest.mark.parametrize("error,name,changes", BAD_POOL_ARGS)
def test_pool_bad_input(func, error, name, changes):
    args = dict(input=X_POOL, kernel_size=2)
    args.update(changes)
    with pytest.raises(error, match=name):
        func(**args)


def test_max_pool2d_bad_dilation_and_complex_input():
    with pytest.raises(ValueError, match="dilation"):
        max_pool2d(X_POOL, 2, dilation=0)
    with pytest.raises(TypeError, match="input"):
        max_pool2d(X_POOL.astype(complex), 2)


@pytest.mark.parametrize(
    "error,name,kwargs",
    [
        (TypeError, "input", dict(input=[[0.0]])),
        (ValueError, "input", dict(input=np.ones(3))),
        (ValueError, "padding", dict(padding=-1)),
        (ValueError, "padding", dict(padding=(1, 1, 1))),
        (TypeError, "value", dict(value="zero")),
        (TypeError, "value", dict(value=True)),
        (ValueError, "value", dict(input=np.ones((2, 2), dtype=int), value=-np.inf)),
        (ValueError, "value", dict(input=np.ones((2, 2), dtype=int), value=0.5)),
    ],
)
def test_pad2d_bad_input(error, name, kwargs):
    args = dict(input=np.ones((2, 2)), padding=1)
    args.update(kwargs)
    with pytest.raises(error, match=name):
        pad2d(**args)
