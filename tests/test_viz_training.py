"""Tests of lecturepkg.viz.training: the figures show exactly the data they are given."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from lecturepkg.train import History  # noqa: E402
from lecturepkg.viz.training import plot_history, plot_misclassified  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _lines(ax):
    return {line.get_gid(): line for line in ax.get_lines()}


def _history(epochs, with_val, seed=0):
    rng = np.random.default_rng(seed)
    h = History(
        train_loss=list(rng.uniform(0, 3, epochs)),
        train_acc=list(rng.uniform(0, 1, epochs)),
    )
    if with_val:
        h.val_loss = list(rng.uniform(0, 3, epochs))
        h.val_acc = list(rng.uniform(0, 1, epochs))
    return h


# --------------------------------------------------------------------------- plot_history


@settings(max_examples=30, deadline=None)
@given(epochs=st.integers(1, 30), with_val=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_plot_history_draws_every_recorded_curve(epochs, with_val, seed):
    plt.close("all")  # hypothesis runs many examples inside one test: keep few figures open
    h = _history(epochs, with_val, seed)
    ax_loss, ax_acc = plot_history(h)
    assert ax_loss.figure is ax_acc.figure and ax_loss is not ax_acc
    expected = {
        ax_loss: {"train_loss": h.train_loss, "val_loss": h.val_loss},
        ax_acc: {"train_acc": h.train_acc, "val_acc": h.val_acc},
    }
    for ax, curves in expected.items():
        lines = _lines(ax)
        wanted = {gid: ys for gid, ys in curves.items() if ys}
        assert set(lines) == set(wanted)
        assert len(ax.get_lines()) == (2 if with_val else 1)
        for gid, ys in wanted.items():
            np.testing.assert_array_equal(lines[gid].get_xdata(), np.arange(1, epochs + 1))
            np.testing.assert_array_equal(lines[gid].get_ydata(), ys)
        assert ax.get_xlabel() == "epoch"
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert labels == (["train", "validation"] if with_val else ["train"])


def test_plot_history_uses_the_given_axes():
    fig, axes = plt.subplots(1, 2)
    h = _history(5, True)
    out = plot_history(h, ax=axes)
    assert out == (axes[0], axes[1])
    assert len(fig.axes) == 2
    assert "loss" in axes[0].get_ylabel() and "accuracy" in axes[1].get_ylabel()
    out = plot_history(h, ax=[axes[1], axes[0]])  # a list works too, in the given order
    assert out == (axes[1], axes[0])


def test_plot_history_marks_the_best_validation_accuracy():
    h = History(train_loss=[1.0, 0.5, 0.4], train_acc=[0.5, 0.8, 0.9],
                val_loss=[1.1, 0.6, 0.7], val_acc=[0.4, 0.85, 0.8])
    _, ax_acc = plot_history(h)
    notes = [t for t in ax_acc.texts if "best validation" in t.get_text()]
    assert len(notes) == 1 and "0.850" in notes[0].get_text()
    assert notes[0].xy == (2, 0.85)


def test_plot_history_rejects_bad_input():
    good = _history(3, True)
    with pytest.raises(TypeError, match="history"):
        plot_history({"train_loss": [1.0], "train_acc": [0.5]})
    with pytest.raises(ValueError, match="history"):
        plot_history(History())
    with pytest.raises(ValueError, match="history.train_acc"):
        plot_history(History(train_loss=[1.0, 0.5], train_acc=[0.5]))
    with pytest.raises(ValueError, match="history.val_loss"):
        plot_history(History(train_loss=[1.0, 0.5], train_acc=[0.5, 0.6], val_loss=[1.0],
                             val_acc=[0.5, 0.6]))
    with pytest.raises(ValueError, match="history.val_acc"):
        plot_history(History(train_loss=[1.0], train_acc=[0.5], val_loss=[1.0],
                             val_acc=[0.5, 0.6]))
    _, one_ax = plt.subplots()
    with pytest.raises(TypeError, match="ax"):
        plot_history(good, ax=one_ax)
    with pytest.raises(TypeError, match="ax"):
        plot_history(good, ax=[one_ax, "not an axes"])


# --------------------------------------------------------------------------- plot_misclassified


def _titles(fig):
    return [ax.get_title() for ax in fig.axes]


def _shown_images(fig):
    out = []
    for ax in fig.axes:
        imgs = [im for im in ax.get_images() if im.get_gid() == "misclassified"]
        assert len(imgs) <= 1
        out.extend(im.get_array() for im in imgs)
    return out


cases = st.fixed_dictionaries(
    {
        "n": st.integers(1, 40),
        "classes": st.integers(2, 5),
        "max_images": st.integers(1, 30),
        "ncols": st.integers(1, 9),
        "channel_dim": st.booleans(),
        "as_tensor": st.booleans(),
        "seed": st.integers(0, 2**31 - 1),
    }
)


@settings(max_examples=40, deadline=None)
@given(cases)
def test_plot_misclassified_shows_exactly_the_errors(case):
    plt.close("all")  # hypothesis runs many examples inside one test: keep few figures open
    rng = np.random.default_rng(case["seed"])
    n, k = case["n"], case["classes"]
    images = rng.uniform(size=(n, 1, 6, 5) if case["channel_dim"] else (n, 6, 5))
    labels = rng.integers(0, k, n)
    preds = rng.integers(0, k, n)
    args = (images, labels, preds)
    if case["as_tensor"]:
        args = tuple(torch.from_numpy(a) for a in args)
    fig = plot_misclassified(*args, max_images=case["max_images"], ncols=case["ncols"])

    # Oracle: a plain loop over the samples, written independently of the implementation.
    errors = [i for i in range(n) if labels[i] != preds[i]][: case["max_images"]]
    n_wrong = sum(int(a != b) for a, b in zip(labels, preds))
    assert f"{n_wrong} of {n}" in fig._suptitle.get_text()
    if not errors:
        assert len(fig.axes) == 1 and _shown_images(fig) == []
        assert "no misclassified" in fig.axes[0].texts[0].get_text()
        return
    assert len(fig.axes) == len(errors)
    assert _titles(fig) == [f"{labels[i]} \u2192 {preds[i]}" for i in errors]
    shown = _shown_images(fig)
    assert len(shown) == len(errors)
    for arr, i in zip(shown, errors):
        np.testing.assert_array_equal(arr, images[i].reshape(6, 5))
    # The grid has at most ncols columns.
    cols = {round(ax.get_position().x0, 6) for ax in fig.axes}
    assert len(cols) <= case["ncols"]


def test_plot_misclassified_uses_class_names_and_colour_images():
    rng = np.random.default_rng(1)
    images = rng.uniform(size=(4, 3, 5, 7))  # (N, C, H, W), colour
    labels = np.array([0, 1, 2, 1])
    preds = np.array([0, 2, 2, 0])
    fig = plot_misclassified(images, labels, preds, class_names=["cat", "dog", "owl"])
    assert _titles(fig) == ["dog \u2192 owl", "dog \u2192 cat"]
    shown = _shown_images(fig)
    np.testing.assert_allclose(shown[0], np.moveaxis(images[1], 0, -1))
    np.testing.assert_allclose(shown[1], np.moveaxis(images[3], 0, -1))


def test_plot_misclassified_redraws_on_a_given_figure():
    fig = plt.figure()
    fig.add_subplot(1, 1, 1)  # to be cleared
    out = plot_misclassified(np.zeros((3, 4, 4)), np.array([0, 1, 2]), np.array([1, 1, 0]), fig=fig)
    assert out is fig
    assert _titles(fig) == ["0 \u2192 1", "2 \u2192 0"]


def test_plot_misclassified_rejects_bad_input():
    images = np.zeros((3, 4, 4))
    labels = np.array([0, 1, 2])
    preds = np.array([1, 1, 0])
    with pytest.raises(TypeError, match="images"):
        plot_misclassified(images.tolist(), labels, preds)
    with pytest.raises(ValueError, match="images"):
        plot_misclassified(np.zeros((3, 16)), labels, preds)
    with pytest.raises(ValueError, match="images"):
        plot_misclassified(np.zeros((3, 2, 4, 4)), labels, preds)  # 2 channels
    with pytest.raises(ValueError, match="labels"):
        plot_misclassified(images, labels[:2], preds)
    with pytest.raises(ValueError, match="preds"):
        plot_misclassified(images, labels, preds[:, None])
    with pytest.raises(TypeError, match="preds"):
        plot_misclassified(images, labels, preds.astype(float))
    with pytest.raises(TypeError, match="labels"):
        plot_misclassified(images, list(labels), preds)
    with pytest.raises(ValueError, match="max_images"):
        plot_misclassified(images, labels, preds, max_images=0)
    with pytest.raises(TypeError, match="max_images"):
        plot_misclassified(images, labels, preds, max_images=2.5)
    with pytest.raises(ValueError, match="ncols"):
        plot_misclassified(images, labels, preds, ncols=0)
    with pytest.raises(ValueError, match="class_names"):
        plot_misclassified(images, labels, preds, class_names=["a", "b"])
    with pytest.raises(TypeError, match="class_names"):
        plot_misclassified(images, labels, preds, class_names="abc")
    with pytest.raises(ValueError, match="class_names"):
        plot_misclassified(images, np.array([-1, 1, 2]), preds, class_names=["a", "b", "c"])
    with pytest.raises(TypeError, match="fig"):
        plot_misclassified(images, labels, preds, fig=plt.subplots()[1])
