"""Grading tests of exercise ``mask_loss``: Mask R-CNN's mask loss on the true class only.

Oracles: torchvision's ``maskrcnn_loss`` (``torchvision.models.detection.roi_heads``), given
each region's target mask as a ground-truth mask and a proposal that covers it pixel for pixel
(the box ``(-0.5, -0.5, M - 0.5, M - 0.5)``, whose RoIAlign projection samples every pixel at
its centre, so the targets reach the loss unchanged); and, for logits in the hundreds, where a
sigmoid rounds to 0 or 1, the stable closed form ``max(x, 0) - x t + log(1 + exp(-|x|))``
computed with numpy.
"""

import numpy as np
import pytest
import torch
from torchvision.models.detection.roi_heads import maskrcnn_loss

from lecturepkg.grading.feedback import expect_array, expect_raises
from lecturepkg.grading.runtime import input_rng

EXERCISE = "mask_loss"


def oracle(mask_logits, labels, mask_targets):
    R, M = mask_logits.shape[0], mask_logits.shape[-1]
    covering = torch.tensor([[-0.5, -0.5, M - 0.5, M - 0.5]], dtype=mask_logits.dtype).repeat(R, 1)
    return maskrcnn_loss(mask_logits, [covering], [mask_targets.to(mask_logits.dtype)], [labels], [torch.arange(R)])


def random_case(rng, R, K, M, scale=3.0, dtype=torch.float64):
    logits = torch.from_numpy(rng.normal(scale=scale, size=(R, K, M, M))).to(dtype)
    labels = torch.from_numpy(rng.integers(0, K, size=R))
    targets = torch.from_numpy((rng.random((R, M, M)) < 0.4).astype(np.float64)).to(dtype)
    return logits, labels, targets


@pytest.mark.points(3)
def test_random_regions_match_torchvision(submission):
    rng = input_rng(5501)
    for R, K, M in [(1, 2, 4), (5, 4, 6), (12, 3, 7), (8, 81, 5)]:
        args = random_case(rng, R, K, M)
        expect_array(submission(*args), oracle(*args),
                     what=f"the mask loss of {R} regions, {K} classes, {M} x {M} masks")


@pytest.mark.points(1)
def test_other_classes_do_not_count(submission):
    rng = input_rng(5502)
    logits, labels, targets = random_case(rng, 6, 5, 4)
    changed = logits.clone()
    others = torch.ones(6, 5, dtype=torch.bool)
    others[torch.arange(6), labels] = False
    changed[others] = -changed[others] + 5.0  # every mask but the true class's
    expected = oracle(changed, labels, targets)
    assert torch.equal(expected, oracle(logits, labels, targets))
    expect_array(submission(changed, labels, targets), expected,
                 what="the mask loss after the logits of every other class than the true one were changed "
                      "(it should not change)")


@pytest.mark.points(1)
def test_logits_in_the_hundreds(submission):
    rng = input_rng(5503)
    logits, labels, targets = random_case(rng, 4, 3, 5, scale=300.0)
    x = logits.numpy()[np.arange(4), labels.numpy()]
    t = targets.numpy()
    stable = np.mean(np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x))))
    expect_array(submission(logits, labels, targets), torch.tensor(stable, dtype=torch.float64),
                 what="the mask loss of logits up to about +-1000 (exp overflows; compute it stably)")


@pytest.mark.points(1)
def test_float32_stays_float32(submission):
    rng = input_rng(5504)
    args = random_case(rng, 3, 4, 5, dtype=torch.float32)
    expect_array(submission(*args), oracle(*args), check_dtype="exact", what="the mask loss of float32 logits")


@pytest.mark.points(1)
def test_no_regions_give_zero(submission):
    logits = torch.zeros(0, 3, 4, 4, dtype=torch.float64)
    labels, targets = torch.zeros(0, dtype=torch.int64), torch.zeros(0, 4, 4, dtype=torch.float64)
    expect_array(submission(logits, labels, targets), oracle(logits, labels, targets),
                 what="the mask loss of no regions at all")


@pytest.mark.points(1)
def test_bad_inputs_raise_value_error(submission):
    rng = input_rng(5505)
    logits, labels, targets = random_case(rng, 3, 4, 5)
    for args, what in [((logits, labels[:2], targets), "2 labels for 3 regions"),
                       ((logits, labels, targets[:, :4]), "targets of shape (3, 4, 5) for 5 x 5 masks"),
                       ((logits[:, 0], labels, targets), "logits of shape (3, 5, 5), without the class axis"),
                       ((logits, torch.tensor([0, 4, 1]), targets), "the label 4 with 4 classes (0 to 3)")]:
        expect_raises(ValueError, submission, *args, what=f"mask_loss with {what}")
