"""Tests of lecturepkg.viz.pooling: what the figures show is checked against torch and scipy."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from hypothesis import assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from scipy.signal import correlate2d  # noqa: E402

from lecturepkg.viz.pooling import draw_equivariance, draw_pooling, pool_windows  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _texts(ax, gid):
    return [t for t in ax.texts if t.get_gid() == gid]


def _patches(ax, gid):
    return [p for p in ax.patches if p.get_gid() == gid]


def _torch_pool(x, kernel_size, stride, mode):
    """Oracle: torch's pooling of a (H, W) array, returned as a (Ho, Wo) array."""
    t = torch.from_numpy(np.asarray(x, dtype=np.float64))[None, None]  # (1, 1, H, W)
    pool = F.max_pool2d if mode == "max" else F.avg_pool2d
    return pool(t, kernel_size, stride).numpy()[0, 0]


pool_cases = st.fixed_dictionaries(
    {
        "h": st.integers(1, 7),
        "w": st.integers(1, 7),
        "k": st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))),
        "s": st.one_of(st.none(), st.integers(1, 3), st.tuples(st.integers(1, 3),
                                                               st.integers(1, 3))),
        "mode": st.sampled_from(["max", "avg"]),
        "seed": st.integers(0, 2**31 - 1),
    }
)


@settings(max_examples=40, deadline=None)
@given(pool_cases)
def test_draw_pooling_shows_torch_values(case):
    kh, kw = case["k"] if isinstance(case["k"], tuple) else (case["k"],) * 2
    assume(kh <= case["h"] and kw <= case["w"])
    rng = np.random.default_rng(case["seed"])
    x = rng.normal(size=(case["h"], case["w"]))
    plt.close("all")
    ax = draw_pooling(x, case["k"], case["s"], case["mode"], fmt="{!r}")

    expected = _torch_pool(x, case["k"], case["s"], case["mode"])  # (Ho, Wo)
    shown = np.array([float(t.get_text()) for t in _texts(ax, "pool-output")])
    assert shown.size == expected.size  # one annotation per output cell
    assert len(_patches(ax, "pool-window")) == expected.size  # one window per output cell
    np.testing.assert_allclose(shown.reshape(expected.shape), expected, rtol=1e-12, atol=1e-12)
    # The input cells show the input, row by row.
    shown_in = np.array([float(t.get_text()) for t in _texts(ax, "pool-input")])
    np.testing.assert_array_equal(shown_in, x.ravel())


@settings(max_examples=30, deadline=None)
@given(pool_cases)
def test_windows_are_where_torch_pools(case):
    """Each drawn window covers the input block whose max is torch's output at that cell."""
    kh, kw = case["k"] if isinstance(case["k"], tuple) else (case["k"],) * 2
    assume(kh <= case["h"] and kw <= case["w"])
    x = np.arange(case["h"] * case["w"], dtype=np.float64).reshape(case["h"], case["w"])
    rng = np.random.default_rng(case["seed"])
    x = rng.permutation(x.ravel()).reshape(x.shape)  # distinct values: the max pins a cell
    plt.close("all")
    ax = draw_pooling(x, case["k"], case["s"], "max")
    expected = _torch_pool(x, case["k"], case["s"], "max").ravel()
    windows = _patches(ax, "pool-window")
    assert len(windows) == expected.size
    for rect, value in zip(windows, expected):
        x0, y0 = rect.get_x(), rect.get_y()
        c0 = int(round(x0 + rect.get_width() / 2 - kw / 2 + 0.5))
        r0 = int(round(y0 + rect.get_height() / 2 - kh / 2 + 0.5))
        assert x[r0:r0 + kh, c0:c0 + kw].shape == (kh, kw)
        assert x[r0:r0 + kh, c0:c0 + kw].max() == value


def test_circles_mark_the_winners_torch_returns():
    """In max mode, each window with a unique maximum gets a circle on it (torch's argmax)."""
    rng = np.random.default_rng(3)
    x = rng.integers(0, 4, size=(6, 7)).astype(np.float64)  # small ints: many ties
    for k, s in [(2, None), (3, 2), ((2, 3), 1)]:
        ax = draw_pooling(x, k, s, "max")
        t = torch.from_numpy(x)[None, None]
        _, idx = F.max_pool2d(t, k, s, return_indices=True)  # flat indices into (H, W)
        windows = pool_windows(x.shape, k, s)
        kh, kw = k if isinstance(k, tuple) else (k, k)
        unique = [np.count_nonzero(x[r0:r0 + kh, c0:c0 + kw] == x[r0:r0 + kh, c0:c0 + kw].max())
                  == 1 for _, _, r0, c0 in windows]
        centres = [p.center for p in _patches(ax, "pool-argmax")]
        expected = [divmod(int(i), x.shape[1]) for i, u in zip(idx.ravel(), unique) if u]
        assert len(centres) == sum(unique) > 0
        assert [(int(round(cy)), int(round(cx))) for cx, cy in centres] == expected
        assert not _patches(draw_pooling(x, k, s, "avg"), "pool-argmax")
        plt.close("all")


def test_draw_pooling_1d_matches_max_pool1d():
    x = np.array([1.0, 4.0, 2.0, 0.0, 3.0, 3.0, 5.0, 1.0, 7.0])
    for mode, pool in (("max", F.max_pool1d), ("avg", F.avg_pool1d)):
        ax = draw_pooling(x, 2, mode=mode, fmt="{!r}")
        expected = pool(torch.from_numpy(x)[None, None], 2).numpy().ravel()
        shown = [float(t.get_text()) for t in _texts(ax, "pool-output")]
        np.testing.assert_array_equal(shown, expected)
        plt.close("all")


def test_default_format_rounds_to_three_digits():
    x = np.array([[1.0, 2.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    ax = draw_pooling(x, 3, mode="avg")
    assert [t.get_text() for t in _texts(ax, "pool-output")] == ["0.333"]


def test_annotate_input_false_writes_only_the_output():
    ax = draw_pooling(np.arange(16.0).reshape(4, 4), 2, annotate_input=False)
    assert not _texts(ax, "pool-input") and len(_texts(ax, "pool-output")) == 4


def test_draw_pooling_uses_given_axes():
    fig, ax = plt.subplots()
    out = draw_pooling(np.ones((4, 4)), 2, ax=ax)
    assert out is ax and fig.axes == [ax]


def test_pool_windows_agree_with_unfold():
    """pool_windows lists the blocks that torch's unfold extracts, in the same order."""
    x = torch.arange(7 * 8, dtype=torch.float64).reshape(1, 1, 7, 8)
    for k, s in [(2, None), (3, 2), ((2, 3), (1, 2))]:
        stride = k if s is None else s
        cols = F.unfold(x, k, stride=stride)[0]  # (kh*kw, L)
        kh, kw = k if isinstance(k, tuple) else (k, k)
        wins = pool_windows((7, 8), k, s)
        assert len(wins) == cols.shape[1]
        for n, (_, _, r0, c0) in enumerate(wins):
            block = x[0, 0, r0:r0 + kh, c0:c0 + kw].reshape(-1)
            assert torch.equal(block, cols[:, n])


@pytest.mark.parametrize(
    "kwargs, error, name",
    [
        (dict(x=[[1, 2], [3, 4]]), TypeError, "x"),
        (dict(x=np.ones((2, 2, 2))), ValueError, "x"),
        (dict(x=np.ones((0, 3))), ValueError, "x"),
        (dict(x=np.ones((4, 4)), mode="min"), ValueError, "mode"),
        (dict(x=np.ones((4, 4)), kernel_size=5), ValueError, "kernel_size"),
        (dict(x=np.ones((4, 4)), kernel_size=0), ValueError, "kernel_size"),
        (dict(x=np.ones((4, 4)), kernel_size=(2, 2, 2)), ValueError, "kernel_size"),
        (dict(x=np.ones(6), kernel_size=(2, 2)), ValueError, "kernel_size"),
        (dict(x=np.ones((4, 4)), stride="2"), TypeError, "stride"),
        (dict(x=np.ones((4, 4)), stride=0), ValueError, "stride"),
        (dict(x=np.ones((4, 4)), ax="axes"), TypeError, "ax"),
        (dict(x=np.ones((4, 4)), fmt=3), TypeError, "fmt"),
        (dict(x=np.ones((4, 4)), fmt="{} {}"), ValueError, "fmt"),
        (dict(x=np.ones((4, 4)), annotate_input="yes"), TypeError, "annotate_input"),
        (dict(x=np.ones((4, 4)), cmap="no-such-map"), ValueError, "no-such-map"),
    ],
)
def test_draw_pooling_bad_input(kwargs, error, name):
    with pytest.raises(error, match=name):
        draw_pooling(**kwargs)


@pytest.mark.parametrize(
    "args, error, name",
    [
        (((4.5, 4), 2), TypeError, "input_size"),
        (((4, 4), 5), ValueError, "kernel_size"),
        (((4, 4), 2, -1), ValueError, "stride"),
    ],
)
def test_pool_windows_bad_input(args, error, name):
    with pytest.raises(error, match=name):
        pool_windows(*args)


def _wrap_corr(kernel):
    """Oracle feature map: scipy's circular cross-correlation, output the size of the input."""
    return lambda a: correlate2d(a, kernel, mode="same", boundary="wrap")


def test_draw_equivariance_shows_the_five_arrays():
    rng = np.random.default_rng(0)
    x, kernel = rng.normal(size=(12, 10)), rng.normal(size=(3, 3))
    f, t = _wrap_corr(kernel), (lambda a: np.roll(a, (2, -3), axis=(0, 1)))
    axes = draw_equivariance(x, f, t)
    shown = [a.get_images()[0].get_array() for a in axes]
    expected = [x, t(x), f(x), f(t(x))]
    for got, want in zip(shown, expected):
        np.testing.assert_array_equal(np.asarray(got), want)
    # Circular correlation commutes with circular shifts: the gap panel is zero.
    assert np.abs(np.asarray(shown[4])).max() < 1e-12
    assert "max = " in axes[4].get_title()


def test_draw_equivariance_gap_is_nonzero_for_rotations():
    rng = np.random.default_rng(1)
    x, kernel = rng.normal(size=(9, 9)), rng.normal(size=(3, 3))
    f = _wrap_corr(kernel)
    axes = draw_equivariance(x, f, np.rot90)
    gap = np.asarray(axes[4].get_images()[0].get_array())
    np.testing.assert_allclose(gap, np.abs(f(np.rot90(x)) - np.rot90(f(x))))
    assert gap.max() > 0.1


def test_draw_equivariance_uses_given_axes():
    fig, axes = plt.subplots(1, 5)
    out = draw_equivariance(np.eye(4), lambda a: a, np.fliplr, axes=axes)
    assert list(out) == list(axes) and len(fig.axes) == 5


@pytest.mark.parametrize(
    "kwargs, error, name",
    [
        (dict(x=[[0.0]]), TypeError, "x"),
        (dict(x=np.ones(5)), ValueError, "x"),
        (dict(f="conv"), TypeError, "f"),
        (dict(t=None), TypeError, "t"),
        (dict(axes=[None] * 5), ValueError, "axes"),
        (dict(f=lambda a: a.ravel()), ValueError, "f\\(x\\)"),
        (dict(f=lambda a: a[:, :3]), ValueError, "f\\(t\\(x\\)\\)"),
    ],
)
def test_draw_equivariance_bad_input(kwargs, error, name):
    args = dict(x=np.ones((4, 5)), f=lambda a: a, t=np.transpose)
    args.update(kwargs)
    with pytest.raises(error, match=name):
        draw_equivariance(**args)
