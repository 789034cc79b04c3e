"""Convolution from scratch (numpy) and its arithmetic."""

from lecturepkg.conv.arithmetic import conv_output_size, effective_kernel_size, pool_output_size
from lecturepkg.conv.functional import (
    avg_pool2d,
    conv1d,
    conv1d_backward,
    conv2d,
    conv2d_backward,
    max_pool2d,
    pad2d,
)

__all__ = [
    "conv_output_size",
    "effective_kernel_size",
    "pool_output_size",
    "avg_pool2d",
    "conv1d",
    "conv1d_backward",
    "conv2d",
    "conv2d_backward",
    "max_pool2d",
    "pad2d",
]
