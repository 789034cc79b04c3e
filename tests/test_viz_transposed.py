"""Tests of the transposed-convolution figures, the checkerboard measures and the explorer.

Oracles: PyTorch. The overlap-count map is ``conv_transpose(ones, ones)``; the equivalent
direct convolution that :func:`draw_conv_transpose2d` draws, rebuilt from the drawn cells
alone, must reproduce ``F.conv_transpose2d`` on random values; the input cells it shades
for one output are those with a non-zero autograd gradient; sizes are torch's output shapes,
and settings torch rejects are rejected with an error naming the argument.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from helpers import new_ax, with_gid  # noqa: E402
from lecturepkg.conv.checkerboard import (  # noqa: E402
    checkerboard_score,
    overlap_count,
    overlap_count_1d,
    phase_means,
)
from lecturepkg.conv.transposed import transposed_geometry  # noqa: E402
from lecturepkg.viz.transposed_diagram import (  # noqa: E402
    draw_conv_transpose2d,
    draw_overlap_add,
    draw_overlap_add1d,
)
from lecturepkg.output import STATIC_ENV  # noqa: E402
from lecturepkg.viz.explorer_transposed import (  # noqa: E402
    TRANSPOSED_SLIDER_RANGES,
    StaticExplorer,
    TransposedExplorer,
    transposed_explorer,
    transposed_explorer_figure,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread", "no_pyplot_leaks")
FAST = settings(max_examples=40, deadline=None)


def cell(patch) -> tuple[int, int]:
    """(row, col) of a unit cell drawn at x=col, y=row."""
    return int(round(patch.get_y())), int(round(patch.get_x()))


def torch_transpose(x, w, stride, padding, output_padding, dilation):
    """Oracle: F.conv_transpose{1,2}d, or None when torch rejects the setting."""
    op = F.conv_transpose1d if x.dim() == 3 else F.conv_transpose2d
    try:
        return op(x, w, stride=stride, padding=padding, output_padding=output_padding,
                  dilation=dilation)
    except RuntimeError:
        return None


def torch_counts(input_size, kernel_size, stride, padding, output_padding, dilation):
    """Oracle for the overlap map: conv_transpose of an input of ones with a kernel of ones."""
    x = torch.ones(1, 1, *input_size, dtype=torch.float64)
    w = torch.ones(1, 1, *kernel_size, dtype=torch.float64)
    out = torch_transpose(x, w, stride, padding, output_padding, dilation)
    return None if out is None or min(out.shape[2:]) < 1 else out[0, 0].numpy()


pairs = lambda lo, hi: st.tuples(st.integers(lo, hi), st.integers(lo, hi))  # noqa: E731
settings_2d = st.tuples(pairs(1, 4), pairs(1, 4), pairs(1, 3), pairs(0, 3), pairs(0, 2),
                        pairs(1, 3))


# ----------------------------------------------------------------------- overlap counts


@FAST
@given(setting=settings_2d)
def test_overlap_count_is_conv_transpose_of_ones(setting):
    expected = torch_counts(*setting)
    if expected is None:
        with pytest.raises(ValueError, match="padding|output_padding"):
            overlap_count(*setting)
        return
    counts = overlap_count(*setting)
    assert counts.dtype == np.int64
    np.testing.assert_array_equal(counts, expected)


@FAST
@given(i=st.integers(1, 8), k=st.integers(1, 5), s=st.integers(1, 4), p=st.integers(0, 3),
       op=st.integers(0, 3), d=st.integers(1, 3))
def test_overlap_count_1d_is_conv_transpose_of_ones(i, k, s, p, op, d):
    expected = torch_counts((i,), (k,), s, p, op, d)
    if expected is None:
        with pytest.raises(ValueError, match="padding|output_padding"):
            overlap_count_1d(i, k, s, p, op, d)
        return
    np.testing.assert_array_equal(overlap_count_1d(i, k, s, p, op, d), expected)
    np.testing.assert_array_equal(overlap_count(i, k, s, p, op, d), expected)


def test_overlap_count_uniform_inside_exactly_when_stride_divides_kernel():
    for k in range(1, 9):
        for s in range(1, 5):
            counts = overlap_count(12, k, s)
            inner = counts[k:-k]  # away from the borders
            assert (np.ptp(inner) == 0) == (k % s == 0), (k, s, inner)
            if k % s == 0:
                assert inner[0] == k // s


def test_overlap_count_bad_input():
    with pytest.raises(ValueError, match="output_padding"):
        overlap_count(3, 3, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="padding"):
        overlap_count(2, 3, padding=3)
    with pytest.raises(ValueError, match="stride"):
        overlap_count(3, 3, stride=0)
    with pytest.raises(TypeError, match="kernel_size"):
        overlap_count(3, 2.5)
    with pytest.raises(ValueError, match="dimensions"):
        overlap_count((3, 3), (3, 3, 3))
    with pytest.raises(TypeError, match="input_size"):
        overlap_count_1d("3", 3)


# ------------------------------------------------------------------ checkerboard score


def test_checkerboard_score_known_values():
    # kernel 3, stride 2 in 1-D: the tile (2, 1) -> std 0.5 / mean 1.5
    counts = overlap_count(20, 3, 2).astype(float)
    assert checkerboard_score(counts, 2, border=2) == pytest.approx(1 / 3)
    # 2-D: the tile [[4, 2], [2, 1]] -> population std of (4, 2, 2, 1) / mean 2.25
    counts2 = overlap_count((12, 12), 3, 2).astype(float)
    tile = np.array([4.0, 2.0, 2.0, 1.0])
    assert checkerboard_score(counts2, 2, border=2) == pytest.approx(tile.std() / tile.mean())
    # kernel divisible by stride: no pattern at all
    assert checkerboard_score(overlap_count((12, 12), 4, 2).astype(float), 2, border=3) == 0
    assert checkerboard_score(np.zeros((6, 6)), 2) == 0.0


@FAST
@given(s=st.integers(1, 3), reps=st.integers(2, 5), seed=st.integers(0, 2**16),
       scale=st.floats(0.1, 10))
def test_checkerboard_score_of_a_tiled_pattern(s, reps, seed, scale):
    rng = np.random.default_rng(seed)
    tile = rng.uniform(-1, 2, size=(s, s))
    image = np.tile(tile, (reps, reps))
    expected = tile.std() / np.abs(tile).mean()  # every phase mean is one tile entry
    assert checkerboard_score(image, s) == pytest.approx(expected, rel=1e-9)
    assert checkerboard_score(scale * image, s) == pytest.approx(expected, rel=1e-9)
    # phase means by reshaping (an independent computation)
    np.testing.assert_allclose(phase_means(image, s),
                               image.reshape(reps, s, reps, s).mean(axis=(0, 2)))


def test_phase_means_non_square_strides_and_3d():
    rng = np.random.default_rng(0)
    vol = rng.normal(size=(4, 6, 9))
    means = phase_means(vol, (2, 3, 3))
    assert means.shape == (2, 3, 3)
    np.testing.assert_allclose(means, vol.reshape(2, 2, 2, 3, 3, 3).mean(axis=(0, 2, 4)))


def test_checkerboard_measures_bad_input():
    with pytest.raises(TypeError, match="image"):
        checkerboard_score([[1, 2], [3, 4]], 2)
    with pytest.raises(ValueError, match="image"):
        checkerboard_score(np.zeros((2, 2, 2, 2)), 2)
    with pytest.raises(ValueError, match="border"):
        checkerboard_score(np.ones((4, 4)), 2, border=2)
    with pytest.raises(ValueError, match="border"):
        checkerboard_score(np.ones((4, 4)), 2, border=-1)
    with pytest.raises(ValueError, match="stride"):
        checkerboard_score(np.ones((4, 4)), 0)
    with pytest.raises(ValueError, match="stride"):
        phase_means(np.ones((4, 4)), (2, 2, 2))
    with pytest.raises(ValueError, match="image"):
        phase_means(np.ones((1, 4)), 2)  # fewer rows than the stride


# ------------------------------------------------------------- draw_conv_transpose2d


def rebuild_equivalent_conv(ax, x):
    """From the drawn cells alone: place x at the 'input' cells (row-major), zeros at the
    'stuffed' and 'padding' cells, drop the 'cropped' ones -> the direct conv's input."""
    cells = {gid: [cell(p) for p in with_gid(ax, gid)]
             for gid in ("input", "stuffed", "padding", "cropped")}
    grid_cells = cells["input"] + cells["stuffed"] + cells["padding"]
    rows = 1 + max(r for r, _ in grid_cells)
    cols = 1 + max(c for _, c in grid_cells)
    assert len(grid_cells) == rows * cols == len(set(grid_cells))  # a full grid, no overlaps
    canvas = np.zeros((rows, cols))
    for (r, c), value in zip(sorted(cells["input"]), x.ravel()):
        canvas[r, c] = value
    cropped = set(cells["cropped"])
    kept_rows = [r for r in range(rows) if any((r, c) not in cropped for c in range(cols))]
    kept_cols = [c for c in range(cols) if any((r, c) not in cropped for r in range(rows))]
    assert len(cropped) == rows * cols - len(kept_rows) * len(kept_cols)
    return canvas[np.ix_(kept_rows, kept_cols)], kept_rows[0], kept_cols[0]


@FAST
@given(setting=settings_2d, pick=st.tuples(st.floats(0, 1), st.floats(0, 1)),
       seed=st.integers(0, 2**16))
def test_draw_conv_transpose2d_is_the_equivalent_convolution(setting, pick, seed):
    input_size, k, s, p, op, d = setting
    rng = np.random.default_rng(seed)
    x = torch.tensor(rng.normal(size=(1, 1, *input_size)))
    w = torch.tensor(rng.normal(size=(1, 1, *k)))
    expected = torch_transpose(x, w, s, p, op, d)
    if expected is None or min(expected.shape[2:]) < 1:
        with pytest.raises(ValueError, match="padding|output_padding"):
            draw_conv_transpose2d(*setting)
        return
    oh, ow = expected.shape[2:]
    oi, oj = min(int(pick[0] * oh), oh - 1), min(int(pick[1] * ow), ow - 1)
    ax = draw_conv_transpose2d(*setting, output_index=(oi, oj), ax=new_ax())

    # counts of each kind of cell
    H, W = input_size
    assert len(with_gid(ax, "input")) == H * W
    stuffed_area = ((H - 1) * s[0] + 1) * ((W - 1) * s[1] + 1)
    assert len(with_gid(ax, "stuffed")) == stuffed_area - H * W
    assert len(with_gid(ax, "output")) == oh * ow
    assert len(with_gid(ax, "tap")) == k[0] * k[1]
    assert f"output {oh}×{ow}" in [t.get_text() for t in ax.texts]

    # the drawn grid, minus the cropped cells, convolved (stride 1, flipped kernel, same
    # dilation) gives torch's transposed convolution
    direct_input, r0, c0 = rebuild_equivalent_conv(ax, x[0, 0].numpy())
    direct = F.conv2d(torch.tensor(direct_input)[None, None], w.flip(-1, -2), dilation=d)
    torch.testing.assert_close(direct, expected)

    # the shaded taps are the kernel window of output (oi, oj) on that grid ...
    taps = {cell(t) for t in with_gid(ax, "tap")}
    assert taps == {(r0 + oi + a * d[0], c0 + oj + b * d[1])
                    for a in range(k[0]) for b in range(k[1])}
    # ... and the input cells among them are those that output (oi, oj) depends on
    inputs = sorted(cell(c) for c in with_gid(ax, "input"))
    shaded_inputs = {n for n, rc in enumerate(inputs) if rc in taps}
    xg = x.clone().requires_grad_()
    F.conv_transpose2d(xg, torch.ones_like(w), stride=s, padding=p, output_padding=op,
                       dilation=d)[0, 0, oi, oj].backward()
    assert shaded_inputs == set(torch.nonzero(xg.grad.flatten()).flatten().tolist())
    # the highlighted output cell sits at (oi, oj) of the output grid
    (hl,) = with_gid(ax, "output-highlight")
    x0 = min(c.get_x() for c in with_gid(ax, "output"))
    y0 = min(c.get_y() for c in with_gid(ax, "output"))
    assert (hl.get_x() - x0, hl.get_y() - y0) == (oj, oi)


def test_draw_conv_transpose2d_seed_examples():
    # 2x2 -> 4x4 with kernel 3: the direct convolution pads the 2x2 input by 2 (k'=3, s'=1,
    # p'=2), a 6x6 grid of which 32 cells are padding
    ax = draw_conv_transpose2d((2, 2), 3, ax=new_ax())
    assert len(with_gid(ax, "padding")) == 6 * 6 - 4
    assert len(with_gid(ax, "stuffed")) == 0 and len(with_gid(ax, "cropped")) == 0
    assert len(with_gid(ax, "output")) == 16
    # stride 2, padding 1, output padding 1: 2x2 -> 4x4 via a zero-stuffed 3x3 framed by 1
    # (before) and 2 (after)
    ax = draw_conv_transpose2d((2, 2), 3, stride=2, padding=1, output_padding=1, ax=new_ax())
    assert len(with_gid(ax, "stuffed")) == 9 - 4
    assert len(with_gid(ax, "padding")) == 6 * 6 - 9
    assert len(with_gid(ax, "output")) == 16
    assert "output padding 1" in ax.get_title()
    g = transposed_geometry(2, 3, stride=2, padding=1, output_padding=1)
    assert (g.stuffed, g.frame_lo, g.frame_hi, g.output, g.drawn) == (3, 1, 2, 4, 6)


def test_draw_conv_transpose2d_negative_frame_crops():
    # padding 3 > d(k-1) = 2: the frame is -1, one ring of the input is cropped
    ax = draw_conv_transpose2d((5, 5), 3, padding=3, ax=new_ax())
    assert len(with_gid(ax, "cropped")) == 25 - 9
    assert len(with_gid(ax, "padding")) == 0
    assert len(with_gid(ax, "output")) == 1


def test_draw_conv_transpose2d_bad_input():
    with pytest.raises(ValueError, match="output_index"):
        draw_conv_transpose2d((2, 2), 3, output_index=(4, 0))
    with pytest.raises(TypeError, match="output_index"):
        draw_conv_transpose2d((2, 2), 3, output_index=1)
    with pytest.raises(ValueError, match="output_padding"):
        draw_conv_transpose2d((2, 2), 3, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="padding"):
        draw_conv_transpose2d((1, 1), 1, padding=1)
    with pytest.raises(ValueError, match="stride"):
        draw_conv_transpose2d((2, 2), 3, stride=0)
    with pytest.raises(TypeError, match="input_size"):
        draw_conv_transpose2d("2x2", 3)
    with pytest.raises(ValueError, match="dilation"):
        draw_conv_transpose2d((2, 2), 3, dilation=(1, 1, 1))
    with pytest.raises(TypeError, match="ax"):
        draw_conv_transpose2d((2, 2), 3, ax=plt)
    with pytest.raises(ValueError, match="kernel_size"):
        transposed_geometry(2, 0)


# ------------------------------------------------------------------------ overlap-add


def count_texts(ax):
    return [t for t in ax.texts if t.get_gid() == "count"]


def read_canvas(ax):
    """The counts written on the canvas as {(row, col): count}, the output frame's
    (top, left, height, width) and the hatched cells, all in canvas coordinates."""
    canvas = with_gid(ax, "canvas")
    x0 = min(c.get_x() for c in canvas)
    written = {}
    for t in count_texts(ax):
        x, y = t.get_position()
        written[int(round(y - 0.5)), int(round(x - x0 - 0.5))] = int(t.get_text())
    assert len(written) == len(canvas) == len(count_texts(ax))
    (frame,) = with_gid(ax, "output")
    box = (int(round(frame.get_y())), int(round(frame.get_x() - x0)),
           int(frame.get_height()), int(frame.get_width()))
    cropped = {(r, int(round(c - x0))) for r, c in (cell(p) for p in with_gid(ax, "cropped"))}
    return written, box, cropped, x0


def output_counts(written, box):
    top, left, height, width = box
    return np.array([[written[top + r, left + c] for c in range(width)] for r in range(height)])


@FAST
@given(setting=settings_2d, pick=st.tuples(st.floats(0, 1), st.floats(0, 1)))
def test_draw_overlap_add_counts_match_torch(setting, pick):
    input_size, k, s, p, op, d = setting
    expected = torch_counts(*setting)
    if expected is None:
        with pytest.raises(ValueError, match="padding|output_padding"):
            draw_overlap_add(*setting)
        return
    H, W = input_size
    index = (min(int(pick[0] * H), H - 1), min(int(pick[1] * W), W - 1))
    ax = draw_overlap_add(*setting, input_index=index, ax=new_ax())
    assert len(with_gid(ax, "input")) == H * W
    assert len(with_gid(ax, "footprint")) == H * W
    assert len(with_gid(ax, "tap")) == k[0] * k[1]

    written, box, cropped, x0 = read_canvas(ax)
    top, left, height, width = box
    assert (height, width) == expected.shape
    np.testing.assert_array_equal(output_counts(written, box), expected)
    # hatched cells are exactly the canvas cells outside the output frame
    assert cropped == {(r, c) for r, c in written
                       if not (top <= r < top + height and left <= c < left + width)}
    # the whole canvas holds every tap of every copy: H * W * kH * kW
    assert sum(written.values()) == H * W * k[0] * k[1]

    # the highlighted copy: the output cells it reaches are those a one-hot input reaches
    one_hot = torch.zeros(1, 1, H, W, dtype=torch.float64)
    one_hot[0, 0, index[0], index[1]] = 1
    reach = torch_transpose(one_hot, torch.ones(1, 1, *k, dtype=torch.float64), s, p, op, d)
    taps = [cell(t) for t in with_gid(ax, "tap")]
    taps = {(r - top, int(round(c - x0)) - left) for r, c in taps}
    in_output = {(r, c) for r, c in taps if 0 <= r < height and 0 <= c < width}
    assert in_output == {tuple(v) for v in torch.nonzero(reach[0, 0]).tolist()}


def test_draw_overlap_add_shows_the_checkerboard():
    # kernel 3, stride 2: inside the output, counts 4, 2, 2, 1 repeat every 2 cells
    written, box, _, _ = read_canvas(draw_overlap_add((4, 4), 3, stride=2, padding=1,
                                                      ax=new_ax()))
    inner = output_counts(written, box)[1:-1, 1:-1]
    np.testing.assert_array_equal(inner[:2, :2], [[4, 2], [2, 1]])
    np.testing.assert_array_equal(inner, np.tile([[4, 2], [2, 1]], (3, 3))[:5, :5])
    # kernel 4, stride 2: every interior output cell is reached by 2 x 2 = 4 taps
    written, box, _, _ = read_canvas(draw_overlap_add((4, 4), 4, stride=2, padding=1,
                                                      ax=new_ax()))
    assert box[2:] == (8, 8)
    assert (output_counts(written, box)[1:-1, 1:-1] == 4).all()


@FAST
@given(i=st.integers(1, 6), k=st.integers(1, 5), s=st.integers(1, 3), p=st.integers(0, 2),
       op=st.integers(0, 2), d=st.integers(1, 2))
def test_draw_overlap_add1d_matches_torch(i, k, s, p, op, d):
    expected = torch_counts((i,), (k,), s, p, op, d)
    if expected is None:
        with pytest.raises(ValueError, match="padding|output_padding"):
            draw_overlap_add1d(i, k, s, p, op, d)
        return
    ax = draw_overlap_add1d(i, k, s, p, op, d, ax=new_ax())
    assert len(with_gid(ax, "input")) == i
    assert len(with_gid(ax, "band")) == i * k
    canvas = with_gid(ax, "canvas")
    counts = [int(t.get_text()) for t in count_texts(ax)]
    assert len(counts) == len(canvas)
    kept = [n for n, c in enumerate(canvas) if not any(
        cr.get_x() == c.get_x() for cr in with_gid(ax, "cropped"))]
    np.testing.assert_array_equal([counts[n] for n in kept], expected)
    assert kept == list(range(p, p + expected.size))


def test_draw_overlap_add_bad_input():
    with pytest.raises(ValueError, match="input_index"):
        draw_overlap_add((2, 2), 3, input_index=(2, 0))
    with pytest.raises(TypeError, match="input_index"):
        draw_overlap_add((2, 2), 3, input_index=0)
    with pytest.raises(ValueError, match="output_padding"):
        draw_overlap_add((2, 2), 3, stride=2, output_padding=3)
    with pytest.raises(TypeError, match="ax"):
        draw_overlap_add((2, 2), 3, ax="axes")
    with pytest.raises(TypeError, match="kernel_size"):
        draw_overlap_add1d(3, (3, 3))
    with pytest.raises(ValueError, match="padding"):
        draw_overlap_add1d(1, 1, padding=1)
    with pytest.raises(TypeError, match="stride"):
        draw_overlap_add1d(3, 3, stride=1.0)


# --------------------------------------------------------------------------- explorer


@settings(max_examples=15, deadline=None)  # each example builds three figures
@given(values=st.tuples(*(st.integers(lo, hi) for lo, hi in TRANSPOSED_SLIDER_RANGES.values())))
def test_explorer_figure_every_slider_setting(values):
    i, k, s, p, op, d = values
    expected = torch_counts((i, i), (k, k), s, p, op, d)
    if expected is None:
        with pytest.raises(ValueError, match="padding|output_padding"):
            transposed_explorer_figure(*values)
        return
    o = expected.shape[0]
    fig = transposed_explorer_figure(*values, output_index=(o - 1, o - 1))
    top, bottom = fig.axes
    assert len(with_gid(top, "output")) == o * o
    assert len(with_gid(top, "tap")) == k * k
    assert len(count_texts(bottom)) > 0
    assert fig.get_suptitle().endswith(f"= {o}")
    # the direct view: the ordinary convolution of an o x o input with the same settings
    back = F.conv2d(torch.zeros(1, 1, o, o), torch.zeros(1, 1, k, k), stride=s, padding=p,
                    dilation=d).shape[-1]
    fig = transposed_explorer_figure(*values, view="direct")
    (ax,) = fig.axes
    assert len(with_gid(ax, "input")) == o * o
    assert len(with_gid(ax, "output")) == back * back
    assert f"= {back}" in fig.get_suptitle()


def test_explorer_figure_bad_input():
    with pytest.raises(ValueError, match="view"):
        transposed_explorer_figure(view="sideways")
    with pytest.raises(ValueError, match="padding"):
        transposed_explorer_figure(padding=-1)
    with pytest.raises(TypeError, match="stride"):
        transposed_explorer_figure(stride=1.5)
    with pytest.raises(ValueError, match="output_index"):
        transposed_explorer_figure(output_index=(9, 9))


def test_transposed_explorer_follows_its_widgets(capsys, live):
    import ipywidgets

    w = transposed_explorer()  # 3x3 input, kernel 3, stride 2, padding 1 -> 5x5
    assert isinstance(w, ipywidgets.Widget)
    assert set(w.sliders) == {*TRANSPOSED_SLIDER_RANGES, "output_row", "output_col"}
    for name, (lo, hi) in TRANSPOSED_SLIDER_RANGES.items():
        assert (w.sliders[name].min, w.sliders[name].max) == (lo, hi)
    assert w.message.startswith("transposed: 3 → 5")
    assert w.sliders["output_row"].max == 4
    assert isinstance(w.figure, Figure) and len(w.figure.axes) == 2

    w.sliders["output_row"].value = 4
    w.view.value = "direct"  # conv 5 -> 3: the output row is clamped to 2
    assert w.message.startswith("direct: 5 → 3")
    assert w.sliders["output_row"].max == 2 and w.sliders["output_row"].value == 2
    assert len(w.figure.axes) == 1

    w.sliders["output_padding"].value = 2  # not smaller than stride 2 or dilation 1
    assert w.figure is None and "output_padding" in w.message
    w.sliders["stride"].value = 3  # now allowed: 3x3 -> (3-1)*3 - 2 + 2 + 2 + 1 = 9
    assert w.message.startswith("direct: 9 → 3")
    w.view.value = "transposed"
    assert w.message.startswith("transposed: 3 → 9")
    capsys.readouterr()  # outside a kernel, the Output widget prints to stdout


@pytest.mark.parametrize("mode", ["live", "static"])
def test_transposed_explorer_bad_initial_values(mode, request):
    request.getfixturevalue(mode)
    with pytest.raises(ValueError, match="kernel_size"):
        transposed_explorer(kernel_size=9)
    with pytest.raises(ValueError, match="view"):
        transposed_explorer(view="both")
    with pytest.raises(TypeError, match="input_size"):
        transposed_explorer(input_size="3")


@pytest.mark.parametrize("view", ["transposed", "direct"])
def test_transposed_explorer_static_is_the_initial_figure_without_widgets(
        view, static, widgets_made):
    shown = transposed_explorer(input_size=3, kernel_size=3, stride=2, padding=1, view=view)
    assert widgets_made == []  # no widget, so no widget state stored in the page
    assert isinstance(shown, StaticExplorer)
    # torch: 3x3 -> 5x5 transposed, and the direct convolution maps 5x5 back to 3x3
    assert torch_counts((3, 3), (3, 3), 2, 1, 0, 1).shape == (5, 5)
    assert shown.message == ("transposed: 3 → 5 (per side)" if view == "transposed"
                             else "direct: 5 → 3 (per side)")
    expected = transposed_explorer_figure(3, 3, 2, 1, view=view)
    assert shown.figure.get_suptitle() == expected.get_suptitle()
    assert len(shown.figure.axes) == len(expected.axes) == (2 if view == "transposed" else 1)
    for ax, ax_expected in zip(shown.figure.axes, expected.axes):
        for gid in ("input", "output", "tap", "output-highlight"):
            assert len(with_gid(ax, gid)) == len(with_gid(ax_expected, gid)), gid
    bundle = shown._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "image/png"}
    assert bundle["image/png"].startswith(b"\x89PNG")
    assert widgets_made == []


def test_transposed_explorer_static_invalid_setting_shows_the_message(static, widgets_made):
    shown = transposed_explorer(stride=2, output_padding=2)  # not smaller than the stride
    assert shown.figure is None and "output_padding" in shown.message
    assert shown._repr_mimebundle_() == {"text/plain": shown.message}
    assert widgets_made == []


def test_transposed_explorer_live_makes_widgets_and_shows_what_static_shows(
        monkeypatch, widgets_made, capsys):
    monkeypatch.delenv(STATIC_ENV, raising=False)
    w = transposed_explorer(view="direct")
    assert isinstance(w, TransposedExplorer)
    assert widgets_made.count("IntSlider") == 8 and "ToggleButtons" in widgets_made
    monkeypatch.setenv(STATIC_ENV, "1")
    shown = transposed_explorer(view="direct")
    assert shown.message == w.message
    assert shown.figure.get_suptitle() == w.figure.get_suptitle()
    capsys.readouterr()
