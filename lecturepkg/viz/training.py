"""Figures for a training run: learning curves and the examples a classifier gets wrong.

- :func:`plot_history` draws the per-epoch loss and accuracy recorded by
  :func:`lecturepkg.train.fit` (a :class:`~lecturepkg.train.History`), training and
  validation side by side, the way learning curves are read in Goodfellow, Bengio &
  Courville, *Deep Learning* (2016), section 7.8 (early stopping) and section 5.2 (under- and
  overfitting).
- :func:`plot_misclassified` draws a grid of the images whose predicted class differs from
  the true one, each titled ``"true → predicted"``: looking at the errors is the quickest
  check that a model fails for understandable reasons.

Both functions are headless: they draw on matplotlib ``Figure``/``Axes`` objects and never
open a window. Lines and images carry ``gid`` labels (``"train_loss"``, ``"val_loss"``,
``"train_acc"``, ``"val_acc"``, ``"misclassified"``) so that tests can read back what is drawn.
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from lecturepkg._checks import check_int
from lecturepkg.train import History

__all__ = ["plot_history", "plot_misclassified"]

ARROW = "\u2192"  # the "→" in "true → predicted"


# --------------------------------------------------------------------------- learning curves


def _check_history(history) -> History:
    if not isinstance(history, History):
        raise TypeError(
            f"history must be a lecturepkg.train.History (what fit returns), "
            f"got {type(history).__name__}"
        )
    epochs = len(history.train_loss)
    if epochs == 0:
        raise ValueError("history must hold at least one epoch, got an empty History")
    if len(history.train_acc) != epochs:
        raise ValueError(
            f"history.train_acc must have one value per epoch ({epochs}), "
            f"got {len(history.train_acc)}"
        )
    for name in ("val_loss", "val_acc"):
        n = len(getattr(history, name))
        if n not in (0, epochs):
            raise ValueError(
                f"history.{name} must be empty or have one value per epoch ({epochs}), got {n}"
            )
    return history


def _check_two_axes(ax) -> tuple[Axes, Axes]:
    if ax is None:
        _, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(7.5, 3.2), layout="constrained")
        return ax_loss, ax_acc
    axes = list(np.ravel(ax)) if isinstance(ax, (list, tuple, np.ndarray)) else [ax]
    if len(axes) != 2 or not all(isinstance(a, Axes) for a in axes):
        raise TypeError(
            "ax must be None or a sequence of two matplotlib Axes (loss panel, accuracy panel), "
            f"got {ax!r}"
        )
    return axes[0], axes[1]


def plot_history(history: History, ax: Sequence[Axes] | None = None) -> tuple[Axes, Axes]:
    """Learning curves of a training run: loss (left panel) and accuracy (right panel).

    Parameters
    ----------
    history:
        The :class:`~lecturepkg.train.History` returned by :func:`lecturepkg.train.fit`.
        Validation curves are drawn when ``history.val_loss``/``val_acc`` are not empty.
    ax:
        ``None`` (a new figure with two panels) or two Axes ``(ax_loss, ax_acc)``.

    Returns
    -------
    (ax_loss, ax_acc)
        The two panels; epochs are numbered from 1 on the horizontal axes.
    """
    history = _check_history(history)
    ax_loss, ax_acc = _check_two_axes(ax)
    epochs = np.arange(1, history.epochs + 1)
    panels = [
        (ax_loss, "loss", "cross-entropy loss", history.train_loss, history.val_loss),
        (ax_acc, "acc", "accuracy", history.train_acc, history.val_acc),
    ]
    for axis, key, ylabel, train, val in panels:
        axis.plot(epochs, train, marker=".", label="train", gid=f"train_{key}")
        if val:
            axis.plot(epochs, val, marker=".", label="validation", gid=f"val_{key}")
        axis.set_xlabel("epoch")
        axis.set_ylabel(ylabel)
        axis.grid(alpha=0.3)
        axis.legend()
    ax_loss.set_title("loss per epoch")
    ax_acc.set_title("accuracy per epoch")
    if history.val_acc:
        best = int(np.argmax(history.val_acc))
        ax_acc.annotate(
            f"best validation: {history.val_acc[best]:.3f}",
            xy=(epochs[best], history.val_acc[best]),
            xytext=(0.35, 0.3),
            textcoords="axes fraction",
            arrowprops={"arrowstyle": "->", "color": "0.4"},
        )
    return ax_loss, ax_acc


# --------------------------------------------------------------------------- misclassified


def _to_numpy(name: str, value) -> np.ndarray:
    """Accept a numpy array or a torch tensor (on any device); return a numpy array."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if not isinstance(value, np.ndarray):
        raise TypeError(
            f"{name} must be a numpy.ndarray or a torch.Tensor, got {type(value).__name__}"
        )
    if not (np.issubdtype(value.dtype, np.number) or value.dtype == np.bool_):
        raise TypeError(f"{name} must have a numeric dtype, got {value.dtype}")
    return value


def _check_images(images) -> np.ndarray:
    """Return images as ``(N, H, W)`` (grey) or ``(N, H, W, 3)`` (colour) for ``imshow``."""
    images = _to_numpy("images", images)
    if images.ndim == 3:  # (N, H, W)
        return images
    if images.ndim == 4 and images.shape[1] in (1, 3):  # (N, C, H, W), channels first like torch
        return images[:, 0] if images.shape[1] == 1 else np.moveaxis(images, 1, -1)
    raise ValueError(
        "images must have shape (N, H, W) or (N, C, H, W) with C = 1 or 3, "
        f"got {tuple(images.shape)}"
    )


def _check_labels(name: str, value, n: int) -> np.ndarray:
    value = _to_numpy(name, value)
    if value.ndim != 1 or value.shape[0] != n:
        raise ValueError(
            f"{name} must have shape ({n},), one class per image, got {tuple(value.shape)}"
        )
    if not np.issubdtype(value.dtype, np.integer):
        raise TypeError(f"{name} must hold integer class indices, got dtype {value.dtype}")
    return value


def _check_class_names(class_names, labels: np.ndarray, preds: np.ndarray):
    if class_names is None:
        return None
    if isinstance(class_names, str) or not isinstance(class_names, Sequence):
        raise TypeError(
            f"class_names must be a sequence of strings or None, got {class_names!r}"
        )
    lo = int(min(labels.min(initial=0), preds.min(initial=0)))
    hi = int(max(labels.max(initial=0), preds.max(initial=0)))
    if lo < 0 or hi >= len(class_names):
        raise ValueError(
            f"class_names has {len(class_names)} names, so labels and preds must lie in "
            f"[0, {len(class_names) - 1}], got classes from {lo} to {hi}"
        )
    return list(class_names)


def plot_misclassified(
    images,
    labels,
    preds,
    max_images: int = 24,
    *,
    ncols: int = 5,
    class_names: Sequence[str] | None = None,
    cmap: str = "gray_r",
    fig: Figure | None = None,
) -> Figure:
    """A grid of the images with ``preds != labels``, each titled ``"true → predicted"``.

    Parameters
    ----------
    images:
        ``(N, H, W)`` or ``(N, C, H, W)`` with ``C`` = 1 or 3 (numpy array or torch tensor).
    labels, preds:
        ``(N,)`` integer class indices: the true classes and the model's predictions.
    max_images:
        At most this many errors are drawn, in their order in ``images``.
    ncols:
        Number of columns of the grid.
    class_names:
        Optional names shown instead of class indices (``class_names[k]`` for class ``k``).
    cmap:
        Colour map for grey images (``"gray_r"``: dark ink on white paper).
    fig:
        Figure to draw on (cleared first); a new one by default.

    Returns
    -------
    Figure
        One Axes per drawn image, in order; the suptitle says how many of the ``N`` images are
        misclassified. With no error at all, a single Axes says so.
    """
    images = _check_images(images)
    n = images.shape[0]
    labels = _check_labels("labels", labels, n)
    preds = _check_labels("preds", preds, n)
    max_images = check_int("max_images", max_images, minimum=1)
    ncols = check_int("ncols", ncols, minimum=1)
    names = _check_class_names(class_names, labels, preds)
    if fig is None:
        fig = plt.figure(layout="constrained")
    elif not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure or None, got {type(fig).__name__}")
    else:
        fig.clear()

    wrong = np.flatnonzero(labels != preds)  # indices of the errors, in order
    shown = wrong[:max_images]
    fig.suptitle(f"misclassified: {len(wrong)} of {n} (true {ARROW} predicted)")
    if len(shown) == 0:
        ax = fig.add_subplot(1, 1, 1)
        ax.text(0.5, 0.5, "no misclassified images", ha="center", va="center")
        ax.set_axis_off()
        fig.set_size_inches(4, 1.5)
        return fig

    cols = min(ncols, len(shown))
    rows = -(-len(shown) // cols)  # ceil division
    fig.set_size_inches(1.3 * cols + 0.4, 1.45 * rows + 0.5)
    grey = images.ndim == 3
    lo, hi = float(np.min(images[shown])), float(np.max(images[shown]))
    for k, i in enumerate(shown):
        ax = fig.add_subplot(rows, cols, k + 1)
        true, pred = int(labels[i]), int(preds[i])
        if grey:
            ax.imshow(images[i], cmap=cmap, vmin=lo, vmax=hi, gid="misclassified")
        else:  # colour: rescale to [0, 1] only when the values fall outside it
            rgb = images[i] if 0.0 <= lo and hi <= 1.0 else (images[i] - lo) / max(hi - lo, 1e-12)
            ax.imshow(rgb, gid="misclassified")
        t, p = (names[true], names[pred]) if names else (true, pred)
        ax.set_title(f"{t} {ARROW} {p}", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    return fig
