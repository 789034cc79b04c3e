"""Reference solutions of the chapter 2 exercises, "A typology of convolutions".

Each function is the solution of the exercise of the same name in
``book/02-typology/exercises.md``, with the same signature and the same docstring as the
stub there. They use plain loops and numpy only (``np.pad`` included), never the library
functions that would do the work (``torch.nn.functional.conv3d``, ``F.unfold``,
``F.conv_transpose2d``, the course's own ``lecturepkg.conv``, ...): those are the
answers the exercises ask for. Each function is self-contained, so that it can be pasted
into the exercises notebook as it stands.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "conv1d_multichannel",
    "im2col",
    "conv3d_multichannel",
    "causal_conv1d",
    "receptive_field",
    "factorize_kernel",
    "depthwise_conv2d",
    "conv_transpose_matrix",
    "conv_transpose2d",
]


def conv1d_multichannel(x, weight, bias, stride=1, dilation=1):
    """A 1D convolutional layer on one multichannel signal (a sensor recording, a text
    encoded character by character), with stride and dilation, no padding, no kernel
    flip:

    ``y[d, t] = bias[d] + sum over c, j of weight[d, c, j] * x[c, t * stride + j *
    dilation]``

    Parameters
    ----------
    x : np.ndarray, shape (C, L), float
        The signal: C channels (sensor axes, letters of the alphabet) of length L.
    weight : np.ndarray, shape (D, C, k), float
        D filters, each with one kernel of k taps per input channel.
    bias : np.ndarray, shape (D,), float
        One bias per filter.
    stride, dilation : int
        The window moves ``stride`` steps at a time; its k taps are ``dilation`` apart.

    Returns
    -------
    np.ndarray, shape (D, (L - dilation * (k - 1) - 1) // stride + 1)
        One output signal per filter; a float64 array when the inputs are float64.

    Raises
    ------
    ValueError
        If ``weight`` does not have the C channels of ``x``, or if the dilated kernel,
        which spans ``dilation * (k - 1) + 1`` samples, is longer than the signal.
    """
    C, L = x.shape
    D, C_w, k = weight.shape
    if C_w != C:
        raise ValueError(f"weight has {C_w} input channels but x has {C}")
    span = dilation * (k - 1) + 1  # samples covered by the dilated kernel
    if span > L:
        raise ValueError(f"the dilated kernel spans {span} samples, more than the signal's {L}")
    L_out = (L - span) // stride + 1
    y = np.empty((D, L_out), dtype=np.result_type(x, weight, bias))
    for t in range(L_out):
        start = t * stride
        window = x[:, start:start + span:dilation]  # (C, k): every dilation-th sample
        y[:, t] = np.sum(weight * window, axis=(1, 2)) + bias  # (D, C, k) * (C, k) -> (D,)
    return y


def im2col(x, kernel_size, stride=1):
    """Unfold the patches of an image into the columns of a matrix ("image to columns").

    Column ``l = i * W_out + j`` holds the patch of ``x`` under the kernel at output
    position ``(i, j)``, that is ``x[:, i*stride : i*stride + kh, j*stride : j*stride +
    kw]``, flattened in C order (channel first, then kernel row, then kernel column). A
    convolution is then one matrix product: ``weight.reshape(D, -1) @ im2col(x, (kh,
    kw), stride)`` is the ``(D, H_out * W_out)`` output. The layout is that of
    ``torch.nn.functional.unfold`` applied to one image.

    Parameters
    ----------
    x : np.ndarray, shape (C, H, W)
        The image.
    kernel_size : int or tuple (kh, kw)
        The kernel's height and width (an int means a square kernel).
    stride : int
        The step between neighbouring patches, along both axes.

    Returns
    -------
    np.ndarray, shape (C * kh * kw, H_out * W_out)
        With ``H_out = (H - kh) // stride + 1`` and ``W_out = (W - kw) // stride + 1``;
        the same dtype as ``x``.

    Raises
    ------
    ValueError
        If the kernel is larger than the image (kh > H or kw > W).
    """
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    C, H, W = x.shape
    if kh > H or kw > W:
        raise ValueError(f"kernel_size ({kh}, {kw}) is larger than the {H} x {W} image")
    H_out, W_out = (H - kh) // stride + 1, (W - kw) // stride + 1
    cols = np.empty((C * kh * kw, H_out * W_out), dtype=x.dtype)
    for i in range(H_out):
        for j in range(W_out):
            patch = x[:, i * stride:i * stride + kh, j * stride:j * stride + kw]  # (C, kh, kw)
            cols[:, i * W_out + j] = patch.reshape(-1)  # (c, u, v) order
    return cols


def conv3d_multichannel(x, weight, bias, stride=1):
    """A 3D convolutional layer on one volume or video clip: valid, no kernel flip.

    ``y[o, t, i, j] = bias[o] + sum over c, a, b, e of
    weight[o, c, a, b, e] * x[c, t * sd + a, i * sh + b, j * sw + e]``
    where ``(sd, sh, sw)`` is the stride along depth (or time), height and width.

    Parameters
    ----------
    x : np.ndarray, shape (C, D, H, W), float
        C channels of a D x H x W volume (an MRI scan, or D frames of a video).
    weight : np.ndarray, shape (O, C, kd, kh, kw), float
        O filters, each with one kd x kh x kw kernel per input channel.
    bias : np.ndarray, shape (O,), float
        One bias per filter.
    stride : int or tuple (sd, sh, sw)
        The step of the window along depth, height and width (an int: the same for all).

    Returns
    -------
    np.ndarray, shape (O, (D - kd) // sd + 1, (H - kh) // sh + 1, (W - kw) // sw + 1)
        One output volume per filter; a float64 array when the inputs are float64.

    Raises
    ------
    ValueError
        If ``weight`` does not have the C channels of ``x``.
    """
    C, D, H, W = x.shape
    O, C_w, kd, kh, kw = weight.shape
    if C_w != C:
        raise ValueError(f"weight has {C_w} input channels but x has {C}")
    sd, sh, sw = (stride, stride, stride) if isinstance(stride, int) else stride
    D_out, H_out, W_out = (D - kd) // sd + 1, (H - kh) // sh + 1, (W - kw) // sw + 1
    y = np.empty((O, D_out, H_out, W_out), dtype=np.result_type(x, weight, bias))
    for t in range(D_out):
        for i in range(H_out):
            for j in range(W_out):
                block = x[:, t * sd:t * sd + kd, i * sh:i * sh + kh, j * sw:j * sw + kw]  # (C, kd, kh, kw)
                y[:, t, i, j] = np.sum(weight * block, axis=(1, 2, 3, 4)) + bias
    return y


def causal_conv1d(x, weight, dilation=1):
    """A causal 1D convolution: the output at time t sees the inputs up to time t only,
    and the output is as long as the input.

    Pad the signal on the *left* (the past) with ``dilation * (kernel_size - 1)`` zeros,
    then take the valid cross-correlation with dilation ``dilation`` and stride 1:

    ``y[d, t] = sum over c, j of weight[d, c, j] * x[c, t - (k - 1 - j) * dilation]``,

    where entries of x before time 0 are zeros. The last tap, ``weight[:, :, k - 1]``,
    meets the present sample x[:, t]. No bias.

    Parameters
    ----------
    x : np.ndarray, shape (C, T), float
        A signal of C channels and T time steps.
    weight : np.ndarray, shape (D, C, k), float
        D filters of k taps per input channel.
    dilation : int
        The spacing of the taps (1, 2, 4, 8, ... in a WaveNet or TCN stack).

    Returns
    -------
    np.ndarray, shape (D, T)
        Aligned with the input: output t depends on x[:, :t + 1] only; a float64 array
        when the inputs are float64.

    Raises
    ------
    ValueError
        If ``weight`` does not have the C channels of ``x``.

    Example: the notes' toy example, the signal (10, 20, 30) and the kernel (1, 2),
    gives ``causal_conv1d(np.array([[10., 20., 30.]]), np.array([[[1., 2.]]]))`` =
    ``[[20., 50., 80.]]``.
    """
    C, T = x.shape
    D, C_w, k = weight.shape
    if C_w != C:
        raise ValueError(f"weight has {C_w} input channels but x has {C}")
    pad = dilation * (k - 1)  # the dilated kernel reaches this far into the past
    past = np.zeros((C, pad), dtype=x.dtype)
    xp = np.concatenate([past, x], axis=1)  # (C, pad + T); x[:, t] is now at t + pad
    y = np.empty((D, T), dtype=np.result_type(x, weight))
    for t in range(T):
        window = xp[:, t:t + pad + 1:dilation]  # (C, k): x at t - pad, ..., t - dilation, t
        y[:, t] = np.sum(weight * window, axis=(1, 2))
    return y


def receptive_field(layers):
    """Receptive field of one output of a stack of 1D convolutions (or, per axis, of 2D
    ones): how many consecutive input positions can influence it.

    ``layers`` lists the layers from the input upward as ``(kernel_size, stride,
    dilation)`` triples. The field is the span from the first to the last input position
    that the output depends on, both included, counting positions that a dilated kernel
    skips. A layer widens the field by ``dilation * (kernel_size - 1)`` steps of its own
    input, and one step of a layer's input spans as many positions of the network's
    input as the product of the strides of the layers below it.

    Parameters
    ----------
    layers : list of tuple (int, int, int)
        ``(kernel_size, stride, dilation)`` per layer, first layer first; may be empty.

    Returns
    -------
    int
        The receptive field size, a Python ``int`` (1 for an empty stack).

    Raises
    ------
    ValueError
        If a kernel size, stride or dilation is smaller than 1.

    Example: four causal layers with kernels of size 2 and dilations 1, 2, 4, 8 see 16
    time steps, ``receptive_field([(2, 1, 1), (2, 1, 2), (2, 1, 4), (2, 1, 8)]) == 16``.
    """
    size = 1  # one output sees one position before any layer is applied
    jump = 1  # distance, in input positions, between neighbouring positions of this layer's input
    for kernel_size, stride, dilation in layers:
        if kernel_size < 1 or stride < 1 or dilation < 1:
            raise ValueError(f"layer {(kernel_size, stride, dilation)}: kernel_size, stride and dilation must be >= 1")
        size += dilation * (kernel_size - 1) * jump
        jump *= stride
    return size


def factorize_kernel(kernel):
    """Split a separable (rank-one) 2D kernel into a column and a row.

    Find ``column`` (length h) and ``row`` (length w) with ``np.outer(column, row) ==
    kernel``, so that correlating an image with ``column`` down the rows and then with
    ``row`` along the columns equals correlating it with ``kernel``: h + w
    multiplications per pixel instead of h * w. The factors are unique up to a scale
    (``column * a`` and ``row / a`` work as well); any scale is accepted.

    Parameters
    ----------
    kernel : np.ndarray, shape (h, w), float

    Returns
    -------
    tuple (column, row)
        ``column`` of shape (h,) and ``row`` of shape (w,), float64 arrays.

    Raises
    ------
    ValueError
        If the kernel is not separable: no column and row reproduce it to within
        rounding errors (say ``1e-9`` relative to its largest entry).

    Example: the Sobel kernel ``[[1, 0, -1], [2, 0, -2], [1, 0, -1]]`` is the outer
    product of the column ``[1, 2, 1]`` and the row ``[1, 0, -1]``.
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    h, w = kernel.shape
    # Pivot on the largest entry: a row and a column through it are never all zero.
    r, c = np.unravel_index(np.argmax(np.abs(kernel)), kernel.shape)
    pivot = kernel[r, c]
    if pivot == 0:  # the zero kernel: zero times zero
        return np.zeros(h), np.zeros(w)
    column = kernel[:, c].copy()  # (h,)
    row = kernel[r, :] / pivot  # (w,), so that column[r] * row[c] = pivot
    error = np.max(np.abs(np.outer(column, row) - kernel))
    if error > 1e-9 * abs(pivot):
        raise ValueError(f"kernel is not separable (rank one): the best column x row misses it by {error:.3g}")
    return column, row


def depthwise_conv2d(x, weight, bias, padding=0):
    """Depthwise 2D convolution: each channel is convolved with its own kernels, and
    channels are never mixed (``torch.nn.functional.conv2d`` with ``groups = C``).

    With a *channel multiplier* m = D / C, input channel c feeds the m output channels
    ``c * m, ..., c * m + m - 1``; output channel o reads input channel ``o // m`` only:

    ``y[o, i, j] = bias[o] + sum over u, v of weight[o, 0, u, v] * xp[o // m, i + u, j +
    v]``

    where ``xp`` is ``x`` with ``padding`` zeros on each side of both spatial axes.

    Parameters
    ----------
    x : np.ndarray, shape (C, H, W), float
    weight : np.ndarray, shape (D, 1, kh, kw), float
        One kh x kw kernel per output channel; D must be a multiple of C.
    bias : np.ndarray, shape (D,), float
    padding : int
        Zeros added on each side of both spatial axes (1 keeps the size of a 3 x 3
        layer).

    Returns
    -------
    np.ndarray, shape (D, H + 2 * padding - kh + 1, W + 2 * padding - kw + 1)
        A float64 array when the inputs are float64.

    Raises
    ------
    ValueError
        If ``weight.shape[1]`` is not 1 (a full convolution's weight, which mixes
        channels) or D is not a multiple of C.
    """
    C, H, W = x.shape
    D, per_group, kh, kw = weight.shape
    if per_group != 1 or D % C != 0:
        raise ValueError(f"weight must have shape (m * C, 1, kh, kw) for the {C} channels of x, got {weight.shape}")
    m = D // C  # the channel multiplier
    xp = np.pad(x, ((0, 0), (padding, padding), (padding, padding)))  # (C, H + 2p, W + 2p)
    H_out, W_out = H + 2 * padding - kh + 1, W + 2 * padding - kw + 1
    y = np.empty((D, H_out, W_out), dtype=np.result_type(x, weight, bias))
    for o in range(D):
        channel = xp[o // m]  # (H + 2p, W + 2p): the only input channel output o sees
        for i in range(H_out):
            for j in range(W_out):
                y[o, i, j] = np.sum(channel[i:i + kh, j:j + kw] * weight[o, 0]) + bias[o]
    return y


def conv_transpose_matrix(weight, input_size, stride=1, padding=0):
    """The matrix of a 1D transposed convolution, ``K^T`` in the notes.

    A transposed convolution with kernel ``weight`` (k taps), stride s and padding p
    maps a signal z of length n = ``input_size`` to a signal of length ``n_out = (n - 1)
    * s - 2 * p + k``: input value z[i] adds ``z[i] * weight[j]`` to output position ``i
    * s + j - p`` (positions outside ``0 .. n_out - 1`` are cropped). Return the
    ``(n_out, n)`` matrix M with ``M @ z`` equal to that output. Its transpose ``M.T``
    is the matrix K of the ordinary convolution with the same kernel, stride and padding
    on a signal of length n_out, whence the name.

    Parameters
    ----------
    weight : np.ndarray, shape (k,), float
        The kernel.
    input_size : int
        The length n of the signal the transposed convolution is applied to.
    stride, padding : int

    Returns
    -------
    np.ndarray, shape ((n - 1) * stride - 2 * padding + k, n)
        Column i holds the kernel, starting at row ``i * stride - padding``; float64
        when ``weight`` is float64.

    Raises
    ------
    ValueError
        If the output would be empty (``n_out < 1``).

    Example: for the kernel (w1, w2, w3) and n = 4 (stride 1, no padding), M is the 6 x
    4 matrix of the notes, with columns (w1, w2, w3, 0, 0, 0), (0, w1, w2, w3, 0, 0),
    ...
    """
    k, n = len(weight), input_size
    n_out = (n - 1) * stride - 2 * padding + k
    if n_out < 1:
        raise ValueError(f"the output would have length {n_out}: padding {padding} crops everything")
    M = np.zeros((n_out, n), dtype=weight.dtype)
    for i in range(n):  # input value z[i] ...
        for j in range(k):  # ... paints weight[j] at output position i * stride + j - padding
            row = i * stride + j - padding
            if 0 <= row < n_out:
                M[row, i] = weight[j]
    return M


def conv_transpose2d(x, weight, stride=1, padding=0):
    """Transposed 2D convolution on one image, by overlap-add (no bias).

    Every input value ``x[c, i, j]`` scales the kernel stack ``weight[c]`` (shape
    ``(C_out, kh, kw)``) and adds it into the output with its top-left corner at ``(i *
    stride, j * stride)``; copies that overlap are summed, over positions and over input
    channels. Finally ``padding`` rows and columns are cropped from *each* border. This
    is ``torch.nn.functional.conv_transpose2d(x[None], weight, stride=stride,
    padding=padding)[0]``, with PyTorch's weight layout (input channels first).

    Parameters
    ----------
    x : np.ndarray, shape (C_in, H, W), float
    weight : np.ndarray, shape (C_in, C_out, kh, kw), float
    stride, padding : int

    Returns
    -------
    np.ndarray, shape (C_out, (H - 1) * stride - 2 * padding + kh, (W - 1) * stride - 2
    * padding + kw)
        A float64 array when the inputs are float64.

    Raises
    ------
    ValueError
        If ``weight.shape[0]`` is not the number of channels C_in of ``x``.
    """
    C_in, H, W = x.shape
    C_w, C_out, kh, kw = weight.shape
    if C_w != C_in:
        raise ValueError(f"weight has {C_w} input channels (its first axis) but x has {C_in}")
    full = np.zeros((C_out, (H - 1) * stride + kh, (W - 1) * stride + kw), dtype=np.result_type(x, weight))
    for c in range(C_in):
        for i in range(H):
            for j in range(W):
                top, left = i * stride, j * stride
                full[:, top:top + kh, left:left + kw] += x[c, i, j] * weight[c]  # (C_out, kh, kw)
    H_out, W_out = full.shape[1] - 2 * padding, full.shape[2] - 2 * padding
    if H_out < 1 or W_out < 1:
        raise ValueError(f"padding {padding} crops the whole {full.shape[1]} x {full.shape[2]} output")
    return full[:, padding:padding + H_out, padding:padding + W_out]
