"""N-dimensional convolution from scratch (numpy): one loop for 1D, 2D, 3D and beyond.

:func:`~lecturepkg.conv.functional.conv1d` and :func:`~lecturepkg.conv.functional.conv2d`
spell out one and two nested loops. Nothing in them depends on the number of spatial axes:
each output position sees a window of the (padded) input, and the output value is the dot
product of that window with a filter. :func:`convnd` writes this once, with ``np.ndindex``
walking over the output grid, so the same dozen lines compute a 1D convolution over a time
series, a 2D convolution over an image and a 3D convolution over a volume (an MRI scan) or a
clip of video frames (Tran et al., *Learning spatiotemporal features with 3D convolutional
networks*, 2015; Milletari et al., *V-Net*, 2016).

The number of spatial axes is read off the kernel: ``weight`` has shape
``(C_out, C_in/groups, k_1, ..., k_D)``, so ``D = weight.ndim - 2``. As in torch the input
may be batched ``(N, C_in, s_1, ..., s_D)`` or unbatched ``(C_in, s_1, ..., s_D)``, and
``stride``, ``padding`` and ``dilation`` are an int or a ``D``-tuple. Like every deep
learning library this computes a cross-correlation (the kernel is not flipped).

This is the slow, readable version; :mod:`lecturepkg.conv.unfold` has the fast one and the
tests check that the two agree, and that both agree with ``torch.nn.functional.conv3d``.
"""

from __future__ import annotations

import numpy as np

from lecturepkg._checks import check_ndarray
from lecturepkg.conv._args import (
    IntOrTuple,
    check_conv_args,
    check_grad_output,
    check_hyper,
    checked_output_size,
    result_dtype,
    split_groups,
    window,
)
from lecturepkg.conv.arithmetic import conv_output_size

__all__ = ["convnd", "conv3d", "convnd_backward", "conv3d_backward"]


def _spatial_dims(weight, expected: int | None = None) -> int:
    """The number of spatial axes ``D = weight.ndim - 2`` (checked against ``expected``)."""
    weight = check_ndarray("weight", weight, shape_hint="(C_out, C_in/groups, *kernel_size)")
    if expected is not None and weight.ndim != expected + 2:
        raise ValueError(
            f"weight must be {expected + 2}-D (C_out, C_in/groups, kD, kH, kW) for a "
            f"{expected}D convolution, got shape {weight.shape}"
        )
    if weight.ndim < 3:
        raise ValueError(
            "weight must have at least 3 axes (C_out, C_in/groups, *kernel_size), "
            f"got shape {weight.shape}"
        )
    return weight.ndim - 2


def _prepare(input, weight, bias, stride, padding, dilation, groups, dims):
    """Check the arguments; return the padded input split in groups and the settings."""
    x, weight, bias, groups, batched = check_conv_args(input, weight, bias, groups, dims)
    stride, padding, dilation = check_hyper(dims, stride, padding, dilation)
    out_size = checked_output_size(
        conv_output_size, f"weight of shape {weight.shape}", x, weight.shape[2:],
        stride=stride, padding=padding, dilation=dilation,
    )
    x_pad = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in padding])  # (N, C_in, *padded)
    xg, wg = split_groups(x_pad, weight, groups)
    # xg: (N, G, C_in/G, *padded); wg: (G, C_out/G, C_in/G, *kernel_size)
    return x, weight, bias, batched, xg, wg, stride, padding, dilation, tuple(out_size)


def _windows_at(position, stride, dilation, kernel_size) -> tuple:
    """The slices of the padded input that output ``position`` sees, one per spatial axis."""
    return tuple(
        window(i, s, d, k) for i, s, d, k in zip(position, stride, dilation, kernel_size)
    )


def convnd(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> np.ndarray:
    """Convolution (cross-correlation) with any number ``D`` of spatial axes.

    For sample ``n``, output channel ``o`` (in group ``g``) and output position
    ``i = (i_1, ..., i_D)``::

        out[n, o, i] = bias[o] + sum_{c, u} weight[o, c, u] * x[n, g*C_in/G + c, i*s + u*d]

    where ``u = (u_1, ..., u_D)`` runs over the kernel taps, ``i*s + u*d`` is taken axis by
    axis and ``x`` is the input zero-padded by ``padding`` at both ends of every spatial axis.
    Output size per axis: ``floor((size + 2p - d(k-1) - 1) / s) + 1`` (Dumoulin & Visin
    2016). ``D = weight.ndim - 2``: a 3-D weight gives ``torch.nn.functional.conv1d``, a 4-D
    one ``conv2d``, a 5-D one ``conv3d``.

    Shapes: input ``(N, C_in, *spatial)`` or ``(C_in, *spatial)``; weight
    ``(C_out, C_in/groups, *kernel_size)``; bias ``(C_out,)`` or None; output
    ``(N, C_out, *out_size)`` or ``(C_out, *out_size)``, with numpy's result type of the
    arguments.

    >>> x = np.arange(8).reshape(1, 2, 2, 2)  # one channel, a 2x2x2 volume
    >>> convnd(x, np.ones((1, 1, 2, 2, 2), dtype=int))  # the sum of the whole cube
    array([[[[28]]]])
    """
    dims = _spatial_dims(weight)
    x, weight, bias, batched, xg, wg, stride, _, dilation, out_size = _prepare(
        input, weight, bias, stride, padding, dilation, groups, dims
    )
    n, (c_out, _, *kernel_size) = x.shape[0], weight.shape
    g = wg.shape[0]
    w_flat = wg.reshape(g, c_out // g, -1)  # (G, C_out/G, C_in/G * prod(kernel_size))
    out = np.zeros((n, g, c_out // g, *out_size), dtype=result_dtype(x, weight, bias))
    for position in np.ndindex(*out_size):  # every output position, in row-major order
        patch = xg[(..., *_windows_at(position, stride, dilation, kernel_size))]
        patch = patch.reshape(n, g, -1)  # (N, G, C_in/G * prod(kernel_size)): the window
        out[(..., *position)] = np.einsum("ngk,gok->ngo", patch, w_flat)  # one dot per filter
    out = out.reshape(n, c_out, *out_size)  # (N, C_out, *out_size)
    if bias is not None:
        out += bias.reshape(c_out, *(1,) * dims)
    return out if batched else out[0]


def conv3d(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> np.ndarray:
    """3D convolution (cross-correlation), like ``torch.nn.functional.conv3d``.

    A 3D kernel slides along depth, height and width of a volume (slices of a scan, or the
    frames of a video), and the output is again a volume. This is :func:`convnd` with a
    check that there are three spatial axes.

    Shapes: input ``(N, C_in, D, H, W)`` or ``(C_in, D, H, W)``; weight
    ``(C_out, C_in/groups, kD, kH, kW)``; bias ``(C_out,)`` or None; output
    ``(N, C_out, D_out, H_out, W_out)`` or ``(C_out, D_out, H_out, W_out)``.
    """
    _spatial_dims(weight, expected=3)
    return convnd(input, weight, bias, stride, padding, dilation, groups)


def convnd_backward(
    grad_output: np.ndarray,
    input: np.ndarray,
    weight: np.ndarray,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of a loss through :func:`convnd`: ``(grad_input, grad_weight, grad_bias)``.

    With ``G = grad_output`` (``G[n, o, i] = dL/d out[n, o, i]``) and ``x`` the padded
    input, the chain rule applied to the forward formula gives, for every output position
    ``i`` and kernel tap ``u``:

    * ``grad_weight[o, c, u] += sum_n G[n, o, i] * x[n, c', i*s + u*d]``: each tap collects
      the input values it saw, weighted by the output's gradient;
    * ``grad_x[n, c', i*s + u*d] += sum_o G[n, o, i] * weight[o, c, u]``: each output
      scatters its gradient, through the filter, back onto its window; the padding is then
      cropped away;
    * ``grad_bias[o] = sum_{n, i} G[n, o, i]``.

    The loop is the forward loop of :func:`convnd` with these two updates in place of the dot
    product (see :func:`~lecturepkg.conv.functional.conv2d_backward` for the 2D derivation).

    Shapes: grad_output like convnd's output; returns arrays shaped like input, weight and
    ``(C_out,)``.

    >>> x, w = np.ones((1, 2, 2, 2)), np.ones((1, 1, 1, 1, 1))
    >>> grad_input, grad_weight, grad_bias = convnd_backward(np.ones((1, 2, 2, 2)), x, w)
    >>> grad_weight  # the 1x1x1 kernel saw 8 ones
    array([[[[[8.]]]]])
    """
    dims = _spatial_dims(weight)
    x, weight, _, batched, xg, wg, stride, padding, dilation, out_size = _prepare(
        input, weight, None, stride, padding, dilation, groups, dims
    )
    (n, c_in, *size), (c_out, _, *kernel_size) = x.shape, weight.shape
    gy = check_grad_output(grad_output, (n, c_out, *out_size), batched)  # (N, C_out, *out)
    g = wg.shape[0]
    gyg = gy.reshape(n, g, c_out // g, *out_size)  # (N, G, C_out/G, *out_size)
    w_flat = wg.reshape(g, c_out // g, -1)  # (G, C_out/G, C_in/G * prod(kernel_size))
    dtype = result_dtype(gy, x, weight)
    grad_xg = np.zeros(xg.shape, dtype)  # (N, G, C_in/G, *padded)
    grad_w_flat = np.zeros(w_flat.shape, dtype)
    for position in np.ndindex(*out_size):
        windows = (..., *_windows_at(position, stride, dilation, kernel_size))
        patch = xg[windows]  # (N, G, C_in/G, *kernel_size)
        gi = gyg[(..., *position)]  # (N, G, C_out/G): dL/d out[..., position]
        grad_w_flat += np.einsum("ngo,ngk->gok", gi, patch.reshape(n, g, -1))
        grad_xg[windows] += np.einsum("ngo,gok->ngk", gi, w_flat).reshape(patch.shape)
    grad_input = grad_xg.reshape(n, c_in, *grad_xg.shape[3:])  # (N, C_in, *padded)
    grad_input = grad_input[(..., *(slice(p, p + s) for p, s in zip(padding, size)))]  # crop
    grad_bias = gy.sum(axis=(0, *range(2, 2 + dims)))
    return (
        grad_input if batched else grad_input[0],
        grad_w_flat.reshape(weight.shape),
        grad_bias,
    )


def conv3d_backward(
    grad_output: np.ndarray,
    input: np.ndarray,
    weight: np.ndarray,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of a loss through :func:`conv3d`: ``(grad_input, grad_weight, grad_bias)``.

    :func:`convnd_backward` with a check that there are three spatial axes.
    """
    _spatial_dims(weight, expected=3)
    return convnd_backward(grad_output, input, weight, stride, padding, dilation, groups)
