"""The widget plumbing shared by the explorers of :mod:`lecturepkg.viz` (private module).

An explorer is a set of integer settings, each with a slider of a fixed range, plus two
sliders for the output position to inspect. For one setting, the explorer module supplies a
:class:`Frame`: the line of text to show, how many output positions there are per side, and a
function that draws the figure for one of them. This module turns that into

- :class:`LiveExplorer`: live ``ipywidgets`` (a notebook, Colab), redrawn on every change;
- :class:`StaticExplorer`: the figure of the initial setting and no widget at all, for the
  static book (:func:`lecturepkg.output.static_output`), so that no widget state is stored in
  the page.

It uses only the ipywidgets API common to versions 7.6+ and 8 (``IntSlider``,
``ToggleButtons``, ``HBox``/``VBox``, ``Output``, ``observe``, ``style`` with
``description_width``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Callable

import ipywidgets as widgets
from IPython.display import display
from matplotlib.figure import Figure

from lecturepkg._checks import check_int

#: The sliders of the output position, after those of the settings.
OUTPUT_SLIDERS = ("output_row", "output_col")


@dataclass(frozen=True)
class Frame:
    """What an explorer shows for one setting.

    ``message`` is the line printed above the figure (the sizes, or why the setting is
    invalid); ``outputs`` the number of output positions per side; ``draw(output_index)``
    returns the figure, and is ``None`` when the setting is invalid.
    """

    message: str
    outputs: int = 0
    draw: Callable[[tuple[int, int]], Figure] | None = None


def check_setting(ranges: dict[str, tuple[int, int]], values: dict) -> dict[str, int]:
    """Each value an ``int`` at least its slider's minimum; the error names the argument."""
    return {name: check_int(name, values[name], minimum=ranges[name][0]) for name in ranges}


def check_initial(ranges: dict[str, tuple[int, int]], values: dict) -> dict[str, int]:
    """:func:`check_setting`, and each value within its slider's range."""
    values = check_setting(ranges, values)
    for name, value in values.items():
        lo, hi = ranges[name]
        if value > hi:
            raise ValueError(f"{name} must be between {lo} and {hi}, got {value}")
    return values


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


class StaticExplorer:
    """An explorer's picture for its initial setting, without widgets (the static book).

    Displayed as a notebook cell's last expression (or with ``display``), it shows the figure
    as a PNG, or only the message when the setting is invalid.

    Attributes
    ----------
    figure:
        The ``Figure`` for output position (0, 0), or ``None`` when the setting is invalid.
    message:
        The line the live explorer would print (the sizes, or why the setting is invalid).
    """

    def __init__(self, frame: Frame):
        self.message = frame.message
        self.figure = frame.draw((0, 0)) if frame.draw is not None else None

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        bundle = {"text/plain": self.message}
        if self.figure is not None:
            bundle["image/png"] = _png(self.figure)
        return bundle

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


def _slider(name: str, lo: int, hi: int, value: int, style: dict) -> widgets.IntSlider:
    return widgets.IntSlider(value=value, min=lo, max=hi, description=name.replace("_", " "),
                             continuous_update=False, style=style)


class LiveExplorer(widgets.VBox):
    """Sliders, optional extra controls and a drawing area, redrawn on every change.

    Subclasses pass the slider ``ranges``, the ``initial`` values, a ``frame`` function from
    the current settings (slider values plus the values of ``extra`` controls, by name) to a
    :class:`Frame`, and ``extra`` controls shown above the output-position sliders.

    Attributes
    ----------
    sliders:
        ``dict`` name -> ``ipywidgets.IntSlider``: one per setting, then ``output_row`` and
        ``output_col``.
    output:
        The ``ipywidgets.Output`` the figure is displayed in.
    figure:
        The last ``Figure`` drawn, or ``None`` when the setting is invalid.
    message:
        The last line printed above the figure (the sizes, or why the setting is invalid).
    """

    def __init__(
        self,
        ranges: dict[str, tuple[int, int]],
        initial: dict[str, int],
        frame: Callable[[dict], Frame],
        extra: dict[str, widgets.Widget] | None = None,
        description_width: str = "90px",
    ):
        style = {"description_width": description_width}
        self._explorer_ranges = dict(ranges)
        self._explorer_frame = frame
        self._explorer_extra = dict(extra or {})
        self.sliders = {name: _slider(name, lo, hi, initial[name], style)
                        for name, (lo, hi) in ranges.items()}
        for name in OUTPUT_SLIDERS:
            self.sliders[name] = _slider(name, 0, 0, 0, style)
        self.output = widgets.Output()
        self.figure: Figure | None = None
        self.message = ""
        self._busy = False
        controls = widgets.HBox([
            widgets.VBox([self.sliders[name] for name in ranges]),
            widgets.VBox([*self._explorer_extra.values(),
                          *(self.sliders[name] for name in OUTPUT_SLIDERS)]),
        ])
        super().__init__([controls, self.output])
        for widget in (*self.sliders.values(), *self._explorer_extra.values()):
            widget.observe(self.redraw, names="value")
        self.redraw()

    def settings(self) -> dict:
        """The current settings: slider values, then the values of the extra controls."""
        values = {name: self.sliders[name].value for name in self._explorer_ranges}
        values.update({name: widget.value for name, widget in self._explorer_extra.items()})
        return values

    def redraw(self, change=None) -> None:
        """Recompute the frame, update the output-position sliders, redraw."""
        if self._busy:  # a slider adjusted below fired its observer: one drawing is enough
            return
        self._busy = True
        try:
            self._redraw()
        finally:
            self._busy = False

    def _redraw(self) -> None:
        frame = self._explorer_frame(self.settings())
        self.message = frame.message
        if frame.draw is None:
            self.figure = None
        else:
            for name in OUTPUT_SLIDERS:
                self.sliders[name].max = frame.outputs - 1  # ipywidgets clamps the value
            index = tuple(self.sliders[name].value for name in OUTPUT_SLIDERS)
            self.figure = frame.draw(index)
        with self.output:
            self.output.clear_output(wait=True)
            print(self.message)
            if self.figure is not None:
                display(self.figure)
