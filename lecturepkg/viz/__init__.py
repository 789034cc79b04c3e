"""Figures for the course: annotated number grids, conv-arithmetic diagrams, explorers.

- :mod:`~lecturepkg.viz.grids`: :func:`show_grid` (a 2-D array as coloured cells with their
  values) and :func:`draw_correlation_steps` (a kernel sliding over an image).
- :mod:`~lecturepkg.viz.conv_diagram`: :func:`draw_conv2d`, padding/stride/dilation pictures
  in the style of Dumoulin & Visin (2016).
- :mod:`~lecturepkg.viz.explorer`: :func:`conv_explorer`, an ipywidgets explorer around
  :func:`draw_conv2d`, and :func:`explorer_figure`, its static picture.

Every function draws on ``matplotlib.figure.Figure``/``Axes`` objects and never opens a window.
"""

from lecturepkg.viz.conv_diagram import draw_conv2d, kernel_taps
from lecturepkg.viz.explorer import conv_explorer, explorer_figure
from lecturepkg.viz.grids import draw_correlation_steps, show_grid

__all__ = [
    "show_grid",
    "draw_correlation_steps",
    "draw_conv2d",
    "kernel_taps",
    "conv_explorer",
    "explorer_figure",
]
