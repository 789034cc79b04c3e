"""Figures for the course: annotated number grids, conv-arithmetic diagrams, explorers.

- :mod:`~lecturepkg.viz.grids`: :func:`show_grid` (a 2-D array as coloured cells with their
  values) and :func:`draw_correlation_steps` (a kernel sliding over an image).
- :mod:`~lecturepkg.viz.conv_diagram`: :func:`draw_conv2d`, padding/stride/dilation pictures
  in the style of Dumoulin & Visin (2016).
- :mod:`~lecturepkg.viz.explorer`: :func:`conv_explorer`, an ipywidgets explorer around
  :func:`draw_conv2d`, and :func:`explorer_figure`, its picture for one setting. In the static
  book (:func:`lecturepkg.output.static_output`) the explorers show the figure of their
  initial setting and create no widget; they work with ipywidgets 7.6+ and 8.
- :mod:`~lecturepkg.viz.pooling`: pooling windows and equivariance pictures.
- :mod:`~lecturepkg.viz.training`: learning curves and misclassified examples.
- :mod:`~lecturepkg.viz.receptive_field`: stacks of dilated/causal 1D layers (WaveNet style).
- :mod:`~lecturepkg.viz.transposed_diagram`, :mod:`~lecturepkg.viz.explorer_transposed`:
  transposed convolutions, overlap-add and checkerboards (the numbers they draw come from
  :mod:`lecturepkg.conv.transposed` and :mod:`lecturepkg.conv.checkerboard`).

Every function draws on ``matplotlib.figure.Figure``/``Axes`` objects and never opens a window.
"""

from lecturepkg.viz.conv_diagram import draw_conv2d, kernel_taps
from lecturepkg.viz.explorer import conv_explorer, explorer_figure
from lecturepkg.viz.grids import draw_correlation_steps, show_grid
from lecturepkg.viz.pooling import draw_equivariance, draw_pooling, pool_windows
from lecturepkg.viz.receptive_field import draw_dilated_stack, stack_graph
from lecturepkg.viz.training import plot_history, plot_misclassified
from lecturepkg.viz.transposed_diagram import draw_conv_transpose2d, draw_overlap_add, draw_overlap_add1d
from lecturepkg.viz.explorer_transposed import transposed_explorer, transposed_explorer_figure

__all__ = [
    "show_grid",
    "draw_correlation_steps",
    "draw_conv2d",
    "kernel_taps",
    "conv_explorer",
    "explorer_figure",
    "draw_pooling", "draw_equivariance", "pool_windows",
    "plot_history", "plot_misclassified",
    "draw_dilated_stack", "stack_graph",
    "draw_conv_transpose2d", "draw_overlap_add", "draw_overlap_add1d",
    "transposed_explorer", "transposed_explorer_figure",
]
