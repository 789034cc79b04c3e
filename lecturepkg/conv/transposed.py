"""Transposed convolution from scratch in numpy, computed three ways.

A convolution with stride ``s`` maps a long signal to a short one; a *transposed*
convolution goes the other way, from the short size back to the long one, and is the
upsampling layer of decoders, segmentation networks and generators. It is not a
*deconvolution* (the inverse of a convolution): it recovers the size, not the values.
Dumoulin & Visin (*A guide to convolution arithmetic for deep learning*, 2016, section 4)
describe it in three equivalent ways, and this module implements each one:

1. **Overlap-add** (:func:`conv_transpose1d`, :func:`conv_transpose2d`,
   :func:`conv_transpose3d`): every input value scales a copy of the kernel, and the copies
   are added into the output ``stride`` positions apart; ``padding`` then crops the border.
   This is the definition the functions below follow, and what PyTorch computes.
2. **Matrix view** (:func:`conv_matrix`, :func:`conv_transpose_via_matrix`): a convolution
   is a linear map, ``conv(x).ravel() == K @ x.ravel()`` with a sparse matrix ``K``; the
   transposed convolution multiplies by ``K.T``. Hence the name, and hence it is the
   gradient of the convolution with respect to its input (the backward pass of chapter 1).
3. **Direct convolution** (:func:`conv_transpose_via_conv`): insert ``stride - 1`` zeros
   between the input values, pad by ``dilation * (kernel_size - 1) - padding`` on each
   side, and correlate with the kernel flipped in space and with its input and output
   channels swapped. Easy to build from an ordinary convolution, wasteful to run (most of
   the products are with inserted zeros). :func:`transposed_geometry` gives the lengths of
   this construction along one axis (the transposed-convolution diagrams draw them).

Argument order, names and weight layout follow ``torch.nn.functional.conv_transpose2d``::

    conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1)

with weight shape ``(C_in, C_out / groups, *kernel_size)``: the layout of the weight of
the forward convolution ``C_out -> C_in`` that this operation transposes. The output size
is :func:`lecturepkg.conv.arithmetic.conv_transpose_output_size`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from lecturepkg._checks import check_int, check_shape_of, check_tuple
from lecturepkg.conv._args import IntOrTuple, check_array, check_transpose_hyper, window
from lecturepkg.conv.arithmetic import conv_output_size, conv_transpose_output_size
from lecturepkg.conv.functional import conv1d, conv2d
from lecturepkg.conv.nd import conv3d

__all__ = [
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "conv_matrix",
    "conv_transpose_via_matrix",
    "conv_transpose_via_conv",
    "TransposedGeometry",
    "transposed_geometry",
]

_SPATIAL = {1: "L", 2: "H, W", 3: "D, H, W"}
_KERNEL = {1: "k", 2: "kH, kW", 3: "kD, kH, kW"}
_CONV = {1: conv1d, 2: conv2d, 3: conv3d}  # the forward convolutions of chapters 1 and 2


# ----------------------------------------------------------------------------------------
# Argument checks
# ----------------------------------------------------------------------------------------


def _check_transpose_args(input, weight, bias, groups, dims: int):
    """Validate input, weight (transposed layout), bias and groups.

    Returns ``(x, weight, bias, groups, batched)`` where ``x`` always has a batch axis.
    """
    spatial, kernel = _SPATIAL[dims], _KERNEL[dims]
    input = check_array(
        "input", input, (dims + 1, dims + 2), f"(N, C_in, {spatial}) or (C_in, {spatial})"
    )
    weight = check_array("weight", weight, dims + 2, f"(C_in, C_out/groups, {kernel})")
    groups = check_int("groups", groups, minimum=1)
    batched = input.ndim == dims + 2
    x = input if batched else input[np.newaxis]  # (N, C_in, *spatial)
    c_in = x.shape[1]
    if weight.shape[0] != c_in:
        raise ValueError(
            f"weight must have shape (C_in, C_out/groups, {kernel}) with C_in = {c_in} "
            f"channels of input (shape {input.shape}), got weight of shape {weight.shape}"
        )
    if c_in % groups:
        raise ValueError(
            f"groups={groups} must divide the input channels ({c_in}, from input of shape "
            f"{input.shape})"
        )
    c_out = weight.shape[1] * groups
    if bias is not None:
        bias = check_array("bias", bias, 1, "(C_out,)")
        if bias.shape != (c_out,):
            raise ValueError(
                f"bias must have shape (C_out,) = ({c_out},) (weight.shape[1] * groups), "
                f"got {bias.shape}"
            )
    return x, weight, bias, groups, batched


def _transpose_output_size(x, kernel, s, p, op, d) -> tuple[int, ...]:
    """Spatial output size, with a message that names the input shape when it is invalid."""
    try:
        return conv_transpose_output_size(tuple(x.shape[2:]), tuple(kernel), s, p, op, d)
    except ValueError as err:
        raise ValueError(
            f"transposed convolution of an input of spatial shape {x.shape[2:]} with kernel "
            f"{tuple(kernel)}, stride={s}, padding={p}, output_padding={op}, dilation={d}: "
            f"{err}"
        ) from None


# ----------------------------------------------------------------------------------------
# 1. Overlap-add: the definition
# ----------------------------------------------------------------------------------------


def _conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups,
                       dilation, dims: int) -> np.ndarray:
    """Transposed convolution over ``dims`` spatial axes by overlap-add.

    For each input position ``i`` (a tuple of ``dims`` indices), the input vector
    ``x[n, :, i]`` scales the kernel, and the scaled kernel is added into an output
    "canvas" at positions ``i*s + j*d`` for the kernel taps ``j``. The canvas is then
    cropped by ``padding`` at both ends; ``output_padding`` keeps that many more positions
    at the far end (zeros where the canvas ends).
    """
    x, weight, bias, groups, batched = _check_transpose_args(input, weight, bias, groups, dims)
    s, p, op, d = check_transpose_hyper(dims, stride, padding, output_padding, dilation)
    (n, c_in, *in_size), (_, c_out_g, *k) = x.shape, weight.shape
    out_size = _transpose_output_size(x, k, s, p, op, d)

    xg = x.reshape(n, groups, c_in // groups, *in_size)  # (N, G, C_in/G, *in_size)
    wg = weight.reshape(groups, c_in // groups, c_out_g, *k)  # (G, C_in/G, C_out/G, *k)
    # Each input position paints a dilated kernel of span d(k-1)+1, s positions apart;
    # output_padding extra positions at the far end stay zero unless padding crops there.
    canvas_size = [(i - 1) * si + di * (ki - 1) + 1 + oi
                   for i, si, di, ki, oi in zip(in_size, s, d, k, op)]
    dtype = np.result_type(*[a for a in (x, weight, bias) if a is not None])
    canvas = np.zeros((n, groups, c_out_g, *canvas_size), dtype=dtype)
    for pos in np.ndindex(*in_size):
        value = xg[(..., *pos)]  # (N, G, C_in/G): the input vector at this position
        stamp = np.einsum("ngc,gco...->ngo...", value, wg)  # (N, G, C_out/G, *k): scaled kernel
        where = tuple(window(i, si, di, ki) for i, si, di, ki in zip(pos, s, d, k))
        canvas[(..., *where)] += stamp  # overlap-add
    crop = tuple(slice(pi, pi + oi) for pi, oi in zip(p, out_size))  # drop `padding` each side
    out = canvas[(..., *crop)].reshape(n, groups * c_out_g, *out_size)  # (N, C_out, *out_size)
    if bias is not None:
        out = out + bias.reshape(-1, *[1] * dims)
    return out if batched else out[0]


def conv_transpose1d(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
    groups: int = 1,
    dilation: IntOrTuple = 1,
) -> np.ndarray:
    """1D transposed convolution, like ``torch.nn.functional.conv_transpose1d``.

    Overlap-add: input value ``x[n, c, i]`` scales the filter ``weight[c]`` (one row of
    taps per output channel of its group), and the scaled copy is added into the output at
    positions ``i*s + j*d - p`` for the taps ``j = 0 .. k-1``::

        out[n, o, i*s + j*d - p] += x[n, c, i] * weight[c, o', j]

    (``o`` the output channel ``o'`` of the group of input channel ``c``), keeping the
    positions ``0 .. L_out - 1`` where ``L_out = (L - 1)s - 2p + d(k - 1) + output_padding
    + 1`` (Dumoulin & Visin 2016, sec. 4). Where copies overlap they add up; with
    ``k`` not divisible by ``s`` some positions get more copies than others, the source of
    checkerboard artifacts (Odena, Dumoulin & Olah 2016). This is the transpose (and the
    input gradient) of :func:`lecturepkg.conv.functional.conv1d` with the same weight.

    Shapes: input ``(N, C_in, L)`` or ``(C_in, L)``; weight ``(C_in, C_out/groups, k)``;
    bias ``(C_out,)`` or None; output ``(N, C_out, L_out)`` or ``(C_out, L_out)``.

    >>> conv_transpose1d(np.array([[1, 10]]), np.array([[[1, 2, 3]]]))  # 2 -> 4
    array([[ 1, 12, 23, 30]])
    >>> conv_transpose1d(np.array([[1, 10]]), np.array([[[1, 2, 3]]]), stride=2)  # 2 -> 5
    array([[ 1,  2, 13, 20, 30]])
    """
    return _conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups,
                              dilation, dims=1)


def conv_transpose2d(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
    groups: int = 1,
    dilation: IntOrTuple = 1,
) -> np.ndarray:
    """2D transposed convolution, like ``torch.nn.functional.conv_transpose2d``.

    Each input pixel ``x[n, c, i, j]`` scales the ``kH x kW`` filter ``weight[c]`` and
    adds it into the output with its top-left tap at ``(i*sH - pH, j*sW - pW)``, taps
    ``dilation`` apart: the stride is a step in the *output*. The output has
    ``(H - 1)sH - 2pH + dH(kH - 1) + output_padding + 1`` rows (columns alike; Dumoulin &
    Visin 2016). ``stride``, ``padding``, ``output_padding`` and ``dilation`` are an int or
    a pair; ``output_padding`` must be smaller than ``stride`` or ``dilation``: it chooses
    among the input sizes that a strided convolution maps to the same output size.

    Shapes: input ``(N, C_in, H, W)`` or ``(C_in, H, W)``; weight
    ``(C_in, C_out/groups, kH, kW)``; bias ``(C_out,)`` or None; output
    ``(N, C_out, H_out, W_out)`` or ``(C_out, H_out, W_out)``.

    >>> conv_transpose2d(np.array([[[1, 2]]]), np.ones((1, 1, 2, 2), dtype=int))
    array([[[1, 3, 2],
            [1, 3, 2]]])
    """
    return _conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups,
                              dilation, dims=2)


def conv_transpose3d(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
    groups: int = 1,
    dilation: IntOrTuple = 1,
) -> np.ndarray:
    """3D transposed convolution, like ``torch.nn.functional.conv_transpose3d``.

    The overlap-add of :func:`conv_transpose2d` over three spatial axes (depth or time,
    height, width): each input voxel scales a ``kD x kH x kW`` filter that is added into
    the output ``stride`` voxels after the previous one, then ``padding`` is cropped.

    Shapes: input ``(N, C_in, D, H, W)`` or ``(C_in, D, H, W)``; weight
    ``(C_in, C_out/groups, kD, kH, kW)``; bias ``(C_out,)`` or None; output
    ``(N, C_out, D_out, H_out, W_out)`` or ``(C_out, D_out, H_out, W_out)``.
    """
    return _conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups,
                              dilation, dims=3)


# ----------------------------------------------------------------------------------------
# 2. The matrix view: K and K^T
# ----------------------------------------------------------------------------------------


def conv_matrix(
    input_size: IntOrTuple,
    weight: np.ndarray,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> np.ndarray:
    """The matrix ``K`` of the forward convolution (cross-correlation) with ``weight``.

    A convolution is linear in its input, so for an unbatched input ``x`` of shape
    ``(C_in, *input_size)``::

        conv(x, weight, stride=..., padding=..., dilation=..., groups=...).ravel()
            == conv_matrix(input_size, weight, ...) @ x.ravel()

    Row ``r`` of ``K`` belongs to one output value (channel ``o``, position ``i``) and holds
    the filter ``weight[o]`` at the columns of the input values in its window
    ``i*s - p + j*d``; taps that fall on the zero padding get no column. Every row holds the
    same weights, shifted: ``K`` is sparse and (for one channel, stride 1) a Toeplitz matrix.
    ``K.T`` maps an output-sized vector back to the input size: that is the transposed
    convolution (Dumoulin & Visin 2016, sec. 4.1).

    Shapes: ``input_size`` is the spatial size of the input (an int for 1D, as the
    ``input_size`` of :func:`~lecturepkg.conv.arithmetic.conv_output_size`); weight
    ``(C_out, C_in/groups, *kernel_size)`` (the layout of ``conv1d/2d/3d``); returns
    ``(C_out * prod(output_size), C_in * prod(input_size))``, with the dtype of weight.

    >>> conv_matrix(6, np.array([[[1, 2, 3]]]))  # kernel 3, stride 1, no padding: 6 -> 4
    array([[1, 2, 3, 0, 0, 0],
           [0, 1, 2, 3, 0, 0],
           [0, 0, 1, 2, 3, 0],
           [0, 0, 0, 1, 2, 3]])
    """
    weight = check_array("weight", weight, None, "(C_out, C_in/groups, *kernel_size)")
    if weight.ndim < 3:
        raise ValueError(
            f"weight must have shape (C_out, C_in/groups, *kernel_size) with at least one "
            f"spatial axis, got shape {weight.shape}"
        )
    dims = weight.ndim - 2
    in_shape = check_shape_of("input_size", input_size)
    if len(in_shape) != dims:
        raise ValueError(
            f"input_size must have one size per spatial axis of weight ({dims} for weight "
            f"of shape {weight.shape}), got {input_size!r}"
        )
    s = check_tuple("stride", stride, dims, minimum=1)
    p = check_tuple("padding", padding, dims, minimum=0)
    d = check_tuple("dilation", dilation, dims, minimum=1)
    groups = check_int("groups", groups, minimum=1)
    (c_out, c_in_g, *k) = weight.shape
    if c_out % groups:
        raise ValueError(f"groups={groups} must divide C_out = weight.shape[0] = {c_out}")
    try:
        out_shape = conv_output_size(in_shape, tuple(k), s, p, d)
    except ValueError as err:
        raise ValueError(f"weight of shape {weight.shape} on input_size {in_shape}: {err}")
    c_in, c_out_g = c_in_g * groups, c_out // groups

    K = np.zeros((c_out, *out_shape, c_in, *in_shape), dtype=weight.dtype)
    for pos in np.ndindex(*out_shape):  # one row (per output channel) for each output position
        for tap in np.ndindex(*k):
            src = tuple(i * si - pi + j * di for i, j, si, pi, di in zip(pos, tap, s, p, d))
            if not all(0 <= a < size for a, size in zip(src, in_shape)):
                continue  # this tap sees the zero padding
            for g in range(groups):  # output channels of group g see its input channels only
                rows = slice(g * c_out_g, (g + 1) * c_out_g)
                cols = slice(g * c_in_g, (g + 1) * c_in_g)
                K[(rows, *pos, cols, *src)] = weight[(rows, slice(None), *tap)]
    return K.reshape(c_out * math.prod(out_shape), c_in * math.prod(in_shape))


def conv_transpose_via_matrix(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
    groups: int = 1,
    dilation: IntOrTuple = 1,
) -> np.ndarray:
    """Transposed convolution of one unbatched sample as ``K.T @ input.ravel()``.

    ``K = conv_matrix(output_size, weight, ...)`` is the matrix of the forward convolution
    whose *input* has the shape this function returns, and whose output has the shape of
    ``input``; multiplying by its transpose goes back. ``weight`` has the transposed layout
    ``(C_in, C_out/groups, *kernel_size)``, which is also the layout of the forward
    convolution's weight (its ``C_out`` is our ``C_in``): the same array serves both ways.

    When ``output_padding >= stride`` (allowed when ``dilation`` is larger) the forward
    convolution of the bigger output has extra output positions; their rows of ``K`` are
    dropped, which is what :func:`conv_transpose2d` computes too.

    The arguments are those of :func:`conv_transpose2d` (and ``F.conv_transpose2d``), in
    its order: ``bias, stride, padding, output_padding, groups, dilation``.

    Shapes: input ``(C_in, *spatial)`` (no batch axis); weight
    ``(C_in, C_out/groups, *kernel_size)``; bias ``(C_out,)`` or None; returns
    ``(C_out, *output_size)``.

    >>> conv_transpose_via_matrix(np.array([[1, 10]]), np.array([[[1, 2, 3]]]))
    array([[ 1, 12, 23, 30]])
    """
    weight = check_array("weight", weight, None, "(C_in, C_out/groups, *kernel_size)")
    if weight.ndim < 3:
        raise ValueError(
            f"weight must have shape (C_in, C_out/groups, *kernel_size), got {weight.shape}"
        )
    dims = weight.ndim - 2
    input = check_array("input", input, dims + 1, "(C_in, *spatial) (one unbatched sample)")
    x, weight, bias, groups, _ = _check_transpose_args(input, weight, bias, groups, dims)
    s, p, op, d = check_transpose_hyper(dims, stride, padding, output_padding, dilation)
    in_size, k = input.shape[1:], weight.shape[2:]
    out_size = _transpose_output_size(x, k, s, p, op, d)

    K = conv_matrix(out_size, weight, s, p, d, groups)  # (C_in * prod(fwd out), C_out * prod(out))
    forward_out = conv_output_size(out_size, tuple(k), s, p, d)  # == in_size unless op >= s
    rows = K.reshape(input.shape[0], *forward_out, -1)  # (C_in, *forward_out, C_out * prod(out))
    K = rows[(slice(None), *[slice(0, i) for i in in_size])].reshape(input.size, -1)
    y = (K.T @ input.ravel()).reshape(-1, *out_size)  # (C_out * prod(out),) -> (C_out, *out)
    if bias is not None:
        y = y + bias.reshape(-1, *[1] * dims)
    return y


# ----------------------------------------------------------------------------------------
# 3. A direct convolution of the zero-stuffed, padded input
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TransposedGeometry:
    """The equivalent direct convolution of a transposed convolution, along one axis.

    The input's ``input_size`` cells are spread ``stride`` apart (``stuffed`` cells in all),
    then framed by ``frame_lo`` zeros before and ``frame_hi`` zeros after; a negative frame
    crops instead. A stride-1 convolution of the flipped kernel (same dilation) over the
    ``effective`` framed cells yields the ``output`` cells of the transposed convolution.
    """

    input_size: int
    kernel_size: int
    stride: int
    padding: int
    output_padding: int
    dilation: int
    stuffed: int  # (i - 1) s + 1
    frame_lo: int  # d (k - 1) - p
    frame_hi: int  # d (k - 1) - p + output_padding
    output: int  # (i - 1) s - 2p + d (k - 1) + output_padding + 1

    @property
    def pad_lo(self) -> int:
        """Zero cells added before the stuffed input."""
        return max(self.frame_lo, 0)

    @property
    def pad_hi(self) -> int:
        """Zero cells added after the stuffed input."""
        return max(self.frame_hi, 0)

    @property
    def crop_lo(self) -> int:
        """Stuffed cells cut off at the start (negative frame)."""
        return max(-self.frame_lo, 0)

    @property
    def crop_hi(self) -> int:
        """Stuffed cells cut off at the end (negative frame)."""
        return max(-self.frame_hi, 0)

    @property
    def drawn(self) -> int:
        """The number of cells laid out along this axis (the frames, the stuffed input and
        the cropped cells)."""
        return self.pad_lo + self.stuffed + self.pad_hi

    @property
    def effective(self) -> int:
        """Cells the direct convolution slides over, ``stuffed + frame_lo + frame_hi``."""
        return self.stuffed + self.frame_lo + self.frame_hi

    def input_cell(self, n: int) -> int:
        """Index of original input cell ``n`` in that layout."""
        return self.pad_lo + n * self.stride

    def taps(self, o: int) -> list[int]:
        """Indices in that layout that output ``o`` reads, one per kernel tap."""
        return [self.crop_lo + o + a * self.dilation for a in range(self.kernel_size)]


def transposed_geometry(
    input_size: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    output_padding: int = 0,
    dilation: int = 1,
) -> TransposedGeometry:
    """One axis of the equivalent direct convolution (Dumoulin & Visin 2016, section 4.6).

    >>> g = transposed_geometry(2, 3, stride=2, padding=1, output_padding=1)
    >>> (g.stuffed, g.frame_lo, g.frame_hi, g.output)
    (3, 1, 2, 4)
    """
    out = conv_transpose_output_size(input_size, kernel_size, stride, padding, output_padding,
                                     dilation)  # validates the arguments
    frame = dilation * (kernel_size - 1) - padding
    return TransposedGeometry(
        input_size, kernel_size, stride, padding, output_padding, dilation,
        stuffed=(input_size - 1) * stride + 1,
        frame_lo=frame,
        frame_hi=frame + output_padding,
        output=out,
    )


def _pad_or_crop(x: np.ndarray, before: Sequence[int], after: Sequence[int]) -> np.ndarray:
    """Zero-pad (positive amounts) or crop (negative amounts) the spatial axes of ``x``."""
    widths = [(0, 0), (0, 0)] + [(max(b, 0), max(a, 0)) for b, a in zip(before, after)]
    x = np.pad(x, widths)
    crop = tuple(slice(max(-b, 0), size - max(-a, 0))
                 for b, a, size in zip(before, after, x.shape[2:]))
    return x[(..., *crop)]


def conv_transpose_via_conv(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
    groups: int = 1,
    dilation: IntOrTuple = 1,
) -> np.ndarray:
    """Transposed convolution as an ordinary convolution (Dumoulin & Visin 2016, sec. 4).

    1. *Zero-stuffing*: insert ``stride - 1`` zeros between neighbouring input values
       (length ``L`` becomes ``(L - 1) * stride + 1``).
    2. *Padding*: add ``dilation * (kernel_size - 1) - padding`` zeros on each side, and
       ``output_padding`` more at the far end (a negative amount crops instead).
    3. *Correlate* with stride 1 and the same dilation, using the kernel flipped along every
       spatial axis, with its input and output channels swapped (within each group).

    For the 2x2 -> 4x4 example (kernel 3, stride 1, padding 0) this is a plain convolution
    with ``k' = 3, s' = 1, p' = 2``. The result equals :func:`conv_transpose2d`; the price is
    that most of the products are with the inserted zeros.

    The convolution is :func:`~lecturepkg.conv.functional.conv1d`,
    :func:`~lecturepkg.conv.functional.conv2d` or :func:`~lecturepkg.conv.nd.conv3d`, so
    this works in 1D, 2D and 3D.

    The arguments are those of :func:`conv_transpose2d` (and ``F.conv_transpose2d``), in
    its order. Shapes: as :func:`conv_transpose1d`, :func:`conv_transpose2d`,
    :func:`conv_transpose3d`.

    >>> conv_transpose_via_conv(np.array([[1, 10]]), np.array([[[1, 2, 3]]]), stride=2)
    array([[ 1,  2, 13, 20, 30]])
    """
    weight = check_array("weight", weight, None, "(C_in, C_out/groups, *kernel_size)")
    if weight.ndim not in (3, 4, 5):
        raise ValueError(
            f"weight must be 3-D, 4-D or 5-D (C_in, C_out/groups, *kernel_size) for a 1D, 2D "
            f"or 3D transposed convolution, got shape {weight.shape}"
        )
    dims = weight.ndim - 2
    x, weight, bias, groups, batched = _check_transpose_args(input, weight, bias, groups, dims)
    s, p, op, d = check_transpose_hyper(dims, stride, padding, output_padding, dilation)
    (n, c_in, *in_size), (_, c_out_g, *k) = x.shape, weight.shape
    _transpose_output_size(x, k, s, p, op, d)  # validates output_padding and the size
    # each axis of the equivalent convolution: stuffed length, frame before and after
    axes = [transposed_geometry(*axis) for axis in zip(in_size, k, s, p, op, d)]

    # 1. zero-stuffing: stride - 1 zeros between input values
    stuffed = np.zeros((n, c_in, *[g.stuffed for g in axes]), x.dtype)
    stuffed[(..., *[slice(None, None, si) for si in s])] = x
    # 2. a frame of d(k-1) - p zeros on both sides, output_padding more on the far side
    stuffed = _pad_or_crop(stuffed, [g.frame_lo for g in axes], [g.frame_hi for g in axes])
    # 3. the kernel of the equivalent convolution: (C_out, C_in/G, *k), flipped in space
    w = weight.reshape(groups, c_in // groups, c_out_g, *k)  # (G, C_in/G, C_out/G, *k)
    w = w.swapaxes(1, 2).reshape(groups * c_out_g, c_in // groups, *k)
    w = np.flip(w, axis=tuple(range(2, 2 + dims)))
    out = _CONV[dims](stuffed, w, bias, stride=1, padding=0, dilation=d, groups=groups)
    return out if batched else out[0]
