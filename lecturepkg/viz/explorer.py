"""An interactive explorer of convolution arithmetic (ipywidgets).

Sliders set the input size, kernel size, stride, padding and dilation of a square 2-D
convolution and the output position to inspect; the explorer redraws the
:func:`~lecturepkg.viz.conv_diagram.draw_conv2d` picture and prints the output size.

The drawing itself is the plain function :func:`explorer_figure` (headless, testable);
:func:`conv_explorer` only wires sliders to it, or, in the static book
(:func:`lecturepkg.output.static_output`), shows the figure of its initial setting without any
widget. Nothing here opens a window: figures are pyplot-free
:class:`~lecturepkg.viz.grids.NotebookFigure` objects.
"""

from __future__ import annotations

from functools import partial

from matplotlib.figure import Figure

from lecturepkg.conv.arithmetic import conv_output_size, effective_kernel_size
from lecturepkg.output import static_output
from lecturepkg.viz._explorer_base import (
    Frame,
    LiveExplorer,
    StaticExplorer,
    check_initial,
    check_setting,
)
from lecturepkg.viz.conv_diagram import draw_conv2d
from lecturepkg.viz.grids import NotebookFigure

__all__ = ["explorer_figure", "conv_explorer", "ConvExplorer", "SLIDER_RANGES"]

#: (min, max) of each slider. The largest setting (input 12 + padding 2 on each side) still
#: draws legibly; the smallest is the smallest torch accepts.
SLIDER_RANGES = {
    "input_size": (1, 12),
    "kernel_size": (1, 5),
    "stride": (1, 3),
    "padding": (0, 2),
    "dilation": (1, 3),
}


def _check_setting(input_size, kernel_size, stride, padding, dilation) -> dict[str, int]:
    return check_setting(SLIDER_RANGES, dict(input_size=input_size, kernel_size=kernel_size,
                                             stride=stride, padding=padding, dilation=dilation))


def explorer_figure(
    input_size: int = 5,
    kernel_size: int = 3,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    output_index: tuple[int, int] = (0, 0),
) -> Figure:
    """The explorer's picture for one setting of a square 2-D convolution.

    Returns a :class:`NotebookFigure` with one ``Axes`` drawn by :func:`draw_conv2d`, titled with the
    output size formula evaluated for this setting. Raises ``ValueError`` (naming
    ``kernel_size``) when the dilated kernel does not fit into the padded input.
    """
    v = _check_setting(input_size, kernel_size, stride, padding, dilation)
    out = conv_output_size(v["input_size"], v["kernel_size"], v["stride"], v["padding"],
                           v["dilation"])
    fig = NotebookFigure(figsize=(7, 4.2), layout="constrained")
    ax = fig.add_subplot()
    draw_conv2d(
        (v["input_size"],) * 2, v["kernel_size"], v["stride"], v["padding"], v["dilation"],
        output_index=output_index, ax=ax,
    )
    i, k, s, p, d = (v[n] for n in SLIDER_RANGES)
    fig.suptitle(
        f"output = ⌊({i} + 2·{p} − {d}·({k} − 1) − 1) / {s}⌋ + 1 = {out}", fontsize=11
    )
    return fig


def _frame(settings: dict) -> Frame:
    """The explorer's message, output count and drawing for one setting."""
    v = {name: settings[name] for name in SLIDER_RANGES}
    span = effective_kernel_size(v["kernel_size"], v["dilation"])
    padded = v["input_size"] + 2 * v["padding"]
    if span > padded:
        return Frame(
            f"The dilated kernel spans {span} cells but the padded input has only "
            f"{padded}: no valid output. Shrink the kernel or dilation, or pad more."
        )
    out = conv_output_size(**v)
    draw = partial(_draw, v)
    return Frame(f"output size: {out} × {out}", out, draw)


def _draw(v: dict, output_index: tuple[int, int]) -> Figure:
    return explorer_figure(**v, output_index=output_index)


class ConvExplorer(LiveExplorer):
    """Sliders plus a drawing area; build it with :func:`conv_explorer`.

    Attributes
    ----------
    sliders:
        ``dict`` name -> ``ipywidgets.IntSlider`` for ``input_size``, ``kernel_size``,
        ``stride``, ``padding``, ``dilation``, ``output_row``, ``output_col``.
    output:
        The ``ipywidgets.Output`` the figure is displayed in.
    figure:
        The last ``Figure`` drawn, or ``None`` when the setting is invalid.
    message:
        The last line printed under the sliders (the output size, or why it is invalid).
    """

    def __init__(self, **initial: int):
        super().__init__(SLIDER_RANGES, initial, _frame, description_width="90px")


def conv_explorer(
    input_size: int = 5,
    kernel_size: int = 3,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
) -> ConvExplorer | StaticExplorer:
    """Build the interactive convolution-arithmetic explorer (display it as a notebook cell's
    last expression). Initial values must lie within :data:`SLIDER_RANGES`.

    In the static book (:func:`lecturepkg.output.static_output`) it returns a
    :class:`StaticExplorer` instead: the figure of the initial setting, and no widgets.
    """
    v = check_initial(SLIDER_RANGES, dict(input_size=input_size, kernel_size=kernel_size,
                                          stride=stride, padding=padding, dilation=dilation))
    if static_output():
        return StaticExplorer(_frame(v))
    return ConvExplorer(**v)
