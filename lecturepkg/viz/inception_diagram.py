"""Diagrams of an inception module, drawn from the module itself.

An inception module (Szegedy et al. 2015, Fig. 2) runs four branches on the same input and
concatenates their outputs along the depth. :func:`draw_inception` draws such a module the
way the paper's figure does, input at the bottom, the branches side by side, the
concatenation at the top, with every box labelled from the module's own layers
(:func:`inception_branches`): kernel size and number of filters of each convolution, and the
pooling window. Naive modules (:class:`~lecturepkg.blocks.NaiveInception`) and modules with
1x1 reductions (:class:`~lecturepkg.blocks.Inception`) are both drawn.

The functions only draw: the depths written at the input and the output are the module's
``in_channels`` and ``out_channels``. Boxes carry the ``gid`` ``"layer"`` so that tests can
count them; the diagram draws on a matplotlib ``Axes`` and never opens a window.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.patches import FancyBboxPatch
from torch import nn

from lecturepkg.blocks import Inception, NaiveInception

__all__ = ["inception_branches", "draw_inception"]

TIMES = "\u00d7"  # the "×" in "3×3 conv"
_COLOURS = {1: "#fde9a9", 3: "#f9b58b", 5: "#e88b8b", "pool": "#a9c8ec", "io": "#e0e0e0"}


def _check_module(module) -> nn.Module:
    if not isinstance(module, (NaiveInception, Inception)):
        raise TypeError(
            "module must be a lecturepkg.blocks.NaiveInception or Inception, got "
            f"{type(module).__name__}"
        )
    return module


def _size(value) -> int:
    return value[0] if isinstance(value, tuple) else value


def _label(layer: nn.Module) -> tuple[str, object] | None:
    """The box label and colour key of one leaf layer; None for layers not drawn."""
    if isinstance(layer, nn.Conv2d):
        k = _size(layer.kernel_size)
        return f"{k}{TIMES}{k} conv, {layer.out_channels}", k
    if isinstance(layer, nn.MaxPool2d):
        k = _size(layer.kernel_size)
        return f"{k}{TIMES}{k} max pool", "pool"
    return None  # ReLU, batch norm: part of the box before them


def _branch_layers(module) -> list[list[tuple[str, object]]]:
    branches = [module.branch1, module.branch2, module.branch3, module.branch4]
    drawn = []
    for branch in branches:
        leaves = [m for m in branch.modules() if not list(m.children())]
        drawn.append([lab for lab in map(_label, leaves) if lab is not None])
    return drawn


def inception_branches(module) -> list[list[str]]:
    """The labels of the layers of each branch, input side first, branch 1 to branch 4.

    Convolutions read ``"k×k conv, C_out"`` and max poolings ``"k×k max pool"``;
    activations and batch norms are not listed.

    >>> from lecturepkg.blocks import NaiveInception
    >>> inception_branches(NaiveInception(192, 64, 128, 32))
    [['1×1 conv, 64'], ['3×3 conv, 128'], ['5×5 conv, 32'], ['3×3 max pool']]
    """
    _check_module(module)
    return [[label for label, _ in branch] for branch in _branch_layers(module)]


def _box(ax: Axes, x: float, y: float, text: str, colour: str, width: float) -> None:
    ax.add_patch(FancyBboxPatch((x - width / 2, y - 0.22), width, 0.44,
                                boxstyle="round,pad=0.02,rounding_size=0.08",
                                facecolor=colour, edgecolor="0.3", linewidth=0.8,
                                gid="layer"))
    ax.text(x, y, text, ha="center", va="center", fontsize=8)


def _arrow(ax: Axes, x0: float, y0: float, x1: float, y1: float) -> None:
    ax.annotate("", xy=(x1, y1 - 0.23), xytext=(x0, y0 + 0.23),
                arrowprops=dict(arrowstyle="-|>", color="0.35", linewidth=0.8,
                                shrinkA=0, shrinkB=0))


def draw_inception(module, ax: Axes | None = None, *, title: str | None = None) -> Axes:
    """Draw ``module``'s branches between its input and its depth concatenation.

    Parameters
    ----------
    module : NaiveInception or Inception
        The module to draw; every label comes from its layers.
    ax : matplotlib Axes, optional
        Where to draw (a new figure 3.7 inches wide if omitted).
    title : str, optional
        Title of the axes.

    Returns
    -------
    matplotlib.axes.Axes
        The axes, with one box (``gid="layer"``) per drawn layer, plus the input and the
        output box.
    """
    _check_module(module)
    if ax is None:
        _, ax = plt.subplots(figsize=(3.7, 2.6), layout="constrained")
    elif not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a str or None, got {type(title).__name__}")

    branches = _branch_layers(module)
    top = max(len(b) for b in branches) + 1  # row of the concatenation
    width, centre = 0.95, (len(branches) - 1) / 2
    _box(ax, centre, 0, f"input: {module.in_channels} channels", _COLOURS["io"], 2.4)
    _box(ax, centre, top, f"concatenate: {module.out_channels} channels",
         _COLOURS["io"], 2.4)
    for x, branch in enumerate(branches):
        y_prev, x_prev = 0, centre + (x - centre) * 0.3  # arrows leave the input box
        for y, (label, key) in enumerate(branch, start=1):
            _box(ax, x, y, label.replace(", ", ",\n"), _COLOURS[key], width)
            _arrow(ax, x_prev, y_prev, x, y)
            y_prev, x_prev = y, x
        _arrow(ax, x_prev, y_prev, centre + (x - centre) * 0.3, top)
    ax.set_xlim(-0.55, len(branches) - 0.45)
    ax.set_ylim(-0.35, top + 0.35)
    ax.axis("off")
    if title is not None:
        ax.set_title(title, fontsize=9)
    return ax
