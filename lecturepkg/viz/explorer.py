"""An interactive explorer of convolution arithmetic (ipywidgets).

Sliders set the input size, kernel size, stride, padding and dilation of a square 2-D
convolution and the output position to inspect; the explorer redraws the
:func:`~lecturepkg.viz.conv_diagram.draw_conv2d` picture and prints the output size.

The drawing itself is the plain function :func:`explorer_figure` (headless, testable, and what
a static page shows); :func:`conv_explorer` only wires sliders to it. Nothing here opens a
window: figures are pyplot-free :class:`~lecturepkg.viz.grids.NotebookFigure` objects shown
with IPython's ``display`` inside an ``ipywidgets.Output``.
"""

from __future__ import annotations

import ipywidgets as widgets
from IPython.display import display
from matplotlib.figure import Figure

from lecturepkg._checks import check_int
from lecturepkg.conv.arithmetic import conv_output_size, effective_kernel_size
from lecturepkg.viz.conv_diagram import draw_conv2d
from lecturepkg.viz.grids import NotebookFigure

__all__ = ["explorer_figure", "conv_explorer", "ConvExplorer", "SLIDER_RANGES"]

# (min, max) of each slider. The largest setting (input 12 + padding 2 on each side) still
# draws legibly; the smallest is the smallest torch accepts.
SLIDER_RANGES = {
    "input_size": (1, 12),
    "kernel_size": (1, 5),
    "stride": (1, 3),
    "padding": (0, 2),
    "dilation": (1, 3),
}


def _check_setting(input_size, kernel_size, stride, padding, dilation) -> dict[str, int]:
    values = {
        "input_size": input_size,
        "kernel_size": kernel_size,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
    }
    for name, value in values.items():
        lo, _ = SLIDER_RANGES[name]
        values[name] = check_int(name, value, minimum=lo)
    return values


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


class ConvExplorer(widgets.VBox):
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
        self.sliders = {
            name: widgets.IntSlider(
                value=initial[name], min=lo, max=hi, description=name.replace("_", " "),
                continuous_update=False, style={"description_width": "90px"},
            )
            for name, (lo, hi) in SLIDER_RANGES.items()
        }
        for name in ("output_row", "output_col"):
            self.sliders[name] = widgets.IntSlider(
                value=0, min=0, max=0, description=name.replace("_", " "),
                continuous_update=False, style={"description_width": "90px"},
            )
        self.output = widgets.Output()
        self.figure: Figure | None = None
        self._busy = False
        self.message = ""
        controls = widgets.HBox([
            widgets.VBox([self.sliders[n] for n in SLIDER_RANGES]),
            widgets.VBox([self.sliders["output_row"], self.sliders["output_col"]]),
        ])
        super().__init__([controls, self.output])
        for slider in self.sliders.values():
            slider.observe(self.redraw, names="value")
        self.redraw()

    def redraw(self, change=None) -> None:
        """Recompute the output size, update the output-position sliders, redraw."""
        if self._busy:  # a slider we adjust below fired its observer: one drawing is enough
            return
        self._busy = True
        try:
            self._redraw()
        finally:
            self._busy = False

    def _redraw(self) -> None:
        v = {name: self.sliders[name].value for name in SLIDER_RANGES}
        span = effective_kernel_size(v["kernel_size"], v["dilation"])
        padded = v["input_size"] + 2 * v["padding"]
        if span > padded:
            self.figure = None
            self.message = (
                f"The dilated kernel spans {span} cells but the padded input has only "
                f"{padded}: no valid output. Shrink the kernel or dilation, or pad more."
            )
        else:
            out = conv_output_size(**v)
            for name in ("output_row", "output_col"):
                self.sliders[name].max = out - 1  # ipywidgets clamps the value to the new max
            index = (self.sliders["output_row"].value, self.sliders["output_col"].value)
            self.figure = explorer_figure(**v, output_index=index)
            self.message = f"output size: {out} × {out}"
        with self.output:
            self.output.clear_output(wait=True)
            print(self.message)
            if self.figure is not None:
                display(self.figure)


def conv_explorer(
    input_size: int = 5,
    kernel_size: int = 3,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
) -> ConvExplorer:
    """Build the interactive convolution-arithmetic explorer (display it as a notebook cell's
    last expression). Initial values must lie within :data:`SLIDER_RANGES`."""
    v = _check_setting(input_size, kernel_size, stride, padding, dilation)
    for name, value in v.items():
        lo, hi = SLIDER_RANGES[name]
        if value > hi:
            raise ValueError(f"{name} must be between {lo} and {hi}, got {value}")
    return ConvExplorer(**v)
