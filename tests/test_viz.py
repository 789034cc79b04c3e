"""Tests of lecturepkg.viz: the figures show what they claim to show.

Oracles: the numbers written in a grid are the array's values; the cells a diagram marks as
kernel taps are exactly the input cells whose gradient (torch autograd) is non-zero for that
output; the output grid has the shape torch's conv2d produces; sliding-window outputs match
scipy.signal.correlate2d.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import scipy.signal  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from helpers import new_ax, with_gid  # noqa: E402
from lecturepkg.viz import (  # noqa: E402
    conv_explorer,
    draw_conv2d,
    draw_correlation_steps,
    explorer_figure,
    kernel_taps,
    show_grid,
)
from lecturepkg.viz.conv_diagram import format_size  # noqa: E402
from lecturepkg.output import STATIC_ENV  # noqa: E402
from lecturepkg.viz.explorer import SLIDER_RANGES, ConvExplorer, StaticExplorer  # noqa: E402
from lecturepkg.viz.grids import (  # noqa: E402
    HIGHLIGHT_COLOR,
    NotebookFigure,
)

FAST = settings(max_examples=30, deadline=None)


pytestmark = pytest.mark.usefixtures("no_pyplot_leaks")


def torch_output_shape(input_size, kernel_size, stride, padding, dilation):
    """Oracle: the spatial shape torch's conv2d gives (None if torch rejects the setting)."""
    x = torch.zeros(1, 1, *input_size)
    w = torch.zeros(1, 1, *kernel_size)
    try:
        return tuple(F.conv2d(x, w, stride=stride, padding=padding, dilation=dilation).shape[2:])
    except RuntimeError:
        return None


def torch_taps(input_size, kernel_size, stride, padding, dilation, output_index):
    """Oracle: padded-input cells with non-zero gradient for one output (kernel of ones)."""
    H, W = input_size
    (ph, pw) = padding
    x = torch.ones(1, 1, H + 2 * ph, W + 2 * pw, requires_grad=True)
    out = F.conv2d(x, torch.ones(1, 1, *kernel_size), stride=stride, dilation=dilation)
    out[0, 0, output_index[0], output_index[1]].backward()
    return {tuple(int(v) for v in rc) for rc in torch.nonzero(x.grad[0, 0])}


# ---------------------------------------------------------------------- NotebookFigure


def test_notebook_figure_renders_itself_as_png():
    fig = explorer_figure()
    assert isinstance(fig, NotebookFigure)
    png = fig._repr_png_()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
    # IPython picks the PNG up without any pyplot backend being involved
    from IPython.core.formatters import PNGFormatter

    assert PNGFormatter()(fig) == png


# ---------------------------------------------------------------------------- show_grid


@FAST
@given(
    rows=st.integers(1, 6),
    cols=st.integers(1, 6),
    seed=st.integers(0, 2**16),
)
def test_show_grid_writes_every_value_in_its_cell(rows, cols, seed):
    rng = np.random.default_rng(seed)
    array = rng.integers(-300, 300, size=(rows, cols)) / 2  # halves: fmt must keep ".5"
    ax = show_grid(new_ax(), array)
    texts = ax.texts
    assert len(texts) == rows * cols
    for t, (r, c) in zip(texts, np.ndindex(rows, cols)):
        assert float(t.get_text()) == array[r, c]
        assert t.get_position() == (c, r)


def test_show_grid_skips_nan_and_draws_highlights_and_title():
    array = np.array([[1.0, np.nan], [3.0, 4.0]])
    ax = show_grid(new_ax(), array, fmt="{:.1f}", highlight=[(0, 0), (1, 0, 1, 2)], title="t")
    assert [t.get_text() for t in ax.texts] == ["1.0", "3.0", "4.0"]
    rects = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(rects) == 2
    assert rects[1].get_xy() == (-0.5, 0.5)
    assert (rects[1].get_width(), rects[1].get_height()) == (2, 1)
    assert matplotlib.colors.same_color(rects[0].get_edgecolor(), HIGHLIGHT_COLOR)
    assert ax.get_title() == "t"


def test_show_grid_signed_data_gets_a_diverging_map_centred_on_zero():
    ax = show_grid(new_ax(), np.array([[-1.0, 3.0]]))
    image = ax.images[0]
    assert image.norm.vmin == -3.0 and image.norm.vmax == 3.0


def test_show_grid_bad_input():
    with pytest.raises(TypeError, match="ax"):
        show_grid("not an axes", np.zeros((2, 2)))
    with pytest.raises(TypeError, match="array"):
        show_grid(new_ax(), [[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="array"):
        show_grid(new_ax(), np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="highlight"):
        show_grid(new_ax(), np.zeros((2, 2)), highlight=(1, 1, 2, 2))
    with pytest.raises(TypeError, match="highlight"):
        show_grid(new_ax(), np.zeros((2, 2)), highlight="top left")
    with pytest.raises(TypeError, match="fmt"):
        show_grid(new_ax(), np.zeros((2, 2)), fmt=3)
    with pytest.raises(ValueError, match="fmt"):
        show_grid(new_ax(), np.zeros((2, 2)), fmt="{0} {1}")
    with pytest.raises(ValueError, match="cmap"):
        show_grid(new_ax(), np.zeros((2, 2)), cmap="no-such-map")


# ------------------------------------------------------------------ correlation steps


def test_draw_correlation_steps_panels_and_partial_output():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 10, size=(5, 6)).astype(float)
    kernel = rng.integers(-2, 3, size=(2, 3)).astype(float)
    expected = scipy.signal.correlate2d(image, kernel, "valid")  # (4, 4)
    positions = [(0, 0), (1, 2), (3, 3)]
    fig = draw_correlation_steps(image, kernel, positions)
    assert isinstance(fig, Figure)
    axes = fig.axes
    assert len(axes) == 3 * len(positions)
    for row, (i, j) in enumerate(positions):
        ax_img, ax_ker, ax_out = axes[3 * row: 3 * row + 3]
        assert [float(t.get_text()) for t in ax_img.texts] == list(image.ravel())
        assert [float(t.get_text()) for t in ax_ker.texts] == list(kernel.ravel())
        # the output is filled in reading order up to (i, j) inclusive
        n_done = i * expected.shape[1] + j + 1
        shown = [float(t.get_text()) for t in ax_out.texts]
        np.testing.assert_allclose(shown, expected.ravel()[:n_done], atol=1e-9)
        # the window over the image is at (i, j) and has the kernel's size
        (window,) = [p for p in ax_img.patches if isinstance(p, Rectangle)]
        assert window.get_xy() == (j - 0.5, i - 0.5)
        assert (window.get_height(), window.get_width()) == kernel.shape
        assert f"output[{i}, {j}]" in ax_out.get_title()


def test_draw_correlation_steps_bad_input():
    image, kernel = np.zeros((4, 4)), np.zeros((2, 2))
    with pytest.raises(ValueError, match="positions"):
        draw_correlation_steps(image, kernel, [(3, 0)])
    with pytest.raises(TypeError, match="positions"):
        draw_correlation_steps(image, kernel, [])
    with pytest.raises(TypeError, match="positions"):
        draw_correlation_steps(image, kernel, [(0, 0, 0)])
    with pytest.raises(ValueError, match="kernel"):
        draw_correlation_steps(image, np.zeros((5, 1)), [(0, 0)])
    with pytest.raises(TypeError, match="image"):
        draw_correlation_steps(image.tolist(), kernel, [(0, 0)])
    with pytest.raises(ValueError, match="kernel"):
        draw_correlation_steps(image, np.zeros(2), [(0, 0)])


# ------------------------------------------------------------------------ draw_conv2d

settings_2d = st.tuples(
    st.tuples(st.integers(1, 8), st.integers(1, 8)),  # input_size
    st.tuples(st.integers(1, 4), st.integers(1, 4)),  # kernel_size
    st.tuples(st.integers(1, 3), st.integers(1, 3)),  # stride
    st.tuples(st.integers(0, 2), st.integers(0, 2)),  # padding
    st.tuples(st.integers(1, 3), st.integers(1, 3)),  # dilation
)


@FAST
@given(setting=settings_2d, pick=st.tuples(st.floats(0, 1), st.floats(0, 1)))
def test_draw_conv2d_matches_torch(setting, pick):
    input_size, k, s, p, d = setting
    out_shape = torch_output_shape(input_size, k, s, p, d)
    if out_shape is None or min(out_shape) < 1:
        with pytest.raises(ValueError, match="kernel_size"):
            draw_conv2d(input_size, k, s, p, d)
        return
    oi = min(int(pick[0] * out_shape[0]), out_shape[0] - 1)
    oj = min(int(pick[1] * out_shape[1]), out_shape[1] - 1)
    ax = draw_conv2d(input_size, k, s, p, d, output_index=(oi, oj), ax=new_ax())
    H, W = input_size
    Hp, Wp = H + 2 * p[0], W + 2 * p[1]
    assert len(with_gid(ax, "input")) == H * W
    assert len(with_gid(ax, "padding")) == Hp * Wp - H * W
    assert len(with_gid(ax, "output")) == out_shape[0] * out_shape[1]
    taps = with_gid(ax, "tap")
    assert len(taps) == k[0] * k[1]
    drawn = {(int(t.get_y()), int(t.get_x())) for t in taps}
    assert drawn == torch_taps(input_size, k, s, p, d, (oi, oj))
    # padding cells are exactly the ring outside the input
    for cell in with_gid(ax, "padding"):
        r, c = int(cell.get_y()), int(cell.get_x())
        assert not (p[0] <= r < p[0] + H and p[1] <= c < p[1] + W)
    # the highlighted output cell sits at (oi, oj) of the output grid
    (hl,) = with_gid(ax, "output-highlight")
    cells = with_gid(ax, "output")
    x0 = min(c.get_x() for c in cells)
    y0 = min(c.get_y() for c in cells)
    assert (hl.get_x() - x0, hl.get_y() - y0) == (oj, oi)
    # the output grid is to the right of the padded input, never overlapping it
    assert x0 >= Wp
    assert f"output {out_shape[0]}×{out_shape[1]}" in [t.get_text() for t in ax.texts]


def test_draw_conv2d_without_ax_makes_its_own_figure():
    ax = draw_conv2d()
    assert isinstance(ax.figure, Figure)
    assert len(with_gid(ax, "tap")) == 9
    assert len(with_gid(ax, "output")) == 9


def test_draw_conv2d_seed_example_stride_and_asymmetric_padding():
    # Fleuret's slide: C x 3 x 5 input, padding (2, 1), stride (2, 2), kernel 3 x 3
    ax = draw_conv2d((3, 5), 3, stride=2, padding=(2, 1), output_index=(2, 2), ax=new_ax())
    assert len(with_gid(ax, "output")) == 9  # torch: 3 x 3
    assert len(with_gid(ax, "padding")) == 7 * 7 - 15
    assert "padding (2, 1)" in ax.get_title()


def test_draw_conv2d_bad_input():
    with pytest.raises(ValueError, match="output_index"):
        draw_conv2d((5, 5), 3, output_index=(3, 0))
    with pytest.raises(TypeError, match="output_index"):
        draw_conv2d((5, 5), 3, output_index=0)
    with pytest.raises(ValueError, match="kernel_size"):
        draw_conv2d((2, 2), 3)
    with pytest.raises(ValueError, match="stride"):
        draw_conv2d((5, 5), 3, stride=0)
    with pytest.raises(ValueError, match="padding"):
        draw_conv2d((5, 5), 3, padding=-1)
    with pytest.raises(TypeError, match="input_size"):
        draw_conv2d("5x5", 3)
    with pytest.raises(ValueError, match="dilation"):
        draw_conv2d((5, 5), 3, dilation=(1, 1, 1))
    with pytest.raises(TypeError, match="ax"):
        draw_conv2d((5, 5), 3, ax=plt)


def test_kernel_taps_against_autograd():
    taps = kernel_taps((1, 2), (2, 3), stride=(2, 1), dilation=(3, 2))
    assert len(taps) == 6
    assert set(taps) == torch_taps((8, 9), (2, 3), (2, 1), (0, 0), (3, 2), (1, 2))
    with pytest.raises(TypeError, match="output_index"):
        kernel_taps(3, 3)
    with pytest.raises(ValueError, match="kernel_size"):
        kernel_taps((0, 0), 0)


def test_format_size():
    assert format_size((3, 5)) == "3×5"
    assert format_size((7,)) == "7"


# --------------------------------------------------------------------------- explorer


@FAST
@given(
    i=st.integers(*SLIDER_RANGES["input_size"]),
    k=st.integers(*SLIDER_RANGES["kernel_size"]),
    s=st.integers(*SLIDER_RANGES["stride"]),
    p=st.integers(*SLIDER_RANGES["padding"]),
    d=st.integers(*SLIDER_RANGES["dilation"]),
)
def test_explorer_figure_every_slider_setting(i, k, s, p, d):
    out = torch_output_shape((i, i), (k, k), s, p, d)
    if out is None or min(out) < 1:
        with pytest.raises(ValueError, match="kernel_size"):
            explorer_figure(i, k, s, p, d)
        return
    fig = explorer_figure(i, k, s, p, d, output_index=(out[0] - 1, out[1] - 1))
    (ax,) = fig.axes
    assert len(with_gid(ax, "tap")) == k * k
    assert len(with_gid(ax, "output")) == out[0] * out[1]
    assert fig.get_suptitle().endswith(f"= {out[0]}")


def test_explorer_figure_bad_input():
    with pytest.raises(ValueError, match="padding"):
        explorer_figure(padding=-1)
    with pytest.raises(TypeError, match="stride"):
        explorer_figure(stride=1.5)


def test_conv_explorer_builds_and_follows_its_sliders(capsys, live):
    import ipywidgets

    w = conv_explorer()
    assert isinstance(w, ipywidgets.Widget)
    names = {"input_size", "kernel_size", "stride", "padding", "dilation",
             "output_row", "output_col"}
    assert set(w.sliders) == names
    for name, (lo, hi) in SLIDER_RANGES.items():
        slider = w.sliders[name]
        assert (slider.min, slider.max) == (lo, hi)
        assert lo <= slider.value <= hi
    assert w.message == "output size: 3 × 3"
    assert w.sliders["output_row"].max == 2 and w.sliders["output_col"].max == 2
    assert isinstance(w.figure, Figure)

    w.sliders["output_row"].value = 2
    w.sliders["stride"].value = 2  # 5x5, k3, s2 -> 2x2: the output row must be clamped
    assert w.message == "output size: 2 × 2"
    assert w.sliders["output_row"].max == 1 and w.sliders["output_row"].value == 1
    (hl,) = with_gid(w.figure.axes[0], "output-highlight")
    cells = with_gid(w.figure.axes[0], "output")
    assert hl.get_y() - min(c.get_y() for c in cells) == 1

    w.sliders["input_size"].value = 2  # kernel 3 does not fit into 2: no figure, a message
    assert w.figure is None
    assert "spans 3 cells but the padded input has only 2" in w.message
    w.sliders["padding"].value = 1  # now it fits again: 2 + 2 = 4 -> (4 - 3) // 2 + 1 = 1
    assert w.message == "output size: 1 × 1"
    assert torch_output_shape((2, 2), (3, 3), 2, 1, 1) == (1, 1)
    capsys.readouterr()  # outside a kernel, the Output widget prints to stdout


@pytest.mark.parametrize("mode", ["live", "static"])
def test_conv_explorer_bad_initial_values(mode, request):
    request.getfixturevalue(mode)
    with pytest.raises(ValueError, match="kernel_size"):
        conv_explorer(kernel_size=9)
    with pytest.raises(ValueError, match="stride"):
        conv_explorer(stride=0)
    with pytest.raises(TypeError, match="input_size"):
        conv_explorer(input_size="5")


def test_conv_explorer_static_is_the_initial_figure_without_widgets(static, widgets_made):
    setting = dict(input_size=7, kernel_size=3, stride=2, padding=1, dilation=2)
    shown = conv_explorer(**setting)
    assert widgets_made == []  # no widget, so no widget state stored in the page
    assert isinstance(shown, StaticExplorer)
    # 7 + 2 - (2 * 2 + 1) = 4 -> 4 // 2 + 1 = 3, as torch computes
    assert torch_output_shape((7, 7), (3, 3), 2, 1, 2) == (3, 3)
    assert shown.message == "output size: 3 × 3"
    expected = explorer_figure(**setting, output_index=(0, 0))
    assert shown.figure.get_suptitle() == expected.get_suptitle()
    (ax,), (ax_expected,) = shown.figure.axes, expected.axes
    for gid in ("input", "padding", "tap", "output", "output-highlight"):
        assert len(with_gid(ax, gid)) == len(with_gid(ax_expected, gid)), gid
    bundle = shown._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "image/png"}
    assert bundle["image/png"].startswith(b"\x89PNG")
    assert bundle["text/plain"] == shown.message
    assert widgets_made == []


def test_conv_explorer_static_invalid_setting_shows_the_message(static, widgets_made):
    shown = conv_explorer(input_size=2, kernel_size=3)  # the kernel does not fit
    assert shown.figure is None
    assert "spans 3 cells but the padded input has only 2" in shown.message
    assert shown._repr_mimebundle_() == {"text/plain": shown.message}
    assert widgets_made == []


def test_conv_explorer_live_makes_widgets_and_shows_what_static_shows(
        monkeypatch, widgets_made, capsys):
    setting = dict(input_size=7, kernel_size=3, stride=2, padding=1, dilation=2)
    monkeypatch.delenv(STATIC_ENV, raising=False)
    w = conv_explorer(**setting)
    assert isinstance(w, ConvExplorer)
    assert widgets_made.count("IntSlider") == 7 and "Output" in widgets_made
    monkeypatch.setenv(STATIC_ENV, "1")
    shown = conv_explorer(**setting)
    assert shown.message == w.message
    assert shown.figure.get_suptitle() == w.figure.get_suptitle()
    monkeypatch.setenv(STATIC_ENV, "0")  # only "1" means static
    assert isinstance(conv_explorer(**setting), ConvExplorer)
    capsys.readouterr()
