"""Convolution from scratch (numpy), every variant of the course, and its arithmetic.

Teaching versions loop over output positions (``functional``, ``nd``); ``unfold`` holds the
vectorised versions (im2col), tested to agree. Each function takes the arguments of its PyTorch
counterpart, in the same order, and is tested against it forward and backward. The
argument checks and expansions they share live in the private module ``_args``.

The modules are named after their concept and never after a function they export
(``unfold`` holds ``im2col``, ``receptive_fields`` holds ``receptive_field``), so that
``lecturepkg.conv.im2col`` is always the function.
"""

from lecturepkg.conv.arithmetic import (
    conv_output_size,
    conv_transpose_output_size,
    effective_kernel_size,
    pool_output_size,
)
from lecturepkg.conv.causal import causal_conv1d, causal_padding
from lecturepkg.conv.checkerboard import (
    checkerboard_score,
    overlap_count,
    overlap_count_1d,
    phase_means,
)
from lecturepkg.conv.depthwise import depthwise_conv2d, depthwise_separable_conv2d, pointwise_conv2d
from lecturepkg.conv.functional import (
    avg_pool2d,
    conv1d,
    conv1d_backward,
    conv2d,
    conv2d_backward,
    max_pool2d,
    pad2d,
)
from lecturepkg.conv.nd import conv3d, conv3d_backward, convnd, convnd_backward
from lecturepkg.conv.receptive_fields import (
    EmpiricalReceptiveField,
    ReceptiveField,
    empirical_receptive_field,
    receptive_field,
)
from lecturepkg.conv.separable import (
    factorize_kernel,
    outer_kernel,
    rank1_approximation,
    separable_conv2d,
    separable_cost,
    sobel_kernels,
)
from lecturepkg.conv.transposed import (
    conv_matrix,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
    conv_transpose_via_conv,
    conv_transpose_via_matrix,
    transposed_geometry,
)
from lecturepkg.conv.unfold import conv1d_fast, conv2d_fast, conv3d_fast, im2col

__all__ = [
    # arithmetic
    "conv_output_size", "conv_transpose_output_size", "effective_kernel_size", "pool_output_size",
    "receptive_field", "empirical_receptive_field", "ReceptiveField", "EmpiricalReceptiveField",
    # chapter 1: loops
    "conv1d", "conv2d", "conv1d_backward", "conv2d_backward", "max_pool2d", "avg_pool2d", "pad2d",
    # chapter 2: N-d, fast, variants
    "convnd", "conv3d", "convnd_backward", "conv3d_backward",
    "im2col", "conv1d_fast", "conv2d_fast", "conv3d_fast",
    "depthwise_conv2d", "pointwise_conv2d", "depthwise_separable_conv2d",
    "causal_conv1d", "causal_padding",
    "outer_kernel", "factorize_kernel", "rank1_approximation", "separable_conv2d", "sobel_kernels",
    "separable_cost",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "conv_matrix",
    "conv_transpose_via_matrix", "conv_transpose_via_conv", "transposed_geometry",
    "overlap_count", "overlap_count_1d", "phase_means", "checkerboard_score",
]
