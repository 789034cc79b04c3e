"""Segmentation scores against scikit-learn's on random masks, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn.metrics
import torch

from lecturepkg import metrics

SCORES = ["precision_score", "recall_score", "f1_score", "jaccard_score"]
SHAPES = [(7,), (3, 5), (4, 1, 6, 9), (2, 1, 16, 16)]


def _random_masks(seed, shape, p_true=0.3, p_pred=0.4):
    rng = np.random.default_rng(seed)
    return rng.random(shape) < p_true, rng.random(shape) < p_pred


@pytest.mark.parametrize("name", SCORES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", range(5))
def test_scores_match_scikit_learn_on_random_masks(name, shape, seed):
    true, pred = _random_masks(seed, shape)
    expected = getattr(sklearn.metrics, name)(true.ravel(), pred.ravel(), zero_division=0)
    for kind in (bool, np.int64, np.float32):  # bool, 0/1 ints, 0./1. floats
        got = getattr(metrics, name)(true.astype(kind), pred.astype(kind))
        assert isinstance(got, float)
        assert got == pytest.approx(expected, rel=1e-12, abs=0)
    got = getattr(metrics, name)(torch.from_numpy(true), torch.from_numpy(pred).float())
    assert got == pytest.approx(expected, rel=1e-12, abs=0)


@pytest.mark.parametrize("name", SCORES)
@pytest.mark.parametrize("zero_division", [0.0, 1.0])
@pytest.mark.parametrize(
    "true, pred",
    [([0, 0, 0], [0, 0, 0]), ([0, 1, 0], [0, 0, 0]), ([0, 0, 0], [1, 0, 0])],
    ids=["both-empty", "nothing-predicted", "nothing-true"],
)
def test_zero_division_as_scikit_learn(name, zero_division, true, pred):
    expected = getattr(sklearn.metrics, name)(true, pred, zero_division=zero_division)
    got = getattr(metrics, name)(np.array(true), np.array(pred), zero_division=zero_division)
    assert got == expected


@pytest.mark.parametrize("name", SCORES)
def test_nan_for_zero_division(name):
    empty = np.zeros((2, 2), dtype=bool)
    assert np.isnan(getattr(metrics, name)(empty, empty, zero_division=float("nan")))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", range(3))
def test_confusion_counts_match_scikit_learn(shape, seed):
    true, pred = _random_masks(seed, shape)
    (tn, fp), (fn, tp) = sklearn.metrics.confusion_matrix(
        true.ravel(), pred.ravel(), labels=[0, 1]
    )
    counts = metrics.confusion_counts(torch.from_numpy(true), torch.from_numpy(pred))
    assert counts == (tp, fp, fn, tn)
    assert (counts.tp, counts.fp, counts.fn, counts.tn) == (tp, fp, fn, tn)
    assert all(type(c) is int for c in counts)


def test_dice_and_iou_on_sets():
    """F1 is the Dice coefficient 2|P∩T| / (|P| + |T|), IoU is |P∩T| / |P∪T|, and
    IoU = F1 / (2 - F1), checked with Python sets of pixel positions."""
    true, pred = _random_masks(11, (6, 8))
    t = {tuple(i) for i in np.argwhere(true)}
    p = {tuple(i) for i in np.argwhere(pred)}
    f1, iou = metrics.f1_score(true, pred), metrics.jaccard_score(true, pred)
    assert f1 == pytest.approx(2 * len(p & t) / (len(p) + len(t)))
    assert iou == pytest.approx(len(p & t) / len(p | t))
    assert iou == pytest.approx(f1 / (2 - f1))


@pytest.mark.parametrize("name", SCORES + ["confusion_counts"])
def test_bad_inputs_raise_clear_errors(name):
    f = getattr(metrics, name)
    ok = np.array([0, 1, 1])
    with pytest.raises(TypeError, match="y_true must be a torch.Tensor or numpy.ndarray"):
        f([0, 1, 1], ok)
    with pytest.raises(TypeError, match="y_pred must be a torch.Tensor or numpy.ndarray"):
        f(ok, 1)
    with pytest.raises(ValueError, match=r"y_pred must contain only 0 and 1.*probs > 0.5"):
        f(ok, np.array([0.2, 0.7, 1.0]))
    with pytest.raises(ValueError, match="y_true must contain only 0 and 1"):
        f(torch.tensor([0, 2, 1]), ok)
    with pytest.raises(ValueError, match="same shape"):
        f(ok, np.array([[0, 1, 1]]))  # (3,) vs (1, 3): no broadcasting
    with pytest.raises(ValueError, match="y_true must not be empty"):
        f(np.zeros(0), np.zeros(0))
    with pytest.raises(TypeError, match="numeric or bool dtype"):
        f(np.array(["0", "1", "1"]), ok)


@pytest.mark.parametrize("name", SCORES)
def test_bad_zero_division_raises(name):
    f = getattr(metrics, name)
    ok = np.array([0, 1, 1])
    with pytest.raises(ValueError, match="zero_division must be 0.0, 1.0 or nan"):
        f(ok, ok, zero_division=0.5)
    with pytest.raises(TypeError, match="zero_division must be"):
        f(ok, ok, zero_division="warn")
