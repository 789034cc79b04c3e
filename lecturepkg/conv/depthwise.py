"""Depthwise, pointwise and depthwise separable convolution (numpy, from scratch).

A standard convolution does two jobs at once: it filters space (each output mixes a
``kH x kW`` neighbourhood) and it mixes channels (each output mixes all ``C_in`` input
channels), with ``C_out * C_in * kH * kW`` weights. A *depthwise separable* convolution
splits the two jobs (Chollet, *Xception*, 2017; Howard et al., *MobileNets*, 2017):

1. **depthwise**: every input channel is filtered on its own by its own ``kH x kW``
   kernel(s); channels are never mixed. This is a grouped convolution with
   ``groups = C_in`` (``m`` kernels per channel: the *channel multiplier*).
2. **pointwise**: a ``1 x 1`` convolution mixes the channels at every pixel separately:
   the same small linear layer ``C_in -> C_out`` applied to the channel vector of each
   pixel. Space is not looked at.

Cost: ``C_in * kH * kW + C_in * C_out`` weights instead of ``C_out * C_in * kH * kW``, about
``1 / C_out + 1 / (kH * kW)`` of it, and the multiply-adds shrink by the same factor.

The code below writes each step as one ``np.einsum`` whose subscripts *are* the idea: in the
depthwise step the channel letter ``c`` appears in the input, in the kernel and in the output
(no sum over channels), in the pointwise step the spatial letters ``h, w`` are untouched
(no sum over space). The tests check both against ``torch.nn.functional.conv2d`` with
``groups``.
"""

from __future__ import annotations

import numpy as np

from lecturepkg.conv._args import (
    IntOrTuple,
    check_array,
    check_hyper,
    checked_output_size,
    result_dtype,
    sliding_windows,
)
from lecturepkg.conv.arithmetic import conv_output_size

__all__ = ["depthwise_conv2d", "pointwise_conv2d", "depthwise_separable_conv2d"]


def _check_input(input) -> tuple[np.ndarray, bool]:
    """Check a 2D input; return it with a batch axis ``(N, C, H, W)`` and ``batched``."""
    input = check_array("input", input, (3, 4), "(N, C, H, W) or (C, H, W)")
    batched = input.ndim == 4
    return (input if batched else input[np.newaxis]), batched


def _check_bias(name: str, bias, channels: int) -> np.ndarray | None:
    if bias is None:
        return None
    bias = check_array(name, bias, 1, f"({channels},)")
    if bias.shape != (channels,):
        raise ValueError(f"{name} must have shape ({channels},), got {bias.shape}")
    return bias


def _check_depthwise_weight(name: str, weight, channels: int) -> np.ndarray:
    weight = check_array(name, weight, 4, "(C * m, 1, kH, kW)")
    if weight.shape[1] != 1 or weight.shape[0] % channels:
        raise ValueError(
            f"{name} must have shape (C * m, 1, kH, kW) with C = {channels} input channels "
            f"and m >= 1 kernels per channel, got {weight.shape}"
        )
    return weight


def _check_pointwise_weight(name: str, weight, channels: int) -> np.ndarray:
    weight = check_array(name, weight, 4, "(C_out, C, 1, 1)")
    if weight.shape[1:] != (channels, 1, 1):
        raise ValueError(
            f"{name} must have shape (C_out, {channels}, 1, 1) for an input with "
            f"{channels} channels, got {weight.shape}"
        )
    return weight


def _depthwise(x, weight, bias, stride, padding, dilation, name="weight") -> np.ndarray:
    """Depthwise convolution of checked arrays: ``(N, C, H, W) -> (N, C * m, H', W')``."""
    (n, c), (cm, _, kh, kw) = x.shape[:2], weight.shape
    s, p, d = check_hyper(2, stride, padding, dilation)
    checked_output_size(  # raises a clear error when the kernel does not fit
        conv_output_size, f"{name} of shape {weight.shape}", x, (kh, kw),
        stride=s, padding=p, dilation=d,
    )
    windows = sliding_windows(x, (kh, kw), s, p, d)  # (N, C, H', W', kH, kW)
    kernels = weight.reshape(c, cm // c, kh, kw)  # (C, m, kH, kW): m kernels per channel
    # c is kept (not summed): channel c is only ever filtered by its own kernels
    out = np.einsum("nchwuv,cmuv->ncmhw", windows, kernels)  # (N, C, m, H', W')
    out = out.reshape(n, cm, *out.shape[3:])  # output channel c*m + j: kernel j of channel c
    if bias is not None:
        out = out + bias[:, np.newaxis, np.newaxis]
    return out.astype(result_dtype(x, weight, bias), copy=False)


def _pointwise(x, weight, bias) -> np.ndarray:
    """Pointwise (1x1) convolution of checked arrays: ``(N, C, H, W) -> (N, D, H, W)``."""
    mix = weight[:, :, 0, 0]  # (D, C): one linear map of the channels, shared by all pixels
    # h, w are kept (not summed): every pixel's channel vector is mixed on its own
    out = np.einsum("nchw,dc->ndhw", x, mix)  # (N, D, H, W)
    if bias is not None:
        out = out + bias[:, np.newaxis, np.newaxis]
    return out.astype(result_dtype(x, weight, bias), copy=False)


def depthwise_conv2d(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
) -> np.ndarray:
    """Depthwise 2D convolution: each channel filtered on its own (no channel mixing).

    ``out[n, c*m + j] = conv2d(input[n, c], weight[c*m + j, 0]) + bias[c*m + j]``: input
    channel ``c`` is cross-correlated with its own ``m`` kernels (the channel multiplier,
    ``m = weight.shape[0] / C``). This equals
    ``torch.nn.functional.conv2d(input, weight, bias, stride, padding, dilation, groups=C)``
    (Chollet 2017; Howard et al. 2017).

    Shapes: input ``(N, C, H, W)`` or ``(C, H, W)``; weight ``(C * m, 1, kH, kW)``; bias
    ``(C * m,)`` or None; output ``(N, C * m, H_out, W_out)`` or ``(C * m, H_out, W_out)``.

    >>> x = np.stack([np.ones((3, 3)), 10 * np.ones((3, 3))])  # two channels
    >>> w = np.ones((2, 1, 2, 2))  # one 2x2 box filter per channel
    >>> depthwise_conv2d(x, w)[:, 0, 0]  # channel 0 sums ones, channel 1 sums tens
    array([ 4., 40.])
    """
    x, batched = _check_input(input)
    weight = _check_depthwise_weight("weight", weight, x.shape[1])
    bias = _check_bias("bias", bias, weight.shape[0])
    out = _depthwise(x, weight, bias, stride, padding, dilation)
    return out if batched else out[0]


def pointwise_conv2d(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
) -> np.ndarray:
    """Pointwise (1x1) convolution: mix the channels at every pixel, separately.

    ``out[n, :, h, w] = weight[:, :, 0, 0] @ input[n, :, h, w] + bias``: a fully connected
    layer ``C -> D`` applied to the channel vector of each pixel, with the same weights for
    all pixels. This equals ``torch.nn.functional.conv2d(input, weight, bias)`` with a
    ``1 x 1`` kernel (Lin, Chen & Yan, *Network in network*, 2014).

    Shapes: input ``(N, C, H, W)`` or ``(C, H, W)``; weight ``(D, C, 1, 1)``; bias
    ``(D,)`` or None; output ``(N, D, H, W)`` or ``(D, H, W)``.

    >>> x = np.stack([np.ones((2, 2)), 2 * np.ones((2, 2))])  # channels 1 and 2
    >>> pointwise_conv2d(x, np.array([[1.0, 1.0], [1.0, -1.0]])[..., None, None])[:, 0, 0]
    array([ 3., -1.])
    """
    x, batched = _check_input(input)
    weight = _check_pointwise_weight("weight", weight, x.shape[1])
    bias = _check_bias("bias", bias, weight.shape[0])
    out = _pointwise(x, weight, bias)
    return out if batched else out[0]


def depthwise_separable_conv2d(
    input: np.ndarray,
    depthwise_weight: np.ndarray,
    pointwise_weight: np.ndarray,
    depthwise_bias: np.ndarray | None = None,
    pointwise_bias: np.ndarray | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
) -> np.ndarray:
    """Depthwise separable convolution: :func:`depthwise_conv2d`, then
    :func:`pointwise_conv2d` (Chollet 2017; Howard et al. 2017).

    ``stride``, ``padding`` and ``dilation`` belong to the depthwise (spatial) step; the
    pointwise step is a ``1 x 1`` convolution. No non-linearity sits in between (MobileNet
    puts batch norm and ReLU there; Xception found it better without). Equals
    ``conv2d(conv2d(input, depthwise_weight, depthwise_bias, stride, padding, dilation,
    groups=C), pointwise_weight, pointwise_bias)`` in torch.

    Shapes: input ``(N, C, H, W)`` or ``(C, H, W)``; depthwise_weight
    ``(C * m, 1, kH, kW)``; pointwise_weight ``(D, C * m, 1, 1)``; biases ``(C * m,)`` and
    ``(D,)`` or None; output ``(N, D, H_out, W_out)`` or ``(D, H_out, W_out)``.
    """
    x, batched = _check_input(input)
    depthwise_weight = _check_depthwise_weight("depthwise_weight", depthwise_weight, x.shape[1])
    cm = depthwise_weight.shape[0]
    pointwise_weight = _check_pointwise_weight("pointwise_weight", pointwise_weight, cm)
    depthwise_bias = _check_bias("depthwise_bias", depthwise_bias, cm)
    pointwise_bias = _check_bias("pointwise_bias", pointwise_bias, pointwise_weight.shape[0])
    hidden = _depthwise(
        x, depthwise_weight, depthwise_bias, stride, padding, dilation, "depthwise_weight"
    )  # (N, C * m, H_out, W_out)
    out = _pointwise(hidden, pointwise_weight, pointwise_bias)  # (N, D, H_out, W_out)
    return out if batched else out[0]
