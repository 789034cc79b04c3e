"""Transposed-convolution diagrams in the style of Dumoulin & Visin (2016).

A transposed convolution can be drawn in two ways, and this module draws both:

- :func:`draw_conv_transpose2d`: as the *equivalent direct convolution* of the
  convolution-arithmetic guide (arXiv:1603.07285, section 4). The input is stretched by
  inserting ``stride - 1`` zeros between neighbouring cells ("zero stuffing"), framed with
  ``dilation * (kernel_size - 1) - padding`` cells of zeros (plus ``output_padding`` more at
  the bottom and right), and a stride-1 convolution with the flipped kernel slides over it.
  Original cells, inserted zeros and padding are drawn differently; when ``padding`` exceeds
  ``dilation * (kernel_size - 1)`` the frame is negative, and the cells it crops are hatched.
- :func:`draw_overlap_add` and :func:`draw_overlap_add1d`: as what the layer computes, every
  input value painting a scaled copy of the kernel into the output, ``stride`` cells after the
  previous copy, with overlapping copies summed. Each output cell shows how many kernel taps
  reach it (:func:`~lecturepkg.conv.checkerboard.overlap_count`); where that number varies
  periodically, the layer produces checkerboard artifacts (Odena, Dumoulin & Olah, 2016).

Sizes come from :func:`lecturepkg.conv.arithmetic.conv_transpose_output_size` and the frame
of the equivalent convolution from :func:`lecturepkg.conv.transposed.transposed_geometry`,
the arithmetic that :func:`~lecturepkg.conv.transposed.conv_transpose_via_conv` computes
with, so a picture and the computation cannot disagree. All drawing is pyplot-free (see
:class:`~lecturepkg.viz.grids.NotebookFigure`). Patches carry a ``gid`` naming what they are,
so tests and readers can count them.
"""

from __future__ import annotations

import matplotlib
import matplotlib.colors as mcolors
import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Patch, Polygon, Rectangle

from lecturepkg._checks import check_int, check_tuple
from lecturepkg.conv.arithmetic import conv_transpose_output_size, effective_kernel_size
from lecturepkg.conv.checkerboard import overlap_count, overlap_count_1d
from lecturepkg.conv.transposed import TransposedGeometry, transposed_geometry
from lecturepkg.viz.conv_diagram import (
    GAP,
    INPUT_COLOR,
    OUTPUT_COLOR,
    OUTPUT_HIGHLIGHT_COLOR,
    PADDING_COLOR,
    TAP_COLOR,
    format_param,
    format_size,
)
from lecturepkg.viz.grids import NotebookFigure

__all__ = [
    "draw_conv_transpose2d",
    "draw_overlap_add",
    "draw_overlap_add1d",
]

STUFFED_COLOR = "#e3e3e3"  # zeros inserted between input cells (light grey)
CROPPED_HATCH = "xxx"  # cells removed by a negative frame, or by padding in the overlap view
CROPPED_COLOR = "0.55"
FOOTPRINT_COLORS = ["#d62728", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
                    "#17becf", "#bcbd22"]  # outlines of the kernel copies, cycled
COUNT_CMAP = "Oranges"  # overlap counts: the darker, the more kernel taps


def _check_settings(input_size, kernel_size, stride, padding, output_padding, dilation):
    """Per-axis settings as pairs, validated (torch's rules for ConvTranspose2d)."""
    values = (
        check_tuple("input_size", input_size, 2, minimum=1),
        check_tuple("kernel_size", kernel_size, 2, minimum=1),
        check_tuple("stride", stride, 2, minimum=1),
        check_tuple("padding", padding, 2, minimum=0),
        check_tuple("output_padding", output_padding, 2, minimum=0),
        check_tuple("dilation", dilation, 2, minimum=1),
    )
    conv_transpose_output_size(*values)  # raises ValueError naming the offending argument
    return values


def _check_index(name: str, index, size: tuple[int, int], what: str) -> tuple[int, int]:
    if not isinstance(index, (tuple, list)) or len(index) != 2:
        raise TypeError(f"{name} must be a pair (i, j), got {index!r}")
    i = check_int(f"{name}[0]", index[0], minimum=0)
    j = check_int(f"{name}[1]", index[1], minimum=0)
    if i >= size[0] or j >= size[1]:
        raise ValueError(f"{name} {(i, j)} is outside the {what} of size {format_size(size)}")
    return i, j


def _check_ax(ax, figsize) -> Axes:
    if ax is None:
        return NotebookFigure(figsize=figsize, layout="constrained").add_subplot()
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    return ax


def _settings_title(k, s, p, op, d) -> str:
    title = f"kernel {format_param(k)}, stride {format_param(s)}, padding {format_param(p)}"
    if any(op):
        title += f", output padding {format_param(op)}"
    if any(v != 1 for v in d):
        title += f", dilation {format_param(d)}"
    return title


# ------------------------------------------------------------- equivalent convolution


def draw_conv_transpose2d(
    input_size=(2, 2),
    kernel_size=3,
    stride=1,
    padding=0,
    output_padding=0,
    dilation=1,
    output_index=(0, 0),
    ax: Axes | None = None,
) -> Axes:
    """Draw a 2-D transposed convolution as its equivalent direct convolution.

    The input (blue) is zero-stuffed (grey cells: ``stride - 1`` zeros between neighbours)
    and framed with zero padding (white, dashed) of ``dilation * (kernel_size - 1) - padding``
    cells, plus ``output_padding`` at the bottom and right; a negative frame crops the hatched
    cells instead. The cells that one output reads are shaded (its kernel taps, framed by the
    dilated kernel's extent), and the output grid (green) has that cell highlighted. The
    direct convolution uses stride 1 and the *flipped* kernel (Dumoulin & Visin 2016, §4).

    Parameters
    ----------
    input_size:
        ``(H, W)`` of the transposed convolution's input, or one int for a square input.
    kernel_size, stride, padding, output_padding, dilation:
        An int or an ``(h, w)`` pair each, with the meaning of ``torch.nn.ConvTranspose2d``.
    output_index:
        The output position ``(i, j)`` whose kernel taps are shaded.
    ax:
        Axes to draw on; ``None`` creates a new :class:`~lecturepkg.viz.grids.NotebookFigure`.

    Returns
    -------
    The ``Axes``. Patch ``gid`` labels: ``"input"`` (``H * W`` original cells), ``"stuffed"``
    (inserted zeros), ``"padding"`` (the zero frame), ``"cropped"`` (hatched overlay on cells a
    negative frame removes), ``"tap"`` (one per kernel weight), ``"span"`` (the dilated
    kernel's extent), ``"output"`` (one per output cell) and ``"output-highlight"``.
    """
    i, k, s, p, op, d = _check_settings(input_size, kernel_size, stride, padding,
                                        output_padding, dilation)
    gh, gw = (transposed_geometry(*axis) for axis in zip(i, k, s, p, op, d))
    oh, ow = gh.output, gw.output
    oi, oj = _check_index("output_index", output_index, (oh, ow), "output")
    ax = _check_ax(ax, figsize=(7, 4.5))

    originals = {(gh.input_cell(r), gw.input_cell(c)) for r in range(i[0]) for c in range(i[1])}
    rows, cols = gh.drawn, gw.drawn
    for r in range(rows):
        for c in range(cols):
            stuffed = (gh.pad_lo <= r < gh.pad_lo + gh.stuffed
                       and gw.pad_lo <= c < gw.pad_lo + gw.stuffed)
            if (r, c) in originals:
                style = dict(facecolor=INPUT_COLOR, edgecolor="0.45", linestyle="-", gid="input")
            elif stuffed:
                style = dict(facecolor=STUFFED_COLOR, edgecolor="0.6", linestyle="-",
                             gid="stuffed")
            else:
                style = dict(facecolor=PADDING_COLOR, edgecolor="0.45", linestyle="--",
                             gid="padding")
            ax.add_patch(Rectangle((c, r), 1, 1, linewidth=0.8, **style))
            inside = (gh.crop_lo <= r < rows - gh.crop_hi and gw.crop_lo <= c < cols - gw.crop_hi)
            if not inside:
                ax.add_patch(Rectangle((c, r), 1, 1, fill=False, hatch=CROPPED_HATCH,
                                       edgecolor=CROPPED_COLOR, linewidth=0, gid="cropped",
                                       zorder=1.5))
    # kernel taps for the chosen output, and the dilated kernel's extent
    for r in gh.taps(oi):
        for c in gw.taps(oj):
            ax.add_patch(Rectangle((c, r), 1, 1, facecolor=TAP_COLOR, alpha=0.6,
                                   edgecolor="none", gid="tap", zorder=2))
    span = effective_kernel_size(k, d)
    top, left = gh.taps(oi)[0], gw.taps(oj)[0]
    ax.add_patch(Rectangle((left, top), span[1], span[0], fill=False, edgecolor=TAP_COLOR,
                           linewidth=2, gid="span", zorder=3))
    # output grid to the right, vertically centred
    x0 = cols + GAP
    y0 = (rows - oh) / 2
    for r in range(oh):
        for c in range(ow):
            ax.add_patch(Rectangle((x0 + c, y0 + r), 1, 1, facecolor=OUTPUT_COLOR,
                                   edgecolor="0.45", linewidth=0.8, gid="output"))
    ax.add_patch(Rectangle((x0 + oj, y0 + oi), 1, 1, facecolor=OUTPUT_HIGHLIGHT_COLOR,
                           edgecolor="black", linewidth=1.2, gid="output-highlight", zorder=2))
    for y_in, y_out in ((top, y0 + oi), (top + span[0], y0 + oi + 1)):
        ax.plot([left + span[1], x0 + oj], [y_in, y_out], color="0.4", linewidth=0.8,
                linestyle=":", zorder=1)

    frames = f"frame {format_param((gh.frame_lo, gw.frame_lo))}"
    if any(op):
        frames += f" (+{format_param(op)} after)"
    zeros = format_param(tuple(x - 1 for x in s))
    ax.text(cols / 2, rows + 0.4,
            f"input {format_size(i)}, {zeros} zero{'' if zeros == '1' else 's'} between, "
            f"{frames}", ha="center", va="top", fontsize=9)
    ax.text(x0 + ow / 2, max(rows, y0 + oh) + 0.4, f"output {format_size((oh, ow))}",
            ha="center", va="top", fontsize=9)
    ax.set_title("transposed: " + _settings_title(k, s, p, op, d), fontsize=10)
    legend = [
        Patch(facecolor=INPUT_COLOR, edgecolor="0.45", label="input"),
        Patch(facecolor=STUFFED_COLOR, edgecolor="0.6", label="inserted zero"),
        Patch(facecolor=PADDING_COLOR, edgecolor="0.45", linestyle="--", label="padding zero"),
        Patch(facecolor=TAP_COLOR, alpha=0.6, label="flipped kernel"),
    ]
    if gh.crop_lo or gh.crop_hi or gw.crop_lo or gw.crop_hi:
        legend.append(Patch(fill=False, hatch=CROPPED_HATCH, edgecolor=CROPPED_COLOR,
                            label="cropped"))
    bottom = max(rows, y0 + oh) + 1.2
    ax.legend(handles=legend, loc="upper center", bbox_to_anchor=((x0 + ow) / 2, bottom),
              bbox_transform=ax.transData, ncol=len(legend), fontsize=8, frameon=False,
              handlelength=1.2, columnspacing=1.0, borderaxespad=0)
    ax.set_xlim(-0.3, x0 + ow + 0.3)
    ax.set_ylim(bottom + 1.2, -0.3)  # y grows downwards, like array rows
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


# ------------------------------------------------------------------------ overlap-add


def _canvas(geometry: TransposedGeometry) -> tuple[int, int]:
    """Length of the painted canvas before cropping, and how far past it the output reaches.

    Input ``n`` paints taps at canvas positions ``n*s + a*d``; the output is canvas
    ``[padding, padding + output)``, which extends ``output_padding - padding`` cells past
    the painted canvas when ``output_padding > padding`` (those cells stay zero).
    """
    g = geometry
    painted = (g.input_size - 1) * g.stride + g.dilation * (g.kernel_size - 1) + 1
    return painted, max(g.padding + g.output - painted, 0)


def _count_colours(counts: np.ndarray):
    cmap = matplotlib.colormaps[COUNT_CMAP]
    norm = mcolors.Normalize(vmin=0, vmax=max(int(counts.max()), 1) * 1.25)  # keep 0 light
    return cmap, norm


def _text_colour(rgba) -> str:
    red, green, blue, _ = rgba
    return "white" if 0.299 * red + 0.587 * green + 0.114 * blue < 0.5 else "black"


def draw_overlap_add(
    input_size=(2, 2),
    kernel_size=3,
    stride=1,
    padding=0,
    output_padding=0,
    dilation=1,
    input_index=None,
    ax: Axes | None = None,
) -> Axes:
    """Draw a 2-D transposed convolution as overlap-add, with the overlap count of every cell.

    Left: the input grid (blue). Right: the canvas the kernel copies are painted on, one copy
    per input cell, ``stride`` cells apart, each copy's extent outlined in its own colour.
    Every canvas cell shows how many kernel taps reach it, shaded from light (few) to dark
    (many). ``padding`` crops that many cells from each side of the canvas (hatched, with their
    counts in grey) and ``output_padding`` adds cells at the bottom and right; what is left is
    the output (thick outline). When ``input_index`` is given, that input cell and its kernel
    copy's taps are highlighted.

    Parameters are those of :func:`draw_conv_transpose2d`, with ``input_index`` (``None`` or
    an input position ``(i, j)``) in place of ``output_index``.

    Returns
    -------
    The ``Axes``. Patch ``gid`` labels: ``"input"`` (``H * W``), ``"input-highlight"``,
    ``"canvas"`` (every canvas cell, with its count written in it), ``"cropped"`` (hatched
    canvas cells outside the output), ``"output"`` (the outline of the output region),
    ``"footprint"`` (one outline per input cell) and ``"tap"`` (the highlighted copy's taps).
    The count texts have gid ``"count"`` and are written in row-major order of the canvas.
    """
    i, k, s, p, op, d = _check_settings(input_size, kernel_size, stride, padding,
                                        output_padding, dilation)
    gh, gw = (transposed_geometry(*axis) for axis in zip(i, k, s, p, op, d))
    if input_index is not None:
        input_index = _check_index("input_index", input_index, i, "input")
    ax = _check_ax(ax, figsize=(7, 4.5))

    (ph, extra_h), (pw, extra_w) = _canvas(gh), _canvas(gw)
    rows, cols = ph + extra_h, pw + extra_w
    counts = np.zeros((rows, cols), dtype=np.int64)  # (canvas rows, canvas cols)
    counts[:ph, :pw] = overlap_count(i, k, s, 0, 0, d)  # taps on the uncropped canvas
    cmap, norm = _count_colours(counts)

    # input grid on the left, vertically centred on the canvas
    y_in = (rows - i[0]) / 2
    for r in range(i[0]):
        for c in range(i[1]):
            ax.add_patch(Rectangle((c, y_in + r), 1, 1, facecolor=INPUT_COLOR, edgecolor="0.45",
                                   linewidth=0.8, gid="input"))
    if input_index is not None:
        ax.add_patch(Rectangle((input_index[1], y_in + input_index[0]), 1, 1, fill=False,
                               edgecolor="black", linewidth=2.5, gid="input-highlight", zorder=3))
    ax.text(i[1] / 2, max(rows, y_in + i[0]) + 0.4, f"input {format_size(i)}", ha="center",
            va="top", fontsize=9)

    # the canvas with its overlap counts
    x0 = i[1] + GAP
    out_rows = range(p[0], p[0] + gh.output)
    out_cols = range(p[1], p[1] + gw.output)
    for r in range(rows):
        for c in range(cols):
            colour = cmap(norm(counts[r, c]))
            ax.add_patch(Rectangle((x0 + c, r), 1, 1, facecolor=colour, edgecolor="0.6",
                                   linewidth=0.6, gid="canvas"))
            kept = r in out_rows and c in out_cols
            if not kept:
                ax.add_patch(Rectangle((x0 + c, r), 1, 1, fill=False, hatch=CROPPED_HATCH,
                                       edgecolor=CROPPED_COLOR, linewidth=0, gid="cropped",
                                       zorder=1.5))
            ax.text(x0 + c + 0.5, r + 0.5, str(counts[r, c]), ha="center", va="center",
                    fontsize=max(5.0, 10.0 - 0.25 * max(rows, cols)),
                    color=_text_colour(colour) if kept else "0.45", gid="count", zorder=4)
    ax.add_patch(Rectangle((x0 + p[1], p[0]), gw.output, gh.output, fill=False,
                           edgecolor=OUTPUT_HIGHLIGHT_COLOR, linewidth=2.5, gid="output",
                           zorder=3))

    # each input cell's kernel copy: an outline of the dilated kernel's extent
    span = effective_kernel_size(k, d)
    inset = 0.08
    for n, (r, c) in enumerate(np.ndindex(*i)):
        colour = FOOTPRINT_COLORS[n % len(FOOTPRINT_COLORS)]
        shrink = inset * (1 + n % 3)  # staggered insets keep overlapping outlines apart
        ax.add_patch(Rectangle((x0 + c * s[1] + shrink, r * s[0] + shrink),
                               span[1] - 2 * shrink, span[0] - 2 * shrink, fill=False,
                               edgecolor=colour, linewidth=1.4, gid="footprint", zorder=3))
        if (r, c) == input_index:
            for a in range(k[0]):
                for b in range(k[1]):
                    ax.add_patch(Rectangle(
                        (x0 + c * s[1] + b * d[1], r * s[0] + a * d[0]), 1, 1,
                        facecolor=colour, alpha=0.35, edgecolor="none", gid="tap", zorder=2))
    ax.text(x0 + cols / 2, rows + 0.4,
            f"kernel copies summed; output {format_size((gh.output, gw.output))} "
            "(thick frame)", ha="center", va="top", fontsize=9)
    ax.set_title("overlap-add: " + _settings_title(k, s, p, op, d), fontsize=10)
    ax.set_xlim(-0.3, x0 + cols + 0.3)
    ax.set_ylim(max(rows, y_in + i[0]) + 1.4, -0.3)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def draw_overlap_add1d(
    input_size: int = 5,
    kernel_size: int = 3,
    stride: int = 2,
    padding: int = 0,
    output_padding: int = 0,
    dilation: int = 1,
    ax: Axes | None = None,
) -> Axes:
    """Draw a 1-D transposed convolution as in Odena et al.'s Distill figure.

    Top row: the input cells. Bottom row: the painted canvas. Each input cell is joined to
    the kernel taps it paints by a translucent band, so cells that several copies reach are
    covered by several bands; each canvas cell shows its overlap count. Cells that
    ``padding`` crops are hatched.

    Returns
    -------
    The ``Axes``. Patch ``gid`` labels: ``"input"``, ``"canvas"``, ``"cropped"``, ``"band"``
    (one polygon per input cell and kernel tap); count texts have gid ``"count"``.
    """
    args = dict(input_size=input_size, kernel_size=kernel_size, stride=stride, padding=padding,
                output_padding=output_padding, dilation=dilation)
    for name, value in args.items():
        if isinstance(value, (tuple, list)):
            raise TypeError(f"{name} must be an int for a 1-D drawing, got {value!r}")
    g = transposed_geometry(input_size, kernel_size, stride, padding, output_padding, dilation)
    ax = _check_ax(ax, figsize=(7.5, 2.5))
    painted, extra = _canvas(g)
    length = painted + extra
    counts = np.zeros(length, dtype=np.int64)
    counts[:painted] = overlap_count_1d(input_size, kernel_size, stride, 0, 0, dilation)
    cmap, norm = _count_colours(counts)

    # input cells sit above the middle of their kernel copy
    span = dilation * (kernel_size - 1) + 1
    y_in, y_out, h = 0.0, 2.6, 0.8
    for n in range(input_size):
        x = n * stride + (span - 1) / 2
        ax.add_patch(Rectangle((x, y_in), 1, h, facecolor=INPUT_COLOR, edgecolor="0.45",
                               linewidth=0.8, gid="input"))
        for a in range(kernel_size):
            c = n * stride + a * dilation
            ax.add_patch(Polygon([(x, y_in + h), (x + 1, y_in + h), (c + 1, y_out), (c, y_out)],
                                 closed=True, facecolor="0.3", alpha=0.18, edgecolor="none",
                                 gid="band"))
    for c in range(length):
        colour = cmap(norm(counts[c]))
        kept = padding <= c < padding + g.output
        ax.add_patch(Rectangle((c, y_out), 1, h, facecolor=colour, edgecolor="0.6",
                               linewidth=0.6, gid="canvas"))
        if not kept:
            ax.add_patch(Rectangle((c, y_out), 1, h, fill=False, hatch=CROPPED_HATCH,
                                   edgecolor=CROPPED_COLOR, linewidth=0, gid="cropped",
                                   zorder=1.5))
        ax.text(c + 0.5, y_out + h / 2, str(counts[c]), ha="center", va="center", fontsize=8,
                color=_text_colour(colour) if kept else "0.45", gid="count", zorder=4)
    ax.set_title(f"1-D overlap-add: kernel {kernel_size}, stride {stride}"
                 + (f", padding {padding}" if padding else "")
                 + (f", output padding {output_padding}" if output_padding else "")
                 + (f", dilation {dilation}" if dilation != 1 else ""), fontsize=10)
    right = max(length, (input_size - 1) * stride + (span - 1) / 2 + 1)
    ax.set_xlim(-0.3, right + 0.3)
    ax.set_ylim(y_out + h + 0.3, y_in - 0.3)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax
