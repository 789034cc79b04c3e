"""Where checkerboard artifacts come from, and how strong they are.

A transposed convolution with stride ``s`` paints one copy of its (dilated) kernel into the
output for every input position, each copy ``s`` cells after the previous one, and sums
where the copies overlap. When the kernel size is not divisible by the stride, the copies
overlap *unevenly*: some output cells are reached by more kernel taps than their neighbours,
in a pattern that repeats every ``s`` cells. In two dimensions the pattern is a checkerboard
(Odena, Dumoulin & Olah, "Deconvolution and checkerboard artifacts", Distill, 2016).

- :func:`overlap_count` counts, for every output cell of a transposed convolution, how many
  kernel taps reach it. Along each axis the count only depends on that axis' settings, so
  the count map of a 2-D layer is the outer product of two 1-D count vectors.
- :func:`checkerboard_score` measures how much an image's average value depends on the
  position of a pixel modulo the stride: zero for an artifact-free image, large for a
  checkerboard.
"""

from __future__ import annotations

import itertools

import numpy as np

from lecturepkg._checks import check_int, check_ndarray, check_tuple
from lecturepkg.conv._args import per_axis
from lecturepkg.conv.arithmetic import conv_transpose_output_size

__all__ = ["overlap_count", "overlap_count_1d", "checkerboard_score", "phase_means"]


def overlap_count_1d(
    input_size: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    output_padding: int = 0,
    dilation: int = 1,
) -> np.ndarray:
    """Kernel taps reaching each output position of a 1-D transposed convolution.

    Input position ``n`` paints kernel tap ``a`` onto output position
    ``n * stride + a * dilation - padding``; positions outside ``[0, out)`` are cropped.
    Returns an int array of length ``out = conv_transpose_output_size(...)``.
    """
    out = conv_transpose_output_size(input_size, kernel_size, stride, padding, output_padding,
                                     dilation)  # validates every argument
    counts = np.zeros(out, dtype=np.int64)  # (out,)
    for n in range(input_size):  # each input position paints one kernel copy
        for a in range(kernel_size):
            position = n * stride + a * dilation - padding
            if 0 <= position < out:
                counts[position] += 1
    return counts


def overlap_count(
    input_size,
    kernel_size,
    stride=1,
    padding=0,
    output_padding=0,
    dilation=1,
) -> np.ndarray:
    """Overlap-count map of a transposed convolution: how many kernel taps reach each output.

    Arguments have the meaning (and the int-or-tuple convention) of
    ``torch.nn.ConvTranspose1d/2d/3d``; a tuple gives one value per spatial axis. The map
    equals ``conv_transpose(ones(input_size), ones(kernel_size))``: the output for a constant
    input of ones and a kernel of ones. It is uniform away from the borders exactly when
    ``kernel_size`` is divisible by ``stride`` (with ``dilation=1``).

    Returns an int array with the shape of the transposed convolution's output (a 1-D
    array when every argument is an int). Along each axis the counts depend only on that
    axis, so the map is the outer product of :func:`overlap_count_1d` vectors.
    """
    _, axes = per_axis(input_size=input_size, kernel_size=kernel_size, stride=stride,
                        padding=padding, output_padding=output_padding, dilation=dilation)
    conv_transpose_output_size(*zip(*axes))  # as tuples: errors name the dimension
    counts = np.ones((), dtype=np.int64)
    for axis_args in axes:  # one axis at a time: outer product of 1-D counts
        counts = np.multiply.outer(counts, overlap_count_1d(*axis_args))
    return counts


def phase_means(image, stride) -> np.ndarray:
    """Mean of ``image`` over each phase of the stride's grid.

    For stride ``s`` (per axis), the phase of a pixel is its index modulo ``s``; the result
    has shape ``stride`` (e.g. ``(2, 2)`` for a 2-D image and stride 2) and entry ``phi`` is
    the mean of ``image[phi[0]::s[0], phi[1]::s[1], ...]``. A pattern that repeats every
    ``s`` pixels shows up here; image content, averaged over many pixels, mostly does not.
    """
    image = check_ndarray("image", image, ndim=(1, 2, 3), shape_hint="(L,), (H, W) or (D, H, W)")
    s = check_tuple("stride", stride, image.ndim, minimum=1)
    for axis, (size, step) in enumerate(zip(image.shape, s)):
        if size < step:
            raise ValueError(
                f"image: axis {axis} has {size} pixels, fewer than stride {step}; "
                "every phase needs at least one pixel"
            )
    means = np.empty(s)
    for phase in itertools.product(*(range(step) for step in s)):
        window = tuple(slice(ph, None, step) for ph, step in zip(phase, s))
        means[phase] = image[window].mean()
    return means


def checkerboard_score(image, stride, border: int = 0) -> float:
    """Strength of the stride-periodic pattern in ``image``, relative to its magnitude.

    ``std(phase_means(image, stride)) / mean(phase_means(|image|, stride))``: the spread of
    the phase means relative to the mean magnitude, every phase weighted equally. ``border``
    pixels are dropped at each edge first (the edges of a transposed convolution's output are
    reached by fewer kernel copies for a reason that has nothing to do with checkerboards).
    For the overlap map of a transposed convolution with a kernel of ones, this is the
    coefficient of variation of the repeating tile: 0 when every pixel is reached by as many
    taps as any other, 1/3 for kernel 3 and stride 2 in 1-D (tile ``(2, 1)``). Returns 0.0
    for an all-zero image.
    """
    image = check_ndarray("image", image, ndim=(1, 2, 3), shape_hint="(L,), (H, W) or (D, H, W)")
    border = check_int("border", border, minimum=0)
    if any(size <= 2 * border for size in image.shape):
        raise ValueError(
            f"border={border} removes the whole image of shape {tuple(image.shape)}"
        )
    inner = image[tuple(slice(border, size - border) for size in image.shape)].astype(float)
    scale = phase_means(np.abs(inner), stride).mean()  # each phase weighted equally
    if scale == 0:
        return 0.0
    return float(phase_means(inner, stride).std() / scale)
