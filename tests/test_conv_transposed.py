"""Tests of lecturepkg.conv.transposed against torch (conv_transpose1d/2d/3d, conv autograd)."""

from __future__ import annotations


import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import as_arg, conv_cases, seeded_rng, t
from lecturepkg.conv.arithmetic import conv_output_size
from lecturepkg.conv.functional import conv2d
from lecturepkg.conv.transposed import (
    conv_matrix,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
    conv_transpose_via_conv,
    conv_transpose_via_matrix,
)

PROPERTY = settings(max_examples=40, deadline=None)
TOL = dict(rtol=1e-10, atol=1e-10)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

OURS = {1: conv_transpose1d, 2: conv_transpose2d, 3: conv_transpose3d}
TORCH_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
TORCH_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


@st.composite
def transpose_cases(draw, dims: int, batched=None):
    """A valid transposed convolution: random groups, channels, kernel, stride, padding
    (<= d(k-1)), output_padding (< max(stride, dilation)), dilation, and float64 arrays."""
    small = dims == 3
    groups = draw(st.integers(1, 2 if small else 3))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    k = tuple(draw(st.integers(1, 2 if small else 3)) for _ in range(dims))
    s = tuple(draw(st.integers(1, 2 if small else 3)) for _ in range(dims))
    d = tuple(draw(st.integers(1, 2 if small else 3)) for _ in range(dims))
    p = tuple(draw(st.integers(0, di * (ki - 1))) for ki, di in zip(k, d))
    op = tuple(draw(st.integers(0, max(si, di) - 1)) for si, di in zip(s, d))
    # the smallest input whose output is not empty, (i-1)s + d(k-1) + op + 1 - 2p >= 1, plus
    # a few
    size = tuple(
        1 + max(0, -(-(2 * pi - di * (ki - 1) - oi) // si))
        + draw(st.integers(0, 2 if small else 4))
        for ki, si, pi, oi, di in zip(k, s, p, op, d)
    )
    if batched is None:
        batched = draw(st.booleans())
    lead = (draw(st.integers(1, 2)),) if batched else ()
    rng = seeded_rng(draw)
    x = rng.standard_normal((*lead, c_in, *size))
    w = rng.standard_normal((c_in, c_out // groups, *k))
    b = rng.standard_normal(c_out) if draw(st.booleans()) else None
    hyper = dict(
        stride=as_arg(draw, s), padding=as_arg(draw, p), output_padding=as_arg(draw, op),
        groups=groups, dilation=as_arg(draw, d),
    )
    return x, w, b, hyper


def torch_transpose(x, w, b, hyper):
    dims = w.ndim - 2
    return TORCH_T[dims](t(x), t(w), None if b is None else t(b), **hyper).numpy()


# ---------------------------------------------------------------------------------------
# The three ways against torch, and against each other
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("dims", [1, 2, 3])
@PROPERTY
@given(data=st.data())
def test_conv_transpose_matches_torch(dims, data):
    x, w, b, hyper = data.draw(transpose_cases(dims))
    expected = torch_transpose(x, w, b, hyper)
    out = OURS[dims](x, w, b, **hyper)
    assert out.shape == expected.shape and out.dtype == np.float64
    np.testing.assert_allclose(out, expected, **TOL)


@pytest.mark.parametrize("dims", [1, 2, 3])
@PROPERTY
@given(data=st.data())
def test_conv_transpose_via_conv_matches_torch(dims, data):
    x, w, b, hyper = data.draw(transpose_cases(dims))
    expected = torch_transpose(x, w, b, hyper)
    out = conv_transpose_via_conv(x, w, b, **hyper)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, **TOL)


@pytest.mark.parametrize("dims", [1, 2, 3])
@PROPERTY
@given(data=st.data())
def test_conv_transpose_via_matrix_matches_torch(dims, data):
    x, w, b, hyper = data.draw(transpose_cases(dims, batched=False))
    expected = torch_transpose(x, w, b, hyper)
    out = conv_transpose_via_matrix(x, w, b, **hyper)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, **TOL)


@PROPERTY
@given(transpose_cases(2, batched=False))
def test_three_ways_agree_with_each_other(case):
    x, w, _, hyper = case
    overlap_add = conv_transpose2d(x, w, **hyper)
    np.testing.assert_allclose(conv_transpose_via_conv(x, w, **hyper), overlap_add, **TOL)
    np.testing.assert_allclose(conv_transpose_via_matrix(x, w, **hyper), overlap_add, **TOL)


def test_positional_arguments_follow_torch_order():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 4, 3, 4)), rng.standard_normal((4, 3, 3, 2)), np.ones(6)
    args = ((2, 1), (1, 0), (1, 0), 2, (1, 2))  # stride, padding, output_padding, groups, dilation
    expected = F.conv_transpose2d(t(x), t(w), t(b), *args).numpy()
    np.testing.assert_allclose(conv_transpose2d(x, w, b, *args), expected, **TOL)
    # the matrix and the direct-convolution versions take the same positional order
    np.testing.assert_allclose(conv_transpose_via_conv(x, w, b, *args), expected, **TOL)
    np.testing.assert_allclose(conv_transpose_via_matrix(x[0], w, b, *args), expected[0], **TOL)
    x1, w1 = x[..., 0], w[..., 0]
    expected1 = F.conv_transpose1d(t(x1), t(w1), t(b), 2, 1, 1, 2, 1).numpy()
    np.testing.assert_allclose(conv_transpose1d(x1, w1, b, 2, 1, 1, 2, 1), expected1, **TOL)
    x3, w3 = x[..., np.newaxis], w[..., np.newaxis]
    args3 = ((2, 1, 1), (1, 0, 0), (1, 0, 0), 2, (1, 2, 1))
    expected3 = F.conv_transpose3d(t(x3), t(w3), t(b), *args3).numpy()
    np.testing.assert_allclose(conv_transpose3d(x3, w3, b, *args3), expected3, **TOL)


def test_padding_beyond_the_kernel_span_crops_the_input_side():
    """torch allows padding > d(k-1) as long as the output is not empty; the direct
    convolution then needs negative padding, i.e. cropping."""
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((1, 2, 7, 6)), rng.standard_normal((2, 1, 2, 2))
    hyper = dict(stride=2, padding=(3, 2), output_padding=1)
    expected = F.conv_transpose2d(t(x), t(w), **hyper).numpy()
    for out in (conv_transpose2d(x, w, **hyper), conv_transpose_via_conv(x, w, **hyper),
                conv_transpose_via_matrix(x[0], w, **hyper)[np.newaxis]):
        np.testing.assert_allclose(out, expected, **TOL)


def test_integer_input_gives_integer_output():
    x, w = np.array([[1, 10]]), np.array([[[1, 2, 3]]])
    out = conv_transpose1d(x, w, stride=2)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, F.conv_transpose1d(t(x), t(w), stride=2).numpy())


# ---------------------------------------------------------------------------------------
# The matrix view and the adjoint ("transposed") property
# ---------------------------------------------------------------------------------------


def forward_cases(dims: int):
    """A valid forward convolution (unbatched, no bias), with the weight in conv layout."""
    small = dims == 3
    return conv_cases(dims, batched=False, bias=False, max_groups=2,
                      max_hyper=2 if small else 3, extra={1: 5, 2: 5, 3: 2}, plain_hyper=True)


@pytest.mark.parametrize("dims", [1, 2, 3])
@PROPERTY
@given(data=st.data())
def test_conv_matrix_is_the_jacobian_of_torch_conv(dims, data):
    _, x, w, _, hyper, _ = data.draw(forward_cases(dims))
    conv = lambda a: TORCH_CONV[dims](a[None], t(w), **hyper)[0]  # noqa: E731
    out = conv(t(x))
    jacobian = torch.autograd.functional.jacobian(conv, t(x)).reshape(out.numel(), x.size)
    K = conv_matrix(x.shape[1:], w, **hyper)
    assert K.shape == (out.numel(), x.size)
    np.testing.assert_array_equal(K, jacobian.numpy())  # the weights, copied: exact
    np.testing.assert_allclose(K @ x.ravel(), out.numpy().ravel(), **TOL)


@pytest.mark.parametrize("dims", [1, 2, 3])
@PROPERTY
@given(data=st.data())
def test_conv_transpose_is_the_input_gradient_of_conv(dims, data):
    """<conv(x), y> == <x, conv_transpose(y)>, and conv_transpose(y) is what torch autograd
    returns as dL/dx for L = <conv(x), y>; output_padding restores the input size."""
    _, x, w, _, hyper, rng = data.draw(forward_cases(dims))
    xt = t(x[None]).requires_grad_()
    out = TORCH_CONV[dims](xt, t(w), **hyper)
    y = rng.standard_normal(tuple(out.shape))
    (out * t(y)).sum().backward()
    s, p, d = hyper["stride"], hyper["padding"], hyper["dilation"]
    op = tuple((i + 2 * pi - di * (ki - 1) - 1) % si  # the remainder the floor dropped
               for i, ki, si, pi, di in zip(x.shape[1:], w.shape[2:], s, p, d))
    back = OURS[dims](y, w, stride=s, padding=p, output_padding=op, groups=hyper["groups"],
                      dilation=d)
    assert back.shape == (1, *x.shape)
    np.testing.assert_allclose(back, xt.grad.numpy(), **TOL)
    np.testing.assert_allclose(np.vdot(out.detach().numpy(), y), np.vdot(x, back[0]), **TOL)


def test_adjoint_identity_with_chapter_one_conv2d():
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((3, 9, 8)), rng.standard_normal((4, 3, 3, 3))
    y = rng.standard_normal((4, 5, 4))  # conv2d(x, w, stride=2, padding=1) has shape (4, 5, 4)
    assert conv2d(x, w, stride=2, padding=1).shape == y.shape
    lhs = np.vdot(conv2d(x, w, stride=2, padding=1), y)
    rhs = np.vdot(x, conv_transpose2d(y, w, stride=2, padding=1, output_padding=(0, 1)))
    np.testing.assert_allclose(lhs, rhs, **TOL)


# ---------------------------------------------------------------------------------------
# Worked examples from the lecture notes
# ---------------------------------------------------------------------------------------


def test_seed_4x4_to_2x2_and_back_to_4x4():
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((1, 1, 4, 4)), rng.standard_normal((1, 1, 3, 3))
    down = conv2d(x, w)  # k=3, s=1, p=0
    assert down.shape == F.conv2d(t(x), t(w)).shape == (1, 1, 2, 2)
    up = conv_transpose2d(down, w)
    expected = F.conv_transpose2d(t(down), t(w)).numpy()
    assert up.shape == expected.shape == (1, 1, 4, 4)
    np.testing.assert_allclose(up, expected, **TOL)
    assert not np.allclose(up, x)  # the size comes back, not the values


def test_seed_transposed_conv_is_a_direct_conv_with_k3_s1_p2_on_the_flipped_kernel():
    rng = np.random.default_rng(4)
    y, w = rng.standard_normal((1, 1, 2, 2)), rng.standard_normal((1, 1, 3, 3))
    direct = F.conv2d(t(y), t(np.flip(w, axis=(2, 3))), stride=1, padding=2).numpy()
    assert direct.shape == (1, 1, 4, 4)
    np.testing.assert_allclose(conv_transpose2d(y, w), direct, **TOL)
    np.testing.assert_allclose(conv_transpose_via_conv(y, w), direct, **TOL)


def test_seed_matrix_example_6_to_4_to_6():
    w1, w2, w3 = 2, 3, 5  # distinct values stand for the symbols w_1, w_2, w_3
    weight = np.array([[[w1, w2, w3]]])
    K = conv_matrix(6, weight)  # kernel 3, stride 1, padding 0
    published_K = np.array([
        [w1, w2, w3, 0, 0, 0],
        [0, w1, w2, w3, 0, 0],
        [0, 0, w1, w2, w3, 0],
        [0, 0, 0, w1, w2, w3],
    ])
    np.testing.assert_array_equal(K, published_K)
    z = np.array([1, 10, 100, 1000, 10000, 100000])  # z_1 .. z_6
    z7_to_z10 = K @ z
    np.testing.assert_array_equal(z7_to_z10, F.conv1d(t(z[None, None]), t(weight))[0, 0])
    published_KT = np.array([
        [w1, 0, 0, 0],
        [w2, w1, 0, 0],
        [w3, w2, w1, 0],
        [0, w3, w2, w1],
        [0, 0, w3, w2],
        [0, 0, 0, w3],
    ])
    np.testing.assert_array_equal(K.T, published_KT)
    z7, z8, z9, z10 = z7_to_z10
    published_product = [w1 * z7, w2 * z7 + w1 * z8, w3 * z7 + w2 * z8 + w1 * z9,
                         w3 * z8 + w2 * z9 + w1 * z10, w3 * z9 + w2 * z10, w3 * z10]
    up = conv_transpose_via_matrix(z7_to_z10[None], weight)  # 4 -> 6
    np.testing.assert_array_equal(up[0], published_product)
    np.testing.assert_array_equal(conv_transpose1d(z7_to_z10[None], weight)[0], published_product)
    np.testing.assert_array_equal(
        up, F.conv_transpose1d(t(z7_to_z10[None, None]), t(weight))[0].numpy())
    # z_7 was computed from z_1, z_2, z_3 and only feeds z~_1, z~_2, z~_3
    np.testing.assert_array_equal(np.flatnonzero(K[0]), [0, 1, 2])
    np.testing.assert_array_equal(np.flatnonzero(K.T[:, 0]), [0, 1, 2])


def test_seed_stride_2_pad_1_example():
    """3x3 kernel, stride 2, padding 1: a 4x4 input gives 2x2 (so does a 3x3 one); going
    back from 2x2 gives 3x3, or 4x4 with output_padding=1."""
    rng = np.random.default_rng(5)
    w = rng.standard_normal((1, 1, 3, 3))
    assert conv_output_size((4, 4), 3, stride=2, padding=1) == (2, 2)
    assert conv_output_size((3, 3), 3, stride=2, padding=1) == (2, 2)
    y = rng.standard_normal((1, 1, 2, 2))
    for op, size in ((0, 3), (1, 4)):
        expected = F.conv_transpose2d(t(y), t(w), stride=2, padding=1, output_padding=op)
        out = conv_transpose2d(y, w, stride=2, padding=1, output_padding=op)
        assert out.shape == tuple(expected.shape) == (1, 1, size, size)
        np.testing.assert_allclose(out, expected.numpy(), **TOL)
    # "the filter is scaled by the input": a single 1 in the input paints the kernel itself
    one = np.zeros((1, 1, 2, 2))
    one[..., 1, 1] = 1.0
    painted = conv_transpose2d(one, w, stride=2, padding=1, output_padding=1)
    np.testing.assert_allclose(painted[..., 1:4, 1:4], w, **TOL)  # centred at (2, 2) = 1*s
    assert np.count_nonzero(painted) == 9


@pytest.mark.parametrize("k,s,even", [(3, 2, False), (4, 2, True), (5, 2, False),
                                      (3, 3, True), (6, 3, True), (4, 3, False)])
def test_checkerboard_overlap_unless_kernel_size_divisible_by_stride(k, s, even):
    """A constant input through a constant kernel: the output counts how many kernel copies
    overlap at each position. Away from the borders that count is constant iff s divides k."""
    x, w = np.ones((1, 1, 12)), np.ones((1, 1, k))
    out = conv_transpose1d(x, w, stride=s)
    np.testing.assert_allclose(out, F.conv_transpose1d(t(x), t(w), stride=s).numpy(), **TOL)
    interior = out[0, 0, k : -k]
    assert (np.ptp(interior) == 0) == even
    if even:
        assert interior[0] == k // s
    else:  # alternating counts floor(k/s) and ceil(k/s)
        assert set(interior.tolist()) == {k // s, k // s + 1}


# ---------------------------------------------------------------------------------------
# Bad input: error type and the argument's name in the message
# ---------------------------------------------------------------------------------------

X2, W2 = np.ones((2, 4, 3, 3)), np.ones((4, 3, 2, 2))  # groups=2: C_out = 6


def call(func, **changes):
    args = dict(input=X2, weight=W2, groups=2)
    if func is conv_transpose_via_matrix:
        args["input"] = X2[0]
    args.update(changes)
    return func(**args)


TRANSPOSES = [conv_transpose2d, conv_transpose_via_conv, conv_transpose_via_matrix]
BAD_ARGS = [
    (TypeError, "input", dict(input=[[[1.0]]])),
    (TypeError, "input", dict(input=torch.ones(4, 3, 3))),
    (TypeError, "input", dict(input=np.ones((4, 3, 3), dtype=bool))),
    (ValueError, "input", dict(input=np.ones(3))),
    (TypeError, "weight", dict(weight=W2.tolist())),
    (ValueError, "weight", dict(weight=np.ones((5, 3, 2, 2)))),  # C_in mismatch
    (ValueError, "groups", dict(groups=3)),
    (ValueError, "groups", dict(groups=0)),
    (TypeError, "groups", dict(groups=2.0)),
    (ValueError, "stride", dict(stride=0)),
    (ValueError, "stride", dict(stride=(1, 1, 1))),
    (TypeError, "stride", dict(stride=True)),
    (ValueError, "padding", dict(padding=-1)),
    (ValueError, r"padding \(dimension 0\): cropping", dict(padding=3)),  # empty output
    (ValueError, "output_padding", dict(output_padding=1)),  # not < stride 1 or dilation 1
    (ValueError, "output_padding", dict(stride=2, output_padding=(0, 2))),
    (TypeError, "output_padding", dict(output_padding=0.0)),
    (ValueError, "dilation", dict(dilation=0)),
]


@pytest.mark.parametrize("func", TRANSPOSES, ids=lambda f: f.__name__)
@pytest.mark.parametrize("error,name,changes", BAD_ARGS)
def test_conv_transpose_bad_input(func, error, name, changes):
    with pytest.raises(error, match=name):
        call(func, **changes)


def test_conv_transpose_bad_input_specific_to_one_function():
    with pytest.raises(ValueError, match="bias"):
        conv_transpose2d(X2, W2, np.ones(4), groups=2)  # C_out is 3 * 2 = 6
    with pytest.raises(TypeError, match="bias"):
        conv_transpose2d(X2, W2, [1.0] * 6, groups=2)
    with pytest.raises(ValueError, match="input"):
        conv_transpose_via_matrix(X2, W2, groups=2)  # batched: one sample only
    with pytest.raises(ValueError, match="weight"):
        conv_transpose_via_conv(np.ones((1, 2, 2, 2, 2)), np.ones((1, 1, 2, 2, 2, 2)))  # 4D
    with pytest.raises(ValueError, match="input"):
        conv_transpose3d(np.ones((1, 3, 3)), np.ones((1, 1, 2, 2, 2)))
    with pytest.raises(ValueError, match="weight") as info:
        conv_transpose1d(np.ones((2, 5)), np.ones((3, 1, 2)))
    assert "input" in str(info.value) and "(2, 5)" in str(info.value)


@pytest.mark.parametrize(
    "error,name,kwargs",
    [
        (TypeError, "weight", dict(weight=[[[1.0]]])),
        (ValueError, "weight", dict(weight=np.ones((2, 2)))),
        (ValueError, "input_size", dict(input_size=(6, 6))),  # 1D weight, 2D shape
        (ValueError, "input_size", dict(input_size=0)),
        (TypeError, "input_size", dict(input_size=6.0)),
        (ValueError, "weight", dict(input_size=2)),  # the kernel does not fit
        (ValueError, "stride", dict(stride=0)),
        (ValueError, "padding", dict(padding=-1)),
        (ValueError, "dilation", dict(dilation=0)),
        (ValueError, "groups", dict(groups=4)),
    ],
)
def test_conv_matrix_bad_input(error, name, kwargs):
    args = dict(input_size=6, weight=np.ones((2, 1, 3)))
    args.update(kwargs)
    with pytest.raises(error, match=name):
        conv_matrix(**args)
