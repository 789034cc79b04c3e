"""An interactive explorer of transposed (and dilated) convolution arithmetic (ipywidgets).

Sliders set the input size, kernel size, stride, padding, output padding and dilation of a
square 2-D transposed convolution, and the output position to inspect; a toggle switches
between two pictures:

- ``"transposed"``: the transposed convolution, drawn twice: as the equivalent direct
  convolution over the zero-stuffed, framed input
  (:func:`~lecturepkg.viz.transposed_diagram.draw_conv_transpose2d`), and as overlap-add with
  the overlap count of every output cell
  (:func:`~lecturepkg.viz.transposed_diagram.draw_overlap_add`), where checkerboards show up;
- ``"direct"``: the ordinary convolution with the same kernel, stride, padding and dilation
  applied to the transposed convolution's output
  (:func:`~lecturepkg.viz.conv_diagram.draw_conv2d`): it maps that size back to the input size,
  which is the sense in which the two layers are each other's transpose.

As in :mod:`lecturepkg.viz.explorer`, the drawing is the plain function
:func:`transposed_explorer_figure` (headless, testable) and :func:`transposed_explorer` only
wires widgets to it, or, in the static book (:func:`lecturepkg.output.static_output`), shows
the figure of its initial setting without any widget.
"""

from __future__ import annotations

from functools import partial

import ipywidgets as widgets
from matplotlib.figure import Figure

from lecturepkg.conv.arithmetic import conv_output_size, conv_transpose_output_size
from lecturepkg.conv.transposed import transposed_geometry
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
from lecturepkg.viz.transposed_diagram import draw_conv_transpose2d, draw_overlap_add

__all__ = [
    "transposed_explorer_figure",
    "transposed_explorer",
    "TransposedExplorer",
    "TRANSPOSED_SLIDER_RANGES",
    "VIEWS",
]

#: (min, max) of each slider; the largest setting still draws legibly.
TRANSPOSED_SLIDER_RANGES = {
    "input_size": (1, 5),
    "kernel_size": (1, 4),
    "stride": (1, 3),
    "padding": (0, 2),
    "output_padding": (0, 2),
    "dilation": (1, 2),
}
#: The two pictures ``view`` chooses between: ``"transposed"`` (the transposed convolution as
#: a direct convolution and as overlap-add) and ``"direct"`` (the convolution it transposes).
VIEWS = ("transposed", "direct")


def _check_setting(input_size, kernel_size, stride, padding, output_padding, dilation):
    return check_setting(TRANSPOSED_SLIDER_RANGES, dict(
        input_size=input_size, kernel_size=kernel_size, stride=stride, padding=padding,
        output_padding=output_padding, dilation=dilation))


def _check_view(view) -> str:
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
    return view


def transposed_explorer_figure(
    input_size: int = 3,
    kernel_size: int = 3,
    stride: int = 2,
    padding: int = 1,
    output_padding: int = 0,
    dilation: int = 1,
    output_index: tuple[int, int] = (0, 0),
    view: str = "transposed",
) -> Figure:
    """The explorer's picture for one setting of a square 2-D transposed convolution.

    ``view="transposed"`` returns a :class:`NotebookFigure` with two ``Axes``: the equivalent
    direct convolution (kernel taps of ``output_index`` shaded) and the overlap-add picture.
    ``view="direct"`` returns one ``Axes``: the ordinary convolution with the same settings on
    an input of the transposed convolution's output size, with ``output_index`` read as an
    index into *its* output (the transposed convolution's input). The suptitle evaluates the
    size formula. Raises ``ValueError`` naming the argument for settings torch rejects.
    """
    v = _check_setting(input_size, kernel_size, stride, padding, output_padding, dilation)
    view = _check_view(view)
    i, k, s, p, op, d = v.values()
    out = conv_transpose_output_size(i, k, s, p, op, d)
    if view == "transposed":
        g = transposed_geometry(i, k, s, p, op, d)
        width = g.drawn + 2 + out
        fig = NotebookFigure(figsize=(min(7.5, max(6.0, 0.3 * width + 1.5)), 8.4), layout="constrained")
        top, bottom = fig.subplots(2, 1)
        draw_conv_transpose2d(i, k, s, p, op, d, output_index=output_index, ax=top)
        draw_overlap_add(i, k, s, p, op, d, ax=bottom)
        fig.suptitle(f"output = ({i} − 1)·{s} − 2·{p} + {d}·({k} − 1) + {op} + 1 = {out}",
                     fontsize=11)
        return fig
    back = conv_output_size(out, k, s, p, d)
    fig = NotebookFigure(figsize=(min(7.5, max(6.0, 0.3 * (out + 2 * p + 2 + back) + 1.5)), 4.6),
                         layout="constrained")
    ax = fig.add_subplot()
    draw_conv2d((out, out), k, s, p, d, output_index=output_index, ax=ax)
    fig.suptitle(f"direct: ⌊({out} + 2·{p} − {d}·({k} − 1) − 1) / {s}⌋ + 1 = {back}"
                 f"   (transposed: {i} → {out})", fontsize=11)
    return fig


def _frame(settings: dict) -> Frame:
    """The explorer's message, output count and drawing for one setting and view."""
    v = {name: settings[name] for name in TRANSPOSED_SLIDER_RANGES}
    view = settings["view"]
    try:
        out = conv_transpose_output_size(*v.values())
    except ValueError as err:
        return Frame(f"No valid transposed convolution: {err}")
    if view == "transposed":
        n_out, sizes = out, f"transposed: {v['input_size']} → {out}"
    else:
        n_out = conv_output_size(out, v["kernel_size"], v["stride"], v["padding"],
                                 v["dilation"])
        sizes = f"direct: {out} → {n_out}"
    return Frame(f"{sizes} (per side)", n_out, partial(_draw, v, view))


def _draw(v: dict, view: str, output_index: tuple[int, int]) -> Figure:
    return transposed_explorer_figure(**v, output_index=output_index, view=view)


class TransposedExplorer(LiveExplorer):
    """Sliders, a view toggle and a drawing area; build it with :func:`transposed_explorer`.

    Attributes
    ----------
    sliders:
        ``dict`` name -> ``ipywidgets.IntSlider`` for the settings in
        :data:`TRANSPOSED_SLIDER_RANGES` plus ``output_row`` and ``output_col``.
    view:
        ``ipywidgets.ToggleButtons`` with options :data:`VIEWS`.
    output:
        The ``ipywidgets.Output`` the figure is displayed in.
    figure:
        The last ``Figure`` drawn, or ``None`` when the setting is invalid.
    message:
        The last line printed under the widgets (the sizes, or why the setting is invalid).
    """

    def __init__(self, view: str = "transposed", **initial: int):
        width = "110px"
        self.view = widgets.ToggleButtons(options=list(VIEWS), value=view, description="view",
                                          style={"description_width": width})
        super().__init__(TRANSPOSED_SLIDER_RANGES, initial, _frame, extra={"view": self.view},
                         description_width=width)


def transposed_explorer(
    input_size: int = 3,
    kernel_size: int = 3,
    stride: int = 2,
    padding: int = 1,
    output_padding: int = 0,
    dilation: int = 1,
    view: str = "transposed",
) -> TransposedExplorer | StaticExplorer:
    """Build the interactive transposed-convolution explorer (display it as a notebook cell's
    last expression). Initial values must lie within :data:`TRANSPOSED_SLIDER_RANGES`.

    In the static book (:func:`lecturepkg.output.static_output`) it returns a
    :class:`StaticExplorer` instead: the figure of the initial setting and view, and no
    widgets.
    """
    v = check_initial(TRANSPOSED_SLIDER_RANGES, dict(
        input_size=input_size, kernel_size=kernel_size, stride=stride, padding=padding,
        output_padding=output_padding, dilation=dilation))
    view = _check_view(view)
    if static_output():
        return StaticExplorer(_frame({**v, "view": view}))
    return TransposedExplorer(view=view, **v)
