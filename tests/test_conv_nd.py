"""Tests of lecturepkg.conv.nd (N-d loop convolution and its backward pass) against torch
(F.conv1d/2d/3d and autograd, float64)."""

from __future__ import annotations


import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings

from helpers import conv_cases, t
from lecturepkg.conv.nd import conv3d, conv3d_backward, convnd, convnd_backward

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PROPERTY = settings(max_examples=50, deadline=None)
TOL = dict(rtol=1e-10, atol=1e-10)
TORCH_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


# ---------------------------------------------------------------------------------------
# Forward and backward against torch, 1D, 2D and 3D
# ---------------------------------------------------------------------------------------


@PROPERTY
@given(conv_cases())
def test_convnd_matches_torch(case):
    dims, x, w, b, hyper, _ = case
    expected = TORCH_CONV[dims](t(x), t(w), None if b is None else t(b), **hyper).numpy()
    out = convnd(x, w, b, **hyper)
    assert out.shape == expected.shape and out.dtype == np.float64
    np.testing.assert_allclose(out, expected, **TOL)


@PROPERTY
@given(conv_cases(dims=3))
def test_conv3d_matches_torch(case):
    _, x, w, b, hyper, _ = case
    expected = F.conv3d(t(x), t(w), None if b is None else t(b), **hyper).numpy()
    np.testing.assert_allclose(conv3d(x, w, b, **hyper), expected, **TOL)


def autograd_reference(dims, x, w, hyper, rng):
    xt, wt = t(x).requires_grad_(), t(w).requires_grad_()
    bt = torch.zeros(w.shape[0], dtype=torch.float64, requires_grad=True)
    out = TORCH_CONV[dims](xt, wt, bt, **hyper)
    grad_output = rng.standard_normal(tuple(out.shape))
    (out * t(grad_output)).sum().backward()  # dL/d out = grad_output
    return grad_output, xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


@PROPERTY
@given(conv_cases())
def test_convnd_backward_matches_autograd(case):
    dims, x, w, _, hyper, rng = case
    grad_output, gx, gw, gb = autograd_reference(dims, x, w, hyper, rng)
    grad_input, grad_weight, grad_bias = convnd_backward(grad_output, x, w, **hyper)
    assert grad_input.shape == x.shape and grad_weight.shape == w.shape
    np.testing.assert_allclose(grad_input, gx, **TOL)
    np.testing.assert_allclose(grad_weight, gw, **TOL)
    np.testing.assert_allclose(grad_bias, gb, **TOL)


@settings(max_examples=25, deadline=None)
@given(conv_cases(dims=3))
def test_conv3d_backward_matches_autograd(case):
    _, x, w, _, hyper, rng = case
    grad_output, gx, gw, gb = autograd_reference(3, x, w, hyper, rng)
    grad_input, grad_weight, grad_bias = conv3d_backward(grad_output, x, w, **hyper)
    np.testing.assert_allclose(grad_input, gx, **TOL)
    np.testing.assert_allclose(grad_weight, gw, **TOL)
    np.testing.assert_allclose(grad_bias, gb, **TOL)


def test_convnd_four_spatial_axes_is_a_sum_of_conv3d_slices():
    """No torch conv4d exists: along the first axis, a 4D convolution is a sum of 3D
    convolutions of input slices with kernel slices, computed here with F.conv3d."""
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((2, 4, 5, 4, 5, 3)), rng.standard_normal((2, 2, 2, 2, 1, 2))
    s, p, d, groups = (2, 1, 1, 2), (1, 0, 1, 0), (2, 1, 1, 1), 2
    out = convnd(x, w, None, stride=s, padding=p, dilation=d, groups=groups)
    xp = np.pad(x, [(0, 0), (0, 0), (p[0], p[0]), (0, 0), (0, 0), (0, 0)])  # pad axis 0 here
    n_out = (xp.shape[2] - d[0] * (w.shape[2] - 1) - 1) // s[0] + 1
    assert out.shape[:3] == (2, 2, n_out)
    for i in range(n_out):
        expected = sum(
            F.conv3d(
                t(np.ascontiguousarray(xp[:, :, i * s[0] + u * d[0]])),
                t(np.ascontiguousarray(w[:, :, u])),
                stride=s[1:], padding=p[1:], dilation=d[1:], groups=groups,
            ).numpy()
            for u in range(w.shape[2])
        )
        np.testing.assert_allclose(out[:, :, i], expected, **TOL)


def test_convnd_agrees_with_chapter_1_loops():
    from lecturepkg.conv.functional import conv1d, conv2d

    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((6, 2, 3, 2))
    hyper = dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)
    np.testing.assert_allclose(convnd(x, w, None, **hyper), conv2d(x, w, None, **hyper), **TOL)
    hyper1 = {key: value[0] if key != "groups" else value for key, value in hyper.items()}
    np.testing.assert_allclose(
        convnd(x[..., 0], w[..., 0], **hyper1), conv1d(x[..., 0], w[..., 0], **hyper1), **TOL
    )


def test_conv3d_positional_arguments_and_integer_dtype():
    x = np.arange(2 * 4 * 4 * 4).reshape(2, 4, 4, 4)  # unbatched, int64
    w = np.ones((2, 1, 2, 2, 2), dtype=np.int64)
    out = conv3d(x, w, np.array([1, -1]), 2, 1, 1, 2)  # bias, stride, padding, dilation, groups
    bias = torch.tensor([1.0, -1.0], dtype=torch.float64)
    expected = F.conv3d(t(x).double(), t(w).double(), bias, 2, 1, 1, 2)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, expected.numpy())


# ---------------------------------------------------------------------------------------
# Bad input: error type and the argument's name in the message
# ---------------------------------------------------------------------------------------

X3, W3 = np.ones((2, 4, 5, 5, 5)), np.ones((6, 2, 3, 3, 3))  # groups=2
G3 = np.ones((2, 6, 3, 3, 3))  # grad_output
FUNCS = [convnd, conv3d, convnd_backward, conv3d_backward]


def call(func, **changes):
    args = dict(input=X3, weight=W3, groups=2)
    if func in (convnd_backward, conv3d_backward):
        args["grad_output"] = G3
    args.update(changes)
    return func(**args)


BAD_ARGS = [
    (TypeError, "input", dict(input=X3.tolist())),
    (TypeError, "input", dict(input=torch.ones(2, 4, 5, 5, 5))),
    (TypeError, "input", dict(input=X3.astype(bool))),
    (ValueError, "input", dict(input=np.ones((4, 5, 5)))),  # 2D input, 3D kernel
    (TypeError, "weight", dict(weight=W3.tolist())),
    (ValueError, "weight", dict(weight=np.ones((6, 2)))),
    (ValueError, "groups", dict(groups=3)),  # does not divide the channels
    (ValueError, "groups", dict(groups=0)),
    (TypeError, "groups", dict(groups=2.0)),
    (ValueError, "stride", dict(stride=0)),
    (ValueError, "stride", dict(stride=(1, 1))),
    (TypeError, "stride", dict(stride=True)),
    (ValueError, "padding", dict(padding=-1)),
    (ValueError, "padding", dict(padding=(0, -1, 0))),
    (ValueError, "dilation", dict(dilation=0)),
    (ValueError, "kernel_size", dict(dilation=3)),  # the dilated kernel no longer fits
    (ValueError, "weight", dict(weight=np.ones((6, 2, 7, 3, 3)))),  # kernel > input
    (ValueError, "weight", dict(input=np.ones((2, 5, 5, 5, 5)), groups=1)),  # channels
]


@pytest.mark.parametrize("func", FUNCS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("error,name,changes", BAD_ARGS)
def test_bad_input(func, error, name, changes):
    with pytest.raises(error, match=name):
        call(func, **changes)


@pytest.mark.parametrize("func", [conv3d, conv3d_backward], ids=lambda f: f.__name__)
def test_conv3d_wants_three_spatial_axes(func):
    changes = dict(input=np.ones((2, 4, 5, 5)), weight=np.ones((6, 2, 3, 3)))
    if func is conv3d_backward:
        changes["grad_output"] = G3[..., 0]
    with pytest.raises(ValueError, match="weight must be 5-D"):
        call(func, **changes)


def test_bad_bias():
    with pytest.raises(ValueError, match="bias"):
        call(convnd, bias=np.ones(5))
    with pytest.raises(TypeError, match="bias"):
        call(convnd, bias=[0.0] * 6)


@pytest.mark.parametrize("func", [convnd_backward, conv3d_backward], ids=lambda f: f.__name__)
def test_bad_grad_output(func):
    with pytest.raises(ValueError, match=r"grad_output.*\(2, 6, 3, 3, 3\)"):
        call(func, grad_output=G3[..., :-1])
    with pytest.raises(TypeError, match="grad_output"):
        call(func, grad_output=G3.tolist())
