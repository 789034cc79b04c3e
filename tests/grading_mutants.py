"""Plausible wrong answers to the graded exercises ("mutants"), for the honesty check.

For every exercise, each function below is a mistake a student could make; its docstring
names the mistake. CI runs the exercise's grading tests against each of them and requires
that at least one test fails, so that a wrong answer can never get full marks. Mutants keep
the stub's signature (the grader calls them with the same arguments as the student's
function) and never call the library functions the exercise forbids.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

# ----------------------------------------------------------------------------------------
# correlate1d
# ----------------------------------------------------------------------------------------


def correlate1d_flipped_kernel(x, w):
    """True convolution: the kernel is flipped, which libraries do not do."""
    W, k = len(x), len(w)
    if k > W:
        raise ValueError("w is longer than x")
    return np.array([np.sum(x[i:i + k] * w[::-1]) for i in range(W - k + 1)])


def correlate1d_one_output_short(x, w):
    """Off by one: W - k outputs instead of W - k + 1 (the last position is missed)."""
    W, k = len(x), len(w)
    if k > W:
        raise ValueError("w is longer than x")
    return np.array([np.sum(x[i:i + k] * w) for i in range(W - k)])


def correlate1d_full(x, w):
    """'full' instead of 'valid': every partial overlap counts (zero padding k - 1)."""
    W, k = len(x), len(w)
    if k > W:
        raise ValueError("w is longer than x")
    xp = np.concatenate([np.zeros(k - 1), x, np.zeros(k - 1)])
    return np.array([np.sum(xp[i:i + k] * w) for i in range(W + k - 1)])


def correlate1d_same(x, w):
    """'same' instead of 'valid': padded so that the output is as long as the input."""
    W, k = len(x), len(w)
    if k > W:
        raise ValueError("w is longer than x")
    left = (k - 1) // 2
    xp = np.concatenate([np.zeros(left), x, np.zeros(k - 1 - left)])
    return np.array([np.sum(xp[i:i + k] * w) for i in range(W)])


def correlate1d_no_length_check(x, w):
    """Right values, but no ValueError when the kernel is longer than the signal."""
    W, k = len(x), len(w)
    y = np.zeros(max(W - k + 1, 0))
    for i in range(W - k + 1):
        y[i] = np.sum(x[i:i + k] * w)
    return y


def correlate1d_overwrites_input(x, w):
    """Right values, but the output is written into x (the caller's array is changed)."""
    W, k = len(x), len(w)
    if k > W:
        raise ValueError("w is longer than x")
    for i in range(W - k + 1):
        x[i] = np.sum(x[i:i + k] * w)  # x[i] is not read again by later windows
    return x[:W - k + 1].copy()


# ----------------------------------------------------------------------------------------
# output_size
# ----------------------------------------------------------------------------------------


def output_size_stride_ignored(input_size, kernel_size, stride=1, padding=0, dilation=1):
    """The stride is forgotten: the window is assumed to move one step at a time."""
    return input_size + 2 * padding - dilation * (kernel_size - 1)


def output_size_padding_once(input_size, kernel_size, stride=1, padding=0, dilation=1):
    """The padding is counted once instead of once per side."""
    return (input_size + padding - dilation * (kernel_size - 1) - 1) // stride + 1


def output_size_dilation_ignored(input_size, kernel_size, stride=1, padding=0, dilation=1):
    """The dilation is forgotten: the kernel is assumed dense."""
    return (input_size + 2 * padding - kernel_size) // stride + 1


def output_size_dilation_times_k(input_size, kernel_size, stride=1, padding=0, dilation=1):
    """The dilated kernel's extent taken as d * k instead of d * (k - 1) + 1."""
    return (input_size + 2 * padding - dilation * kernel_size) // stride + 1


def output_size_ceil(input_size, kernel_size, stride=1, padding=0, dilation=1):
    """Rounds up instead of down: a last, incomplete window is counted."""
    return math.ceil((input_size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1


def output_size_returns_float(input_size, kernel_size, stride=1, padding=0, dilation=1):
    """Right value, wrong type: np.floor returns a float (e.g. 12.0 instead of 12)."""
    return np.floor((input_size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1


# ----------------------------------------------------------------------------------------
# conv2d_multichannel
# ----------------------------------------------------------------------------------------


def _conv2d_loops(x, weight, bias, *, flip=False, rows=None, cols=None):
    """Helper of the mutants below: a correct valid convolution, with optional flaws."""
    C, H, W = x.shape
    D, _, h, w = weight.shape
    rows = H - h + 1 if rows is None else rows
    cols = W - w + 1 if cols is None else cols
    kernel = weight[:, :, ::-1, ::-1] if flip else weight
    y = np.zeros((D, rows, cols))
    for d in range(D):
        for i in range(rows):
            for j in range(cols):
                y[d, i, j] = np.sum(x[:, i:i + h, j:j + w] * kernel[d]) + bias[d]
    return y


def _check_channels(x, weight):
    if weight.shape[1] != x.shape[0]:
        raise ValueError("weight and x have different numbers of channels")


def conv2d_multichannel_flipped_kernel(x, weight, bias):
    """True convolution: each kernel is rotated by 180 degrees."""
    _check_channels(x, weight)
    return _conv2d_loops(x, weight, bias, flip=True)


def conv2d_multichannel_no_bias(x, weight, bias):
    """The bias is dropped."""
    _check_channels(x, weight)
    return _conv2d_loops(x, weight, np.zeros_like(bias))


def conv2d_multichannel_bias_per_channel(x, weight, bias):
    """The bias is added once per input channel (C times) instead of once."""
    _check_channels(x, weight)
    return _conv2d_loops(x, weight, x.shape[0] * bias)


def conv2d_multichannel_channels_averaged(x, weight, bias):
    """The input channels are averaged instead of summed."""
    _check_channels(x, weight)
    return (_conv2d_loops(x, weight, np.zeros_like(bias)) / x.shape[0]) + bias[:, None, None]


def conv2d_multichannel_first_channel_only(x, weight, bias):
    """Only the first input channel is used, as if the image were grey."""
    _check_channels(x, weight)
    return _conv2d_loops(x[:1], weight[:, :1], bias)


def conv2d_multichannel_one_row_short(x, weight, bias):
    """Off by one: H - h and W - w output positions instead of H - h + 1 and W - w + 1."""
    _check_channels(x, weight)
    H, W = x.shape[1:]
    h, w = weight.shape[2:]
    return _conv2d_loops(x, weight, bias, rows=H - h, cols=W - w)


def conv2d_multichannel_transposed(x, weight, bias):
    """Rows and columns of each output map swapped."""
    _check_channels(x, weight)
    return _conv2d_loops(x, weight, bias).transpose(0, 2, 1)


def conv2d_multichannel_no_channel_check(x, weight, bias):
    """Right values, but a weight with the wrong number of channels is not rejected: a
    weight of one input channel broadcasts silently over all channels of x."""
    return _conv2d_loops(x, weight, bias)


# ----------------------------------------------------------------------------------------
# max_pool2d
# ----------------------------------------------------------------------------------------


def _check_window(x, k):
    if k > x.shape[1] or k > x.shape[2]:
        raise ValueError("kernel_size larger than the map")


def max_pool2d_average(x, kernel_size):
    """Average pooling instead of max pooling."""
    _check_window(x, kernel_size)
    k = kernel_size
    C, H, W = x.shape
    return x[:, :H // k * k, :W // k * k].reshape(C, H // k, k, W // k, k).mean(axis=(2, 4))


def max_pool2d_stride_one(x, kernel_size):
    """Overlapping windows: the window moves one step at a time instead of k."""
    _check_window(x, kernel_size)
    k = kernel_size
    C, H, W = x.shape
    y = np.empty((C, H - k + 1, W - k + 1), dtype=x.dtype)
    for i in range(H - k + 1):
        for j in range(W - k + 1):
            y[:, i, j] = x[:, i:i + k, j:j + k].max(axis=(1, 2))
    return y


def max_pool2d_ceil(x, kernel_size):
    """Ceil instead of floor: incomplete windows at the border are pooled too."""
    _check_window(x, kernel_size)
    k = kernel_size
    C, H, W = x.shape
    rows, cols = -(-H // k), -(-W // k)
    y = np.empty((C, rows, cols), dtype=x.dtype)
    for i in range(rows):
        for j in range(cols):
            y[:, i, j] = x[:, i * k:(i + 1) * k, j * k:(j + 1) * k].max(axis=(1, 2))
    return y


def max_pool2d_starts_at_zero(x, kernel_size):
    """The running maximum starts at 0 instead of -inf: wrong for negative maps."""
    _check_window(x, kernel_size)
    k = kernel_size
    C, H, W = x.shape
    y = np.zeros((C, H // k, W // k), dtype=x.dtype)
    for c in range(C):
        for i in range(H // k):
            for j in range(W // k):
                for u in range(k):
                    for v in range(k):
                        y[c, i, j] = max(y[c, i, j], x[c, i * k + u, j * k + v])
    return y


def max_pool2d_mixes_channels(x, kernel_size):
    """The maximum is taken over the window in all channels at once (no axis given)."""
    _check_window(x, kernel_size)
    k = kernel_size
    C, H, W = x.shape
    y = np.empty((C, H // k, W // k), dtype=x.dtype)
    for i in range(H // k):
        for j in range(W // k):
            y[:, i, j] = x[:, i * k:(i + 1) * k, j * k:(j + 1) * k].max()
    return y


def max_pool2d_transposed_windows(x, kernel_size):
    """Row and column index of the window swapped: y[:, i, j] pools the window at (j, i)."""
    _check_window(x, kernel_size)
    k = kernel_size
    C, H, W = x.shape
    y = np.empty((C, H // k, W // k), dtype=x.dtype)
    for i in range(min(H, W) // k):
        for j in range(min(H, W) // k):
            y[:, i, j] = x[:, j * k:(j + 1) * k, i * k:(i + 1) * k].max(axis=(1, 2))
    for i in range(H // k):  # the rest (non-square maps) done right
        for j in range(W // k):
            if i >= min(H, W) // k or j >= min(H, W) // k:
                y[:, i, j] = x[:, i * k:(i + 1) * k, j * k:(j + 1) * k].max(axis=(1, 2))
    return y


def max_pool2d_always_float64(x, kernel_size):
    """Right values, but the result is float64 whatever the input's dtype."""
    _check_window(x, kernel_size)
    k = kernel_size
    C, H, W = x.shape
    y = np.zeros((C, H // k, W // k))
    for i in range(H // k):
        for j in range(W // k):
            y[:, i, j] = x[:, i * k:(i + 1) * k, j * k:(j + 1) * k].max(axis=(1, 2))
    return y


# ----------------------------------------------------------------------------------------
# correlate1d_kernel_grad
# ----------------------------------------------------------------------------------------


def _kernel_grad(x, grad_output, kernel_size, *, outputs=None):
    n = len(grad_output) if outputs is None else outputs
    return np.array([np.sum(grad_output[:n] * x[j:j + n]) for j in range(kernel_size)])


def _check_grad_length(x, grad_output, kernel_size):
    if len(grad_output) != len(x) - kernel_size + 1:
        raise ValueError("grad_output has the wrong length")


def correlate1d_kernel_grad_reversed(x, grad_output, kernel_size):
    """The gradient comes out back to front (a flip, as for the input gradient)."""
    _check_grad_length(x, grad_output, kernel_size)
    return _kernel_grad(x, grad_output, kernel_size)[::-1].copy()


def correlate1d_kernel_grad_ignores_upstream(x, grad_output, kernel_size):
    """The upstream gradient is ignored: dL/dy is taken to be 1 everywhere."""
    _check_grad_length(x, grad_output, kernel_size)
    return _kernel_grad(x, np.ones_like(grad_output), kernel_size)


def correlate1d_kernel_grad_mean(x, grad_output, kernel_size):
    """Averages over the outputs instead of summing."""
    _check_grad_length(x, grad_output, kernel_size)
    return _kernel_grad(x, grad_output, kernel_size) / len(grad_output)


def correlate1d_kernel_grad_last_output_missed(x, grad_output, kernel_size):
    """Off by one: the sum runs over all outputs but the last."""
    _check_grad_length(x, grad_output, kernel_size)
    return _kernel_grad(x, grad_output, kernel_size, outputs=len(grad_output) - 1)


def correlate1d_kernel_grad_no_length_check(x, grad_output, kernel_size):
    """Right formula, but a grad_output of the wrong length is silently accepted."""
    return _kernel_grad(x, grad_output, kernel_size)


# ----------------------------------------------------------------------------------------
# conv2d_layer_cost
# ----------------------------------------------------------------------------------------


def _out(input_size, kernel_size, stride, padding):
    return (input_size + 2 * padding - kernel_size) // stride + 1


def conv2d_layer_cost_bias_in_macs(in_channels, out_channels, kernel_size, input_size, stride=1, padding=0,
                                   bias=True):
    """Bias additions counted as MACs (one per output value)."""
    n = _out(input_size, kernel_size, stride, padding)
    per_filter = in_channels * kernel_size ** 2
    return out_channels * (per_filter + bias), n * n * out_channels * (per_filter + bias)


def conv2d_layer_cost_bias_forgotten(in_channels, out_channels, kernel_size, input_size, stride=1, padding=0,
                                     bias=True):
    """The biases are left out of the parameter count."""
    n = _out(input_size, kernel_size, stride, padding)
    per_filter = in_channels * kernel_size ** 2
    return out_channels * per_filter, n * n * out_channels * per_filter


def conv2d_layer_cost_one_shared_bias(in_channels, out_channels, kernel_size, input_size, stride=1, padding=0,
                                      bias=True):
    """One bias for the whole layer instead of one per output channel."""
    n = _out(input_size, kernel_size, stride, padding)
    per_filter = in_channels * kernel_size ** 2
    return out_channels * per_filter + int(bias), n * n * out_channels * per_filter


def conv2d_layer_cost_stride_ignored(in_channels, out_channels, kernel_size, input_size, stride=1, padding=0,
                                     bias=True):
    """The output size is computed without the stride."""
    n = _out(input_size, kernel_size, 1, padding)
    per_filter = in_channels * kernel_size ** 2
    return out_channels * (per_filter + bias), n * n * out_channels * per_filter


def conv2d_layer_cost_padding_ignored(in_channels, out_channels, kernel_size, input_size, stride=1, padding=0,
                                      bias=True):
    """The output size is computed without the padding."""
    n = _out(input_size, kernel_size, stride, 0)
    per_filter = in_channels * kernel_size ** 2
    return out_channels * (per_filter + bias), n * n * out_channels * per_filter


def conv2d_layer_cost_macs_per_position(in_channels, out_channels, kernel_size, input_size, stride=1, padding=0,
                                        bias=True):
    """MACs of one output position only: the output's area is forgotten."""
    per_filter = in_channels * kernel_size ** 2
    return out_channels * (per_filter + bias), out_channels * per_filter


def conv2d_layer_cost_floats(in_channels, out_channels, kernel_size, input_size, stride=1, padding=0, bias=True):
    """True division in the output size: the counts come back as floats (e.g. 460800.0)."""
    n = math.floor((input_size + 2 * padding - kernel_size) / stride + 1.0) * 1.0
    per_filter = in_channels * kernel_size ** 2
    return out_channels * (per_filter + bias) * 1.0, n * n * out_channels * per_filter



# ========================================================================================
# Chapter 2: a typology of convolutions
# ========================================================================================

# ----------------------------------------------------------------------------------------
# conv1d_multichannel
# ----------------------------------------------------------------------------------------


def _conv1d(x, weight, bias, *, stride, dilation, length=None, flip=False):
    """Helper of the mutants below: a 1D convolution with optional flaws."""
    C, L = x.shape
    D, _, k = weight.shape
    span = dilation * (k - 1) + 1
    n = (L - span) // stride + 1 if length is None else length
    kernel = weight[:, :, ::-1] if flip else weight
    y = np.zeros((D, n))
    for t in range(n):
        y[:, t] = np.sum(kernel * x[:, t * stride:t * stride + span:dilation], axis=(1, 2)) + bias
    return y


def _check_conv1d(x, weight, dilation):
    if weight.shape[1] != x.shape[0]:
        raise ValueError("weight and x have different numbers of channels")
    if dilation * (weight.shape[2] - 1) + 1 > x.shape[1]:
        raise ValueError("the dilated kernel is longer than the signal")


def conv1d_multichannel_dilation_ignored(x, weight, bias, stride=1, dilation=1):
    """The dilation is ignored: the taps are taken next to each other."""
    _check_conv1d(x, weight, 1)
    return _conv1d(x, weight, bias, stride=stride, dilation=1)


def conv1d_multichannel_span_d_times_k(x, weight, bias, stride=1, dilation=1):
    """The dilated kernel's extent taken as dilation * k: the last outputs are missing."""
    _check_conv1d(x, weight, dilation)
    C, L = x.shape
    k = weight.shape[2]
    return _conv1d(x, weight, bias, stride=stride, dilation=dilation,
                   length=max((L - dilation * k) // stride + 1, 0))


def conv1d_multichannel_stride_and_dilation_swapped(x, weight, bias, stride=1, dilation=1):
    """Stride and dilation swapped: the window jumps by the dilation, its taps are stride apart."""
    _check_conv1d(x, weight, stride)
    return _conv1d(x, weight, bias, stride=dilation, dilation=stride)


def conv1d_multichannel_stride_ignored(x, weight, bias, stride=1, dilation=1):
    """The stride is ignored: an output at every position."""
    _check_conv1d(x, weight, dilation)
    return _conv1d(x, weight, bias, stride=1, dilation=dilation)


def conv1d_multichannel_flipped_kernel(x, weight, bias, stride=1, dilation=1):
    """True convolution: each kernel is reversed."""
    _check_conv1d(x, weight, dilation)
    return _conv1d(x, weight, bias, stride=stride, dilation=dilation, flip=True)


def conv1d_multichannel_first_channel_only(x, weight, bias, stride=1, dilation=1):
    """Only the first input channel is used, as for a univariate series."""
    _check_conv1d(x, weight, dilation)
    return _conv1d(x[:1], weight[:, :1], bias, stride=stride, dilation=dilation)


def conv1d_multichannel_no_checks(x, weight, bias, stride=1, dilation=1):
    """Right values, but bad inputs are not rejected: a one-channel weight broadcasts, and a
    dilated kernel longer than the signal gives an empty output."""
    L, k = x.shape[1], weight.shape[2]
    return _conv1d(x, weight, bias, stride=stride, dilation=dilation,
                   length=max((L - dilation * (k - 1) - 1) // stride + 1, 0))


# ----------------------------------------------------------------------------------------
# im2col
# ----------------------------------------------------------------------------------------


def _patches(x, kernel_size, stride):
    """Helper: the patches, (H_out, W_out, C, kh, kw), and a size check."""
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    C, H, W = x.shape
    if kh > H or kw > W:
        raise ValueError("kernel larger than the image")
    H_out, W_out = (H - kh) // stride + 1, (W - kw) // stride + 1
    out = np.empty((H_out, W_out, C, kh, kw), dtype=x.dtype)
    for i in range(H_out):
        for j in range(W_out):
            out[i, j] = x[:, i * stride:i * stride + kh, j * stride:j * stride + kw]
    return out


def im2col_channels_last(x, kernel_size, stride=1):
    """Each patch flattened channels last, (u, v, c), instead of (c, u, v)."""
    p = _patches(x, kernel_size, stride)
    H_out, W_out, C, kh, kw = p.shape
    return p.transpose(3, 4, 2, 0, 1).reshape(kh * kw * C, H_out * W_out)


def im2col_columns_column_major(x, kernel_size, stride=1):
    """The columns are ordered column by column (j, i) instead of row by row (i, j)."""
    p = _patches(x, kernel_size, stride)
    H_out, W_out, C, kh, kw = p.shape
    return p.transpose(2, 3, 4, 1, 0).reshape(C * kh * kw, W_out * H_out)


def im2col_rows_and_columns_swapped(x, kernel_size, stride=1):
    """One patch per row instead of per column: the (L, C * kh * kw) matrix."""
    p = _patches(x, kernel_size, stride)
    H_out, W_out, C, kh, kw = p.shape
    return p.reshape(H_out * W_out, C * kh * kw)


def im2col_stride_ignored(x, kernel_size, stride=1):
    """The stride is ignored: patches at every position."""
    p = _patches(x, kernel_size, 1)
    H_out, W_out, C, kh, kw = p.shape
    return p.transpose(2, 3, 4, 0, 1).reshape(C * kh * kw, H_out * W_out)


def im2col_patches_transposed(x, kernel_size, stride=1):
    """Each patch flattened column by column, (c, v, u), as if the kernel were transposed."""
    p = _patches(x, kernel_size, stride)
    H_out, W_out, C, kh, kw = p.shape
    return p.transpose(2, 4, 3, 0, 1).reshape(C * kw * kh, H_out * W_out)


def im2col_always_float64(x, kernel_size, stride=1):
    """Right values, but the matrix is float64 whatever the image's dtype."""
    p = _patches(x, kernel_size, stride).astype(np.float64)
    H_out, W_out, C, kh, kw = p.shape
    return p.transpose(2, 3, 4, 0, 1).reshape(C * kh * kw, H_out * W_out)


# ----------------------------------------------------------------------------------------
# conv3d_multichannel
# ----------------------------------------------------------------------------------------


def _conv3d(x, weight, bias, stride):
    """Helper: a correct 3D convolution (stride a 3-tuple)."""
    C, D, H, W = x.shape
    O, _, kd, kh, kw = weight.shape
    sd, sh, sw = stride
    out = ((D - kd) // sd + 1, (H - kh) // sh + 1, (W - kw) // sw + 1)
    y = np.zeros((O, *out))
    for t in range(out[0]):
        for i in range(out[1]):
            for j in range(out[2]):
                block = x[:, t * sd:t * sd + kd, i * sh:i * sh + kh, j * sw:j * sw + kw]
                y[:, t, i, j] = np.sum(weight * block, axis=(1, 2, 3, 4)) + bias
    return y


def _stride3(stride):
    return (stride,) * 3 if isinstance(stride, int) else tuple(stride)


def _check_conv3d(x, weight):
    if weight.shape[1] != x.shape[0]:
        raise ValueError("weight and x have different numbers of channels")


def conv3d_multichannel_stride_reversed(x, weight, bias, stride=1):
    """A stride tuple read in reverse order, (sw, sh, sd), as if the axes were (W, H, D)."""
    _check_conv3d(x, weight)
    return _conv3d(x, weight, bias, _stride3(stride)[::-1])


def conv3d_multichannel_depth_stride_ignored(x, weight, bias, stride=1):
    """Only the spatial axes are strided; the depth (time) axis moves one step at a time."""
    _check_conv3d(x, weight)
    s = _stride3(stride)
    return _conv3d(x, weight, bias, (1, s[1], s[2]))


def conv3d_multichannel_kernel_axes_swapped(x, weight, bias, stride=1):
    """The kernel's depth and height axes swapped (a transposed kernel layout)."""
    _check_conv3d(x, weight)
    return _conv3d(x, weight.transpose(0, 1, 3, 2, 4), bias, _stride3(stride))


def conv3d_multichannel_flipped_kernel(x, weight, bias, stride=1):
    """True convolution: each kernel is reversed along all three axes."""
    _check_conv3d(x, weight)
    return _conv3d(x, weight[:, :, ::-1, ::-1, ::-1], bias, _stride3(stride))


def conv3d_multichannel_first_frame_of_kernel(x, weight, bias, stride=1):
    """Only the kernel's first slice in depth is used, as if it were a 2D kernel applied to
    each frame (the output keeps the shape of the 3D convolution's)."""
    _check_conv3d(x, weight)
    only_first = np.zeros_like(weight)
    only_first[:, :, 0] = weight[:, :, 0]
    return _conv3d(x, only_first, bias, _stride3(stride))


def conv3d_multichannel_no_bias(x, weight, bias, stride=1):
    """The bias is dropped."""
    _check_conv3d(x, weight)
    return _conv3d(x, weight, np.zeros_like(bias), _stride3(stride))


def conv3d_multichannel_no_channel_check(x, weight, bias, stride=1):
    """Right values, but a weight with the wrong number of channels is not rejected."""
    return _conv3d(x, weight, bias, _stride3(stride))


# ----------------------------------------------------------------------------------------
# causal_conv1d
# ----------------------------------------------------------------------------------------


def _causal(x, weight, dilation, *, left, right, flip=False):
    """Helper: pad x with `left` and `right` zeros, then a valid dilated convolution."""
    C, T = x.shape
    D, _, k = weight.shape
    xp = np.concatenate([np.zeros((C, left)), x, np.zeros((C, right))], axis=1)
    span = dilation * (k - 1) + 1
    kernel = weight[:, :, ::-1] if flip else weight
    n = xp.shape[1] - span + 1
    y = np.zeros((D, max(n, 0)))
    for t in range(n):
        y[:, t] = np.sum(kernel * xp[:, t:t + span:dilation], axis=(1, 2))
    return y


def _check_causal(x, weight):
    if weight.shape[1] != x.shape[0]:
        raise ValueError("weight and x have different numbers of channels")


def causal_conv1d_padded_on_the_right(x, weight, dilation=1):
    """The zeros are added at the end (the future): output t sees x[t], ..., x[t + pad]."""
    _check_causal(x, weight)
    return _causal(x, weight, dilation, left=0, right=dilation * (weight.shape[2] - 1))


def causal_conv1d_same_padding(x, weight, dilation=1):
    """'same' padding, half on each side: centred, not causal."""
    _check_causal(x, weight)
    pad = dilation * (weight.shape[2] - 1)
    return _causal(x, weight, dilation, left=pad // 2, right=pad - pad // 2)


def causal_conv1d_padding_ignores_dilation(x, weight, dilation=1):
    """Left padding k - 1, as without dilation: the output is too short when dilation > 1."""
    _check_causal(x, weight)
    return _causal(x, weight, dilation, left=weight.shape[2] - 1, right=0)


def causal_conv1d_flipped_kernel(x, weight, dilation=1):
    """The kernel is reversed: the first tap meets the present sample."""
    _check_causal(x, weight)
    return _causal(x, weight, dilation, left=dilation * (weight.shape[2] - 1), right=0, flip=True)


def causal_conv1d_one_step_late(x, weight, dilation=1):
    """Padded by dilation * k instead of dilation * (k - 1), then cut to T: every output is
    delayed by `dilation` steps."""
    _check_causal(x, weight)
    return _causal(x, weight, dilation, left=dilation * weight.shape[2], right=0)[:, :x.shape[1]]


def causal_conv1d_no_padding(x, weight, dilation=1):
    """No padding at all: a valid convolution, shorter than the input."""
    _check_causal(x, weight)
    return _causal(x, weight, dilation, left=0, right=0)


# ----------------------------------------------------------------------------------------
# receptive_field
# ----------------------------------------------------------------------------------------


def _check_layers(layers):
    for k, s, d in layers:
        if k < 1 or s < 1 or d < 1:
            raise ValueError("kernel_size, stride and dilation must be >= 1")


def receptive_field_jumps_added(layers):
    """The distance between units grows by adding the strides instead of multiplying them."""
    _check_layers(layers)
    size, jump = 1, 1
    for k, s, d in layers:
        size += d * (k - 1) * jump
        jump += s - 1
    return size


def receptive_field_dilation_ignored(layers):
    """The dilation is ignored: each layer widens the field by k - 1 units only."""
    _check_layers(layers)
    size, jump = 1, 1
    for k, s, d in layers:
        size += (k - 1) * jump
        jump *= s
    return size


def receptive_field_extent_d_times_k(layers):
    """The dilated kernel's extent taken as d * k instead of d * (k - 1) + 1."""
    _check_layers(layers)
    size, jump = 1, 1
    for k, s, d in layers:
        size += (d * k - 1) * jump
        jump *= s
    return size


def receptive_field_own_stride_counted(layers):
    """The layer's own stride already spreads its taps (the jump is updated too early)."""
    _check_layers(layers)
    size, jump = 1, 1
    for k, s, d in layers:
        jump *= s
        size += d * (k - 1) * jump
    return size


def receptive_field_kernel_sizes_summed(layers):
    """Strides and dilations ignored and the kernel sizes simply added up (3 + 3 = 6 for
    two 3 x 3 layers instead of 5)."""
    _check_layers(layers)
    return sum(k for k, s, d in layers) if layers else 1


def receptive_field_look_back(layers):
    """Off by one: the number of past steps seen (size - 1), without the present."""
    _check_layers(layers)
    size, jump = 1, 1
    for k, s, d in layers:
        size += d * (k - 1) * jump
        jump *= s
    return size - 1


def receptive_field_float(layers):
    """Right value, wrong type: computed with np.prod, it comes back as a numpy float."""
    _check_layers(layers)
    size = 1.0
    for i, (k, s, d) in enumerate(layers):
        size += d * (k - 1) * np.prod([float(l[1]) for l in layers[:i]])
    return size


def receptive_field_no_check(layers):
    """Right formula, but a stride or kernel size of 0 is not rejected."""
    size, jump = 1, 1
    for k, s, d in layers:
        size += d * (k - 1) * jump
        jump *= s
    return size


# ----------------------------------------------------------------------------------------
# factorize_kernel
# ----------------------------------------------------------------------------------------


def _rank_one_or_raise(kernel, column, row):
    if np.max(np.abs(np.outer(column, row) - kernel)) > 1e-9 * np.max(np.abs(kernel)):
        raise ValueError("kernel is not separable")


def _svd_factors(kernel):
    u, s, vt = np.linalg.svd(np.asarray(kernel, dtype=np.float64))
    return u[:, 0] * s[0], vt[0].copy()


def factorize_kernel_swapped(kernel):
    """The factors in the wrong order, (row, column): np.outer gives the kernel transposed."""
    column, row = _svd_factors(kernel)
    _rank_one_or_raise(kernel, column, row)
    return row, column


def factorize_kernel_no_rank_check(kernel):
    """The best rank-one approximation (SVD), returned even when the kernel is not separable."""
    return _svd_factors(kernel)


def factorize_kernel_divides_by_corner(kernel):
    """Scales by the top-left entry: fails (nan) when that entry is zero."""
    kernel = np.asarray(kernel, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        column, row = kernel[:, 0].copy(), kernel[0, :] / kernel[0, 0]
    if np.all(np.isfinite(row)):
        _rank_one_or_raise(kernel, column, row)
    return column, row


def factorize_kernel_singular_value_forgotten(kernel):
    """The singular vectors of the SVD without the singular value: the scale is wrong."""
    u, s, vt = np.linalg.svd(np.asarray(kernel, dtype=np.float64))
    if s.size > 1 and s[1] > 1e-9 * s[0]:
        raise ValueError("kernel is not separable")
    return u[:, 0].copy(), vt[0].copy()


def factorize_kernel_first_row_and_column(kernel):
    """The first column and the first row, not rescaled: their outer product is the kernel
    times its top-left entry."""
    kernel = np.asarray(kernel, dtype=np.float64)
    column, row = _svd_factors(kernel)
    _rank_one_or_raise(kernel, column, row)
    return kernel[:, 0].copy(), kernel[0, :].copy()


def factorize_kernel_two_dimensional(kernel):
    """Returns the factors as a (h, 1) column and a (1, w) row instead of 1D arrays."""
    column, row = _svd_factors(kernel)
    _rank_one_or_raise(kernel, column, row)
    return column[:, None], row[None, :]


def factorize_kernel_keeps_integer_dtype(kernel):
    """Pivots on the largest entry without converting to float: an integer kernel gives an
    integer column."""
    kernel = np.asarray(kernel)
    r, c = np.unravel_index(np.argmax(np.abs(kernel)), kernel.shape)
    column, row = kernel[:, c].copy(), kernel[r, :] / kernel[r, c]
    _rank_one_or_raise(kernel, column, row)
    return column, row


# ----------------------------------------------------------------------------------------
# depthwise_conv2d
# ----------------------------------------------------------------------------------------


def _depthwise(x, weight, bias, padding, *, source=None, flip=False):
    """Helper: output o reads input channel source(o, m, C) (default o // m)."""
    C, H, W = x.shape
    D, _, kh, kw = weight.shape
    m = max(D // C, 1)
    source = source or (lambda o, m, C: o // m)
    xp = np.pad(x, ((0, 0), (padding, padding), (padding, padding)))
    kernel = weight[:, :, ::-1, ::-1] if flip else weight
    H_out, W_out = xp.shape[1] - kh + 1, xp.shape[2] - kw + 1
    y = np.zeros((D, H_out, W_out))
    for o in range(D):
        for i in range(H_out):
            for j in range(W_out):
                y[o, i, j] = np.sum(xp[source(o, m, C), i:i + kh, j:j + kw] * kernel[o, 0]) + bias[o]
    return y


def _check_depthwise(x, weight):
    if weight.shape[1] != 1 or weight.shape[0] % x.shape[0] != 0:
        raise ValueError("weight must have shape (m * C, 1, kh, kw)")


def depthwise_conv2d_mixes_channels(x, weight, bias, padding=0):
    """Each kernel is applied to every input channel and the results summed, like a full
    convolution with shared kernels."""
    _check_depthwise(x, weight)
    y = sum(_depthwise(x, weight, np.zeros_like(bias), padding, source=lambda o, m, C, c=c: c)
            for c in range(x.shape[0]))
    return y + bias[:, None, None]


def depthwise_conv2d_channels_interleaved(x, weight, bias, padding=0):
    """Output o reads input channel o % C instead of o // m (the multiplier's outputs are
    interleaved the wrong way)."""
    _check_depthwise(x, weight)
    return _depthwise(x, weight, bias, padding, source=lambda o, m, C: o % C)


def depthwise_conv2d_no_bias(x, weight, bias, padding=0):
    """The bias is dropped."""
    _check_depthwise(x, weight)
    return _depthwise(x, weight, np.zeros_like(bias), padding)


def depthwise_conv2d_padding_ignored(x, weight, bias, padding=0):
    """The padding is ignored: always a valid convolution."""
    _check_depthwise(x, weight)
    return _depthwise(x, weight, bias, 0)


def depthwise_conv2d_flipped_kernel(x, weight, bias, padding=0):
    """True convolution: each kernel is rotated by 180 degrees."""
    _check_depthwise(x, weight)
    return _depthwise(x, weight, bias, padding, flip=True)


def depthwise_conv2d_no_shape_check(x, weight, bias, padding=0):
    """Right values for good input, but a full convolution's weight (D, C, kh, kw) or a D that
    is not a multiple of C is accepted silently."""
    return _depthwise(x, weight, bias, padding, source=lambda o, m, C: min(o // m, C - 1))


# ----------------------------------------------------------------------------------------
# conv_transpose_matrix
# ----------------------------------------------------------------------------------------


def _transpose_matrix(weight, n, stride, padding, *, crop_top=None, n_out=None, flip=False):
    k = len(weight)
    crop_top = padding if crop_top is None else crop_top
    n_out = (n - 1) * stride - 2 * padding + k if n_out is None else n_out
    if n_out < 1:
        raise ValueError("empty output")
    w = weight[::-1] if flip else weight
    M = np.zeros((n_out, n))
    for i in range(n):
        for j in range(k):
            row = i * stride + j - crop_top
            if 0 <= row < n_out:
                M[row, i] = w[j]
    return M


def conv_transpose_matrix_not_transposed(weight, input_size, stride=1, padding=0):
    """Returns K, the (n, n_out) matrix of the convolution, instead of its transpose K^T."""
    return _transpose_matrix(weight, input_size, stride, padding).T.copy()


def conv_transpose_matrix_flipped_kernel(weight, input_size, stride=1, padding=0):
    """Each column holds the kernel back to front, as in a true convolution."""
    return _transpose_matrix(weight, input_size, stride, padding, flip=True)


def conv_transpose_matrix_stride_ignored(weight, input_size, stride=1, padding=0):
    """The columns shift by one row instead of `stride` rows."""
    return _transpose_matrix(weight, input_size, 1, padding)


def conv_transpose_matrix_padding_ignored(weight, input_size, stride=1, padding=0):
    """The padding is ignored: nothing is cropped."""
    return _transpose_matrix(weight, input_size, stride, 0)


def conv_transpose_matrix_cropped_at_the_top_only(weight, input_size, stride=1, padding=0):
    """The padding is cropped once, from the top only, instead of from both ends."""
    n_out = (input_size - 1) * stride - padding + len(weight)
    return _transpose_matrix(weight, input_size, stride, padding, n_out=n_out)


def conv_transpose_matrix_no_check(weight, input_size, stride=1, padding=0):
    """Right matrix, but an empty output is returned instead of rejected."""
    k = len(weight)
    n_out = max((input_size - 1) * stride - 2 * padding + k, 0)
    M = np.zeros((n_out, input_size))
    for i in range(input_size):
        for j in range(k):
            row = i * stride + j - padding
            if 0 <= row < n_out:
                M[row, i] = weight[j]
    return M


# ----------------------------------------------------------------------------------------
# conv_transpose2d
# ----------------------------------------------------------------------------------------


def _overlap_add(x, weight, stride, padding, *, step=None, flip=False, overwrite=False, crop=None):
    """Helper: overlap-add with optional flaws; `step` is the spacing of the painted copies."""
    C_in, H, W = x.shape
    _, C_out, kh, kw = weight.shape
    step = stride if step is None else step
    kernel = weight[:, :, ::-1, ::-1] if flip else weight
    full = np.zeros((C_out, (H - 1) * stride + kh, (W - 1) * stride + kw))
    for c in range(C_in):
        for i in range(H):
            for j in range(W):
                region = (slice(None), slice(i * step, i * step + kh), slice(j * step, j * step + kw))
                if overwrite:
                    full[region] = x[c, i, j] * kernel[c]
                else:
                    full[region] += x[c, i, j] * kernel[c]
    H_out, W_out = full.shape[1] - 2 * padding, full.shape[2] - 2 * padding
    top = padding if crop is None else crop
    return full[:, top:top + H_out, top:top + W_out]


def _check_transpose(x, weight):
    if weight.shape[0] != x.shape[0]:
        raise ValueError("weight.shape[0] must be the channels of x")


def conv_transpose2d_copies_not_spaced(x, weight, stride=1, padding=0):
    """Overlap-add without stride spacing: the copies are painted one position apart
    (the output has the right size, but its far side stays empty)."""
    _check_transpose(x, weight)
    return _overlap_add(x, weight, stride, padding, step=1)


def conv_transpose2d_stride_ignored(x, weight, stride=1, padding=0):
    """The stride is ignored altogether: the output is no larger than with stride 1."""
    _check_transpose(x, weight)
    return _overlap_add(x, weight, 1, padding)


def conv_transpose2d_overlaps_overwrite(x, weight, stride=1, padding=0):
    """Overlapping copies overwrite each other (=) instead of adding up (+=)."""
    _check_transpose(x, weight)
    return _overlap_add(x, weight, stride, padding, overwrite=True)


def conv_transpose2d_flipped_kernel(x, weight, stride=1, padding=0):
    """Each painted kernel is rotated by 180 degrees."""
    _check_transpose(x, weight)
    return _overlap_add(x, weight, stride, padding, flip=True)


def conv_transpose2d_cropped_top_left_only(x, weight, stride=1, padding=0):
    """All 2 * padding rows and columns are cropped at the top and left, none at the
    bottom and right."""
    _check_transpose(x, weight)
    return _overlap_add(x, weight, stride, padding, crop=2 * padding)


def conv_transpose2d_forward_weight_layout(x, weight, stride=1, padding=0):
    """The weight read in the layout of a forward convolution, (C_out, C_in, kh, kw)."""
    if weight.shape[1] != x.shape[0]:
        raise ValueError("weight.shape[1] must be the channels of x")
    return _overlap_add(x, weight.transpose(1, 0, 2, 3), stride, padding)


def conv_transpose2d_overwrites_input(x, weight, stride=1, padding=0):
    """Right values, but the input is used as scratch space: each value is set to zero once
    it has been painted, so the caller's array is changed."""
    _check_transpose(x, weight)
    C_in, H, W = x.shape
    _, C_out, kh, kw = weight.shape
    full = np.zeros((C_out, (H - 1) * stride + kh, (W - 1) * stride + kw))
    for c in range(C_in):
        for i in range(H):
            for j in range(W):
                full[:, i * stride:i * stride + kh, j * stride:j * stride + kw] += x[c, i, j] * weight[c]
                x[c, i, j] = 0.0
    H_out, W_out = full.shape[1] - 2 * padding, full.shape[2] - 2 * padding
    return full[:, padding:padding + H_out, padding:padding + W_out]


# ----------------------------------------------------------------------------------------
# chapter 3: vgg_features_cost
# ----------------------------------------------------------------------------------------


def _vgg_cost(cfg, in_channels=3, input_size=224, batch_norm=False, *, pool=lambda n: n // 2, padding=1,
              k=9, bias=1, bn_params=2):
    """Helper of the mutants below: the bookkeeping with optional flaws."""
    H, W = (input_size, input_size) if isinstance(input_size, int) else input_size
    if H < 1 or W < 1:
        raise ValueError("bad input size")
    C, params = in_channels, 0
    for entry in cfg:
        if entry == "M":
            if H < 2 or W < 2:
                raise ValueError("the map vanishes")
            H, W = pool(H), pool(W)
        elif isinstance(entry, int) and entry > 0:
            params += entry * (C * k + bias) + (bn_params * entry if batch_norm else 0)
            H, W = H + 2 * padding - 2, W + 2 * padding - 2
            C = entry
        else:
            raise ValueError("bad entry")
    return (C, H, W), params


def vgg_features_cost_pool_rounds_up(cfg, in_channels=3, input_size=224, batch_norm=False):
    """Max pooling rounds the size up (ceil mode) instead of down."""
    return _vgg_cost(cfg, in_channels, input_size, batch_norm, pool=lambda n: -(-n // 2))


def vgg_features_cost_no_padding(cfg, in_channels=3, input_size=224, batch_norm=False):
    """The 3 x 3 convolutions taken as valid (no padding): each shrinks the map by 2."""
    return _vgg_cost(cfg, in_channels, input_size, batch_norm, padding=0)


def vgg_features_cost_kernel_not_squared(cfg, in_channels=3, input_size=224, batch_norm=False):
    """A 3 x 3 kernel counted as 3 weights per input channel instead of 9."""
    return _vgg_cost(cfg, in_channels, input_size, batch_norm, k=3)


def vgg_features_cost_bias_forgotten(cfg, in_channels=3, input_size=224, batch_norm=False):
    """The convolutions' biases are not counted."""
    return _vgg_cost(cfg, in_channels, input_size, batch_norm, bias=0)


def vgg_features_cost_running_stats_counted(cfg, in_channels=3, input_size=224, batch_norm=False):
    """Batch norm counted with 4 numbers per channel: the running mean and variance are
    buffers, not parameters."""
    return _vgg_cost(cfg, in_channels, input_size, batch_norm, bn_params=4)


def vgg_features_cost_always_rgb(cfg, in_channels=3, input_size=224, batch_norm=False):
    """in_channels ignored: the first layer always sees 3 channels."""
    return _vgg_cost(cfg, 3, input_size, batch_norm)


def vgg_features_cost_channels_last(cfg, in_channels=3, input_size=224, batch_norm=False):
    """The shape returned as (H, W, C), channels last."""
    (C, H, W), params = _vgg_cost(cfg, in_channels, input_size, batch_norm)
    return (H, W, C), params


# ----------------------------------------------------------------------------------------
# conv1x1
# ----------------------------------------------------------------------------------------


def _check_1x1(x, weight, bias):
    if weight.shape[1:] != (x.shape[1], 1, 1) or bias.shape != (weight.shape[0],):
        raise ValueError("bad weight")


def conv1x1_reshape_without_transpose(x, weight, bias):
    """The pixels gathered with a plain reshape (N, H * W, C) of the (N, C, H, W) array,
    which scrambles channels and positions."""
    _check_1x1(x, weight, bias)
    N, C, H, W = x.shape
    y = x.reshape(N, H * W, C) @ weight[:, :, 0, 0].T + bias  # (N, H * W, D)
    return y.transpose(0, 2, 1).reshape(N, -1, H, W)


def conv1x1_weight_transposed(x, weight, bias):
    """The (D, C) weight matrix used as if it were (C, D): pixels @ W instead of pixels @ W.T
    (it fits only when C = D)."""
    _check_1x1(x, weight, bias)
    N, C, H, W = x.shape
    y = x.transpose(0, 2, 3, 1).reshape(-1, C) @ weight[:, :, 0, 0] + bias
    return y.reshape(N, H, W, -1).transpose(0, 3, 1, 2)


def conv1x1_no_bias(x, weight, bias):
    """The bias is forgotten."""
    _check_1x1(x, weight, bias)
    return np.einsum('dc,nchw->ndhw', weight[:, :, 0, 0], x)


def conv1x1_sums_the_batch(x, weight, bias):
    """The images of the batch are summed into each output (the batch axis contracted too)."""
    _check_1x1(x, weight, bias)
    y = np.einsum('dc,nchw->dhw', weight[:, :, 0, 0], x) + bias[:, None, None]
    return np.broadcast_to(y, (x.shape[0],) + y.shape).copy()


def conv1x1_always_float64(x, weight, bias):
    """Right values, but always float64 (float32 inputs come back as float64)."""
    _check_1x1(x, weight, bias)
    return np.einsum('dc,nchw->ndhw', weight[:, :, 0, 0].astype(np.float64), x.astype(np.float64)) \
        + bias[None, :, None, None]


def conv1x1_no_shape_check(x, weight, bias):
    """Right values, but a 3 x 3 weight is silently cut down to its top-left tap."""
    return np.einsum('dc,nchw->ndhw', weight[:, :, 0, 0], x) + bias[None, :, None, None]


# ----------------------------------------------------------------------------------------
# depth_concat
# ----------------------------------------------------------------------------------------


def _depth_concat(tensors, offset=lambda diff: diff // 2, mode="constant", size=max, axis=1):
    """Helper of the mutants below: DepthConcat with optional flaws."""
    if len(tensors) == 0 or any(t.ndim != 4 for t in tensors) or len({t.shape[0] for t in tensors}) > 1:
        raise ValueError("bad maps")
    H, W = size(t.shape[2] for t in tensors), size(t.shape[3] for t in tensors)
    out = []
    for t in tensors:
        dh, dw = H - t.shape[2], W - t.shape[3]
        if dh < 0 or dw < 0:  # crop (the 'smallest' mutant)
            top, left = -dh // 2, -dw // 2
            out.append(t[:, :, top:top + H, left:left + W])
            continue
        pads = ((0, 0), (0, 0), (offset(dh), dh - offset(dh)), (offset(dw), dw - offset(dw)))
        out.append(np.pad(t, pads, mode=mode))
    return np.concatenate(out, axis=axis)


def depth_concat_top_left(tensors):
    """No centring: all the zeros go at the bottom and on the right."""
    return _depth_concat(tensors, offset=lambda diff: 0)


def depth_concat_extra_zero_on_top(tensors):
    """Odd margins put the extra row on top and the extra column on the left (ceil)."""
    return _depth_concat(tensors, offset=lambda diff: -(-diff // 2))


def depth_concat_crops_to_the_smallest(tensors):
    """The maps are cropped to the smallest size instead of padded to the largest."""
    return _depth_concat(tensors, size=min)


def depth_concat_edge_padding(tensors):
    """Padded by repeating the border values instead of with zeros."""
    return _depth_concat(tensors, mode="edge")


def depth_concat_reversed(tensors):
    """The maps concatenated in reverse order."""
    return _depth_concat(list(tensors)[::-1])


def depth_concat_along_the_batch(tensors):
    """Concatenated along axis 0 (the batch) instead of the channels."""
    return _depth_concat(tensors, axis=0)


def depth_concat_pads_the_inputs_in_place(tensors):
    """Right values, but each map of the caller's list is zeroed once it has been copied
    (the list's arrays used as scratch space)."""
    out = _depth_concat(tensors)
    for t in tensors:
        t[...] = 0
    return out


# ----------------------------------------------------------------------------------------
# inception_cost
# ----------------------------------------------------------------------------------------


def _inception(in_channels, size, ch1x1, ch3x3, ch5x5, ch3x3red=None, ch5x5red=None, pool_proj=None, *,
               reduction_cost=True, square=lambda k: k * k, pool_channels=None, height_only=False,
               skip_empty=True, pool_cost=0):
    """Helper of the mutants below: the module's bookkeeping with optional flaws."""
    H, W = (size, size) if isinstance(size, int) else size
    if height_only:
        W = H
    if H < 1 or W < 1 or any(c is not None and c < 0
                             for c in [in_channels, ch1x1, ch3x3, ch5x5, ch3x3red, ch5x5red, pool_proj]):
        raise ValueError("bad arguments")
    mults = H * W * in_channels * ch1x1
    for red, out, k in [(ch3x3red, ch3x3, 3), (ch5x5red, ch5x5, 5)]:
        if out == 0 and skip_empty:
            continue
        if red is None:
            mults += H * W * in_channels * out * square(k)
        else:
            mults += (H * W * in_channels * red if reduction_cost else 0) + H * W * red * out * square(k)
    pooled = in_channels if pool_proj is None else pool_proj
    if pool_proj is not None:
        mults += H * W * in_channels * pool_proj
    if pool_channels is not None:
        pooled = pool_channels(in_channels, pool_proj)
    mults += pool_cost * H * W * in_channels
    return int(ch1x1 + ch3x3 + ch5x5 + pooled), int(mults)


def inception_cost_reduction_is_free(in_channels, size, ch1x1, ch3x3, ch5x5, ch3x3red=None, ch5x5red=None,
                                     pool_proj=None):
    """The 1 x 1 reductions' own multiplications are forgotten."""
    return _inception(in_channels, size, ch1x1, ch3x3, ch5x5, ch3x3red, ch5x5red, pool_proj,
                      reduction_cost=False)


def inception_cost_kernel_not_squared(in_channels, size, ch1x1, ch3x3, ch5x5, ch3x3red=None, ch5x5red=None,
                                      pool_proj=None):
    """A k x k kernel counted as k multiplications per input map instead of k * k."""
    return _inception(in_channels, size, ch1x1, ch3x3, ch5x5, ch3x3red, ch5x5red, pool_proj, square=lambda k: k)


def inception_cost_pool_branch_dropped(in_channels, size, ch1x1, ch3x3, ch5x5, ch3x3red=None, ch5x5red=None,
                                       pool_proj=None):
    """The naive module's pooled maps are not counted among the outputs."""
    return _inception(in_channels, size, ch1x1, ch3x3, ch5x5, ch3x3red, ch5x5red, pool_proj,
                      pool_channels=lambda c, p: 0 if p is None else p)


def inception_cost_pool_always_passes_the_input(in_channels, size, ch1x1, ch3x3, ch5x5, ch3x3red=None,
                                                ch5x5red=None, pool_proj=None):
    """The pooling branch always passes in_channels maps, even after its projection."""
    return _inception(in_channels, size, ch1x1, ch3x3, ch5x5, ch3x3red, ch5x5red, pool_proj,
                      pool_channels=lambda c, p: c)


def inception_cost_square_maps_only(in_channels, size, ch1x1, ch3x3, ch5x5, ch3x3red=None, ch5x5red=None,
                                    pool_proj=None):
    """The maps assumed square: H * H instead of H * W."""
    return _inception(in_channels, size, ch1x1, ch3x3, ch5x5, ch3x3red, ch5x5red, pool_proj, height_only=True)


def inception_cost_pooling_costs_nine(in_channels, size, ch1x1, ch3x3, ch5x5, ch3x3red=None, ch5x5red=None,
                                      pool_proj=None):
    """The 3 x 3 max pooling counted as 9 multiplications per value."""
    return _inception(in_channels, size, ch1x1, ch3x3, ch5x5, ch3x3red, ch5x5red, pool_proj, pool_cost=9)


def inception_cost_float(in_channels, size, ch1x1, ch3x3, ch5x5, ch3x3red=None, ch5x5red=None, pool_proj=None):
    """Right values, but returned as floats."""
    out, mults = _inception(in_channels, size, ch1x1, ch3x3, ch5x5, ch3x3red, ch5x5red, pool_proj)
    return float(out), float(mults)


# ----------------------------------------------------------------------------------------
# basic_block_forward
# ----------------------------------------------------------------------------------------


def _basic_block(x, params, stride=1, eps=1e-5, *, final_relu=True, relu_before_add=False, conv2_stride=False,
                 batch_stats=False, projection_bn=True, projection_when_needed=False):
    """Helper of the mutants below: the block with optional flaws."""
    import torch.nn.functional as F

    def bn(z, prefix):
        if batch_stats:
            mean, var = z.mean(dim=(0, 2, 3)), z.var(dim=(0, 2, 3), unbiased=False)
        else:
            mean, var = params[f"{prefix}.running_mean"], params[f"{prefix}.running_var"]
        scale = params[f"{prefix}.weight"] / (var + eps).sqrt()
        return (z - mean[None, :, None, None]) * scale[None, :, None, None] + params[f"{prefix}.bias"][None, :, None, None]

    s1, s2 = (1, stride) if conv2_stride else (stride, 1)
    out = F.relu(bn(F.conv2d(x, params["conv1.weight"], stride=s1, padding=1), "bn1"))
    out = bn(F.conv2d(out, params["conv2.weight"], stride=s2, padding=1), "bn2")
    if relu_before_add:
        out = F.relu(out)
    has_projection = "downsample.0.weight" in params
    if has_projection and not (projection_when_needed and out.shape == x.shape):
        shortcut = F.conv2d(x, params["downsample.0.weight"], stride=stride)
        if projection_bn:
            shortcut = bn(shortcut, "downsample.1")
    elif out.shape == x.shape:
        shortcut = x
    else:
        raise ValueError("needs a projection")
    out = out + shortcut
    return F.relu(out) if final_relu else out


def basic_block_forward_no_final_relu(x, params, stride=1, eps=1e-5):
    """The ReLU after the addition is forgotten."""
    return _basic_block(x, params, stride, eps, final_relu=False)


def basic_block_forward_relu_before_the_addition(x, params, stride=1, eps=1e-5):
    """The ReLU applied to F(x) before the addition, and none after it."""
    return _basic_block(x, params, stride, eps, final_relu=False, relu_before_add=True)


def basic_block_forward_stride_in_conv2(x, params, stride=1, eps=1e-5):
    """The stride put in the second convolution instead of the first."""
    return _basic_block(x, params, stride, eps, conv2_stride=True)


def basic_block_forward_batch_statistics(x, params, stride=1, eps=1e-5):
    """Batch norm with the batch's statistics (training mode) instead of the running ones."""
    return _basic_block(x, params, stride, eps, batch_stats=True)


def basic_block_forward_projection_without_bn(x, params, stride=1, eps=1e-5):
    """The projection shortcut without its batch norm."""
    return _basic_block(x, params, stride, eps, projection_bn=False)


def basic_block_forward_projection_only_when_needed(x, params, stride=1, eps=1e-5):
    """The identity used whenever the shapes match, even when a projection is given."""
    return _basic_block(x, params, stride, eps, projection_when_needed=True)


def basic_block_forward_zero_padded_identity(x, params, stride=1, eps=1e-5):
    """He et al.'s option A instead of the given projection: the input subsampled by the
    stride, its missing channels zero-padded."""
    import torch

    params = {k: v for k, v in params.items() if not k.startswith("downsample")}
    planes = params["conv1.weight"].shape[0]
    sub = x[:, :, ::stride, ::stride]
    if sub.shape[1] < planes:
        sub = torch.cat([sub, sub.new_zeros(sub.shape[0], planes - sub.shape[1], *sub.shape[2:])], dim=1)
    if sub.shape[1] != planes:
        raise ValueError("cannot pad")
    import torch.nn.functional as F

    def bn(z, prefix):
        scale = params[f"{prefix}.weight"] / (params[f"{prefix}.running_var"] + eps).sqrt()
        return (z - params[f"{prefix}.running_mean"][None, :, None, None]) * scale[None, :, None, None] \
            + params[f"{prefix}.bias"][None, :, None, None]

    out = F.relu(bn(F.conv2d(x, params["conv1.weight"], stride=stride, padding=1), "bn1"))
    out = bn(F.conv2d(out, params["conv2.weight"], padding=1), "bn2")
    return F.relu(out + sub)


def basic_block_forward_folds_bn_in_place(x, params, stride=1, eps=1e-5):
    """Right values, but the batch norms are folded into the convolutions' weights in place:
    the caller's state dict changes."""
    import torch.nn.functional as F

    def fold(conv, prefix):
        scale = params[f"{prefix}.weight"] / (params[f"{prefix}.running_var"] + eps).sqrt()
        params[conv].mul_(scale[:, None, None, None])  # in place: the caller's tensor
        return params[conv], params[f"{prefix}.bias"] - params[f"{prefix}.running_mean"] * scale

    w1, b1 = fold("conv1.weight", "bn1")
    w2, b2 = fold("conv2.weight", "bn2")
    out = F.conv2d(F.relu(F.conv2d(x, w1, b1, stride=stride, padding=1)), w2, b2, padding=1)
    if "downsample.0.weight" in params:
        ws, bs = fold("downsample.0.weight", "downsample.1")
        shortcut = F.conv2d(x, ws, bs, stride=stride)
    elif out.shape == x.shape:
        shortcut = x
    else:
        raise ValueError("needs a projection")
    return F.relu(out + shortcut)


# ----------------------------------------------------------------------------------------
# highway_forward
# ----------------------------------------------------------------------------------------


def _highway(x, weight_h, bias_h, weight_t, bias_t, *, swap=False, h_act=lambda z: np.maximum(z, 0),
             gate=lambda z: 1 / (1 + np.exp(-z)), transpose=True, carry=True, check=True):
    """Helper of the mutants below: the layer with optional flaws."""
    F = x.shape[1]
    if check and (weight_h.shape != (F, F) or weight_t.shape != (F, F) or bias_h.shape != (F,)
                  or bias_t.shape != (F,)):
        raise ValueError("bad shapes")
    wh, wt = (weight_h.T, weight_t.T) if transpose else (weight_h, weight_t)
    h, t = h_act(x @ wh + bias_h), gate(x @ wt + bias_t)
    if swap:
        return x * t + h * (1 - t)
    return h * t + (x * (1 - t) if carry else x)


def highway_forward_gates_swapped(x, weight_h, bias_h, weight_t, bias_t):
    """The gate's roles swapped: T carries the input and 1 - T passes H(x)."""
    return _highway(x, weight_h, bias_h, weight_t, bias_t, swap=True)


def highway_forward_no_relu(x, weight_h, bias_h, weight_t, bias_t):
    """H(x) without its nonlinearity: an affine map only."""
    return _highway(x, weight_h, bias_h, weight_t, bias_t, h_act=lambda z: z)


def highway_forward_tanh_gate(x, weight_h, bias_h, weight_t, bias_t):
    """The gate squashed by tanh instead of the logistic sigmoid."""
    return _highway(x, weight_h, bias_h, weight_t, bias_t, gate=np.tanh)


def highway_forward_weights_not_transposed(x, weight_h, bias_h, weight_t, bias_t):
    """x @ W instead of x @ W.T: the Linear layout (output features first) misread."""
    return _highway(x, weight_h, bias_h, weight_t, bias_t, transpose=False)


def highway_forward_carry_not_gated(x, weight_h, bias_h, weight_t, bias_t):
    """The input added in full, like a residual: y = H(x) T(x) + x."""
    return _highway(x, weight_h, bias_h, weight_t, bias_t, carry=False)


def highway_forward_no_shape_check(x, weight_h, bias_h, weight_t, bias_t):
    """Right values, but no check of the shapes: a transform to one feature, or a bias of
    length 1, is broadcast over the features silently."""
    return _highway(x, weight_h, bias_h, weight_t, bias_t, check=False)


# ----------------------------------------------------------------------------------------
# center_crop
# ----------------------------------------------------------------------------------------


def _crop(x, size, *, offset=lambda diff: diff // 2, swap=False, axes=(2, 3), check=True):
    """Helper of the mutants below: the crop with optional flaws."""
    h, w = (size, size) if isinstance(size, int) else size
    if swap:
        h, w = w, h
    A, B = x.shape[axes[0]], x.shape[axes[1]]
    if check and not (1 <= h <= x.shape[2] and 1 <= w <= x.shape[3]):
        raise ValueError("bad size")
    index = [slice(None)] * 4
    index[axes[0]] = slice(offset(A - h), offset(A - h) + h)
    index[axes[1]] = slice(offset(B - w), offset(B - w) + w)
    return x[tuple(index)].copy()


def center_crop_top_left(x, size):
    """No centring: the top-left corner of the map is kept."""
    return _crop(x, size, offset=lambda diff: 0)


def center_crop_extra_row_on_top(x, size):
    """Odd margins drop the extra row at the top and the extra column on the left (ceil)."""
    return _crop(x, size, offset=lambda diff: -(-diff // 2))


def center_crop_rounds_half_to_even(x, size):
    """The top margin rounded to nearest with Python's round, as torchvision does: a margin
    of 3 starts the crop at row 2, not 1."""
    return _crop(x, size, offset=lambda diff: int(round(diff / 2)))


def center_crop_height_and_width_swapped(x, size):
    """size read as (w, h)."""
    return _crop(x, size, swap=True, check=False)


def center_crop_wrong_axes(x, size):
    """The crop applied to axes 1 and 2 (channels and height) instead of height and width."""
    return _crop(x, size, axes=(1, 2), check=False)


def center_crop_no_check(x, size):
    """Right values, but no ValueError: slicing quietly returns less than asked for."""
    return _crop(x, size, check=False)


# ----------------------------------------------------------------------------------------
# batch_norm_train
# ----------------------------------------------------------------------------------------


def _batch_norm(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5, *, ddof_norm=0, ddof_run=1,
                reverse_momentum=False, axes=None, eps_outside=False, update=True, check=True):
    """Helper of the mutants below: training-mode batch norm with optional flaws."""
    if check and (x.ndim not in (2, 4) or any(a.shape != (x.shape[1],)
                                              for a in (gamma, beta, running_mean, running_var))):
        raise ValueError("bad shapes")
    C = x.shape[1]
    axes = ((0,) if x.ndim == 2 else (0, 2, 3)) if axes is None else axes
    m = x.size // C
    if check and m < 2:
        raise ValueError("one value per channel")
    shape = (1, C) + (1,) * (x.ndim - 2)
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, ddof=ddof_norm, keepdims=True)
    y = (x - mean) / (np.sqrt(var) + eps if eps_outside else np.sqrt(var + eps))
    y = y * gamma.reshape(shape) + beta.reshape(shape)
    batch_mean = x.mean(axis=(0,) if x.ndim == 2 else (0, 2, 3))
    batch_var = x.var(axis=(0,) if x.ndim == 2 else (0, 2, 3), ddof=ddof_run)
    a, b = (momentum, 1 - momentum) if reverse_momentum else (1 - momentum, momentum)
    if not update:
        return y, running_mean.copy(), running_var.copy()
    return y, a * running_mean + b * batch_mean, a * running_var + b * batch_var


def batch_norm_train_unbiased_normalisation(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
    """The batch normalised with the unbiased variance (divided by m - 1)."""
    return _batch_norm(x, gamma, beta, running_mean, running_var, momentum, eps, ddof_norm=1)


def batch_norm_train_biased_running_variance(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
    """The running variance updated with the biased variance (PyTorch uses the unbiased one)."""
    return _batch_norm(x, gamma, beta, running_mean, running_var, momentum, eps, ddof_run=0)


def batch_norm_train_momentum_reversed(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
    """momentum weighs the old statistics instead of the batch's (Keras's convention)."""
    return _batch_norm(x, gamma, beta, running_mean, running_var, momentum, eps, reverse_momentum=True)


def batch_norm_train_per_position(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
    """Statistics over the batch axis only: every pixel normalised on its own."""
    return _batch_norm(x, gamma, beta, running_mean, running_var, momentum, eps, axes=(0,))


def batch_norm_train_per_sample(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
    """Statistics over each sample's values instead of each channel's (layer norm)."""
    axes = tuple(range(1, x.ndim))
    return _batch_norm(x, gamma, beta, running_mean, running_var, momentum, eps, axes=axes)


def batch_norm_train_eps_outside_the_root(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
    """eps added to the standard deviation instead of under the square root."""
    return _batch_norm(x, gamma, beta, running_mean, running_var, momentum, eps, eps_outside=True)


def batch_norm_train_no_update(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
    """The running statistics returned unchanged."""
    return _batch_norm(x, gamma, beta, running_mean, running_var, momentum, eps, update=False)


def batch_norm_train_updates_in_place(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
    """Right values, but the running statistics are updated in place, as PyTorch does to its
    buffers: the caller's arrays change."""
    y, mean, var = _batch_norm(x, gamma, beta, running_mean, running_var, momentum, eps)
    running_mean[:], running_var[:] = mean, var
    return y, running_mean, running_var


# ----------------------------------------------------------------------------------------
# saliency_map
# ----------------------------------------------------------------------------------------


def _classes(target, n, num_classes=None, check=True):
    import torch

    classes = torch.as_tensor(target).long()
    classes = classes.expand(n) if classes.ndim == 0 else classes
    if check and (classes.shape != (n,) or (num_classes is not None and
                                            (classes.min() < 0 or classes.max() >= num_classes))):
        raise ValueError("bad target")
    return classes


def _saliency(model, inputs, target, *, score=lambda s: s, reduce=lambda g, x: g.abs().amax(dim=1),
              pick=lambda classes, scores: classes, dtype=None):
    import torch

    if inputs.ndim != 4:
        raise ValueError("inputs must be 4-D")
    x = inputs.detach().clone().requires_grad_(True)
    raw = model(x)
    classes = pick(_classes(target, x.shape[0], raw.shape[1]), raw)
    chosen = score(raw).gather(1, classes[:, None]).sum()
    (g,) = torch.autograd.grad(chosen, x)
    out = reduce(g, x).detach()
    return out if dtype is None else out.to(dtype)


def saliency_map_no_abs(model, inputs, target):
    """The signed gradient's maximum over the channels: the absolute value is forgotten."""
    return _saliency(model, inputs, target, reduce=lambda g, x: g.amax(dim=1))


def saliency_map_mean_over_channels(model, inputs, target):
    """The absolute gradient averaged over the channels instead of its maximum."""
    return _saliency(model, inputs, target, reduce=lambda g, x: g.abs().mean(dim=1))


def saliency_map_of_the_probability(model, inputs, target):
    """The gradient of the softmax probability, not of the class score."""
    return _saliency(model, inputs, target, score=lambda s: s.softmax(dim=1))


def saliency_map_of_the_log_probability(model, inputs, target):
    """The gradient of the log-probability (a cross-entropy loss), not of the class score."""
    return _saliency(model, inputs, target, score=lambda s: s.log_softmax(dim=1))


def saliency_map_first_class_for_all(model, inputs, target):
    """Every image explained with the first image's class."""
    return _saliency(model, inputs, target, pick=lambda classes, scores: classes[:1].expand(len(classes)))


def saliency_map_predicted_class(model, inputs, target):
    """The predicted class (the argmax of the scores) instead of the target."""
    return _saliency(model, inputs, target, pick=lambda classes, scores: scores.argmax(dim=1))


def saliency_map_gradient_times_input(model, inputs, target):
    """|gradient * input| (another method) instead of |gradient|."""
    return _saliency(model, inputs, target, reduce=lambda g, x: (g * x).abs().amax(dim=1))


def saliency_map_always_float64(model, inputs, target):
    """Right values, but float32 images give a float64 map."""
    import torch

    return _saliency(model, inputs, target, dtype=torch.float64)


def saliency_map_no_checks(model, inputs, target):
    """Right maps, but bad targets are not refused with a ValueError."""
    import torch

    x = inputs.detach().clone().requires_grad_(True)
    classes = torch.as_tensor(target).long().expand(x.shape[0])
    (g,) = torch.autograd.grad(model(x).gather(1, classes[:, None]).sum(), x)
    return g.abs().amax(dim=1)


# ----------------------------------------------------------------------------------------
# class_activation_map
# ----------------------------------------------------------------------------------------


def _cam(features, fc_weight, target, normalize=False, *, weights=None, post=lambda m: m, norm=None):
    if features.ndim != 4 or fc_weight.ndim != 2 or fc_weight.shape[1] != features.shape[1]:
        raise ValueError("bad shapes")
    classes = _classes(target, features.shape[0], fc_weight.shape[0]).numpy()
    w = fc_weight[classes] if weights is None else weights(fc_weight, classes)
    cam = post(np.einsum("nk,nkij->nij", w, features))
    if normalize:
        if norm is not None:
            return norm(cam)
        low = cam.min(axis=(1, 2), keepdims=True)
        span = cam.max(axis=(1, 2), keepdims=True) - low
        cam = np.where(span > 0, (cam - low) / np.where(span > 0, span, 1.0), 0.0)
    return cam


def class_activation_map_relu(features, fc_weight, target, normalize=False):
    """A ReLU applied to the map (Grad-CAM's habit): CAM keeps the negative evidence."""
    return _cam(features, fc_weight, target, normalize, post=lambda m: np.maximum(m, 0))


def class_activation_map_all_classes(features, fc_weight, target, normalize=False):
    """The weights of every class summed, instead of the target class's."""
    return _cam(features, fc_weight, target, normalize,
                weights=lambda W, c: np.broadcast_to(W.sum(axis=0), (len(c), W.shape[1])))


def class_activation_map_first_class_for_all(features, fc_weight, target, normalize=False):
    """Every image's map for the first image's class."""
    return _cam(features, fc_weight, target, normalize, weights=lambda W, c: W[np.full(len(c), c[0])])


def class_activation_map_averaged(features, fc_weight, target, normalize=False):
    """The map divided by the number of positions (each position's share of the score)."""
    return _cam(features, fc_weight, target, normalize, post=lambda m: m / (m.shape[1] * m.shape[2]))


def class_activation_map_normalized_over_the_batch(features, fc_weight, target, normalize=False):
    """Normalised with the batch's minimum and maximum instead of each image's."""
    return _cam(features, fc_weight, target, normalize, norm=lambda m: (m - m.min()) / (m.max() - m.min()))


def class_activation_map_divided_by_the_max(features, fc_weight, target, normalize=False):
    """Normalised by dividing by the maximum, without subtracting the minimum."""
    return _cam(features, fc_weight, target, normalize, norm=lambda m: m / m.max(axis=(1, 2), keepdims=True))


def class_activation_map_constant_gives_nan(features, fc_weight, target, normalize=False):
    """Min-max normalisation without a guard: a constant map divides 0 by 0."""
    def norm(m):
        low = m.min(axis=(1, 2), keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (m - low) / (m.max(axis=(1, 2), keepdims=True) - low)
    return _cam(features, fc_weight, target, normalize, norm=norm)


def class_activation_map_no_checks(features, fc_weight, target, normalize=False):
    """Right maps, but a class out of range or a transposed weight is not refused."""
    classes = np.broadcast_to(np.asarray(target), (features.shape[0],)) % fc_weight.shape[0]
    return np.einsum("nk,nkij->nij", fc_weight[classes][:, :features.shape[1]], features[:, :fc_weight.shape[1]])


# ----------------------------------------------------------------------------------------
# grad_cam
# ----------------------------------------------------------------------------------------


def _grad_cam(activations, gradients, relu=True, *, pool=lambda g: g.mean(axis=(2, 3)), grad=lambda g: g,
              rectify=None, check=True):
    if check and (activations.ndim != 4 or gradients.shape != activations.shape):
        raise ValueError("bad shapes")
    weights = pool(grad(gradients))
    cam = (weights[:, :, None, None] * activations).sum(axis=1)
    if rectify if rectify is not None else relu:
        cam = np.maximum(cam, 0)
    return weights, cam


def grad_cam_summed_gradients(activations, gradients, relu=True):
    """The gradients summed over the positions instead of averaged."""
    return _grad_cam(activations, gradients, relu, pool=lambda g: g.sum(axis=(2, 3)))


def grad_cam_max_gradients(activations, gradients, relu=True):
    """The largest gradient of each map as its weight instead of the average."""
    return _grad_cam(activations, gradients, relu, pool=lambda g: g.max(axis=(2, 3)))


def grad_cam_positive_gradients_only(activations, gradients, relu=True):
    """The ReLU applied to the gradients before the average, instead of to the map."""
    return _grad_cam(activations, gradients, relu, grad=lambda g: np.maximum(g, 0))


def grad_cam_no_relu(activations, gradients, relu=True):
    """The map's negative part kept whatever ``relu`` says."""
    return _grad_cam(activations, gradients, relu, rectify=False)


def grad_cam_always_relu(activations, gradients, relu=True):
    """The ReLU applied whatever ``relu`` says."""
    return _grad_cam(activations, gradients, relu, rectify=True)


def grad_cam_averaged_over_the_batch(activations, gradients, relu=True):
    """One weight per map for the whole batch (averaged over the images too)."""
    return _grad_cam(activations, gradients, relu,
                     pool=lambda g: np.broadcast_to(g.mean(axis=(0, 2, 3)), g.shape[:2]).copy())


def grad_cam_gradient_times_activation(activations, gradients, relu=True):
    """Gradient times activation summed over the maps, without pooling the gradients."""
    if activations.ndim != 4 or gradients.shape != activations.shape:
        raise ValueError("bad shapes")
    cam = (gradients * activations).sum(axis=1)
    return gradients.mean(axis=(2, 3)), np.maximum(cam, 0) if relu else cam


def grad_cam_no_shape_check(activations, gradients, relu=True):
    """Right for matching shapes, but gradients of another shape are broadcast silently."""
    return _grad_cam(activations, gradients, relu, check=False)


# ----------------------------------------------------------------------------------------
# occlusion_map
# ----------------------------------------------------------------------------------------


def _starts(size, k, s, last):
    """Window starts: until the border is reached (captum), or (last=0) full windows only."""
    count = math.ceil((size - k) / s) + 1 if last else (size - k) // s + 1
    return range(0, count * s, s)


def _occlusion(model, inputs, target, window, stride=1, baseline=0.0, *, average=True, divide=None,
               sign=1.0, channels=slice(None), last=1, fill=None, score=lambda s: s, swap=False,
               ignore_stride=False, check_stride=True):
    import torch

    if inputs.ndim != 4:
        raise ValueError("inputs must be 4-D")
    N, C, H, W = inputs.shape
    kh, kw = (window, window) if isinstance(window, int) else window
    if swap:
        kh, kw = kw, kh
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    if not (1 <= kh <= H and 1 <= kw <= W) or sh < 1 or sw < 1 or (check_stride and (sh > kh or sw > kw)):
        raise ValueError("bad window or stride")
    if ignore_stride:
        sh = sw = 1
    classes = torch.as_tensor(target).long().expand(N)
    rows = torch.arange(N)
    total = torch.zeros(N, H, W, dtype=inputs.dtype)
    count = torch.zeros(H, W, dtype=inputs.dtype)
    with torch.no_grad():
        reference = score(model(inputs))[rows, classes]
        for top in _starts(H, kh, sh, last):
            for left in _starts(W, kw, sw, last):
                occluded = inputs.clone()
                occluded[:, channels, top:top + kh, left:left + kw] = baseline if fill is None else fill
                drop = sign * (reference - score(model(occluded))[rows, classes])
                total[:, top:top + kh, left:left + kw] += drop[:, None, None]
                count[top:top + kh, left:left + kw] += 1
    if divide is not None:
        return total / divide(kh, kw, count)
    if not average:
        return total
    return torch.where(count > 0, total / count.clamp(min=1), torch.zeros_like(total))


def occlusion_map_summed(model, inputs, target, window, stride=1, baseline=0.0):
    """The drops of the covering windows summed instead of averaged."""
    return _occlusion(model, inputs, target, window, stride, baseline, average=False)


def occlusion_map_stride_not_checked(model, inputs, target, window, stride=1, baseline=0.0):
    """A stride larger than the window is accepted: pixels between windows get 0."""
    return _occlusion(model, inputs, target, window, stride, baseline, check_stride=False)


def occlusion_map_divided_by_the_area(model, inputs, target, window, stride=1, baseline=0.0):
    """The summed drops divided by the window's area instead of by the number of windows."""
    return _occlusion(model, inputs, target, window, stride, baseline, divide=lambda kh, kw, c: kh * kw)


def occlusion_map_sign_reversed(model, inputs, target, window, stride=1, baseline=0.0):
    """The occluded score minus the original one: a drop shows as a negative value."""
    return _occlusion(model, inputs, target, window, stride, baseline, sign=-1.0)


def occlusion_map_first_channel_only(model, inputs, target, window, stride=1, baseline=0.0):
    """Only the first channel is covered; the other colours still show through."""
    return _occlusion(model, inputs, target, window, stride, baseline, channels=slice(0, 1))


def occlusion_map_full_windows_only(model, inputs, target, window, stride=1, baseline=0.0):
    """Only windows that fit entirely: the last rows and columns are missed when the steps
    do not end at the border (captum cuts a last window off instead)."""
    return _occlusion(model, inputs, target, window, stride, baseline, last=0)


def occlusion_map_zeros_not_baseline(model, inputs, target, window, stride=1, baseline=0.0):
    """The patch is always set to 0, whatever the baseline."""
    return _occlusion(model, inputs, target, window, stride, baseline, fill=0.0)


def occlusion_map_of_the_probability(model, inputs, target, window, stride=1, baseline=0.0):
    """The drop of the softmax probability instead of the class score."""
    return _occlusion(model, inputs, target, window, stride, baseline, score=lambda s: s.softmax(dim=1))


def occlusion_map_window_transposed(model, inputs, target, window, stride=1, baseline=0.0):
    """A (kh, kw) window read as kw rows and kh columns."""
    return _occlusion(model, inputs, target, window, stride, baseline, swap=True)


def occlusion_map_stride_ignored(model, inputs, target, window, stride=1, baseline=0.0):
    """The window always moves one pixel at a time."""
    return _occlusion(model, inputs, target, window, stride, baseline, ignore_stride=True)


# ----------------------------------------------------------------------------------------
# lime_fit
# ----------------------------------------------------------------------------------------


def _lime(perturbations, scores, distances, kernel_width=0.25, alpha=1.0, *,
          kernel=lambda d, w: np.sqrt(np.exp(-d ** 2 / w ** 2)), intercept=True, penalise_intercept=False,
          ridge=True, float_intercept=True):
    Z = np.asarray(perturbations, dtype=float)
    if Z.ndim != 2 or np.shape(scores) != (len(Z),) or np.shape(distances) != (len(Z),):
        raise ValueError("bad shapes")
    if not kernel_width > 0 or alpha < 0:
        raise ValueError("bad kernel width or alpha")
    pi = kernel(np.asarray(distances), kernel_width)
    a = alpha if ridge else 0.0
    M = Z.shape[1]
    if intercept and not penalise_intercept:
        zm, ym = pi @ Z / pi.sum(), pi @ scores / pi.sum()
        Zc, yc = Z - zm, scores - ym
        coef = np.linalg.solve(Zc.T @ (pi[:, None] * Zc) + a * np.eye(M), Zc.T @ (pi * yc))
        b = ym - zm @ coef
    else:
        X = np.hstack([np.ones((len(Z), 1)), Z]) if intercept else Z
        theta = np.linalg.solve(X.T @ (pi[:, None] * X) + a * np.eye(X.shape[1]), X.T @ (pi * scores))
        coef, b = (theta[1:], theta[0]) if intercept else (theta, 0.0)
    return coef, (float(b) if float_intercept else np.array([b]))


def lime_fit_kernel_without_root(perturbations, scores, distances, kernel_width=0.25, alpha=1.0):
    """The kernel exp(-d^2 / w^2), without lime's square root."""
    return _lime(perturbations, scores, distances, kernel_width, alpha, kernel=lambda d, w: np.exp(-d ** 2 / w ** 2))


def lime_fit_width_not_squared(perturbations, scores, distances, kernel_width=0.25, alpha=1.0):
    """The kernel sqrt(exp(-d^2 / w)): the width is not squared."""
    return _lime(perturbations, scores, distances, kernel_width, alpha,
                 kernel=lambda d, w: np.sqrt(np.exp(-d ** 2 / w)))


def lime_fit_unweighted(perturbations, scores, distances, kernel_width=0.25, alpha=1.0):
    """Every sample weighs the same: the locality of LIME is lost."""
    return _lime(perturbations, scores, distances, kernel_width, alpha, kernel=lambda d, w: np.ones_like(d))


def lime_fit_intercept_penalised(perturbations, scores, distances, kernel_width=0.25, alpha=1.0):
    """The intercept is a column of ones inside the ridge, so it is shrunk too."""
    return _lime(perturbations, scores, distances, kernel_width, alpha, penalise_intercept=True)


def lime_fit_no_intercept(perturbations, scores, distances, kernel_width=0.25, alpha=1.0):
    """A fit through the origin, with 0 as intercept."""
    return _lime(perturbations, scores, distances, kernel_width, alpha, intercept=False)


def lime_fit_alpha_ignored(perturbations, scores, distances, kernel_width=0.25, alpha=1.0):
    """Weighted least squares whatever alpha says: no ridge penalty."""
    return _lime(perturbations, scores, distances, kernel_width, alpha, ridge=False)


def lime_fit_intercept_as_array(perturbations, scores, distances, kernel_width=0.25, alpha=1.0):
    """Right values, but the intercept comes back as a one-element array, not a float."""
    return _lime(perturbations, scores, distances, kernel_width, alpha, float_intercept=False)


# ----------------------------------------------------------------------------------------
# pointing_game
# ----------------------------------------------------------------------------------------


def _pointing(maps, masks, tolerance=0, *, point=lambda m: np.unravel_index(np.argmax(m), m.shape),
              distance=lambda di, dj: np.sqrt(di ** 2 + dj ** 2), hit=lambda d, t: d <= t, accuracy=False,
              use_tolerance=True):
    if maps.ndim != 3 or masks.shape != maps.shape or tolerance < 0 or not masks.any(axis=(1, 2)).all():
        raise ValueError("bad input")
    hits = []
    for m, mask in zip(maps, masks.astype(bool)):
        i, j = point(m)
        rows, cols = np.nonzero(mask)
        hits.append(bool(hit(distance(rows - i, cols - j).min(), tolerance if use_tolerance else 0)))
    hits = np.array(hits, dtype=bool)
    return float(hits.mean()) if accuracy else hits


def pointing_game_last_maximum(maps, masks, tolerance=0):
    """When the maximum is tied, the last one points (argmax of the reversed map)."""
    def last(m):
        k = m.size - 1 - np.argmax(m.ravel()[::-1])
        return np.unravel_index(k, m.shape)
    return _pointing(maps, masks, tolerance, point=last)


def pointing_game_rows_and_columns_swapped(maps, masks, tolerance=0):
    """The flat index unravelled with the width as the number of rows."""
    def swapped(m):
        j, i = np.unravel_index(np.argmax(m), m.shape[::-1])
        return i, j
    return _pointing(maps, masks, tolerance, point=swapped)


def pointing_game_chessboard_distance(maps, masks, tolerance=0):
    """The tolerance as a square (the larger of the row and column offsets), not a disc."""
    return _pointing(maps, masks, tolerance, distance=lambda di, dj: np.maximum(np.abs(di), np.abs(dj)))


def pointing_game_strict_tolerance(maps, masks, tolerance=0):
    """A hit only strictly within the tolerance (a distance < tolerance; 0 still counts)."""
    return _pointing(maps, masks, tolerance, hit=lambda d, t: d < t or d == 0)


def pointing_game_minimum(maps, masks, tolerance=0):
    """The map's minimum points instead of its maximum."""
    return _pointing(maps, masks, tolerance, point=lambda m: np.unravel_index(np.argmin(m), m.shape))


def pointing_game_tolerance_ignored(maps, masks, tolerance=0):
    """The maximum must lie on the object itself, whatever the tolerance."""
    return _pointing(maps, masks, tolerance, use_tolerance=False)


def pointing_game_accuracy(maps, masks, tolerance=0):
    """The accuracy (the mean of the hits) instead of one hit per map."""
    return _pointing(maps, masks, tolerance, accuracy=True)


# ----------------------------------------------------------------------------------------
# deletion_curve
# ----------------------------------------------------------------------------------------


def _deletion(model, inputs, target, maps, pixels_per_step=1, baseline=0.0, *, order=None,
              score=lambda s: s.softmax(dim=1), area=None, steps=None, channels=slice(None), fill=None):
    import torch

    if inputs.ndim != 4:
        raise ValueError("inputs must be 4-D")
    N, C, H, W = inputs.shape
    if tuple(maps.shape) != (N, H, W) or pixels_per_step < 1:
        raise ValueError("bad maps or step")
    p = pixels_per_step
    flat = maps.reshape(N, H * W)
    ranked = torch.argsort(-flat, dim=1, stable=True) if order is None else order(flat)
    n = math.ceil(H * W / p) if steps is None else steps(H * W, p)
    classes = torch.as_tensor(target).long().expand(N)
    x = inputs.detach().clone().reshape(N, C, H * W)
    curve = torch.zeros(N, n + 1, dtype=inputs.dtype)
    with torch.no_grad():
        for k in range(n + 1):
            if k > 0:
                idx = ranked[:, (k - 1) * p:k * p]
                for i in range(N):
                    x[i, channels, idx[i]] = baseline if fill is None else fill
            curve[:, k] = score(model(x.reshape(N, C, H, W)))[torch.arange(N), classes]
    auc = (curve.sum(dim=1) - curve[:, 0] / 2 - curve[:, -1] / 2) / n if area is None else area(curve, n)
    return curve, auc


def deletion_curve_least_important_first(model, inputs, target, maps, pixels_per_step=1, baseline=0.0):
    """The pixels removed in increasing order of the map."""
    import torch

    return _deletion(model, inputs, target, maps, pixels_per_step, baseline,
                     order=lambda f: torch.argsort(f, dim=1, stable=True))


def deletion_curve_of_the_score(model, inputs, target, maps, pixels_per_step=1, baseline=0.0):
    """The class score instead of its softmax probability."""
    return _deletion(model, inputs, target, maps, pixels_per_step, baseline, score=lambda s: s)


def deletion_curve_area_as_mean(model, inputs, target, maps, pixels_per_step=1, baseline=0.0):
    """The area as the curve's mean (every point weighs the same, the ends too)."""
    return _deletion(model, inputs, target, maps, pixels_per_step, baseline, area=lambda c, n: c.mean(dim=1))


def deletion_curve_area_without_halves(model, inputs, target, maps, pixels_per_step=1, baseline=0.0):
    """The area as sum / n: the trapezoid rule's halves at the ends are forgotten."""
    return _deletion(model, inputs, target, maps, pixels_per_step, baseline, area=lambda c, n: c.sum(dim=1) / n)


def deletion_curve_last_partial_step_missing(model, inputs, target, maps, pixels_per_step=1, baseline=0.0):
    """n = H * W // pixels_per_step: a last, partial step is never taken."""
    return _deletion(model, inputs, target, maps, pixels_per_step, baseline, steps=lambda hw, p: hw // p)


def deletion_curve_first_channel_only(model, inputs, target, maps, pixels_per_step=1, baseline=0.0):
    """Pixels removed on the first channel only."""
    return _deletion(model, inputs, target, maps, pixels_per_step, baseline, channels=slice(0, 1))


def deletion_curve_zeros_not_baseline(model, inputs, target, maps, pixels_per_step=1, baseline=0.0):
    """Removed pixels always set to 0, whatever the baseline."""
    return _deletion(model, inputs, target, maps, pixels_per_step, baseline, fill=0.0)


def deletion_curve_ties_higher_index_first(model, inputs, target, maps, pixels_per_step=1, baseline=0.0):
    """The increasing stable order reversed: tied pixels go from the highest index down."""
    import torch

    return _deletion(model, inputs, target, maps, pixels_per_step, baseline,
                     order=lambda f: torch.argsort(f, dim=1, stable=True).flip(1))


# ----------------------------------------------------------------------------------------
# box_iou
# ----------------------------------------------------------------------------------------


def _iou(boxes1, boxes2, *, plus=0.0, clamp=(True, True), union=None, corners=None, check=True):
    import torch

    if check:
        for b in (boxes1, boxes2):
            if b.ndim != 2 or b.shape[1] != 4:
                raise ValueError("boxes must be (N, 4)")
    if corners is not None:
        boxes1, boxes2 = corners(boxes1), corners(boxes2)
    area1 = (boxes1[:, 2] - boxes1[:, 0] + plus) * (boxes1[:, 3] - boxes1[:, 1] + plus)
    area2 = (boxes2[:, 2] - boxes2[:, 0] + plus) * (boxes2[:, 3] - boxes2[:, 1] + plus)
    lt = torch.maximum(boxes1[:, None, :2], boxes2[None, :, :2])
    rb = torch.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])
    w, h = rb[..., 0] - lt[..., 0] + plus, rb[..., 1] - lt[..., 1] + plus
    w = w.clamp(min=0) if clamp[0] else w
    h = h.clamp(min=0) if clamp[1] else h
    inter = w * h
    a1, a2 = area1[:, None], area2[None, :]
    return inter / (a1 + a2 - inter if union is None else union(a1, a2, inter))


def box_iou_plus_one(boxes1, boxes2):
    """The old pixel convention: widths and heights are x2 - x1 + 1 and y2 - y1 + 1."""
    return _iou(boxes1, boxes2, plus=1.0)


def box_iou_no_clamp(boxes1, boxes2):
    """The intersection's sides are not clamped at 0: two negative sides make a positive area."""
    return _iou(boxes1, boxes2, clamp=(False, False))


def box_iou_width_clamped_only(boxes1, boxes2):
    """Only the intersection's width is clamped at 0, not its height."""
    return _iou(boxes1, boxes2, clamp=(True, False))


def box_iou_union_not_less_intersection(boxes1, boxes2):
    """The union as area1 + area2: the intersection is counted twice."""
    return _iou(boxes1, boxes2, union=lambda a1, a2, inter: a1 + a2)


def box_iou_over_the_smaller_box(boxes1, boxes2):
    """Intersection over the smaller of the two areas instead of over the union."""
    import torch

    return _iou(boxes1, boxes2, union=lambda a1, a2, inter: torch.minimum(a1, a2))


def box_iou_read_as_xywh(boxes1, boxes2):
    """The boxes read as (x, y, width, height)."""
    import torch

    return _iou(boxes1, boxes2, corners=lambda b: torch.cat([b[:, :2], b[:, :2] + b[:, 2:]], dim=1))


def box_iou_transposed(boxes1, boxes2):
    """Rows for boxes2 and columns for boxes1: an (M, N) matrix."""
    return _iou(boxes2, boxes1)


def box_iou_always_float64(boxes1, boxes2):
    """Right values, but always float64, whatever the boxes' dtype."""
    import torch

    return _iou(boxes1.to(torch.float64), boxes2.to(torch.float64))


def box_iou_no_shape_check(boxes1, boxes2):
    """Right values, but no ValueError for boxes that are not (N, 4)."""
    return _iou(boxes1, boxes2, check=False)


# ----------------------------------------------------------------------------------------
# decode_boxes
# ----------------------------------------------------------------------------------------


def _decode(rel_codes, boxes, weights, clip, *, divide=True, clamp_min=False, clamp_first=False, scale_shift=True,
            exponential=True, half=0.5, centres=False, order=(0, 1, 2, 3)):
    import torch

    if rel_codes.shape != boxes.shape or boxes.ndim != 2 or boxes.shape[1] != 4 or len(weights) != 4:
        raise ValueError("bad shapes or weights")
    w = [float(weights[i]) for i in order]
    widths, heights = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    cx, cy = boxes[:, 0] + 0.5 * widths, boxes[:, 1] + 0.5 * heights
    d = [rel_codes[:, i] / w[i] if divide else rel_codes[:, i] * w[i] for i in range(4)]
    if clamp_first:
        d[2] = rel_codes[:, 2].clamp(max=clip) / w[2]
        d[3] = rel_codes[:, 3].clamp(max=clip) / w[3]
    else:
        low = -clip if clamp_min else None
        d[2], d[3] = d[2].clamp(min=low, max=clip), d[3].clamp(min=low, max=clip)
    x = d[0] * widths + cx if scale_shift else d[0] + cx
    y = d[1] * heights + cy if scale_shift else d[1] + cy
    pw = torch.exp(d[2]) * widths if exponential else (1 + d[2]) * widths
    ph = torch.exp(d[3]) * heights if exponential else (1 + d[3]) * heights
    if centres:
        return torch.stack([x, y, pw, ph], dim=1)
    return torch.stack([x - half * pw, y - half * ph, x + half * pw, y + half * ph], dim=1)


_CLIP = math.log(1000.0 / 16)


def decode_boxes_no_clamp(rel_codes, boxes, weights=(1.0, 1.0, 1.0, 1.0), bbox_xform_clip=_CLIP):
    """dw and dh are not clamped: a large offset makes a huge (or infinite) box."""
    return _decode(rel_codes, boxes, weights, math.inf)


def decode_boxes_clamped_both_ways(rel_codes, boxes, weights=(1.0, 1.0, 1.0, 1.0), bbox_xform_clip=_CLIP):
    """dw and dh clamped to [-clip, clip]: shrinking is limited too, which torchvision does not do."""
    return _decode(rel_codes, boxes, weights, bbox_xform_clip, clamp_min=True)


def decode_boxes_clamped_before_the_weights(rel_codes, boxes, weights=(1.0, 1.0, 1.0, 1.0),
                                            bbox_xform_clip=_CLIP):
    """The clamp applied to the raw offsets, before they are divided by the weights."""
    return _decode(rel_codes, boxes, weights, bbox_xform_clip, clamp_first=True)


def decode_boxes_weights_multiplied(rel_codes, boxes, weights=(1.0, 1.0, 1.0, 1.0), bbox_xform_clip=_CLIP):
    """The offsets multiplied by the weights instead of divided (that is how they were encoded)."""
    return _decode(rel_codes, boxes, weights, bbox_xform_clip, divide=False)


def decode_boxes_weights_ignored(rel_codes, boxes, weights=(1.0, 1.0, 1.0, 1.0), bbox_xform_clip=_CLIP):
    """The weights are ignored."""
    return _decode(rel_codes, boxes, (1.0, 1.0, 1.0, 1.0), bbox_xform_clip)


def decode_boxes_weights_in_the_wrong_order(rel_codes, boxes, weights=(1.0, 1.0, 1.0, 1.0), bbox_xform_clip=_CLIP):
    """The weights read as (ww, wh, wx, wy)."""
    return _decode(rel_codes, boxes, weights, bbox_xform_clip, order=(2, 3, 0, 1))


def decode_boxes_shift_in_pixels(rel_codes, boxes, weights=(1.0, 1.0, 1.0, 1.0), bbox_xform_clip=_CLIP):
    """The centre moved by dx pixels instead of dx box widths."""
    return _decode(rel_codes, boxes, weights, bbox_xform_clip, scale_shift=False)


def decode_boxes_linear_size(rel_codes, boxes, weights=(1.0, 1.0, 1.0, 1.0), bbox_xform_clip=_CLIP):
    """The size scaled by 1 + dw instead of exp(dw) (the log-space parameterisation forgotten)."""
    return _decode(rel_codes, boxes, weights, bbox_xform_clip, exponential=False)


def decode_boxes_full_size_from_the_centre(rel_codes, boxes, weights=(1.0, 1.0, 1.0, 1.0), bbox_xform_clip=_CLIP):
    """The corners put a whole width (not half of it) away from the centre."""
    return _decode(rel_codes, boxes, weights, bbox_xform_clip, half=1.0)


def decode_boxes_returns_centres(rel_codes, boxes, weights=(1.0, 1.0, 1.0, 1.0), bbox_xform_clip=_CLIP):
    """Returns (cx, cy, w, h) instead of the corners."""
    return _decode(rel_codes, boxes, weights, bbox_xform_clip, centres=True)


def decode_boxes_clip_ignored(rel_codes, boxes, weights=(1.0, 1.0, 1.0, 1.0), bbox_xform_clip=_CLIP):
    """Always clamps at log(1000 / 16), whatever bbox_xform_clip says."""
    return _decode(rel_codes, boxes, weights, _CLIP)


# ----------------------------------------------------------------------------------------
# nms
# ----------------------------------------------------------------------------------------


def _nms(boxes, scores, iou_threshold, *, order=None, greater=True, plus=0.0, over_min=False,
         suppressed_suppress=False, sort_result=False, dtype=None, mask=False):
    import torch

    if boxes.ndim != 2 or boxes.shape[1] != 4 or scores.shape != (boxes.shape[0],):
        raise ValueError("bad shapes")
    N = len(boxes)
    ranked = torch.argsort(scores, descending=True).tolist() if order is None else order(scores)
    x1, y1, x2, y2 = boxes.unbind(dim=1)
    areas = (x2 - x1 + plus) * (y2 - y1 + plus)
    suppressed = [False] * N
    keep = []
    for pos, i in enumerate(ranked):
        if suppressed[i] and not suppressed_suppress:
            continue
        if not suppressed[i]:
            keep.append(i)
        for j in ranked[pos + 1:]:
            w = max(0.0, float(min(x2[i], x2[j]) - max(x1[i], x1[j])) + plus)
            h = max(0.0, float(min(y2[i], y2[j]) - max(y1[i], y1[j])) + plus)
            inter = w * h
            denominator = min(float(areas[i]), float(areas[j])) if over_min else float(areas[i] + areas[j]) - inter
            iou = inter / denominator
            if (iou > iou_threshold) if greater else (iou >= iou_threshold):
                suppressed[j] = True
    if sort_result:
        keep = sorted(keep)
    if mask:
        return torch.tensor([i in keep for i in range(N)])
    return torch.tensor(keep, dtype=torch.int64 if dtype is None else dtype)


def nms_greater_or_equal(boxes, scores, iou_threshold):
    """Suppresses at an IoU equal to the threshold too (>= instead of >)."""
    return _nms(boxes, scores, iou_threshold, greater=False)


def nms_lowest_score_first(boxes, scores, iou_threshold):
    """Visits the boxes by increasing score."""
    import torch

    return _nms(boxes, scores, iou_threshold, order=lambda s: torch.argsort(s).tolist())


def nms_input_order(boxes, scores, iou_threshold):
    """Visits the boxes in the order they are given, not by score."""
    return _nms(boxes, scores, iou_threshold, order=lambda s: list(range(len(s))))


def nms_kept_sorted_by_index(boxes, scores, iou_threshold):
    """The right boxes, returned by increasing index instead of decreasing score."""
    return _nms(boxes, scores, iou_threshold, sort_result=True)


def nms_suppressed_boxes_suppress(boxes, scores, iou_threshold):
    """A suppressed box still suppresses the boxes after it (every box above the threshold with
    any better box goes)."""
    return _nms(boxes, scores, iou_threshold, suppressed_suppress=True)


def nms_plus_one(boxes, scores, iou_threshold):
    """IoU with the old pixel convention, sides x2 - x1 + 1."""
    return _nms(boxes, scores, iou_threshold, plus=1.0)


def nms_over_the_smaller_box(boxes, scores, iou_threshold):
    """Overlap measured as the intersection over the smaller box, not the IoU."""
    return _nms(boxes, scores, iou_threshold, over_min=True)


def nms_returns_a_mask(boxes, scores, iou_threshold):
    """Returns a boolean mask of the kept boxes instead of their indices."""
    return _nms(boxes, scores, iou_threshold, mask=True)


def nms_int32_indices(boxes, scores, iou_threshold):
    """The right indices, as int32 instead of int64."""
    import torch

    return _nms(boxes, scores, iou_threshold, dtype=torch.int32)


# ----------------------------------------------------------------------------------------
# roi_align_single
# ----------------------------------------------------------------------------------------


def _roi_align(features, box, output_size, spatial_scale=1.0, sampling_ratio=2, aligned=False, *,
               offset=None, centre=0.5, reduce="mean", nearest=False, scale=True, yx=False, at_least_one=True,
               zero_outside=True, transpose=False, grid=None, dtype=None):
    import torch

    if features.ndim != 3 or tuple(box.shape) != (4,):
        raise ValueError("bad features or box")
    ph, pw = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    if transpose:
        ph, pw = pw, ph
    if ph < 1 or pw < 1 or sampling_ratio < 1:
        raise ValueError("bad sizes")
    C, H, W = features.shape
    s = spatial_scale if scale else 1.0
    shift = (0.5 if aligned else 0.0) if offset is None else offset
    x1, y1, x2, y2 = (float(v) * s - shift for v in box)
    if yx:
        x1, y1, x2, y2 = y1, x1, y2, x2
    width, height = x2 - x1, y2 - y1
    if not aligned and at_least_one:
        width, height = max(width, 1.0), max(height, 1.0)
    g = sampling_ratio if grid is None else grid
    f = features.to(torch.float64)

    def read(y, x):
        if zero_outside and (y < -1.0 or y > H or x < -1.0 or x > W):
            return torch.zeros(C, dtype=torch.float64)
        y, x = min(max(y, 0.0), H - 1.0), min(max(x, 0.0), W - 1.0)
        if nearest:
            return f[:, int(round(y)), int(round(x))]
        yl, xl = int(y), int(x)
        yh, xh = min(yl + 1, H - 1), min(xl + 1, W - 1)
        ly, lx = y - yl, x - xl
        return ((1 - ly) * (1 - lx) * f[:, yl, xl] + (1 - ly) * lx * f[:, yl, xh] + ly * (1 - lx) * f[:, yh, xl]
                + ly * lx * f[:, yh, xh])

    out = torch.zeros(C, ph, pw, dtype=torch.float64)
    for i in range(ph):
        for j in range(pw):
            points = [read(y1 + (i + (a + centre) / g) * height / ph, x1 + (j + (b + centre) / g) * width / pw)
                      for a in range(g) for b in range(g)]
            stacked = torch.stack(points)
            out[:, i, j] = stacked.mean(dim=0) if reduce == "mean" else stacked.amax(dim=0)
    if transpose:
        out = out.transpose(1, 2)
    return out.to(features.dtype if dtype is None else dtype)


def roi_align_single_aligned_ignored(features, box, output_size, spatial_scale=1.0, sampling_ratio=2, aligned=False):
    """No half-pixel shift when aligned is True."""
    return _roi_align(features, box, output_size, spatial_scale, sampling_ratio, aligned, offset=0.0)


def roi_align_single_always_shifted(features, box, output_size, spatial_scale=1.0, sampling_ratio=2, aligned=False):
    """The half-pixel shift applied whether aligned or not."""
    return _roi_align(features, box, output_size, spatial_scale, sampling_ratio, aligned, offset=0.5)


def roi_align_single_points_at_bin_corners(features, box, output_size, spatial_scale=1.0, sampling_ratio=2,
                                           aligned=False):
    """Sampling points at the corners of the sub-cells instead of their centres (no + 0.5)."""
    return _roi_align(features, box, output_size, spatial_scale, sampling_ratio, aligned, centre=0.0)


def roi_align_single_max_of_the_points(features, box, output_size, spatial_scale=1.0, sampling_ratio=2,
                                       aligned=False):
    """The maximum of a bin's sampling points instead of their average."""
    return _roi_align(features, box, output_size, spatial_scale, sampling_ratio, aligned, reduce="max")


def roi_align_single_nearest_pixel(features, box, output_size, spatial_scale=1.0, sampling_ratio=2, aligned=False):
    """Each point reads its nearest pixel instead of interpolating four (a quantisation RoIAlign removes)."""
    return _roi_align(features, box, output_size, spatial_scale, sampling_ratio, aligned, nearest=True)


def roi_align_single_scale_ignored(features, box, output_size, spatial_scale=1.0, sampling_ratio=2, aligned=False):
    """The box used in image coordinates on the feature map (spatial_scale forgotten)."""
    return _roi_align(features, box, output_size, spatial_scale, sampling_ratio, aligned, scale=False)


def roi_align_single_box_read_as_yx(features, box, output_size, spatial_scale=1.0, sampling_ratio=2, aligned=False):
    """The box read as (y1, x1, y2, x2)."""
    return _roi_align(features, box, output_size, spatial_scale, sampling_ratio, aligned, yx=True)


def roi_align_single_no_minimum_size(features, box, output_size, spatial_scale=1.0, sampling_ratio=2,
                                     aligned=False):
    """Without aligned, a region smaller than 1 x 1 is not enlarged to 1 x 1."""
    return _roi_align(features, box, output_size, spatial_scale, sampling_ratio, aligned, at_least_one=False)


def roi_align_single_no_zeros_outside(features, box, output_size, spatial_scale=1.0, sampling_ratio=2,
                                      aligned=False):
    """Points far outside the map read the border pixel instead of 0."""
    return _roi_align(features, box, output_size, spatial_scale, sampling_ratio, aligned, zero_outside=False)


def roi_align_single_bins_transposed(features, box, output_size, spatial_scale=1.0, sampling_ratio=2,
                                     aligned=False):
    """output_size read as (pw, ph): the bins' grid is transposed."""
    return _roi_align(features, box, output_size, spatial_scale, sampling_ratio, aligned, transpose=True)


def roi_align_single_two_points_always(features, box, output_size, spatial_scale=1.0, sampling_ratio=2,
                                       aligned=False):
    """sampling_ratio ignored: always 2 x 2 points per bin, as in the paper."""
    return _roi_align(features, box, output_size, spatial_scale, sampling_ratio, aligned, grid=2)


def roi_align_single_always_float64(features, box, output_size, spatial_scale=1.0, sampling_ratio=2,
                                    aligned=False):
    """Right values, but always float64, whatever the map's dtype."""
    import torch

    return _roi_align(features, box, output_size, spatial_scale, sampling_ratio, aligned, dtype=torch.float64)


# ----------------------------------------------------------------------------------------
# grid_anchors
# ----------------------------------------------------------------------------------------


def _anchors(scales, aspect_ratios, grid_size, stride, *, inverse=False, rounding="even", scale_major=False,
             xy_swapped=False, column_major=False, corner=False, centre_offset=0.0, root=True, stride_swapped=False):
    import torch

    s = torch.as_tensor(scales, dtype=torch.float32).reshape(-1)
    r = torch.as_tensor(aspect_ratios, dtype=torch.float32).reshape(-1)
    H, W = grid_size
    sy, sx = (stride, stride) if isinstance(stride, int) else tuple(stride)
    if len(s) == 0 or len(r) == 0 or (s <= 0).any() or (r <= 0).any() or min(H, W, sy, sx) < 1:
        raise ValueError("bad arguments")
    if stride_swapped:
        sy, sx = sx, sy
    hf = torch.sqrt(r) if root else r
    if inverse:
        hf = 1 / hf
    if scale_major:
        ws, hs = (s[:, None] / hf[None, :]).reshape(-1), (s[:, None] * hf[None, :]).reshape(-1)
    else:
        ws, hs = (s[None, :] / hf[:, None]).reshape(-1), (s[None, :] * hf[:, None]).reshape(-1)
    half = torch.stack([-ws, -hs, ws, hs], dim=1) / 2
    if rounding == "even":
        cell = half.round()
    elif rounding == "away":
        cell = torch.sign(half) * torch.floor(half.abs() + 0.5)
    else:
        cell = half
    if corner:
        cell = cell - torch.cat([cell[:, :2], cell[:, :2]], dim=1)
    rows = []
    positions = [(i, j) for j in range(W) for i in range(H)] if column_major else \
        [(i, j) for i in range(H) for j in range(W)]
    for i, j in positions:
        x, y = j * sx + centre_offset * sx, i * sy + centre_offset * sy
        if xy_swapped:
            x, y = y, x
        rows.append(cell + torch.tensor([x, y, x, y], dtype=torch.float32))
    return torch.cat(rows)


def grid_anchors_ratio_inverted(scales, aspect_ratios, grid_size, stride):
    """The ratio read as width / height: the tall anchors are wide and the wide ones tall."""
    return _anchors(scales, aspect_ratios, grid_size, stride, inverse=True)


def grid_anchors_not_rounded(scales, aspect_ratios, grid_size, stride):
    """The corners are not rounded to whole pixels."""
    return _anchors(scales, aspect_ratios, grid_size, stride, rounding=None)


def grid_anchors_halves_rounded_up(scales, aspect_ratios, grid_size, stride):
    """Halves rounded away from zero (2.5 -> 3) instead of to even, as torch.round does."""
    return _anchors(scales, aspect_ratios, grid_size, stride, rounding="away")


def grid_anchors_scale_major(scales, aspect_ratios, grid_size, stride):
    """The k anchors ordered scale by scale, and for each scale ratio by ratio."""
    return _anchors(scales, aspect_ratios, grid_size, stride, scale_major=True)


def grid_anchors_shifts_x_and_y_swapped(scales, aspect_ratios, grid_size, stride):
    """Position (i, j) shifted by (i * stride, j * stride): the row moves x."""
    return _anchors(scales, aspect_ratios, grid_size, stride, xy_swapped=True)


def grid_anchors_column_by_column(scales, aspect_ratios, grid_size, stride):
    """The positions listed column by column instead of row by row."""
    return _anchors(scales, aspect_ratios, grid_size, stride, column_major=True)


def grid_anchors_from_the_corner(scales, aspect_ratios, grid_size, stride):
    """The anchors start at the position (x1, y1 = the position) instead of being centred on it."""
    return _anchors(scales, aspect_ratios, grid_size, stride, corner=True)


def grid_anchors_centred_in_the_cell(scales, aspect_ratios, grid_size, stride):
    """Centred at the middle of the stride's cell, (j + 1/2) * stride, not at j * stride."""
    return _anchors(scales, aspect_ratios, grid_size, stride, centre_offset=0.5)


def grid_anchors_no_square_root(scales, aspect_ratios, grid_size, stride):
    """Height s * r and width s / r: the area is not kept."""
    return _anchors(scales, aspect_ratios, grid_size, stride, root=False)


def grid_anchors_stride_read_as_x_then_y(scales, aspect_ratios, grid_size, stride):
    """A stride pair read as (stride_x, stride_y)."""
    return _anchors(scales, aspect_ratios, grid_size, stride, stride_swapped=True)


# ----------------------------------------------------------------------------------------
# mask_loss
# ----------------------------------------------------------------------------------------


def _mask_loss(mask_logits, labels, mask_targets, *, pick="label", per_pixel="bce", reduce="mean",
               empty=True, as_float=False):
    import torch
    import torch.nn.functional as F

    if mask_logits.ndim != 4 or labels.shape != mask_logits.shape[:1] or \
            mask_targets.shape != (mask_logits.shape[0],) + mask_logits.shape[2:]:
        raise ValueError("bad shapes")
    R, K = mask_logits.shape[:2]
    if R == 0 and empty:
        return mask_logits.sum() * 0
    if R and (labels.min() < 0 or labels.max() >= K):
        raise ValueError("bad labels")
    t = mask_targets.to(mask_logits.dtype)
    if per_pixel == "softmax":
        log_p = torch.log_softmax(mask_logits, dim=1)[torch.arange(R), labels]
        losses = -(t * log_p)
    elif pick == "all":
        losses = F.binary_cross_entropy_with_logits(mask_logits, t[:, None].expand_as(mask_logits), reduction="none")
    else:
        if pick == "label":
            chosen = labels
        elif pick == "minus_one":
            chosen = (labels - 1) % K
        else:  # predicted
            chosen = mask_logits.mean(dim=(2, 3)).argmax(dim=1)
        x = mask_logits[torch.arange(R), chosen]
        if per_pixel == "bce":
            losses = F.binary_cross_entropy_with_logits(x, t, reduction="none")
        elif per_pixel == "sigmoid_then_bce":
            losses = F.binary_cross_entropy(torch.sigmoid(x), t, reduction="none")
        else:  # naive
            p = torch.sigmoid(x)
            losses = -(t * torch.log(p) + (1 - t) * torch.log(1 - p))
    if reduce == "sum":
        loss = losses.sum()
    elif reduce == "per_region":
        loss = losses.reshape(R, -1).mean(dim=1).sum()
    else:
        loss = losses.mean()
    return float(loss) if as_float else loss


def mask_loss_every_class(mask_logits, labels, mask_targets):
    """The target compared with the mask of every class, not only the true one."""
    return _mask_loss(mask_logits, labels, mask_targets, pick="all")


def mask_loss_softmax_over_classes(mask_logits, labels, mask_targets):
    """A per-pixel softmax over the classes with a cross-entropy (the classes compete: the FCN
    loss the paper's ablation rejects)."""
    return _mask_loss(mask_logits, labels, mask_targets, per_pixel="softmax")


def mask_loss_label_minus_one(mask_logits, labels, mask_targets):
    """The mask of class labels - 1 (as if the background had no mask channel)."""
    return _mask_loss(mask_logits, labels, mask_targets, pick="minus_one")


def mask_loss_predicted_class(mask_logits, labels, mask_targets):
    """The mask of the class the logits favour most, instead of the ground-truth class."""
    return _mask_loss(mask_logits, labels, mask_targets, pick="predicted")


def mask_loss_summed(mask_logits, labels, mask_targets):
    """The pixel losses summed instead of averaged."""
    return _mask_loss(mask_logits, labels, mask_targets, reduce="sum")


def mask_loss_averaged_per_region_then_summed(mask_logits, labels, mask_targets):
    """Each region's mask averaged, then the regions summed."""
    return _mask_loss(mask_logits, labels, mask_targets, reduce="per_region")


def mask_loss_sigmoid_then_bce(mask_logits, labels, mask_targets):
    """A sigmoid, then the binary cross-entropy of probabilities: wrong for large logits (the
    sigmoid rounds to 0 or 1 and the log is clamped at -100)."""
    return _mask_loss(mask_logits, labels, mask_targets, per_pixel="sigmoid_then_bce")


def mask_loss_naive_logarithms(mask_logits, labels, mask_targets):
    """-t log(sigmoid(x)) - (1 - t) log(1 - sigmoid(x)) as written: infinite for large logits."""
    return _mask_loss(mask_logits, labels, mask_targets, per_pixel="naive")


def mask_loss_no_regions_is_nan(mask_logits, labels, mask_targets):
    """No special case for zero regions: the mean of nothing is NaN."""
    return _mask_loss(mask_logits, labels, mask_targets, empty=False)


def mask_loss_returns_a_float(mask_logits, labels, mask_targets):
    """Right value, as a Python float instead of a tensor (it could not be backpropagated)."""
    return _mask_loss(mask_logits, labels, mask_targets, as_float=True)


# ----------------------------------------------------------------------------------------
# average_precision
# ----------------------------------------------------------------------------------------


def _ap(scores, is_true_positive, num_gt, *, order="stable", interpolate=True, points=None, recall_of=None,
        beyond="zero", side="left", area=False):
    scores, hits = np.asarray(scores, dtype=float), np.asarray(is_true_positive, dtype=bool)
    if scores.ndim != 1 or hits.shape != scores.shape or num_gt < 1 or hits.sum() > num_gt:
        raise ValueError("bad input")
    if len(scores) == 0:
        return 0.0
    if order == "stable":
        ranked = np.argsort(-scores, kind="stable")
    elif order == "ascending":
        ranked = np.argsort(scores, kind="stable")
    elif order == "reversed_ties":
        ranked = np.argsort(scores, kind="stable")[::-1]
    else:
        ranked = np.arange(len(scores))
    tp = np.cumsum(hits[ranked])
    recall = tp / (num_gt if recall_of is None else recall_of(len(scores)))
    precision = tp / np.arange(1, len(scores) + 1)
    if area:
        return float(np.sum(precision * np.diff(np.concatenate([[0.0], recall]))))
    if interpolate:
        precision = np.maximum.accumulate(precision[::-1])[::-1]
    thresholds = np.linspace(0, 1, 101) if points is None else points
    first = np.searchsorted(recall, thresholds, side=side)
    last = precision[-1] if beyond == "last" else 0.0
    return float(np.where(first < len(precision), precision[np.minimum(first, len(precision) - 1)], last).mean())


def average_precision_not_interpolated(scores, is_true_positive, num_gt):
    """The precision at the first cut-off that reaches each recall point, not the best one beyond it."""
    return _ap(scores, is_true_positive, num_gt, interpolate=False)


def average_precision_eleven_points(scores, is_true_positive, num_gt):
    """PASCAL VOC 2007's 11 recall points 0, 0.1, ..., 1 instead of COCO's 101."""
    return _ap(scores, is_true_positive, num_gt, points=np.linspace(0, 1, 11))


def average_precision_area_under_the_curve(scores, is_true_positive, num_gt):
    """The area under the raw precision/recall curve (sum of precision times recall steps)."""
    return _ap(scores, is_true_positive, num_gt, area=True)


def average_precision_not_ranked(scores, is_true_positive, num_gt):
    """The detections taken in the order given, not by score."""
    return _ap(scores, is_true_positive, num_gt, order="none")


def average_precision_lowest_score_first(scores, is_true_positive, num_gt):
    """The detections ranked by increasing score."""
    return _ap(scores, is_true_positive, num_gt, order="ascending")


def average_precision_ties_reversed(scores, is_true_positive, num_gt):
    """Ranked by an increasing sort reversed: tied detections come last-first."""
    return _ap(scores, is_true_positive, num_gt, order="reversed_ties")


def average_precision_recall_over_detections(scores, is_true_positive, num_gt):
    """Recall divided by the number of detections instead of the number of objects."""
    return _ap(scores, is_true_positive, num_gt, recall_of=lambda d: d)


def average_precision_last_precision_beyond(scores, is_true_positive, num_gt):
    """Recall points beyond the highest recall get the last precision instead of 0."""
    return _ap(scores, is_true_positive, num_gt, beyond="last")


def average_precision_hundred_points(scores, is_true_positive, num_gt):
    """100 recall points 0.01, ..., 1 (recall 0 left out)."""
    return _ap(scores, is_true_positive, num_gt, points=np.linspace(0.01, 1, 100))


def average_precision_recall_strictly_above(scores, is_true_positive, num_gt):
    """At each recall point, the first cut-off whose recall is strictly above it."""
    return _ap(scores, is_true_positive, num_gt, side="right")


MUTANTS: dict[str, list[Callable]] = {
    "correlate1d": [
        correlate1d_flipped_kernel,
        correlate1d_one_output_short,
        correlate1d_full,
        correlate1d_same,
        correlate1d_no_length_check,
        correlate1d_overwrites_input,
    ],
    "output_size": [
        output_size_stride_ignored,
        output_size_padding_once,
        output_size_dilation_ignored,
        output_size_dilation_times_k,
        output_size_ceil,
        output_size_returns_float,
    ],
    "conv2d_multichannel": [
        conv2d_multichannel_flipped_kernel,
        conv2d_multichannel_no_bias,
        conv2d_multichannel_bias_per_channel,
        conv2d_multichannel_channels_averaged,
        conv2d_multichannel_first_channel_only,
        conv2d_multichannel_one_row_short,
        conv2d_multichannel_transposed,
        conv2d_multichannel_no_channel_check,
    ],
    "max_pool2d": [
        max_pool2d_average,
        max_pool2d_stride_one,
        max_pool2d_ceil,
        max_pool2d_starts_at_zero,
        max_pool2d_mixes_channels,
        max_pool2d_transposed_windows,
        max_pool2d_always_float64,
    ],
    "correlate1d_kernel_grad": [
        correlate1d_kernel_grad_reversed,
        correlate1d_kernel_grad_ignores_upstream,
        correlate1d_kernel_grad_mean,
        correlate1d_kernel_grad_last_output_missed,
        correlate1d_kernel_grad_no_length_check,
    ],
    "conv2d_layer_cost": [
        conv2d_layer_cost_bias_in_macs,
        conv2d_layer_cost_bias_forgotten,
        conv2d_layer_cost_one_shared_bias,
        conv2d_layer_cost_stride_ignored,
        conv2d_layer_cost_padding_ignored,
        conv2d_layer_cost_macs_per_position,
        conv2d_layer_cost_floats,
    ],
    # chapter 2
    "conv1d_multichannel": [
        conv1d_multichannel_dilation_ignored,
        conv1d_multichannel_span_d_times_k,
        conv1d_multichannel_stride_and_dilation_swapped,
        conv1d_multichannel_stride_ignored,
        conv1d_multichannel_flipped_kernel,
        conv1d_multichannel_first_channel_only,
        conv1d_multichannel_no_checks,
    ],
    "im2col": [
        im2col_channels_last,
        im2col_columns_column_major,
        im2col_rows_and_columns_swapped,
        im2col_stride_ignored,
        im2col_patches_transposed,
        im2col_always_float64,
    ],
    "conv3d_multichannel": [
        conv3d_multichannel_stride_reversed,
        conv3d_multichannel_depth_stride_ignored,
        conv3d_multichannel_kernel_axes_swapped,
        conv3d_multichannel_flipped_kernel,
        conv3d_multichannel_first_frame_of_kernel,
        conv3d_multichannel_no_bias,
        conv3d_multichannel_no_channel_check,
    ],
    "causal_conv1d": [
        causal_conv1d_padded_on_the_right,
        causal_conv1d_same_padding,
        causal_conv1d_padding_ignores_dilation,
        causal_conv1d_flipped_kernel,
        causal_conv1d_one_step_late,
        causal_conv1d_no_padding,
    ],
    "receptive_field": [
        receptive_field_jumps_added,
        receptive_field_dilation_ignored,
        receptive_field_extent_d_times_k,
        receptive_field_own_stride_counted,
        receptive_field_kernel_sizes_summed,
        receptive_field_look_back,
        receptive_field_float,
        receptive_field_no_check,
    ],
    "factorize_kernel": [
        factorize_kernel_swapped,
        factorize_kernel_no_rank_check,
        factorize_kernel_divides_by_corner,
        factorize_kernel_singular_value_forgotten,
        factorize_kernel_first_row_and_column,
        factorize_kernel_two_dimensional,
        factorize_kernel_keeps_integer_dtype,
    ],
    "depthwise_conv2d": [
        depthwise_conv2d_mixes_channels,
        depthwise_conv2d_channels_interleaved,
        depthwise_conv2d_no_bias,
        depthwise_conv2d_padding_ignored,
        depthwise_conv2d_flipped_kernel,
        depthwise_conv2d_no_shape_check,
    ],
    "conv_transpose_matrix": [
        conv_transpose_matrix_not_transposed,
        conv_transpose_matrix_flipped_kernel,
        conv_transpose_matrix_stride_ignored,
        conv_transpose_matrix_padding_ignored,
        conv_transpose_matrix_cropped_at_the_top_only,
        conv_transpose_matrix_no_check,
    ],
    "conv_transpose2d": [
        conv_transpose2d_copies_not_spaced,
        conv_transpose2d_stride_ignored,
        conv_transpose2d_overlaps_overwrite,
        conv_transpose2d_flipped_kernel,
        conv_transpose2d_cropped_top_left_only,
        conv_transpose2d_forward_weight_layout,
        conv_transpose2d_overwrites_input,
    ],
    # chapter 3
    "vgg_features_cost": [
        vgg_features_cost_pool_rounds_up,
        vgg_features_cost_no_padding,
        vgg_features_cost_kernel_not_squared,
        vgg_features_cost_bias_forgotten,
        vgg_features_cost_running_stats_counted,
        vgg_features_cost_always_rgb,
        vgg_features_cost_channels_last,
    ],
    "conv1x1": [
        conv1x1_reshape_without_transpose,
        conv1x1_weight_transposed,
        conv1x1_no_bias,
        conv1x1_sums_the_batch,
        conv1x1_always_float64,
        conv1x1_no_shape_check,
    ],
    "depth_concat": [
        depth_concat_top_left,
        depth_concat_extra_zero_on_top,
        depth_concat_crops_to_the_smallest,
        depth_concat_edge_padding,
        depth_concat_reversed,
        depth_concat_along_the_batch,
        depth_concat_pads_the_inputs_in_place,
    ],
    "inception_cost": [
        inception_cost_reduction_is_free,
        inception_cost_kernel_not_squared,
        inception_cost_pool_branch_dropped,
        inception_cost_pool_always_passes_the_input,
        inception_cost_square_maps_only,
        inception_cost_pooling_costs_nine,
        inception_cost_float,
    ],
    "basic_block_forward": [
        basic_block_forward_no_final_relu,
        basic_block_forward_relu_before_the_addition,
        basic_block_forward_stride_in_conv2,
        basic_block_forward_batch_statistics,
        basic_block_forward_projection_without_bn,
        basic_block_forward_projection_only_when_needed,
        basic_block_forward_zero_padded_identity,
        basic_block_forward_folds_bn_in_place,
    ],
    "highway_forward": [
        highway_forward_gates_swapped,
        highway_forward_no_relu,
        highway_forward_tanh_gate,
        highway_forward_weights_not_transposed,
        highway_forward_carry_not_gated,
        highway_forward_no_shape_check,
    ],
    "center_crop": [
        center_crop_top_left,
        center_crop_extra_row_on_top,
        center_crop_rounds_half_to_even,
        center_crop_height_and_width_swapped,
        center_crop_wrong_axes,
        center_crop_no_check,
    ],
    "batch_norm_train": [
        batch_norm_train_unbiased_normalisation,
        batch_norm_train_biased_running_variance,
        batch_norm_train_momentum_reversed,
        batch_norm_train_per_position,
        batch_norm_train_per_sample,
        batch_norm_train_eps_outside_the_root,
        batch_norm_train_no_update,
        batch_norm_train_updates_in_place,
    ],
    # chapter 4
    "saliency_map": [
        saliency_map_no_abs,
        saliency_map_mean_over_channels,
        saliency_map_of_the_probability,
        saliency_map_of_the_log_probability,
        saliency_map_first_class_for_all,
        saliency_map_predicted_class,
        saliency_map_gradient_times_input,
        saliency_map_always_float64,
        saliency_map_no_checks,
    ],
    "class_activation_map": [
        class_activation_map_relu,
        class_activation_map_all_classes,
        class_activation_map_first_class_for_all,
        class_activation_map_averaged,
        class_activation_map_normalized_over_the_batch,
        class_activation_map_divided_by_the_max,
        class_activation_map_constant_gives_nan,
        class_activation_map_no_checks,
    ],
    "grad_cam": [
        grad_cam_summed_gradients,
        grad_cam_max_gradients,
        grad_cam_positive_gradients_only,
        grad_cam_no_relu,
        grad_cam_always_relu,
        grad_cam_averaged_over_the_batch,
        grad_cam_gradient_times_activation,
        grad_cam_no_shape_check,
    ],
    "occlusion_map": [
        occlusion_map_summed,
        occlusion_map_divided_by_the_area,
        occlusion_map_sign_reversed,
        occlusion_map_first_channel_only,
        occlusion_map_full_windows_only,
        occlusion_map_stride_not_checked,
        occlusion_map_zeros_not_baseline,
        occlusion_map_of_the_probability,
        occlusion_map_window_transposed,
        occlusion_map_stride_ignored,
    ],
    "lime_fit": [
        lime_fit_kernel_without_root,
        lime_fit_width_not_squared,
        lime_fit_unweighted,
        lime_fit_intercept_penalised,
        lime_fit_no_intercept,
        lime_fit_alpha_ignored,
        lime_fit_intercept_as_array,
    ],
    "pointing_game": [
        pointing_game_last_maximum,
        pointing_game_rows_and_columns_swapped,
        pointing_game_chessboard_distance,
        pointing_game_strict_tolerance,
        pointing_game_minimum,
        pointing_game_tolerance_ignored,
        pointing_game_accuracy,
    ],
    "deletion_curve": [
        deletion_curve_least_important_first,
        deletion_curve_of_the_score,
        deletion_curve_area_as_mean,
        deletion_curve_area_without_halves,
        deletion_curve_last_partial_step_missing,
        deletion_curve_first_channel_only,
        deletion_curve_zeros_not_baseline,
        deletion_curve_ties_higher_index_first,
    ],
    # chapter 5
    "box_iou": [
        box_iou_plus_one,
        box_iou_no_clamp,
        box_iou_width_clamped_only,
        box_iou_union_not_less_intersection,
        box_iou_over_the_smaller_box,
        box_iou_read_as_xywh,
        box_iou_transposed,
        box_iou_always_float64,
        box_iou_no_shape_check,
    ],
    "decode_boxes": [
        decode_boxes_no_clamp,
        decode_boxes_clamped_both_ways,
        decode_boxes_clamped_before_the_weights,
        decode_boxes_weights_multiplied,
        decode_boxes_weights_ignored,
        decode_boxes_weights_in_the_wrong_order,
        decode_boxes_shift_in_pixels,
        decode_boxes_linear_size,
        decode_boxes_full_size_from_the_centre,
        decode_boxes_returns_centres,
        decode_boxes_clip_ignored,
    ],
    "nms": [
        nms_greater_or_equal,
        nms_lowest_score_first,
        nms_input_order,
        nms_kept_sorted_by_index,
        nms_suppressed_boxes_suppress,
        nms_plus_one,
        nms_over_the_smaller_box,
        nms_returns_a_mask,
        nms_int32_indices,
    ],
    "roi_align_single": [
        roi_align_single_aligned_ignored,
        roi_align_single_always_shifted,
        roi_align_single_points_at_bin_corners,
        roi_align_single_max_of_the_points,
        roi_align_single_nearest_pixel,
        roi_align_single_scale_ignored,
        roi_align_single_box_read_as_yx,
        roi_align_single_no_minimum_size,
        roi_align_single_no_zeros_outside,
        roi_align_single_bins_transposed,
        roi_align_single_two_points_always,
        roi_align_single_always_float64,
    ],
    "grid_anchors": [
        grid_anchors_ratio_inverted,
        grid_anchors_not_rounded,
        grid_anchors_halves_rounded_up,
        grid_anchors_scale_major,
        grid_anchors_shifts_x_and_y_swapped,
        grid_anchors_column_by_column,
        grid_anchors_from_the_corner,
        grid_anchors_centred_in_the_cell,
        grid_anchors_no_square_root,
        grid_anchors_stride_read_as_x_then_y,
    ],
    "mask_loss": [
        mask_loss_every_class,
        mask_loss_softmax_over_classes,
        mask_loss_label_minus_one,
        mask_loss_predicted_class,
        mask_loss_summed,
        mask_loss_averaged_per_region_then_summed,
        mask_loss_sigmoid_then_bce,
        mask_loss_naive_logarithms,
        mask_loss_no_regions_is_nan,
        mask_loss_returns_a_float,
    ],
    "average_precision": [
        average_precision_not_interpolated,
        average_precision_eleven_points,
        average_precision_area_under_the_curve,
        average_precision_not_ranked,
        average_precision_lowest_score_first,
        average_precision_ties_reversed,
        average_precision_recall_over_detections,
        average_precision_last_precision_beyond,
        average_precision_hundred_points,
        average_precision_recall_strictly_above,
    ],
}
