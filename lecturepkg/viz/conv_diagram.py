"""Convolution-arithmetic diagrams in the style of Dumoulin & Visin (2016).

*A guide to convolution arithmetic for deep learning* (arXiv:1603.07285) explains padding,
stride and dilation with small pictures: the input as a grid of cells (blue) with its padding
ring (dashed, white), the cells the kernel touches for one output position (dark), and the
output grid (teal) with that position marked. :func:`draw_conv2d` draws one such picture for
any setting and takes the output size from :func:`lecturepkg.conv.conv_output_size`, so the
picture and the formula cannot disagree.
"""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.patches import Rectangle

from lecturepkg._checks import check_int, check_tuple
from lecturepkg.conv.arithmetic import conv_output_size, effective_kernel_size
from lecturepkg.viz.grids import NotebookFigure

__all__ = ["draw_conv2d", "kernel_taps", "format_size", "format_param"]

INPUT_COLOR = "#8fb8de"  # input cells
PADDING_COLOR = "white"  # zero padding (dashed outline)
TAP_COLOR = "#08306b"  # cells multiplied by a kernel weight
OUTPUT_COLOR = "#a8e0d3"  # output cells
OUTPUT_HIGHLIGHT_COLOR = "#1b7f6b"  # the output cell being computed
GAP = 2.0  # horizontal space between input and output grid, in cells


def _pair(name: str, value, minimum: int) -> tuple[int, int]:
    return check_tuple(name, value, 2, minimum=minimum)


def format_size(size: tuple[int, ...]) -> str:
    """``(3, 5)`` -> ``'3×5'``."""
    return "×".join(str(s) for s in size)


def format_param(value: tuple[int, int]) -> str:
    """``(2, 2)`` -> ``'2'``; ``(2, 1)`` -> ``'(2, 1)'``, like torch's repr of a layer."""
    return str(value[0]) if value[0] == value[1] else str(tuple(value))


def kernel_taps(
    output_index: tuple[int, int],
    kernel_size,
    stride=1,
    dilation=1,
) -> list[tuple[int, int]]:
    """Cells of the *padded* input that output ``output_index`` multiplies by a kernel weight.

    Output ``(i, j)`` reads padded-input cells ``(i*s_h + a*d_h, j*s_w + b*d_w)`` for
    ``0 <= a < k_h`` and ``0 <= b < k_w``: one cell per kernel weight, ``k_h * k_w`` in all.
    """
    if not isinstance(output_index, (tuple, list)) or len(output_index) != 2:
        raise TypeError(f"output_index must be a pair (i, j), got {output_index!r}")
    i = check_int("output_index[0]", output_index[0], minimum=0)
    j = check_int("output_index[1]", output_index[1], minimum=0)
    kh, kw = _pair("kernel_size", kernel_size, 1)
    sh, sw = _pair("stride", stride, 1)
    dh, dw = _pair("dilation", dilation, 1)
    return [(i * sh + a * dh, j * sw + b * dw) for a in range(kh) for b in range(kw)]


def draw_conv2d(
    input_size=(5, 5),
    kernel_size=3,
    stride=1,
    padding=0,
    dilation=1,
    output_index=(0, 0),
    ax: Axes | None = None,
) -> Axes:
    """Draw a 2-D convolution setting as in Dumoulin & Visin's convolution-arithmetic guide.

    Parameters
    ----------
    input_size:
        ``(H, W)`` of the input, or one int for a square input.
    kernel_size, stride, padding, dilation:
        An int or an ``(h, w)`` pair each, with the meaning of ``torch.nn.Conv2d``.
    output_index:
        The output position ``(i, j)`` whose kernel taps are highlighted.
    ax:
        Axes to draw on; ``None`` creates a new (pyplot-free)
        :class:`~lecturepkg.viz.grids.NotebookFigure`, reachable as ``ax.figure``.

    Returns
    -------
    The ``Axes``. Its patches carry a ``gid`` saying what they are: ``"input"`` (H*W cells),
    ``"padding"`` (the zero ring), ``"tap"`` (one per kernel weight, ``k_h * k_w``),
    ``"span"`` (outline of the dilated kernel's extent), ``"output"`` (one per output cell)
    and ``"output-highlight"`` (the cell at ``output_index``).
    """
    if ax is not None and not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    H, W = _pair("input_size", input_size, 1)
    k = _pair("kernel_size", kernel_size, 1)
    s = _pair("stride", stride, 1)
    p = _pair("padding", padding, 0)
    d = _pair("dilation", dilation, 1)
    oh, ow = conv_output_size((H, W), k, s, p, d)  # raises if the kernel does not fit
    if not isinstance(output_index, (tuple, list)) or len(output_index) != 2:
        raise TypeError(f"output_index must be a pair (i, j), got {output_index!r}")
    oi = check_int("output_index[0]", output_index[0], minimum=0)
    oj = check_int("output_index[1]", output_index[1], minimum=0)
    if oi >= oh or oj >= ow:
        raise ValueError(
            f"output_index {(oi, oj)} is outside the output of size {format_size((oh, ow))}"
        )
    if ax is None:
        ax = NotebookFigure(figsize=(6, 4), layout="constrained").add_subplot()

    Hp, Wp = H + 2 * p[0], W + 2 * p[1]  # padded input
    # Input grid: row r, column c of the padded input occupies [c, c+1] x [r, r+1].
    for r in range(Hp):
        for c in range(Wp):
            is_pad = not (p[0] <= r < p[0] + H and p[1] <= c < p[1] + W)
            ax.add_patch(
                Rectangle(
                    (c, r), 1, 1,
                    facecolor=PADDING_COLOR if is_pad else INPUT_COLOR,
                    edgecolor="0.45", linestyle="--" if is_pad else "-", linewidth=0.8,
                    gid="padding" if is_pad else "input",
                )
            )
    # Kernel taps for the chosen output position, and the extent of the dilated kernel.
    taps = kernel_taps((oi, oj), k, s, d)
    for r, c in taps:
        ax.add_patch(
            Rectangle((c, r), 1, 1, facecolor=TAP_COLOR, alpha=0.6, edgecolor="none",
                      gid="tap", zorder=2)
        )
    span = effective_kernel_size(k, d)
    top, left = oi * s[0], oj * s[1]
    ax.add_patch(
        Rectangle((left, top), span[1], span[0], fill=False, edgecolor=TAP_COLOR,
                  linewidth=2, gid="span", zorder=3)
    )
    # Output grid, to the right of the input and vertically centred.
    x0 = Wp + GAP
    y0 = (Hp - oh) / 2
    for r in range(oh):
        for c in range(ow):
            ax.add_patch(
                Rectangle((x0 + c, y0 + r), 1, 1, facecolor=OUTPUT_COLOR, edgecolor="0.45",
                          linewidth=0.8, gid="output")
            )
    ax.add_patch(
        Rectangle((x0 + oj, y0 + oi), 1, 1, facecolor=OUTPUT_HIGHLIGHT_COLOR,
                  edgecolor="black", linewidth=1.2, gid="output-highlight", zorder=2)
    )
    # Guide lines from the kernel's extent to the output cell it produces.
    for y_in, y_out in ((top, y0 + oi), (top + span[0], y0 + oi + 1)):
        ax.plot([left + span[1], x0 + oj], [y_in, y_out], color="0.4", linewidth=0.8,
                linestyle=":", zorder=1)

    pad_note = f" + padding {format_param(p)}" if any(p) else ""
    ax.text(Wp / 2, Hp + 0.4, f"input {format_size((H, W))}{pad_note}",
            ha="center", va="top", fontsize=9)
    ax.text(x0 + ow / 2, max(Hp, y0 + oh) + 0.4, f"output {format_size((oh, ow))}",
            ha="center", va="top", fontsize=9)
    ax.set_title(
        f"kernel {format_param(k)}, stride {format_param(s)}, padding {format_param(p)}, "
        f"dilation {format_param(d)}",
        fontsize=10,
    )
    ax.set_xlim(-0.3, x0 + ow + 0.3)
    ax.set_ylim(Hp + 1.4, -0.3)  # y grows downwards, like array rows
    ax.set_aspect("equal")
    ax.axis("off")
    return ax
