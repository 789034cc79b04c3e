"""Convolution arithmetic: how big is the output of a convolution, a transposed convolution
or a pooling layer?

The relationships follow Dumoulin & Visin, *A guide to convolution arithmetic for deep
learning* (2016, arXiv:1603.07285), in the form PyTorch documents for ``nn.Conv2d``,
``nn.ConvTranspose2d`` and ``nn.MaxPool2d``:

    convolution:            out = floor((in + 2 * padding - dilation * (kernel_size - 1) - 1)
                                        / stride) + 1
    transposed convolution: out = (in - 1) * stride - 2 * padding
                                  + dilation * (kernel_size - 1) + output_padding + 1

The second undoes the first: a transposed convolution with the same ``kernel_size``,
``stride``, ``padding`` and ``dilation`` maps the convolution's output size back to its
input size. Because the floor makes several input sizes give the same convolution output
size when ``stride > 1``, ``output_padding`` picks which of them to return.

Each function takes ints (one spatial dimension) or tuples (one entry per dimension), like
torch does, and returns the same kind.
"""

from __future__ import annotations

from lecturepkg.conv._args import IntOrTuple, per_axis

__all__ = [
    "effective_kernel_size",
    "conv_output_size",
    "conv_transpose_output_size",
    "pool_output_size",
]


def _span(kernel_size: int, dilation: int) -> int:
    """Input positions a dilated kernel covers: ``dilation * (kernel_size - 1) + 1``."""
    return dilation * (kernel_size - 1) + 1


def effective_kernel_size(kernel_size: IntOrTuple, dilation: IntOrTuple = 1) -> IntOrTuple:
    """Extent of a dilated kernel: ``dilation * (kernel_size - 1) + 1``.

    A kernel of size ``k`` with dilation ``d`` touches the same span of the input as a dense
    kernel of size ``1 + (k - 1) d`` with only ``k`` non-zero taps (Yu & Koltun, 2016).
    """
    n, axes = per_axis(kernel_size=kernel_size, dilation=dilation)
    out = tuple(_span(k, d) for k, d in axes)
    return out if n else out[0]


def conv_output_size(
    input_size: IntOrTuple,
    kernel_size: IntOrTuple,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
) -> IntOrTuple:
    """Output length(s) of a convolution, as computed by ``torch.nn.Conv1d/2d/3d``.

    ``floor((i + 2p - d(k - 1) - 1) / s) + 1`` per dimension (Dumoulin & Visin 2016,
    relationship 15 with dilation). Raises ``ValueError`` when the dilated kernel does not fit
    in the padded input, exactly where torch would fail.

    >>> conv_output_size((20, 30), kernel_size=3, dilation=4)
    (12, 22)
    """
    n, axes = per_axis(input_size=input_size, kernel_size=kernel_size, stride=stride,
                        padding=padding, dilation=dilation)
    out = []
    for ax, (ii, kk, ss, pp, dd) in enumerate(axes):
        span = _span(kk, dd)
        if span > ii + 2 * pp:
            where = f" (dimension {ax})" if n else ""
            raise ValueError(
                f"kernel_size{where}: the dilated kernel spans {span} > padded input "
                f"{ii} + 2*{pp} = {ii + 2 * pp}"
            )
        out.append((ii + 2 * pp - span) // ss + 1)
    return tuple(out) if n else out[0]


def pool_output_size(
    input_size: IntOrTuple,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    ceil_mode: bool = False,
) -> IntOrTuple:
    """Output length(s) of max/average pooling, as computed by ``torch.nn.MaxPool2d``.

    ``stride`` defaults to ``kernel_size`` (non-overlapping windows), as in torch. Padding
    may be at most half the kernel size. With ``ceil_mode`` the last, partial window is
    kept when it starts inside the (left-padded) input, even if it hangs over the right
    edge of the padded input (torch's rule).
    """
    if not isinstance(ceil_mode, bool):
        raise TypeError(f"ceil_mode must be a bool, got {ceil_mode!r}")
    if stride is None:
        stride = kernel_size
    n, axes = per_axis(input_size=input_size, kernel_size=kernel_size, stride=stride,
                        padding=padding, dilation=dilation)
    out = []
    for ii, kk, ss, pp, dd in axes:
        if 2 * pp > kk:
            raise ValueError(f"padding must be at most half of kernel_size, got {pp} for {kk}")
        span = _span(kk, dd)
        num = ii + 2 * pp - span  # negative when the window overhangs the padded input
        o = (-(-num // ss) if ceil_mode else num // ss) + 1  # ceil or floor division
        if ceil_mode and (o - 1) * ss >= ii + pp:  # last window must start inside the input
            o -= 1
        if o < 1:
            raise ValueError(
                f"kernel_size: the window spans {span} > padded input {ii} + 2*{pp} = "
                f"{ii + 2 * pp}, leaving no output"
            )
        out.append(o)
    return tuple(out) if n else out[0]


def conv_transpose_output_size(
    input_size: IntOrTuple,
    kernel_size: IntOrTuple,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
) -> IntOrTuple:
    """Output length(s) of a transposed convolution, as computed by
    ``torch.nn.ConvTranspose1d/2d/3d``.

    ``(i - 1) s - 2p + d(k - 1) + output_padding + 1`` per dimension (Dumoulin & Visin 2016,
    relationships 8-14 with dilation and PyTorch's ``output_padding``). Each of the ``i``
    input positions paints a copy of the dilated kernel, span ``d(k - 1) + 1``, into the
    output, ``s`` positions after the previous one; ``padding`` then crops ``p`` positions
    from each end and ``output_padding`` gives back ``output_padding`` of them at the far end.

    Like torch, ``output_padding`` must be smaller than ``stride`` or than ``dilation``, and
    the result must be at least 1 (``ValueError`` otherwise).

    >>> conv_transpose_output_size(2, kernel_size=3)  # 2 -> 4: undoes a 4 -> 2 convolution
    4
    >>> conv_transpose_output_size((2, 2), 3, stride=2, padding=1, output_padding=1)
    (4, 4)
    """
    n, axes = per_axis(input_size=input_size, kernel_size=kernel_size, stride=stride,
                        padding=padding, output_padding=output_padding, dilation=dilation)
    out = []
    for ax, (ii, kk, ss, pp, oo, dd) in enumerate(axes):
        where = f" (dimension {ax})" if n else ""
        if oo >= ss and oo >= dd:
            raise ValueError(
                f"output_padding{where} must be smaller than stride or dilation, got "
                f"output_padding={oo} with stride={ss} and dilation={dd}"
            )
        size = (ii - 1) * ss - 2 * pp + _span(kk, dd) + oo
        if size < 1:
            raise ValueError(
                f"padding{where}: cropping 2*{pp} positions from the "
                f"{size + 2 * pp} that the transposed convolution paints leaves {size} < 1"
            )
        out.append(size)
    return tuple(out) if n else out[0]
