"""Tests of lecturepkg.conv.depthwise against torch (F.conv2d with groups, float64)."""

from __future__ import annotations


import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import seeded_rng, t
from lecturepkg.conv.depthwise import (
    depthwise_conv2d,
    depthwise_separable_conv2d,
    pointwise_conv2d,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PROPERTY = settings(max_examples=50, deadline=None)
TOL = dict(rtol=1e-10, atol=1e-10)


@st.composite
def depthwise_cases(draw):
    c, m, d_out = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 4))
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    size = tuple(
        max(1, di * (ki - 1) + 1 - 2 * pi) + draw(st.integers(0, 5))
        for ki, pi, di in zip(k, p, dil)
    )
    lead = draw(st.sampled_from([(), (1,), (3,)]))
    rng = seeded_rng(draw)
    x = rng.standard_normal((*lead, c, *size))
    dw = rng.standard_normal((c * m, 1, *k))
    pw = rng.standard_normal((d_out, c * m, 1, 1))
    db = rng.standard_normal(c * m) if draw(st.booleans()) else None
    pb = rng.standard_normal(d_out) if draw(st.booleans()) else None
    hyper = dict(stride=s, padding=p, dilation=dil)
    if len(set(s)) == 1 and draw(st.booleans()):
        hyper["stride"] = s[0]  # ints work too
    return x, dw, pw, db, pb, hyper


@PROPERTY
@given(depthwise_cases())
def test_depthwise_conv2d_is_conv2d_with_groups_equal_channels(case):
    x, dw, _, db, _, hyper = case
    c = x.shape[-3]
    expected = F.conv2d(t(x), t(dw), t(db), groups=c, **hyper).numpy()
    out = depthwise_conv2d(x, dw, db, **hyper)
    assert out.shape == expected.shape and out.dtype == np.float64
    np.testing.assert_allclose(out, expected, **TOL)


@PROPERTY
@given(depthwise_cases())
def test_pointwise_conv2d_is_a_1x1_conv2d(case):
    x, _, pw, _, pb, _ = case
    pw = pw[:, : x.shape[-3]]  # (D, C, 1, 1)
    expected = F.conv2d(t(x), t(np.ascontiguousarray(pw)), t(pb)).numpy()
    out = pointwise_conv2d(x, pw, pb)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, **TOL)


@PROPERTY
@given(depthwise_cases())
def test_depthwise_separable_is_depthwise_then_pointwise_in_torch(case):
    x, dw, pw, db, pb, hyper = case
    c = x.shape[-3]
    hidden = F.conv2d(t(x), t(dw), t(db), groups=c, **hyper)
    expected = F.conv2d(hidden, t(pw), t(pb)).numpy()
    out = depthwise_separable_conv2d(x, dw, pw, db, pb, **hyper)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, **TOL)


def test_depthwise_never_mixes_channels_and_pointwise_never_mixes_pixels():
    rng = np.random.default_rng(0)
    x, dw = rng.standard_normal((1, 3, 6, 6)), rng.standard_normal((6, 1, 3, 3))  # m = 2
    base = depthwise_conv2d(x, dw, padding=1)
    bumped = x.copy()
    bumped[0, 1] += 1.0  # change input channel 1 only
    changed = np.abs(depthwise_conv2d(bumped, dw, padding=1) - base).max(axis=(2, 3))[0]
    np.testing.assert_array_equal(changed > 0, [False, False, True, True, False, False])
    pw = rng.standard_normal((4, 3, 1, 1))
    bumped = x.copy()
    bumped[0, :, 2, 4] += 1.0  # change one pixel (all its channels)
    diff = np.abs(pointwise_conv2d(bumped, pw) - pointwise_conv2d(x, pw)).max(axis=1)[0]
    assert set(zip(*np.nonzero(diff))) == {(2, 4)}


def test_separable_has_fewer_weights_and_same_output_shape_as_a_full_conv():
    # 3x3, 32 -> 64 channels: 3*3*32 + 32*64 = 2336 weights instead of 64*32*3*3 = 18432
    dw, pw = np.ones((32, 1, 3, 3)), np.ones((64, 32, 1, 1))
    full = np.ones((64, 32, 3, 3))
    assert dw.size + pw.size == 2336 and full.size == 18432
    x = np.random.default_rng(1).standard_normal((32, 9, 9))
    out = depthwise_separable_conv2d(x, dw, pw, padding=1)
    assert out.shape == F.conv2d(t(x), t(full), padding=1).shape == (64, 9, 9)


def test_float32_and_integer_dtypes():
    x = np.ones((2, 5, 5), dtype=np.float32)
    assert depthwise_conv2d(x, np.ones((2, 1, 3, 3), np.float32)).dtype == np.float32
    assert pointwise_conv2d(x, np.ones((3, 2, 1, 1), np.float32)).dtype == np.float32
    xi = np.arange(50).reshape(2, 5, 5)
    out = depthwise_conv2d(xi, np.ones((2, 1, 2, 2), dtype=int), np.array([1, 2]))
    assert out.dtype == xi.dtype
    expected = F.conv2d(t(xi).double(), torch.ones(2, 1, 2, 2, dtype=torch.float64),
                        torch.tensor([1.0, 2.0], dtype=torch.float64), groups=2)
    np.testing.assert_array_equal(out, expected.numpy())


# ---------------------------------------------------------------------------------------
# Bad input: error type and the argument's name in the message
# ---------------------------------------------------------------------------------------

X = np.ones((2, 3, 6, 6))
DW, PW = np.ones((6, 1, 3, 3)), np.ones((4, 6, 1, 1))

COMMON_BAD = [
    (TypeError, "input", dict(input=X.tolist())),
    (TypeError, "input", dict(input=torch.ones(2, 3, 6, 6))),
    (ValueError, "input", dict(input=np.ones((6, 6)))),
    (TypeError, "input", dict(input=X.astype(bool))),
]
SPATIAL_BAD = [
    (ValueError, "stride", dict(stride=0)),
    (ValueError, "stride", dict(stride=(1, 1, 1))),
    (ValueError, "padding", dict(padding=-1)),
    (ValueError, "dilation", dict(dilation=0)),
    (ValueError, "kernel_size", dict(dilation=4)),  # the dilated kernel does not fit
]


@pytest.mark.parametrize(
    "error,name,changes",
    COMMON_BAD
    + SPATIAL_BAD
    + [
        (TypeError, "weight", dict(weight=DW.tolist())),
        (ValueError, "weight", dict(weight=np.ones((6, 3, 3, 3)))),  # not one channel each
        (ValueError, "weight", dict(weight=np.ones((4, 1, 3, 3)))),  # 4 not a multiple of 3
        (ValueError, "weight", dict(weight=np.ones((6, 1, 7, 3)))),  # larger than the input
        (ValueError, "bias", dict(bias=np.ones(3))),
        (TypeError, "bias", dict(bias=[0.0] * 6)),
    ],
)
def test_depthwise_conv2d_bad_input(error, name, changes):
    args = dict(input=X, weight=DW)
    args.update(changes)
    with pytest.raises(error, match=name):
        depthwise_conv2d(**args)


@pytest.mark.parametrize(
    "error,name,changes",
    COMMON_BAD
    + [
        (TypeError, "weight", dict(weight=np.ones((4, 3)).tolist())),
        (ValueError, "weight", dict(weight=np.ones((4, 3)))),
        (ValueError, "weight", dict(weight=np.ones((4, 3, 3, 3)))),  # not 1x1
        (ValueError, "weight", dict(weight=np.ones((4, 2, 1, 1)))),  # wrong channels
        (ValueError, "bias", dict(bias=np.ones(3))),
    ],
)
def test_pointwise_conv2d_bad_input(error, name, changes):
    args = dict(input=X, weight=np.ones((4, 3, 1, 1)))
    args.update(changes)
    with pytest.raises(error, match=name):
        pointwise_conv2d(**args)


@pytest.mark.parametrize(
    "error,name,changes",
    COMMON_BAD
    + SPATIAL_BAD
    + [
        (ValueError, "depthwise_weight", dict(depthwise_weight=np.ones((6, 2, 3, 3)))),
        (ValueError, "depthwise_weight", dict(depthwise_weight=np.ones((6, 1, 7, 7)))),
        (ValueError, "pointwise_weight", dict(pointwise_weight=np.ones((4, 3, 1, 1)))),
        (ValueError, "depthwise_bias", dict(depthwise_bias=np.ones(3))),
        (ValueError, "pointwise_bias", dict(pointwise_bias=np.ones(6))),
    ],
)
def test_depthwise_separable_conv2d_bad_input(error, name, changes):
    args = dict(input=X, depthwise_weight=DW, pointwise_weight=PW)
    args.update(changes)
    with pytest.raises(error, match=name):
        depthwise_separable_conv2d(**args)
