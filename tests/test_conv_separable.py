"""Tests of lecturepkg.conv.separable against torch, scipy and the published Sobel factors."""

from __future__ import annotations


import numpy as np
import pytest
import scipy.signal
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from helpers import seeded_rng, t
from lecturepkg.conv.separable import (
    factorize_kernel,
    outer_kernel,
    rank1_approximation,
    separable_conv2d,
    separable_cost,
    sobel_kernels,
)

PROPERTY = settings(max_examples=40, deadline=None)
TOL = dict(rtol=1e-10, atol=1e-10)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@st.composite
def vectors(draw, low: int = 1, high: int = 5):
    """A random float64 vector of length low..high (seeded from hypothesis)."""
    rng = seeded_rng(draw)
    return rng.standard_normal(draw(st.integers(low, high)))


# ---------------------------------------------------------------------------------------
# Rank-1 kernels: outer product, factorization, best approximation
# ---------------------------------------------------------------------------------------


@PROPERTY
@given(vectors(), vectors())
def test_outer_kernel_is_torch_outer(column, row):
    kernel = outer_kernel(column, row)
    assert kernel.shape == (column.size, row.size)
    np.testing.assert_allclose(kernel, torch.outer(t(column), t(row)).numpy(), **TOL)
    assert np.linalg.matrix_rank(kernel) == 1


@PROPERTY
@given(vectors(), vectors(), st.floats(0.1, 10))
def test_factorize_kernel_recovers_a_rank_one_kernel(column, row, scale):
    kernel = np.multiply.outer(column * scale, row)  # built with numpy, not the code under test
    c, r = factorize_kernel(kernel)
    assert c.shape == column.shape and r.shape == row.shape
    np.testing.assert_allclose(np.multiply.outer(c, r), kernel, rtol=1e-10,
                               atol=1e-10 * np.abs(kernel).max())
    # the factors are the true ones up to a scale a and 1/a ...
    a = np.dot(c, column) / np.dot(column, column)
    np.testing.assert_allclose(c, a * column, rtol=1e-9, atol=1e-9 * np.abs(c).max())
    # ... with the documented convention: equal norms, first non-zero entry of c positive
    np.testing.assert_allclose(np.linalg.norm(c), np.linalg.norm(r), rtol=1e-10)
    assert c[np.flatnonzero(np.abs(c) > 1e-9 * np.abs(c).max())[0]] > 0


@PROPERTY
@given(st.integers(2, 5), st.integers(2, 5), st.integers(0, 2**32 - 1))
def test_factorize_kernel_refuses_rank_two_and_names_the_second_singular_value(kh, kw, seed):
    kernel = np.random.default_rng(seed).standard_normal((kh, kw))  # rank min(kh, kw) >= 2
    s = torch.linalg.svdvals(t(kernel)).numpy()
    with pytest.raises(ValueError, match="kernel") as info:
        factorize_kernel(kernel)
    assert "rank > 1" in str(info.value) and f"{s[1]:.6g}" in str(info.value)


@PROPERTY
@given(st.integers(1, 5), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_rank1_approximation_is_the_best_rank_one_kernel(kh, kw, seed):
    rng = np.random.default_rng(seed)
    kernel = rng.standard_normal((kh, kw))
    column, row, error = rank1_approximation(kernel)
    approx = np.multiply.outer(column, row)
    residual = np.linalg.norm(kernel - approx) / np.linalg.norm(kernel)
    np.testing.assert_allclose(error, residual, rtol=1e-9, atol=1e-12)
    s = torch.linalg.svdvals(t(kernel)).numpy()  # Eckart-Young: the other singular values
    np.testing.assert_allclose(error, np.sqrt(np.sum(s[1:] ** 2) / np.sum(s**2)),
                               rtol=1e-9, atol=1e-12)
    for _ in range(5):  # no nearby or random rank-1 kernel does better
        nearby = np.multiply.outer(column + 1e-3 * rng.standard_normal(kh),
                                   row + 1e-3 * rng.standard_normal(kw))
        other = np.multiply.outer(rng.standard_normal(kh), rng.standard_normal(kw))
        for candidate in (nearby, other):
            assert np.linalg.norm(kernel - candidate) >= np.linalg.norm(kernel - approx) - 1e-12


def test_rank1_approximation_of_separable_and_zero_kernels():
    gx, _ = sobel_kernels()
    column, row, error = rank1_approximation(gx)
    assert error < 1e-12
    np.testing.assert_allclose(np.multiply.outer(column, row), gx, **TOL)
    column, row, error = rank1_approximation(np.zeros((3, 2)))
    assert error == 0.0 and not column.any() and not row.any()
    c, r = factorize_kernel(np.zeros((2, 3)))  # rank 0 is separable too
    assert c.shape == (2,) and r.shape == (3,) and not c.any() and not r.any()


def test_factorize_kernel_tol_decides_what_counts_as_rank_one():
    kernel = np.diag([1.0, 1e-6])  # second singular value 1e-6
    with pytest.raises(ValueError, match="kernel"):
        factorize_kernel(kernel)
    column, row = factorize_kernel(kernel, tol=1e-5)
    np.testing.assert_allclose(np.multiply.outer(column, row), [[1, 0], [0, 0]], atol=1e-12)


# ---------------------------------------------------------------------------------------
# Two 1D passes equal one 2D convolution with the outer product
# ---------------------------------------------------------------------------------------


@st.composite
def separable_cases(draw):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = draw(st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    padding = ph if ph == pw and draw(st.booleans()) else (ph, pw)
    h = max(1, kh - 2 * ph) + draw(st.integers(0, 5))
    w = max(1, kw - 2 * pw) + draw(st.integers(0, 5))
    lead = draw(st.sampled_from([(), (1,), (2,)]))
    c = draw(st.integers(1, 3))
    rng = seeded_rng(draw)
    x = rng.standard_normal((*lead, c, h, w))
    bias = rng.standard_normal(c) if draw(st.booleans()) else None
    return x, rng.standard_normal(kh), rng.standard_normal(kw), bias, stride, padding


@PROPERTY
@given(separable_cases())
def test_separable_conv2d_equals_torch_conv2d_with_the_outer_product(case):
    x, column, row, bias, stride, padding = case
    c = x.shape[-3]
    kernel = torch.outer(t(column), t(row)).expand(c, 1, -1, -1)  # (C, 1, kH, kW)
    xt = t(x if x.ndim == 4 else x[np.newaxis])
    expected = F.conv2d(xt, kernel, None if bias is None else t(bias), stride=stride,
                        padding=padding, groups=c).numpy()
    out = separable_conv2d(x, column, row, bias, stride, padding)
    expected = expected if x.ndim == 4 else expected[0]
    assert out.shape == expected.shape and out.dtype == np.float64
    np.testing.assert_allclose(out, expected, **TOL)


def test_separable_conv2d_applies_the_same_filter_to_each_channel():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 5, 6))
    column, row = np.array([1.0, 2.0, 1.0]), np.array([1.0, 0.0, -1.0])
    out = separable_conv2d(x, column, row, padding=1)
    for ch in range(2):  # scipy's correlate2d as an independent oracle, one channel at a time
        expected = scipy.signal.correlate2d(np.pad(x[ch], 1), np.outer(column, row), "valid")
        np.testing.assert_allclose(out[ch], expected, **TOL)


# ---------------------------------------------------------------------------------------
# The worked example of the notes: Sobel
# ---------------------------------------------------------------------------------------


def test_seed_sobel_kernel_and_its_factors():
    gx, gy = sobel_kernels()
    published_kx = np.array([[+1, 0, -1], [+2, 0, -2], [+1, 0, -1]])
    np.testing.assert_array_equal(gx, published_kx)
    np.testing.assert_array_equal(gy, published_kx.T)
    # the notes: K_x = [+1, +2, +1]^T * [+1, 0, -1]
    np.testing.assert_array_equal(np.outer([1, 2, 1], [1, 0, -1]), published_kx)
    np.testing.assert_array_equal(outer_kernel(np.array([1, 2, 1]), np.array([1, 0, -1])), gx)
    column, row = factorize_kernel(gx)
    np.testing.assert_allclose(column / column[0], [1, 2, 1], **TOL)
    np.testing.assert_allclose(row * column[0], [1, 0, -1], atol=1e-12)
    column, row = factorize_kernel(gy)
    np.testing.assert_allclose(column / column[0], [1, 0, -1], atol=1e-12)
    np.testing.assert_allclose(row * column[0], [1, 2, 1], **TOL)
    # 3 + 3 weights instead of 3 x 3
    cost = separable_cost(3)
    assert (cost["full"]["params"], cost["spatial"]["params"]) == (gx.size, column.size + row.size)


def test_sobel_orientation_convolution_vs_correlation():
    """The notes' K_x is a convolution kernel: true convolution gives +d/dx; correlation
    (conv2d in torch and in chapter 1) gives -d/dx; flipping the kernel negates it."""
    gx, gy = sobel_kernels()
    ramp = np.tile(np.arange(6.0), (5, 1))  # brighter to the right, constant down
    np.testing.assert_allclose(scipy.signal.convolve2d(ramp, gx, "valid"), 8.0, **TOL)
    np.testing.assert_allclose(scipy.signal.correlate2d(ramp, gx, "valid"), -8.0, **TOL)
    np.testing.assert_allclose(scipy.signal.convolve2d(ramp.T, gy, "valid"), 8.0, **TOL)
    np.testing.assert_array_equal(np.flip(gx), -gx)
    torch_out = F.conv2d(t(ramp[None, None]), t(gx[None, None])).numpy()
    np.testing.assert_allclose(torch_out, -8.0, **TOL)
    np.testing.assert_allclose(separable_conv2d(ramp[None], *factorize_kernel(gx)), torch_out[0],
                               **TOL)


# ---------------------------------------------------------------------------------------
# Costs against torch modules (parameters) and torch's FLOP counter (MACs = FLOPs / 2)
# ---------------------------------------------------------------------------------------


def torch_cost(layers: list[nn.Module], c_in: int, size: tuple[int, int]) -> dict[str, int]:
    model = nn.Sequential(*layers)
    with FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, c_in, *size))
    params = sum(p.numel() for p in model.parameters())
    return {"params": params, "macs": counter.get_total_flops() // 2}


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
@PROPERTY
@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 4), st.integers(1, 4),
       st.integers(1, 6), st.integers(1, 6), st.booleans())
def test_separable_cost_matches_torch_layers(kh, kw, c_in, c_out, h, w, pair):
    same = dict(padding="same", bias=False)
    expected = {
        "full": torch_cost([nn.Conv2d(c_in, c_out, (kh, kw), **same)], c_in, (h, w)),
        # every (out, in) filter slice rank-1: kH x 1 then 1 x kW, summed over the inputs
        "spatial": torch_cost([
            nn.Conv2d(c_in, c_in * c_out, (kh, 1), groups=c_in, **same),
            nn.Conv2d(c_in * c_out, c_out, (1, kw), groups=c_out, **same),
        ], c_in, (h, w)),
        "depthwise": torch_cost([
            nn.Conv2d(c_in, c_in, (kh, kw), groups=c_in, **same),
            nn.Conv2d(c_in, c_out, 1, bias=False),
        ], c_in, (h, w)),
    }
    kernel_size = (kh, kw) if pair or kh != kw else kh
    assert separable_cost(kernel_size, c_in, c_out, (h, w)) == expected
    if h == w:
        assert separable_cost(kernel_size, c_in, c_out, h) == expected


# ---------------------------------------------------------------------------------------
# Bad input: error type and the argument's name in the message
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error,name,column,row",
    [
        (TypeError, "column", [1.0, 2.0], np.ones(2)),
        (TypeError, "row", np.ones(2), torch.ones(2)),
        (ValueError, "column", np.ones((2, 1)), np.ones(2)),
        (ValueError, "row", np.ones(2), np.ones(0)),
        (TypeError, "row", np.ones(2), np.ones(2, dtype=bool)),
    ],
)
def test_outer_kernel_and_separable_conv2d_bad_vectors(error, name, column, row):
    with pytest.raises(error, match=name):
        outer_kernel(column, row)
    with pytest.raises(error, match=name):
        separable_conv2d(np.ones((1, 4, 4)), column, row)


@pytest.mark.parametrize("func", [factorize_kernel, rank1_approximation])
@pytest.mark.parametrize(
    "error,kernel",
    [
        (TypeError, [[1.0, 2.0]]),
        (ValueError, np.ones(3)),
        (ValueError, np.ones((2, 2, 2))),
        (ValueError, np.ones((0, 3))),
        (TypeError, np.ones((2, 2), dtype=bool)),
        (TypeError, np.ones((2, 2), dtype=complex)),
    ],
)
def test_kernel_functions_bad_kernel(func, error, kernel):
    with pytest.raises(error, match="kernel"):
        func(kernel)


def test_factorize_kernel_bad_tol():
    with pytest.raises(ValueError, match="tol"):
        factorize_kernel(np.ones((2, 2)), tol=-1.0)
    with pytest.raises(ValueError, match="tol"):
        factorize_kernel(np.ones((2, 2)), tol=float("nan"))
    with pytest.raises(TypeError, match="tol"):
        factorize_kernel(np.ones((2, 2)), tol="small")


@pytest.mark.parametrize(
    "error,name,kwargs",
    [
        (TypeError, "input", dict(input=[[[1.0]]])),
        (ValueError, "input", dict(input=np.ones((4, 4)))),
        (TypeError, "input", dict(input=np.ones((1, 4, 4), dtype=bool))),
        (ValueError, "bias", dict(bias=np.ones(2))),
        (TypeError, "bias", dict(bias=[0.0])),
        (ValueError, "stride", dict(stride=0)),
        (ValueError, "stride", dict(stride=(1, 1, 1))),
        (TypeError, "stride", dict(stride=1.5)),
        (ValueError, "padding", dict(padding=-1)),
        (ValueError, "column", dict(column=np.ones(5))),  # longer than the input height 4
        (ValueError, "row", dict(row=np.ones(7), padding=1)),  # longer than 4 + 2
    ],
)
def test_separable_conv2d_bad_input(error, name, kwargs):
    args = dict(input=np.ones((1, 4, 4)), column=np.ones(3), row=np.ones(3))
    args.update(kwargs)
    with pytest.raises(error, match=name):
        separable_conv2d(**args)


@pytest.mark.parametrize(
    "error,name,kwargs",
    [
        (ValueError, "kernel_size", dict(kernel_size=0)),
        (ValueError, "kernel_size", dict(kernel_size=(3, 3, 3))),
        (TypeError, "kernel_size", dict(kernel_size=3.0)),
        (ValueError, "in_channels", dict(in_channels=0)),
        (TypeError, "out_channels", dict(out_channels=2.0)),
        (ValueError, "output_size", dict(output_size=(4, 0))),
    ],
)
def test_separable_cost_bad_input(error, name, kwargs):
    args = dict(kernel_size=3)
    args.update(kwargs)
    with pytest.raises(error, match=name):
        separable_cost(**args)
