"""Scores of a binary segmentation: precision, recall, F1 (Dice) and IoU (Jaccard).

A segmentation network predicts a label for every pixel; thresholding its road
probabilities at 0.5 gives a binary mask ``y_pred`` to compare with the true mask ``y_true``.
Over all pixels of all tiles, count

- true positives ``tp``: road predicted where there is road,
- false positives ``fp``: road predicted where there is none,
- false negatives ``fn``: road missed,
- true negatives ``tn``: background recognised as background.

Accuracy, ``(tp + tn) / total``, says little when roads cover a tenth of the tiles (an
empty prediction scores 0.9), so segmentation is scored on the road pixels only:

- precision ``tp / (tp + fp)``: how much of the predicted road is road;
- recall ``tp / (tp + fn)``: how much of the road was found;
- F1 ``2 tp / (2 tp + fp + fn)``, the harmonic mean of the two; on sets it is the Dice
  coefficient ``2 |P ∩ T| / (|P| + |T|)``;
- IoU (intersection over union, the Jaccard index) ``tp / (tp + fp + fn) = |P ∩ T| / |P ∪ T|``.

IoU and F1 rank predictions the same way (``IoU = F1 / (2 - F1)``), but IoU is the
stricter number. The functions take scikit-learn's names and argument order
(``y_true`` first), pool the pixels of all images (scikit-learn's ``average="binary"`` on
the flattened masks), and give ``zero_division`` when a ratio is 0 / 0 (for example the
recall of a tile without roads).
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np
import torch

__all__ = [
    "ConfusionCounts",
    "confusion_counts",
    "precision_score",
    "recall_score",
    "f1_score",
    "jaccard_score",
]


class ConfusionCounts(NamedTuple):
    """Pixel counts of a binary prediction: true/false positives and negatives."""

    tp: int
    fp: int
    fn: int
    tn: int


def _binary(name: str, mask) -> np.ndarray:
    """``mask`` as a boolean numpy array; only 0/1 (or bool) values are accepted."""
    if isinstance(mask, torch.Tensor):
        mask = mask.detach().cpu().numpy()
    elif not isinstance(mask, np.ndarray):
        raise TypeError(
            f"{name} must be a torch.Tensor or numpy.ndarray of 0/1 values, "
            f"got {type(mask).__name__}"
        )
    if not (np.issubdtype(mask.dtype, np.number) or mask.dtype == np.bool_):
        raise TypeError(f"{name} must have a numeric or bool dtype, got {mask.dtype}")
    if mask.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {mask.shape}")
    if mask.dtype != np.bool_:
        bad = (mask != 0) & (mask != 1)
        if bad.any():
            value = mask[bad].flat[0]
            raise ValueError(
                f"{name} must contain only 0 and 1 (threshold probabilities first, e.g. "
                f"probs > 0.5), found {value!r}"
            )
    return mask.astype(bool)


def _check_zero_division(zero_division) -> float:
    if isinstance(zero_division, bool) or not isinstance(zero_division, numbers.Real):
        raise TypeError(f"zero_division must be 0.0, 1.0 or nan, got {zero_division!r}")
    value = float(zero_division)
    if not (value in (0.0, 1.0) or np.isnan(value)):
        raise ValueError(f"zero_division must be 0.0, 1.0 or nan, got {zero_division!r}")
    return value


def confusion_counts(y_true, y_pred) -> ConfusionCounts:
    """Count true and false positives and negatives over all pixels of two binary masks.

    Parameters
    ----------
    y_true, y_pred:
        Tensors or arrays of the same shape, for example ``(N, 1, H, W)``, holding only 0
        and 1 (or ``True`` and ``False``); 1 is the positive class (road).

    Returns
    -------
    ConfusionCounts
        ``(tp, fp, fn, tn)`` as Python ints; they add up to the number of pixels.

    Examples
    --------
    >>> confusion_counts(np.array([1, 1, 0, 0]), np.array([1, 0, 1, 0]))
    ConfusionCounts(tp=1, fp=1, fn=1, tn=1)
    """
    true, pred = _binary("y_true", y_true), _binary("y_pred", y_pred)
    if true.shape != pred.shape:
        raise ValueError(
            f"y_true and y_pred must have the same shape, got {true.shape} and {pred.shape}"
        )
    tp = int(np.count_nonzero(true & pred))
    fp = int(np.count_nonzero(~true & pred))
    fn = int(np.count_nonzero(true & ~pred))
    return ConfusionCounts(tp, fp, fn, true.size - tp - fp - fn)


def _ratio(numerator: int, denominator: int, zero_division: float) -> float:
    return numerator / denominator if denominator else zero_division


def precision_score(y_true, y_pred, *, zero_division: float = 0.0) -> float:
    """Precision ``tp / (tp + fp)``: the fraction of predicted positives that are positive.

    ``zero_division`` is returned when nothing is predicted positive. Same arguments as
    :func:`confusion_counts`.
    """
    zero_division = _check_zero_division(zero_division)
    c = confusion_counts(y_true, y_pred)
    return _ratio(c.tp, c.tp + c.fp, zero_division)


def recall_score(y_true, y_pred, *, zero_division: float = 0.0) -> float:
    """Recall ``tp / (tp + fn)``: the fraction of true positives that were found.

    ``zero_division`` is returned when ``y_true`` has no positive. Same arguments as
    :func:`confusion_counts`.
    """
    zero_division = _check_zero_division(zero_division)
    c = confusion_counts(y_true, y_pred)
    return _ratio(c.tp, c.tp + c.fn, zero_division)


def f1_score(y_true, y_pred, *, zero_division: float = 0.0) -> float:
    """F1 score ``2 tp / (2 tp + fp + fn)``, equal to the Dice coefficient of the masks.

    The harmonic mean of precision and recall. ``zero_division`` is returned when both
    masks are empty. Same arguments as :func:`confusion_counts`.
    """
    zero_division = _check_zero_division(zero_division)
    c = confusion_counts(y_true, y_pred)
    return _ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn, zero_division)


def jaccard_score(y_true, y_pred, *, zero_division: float = 0.0) -> float:
    """Intersection over union (IoU, the Jaccard index) ``tp / (tp + fp + fn)``.

    ``zero_division`` is returned when both masks are empty. Same arguments as
    :func:`confusion_counts`.

    Examples
    --------
    >>> truth = np.array([[0, 1, 1], [0, 1, 1]])
    >>> guess = np.array([[1, 1, 1], [0, 0, 1]])
    >>> jaccard_score(truth, guess)  # 3 pixels in both, 5 in either
    0.6
    """
    zero_division = _check_zero_division(zero_division)
    c = confusion_counts(y_true, y_pred)
    return _ratio(c.tp, c.tp + c.fp + c.fn, zero_division)
