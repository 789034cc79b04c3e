"""Tests of lecturepkg.viz.receptive_field: the stack pictures show what they claim.

Oracles: autograd through a torch stack of Conv1d layers with all-positive weights (a
non-zero gradient at an input or hidden unit means it feeds the chosen output unit, so the
highlighted units must be exactly those); torch's output lengths for the row sizes; the
receptive field of :func:`lecturepkg.conv.receptive_fields.receptive_field` for the number of
highlighted inputs of a dense stack.
"""

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from hypothesis import assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Circle  # noqa: E402

from lecturepkg.conv.receptive_fields import receptive_field  # noqa: E402
from lecturepkg.viz.receptive_field import draw_dilated_stack, stack_graph  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread", "no_pyplot_leaks")
FAST = settings(max_examples=30, deadline=None)


def torch_rows(num_inputs, k, dils, strides, causal, padding, output_index):
    """Row lengths and, per row, the units with a non-zero gradient of one output unit."""
    x = torch.ones(1, 1, num_inputs, dtype=torch.float64, requires_grad=True)
    rows, h = [x], x
    for d, s in zip(dils, strides):
        total = (k - 1) * d if padding else 0
        left = total if causal else total // 2
        h = F.pad(h, (left, total - left))
        h = F.conv1d(h, torch.ones(1, 1, k, dtype=torch.float64), stride=s, dilation=d)
        h.retain_grad()
        rows.append(h)
    h[0, 0, output_index].backward()
    sizes = [r.shape[-1] for r in rows]
    active = [tuple(torch.nonzero(r.grad[0, 0]).flatten().tolist()) for r in rows]
    return sizes, active


def configs():
    return st.tuples(
        st.integers(1, 4),  # kernel size
        st.lists(st.integers(1, 5), min_size=1, max_size=4),  # dilations
        st.integers(1, 3),  # stride (same for every layer)
        st.booleans(),  # causal
        st.booleans(),  # padding
        st.integers(20, 60),  # num_inputs
        st.integers(-3, 3),  # output index
    )


@FAST
@given(configs())
def test_stack_graph_matches_autograd(cfg):
    k, dils, s, causal, padding, n, out = cfg
    strides = [s] * len(dils)
    span = 1 + sum((k - 1) * d * s**i for i, d in enumerate(dils))
    assume(span <= n)
    sizes, _ = torch_rows(n, k, dils, strides, causal, padding, 0)
    assume(-sizes[-1] <= out < sizes[-1])
    sizes, active = torch_rows(n, k, dils, strides, causal, padding, out)
    g = stack_graph(n, k, dils, causal, strides=strides, padding=padding, output_index=out)
    assert list(g.sizes) == sizes
    assert [list(a) for a in g.active] == [list(a) for a in active]
    assert g.output_index == out % sizes[-1]


@FAST
@given(k=st.integers(2, 4), factors=st.lists(st.integers(1, 3), min_size=1, max_size=4),
       extra=st.integers(0, 5))
def test_dense_causal_stack_highlights_receptive_field_inputs(k, factors, extra):
    # A stack is dense (no holes in the field) when each dilation is at most the field of
    # the layers below; build such dilations, e.g. kernel 2 and 1, 2, 4, 8.
    dils, field = [], 1
    for f in factors:
        d = max(1, min(f * field // 2, field))
        dils.append(d)
        field += (k - 1) * d
    rf = receptive_field([(k, 1, d) for d in dils])[-1].size
    assert rf == field
    n = rf + extra
    ax = draw_dilated_stack(n, k, dils)
    inputs = [p for p in ax.patches if p.get_gid().startswith("active:0:")]
    assert len(inputs) == rf
    idx = sorted(int(p.get_gid().split(":")[2]) for p in inputs)
    assert idx == list(range(n - rf, n))  # the last rf inputs: the output sees only the past
    assert f"receptive field {rf}" in ax.get_title()
    ax.figure.clear()


def test_wavenet_figure_and_the_undilated_stack():
    ax = draw_dilated_stack(16, 2, [1, 2, 4, 8])
    gids = [p.get_gid() for p in ax.patches]
    assert sum(g.startswith("active:0:") for g in gids) == 16
    # every non-input active unit has two incoming active connections (kernel size 2)
    lines = [ln.get_gid() for ln in ax.lines]
    assert sum(g.startswith("active-edge:") for g in lines) == 2 * (1 + 2 + 4 + 8)
    assert len(lines) == sum(2 * 16 - d for d in (1, 2, 4, 8))  # padding edges are hidden
    assert len([p for p in ax.patches if isinstance(p, Circle)]) == 5 * 16
    ax = draw_dilated_stack(16, 2, [1, 1, 1, 1], show_padding=True)
    gids = [p.get_gid() for p in ax.patches]
    assert sum(g.startswith("active:0:") for g in gids) == 5
    assert sum(g.startswith("pad:") for g in gids) == 4  # one zero on the left of each row
    assert "receptive field 5" in ax.get_title()


def test_units_sit_above_their_last_input_when_causal():
    g = stack_graph(12, 3, [1, 2], causal=True)
    for row in range(3):
        assert [g.x(row, i) for i in range(12)] == list(range(12))
    g = stack_graph(8, 2, [2, 2], strides=2, padding=False)  # the notes' dilated example
    assert g.sizes == (8, 3, 1)
    assert g.active[0] == (0, 2, 4, 6)
    assert g.x(1, 0) == 2 and g.x(2, 0) == g.x(1, 2) == 6


def test_active_edges_drawn_match_graph():
    g = stack_graph(20, 3, [1, 3], causal=False, output_index=9)
    ax = draw_dilated_stack(20, 3, [1, 3], causal=False, output_index=9, show_padding=True)
    drawn = {ln.get_gid() for ln in ax.lines if ln.get_gid().startswith("active-edge")}
    expected = {f"active-edge:{layer}:{i}:{j}" for layer, edges in enumerate(g.active_edges, 1)
                for i, j in edges}
    assert drawn == expected and len(drawn) == 3 + 9
    assert all(isinstance(ln, Line2D) for ln in ax.lines)


def test_draw_on_given_axes():
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    assert draw_dilated_stack(6, 2, [1, 2], ax=ax, title="mine") is ax
    assert ax.get_title() == "mine"


@pytest.mark.parametrize(
    "kwargs, name, error",
    [
        ({"num_inputs": 0}, "num_inputs", ValueError),
        ({"kernel_size": 1.5}, "kernel_size", TypeError),
        ({"dilations": []}, "dilations", ValueError),
        ({"dilations": 3}, "dilations", TypeError),
        ({"dilations": [1, 0]}, r"dilations\[1\]", ValueError),
        ({"strides": [1, 2, 3]}, "strides", ValueError),
        ({"causal": 1}, "causal", TypeError),
        ({"padding": "same"}, "padding", TypeError),
        ({"output_index": 16}, "output_index", ValueError),
        ({"output_index": -17}, "output_index", ValueError),
        ({"num_inputs": 3, "padding": False}, "num_inputs", ValueError),
        ({"ax": "axes"}, "ax", TypeError),
        ({"show_padding": "yes"}, "show_padding", TypeError),
        ({"title": 3}, "title", TypeError),
    ],
)
def test_bad_input(kwargs, name, error):
    args = {"num_inputs": 16, "kernel_size": 2, "dilations": [1, 2], **kwargs}
    with pytest.raises(error, match=name):
        draw_dilated_stack(**args)
