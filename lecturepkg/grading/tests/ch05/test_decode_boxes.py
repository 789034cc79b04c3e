"""Grading tests of exercise ``decode_boxes``: Faster R-CNN's box offsets applied to boxes.

Oracle: torchvision's ``BoxCoder(weights, bbox_xform_clip).decode_single`` on random boxes
and offsets, with the default weights, the second stage's ``(10, 10, 5, 5)`` and weights that
differ on every coordinate; offsets large enough to be clamped; and the round trip through
``BoxCoder.encode_single``, whose offsets decode back to the boxes they were computed from.
"""

import math

import pytest
import torch
from torchvision.models.detection._utils import BoxCoder

from lecturepkg.grading.feedback import expect_array, expect_raises
from lecturepkg.grading.runtime import input_rng
from lecturepkg.grading.tests.ch05._boxes import random_boxes

EXERCISE = "decode_boxes"
CLIP = math.log(1000.0 / 16)


def offsets(rng, n, scale=1.0):
    return torch.from_numpy(rng.normal(scale=scale, size=(n, 4)))


@pytest.mark.points(2)
def test_random_offsets_match_torchvision(submission):
    rng = input_rng(5201)
    for weights in [(1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0), (2.0, 0.5, 3.0, 1.5)]:
        boxes, codes = random_boxes(rng, 12), offsets(rng, 12)
        expected = BoxCoder(weights).decode_single(codes, boxes)
        expect_array(submission(codes, boxes, weights), expected,
                     what=f"the boxes decoded with weights {weights}")


@pytest.mark.points(2)
def test_large_size_offsets_are_clamped(submission):
    rng = input_rng(5202)
    boxes = random_boxes(rng, 8)
    codes = offsets(rng, 8, scale=10.0)  # many |dw|, |dh| far above log(1000 / 16) = 4.14
    codes[0, 2:] = torch.tensor([30.0, -30.0], dtype=torch.float64)  # exp(30) would be 1e13
    for weights, clip in [((1.0, 1.0, 1.0, 1.0), CLIP), ((1.0, 1.0, 5.0, 2.0), CLIP),
                          ((1.0, 1.0, 1.0, 1.0), 1.0)]:
        expected = BoxCoder(weights, bbox_xform_clip=clip).decode_single(codes, boxes)
        expect_array(submission(codes, boxes, weights, bbox_xform_clip=clip), expected,
                     what=f"the boxes decoded from large offsets with weights {weights} and bbox_xform_clip "
                          f"{clip:.4g}")


@pytest.mark.points(1)
def test_default_arguments(submission):
    rng = input_rng(5203)
    boxes, codes = random_boxes(rng, 6), offsets(rng, 6, scale=3.0)
    expect_array(submission(codes, boxes), BoxCoder((1.0, 1.0, 1.0, 1.0)).decode_single(codes, boxes),
                 what="the boxes decoded with the default weights and clip")


@pytest.mark.points(1)
def test_decoding_undoes_encoding(submission):
    rng = input_rng(5204)
    weights = (10.0, 10.0, 5.0, 5.0)
    anchors, targets = random_boxes(rng, 10), random_boxes(rng, 10)
    codes = BoxCoder(weights).encode_single(targets, anchors)  # the regression targets
    expect_array(submission(codes, anchors, weights), targets, rtol=1e-9, atol=1e-9,
                 what="the decoding of the offsets that encode 10 boxes relative to 10 anchors (they should "
                      "give the boxes back)")


@pytest.mark.points(1)
def test_float32_stays_float32(submission):
    rng = input_rng(5205)
    boxes, codes = random_boxes(rng, 5, dtype=torch.float32), offsets(rng, 5).float()
    expect_array(submission(codes, boxes), BoxCoder((1.0, 1.0, 1.0, 1.0)).decode_single(codes, boxes),
                 check_dtype="exact", what="the boxes decoded from float32 offsets")


@pytest.mark.points(1)
def test_bad_inputs_raise_value_error(submission):
    rng = input_rng(5206)
    boxes, codes = random_boxes(rng, 4), offsets(rng, 4)
    for args, what in [((codes[:3], boxes), "3 offsets for 4 boxes"),
                       ((codes[:, :3], boxes), "offsets of shape (4, 3)"),
                       ((codes, boxes, (1.0, 1.0, 1.0)), "3 weights")]:
        expect_raises(ValueError, submission, *args, what=f"decode_boxes with {what}")
