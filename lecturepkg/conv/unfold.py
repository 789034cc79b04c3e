"""Fast convolution in numpy: im2col + one matrix product (the vectorised path).

The loop in :func:`~lecturepkg.conv.nd.convnd` computes one dot product per output position:
the window of the input under the kernel times the flattened filter. *im2col* ("image to
columns") copies all those windows at once into the columns of one matrix, so that the
whole convolution becomes a single matrix product (Chellapilla, Puri & Simard, *High
performance convolutional neural networks for document processing*, 2006; the approach of
Caffe and of early cuDNN, Chetlur et al. 2014)::

    input (N, C, *size)  --im2col-->  cols (N, C * prod(k), L)      L = number of outputs
    weight (C_out, C, *k) --reshape--> W (C_out, C * prod(k))
    out = W @ cols                      (N, C_out, L)  --reshape-->  (N, C_out, *out_size)

The windows are built without a Python loop: ``np.lib.stride_tricks.sliding_window_view``
returns a *view* of the padded input with the window axes appended (no copy, only new
strides); slicing that view with steps applies the stride (to the position axes) and the
dilation (to the window axes). The only copy is the final reshape into columns, which holds
each input value about ``prod(k) / prod(s)`` times; this memory is the price of turning the
convolution into one big, fast matrix product.

The functions take the same arguments as their ``torch.nn.functional`` namesakes and are
tested against them and against the loop versions.
"""

from __future__ import annotations

import numpy as np

from lecturepkg._checks import check_tuple
from lecturepkg.conv._args import (
    IntOrTuple,
    check_array,
    check_conv_args,
    check_hyper,
    checked_output_size,
    result_dtype,
    sliding_windows,
)
from lecturepkg.conv.arithmetic import conv_output_size

__all__ = ["im2col", "conv1d_fast", "conv2d_fast", "conv3d_fast"]


def im2col(
    input: np.ndarray,
    kernel_size: IntOrTuple,
    dilation: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    stride: IntOrTuple = 1,
) -> np.ndarray:
    """Copy every window of a batch into the columns of a matrix (im2col, "unfold").

    ``cols[n, :, l]`` is the window that the ``l``-th output position (row-major over the
    output grid) sees in sample ``n``, flattened channel first, then kernel axes in order:
    entry ``c * prod(k) + flat(u)`` holds ``x[n, c, i*stride + u*dilation]``. A convolution
    is then ``weight.reshape(C_out, -1) @ cols``. For two spatial axes this is exactly
    ``torch.nn.functional.unfold(input, kernel_size, dilation, padding, stride)``, and the
    arguments come in that order too (``dilation`` before ``stride``, unlike ``conv2d``).

    The number ``D`` of spatial axes is ``input.ndim - 2``: the input must be batched,
    ``(N, C, *size)`` (add an axis with ``x[None]`` for a single sample). ``kernel_size``,
    ``stride``, ``padding`` and ``dilation`` are an int or a ``D``-tuple.

    Shapes: ``(N, C, *size)`` -> ``(N, C * prod(kernel_size), prod(out_size))``, same dtype.

    >>> x = np.arange(9).reshape(1, 1, 3, 3)
    >>> im2col(x, 2)  # four 2x2 windows, one per column
    array([[[0, 1, 3, 4],
            [1, 2, 4, 5],
            [3, 4, 6, 7],
            [4, 5, 7, 8]]])
    """
    input = check_array("input", input, None, "(N, C, *size)")
    if input.ndim < 3:
        raise ValueError(
            f"input must be batched, (N, C, *size) with at least one spatial axis, "
            f"got shape {input.shape}"
        )
    dims = input.ndim - 2
    k = check_tuple("kernel_size", kernel_size, dims, minimum=1)
    s, p, d = check_hyper(dims, stride, padding, dilation)
    out_size = checked_output_size(
        conv_output_size, f"kernel_size {k}", input, k, stride=s, padding=p, dilation=d
    )
    windows = sliding_windows(input, k, s, p, d)  # (N, C, *out_size, *k), a view
    n, c = input.shape[:2]
    # move the kernel axes next to the channel axis: (N, C, *k, *out_size)
    order = (0, 1, *range(2 + dims, 2 + 2 * dims), *range(2, 2 + dims))
    return windows.transpose(order).reshape(n, c * int(np.prod(k)), int(np.prod(out_size)))


def _conv_fast(input, weight, bias, stride, padding, dilation, groups, dims: int):
    """im2col convolution with ``dims`` spatial axes: one batched matrix product."""
    x, weight, bias, groups, batched = check_conv_args(input, weight, bias, groups, dims)
    s, p, d = check_hyper(dims, stride, padding, dilation)
    kernel_size = weight.shape[2:]
    out_size = checked_output_size(
        conv_output_size, f"weight of shape {weight.shape}", x, kernel_size,
        stride=s, padding=p, dilation=d,
    )
    n, c_out = x.shape[0], weight.shape[0]
    cols = im2col(x, kernel_size, d, p, s)  # (N, C_in * prod(k), L)
    cols = cols.reshape(n, groups, -1, cols.shape[-1])  # (N, G, C_in/G * prod(k), L)
    w = weight.reshape(groups, c_out // groups, -1)  # (G, C_out/G, C_in/G * prod(k))
    dtype = result_dtype(x, weight, bias)
    out = np.matmul(w.astype(dtype, copy=False), cols.astype(dtype, copy=False))
    out = out.reshape(n, c_out, *out_size)  # (N, G, C_out/G, L) -> (N, C_out, *out_size)
    if bias is not None:
        out += bias.reshape(c_out, *(1,) * dims)
    return out if batched else out[0]


def conv1d_fast(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> np.ndarray:
    """1D convolution by im2col + matrix product; same arguments and result as
    :func:`~lecturepkg.conv.functional.conv1d` and ``torch.nn.functional.conv1d``.

    Shapes: input ``(N, C_in, L)`` or ``(C_in, L)``; weight ``(C_out, C_in/groups, k)``;
    output ``(N, C_out, L_out)`` or ``(C_out, L_out)``.
    """
    return _conv_fast(input, weight, bias, stride, padding, dilation, groups, dims=1)


def conv2d_fast(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> np.ndarray:
    """2D convolution by im2col + matrix product; same arguments and result as
    :func:`~lecturepkg.conv.functional.conv2d` and ``torch.nn.functional.conv2d``.

    With ``groups=G`` the columns and the filters are split into ``G`` blocks of channels
    and each group gets its own matrix product (one ``np.matmul`` call does all of them).

    Shapes: input ``(N, C_in, H, W)`` or ``(C_in, H, W)``; weight
    ``(C_out, C_in/groups, kH, kW)``; output ``(N, C_out, H_out, W_out)`` or
    ``(C_out, H_out, W_out)``.

    >>> x = np.arange(16).reshape(1, 4, 4)
    >>> conv2d_fast(x, np.ones((1, 1, 2, 2), dtype=int), stride=2)  # sums of 2x2 blocks
    array([[[10, 18],
            [42, 50]]])
    """
    return _conv_fast(input, weight, bias, stride, padding, dilation, groups, dims=2)


def conv3d_fast(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> np.ndarray:
    """3D convolution by im2col + matrix product; same arguments and result as
    :func:`~lecturepkg.conv.nd.conv3d` and ``torch.nn.functional.conv3d``.

    Shapes: input ``(N, C_in, D, H, W)`` or ``(C_in, D, H, W)``; weight
    ``(C_out, C_in/groups, kD, kH, kW)``; output ``(N, C_out, D_out, H_out, W_out)`` or
    ``(C_out, D_out, H_out, W_out)``.
    """
    return _conv_fast(input, weight, bias, stride, padding, dilation, groups, dims=3)
