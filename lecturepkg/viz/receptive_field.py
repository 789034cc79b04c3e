"""Pictures of 1-D stacks of (causal, dilated, strided) convolutions, as in the WaveNet paper.

The figure that made dilated causal convolutions famous (van den Oord et al. 2016, figure 3)
draws a sequence as a row of units, one row per layer, input at the bottom, and an arrow from
every unit to each unit of the next layer that reads it. Following the arrows down from one
output unit shows which inputs it can see: its receptive field.

- :func:`stack_graph` works out that picture as numbers: the size of every row, where its
  units sit, its zero padding, and which units and connections feed one chosen output unit.
  It only follows the index arithmetic of the convolution (output ``j`` of a layer reads
  padded positions ``j * stride + a * dilation``, ``a = 0 .. kernel_size - 1``); the tests
  check it against autograd.
- :func:`draw_dilated_stack` draws it. The highlighted units of the input row are the
  inputs the output unit depends on; for a dense stack (kernel 2 and dilations 1, 2, 4, ...)
  there are exactly as many as the receptive field computed by
  :func:`lecturepkg.conv.receptive_fields.receptive_field`, which the title reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from matplotlib.axes import Axes
from matplotlib.patches import Circle

from lecturepkg._checks import check_int
from lecturepkg.conv.receptive_fields import receptive_field
from lecturepkg.viz.grids import NotebookFigure

__all__ = ["StackGraph", "stack_graph", "draw_dilated_stack"]

UNIT_COLOR = "white"  # units that do not feed the chosen output
EDGE_COLOR = "0.82"  # connections that do not feed it
ACTIVE_INPUT_COLOR = "#2171b5"  # inputs the output depends on
ACTIVE_HIDDEN_COLOR = "#9ecae1"  # hidden units on a path to the output
ACTIVE_OUTPUT_COLOR = "#e6550d"  # the chosen output unit
ACTIVE_EDGE_COLOR = "#08306b"
PADDING_COLOR = "0.6"  # outline of zero-padding units (dashed)


@dataclass(frozen=True)
class StackGraph:
    """The connectivity of a 1-D stack of convolutions, and what feeds one output unit.

    Row ``0`` is the input, row ``l`` the output of layer ``l`` (``l = 1 .. L``).

    Attributes
    ----------
    sizes:
        Number of units in each row, ``L + 1`` entries.
    paddings:
        ``(left, right)`` zeros added to row ``l - 1`` by layer ``l``, ``L`` entries.
    positions:
        ``(offset, spacing)`` per row: unit ``i`` of row ``r`` is drawn at
        ``x = offset + i * spacing`` (the spacing of a row is the product of the strides
        below it, the *jump* of Araujo et al. 2019). A padding unit ``i < 0`` or
        ``i >= sizes[r]`` follows the same rule.
    edges:
        Per layer ``l``, the list of connections ``(i, j)``: unit ``i`` of row ``l - 1``
        (negative or ``>= sizes[l-1]``: a padding zero) feeds unit ``j`` of row ``l``.
    active:
        Per row, the sorted indices of the units the output unit depends on.
    active_edges:
        Per layer, the connections on a path from the input to the output unit.
    output_index:
        The chosen unit of the last row (non-negative).
    """

    sizes: tuple[int, ...]
    paddings: tuple[tuple[int, int], ...]
    positions: tuple[tuple[float, float], ...]
    edges: tuple[tuple[tuple[int, int], ...], ...]
    active: tuple[tuple[int, ...], ...]
    active_edges: tuple[tuple[tuple[int, int], ...], ...]
    output_index: int

    def x(self, row: int, index: int) -> float:
        """Horizontal position of unit ``index`` of ``row`` (padding units included)."""
        offset, spacing = self.positions[row]
        return offset + index * spacing


def _as_list(name: str, value, n: int | None) -> list[int]:
    """An int (repeated ``n`` times) or a non-empty sequence of positive ints."""
    if isinstance(value, (list, tuple)):
        if len(value) == 0 or (n is not None and len(value) != n):
            want = f"{n} ints" if n is not None else "at least one int"
            raise ValueError(f"{name} must be an int or a sequence of {want}, got {value!r}")
        return [check_int(f"{name}[{i}]", v, minimum=1) for i, v in enumerate(value)]
    if n is None:
        raise TypeError(f"{name} must be a non-empty sequence of ints, got {value!r}")
    return [check_int(name, value, minimum=1)] * n


def stack_graph(
    num_inputs: int,
    kernel_size: int,
    dilations: Sequence[int],
    causal: bool = True,
    *,
    strides: int | Sequence[int] = 1,
    padding: bool = True,
    output_index: int = -1,
) -> StackGraph:
    """Connectivity of a stack of 1-D convolutions, one per entry of ``dilations``.

    Parameters
    ----------
    num_inputs:
        Length of the input sequence.
    kernel_size:
        Kernel size of every layer.
    dilations:
        One dilation per layer, e.g. ``[1, 2, 4, 8]``.
    causal:
        ``True``: each unit is drawn above the last (most recent) input it reads, and
        padding (if any) goes on the left, ``(k - 1) d`` zeros, so no unit reads the
        future. ``False``: units sit above the centre of their window and padding is split,
        the left getting ``(k - 1) d // 2`` zeros like torch's ``padding="same"``.
    strides:
        Stride of every layer (an int) or one per layer.
    padding:
        ``True``: pad as described above (with stride 1 every row keeps the input's
        length); ``False``: no padding ("valid"), so every layer shortens its input.
    output_index:
        The unit of the last row whose inputs are traced (negative counts from the end).
    """
    n = check_int("num_inputs", num_inputs, minimum=1)
    k = check_int("kernel_size", kernel_size, minimum=1)
    dils = _as_list("dilations", dilations, None)
    strs = _as_list("strides", strides, len(dils))
    if not isinstance(causal, bool):
        raise TypeError(f"causal must be a bool, got {causal!r}")
    if not isinstance(padding, bool):
        raise TypeError(f"padding must be a bool, got {padding!r}")
    sizes, paddings, positions, edges = [n], [], [(0.0, 1.0)], []
    for layer, (d, s) in enumerate(zip(dils, strs), start=1):
        total = (k - 1) * d if padding else 0
        left = total if causal else total // 2
        pad = (left, total - left)
        span = (k - 1) * d + 1
        padded = sizes[-1] + sum(pad)
        if span > padded:
            raise ValueError(
                f"dilations[{layer - 1}]: layer {layer} spans {span} inputs but its input has "
                f"only {padded} (num_inputs={n} is too small for this stack)"
            )
        size = (padded - span) // s + 1
        # unit j reads row (layer - 1) at indices j*s + a*d - left, a = 0..k-1
        layer_edges = tuple(
            (j * s + a * d - left, j) for j in range(size) for a in range(k)
        )
        offset, spacing = positions[-1]
        anchor = (k - 1) * d if causal else (k - 1) * d / 2  # last tap, or window centre
        positions.append((offset + (anchor - left) * spacing, spacing * s))
        sizes.append(size)
        paddings.append(pad)
        edges.append(layer_edges)

    out = check_int("output_index", output_index, minimum=-sizes[-1])
    if out < 0:
        out += sizes[-1]
    if out >= sizes[-1]:
        raise ValueError(f"output_index must be < {sizes[-1]} (the output's length), got {out}")

    # Walk back from the output unit: a unit is active if it feeds an active unit.
    active = [set() for _ in sizes]
    active[-1] = {out}
    active_edges: list[tuple] = [()] * len(dils)
    for layer in range(len(dils), 0, -1):
        used = tuple((i, j) for i, j in edges[layer - 1] if j in active[layer])
        active_edges[layer - 1] = used
        active[layer - 1] = {i for i, _ in used if 0 <= i < sizes[layer - 1]}
    return StackGraph(
        sizes=tuple(sizes),
        paddings=tuple(paddings),
        positions=tuple(positions),
        edges=tuple(edges),
        active=tuple(tuple(sorted(a)) for a in active),
        active_edges=tuple(active_edges),
        output_index=out,
    )


def _describe(k: int, dils: list[int], strs: list[int]) -> str:
    def join(values: list[int]) -> str:
        return str(values[0]) if len(set(values)) == 1 else ", ".join(map(str, values))

    text = f"kernel {k}, dilation{'s' if len(set(dils)) > 1 else ''} {join(dils)}"
    if any(s != 1 for s in strs):
        text += f", stride {join(strs)}"
    return text


def draw_dilated_stack(
    num_inputs: int,
    kernel_size: int,
    dilations: Sequence[int],
    causal: bool = True,
    ax: Axes | None = None,
    *,
    strides: int | Sequence[int] = 1,
    padding: bool = True,
    output_index: int = -1,
    show_padding: bool = False,
    title: str | None = None,
) -> Axes:
    """Draw a stack of 1-D convolutions and highlight what feeds one output unit.

    Input row at the bottom, one row per layer above it, a line for every connection; the
    output unit ``output_index`` of the top row (default: the last, the most recent time step),
    every unit and connection on a path down from it, and the inputs it depends on are
    coloured. The arguments are those of :func:`stack_graph`, plus

    ax:
        Axes to draw on; ``None`` creates a new (pyplot-free)
        :class:`~lecturepkg.viz.grids.NotebookFigure`, reachable as ``ax.figure``.
    show_padding:
        Also draw the zero-padding units (dashed circles) and their connections.
    title:
        Title of the axes; default: the settings and the receptive field computed by
        :func:`lecturepkg.conv.receptive_fields.receptive_field`.

    Returns the ``Axes``. Artists carry a ``gid`` that says what they are:
    ``"unit:r:i"`` / ``"active:r:i"`` (unit ``i`` of row ``r``, not / on a path to the output
    unit), ``"pad:r:i"`` (a padding zero), ``"edge:l:i:j"`` / ``"active-edge:l:i:j"``
    (connection from unit ``i`` of row ``l - 1`` to unit ``j`` of row ``l``).
    """
    if ax is not None and not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    if not isinstance(show_padding, bool):
        raise TypeError(f"show_padding must be a bool, got {show_padding!r}")
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a string or None, got {type(title).__name__}")
    g = stack_graph(
        num_inputs, kernel_size, dilations, causal,
        strides=strides, padding=padding, output_index=output_index,
    )
    k = int(kernel_size)
    dils = _as_list("dilations", dilations, None)
    strs = _as_list("strides", strides, len(dils))
    num_layers = len(dils)
    xs = [g.x(r, i) for r in range(num_layers + 1) for i in range(g.sizes[r])]
    if show_padding:
        xs += [g.x(layer - 1, i) for layer in range(1, num_layers + 1)
               for i, _ in g.edges[layer - 1]]
    x_min, x_max = min(xs), max(xs)
    if ax is None:
        width = min(max(4.5, 0.34 * (x_max - x_min + 1) + 2.2), 7.5)  # the page is 7.5 in
        fig = NotebookFigure(figsize=(width, 0.75 * (num_layers + 1) + 0.8), layout="constrained")
        ax = fig.add_subplot()
    radius = 0.28
    active_edges = [set(e) for e in g.active_edges]

    # Connections first, so that the units are drawn on top of them.
    for layer in range(1, num_layers + 1):
        for i, j in g.edges[layer - 1]:
            is_pad = not 0 <= i < g.sizes[layer - 1]
            if is_pad and not show_padding:
                continue
            on_path = (i, j) in active_edges[layer - 1]
            ax.plot(
                [g.x(layer - 1, i), g.x(layer, j)], [layer - 1, layer],
                color=ACTIVE_EDGE_COLOR if on_path else EDGE_COLOR,
                linewidth=1.6 if on_path else 0.7,
                zorder=2 if on_path else 1,
                gid=f"{'active-edge' if on_path else 'edge'}:{layer}:{i}:{j}",
            )
    for r in range(num_layers + 1):
        active = set(g.active[r])
        for i in range(g.sizes[r]):
            on_path = i in active
            if not on_path:
                color = UNIT_COLOR
            elif r == 0:
                color = ACTIVE_INPUT_COLOR
            elif r == num_layers:
                color = ACTIVE_OUTPUT_COLOR
            else:
                color = ACTIVE_HIDDEN_COLOR
            ax.add_patch(
                Circle((g.x(r, i), r), radius, facecolor=color, edgecolor="0.3",
                       linewidth=0.8, zorder=3, gid=f"{'active' if on_path else 'unit'}:{r}:{i}")
            )
    if show_padding:
        for layer in range(1, num_layers + 1):
            pads = sorted({i for i, _ in g.edges[layer - 1] if not 0 <= i < g.sizes[layer - 1]})
            for i in pads:
                ax.add_patch(
                    Circle((g.x(layer - 1, i), layer - 1), radius, facecolor="white",
                           edgecolor=PADDING_COLOR, linestyle="--", linewidth=0.8, zorder=3,
                           gid=f"pad:{layer - 1}:{i}")
                )

    for r in range(num_layers + 1):
        if r == 0:
            label = "input"
        else:
            label = f"{'output' if r == num_layers else f'hidden {r}'}  (d={dils[r - 1]})"
        ax.text(x_min - 0.8, r, label, ha="right", va="center", fontsize=8)
    if title is None:
        layers = [(k, s, d) for d, s in zip(dils, strs)]
        size = receptive_field(layers)[-1].size
        title = f"{_describe(k, dils, strs)}: receptive field {size}"
    ax.set_title(title, fontsize=10)
    ax.set_xlim(x_min - 0.6 - 0.16 * 14, x_max + 0.6)
    ax.set_ylim(-0.6, num_layers + 0.6)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax
