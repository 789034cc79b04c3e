"""Annotated grids of numbers: the pictures of worked convolution examples.

A small feature map, a kernel or an image patch reads best as a grid of coloured cells with
the value written in each cell, as in lecture slides. :func:`show_grid` draws one such grid
on a matplotlib ``Axes``; :func:`draw_correlation_steps` uses it to show a kernel sliding over
an image, one row of panels per output position, with the output filling up in reading order
(row by row, the order in which ``torch.nn.functional.conv2d`` lays out its result); the
output values come from the course's own :func:`~lecturepkg.conv.functional.conv2d`.

Both functions are headless: they draw on ``matplotlib.figure.Figure`` objects (never pyplot)
and never open a window, so they run under the Agg backend in tests and on a server that
builds the book. :class:`NotebookFigure` is such a figure that still displays in a notebook.
"""

from __future__ import annotations

import io
from typing import Sequence

import matplotlib
import matplotlib.colors as mcolors
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from lecturepkg._checks import check_format, check_int, check_ndarray
from lecturepkg.conv.functional import conv2d

__all__ = ["NotebookFigure", "show_grid", "draw_correlation_steps"]

class NotebookFigure(Figure):
    """A pyplot-free ``Figure`` that shows itself as a PNG in a notebook.

    Figures made with ``matplotlib.figure.Figure`` (rather than ``pyplot``) leave no global
    state behind, but Jupyter only knows how to show them once pyplot's inline backend has
    been loaded. Giving the figure a ``_repr_png_`` makes it display anywhere: as a cell's
    last expression, with ``IPython.display.display``, or inside an ``ipywidgets.Output``.
    """

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue()


# Colour of highlight rectangles (the kernel window, the output cell being filled).
HIGHLIGHT_COLOR = "#d62728"


def _check_highlight(highlight, shape: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """Normalise ``highlight`` to a list of ``(row, col, height, width)`` rectangles."""
    if highlight is None:
        return []
    if isinstance(highlight, tuple) and len(highlight) in (2, 4) and all(
        isinstance(v, (int, np.integer)) for v in highlight
    ):
        highlight = [highlight]
    if not isinstance(highlight, (list, tuple)):
        raise TypeError(
            "highlight must be None, (row, col), (row, col, height, width) or a list of them, "
            f"got {highlight!r}"
        )
    rects = []
    for h in highlight:
        if not isinstance(h, tuple) or len(h) not in (2, 4):
            raise TypeError(
                f"highlight entries must be (row, col) or (row, col, height, width), got {h!r}"
            )
        row, col, height, width = (*h, 1, 1) if len(h) == 2 else h
        row = check_int("highlight row", row, minimum=0)
        col = check_int("highlight col", col, minimum=0)
        height = check_int("highlight height", height, minimum=1)
        width = check_int("highlight width", width, minimum=1)
        if row + height > shape[0] or col + width > shape[1]:
            raise ValueError(
                f"highlight {h!r} does not fit in an array of shape {shape}"
            )
        rects.append((row, col, height, width))
    return rects


def _auto_colormap(values: np.ndarray, cmap, vmin, vmax):
    """Pick a colormap and limits: diverging around 0 for signed data, sequential otherwise."""
    finite = values[np.isfinite(values)]
    lo = float(finite.min()) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 1.0
    if cmap is None:
        if lo < 0 < hi:
            cmap = "RdBu_r"
            bound = max(abs(lo), abs(hi))
            lo, hi = -bound, bound
        else:
            cmap = "Blues"
    vmin = lo if vmin is None else vmin
    vmax = hi if vmax is None else vmax
    if vmin == vmax:  # a constant grid: widen the range so the colour is defined
        vmin, vmax = vmin - 1.0, vmax + 1.0
    return cmap, vmin, vmax


def _colormap(cmap) -> mcolors.Colormap:
    if isinstance(cmap, mcolors.Colormap):
        return cmap
    if isinstance(cmap, str) and cmap in matplotlib.colormaps:
        return matplotlib.colormaps[cmap]
    raise ValueError(f"cmap must be a matplotlib colormap or its name, got {cmap!r}")


def show_grid(
    ax: Axes,
    array,
    fmt: str = "{:g}",
    cmap=None,
    highlight=None,
    title: str | None = None,
    *,
    vmin: float | None = None,
    vmax: float | None = None,
    fontsize: float | None = None,
) -> Axes:
    """Draw a 2D array as a grid of coloured cells with each value written in its cell.

    Parameters
    ----------
    ax:
        The matplotlib ``Axes`` to draw on.
    array:
        A 2-D numpy array ``(rows, cols)``. ``NaN`` cells are left blank (white, no number):
        use them for the not-yet-computed part of an output.
    fmt:
        Format string applied to every number, e.g. ``"{:g}"`` or ``"{:.1f}"``.
    cmap:
        A matplotlib colormap (name or object). ``None`` picks a diverging map centred on 0
        when the array has both signs, a sequential one otherwise.
    highlight:
        ``None``, one rectangle ``(row, col)`` / ``(row, col, height, width)`` in cell units,
        or a list of them; each is outlined in red.
    title:
        Optional axes title.
    vmin, vmax, fontsize:
        Colour limits and the size of the numbers (default: scaled to the grid size).

    Returns
    -------
    The ``Axes``, with one text per finite cell (in row-major order) and one
    ``Rectangle`` patch per highlight.
    """
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    array = check_ndarray("array", array, ndim=2, shape_hint="(rows, cols)")
    fmt = check_format("fmt", fmt)
    values = array.astype(float)  # (rows, cols)
    rects = _check_highlight(highlight, values.shape)
    cmap, vmin, vmax = _auto_colormap(values, cmap, vmin, vmax)
    cmap_obj = _colormap(cmap).with_extremes(bad="white")  # NaN cells stay white
    norm = mcolors.Normalize(vmin=vmin, vmax=vmax)

    rows, cols = values.shape
    ax.imshow(np.ma.masked_invalid(values), cmap=cmap_obj, norm=norm, interpolation="nearest")
    if fontsize is None:
        fontsize = max(6.0, 13.0 - 0.6 * max(rows, cols))
    for r in range(rows):
        for c in range(cols):
            v = values[r, c]
            if not np.isfinite(v):
                continue
            # dark cells get white text, light cells black text
            red, green, blue, _ = cmap_obj(norm(v))
            luminance = 0.299 * red + 0.587 * green + 0.114 * blue
            ax.text(
                c, r, fmt.format(array[r, c]),
                ha="center", va="center", fontsize=fontsize,
                color="white" if luminance < 0.5 else "black",
            )
    for row, col, height, width in rects:
        ax.add_patch(
            Rectangle(
                (col - 0.5, row - 0.5), width, height,
                fill=False, edgecolor=HIGHLIGHT_COLOR, linewidth=3, zorder=3,
            )
        )
    # thin grid lines between cells
    ax.set_xticks(np.arange(-0.5, cols, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, rows, 1), minor=True)
    ax.grid(which="minor", color="0.6", linewidth=0.5)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlim(-0.5, cols - 0.5)
    ax.set_ylim(rows - 0.5, -0.5)
    if title is not None:
        ax.set_title(title)
    return ax


def draw_correlation_steps(
    image,
    kernel,
    positions: Sequence[tuple[int, int]],
    fmt: str = "{:g}",
    *,
    out_fmt: str | None = None,
    cell_size: float = 0.45,
) -> Figure:
    """Show a kernel sliding over an image, one row of panels per output position.

    Each row shows ``image`` with the kernel's window outlined, the ``kernel``, and the
    output as far as it is filled when the window reaches that position: outputs are filled
    in row-major (reading) order, the current cell outlined, later cells blank. The row
    title spells out the dot product of the window with the kernel.

    Parameters
    ----------
    image:
        2-D array ``(H, W)``.
    kernel:
        2-D array ``(h, w)``, no larger than ``image``.
    positions:
        Output positions ``(i, j)`` to show, each with ``0 <= i <= H - h`` and
        ``0 <= j <= W - w``.
    fmt, out_fmt:
        Number formats for the image/kernel cells and for the output cells (default ``fmt``).
    cell_size:
        Size of one cell in inches.

    Returns
    -------
    A :class:`NotebookFigure` with ``3 * len(positions)`` axes.
    """
    image = check_ndarray("image", image, ndim=2, shape_hint="(H, W)")
    kernel = check_ndarray("kernel", kernel, ndim=2, shape_hint="(h, w)")
    fmt = check_format("fmt", fmt)
    out_fmt = fmt if out_fmt is None else check_format("out_fmt", out_fmt)
    if kernel.shape[0] > image.shape[0] or kernel.shape[1] > image.shape[1]:
        raise ValueError(
            f"kernel of shape {kernel.shape} does not fit in image of shape {image.shape}"
        )
    # the course's conv2d, one channel in and out: (1, H, W) * (1, 1, h, w) -> (1, H', W')
    output = conv2d(image[np.newaxis], kernel[np.newaxis, np.newaxis])[0]  # (H - h + 1, W - w + 1)
    if not isinstance(positions, (list, tuple)) or len(positions) == 0:
        raise TypeError(f"positions must be a non-empty list of (i, j) pairs, got {positions!r}")
    checked = []
    for p in positions:
        if not isinstance(p, (tuple, list)) or len(p) != 2:
            raise TypeError(f"positions entries must be (i, j) pairs, got {p!r}")
        i = check_int("positions i", p[0], minimum=0)
        j = check_int("positions j", p[1], minimum=0)
        if i >= output.shape[0] or j >= output.shape[1]:
            raise ValueError(
                f"positions entry {tuple(p)} is outside the output of shape {output.shape}"
            )
        checked.append((i, j))

    h, w = kernel.shape
    H, W = image.shape
    oh, ow = output.shape
    # at most the page's width (7.5 in): wide inputs get smaller cells
    cell_size = min(cell_size, 6.0 / (W + w + ow))
    width = cell_size * (W + w + ow) + 1.5
    height = (cell_size * max(H, h, oh) + 0.9) * len(checked)
    fig = NotebookFigure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(len(checked), 3, squeeze=False, width_ratios=[W, w, ow])
    # one colour scale for the outputs, so the same number has the same colour in every row
    out_cmap, out_vmin, out_vmax = _auto_colormap(output, None, None, None)
    for row, (i, j) in enumerate(checked):
        ax_img, ax_ker, ax_out = axes[row]
        show_grid(ax_img, image, fmt, highlight=(i, j, h, w), title="input")
        show_grid(ax_ker, kernel, fmt, title="kernel")
        partial = np.full(output.shape, np.nan)
        done = i * ow + j + 1  # cells filled so far, in reading order
        partial.flat[:done] = output.flat[:done]
        show_grid(
            ax_out, partial, out_fmt, highlight=(i, j),
            cmap=out_cmap, vmin=out_vmin, vmax=out_vmax,
            title=f"output[{i}, {j}] = {out_fmt.format(output[i, j])}",
        )
    return fig
