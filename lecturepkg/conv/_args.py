"""Argument handling shared by the from-scratch convolutions of :mod:`lecturepkg.conv`.

The teaching functions (``conv1d``, ``conv2d``, ``convnd``, the transposed, depthwise and
im2col versions, the output-size formulas) all take the same kind of arguments: arrays in
torch's layouts and hyper-parameters given as an int or one value per spatial axis. This
private module checks and expands them once, with error messages that name the argument,
so that each teaching module can stay about its own idea. It also holds the two small
window helpers they share: which input positions an output position sees, and all the
windows of an input as a strided view.
"""

from __future__ import annotations

from typing import Callable, Sequence, Union

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from lecturepkg._checks import check_int, check_ndarray, check_tuple

IntOrTuple = Union[int, Sequence[int]]
"""An int (the same value along every spatial axis) or one int per spatial axis."""

INPUT_HINT = {1: "(N, C_in, L) or (C_in, L)", 2: "(N, C_in, H, W) or (C_in, H, W)"}
WEIGHT_HINT = {1: "(C_out, C_in/groups, k)", 2: "(C_out, C_in/groups, kH, kW)"}


def input_hint(dims: int) -> str:
    """The expected input shape, in words, for a convolution with ``dims`` spatial axes."""
    if dims in INPUT_HINT:
        return INPUT_HINT[dims]
    spatial = "D, H, W" if dims == 3 else ", ".join(f"S{i}" for i in range(1, dims + 1))
    return f"(N, C_in, {spatial}) or (C_in, {spatial})"


def weight_hint(dims: int) -> str:
    """The expected weight shape, in words, for a convolution with ``dims`` spatial axes."""
    if dims in WEIGHT_HINT:
        return WEIGHT_HINT[dims]
    kernel = "kD, kH, kW" if dims == 3 else ", ".join(f"k{i}" for i in range(1, dims + 1))
    return f"(C_out, C_in/groups, {kernel})"


def check_array(name: str, value, ndim, shape_hint: str) -> np.ndarray:
    """:func:`~lecturepkg._checks.check_ndarray`, refusing boolean arrays."""
    value = check_ndarray(name, value, ndim=ndim, shape_hint=shape_hint)
    if value.dtype == np.bool_:
        raise TypeError(f"{name} must have a numeric dtype (int, float, complex), got bool")
    return value


def check_conv_args(input, weight, bias, groups, dims: int):
    """Validate the arguments shared by the conv functions.

    Returns ``(x, weight, bias, groups, batched)`` where ``x`` always has a batch axis.
    """
    input = check_array("input", input, (dims + 1, dims + 2), input_hint(dims))
    weight = check_array("weight", weight, dims + 2, weight_hint(dims))
    groups = check_int("groups", groups, minimum=1)
    batched = input.ndim == dims + 2
    x = input if batched else input[np.newaxis]  # (N, C_in, *spatial)
    c_in, c_out = x.shape[1], weight.shape[0]
    if c_in % groups or c_out % groups:
        raise ValueError(
            f"groups={groups} must divide both the input channels ({c_in}, from input of "
            f"shape {input.shape}) and the output channels ({c_out}, from weight of shape "
            f"{weight.shape})"
        )
    if c_in != weight.shape[1] * groups:
        raise ValueError(
            f"input has {c_in} channels but weight expects weight.shape[1] * groups = "
            f"{weight.shape[1]} * {groups} = {weight.shape[1] * groups}: input of shape "
            f"{input.shape}, weight of shape {weight.shape}"
        )
    if bias is not None:
        bias = check_array("bias", bias, 1, "(C_out,)")
        if bias.shape != (c_out,):
            raise ValueError(f"bias must have shape (C_out,) = ({c_out},), got {bias.shape}")
    return x, weight, bias, groups, batched


def check_hyper(dims: int, stride, padding, dilation):
    """Expand ``stride``, ``padding``, ``dilation`` to ``dims``-tuples, checking their values."""
    return (
        check_tuple("stride", stride, dims, minimum=1),
        check_tuple("padding", padding, dims, minimum=0),
        check_tuple("dilation", dilation, dims, minimum=1),
    )


def check_transpose_hyper(dims: int, stride, padding, output_padding, dilation):
    """:func:`check_hyper` for a transposed convolution: ``(stride, padding, output_padding,
    dilation)`` as ``dims``-tuples, in the order of torch's ``conv_transpose`` arguments."""
    stride, padding, dilation = check_hyper(dims, stride, padding, dilation)
    return stride, padding, check_tuple("output_padding", output_padding, dims, minimum=0), dilation


def checked_output_size(size_fn: Callable, what: str, x: np.ndarray, kernel, **kwargs) -> tuple:
    """Spatial output size from :mod:`~lecturepkg.conv.arithmetic`, with a message that
    names the arrays involved when the kernel does not fit."""
    try:
        return size_fn(tuple(x.shape[2:]), tuple(kernel), **kwargs)
    except ValueError as err:
        settings = ", ".join(f"{name}={value}" for name, value in kwargs.items())
        raise ValueError(
            f"cannot slide {what} over an input of spatial shape {x.shape[2:]} with "
            f"{settings}: {err}"
        ) from None


def check_grad_output(grad_output, expected: tuple, batched: bool) -> np.ndarray:
    """Check that ``grad_output`` has the shape of the forward output; add the batch axis."""
    expected = expected if batched else expected[1:]
    grad_output = check_array("grad_output", grad_output, len(expected), str(expected))
    if grad_output.shape != expected:
        raise ValueError(
            f"grad_output must have the shape of the forward output {expected}, "
            f"got {grad_output.shape}"
        )
    return grad_output if batched else grad_output[np.newaxis]


def split_groups(x: np.ndarray, weight: np.ndarray, groups: int):
    """View the channel axes as (group, channel within group).

    With ``groups=G`` the convolution is ``G`` independent convolutions side by side: group
    ``g`` sees input channels ``g*C_in/G ... (g+1)*C_in/G - 1`` and produces output channels
    ``g*C_out/G ... (g+1)*C_out/G - 1`` (Krizhevsky et al. 2012 used G=2).
    """
    n, c_in = x.shape[:2]
    xg = x.reshape(n, groups, c_in // groups, *x.shape[2:])  # (N, G, C_in/G, *spatial)
    wg = weight.reshape(groups, weight.shape[0] // groups, *weight.shape[1:])
    return xg, wg  # wg: (G, C_out/G, C_in/G, *kernel)


def window(i: int, stride: int, dilation: int, k: int) -> slice:
    """The input positions (in the padded input) that output position ``i`` sees:
    ``i*stride + 0, i*stride + dilation, ..., i*stride + (k-1)*dilation``."""
    start = i * stride
    return slice(start, start + dilation * (k - 1) + 1, dilation)


def result_dtype(*arrays) -> np.dtype:
    """numpy's result dtype of the arrays that are not None (``bias`` may be)."""
    return np.result_type(*[a for a in arrays if a is not None])


def sliding_windows(
    x: np.ndarray,
    kernel_size: tuple,
    stride: tuple,
    padding: tuple,
    dilation: tuple,
) -> np.ndarray:
    """All the windows a convolution sees, as a strided view (checked arguments only).

    ``x`` is ``(N, C, *size)`` with ``D = len(kernel_size)`` spatial axes; the result is
    ``(N, C, *out_size, *kernel_size)`` where ``windows[n, c, i, u]`` is the padded input at
    ``i*stride + u*dilation`` (axis by axis). Only the padding is a copy.
    """
    dims = len(kernel_size)
    spatial = tuple(range(2, 2 + dims))
    if any(padding):
        x = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in padding])  # (N, C, *padded)
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel_size, dilation))  # dilated kernel
    windows = sliding_window_view(x, span, axis=spatial)  # (N, C, *positions, *span): a view
    stride_steps = tuple(slice(None, None, s) for s in stride)  # every s-th window
    dilation_steps = tuple(slice(None, None, d) for d in dilation)  # every d-th tap
    return windows[(slice(None), slice(None), *stride_steps, *dilation_steps)]


# The smallest value each argument may take.
MINIMUM = {"input_size": 1, "kernel_size": 1, "stride": 1, "padding": 0, "output_padding": 0,
            "dilation": 1}


def per_axis(**values) -> tuple[int | None, list[tuple[int, ...]]]:
    """Expand int-or-tuple arguments into one tuple of values per spatial axis.

    Returns ``(n, axes)``: ``n`` is the number of dimensions the tuples imply (``None`` when
    every argument is an int, so the caller returns an int), and ``axes[i]`` holds the
    arguments' values along axis ``i``, in the order they were given. Each value is checked
    (an int, at least its minimum), with an error naming the argument.
    """
    lengths = {name: len(v) for name, v in values.items() if isinstance(v, (tuple, list))}
    if len(set(lengths.values())) > 1:
        given = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise ValueError(f"tuple arguments disagree on the number of dimensions: {given}")
    n = next(iter(lengths.values())) if lengths else None
    expanded = [check_tuple(name, v, n or 1, minimum=MINIMUM[name]) for name, v in values.items()]
    return n, list(zip(*expanded))
