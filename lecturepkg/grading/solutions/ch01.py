"""Reference solutions of the chapter 1 exercises, "Convolution from first principles".

Each function is the solution of the exercise of the same name in
``book/01-convolution/exercises.md``, with the same signature and the same docstring as
the stub there. They use plain loops and numpy only, never the library functions that
would do the work (``numpy.correlate``, ``torch.nn.functional.conv2d``, ...): those are
the answers the exercises ask for.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "correlate1d",
    "output_size",
    "conv2d_multichannel",
    "max_pool2d",
    "correlate1d_kernel_grad",
    "conv2d_layer_cost",
]


def correlate1d(x, w):
    """Valid 1D cross-correlation of a signal with a kernel (what deep learning calls a
    convolution): ``y[i] = sum_j x[i + j] * w[j]``.

    Parameters
    ----------
    x : np.ndarray, shape (W,), float
        The signal.
    w : np.ndarray, shape (k,), float
        The kernel. It is not flipped.

    Returns
    -------
    np.ndarray, shape (W - k + 1,)
        One value per position where the kernel fits entirely inside the signal; a
        float64 array when ``x`` and ``w`` are float64.

    Raises
    ------
    ValueError
        If the kernel is longer than the signal (k > W).

    Example: with ``x = np.array([1.0, 2.0, 3.0, 4.0])`` and ``w = np.array([3.0,
    2.0])`` the result is ``[7.0, 12.0, 17.0]``.
    """
    W, k = len(x), len(w)
    if k > W:
        raise ValueError(f"w is longer than x: kernel length {k} > signal length {W}")
    y = np.empty(W - k + 1, dtype=np.result_type(x, w))
    for i in range(W - k + 1):
        y[i] = np.sum(x[i:i + k] * w)  # the window of x that starts at i, dotted with w
    return y


def output_size(input_size, kernel_size, stride=1, padding=0, dilation=1):
    """Length of the output of a convolution along one axis, as computed by PyTorch.

    The input is padded with ``padding`` zeros at *each* end, the kernel's
    ``kernel_size`` taps are ``dilation`` apart, and the window moves ``stride`` steps
    at a time; only positions where the window fits entirely inside the padded input
    count.

    Parameters
    ----------
    input_size, kernel_size, stride, padding, dilation : int
        All positive (``padding`` may be 0). You may assume that the dilated kernel fits
        inside the padded input.

    Returns
    -------
    int
        The number of output positions (a Python ``int``, not a float).

    Example: ``output_size(20, 3, dilation=4)`` is ``12``.
    """
    span = dilation * (kernel_size - 1) + 1  # the extent of the dilated kernel
    return (input_size + 2 * padding - span) // stride + 1


def conv2d_multichannel(x, weight, bias):
    """A convolutional layer's forward pass on one image: valid, stride 1, no kernel
    flip.

    ``y[d, i, j] = bias[d] + sum over c, u, v of weight[d, c, u, v] * x[c, i + u, j +
    v]``

    Parameters
    ----------
    x : np.ndarray, shape (C, H, W), float
        The input image with C channels.
    weight : np.ndarray, shape (D, C, h, w), float
        D filters, each with one h x w kernel per input channel.
    bias : np.ndarray, shape (D,), float
        One bias per filter.

    Returns
    -------
    np.ndarray, shape (D, H - h + 1, W - w + 1)
        One feature map per filter; a float64 array when the inputs are float64.

    Raises
    ------
    ValueError
        If ``weight`` does not have the same number of channels C as ``x``.
    """
    C, H, W = x.shape
    D, C_w, h, w = weight.shape
    if C_w != C:
        raise ValueError(f"weight has {C_w} input channels but x has {C}")
    y = np.empty((D, H - h + 1, W - w + 1), dtype=np.result_type(x, weight, bias))
    for d in range(D):
        for i in range(H - h + 1):
            for j in range(W - w + 1):
                window = x[:, i:i + h, j:j + w]  # (C, h, w), all channels at once
                y[d, i, j] = np.sum(window * weight[d]) + bias[d]
    return y


def max_pool2d(x, kernel_size):
    """Max pooling over non-overlapping ``kernel_size x kernel_size`` windows.

    The window moves ``kernel_size`` steps at a time (stride = kernel size), each
    channel is pooled separately, and rows or columns at the bottom and right border
    that do not fill a whole window are dropped, as in
    ``torch.nn.functional.max_pool2d(x, kernel_size)``.

    Parameters
    ----------
    x : np.ndarray, shape (C, H, W)
        Feature maps.
    kernel_size : int
        The side k of the square window.

    Returns
    -------
    np.ndarray, shape (C, H // k, W // k)
        The largest value of each window, with the same dtype as ``x``.

    Raises
    ------
    ValueError
        If the window is larger than the map (k > H or k > W).
    """
    C, H, W = x.shape
    k = kernel_size
    if k > H or k > W:
        raise ValueError(f"kernel_size {k} is larger than the {H} x {W} map")
    y = np.empty((C, H // k, W // k), dtype=x.dtype)
    for i in range(H // k):
        for j in range(W // k):
            window = x[:, i * k:(i + 1) * k, j * k:(j + 1) * k]  # (C, k, k)
            y[:, i, j] = window.max(axis=(1, 2))
    return y


def correlate1d_kernel_grad(x, grad_output, kernel_size):
    """Gradient of a loss with respect to the kernel of a 1D valid cross-correlation.

    In the forward pass ``y = correlate1d(x, w)``, i.e. ``y[i] = sum_j x[i + j] *
    w[j]``, with ``len(w) == kernel_size``. Given the upstream gradient ``grad_output =
    dL/dy``, return ``dL/dw``, whose entry j is ``sum_i grad_output[i] * x[i + j]``.

    Parameters
    ----------
    x : np.ndarray, shape (W,), float
        The input of the forward pass.
    grad_output : np.ndarray, shape (W - kernel_size + 1,), float
        dL/dy, one value per output of the forward pass.
    kernel_size : int
        The length k of the kernel w.

    Returns
    -------
    np.ndarray, shape (kernel_size,)
        dL/dw; a float64 array when the inputs are float64.

    Raises
    ------
    ValueError
        If ``grad_output`` does not have length ``W - kernel_size + 1``.
    """
    W, n = len(x), len(grad_output)
    if n != W - kernel_size + 1:
        raise ValueError(f"grad_output has length {n}, expected W - kernel_size + 1 = {W - kernel_size + 1}")
    grad_w = np.empty(kernel_size, dtype=np.result_type(x, grad_output))
    for j in range(kernel_size):
        grad_w[j] = np.sum(grad_output * x[j:j + n])  # w[j] met x[i + j] at every output i
    return grad_w


def conv2d_layer_cost(in_channels, out_channels, kernel_size, input_size, stride=1,
                      padding=0, bias=True):
    """Number of parameters and of multiply-accumulates (MACs) of one ``nn.Conv2d``
    layer.

    The layer has square ``kernel_size x kernel_size`` kernels and is applied to one
    sample of a square ``input_size x input_size`` input with the given stride and
    padding (on each side). Count the MACs the way the course's counter
    ``lecturepkg.counting`` does: one MAC per weight per output value, bias additions
    not counted.

    Parameters
    ----------
    in_channels, out_channels, kernel_size, input_size, stride, padding : int
    bias : bool
        Whether the layer has one bias per output channel.

    Returns
    -------
    tuple[int, int]
        ``(params, macs)``, both Python ints.

    Example: the first layer of the notes' MNIST network,
    ``conv2d_layer_cost(1, 32, 5, 28)``, is ``(832, 460800)``.
    """
    out_size = (input_size + 2 * padding - kernel_size) // stride + 1
    weights_per_filter = in_channels * kernel_size * kernel_size
    params = out_channels * (weights_per_filter + (1 if bias else 0))
    macs = out_size * out_size * out_channels * weights_per_filter
    return params, macs
