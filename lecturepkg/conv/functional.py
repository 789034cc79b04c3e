"""Convolution and pooling from scratch in numpy: the teaching versions.

Each function mirrors its ``torch.nn.functional`` namesake: same arguments, same order, same
names, same result (up to floating point rounding), so that the two can be swapped and
compared. Like torch (and every deep learning library), ``conv1d`` and ``conv2d`` compute a
*cross-correlation*: the kernel is not flipped.

The code is written to be read: one explicit loop over the output positions, where each
output value is the dot product between a filter and the window of the input it sees. The
batch and channel axes are handled at once with ``np.einsum``; the letters in the subscripts
name the axes (``n`` sample, ``g`` group, ``c`` input channel within the group, ``o`` output
channel within the group, ``h``/``w``/``k`` kernel taps). This is slow on purpose; a fast
path belongs elsewhere and is tested against this one.

Shapes follow torch: ``(N, C, L)`` or ``(C, L)`` in 1D, ``(N, C, H, W)`` or ``(C, H, W)``
in 2D (the unbatched form gives an unbatched result). Output sizes come from
:mod:`lecturepkg.conv.arithmetic` (Dumoulin & Visin, *A guide to convolution arithmetic
for deep learning*, 2016).
"""

from __future__ import annotations

import numbers

import numpy as np

from lecturepkg._checks import check_ndarray, check_tuple
from lecturepkg.conv._args import (
    IntOrTuple,
    check_array,
    check_conv_args,
    check_grad_output,
    check_hyper,
    checked_output_size,
    result_dtype,
    split_groups,
    window,
)
from lecturepkg.conv.arithmetic import conv_output_size, pool_output_size

__all__ = [
    "pad2d",
    "conv1d",
    "conv2d",
    "conv1d_backward",
    "conv2d_backward",
    "max_pool2d",
    "avg_pool2d",
]

# ----------------------------------------------------------------------------------------
# Padding
# ----------------------------------------------------------------------------------------


def pad2d(input: np.ndarray, padding: IntOrTuple, value: float = 0.0) -> np.ndarray:
    """Pad the last two axes of ``input`` with a frame of constant ``value``.

    ``padding`` is an int or a pair ``(pH, pW)``: ``pH`` rows are added at the top *and*
    at the bottom, ``pW`` columns on the left *and* on the right. This is the frame that
    ``conv2d(..., padding=(pH, pW))`` puts around its input; it equals
    ``torch.nn.functional.pad(input, (pW, pW, pH, pH), value=value)``.

    Shapes: ``(..., H, W)`` -> ``(..., H + 2 pH, W + 2 pW)``; the dtype is kept.

    >>> pad2d(np.ones((1, 2), dtype=int), (1, 2))
    array([[0, 0, 0, 0, 0, 0],
           [0, 0, 1, 1, 0, 0],
           [0, 0, 0, 0, 0, 0]])
    """
    input = check_ndarray("input", input, shape_hint="(..., H, W)")
    if input.ndim < 2:
        raise ValueError(f"input must have at least 2 axes (..., H, W), got shape {input.shape}")
    ph, pw = check_tuple("padding", padding, 2, minimum=0)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"value must be a real number, got {value!r}")
    if np.issubdtype(input.dtype, np.integer) and not _fits_integer(value, input.dtype):
        raise ValueError(f"value={value!r} cannot be stored in input's dtype {input.dtype}")
    widths = [(0, 0)] * (input.ndim - 2) + [(ph, ph), (pw, pw)]
    return np.pad(input, widths, mode="constant", constant_values=value)


def _fits_integer(value: float, dtype: np.dtype) -> bool:
    info = np.iinfo(dtype)
    return float(value).is_integer() and info.min <= value <= info.max


# ----------------------------------------------------------------------------------------
# Convolution, forward
# ----------------------------------------------------------------------------------------


def conv1d(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> np.ndarray:
    """1D convolution (cross-correlation), like ``torch.nn.functional.conv1d``.

    For sample ``n``, output channel ``o`` (in group ``g``) and output position ``i``::

        out[n, o, i] = bias[o] + sum_{c, j} weight[o, c, j] * x[n, g*C_in/G + c, i*s + j*d]

    where ``x`` is the input zero-padded by ``padding`` on both ends, ``s`` the stride and
    ``d`` the dilation. The output length is ``floor((L + 2p - d(k-1) - 1) / s) + 1``
    (Dumoulin & Visin 2016); the kernel is not flipped (LeCun et al. 1998; Goodfellow et al.
    2016, ch. 9).

    Shapes: input ``(N, C_in, L)`` or ``(C_in, L)``; weight ``(C_out, C_in/groups, k)``;
    bias ``(C_out,)`` or None; output ``(N, C_out, L_out)`` or ``(C_out, L_out)``. The
    output dtype is numpy's result type of input, weight (and bias).

    >>> conv1d(np.array([[1, 2, 3, 4]]), np.array([[[3, 2]]]))
    array([[ 7, 12, 17]])
    """
    x, weight, bias, groups, batched = check_conv_args(input, weight, bias, groups, dims=1)
    (s,), (p,), (d,) = check_hyper(1, stride, padding, dilation)
    (l_out,) = checked_output_size(
        conv_output_size, f"weight of shape {weight.shape}", x, weight.shape[2:],
        stride=s, padding=p, dilation=d,
    )
    x = np.pad(x, [(0, 0), (0, 0), (p, p)])  # (N, C_in, L + 2p)
    xg, wg = split_groups(x, weight, groups)  # (N, G, C_in/G, L+2p), (G, C_out/G, C_in/G, k)
    n, k = x.shape[0], weight.shape[2]
    dtype = result_dtype(x, weight, bias)
    out = np.zeros((n, groups, weight.shape[0] // groups, l_out), dtype=dtype)
    for i in range(l_out):
        patch = xg[..., window(i, s, d, k)]  # (N, G, C_in/G, k): what out[..., i] sees
        out[..., i] = np.einsum("ngck,gock->ngo", patch, wg)  # one dot product per filter
    out = out.reshape(n, weight.shape[0], l_out)  # (N, C_out, L_out)
    if bias is not None:
        out += bias[:, np.newaxis]
    return out if batched else out[0]


def conv2d(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> np.ndarray:
    """2D convolution (cross-correlation), like ``torch.nn.functional.conv2d``.

    For sample ``n``, output channel ``o`` (in group ``g``) and output pixel ``(i, j)``::

        out[n, o, i, j] = bias[o] + sum_{c, u, v} weight[o, c, u, v]
                                    * x[n, g*C_in/G + c, i*sH + u*dH, j*sW + v*dW]

    where ``x`` is the input zero-padded by ``padding = (pH, pW)`` (see :func:`pad2d`). Each
    output pixel is the dot product of a filter with the ``C_in/G x kH x kW`` window of the
    input under it; sliding the same filter everywhere is parameter sharing (LeCun et al.
    1998). Output size per axis: ``floor((H + 2p - d(k-1) - 1) / s) + 1`` (Dumoulin & Visin
    2016); dilation as in Yu & Koltun (2016); ``stride``, ``padding``, ``dilation`` are an
    int or a pair.

    Shapes: input ``(N, C_in, H, W)`` or ``(C_in, H, W)``; weight
    ``(C_out, C_in/groups, kH, kW)``; bias ``(C_out,)`` or None; output
    ``(N, C_out, H_out, W_out)`` or ``(C_out, H_out, W_out)``. The output dtype is numpy's
    result type of input, weight (and bias).

    >>> x = np.arange(16).reshape(1, 4, 4)
    >>> conv2d(x, np.ones((1, 1, 2, 2), dtype=int), stride=2)  # sums of 2x2 blocks
    array([[[10, 18],
            [42, 50]]])
    """
    x, weight, bias, groups, batched = check_conv_args(input, weight, bias, groups, dims=2)
    (sh, sw), (ph, pw), (dh, dw) = check_hyper(2, stride, padding, dilation)
    h_out, w_out = checked_output_size(
        conv_output_size, f"weight of shape {weight.shape}", x, weight.shape[2:],
        stride=(sh, sw), padding=(ph, pw), dilation=(dh, dw),
    )
    xg, wg = split_groups(pad2d(x, (ph, pw)), weight, groups)
    # xg: (N, G, C_in/G, H + 2pH, W + 2pW); wg: (G, C_out/G, C_in/G, kH, kW)
    n, (c_out, _, kh, kw) = x.shape[0], weight.shape
    dtype = result_dtype(x, weight, bias)
    out = np.zeros((n, groups, c_out // groups, h_out, w_out), dtype=dtype)
    for i in range(h_out):
        for j in range(w_out):
            patch = xg[..., window(i, sh, dh, kh), window(j, sw, dw, kw)]  # (N,G,C_in/G,kH,kW)
            out[..., i, j] = np.einsum("ngchw,gochw->ngo", patch, wg)  # one dot per filter
    out = out.reshape(n, c_out, h_out, w_out)  # (N, C_out, H_out, W_out)
    if bias is not None:
        out += bias[:, np.newaxis, np.newaxis]
    return out if batched else out[0]


# ----------------------------------------------------------------------------------------
# Convolution, backward
# ----------------------------------------------------------------------------------------


def conv1d_backward(
    grad_output: np.ndarray,
    input: np.ndarray,
    weight: np.ndarray,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of a loss through :func:`conv1d`: ``(grad_input, grad_weight, grad_bias)``.

    ``grad_output[n, o, i]`` is dL/d out[n, o, i]. Since ``out[n, o, i]`` is a sum of
    ``weight[o, c, j] * x[n, c', i*s + j*d]`` (``x`` the padded input, ``c'`` the input
    channel of ``c`` in the group of ``o``), the chain rule gives:

    * ``grad_weight[o, c, j] = sum_{n, i} grad_output[n, o, i] * x[n, c', i*s + j*d]``:
      each tap collects the input values it saw, weighted by the output gradient;
    * ``grad_x[n, c', i*s + j*d] += sum_o grad_output[n, o, i] * weight[o, c, j]``: each
      output scatters its gradient back over its window, then the padding is cropped;
    * ``grad_bias[o] = sum_{n, i} grad_output[n, o, i]``.

    The loop below is the forward loop of :func:`conv1d` with these two updates in place of
    the dot product. See :func:`conv2d_backward` for the 2D derivation and references.

    Shapes: grad_output like conv1d's output; the three gradients have the shapes of input,
    weight and bias ``(C_out,)``.

    >>> x, w = np.array([[1., 2, 3, 4]]), np.array([[[3., 2]]])
    >>> gx, gw, gb = conv1d_backward(np.ones((1, 3)), x, w)  # loss = out.sum()
    >>> gw  # tap 0 saw 1, 2, 3; tap 1 saw 2, 3, 4
    array([[[6., 9.]]])
    """
    x, weight, _, groups, batched = check_conv_args(input, weight, None, groups, dims=1)
    (s,), (p,), (d,) = check_hyper(1, stride, padding, dilation)
    (l_out,) = checked_output_size(
        conv_output_size, f"weight of shape {weight.shape}", x, weight.shape[2:],
        stride=s, padding=p, dilation=d,
    )
    (n, c_in, length), (c_out, _, k) = x.shape, weight.shape
    gy = check_grad_output(grad_output, (n, c_out, l_out), batched)  # (N, C_out, L_out)
    xg, wg = split_groups(np.pad(x, [(0, 0), (0, 0), (p, p)]), weight, groups)
    gyg = gy.reshape(n, groups, c_out // groups, l_out)  # (N, G, C_out/G, L_out)
    dtype = result_dtype(gy, x, weight)
    grad_xg = np.zeros(xg.shape, dtype)  # (N, G, C_in/G, L + 2p)
    grad_wg = np.zeros(wg.shape, dtype)  # (G, C_out/G, C_in/G, k)
    for i in range(l_out):
        win = window(i, s, d, k)
        g = gyg[..., i]  # (N, G, C_out/G): dL/d out[..., i]
        grad_wg += np.einsum("ngo,ngck->gock", g, xg[..., win])
        grad_xg[..., win] += np.einsum("ngo,gock->ngck", g, wg)
    grad_input = grad_xg.reshape(n, c_in, length + 2 * p)[..., p : p + length]  # crop padding
    grad_bias = gy.sum(axis=(0, 2))
    return (grad_input if batched else grad_input[0]), grad_wg.reshape(weight.shape), grad_bias


def conv2d_backward(
    grad_output: np.ndarray,
    input: np.ndarray,
    weight: np.ndarray,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of a loss through :func:`conv2d`: ``(grad_input, grad_weight, grad_bias)``.

    Derivation. Write ``x`` for the zero-padded input, ``G = grad_output`` (so
    ``G[n, o, i, j] = dL/d out[n, o, i, j]``), ``c'`` for input channel ``c`` of the group of
    output channel ``o``, and ``r = i*sH + u*dH``, ``q = j*sW + v*dW`` for the input row and
    column that weight tap ``(u, v)`` sees at output pixel ``(i, j)``. The forward pass is::

        out[n, o, i, j] = bias[o] + sum_{c, u, v} weight[o, c, u, v] * x[n, c', r, q]

    Each output is linear in the weights and in the inputs of its window, so the chain rule
    gives

    * ``dL/d weight[o, c, u, v] = sum_{n, i, j} G[n, o, i, j] * x[n, c', r, q]``: weight tap
      ``(u, v)`` collects the input value it saw at every output pixel;
    * ``dL/d x[n, c', r, q] += sum_o G[n, o, i, j] * weight[o, c, u, v]`` for every
      ``(i, j, u, v)``: every output pixel scatters its gradient, through the filter, back
      onto its window; the positions that fall in the padding are then cropped away;
    * ``dL/d bias[o] = sum_{n, i, j} G[n, o, i, j]``.

    This is the forward loop of :func:`conv2d` with the dot product replaced by these two
    updates (Goodfellow, Bengio & Courville 2016, *Deep Learning*, ch. 9, sec. 9.5). Read as
    whole operations: ``grad_weight`` is a correlation of the input with ``grad_output``
    (stride and dilation swap roles), and ``grad_input`` is a *transposed* convolution of
    ``grad_output`` with the same weight (Dumoulin & Visin 2016, sec. 4).

    Shapes: grad_output like conv2d's output, ``(N, C_out, H_out, W_out)`` or
    ``(C_out, H_out, W_out)``; returns arrays shaped like input, weight and ``(C_out,)``.

    >>> x, w = np.arange(9.).reshape(1, 3, 3), np.ones((1, 1, 2, 2))
    >>> gx, gw, gb = conv2d_backward(np.ones((1, 2, 2)), x, w)  # loss = out.sum()
    >>> gx  # how many windows cover each input pixel
    array([[[1., 2., 1.],
            [2., 4., 2.],
            [1., 2., 1.]]])
    """
    x, weight, _, groups, batched = check_conv_args(input, weight, None, groups, dims=2)
    (sh, sw), (ph, pw), (dh, dw) = check_hyper(2, stride, padding, dilation)
    h_out, w_out = checked_output_size(
        conv_output_size, f"weight of shape {weight.shape}", x, weight.shape[2:],
        stride=(sh, sw), padding=(ph, pw), dilation=(dh, dw),
    )
    (n, c_in, h, w), (c_out, _, kh, kw) = x.shape, weight.shape
    gy = check_grad_output(grad_output, (n, c_out, h_out, w_out), batched)
    xg, wg = split_groups(pad2d(x, (ph, pw)), weight, groups)
    gyg = gy.reshape(n, groups, c_out // groups, h_out, w_out)  # (N, G, C_out/G, H_out, W_out)
    dtype = result_dtype(gy, x, weight)
    grad_xg = np.zeros(xg.shape, dtype)  # (N, G, C_in/G, H + 2pH, W + 2pW)
    grad_wg = np.zeros(wg.shape, dtype)  # (G, C_out/G, C_in/G, kH, kW)
    for i in range(h_out):
        for j in range(w_out):
            rows, cols = window(i, sh, dh, kh), window(j, sw, dw, kw)
            g = gyg[..., i, j]  # (N, G, C_out/G): dL/d out[..., i, j]
            grad_wg += np.einsum("ngo,ngchw->gochw", g, xg[..., rows, cols])
            grad_xg[..., rows, cols] += np.einsum("ngo,gochw->ngchw", g, wg)
    grad_input = grad_xg.reshape(n, c_in, h + 2 * ph, w + 2 * pw)
    grad_input = grad_input[..., ph : ph + h, pw : pw + w]  # crop the padding
    grad_bias = gy.sum(axis=(0, 2, 3))
    return (grad_input if batched else grad_input[0]), grad_wg.reshape(weight.shape), grad_bias


# ----------------------------------------------------------------------------------------
# Pooling
# ----------------------------------------------------------------------------------------


def _check_pool_args(input, kernel_size, stride, padding, dilation=None):
    """Validate pooling arguments; return ``x`` with a batch axis, ``batched``, the four
    hyper-parameters as pairs and the output size (``dilation=None``: no such argument)."""
    input = check_array("input", input, (3, 4), "(N, C, H, W) or (C, H, W)")
    batched = input.ndim == 4
    x = input if batched else input[np.newaxis]  # (N, C, H, W)
    k = check_tuple("kernel_size", kernel_size, 2, minimum=1)
    s = k if stride is None else check_tuple("stride", stride, 2, minimum=1)
    p = check_tuple("padding", padding, 2, minimum=0)
    extra = {}  # avg_pool2d has no dilation argument
    if dilation is not None:
        extra["dilation"] = check_tuple("dilation", dilation, 2, minimum=1)
    out_size = checked_output_size(
        pool_output_size, f"kernel_size {k}", x, k, stride=s, padding=p, **extra
    )
    return x, batched, k, s, p, extra.get("dilation", (1, 1)), out_size


def max_pool2d(
    input: np.ndarray,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
) -> np.ndarray:
    """2D max pooling, like ``torch.nn.functional.max_pool2d`` (with ``ceil_mode=False``).

    ``out[n, c, i, j] = max_{u, v} x[n, c, i*sH + u*dH, j*sW + v*dW]`` over the
    ``kH x kW`` window, each channel separately. ``stride`` defaults to ``kernel_size``
    (non-overlapping windows). ``x`` is the input padded with -inf (the lowest integer for
    integer input), so padding never wins; torch requires ``padding <= kernel_size / 2``.
    Max pooling makes the output insensitive to small shifts of the input (Goodfellow et al.
    2016, sec. 9.3).

    Shapes: ``(N, C, H, W)`` or ``(C, H, W)`` -> ``(N, C, H_out, W_out)`` or
    ``(C, H_out, W_out)``; the dtype is kept.

    >>> max_pool2d(np.arange(16).reshape(1, 4, 4), 2)
    array([[[ 5,  7],
            [13, 15]]])
    """
    x, batched, (kh, kw), (sh, sw), p, (dh, dw), (h_out, w_out) = _check_pool_args(
        input, kernel_size, stride, padding, dilation
    )
    if np.issubdtype(x.dtype, np.complexfloating):
        raise TypeError(f"input must be real (complex numbers have no maximum), got {x.dtype}")
    lowest = -np.inf if np.issubdtype(x.dtype, np.floating) else np.iinfo(x.dtype).min
    x = pad2d(x, p, value=lowest)  # (N, C, H + 2pH, W + 2pW)
    out = np.empty((*x.shape[:2], h_out, w_out), dtype=x.dtype)
    for i in range(h_out):
        for j in range(w_out):
            patch = x[..., window(i, sh, dh, kh), window(j, sw, dw, kw)]  # (N, C, kH, kW)
            out[..., i, j] = patch.max(axis=(-2, -1))
    return out if batched else out[0]


def avg_pool2d(
    input: np.ndarray,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
) -> np.ndarray:
    """2D average pooling, like ``torch.nn.functional.avg_pool2d`` (with its defaults
    ``ceil_mode=False, count_include_pad=True``).

    ``out[n, c, i, j] = mean_{u, v} x[n, c, i*sH + u, j*sW + v]`` over the ``kH x kW``
    window of the zero-padded input ``x``; the padded zeros count in the mean (the divisor is
    always ``kH * kW``). ``stride`` defaults to ``kernel_size``; torch requires
    ``padding <= kernel_size / 2``. Average pooling appears as subsampling in LeCun et al.
    (1998).

    Shapes: ``(N, C, H, W)`` or ``(C, H, W)`` -> ``(N, C, H_out, W_out)`` or
    ``(C, H_out, W_out)``. Like ``np.mean``, integer input gives float64 output.

    >>> avg_pool2d(np.arange(16.).reshape(1, 4, 4), 2)
    array([[[ 2.5,  4.5],
            [10.5, 12.5]]])
    """
    x, batched, (kh, kw), (sh, sw), p, _, (h_out, w_out) = _check_pool_args(
        input, kernel_size, stride, padding
    )
    dtype = x.dtype if np.issubdtype(x.dtype, np.inexact) else np.dtype(np.float64)
    x = pad2d(x, p)  # (N, C, H + 2pH, W + 2pW), zeros around
    out = np.empty((*x.shape[:2], h_out, w_out), dtype=dtype)
    for i in range(h_out):
        for j in range(w_out):
            patch = x[..., window(i, sh, 1, kh), window(j, sw, 1, kw)]  # (N, C, kH, kW)
            out[..., i, j] = patch.mean(axis=(-2, -1))
    return out if batched else out[0]
