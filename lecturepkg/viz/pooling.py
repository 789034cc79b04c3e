"""Figures for pooling and for invariance/equivariance.

Two drawings used in chapter 1 ("Pooling, equivariance and the backward pass"):

- :func:`draw_pooling` draws an input grid with its pooling windows coloured, and the pooled
  output grid next to it, each output cell in the colour of the window it summarises. Max and
  average pooling are as in ``torch.nn.functional.max_pool2d`` / ``avg_pool2d`` without
  padding (Goodfellow, Bengio & Courville, *Deep Learning*, 2016, section 9.3).
- :func:`draw_equivariance` draws ``x``, ``t(x)``, ``f(x)``, ``f(t(x))`` and the gap
  ``|f(t(x)) - t(f(x))|``: the gap is zero everywhere exactly when ``f`` is equivariant to
  ``t`` on this input.

The artists carry ``gid`` labels so that tests (and the book) can read back what is shown:
``"pool-window"`` for the window rectangles, ``"pool-argmax"`` for the circles marking each
window's maximum, ``"pool-input"`` and ``"pool-output"`` for the numbers written in the input
and output cells (output cells in row-major order).
"""

from __future__ import annotations

from typing import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Circle, FancyArrowPatch, Rectangle

from lecturepkg._checks import check_format, check_ndarray, check_tuple
from lecturepkg.conv.arithmetic import pool_output_size

__all__ = ["pool_windows", "draw_pooling", "draw_equivariance"]

_MODES = ("max", "avg")


def _check_ax(ax) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
        return ax
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    return ax


def pool_windows(input_size, kernel_size, stride=None) -> list[tuple[int, int, int, int]]:
    """The pooling windows of a 2-D grid, in row-major order of the output.

    Parameters
    ----------
    input_size : (H, W)
    kernel_size, stride : int or (int, int), like ``torch.nn.MaxPool2d``
        (``stride`` defaults to ``kernel_size``: non-overlapping windows; no padding).

    Returns
    -------
    list of ``(i, j, row0, col0)``: output cell ``(i, j)`` summarises the input block
    ``[row0 : row0 + kh, col0 : col0 + kw]``.
    """
    kh, kw = check_tuple("kernel_size", kernel_size, 2, minimum=1)
    sh, sw = check_tuple("stride", (kh, kw) if stride is None else stride, 2, minimum=1)
    ho, wo = pool_output_size(tuple(input_size), (kh, kw), (sh, sw))
    return [(i, j, i * sh, j * sw) for i in range(ho) for j in range(wo)]


def draw_pooling(
    x: np.ndarray,
    kernel_size=2,
    stride=None,
    mode: str = "max",
    ax: Axes | None = None,
    *,
    fmt: str = "{:.3g}",
    annotate_input: bool = True,
    cmap: str = "tab10",
) -> Axes:
    """Draw ``x`` with its pooling windows and, to its right, the pooled output.

    Parameters
    ----------
    x : numpy.ndarray of shape (H, W), or (L,) for 1-D pooling (drawn as one row)
    kernel_size, stride : int or pair of ints (an int only, for a 1-D ``x``), as in
        ``torch.nn.functional.max_pool2d``; ``stride=None`` means ``stride = kernel_size``.
    mode : ``"max"`` or ``"avg"``
    ax : matplotlib Axes to draw in (a new figure when None)
    fmt : how numbers are written in the cells
    annotate_input : write the input values in the input cells
    cmap : name of a qualitative colormap; window ``n`` gets colour ``n`` (cycled)

    Returns
    -------
    The Axes. In max mode, a circle marks the position of each window's maximum (when it is
    attained only once in the window).
    """
    x = check_ndarray("x", x, ndim=(1, 2), shape_hint="(H, W) or (L,)")
    if x.size == 0:
        raise ValueError(f"x must not be empty, got shape {x.shape}")
    if mode not in _MODES:
        raise ValueError(f"mode must be 'max' or 'avg', got {mode!r}")
    fmt = check_format("fmt", fmt)
    if not isinstance(annotate_input, bool):
        raise TypeError(f"annotate_input must be a bool, got {annotate_input!r}")
    if x.ndim == 1:  # 1-D pooling: a single row, windows of shape (1, k)
        (k,) = check_tuple("kernel_size", kernel_size, 1, minimum=1)
        (s,) = check_tuple("stride", k if stride is None else stride, 1, minimum=1)
        grid, k2, s2 = x[None, :], (1, k), (1, s)  # (1, L)
    else:
        grid = x  # (H, W)
        k2 = check_tuple("kernel_size", kernel_size, 2, minimum=1)
        s2 = check_tuple("stride", k2 if stride is None else stride, 2, minimum=1)
    ax = _check_ax(ax)
    colours = plt.get_cmap(cmap)

    h, w = grid.shape
    windows = pool_windows((h, w), k2, s2)
    ho, wo = pool_output_size((h, w), k2, s2)
    kh, kw = k2
    reduce = np.max if mode == "max" else np.mean
    overlap = s2[0] < kh or s2[1] < kw

    # Input grid: cell (r, c) is the unit square centred on (c, r) (y axis points down).
    for r in range(h):
        for c in range(w):
            ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fc="white", ec="0.6", lw=0.8))
            if annotate_input:
                ax.text(c, r, fmt.format(float(grid[r, c])), ha="center", va="center",
                        fontsize=9, gid="pool-input", zorder=4)

    # Output grid, to the right of the input and vertically centred on it.
    x0, y0 = w + 1.5, (h - ho) / 2
    for n, (i, j, r0, c0) in enumerate(windows):
        colour = colours(n % colours.N)
        block = grid[r0:r0 + kh, c0:c0 + kw]  # (kh, kw)
        inset = 0.06 + (0.1 * ((i + j) % 2) if overlap else 0.0)
        ax.add_patch(Rectangle((c0 - 0.5 + inset, r0 - 0.5 + inset), kw - 2 * inset,
                               kh - 2 * inset, fc=(*colour[:3], 0.22), ec=colour, lw=2.2,
                               gid="pool-window", zorder=2))
        if mode == "max" and np.count_nonzero(block == block.max()) == 1:  # a unique winner
            rr, cc = np.unravel_index(np.argmax(block), block.shape)
            ax.add_patch(Circle((c0 + cc, r0 + rr), 0.36, fc="none", ec=colour, lw=1.8,
                                gid="pool-argmax", zorder=3))
        ax.add_patch(Rectangle((x0 + j - 0.5, y0 + i - 0.5), 1, 1, fc=(*colour[:3], 0.35),
                               ec="0.3", lw=0.8))
        label = fmt.format(float(reduce(block)))
        ax.text(x0 + j, y0 + i, label, ha="center", va="center", fontsize=9 if len(label) < 4
                else 7, fontweight="bold", gid="pool-output", zorder=4)

    ax.add_patch(FancyArrowPatch((w - 0.3, (h - 1) / 2), (x0 - 0.7, (h - 1) / 2),
                                 arrowstyle="-|>", mutation_scale=14, color="0.3"))
    ax.text((w - 1) / 2, -0.9, f"input {h}×{w}" if x.ndim == 2 else f"input, length {w}",
            ha="center", va="bottom", fontsize=10)
    kdesc = f"{kh}×{kw}" if x.ndim == 2 else f"{kw}"
    sdesc = f"{s2[0]}×{s2[1]}" if x.ndim == 2 else f"{s2[1]}"
    ax.text(x0 + (wo - 1) / 2, min(-0.9, y0 - 0.9), f"{mode} pool\nk={kdesc}, s={sdesc}",
            ha="center", va="bottom", fontsize=10)
    ax.set_xlim(-0.7, x0 + wo - 0.3)
    ax.set_ylim(h - 0.3, min(-0.5, y0 - 0.5) - 1.2)  # inverted: row 0 on top
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def draw_equivariance(
    x: np.ndarray,
    f: Callable[[np.ndarray], np.ndarray],
    t: Callable[[np.ndarray], np.ndarray],
    axes: Sequence[Axes] | None = None,
    *,
    f_name: str = "f",
    t_name: str = "t",
    cmap: str = "gray",
    map_cmap: str = "RdBu_r",
) -> np.ndarray:
    """Draw ``x``, ``t(x)``, ``f(x)``, ``f(t(x))`` and ``|f(t(x)) - t(f(x))|`` in a row.

    ``f`` is equivariant to ``t`` on ``x`` exactly when the last panel is zero everywhere
    (its title prints the maximum).

    Parameters
    ----------
    x : numpy.ndarray of shape (H, W), an image
    f : callable mapping a 2-D array to a 2-D array (a feature map), e.g. a convolution
    t : callable mapping a 2-D array to a 2-D array of any size, e.g. a shift or a rotation;
        it is applied to the image and to the feature map
    axes : five matplotlib Axes to draw in (a new figure when None)
    f_name, t_name : names used in the panel titles

    Returns
    -------
    numpy.ndarray of the five Axes.
    """
    x = check_ndarray("x", x, ndim=2, shape_hint="(H, W)")
    if not callable(f):
        raise TypeError(f"f must be a callable mapping an image to a feature map, got {f!r}")
    if not callable(t):
        raise TypeError(f"t must be a callable mapping an array to an array, got {t!r}")
    if axes is None:
        # two rows, so that the panels stay legible at the page's width (7.5 in)
        _, grid = plt.subplots(2, 3, figsize=(7.5, 5.2))
        grid[-1, -1].axis("off")
        axes = grid.ravel()[:5]
    axes = np.asarray(axes, dtype=object).ravel()
    if axes.size != 5 or not all(isinstance(a, Axes) for a in axes):
        raise ValueError(f"axes must be five matplotlib Axes, got {axes.size} objects")

    tx = np.asarray(t(x))
    fx = np.asarray(f(x))
    ftx = np.asarray(f(tx))
    tfx = np.asarray(t(fx))
    for name, value in (("t(x)", tx), ("f(x)", fx), ("f(t(x))", ftx), ("t(f(x))", tfx)):
        if value.ndim != 2:
            raise ValueError(f"{name} must be a 2-D array, got shape {value.shape}")
    if ftx.shape != tfx.shape:
        raise ValueError(f"f(t(x)) has shape {ftx.shape} but t(f(x)) has shape {tfx.shape}: "
                         "f and t must commute in shape to compare them")
    gap = np.abs(ftx - tfx)

    lim = max(np.abs(fx).max(), np.abs(ftx).max(), 1e-12)
    panels = [
        (x, "x", dict(cmap=cmap)),
        (tx, f"{t_name}(x)", dict(cmap=cmap)),
        (fx, f"{f_name}(x)", dict(cmap=map_cmap, vmin=-lim, vmax=lim)),
        (ftx, f"{f_name}({t_name}(x))", dict(cmap=map_cmap, vmin=-lim, vmax=lim)),
        (gap, f"|{f_name}({t_name}(x)) − {t_name}({f_name}(x))|\nmax = {gap.max():.2g}",
         dict(cmap="magma", vmin=0, vmax=max(gap.max(), lim * 1e-3))),
    ]
    for a, (img, title, style) in zip(axes, panels):
        a.imshow(img, interpolation="nearest", **style)
        a.set_title(title, fontsize=10)
        a.set_xticks([])
        a.set_yticks([])
    return axes
