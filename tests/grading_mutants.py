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
}
