"""Tests of lecturepkg.conv.unfold (the vectorised convolutions): against torch (F.unfold,
Tensor.unfold, F.conv1d/2d/3d in float64) and against the loop versions."""

from __future__ import annotations


import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings

from helpers import conv_cases, t
from lecturepkg.conv.functional import conv1d, conv2d
from lecturepkg.conv.unfold import conv1d_fast, conv2d_fast, conv3d_fast, im2col
from lecturepkg.conv.nd import convnd

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PROPERTY = settings(max_examples=50, deadline=None)
TOL = dict(rtol=1e-10, atol=1e-10)
FAST = {1: conv1d_fast, 2: conv2d_fast, 3: conv3d_fast}
TORCH_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
BIGGER = {1: 10, 2: 6, 3: 3}  # inputs up to this much larger than the smallest valid one


# ---------------------------------------------------------------------------------------
# im2col against torch's unfold
# ---------------------------------------------------------------------------------------


def torch_windows(x: torch.Tensor, k, s, p, d) -> torch.Tensor:
    """(N, C, *size) -> (N, C * prod(k), L) with Tensor.unfold: an independent oracle."""
    dims = len(k)
    x = F.pad(x, [q for pi in reversed(p) for q in (pi, pi)])
    for a in range(dims):  # windows of the dilated span along axis 2 + a, every s-th one
        x = x.unfold(2 + a, d[a] * (k[a] - 1) + 1, s[a])
    # x: (N, C, *out_size, *span); keep every d-th tap of each span
    x = x[(..., *(slice(None, None, da) for da in d))]
    n, c = x.shape[:2]
    out_size = x.shape[2 : 2 + dims]
    order = (0, 1, *range(2 + dims, 2 + 2 * dims), *range(2, 2 + dims))
    return x.permute(order).reshape(n, c * int(np.prod(k)), int(np.prod(out_size)))


@PROPERTY
@given(conv_cases(batched=True, max_out=3, extra=BIGGER))
def test_im2col_matches_torch_unfold(case):
    dims, x, w, _, hyper, _ = case
    k = w.shape[2:]
    s, p, d = (
        (hyper[key],) * dims if isinstance(hyper[key], int) else tuple(hyper[key])
        for key in ("stride", "padding", "dilation")
    )
    cols = im2col(x, k, hyper["dilation"], hyper["padding"], hyper["stride"])  # unfold's order
    np.testing.assert_array_equal(cols, torch_windows(t(x), k, s, p, d).numpy())
    if dims == 2:  # the library's own im2col
        expected = F.unfold(t(x), k, dilation=d, padding=p, stride=s).numpy()
        np.testing.assert_array_equal(cols, expected)


def test_im2col_returns_a_new_array_and_keeps_dtype():
    x = np.arange(2 * 3 * 4 * 4, dtype=np.float32).reshape(2, 3, 4, 4)
    cols = im2col(x, 3, padding=1)
    assert cols.dtype == np.float32 and cols.shape == (2, 27, 16)
    cols[...] = -1  # writing to the columns must not write to the input
    assert x.min() == 0


# ---------------------------------------------------------------------------------------
# Fast convolutions against torch, and against the loop versions
# ---------------------------------------------------------------------------------------


@PROPERTY
@given(conv_cases(max_out=3, extra=BIGGER))
def test_fast_conv_matches_torch(case):
    dims, x, w, b, hyper, _ = case
    expected = TORCH_CONV[dims](t(x), t(w), None if b is None else t(b), **hyper).numpy()
    out = FAST[dims](x, w, b, **hyper)
    assert out.shape == expected.shape and out.dtype == np.float64
    np.testing.assert_allclose(out, expected, **TOL)


@PROPERTY
@given(conv_cases(max_out=3, extra=BIGGER))
def test_fast_conv_agrees_with_loop_versions(case):
    dims, x, w, b, hyper, _ = case
    fast = FAST[dims](x, w, b, **hyper)
    np.testing.assert_allclose(fast, convnd(x, w, b, **hyper), rtol=1e-12, atol=1e-12)
    if dims in (1, 2):  # chapter 1's loops
        loop = (conv1d if dims == 1 else conv2d)(x, w, b, **hyper)
        np.testing.assert_allclose(fast, loop, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_fast_conv_dtypes(dims):
    x = np.ones((1, 2) + (5,) * dims, dtype=np.float32)
    w = np.ones((4, 1) + (2,) * dims, dtype=np.float32)
    out = FAST[dims](x, w, groups=2)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, TORCH_CONV[dims](t(x), t(w), groups=2).numpy(), rtol=1e-6)
    assert FAST[dims](x, w.astype(np.float64), groups=2).dtype == np.float64
    xi, wi = x.astype(np.int64), w.astype(np.int64)
    out_int = FAST[dims](xi, wi, groups=2)
    assert out_int.dtype == np.int64
    np.testing.assert_array_equal(out_int, convnd(xi, wi, groups=2))


def test_lenet_sized_batch_float32_matches_torch():
    """The benchmark's setting: float32, LeNet-5's two convolutions on a batch."""
    rng = np.random.default_rng(0)
    for c_in, c_out, size in [(1, 6, 32), (6, 16, 14)]:
        x = rng.standard_normal((8, c_in, size, size)).astype(np.float32)
        w = rng.standard_normal((c_out, c_in, 5, 5)).astype(np.float32)
        b = rng.standard_normal(c_out).astype(np.float32)
        expected = F.conv2d(t(x), t(w), t(b)).numpy()
        np.testing.assert_allclose(conv2d_fast(x, w, b), expected, rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------------------------------
# Bad input: error type and the argument's name in the message
# ---------------------------------------------------------------------------------------

X = {1: np.ones((2, 4, 8)), 2: np.ones((2, 4, 8, 8)), 3: np.ones((2, 4, 5, 5, 5))}
W = {1: np.ones((6, 2, 3)), 2: np.ones((6, 2, 3, 3)), 3: np.ones((6, 2, 3, 3, 3))}

BAD_CONV_ARGS = [
    (TypeError, "input", lambda dims: dict(input=X[dims].tolist())),
    (TypeError, "input", lambda dims: dict(input=torch.ones(X[dims].shape))),
    (TypeError, "input", lambda dims: dict(input=X[dims].astype(bool))),
    (ValueError, "input", lambda dims: dict(input=np.ones(8))),
    (TypeError, "weight", lambda dims: dict(weight=W[dims].tolist())),
    (ValueError, "weight", lambda dims: dict(weight=np.ones((6, 2)))),
    (ValueError, "weight", lambda dims: dict(input=np.ones((2, 5) + X[dims].shape[2:]))),
    (ValueError, "groups", lambda dims: dict(groups=3)),
    (ValueError, "groups", lambda dims: dict(groups=0)),
    (ValueError, "stride", lambda dims: dict(stride=0)),
    (ValueError, "stride", lambda dims: dict(stride=(1,) * (dims + 1))),
    (ValueError, "padding", lambda dims: dict(padding=-1)),
    (ValueError, "dilation", lambda dims: dict(dilation=0)),
    (ValueError, "kernel_size", lambda dims: dict(dilation=9)),  # kernel larger than input
    (ValueError, "bias", lambda dims: dict(bias=np.ones(5))),
]


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("error,name,changes", BAD_CONV_ARGS)
def test_fast_conv_bad_input(dims, error, name, changes):
    args = dict(input=X[dims], weight=W[dims], groups=2)
    args.update(changes(dims))
    with pytest.raises(error, match=name):
        FAST[dims](**args)


@pytest.mark.parametrize(
    "error,name,kwargs",
    [
        (TypeError, "input", dict(input=[[[1.0, 2.0]]])),
        (TypeError, "input", dict(input=np.ones((1, 1, 4), dtype=bool))),
        (ValueError, "input", dict(input=np.ones((1, 4)))),  # unbatched / no spatial axis
        (ValueError, "kernel_size", dict(kernel_size=0)),
        (ValueError, "kernel_size", dict(kernel_size=(2, 2))),  # 1D input, 2D kernel
        (TypeError, "kernel_size", dict(kernel_size=2.0)),
        (ValueError, "kernel_size", dict(kernel_size=5)),  # larger than the input
        (ValueError, "stride", dict(stride=0)),
        (ValueError, "padding", dict(padding=-2)),
        (ValueError, "dilation", dict(dilation=0)),
    ],
)
def test_im2col_bad_input(error, name, kwargs):
    args = dict(input=np.ones((1, 1, 4)), kernel_size=2)
    args.update(kwargs)
    with pytest.raises(error, match=name):
        im2col(**args)


# ---------------------------------------------------------------------------------------
# The benchmark script runs (its timings are printed, never asserted)
# ---------------------------------------------------------------------------------------


def test_benchmark_main_runs_on_a_tiny_batch(capsys):
    from lecturepkg.conv import benchmark

    threads = torch.get_num_threads()
    rows = benchmark.main(["--batch", "2", "--repeats", "1", "--loop-repeats", "1"])
    printed = capsys.readouterr().out
    assert "conv2d_fast" in printed and "loop conv2d" in printed and "one thread" in printed
    assert [row["layer"] for row in rows][-1] == "both layers" and len(rows) == 3
    assert all(row[key] > 0 for row in rows for key in ("torch", "fast", "loop"))
    assert torch.get_num_threads() == threads  # the thread setting is restored


def test_benchmark_rejects_bad_sizes():
    from lecturepkg.conv import benchmark

    with pytest.raises(SystemExit):
        benchmark.main(["--batch", "0"])
