"""Tests of lecturepkg.detection's box operations and NMS against torchvision.ops (float64).

Random boxes include degenerate ones (zero width or height, ``x2 < x1``), boxes sticking out
of the image and exact duplicates; random scores are drawn from a few values so that NMS
meets ties. Gradients of ``box_iou`` are compared with autograd through torchvision's.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch
import torchvision.ops as tv
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import seeded_rng
from lecturepkg.detection import (
    MultiScaleRoIAlign,
    batched_nms,
    box_area,
    box_convert,
    box_iou,
    clip_boxes_to_image,
    nms,
    remove_small_boxes,
    roi_align,
    roi_pool,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PROPERTY = settings(max_examples=60, deadline=None)
TOL = dict(rtol=1e-10, atol=1e-12, equal_nan=True)


def random_boxes(rng, n, *, extent=50.0, degenerate=True, lead=()):
    """``(*lead, n, 4)`` float64 boxes; with ``degenerate``, some of zero or negative size and
    some duplicated."""
    xy = rng.uniform(-5, extent, size=(*lead, n, 2))
    wh = rng.uniform(0, extent / 2, size=(*lead, n, 2))
    if degenerate and n:
        wh[..., rng.random(n) < 0.15, 0] = 0.0  # zero width
        wh[..., rng.random(n) < 0.1, 1] = -rng.uniform(0, 3)  # y2 < y1
    boxes = torch.from_numpy(np.concatenate([xy, xy + wh], axis=-1))
    if degenerate and n > 1 and rng.random() < 0.5:
        boxes[..., -1, :] = boxes[..., 0, :]  # an exact duplicate
    return boxes


@st.composite
def box_sets(draw, max_n=12, degenerate=True):
    rng = seeded_rng(draw)
    n, m = draw(st.integers(0, max_n)), draw(st.integers(0, max_n))
    return random_boxes(rng, n, degenerate=degenerate), random_boxes(rng, m, degenerate=degenerate)


# ---------------------------------------------------------------- boxes


@PROPERTY
@given(box_sets(), st.sampled_from(["xyxy", "xywh", "cxcywh"]))
def test_box_area_and_iou_equal_torchvision(sets, fmt):
    a, b = sets
    torch.testing.assert_close(box_area(a, fmt), tv.box_area(a, fmt), **TOL)
    torch.testing.assert_close(box_iou(a, b, fmt), tv.box_iou(a, b, fmt), **TOL)


@PROPERTY
@given(box_sets(max_n=8))
def test_box_iou_gradient_equals_torchvision(sets):
    a, b = (s.clone().requires_grad_() for s in sets)
    ours, theirs = box_iou(a, b), tv.box_iou(a, b)
    weight = torch.randn(ours.shape, dtype=torch.float64,
                         generator=torch.Generator().manual_seed(0))
    got = torch.autograd.grad((ours * weight).nansum(), (a, b), allow_unused=True)
    want = torch.autograd.grad((theirs * weight).nansum(), (a, b), allow_unused=True)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, **TOL)


def test_box_iou_of_worked_example():
    # two 10x10 boxes shifted by (5, 0): intersection 5 * 10 = 50, union 200 - 50 = 150
    a = torch.tensor([[0.0, 0.0, 10.0, 10.0]], dtype=torch.float64)
    b = torch.tensor([[5.0, 0.0, 15.0, 10.0], [20.0, 20.0, 30.0, 30.0]], dtype=torch.float64)
    torch.testing.assert_close(box_iou(a, b), torch.tensor([[1 / 3, 0.0]], dtype=torch.float64))
    assert box_iou(a, b).shape == (1, 2) and box_iou(b, a).shape == (2, 1)


def test_box_iou_of_empty_sets_is_empty():
    a = torch.zeros(0, 4)
    assert box_iou(a, torch.ones(3, 4)).shape == (0, 3) == tv.box_iou(a, torch.ones(3, 4)).shape
    assert box_area(a).shape == (0,)


def test_half_and_small_integer_boxes_are_widened_like_torchvision():
    boxes = torch.tensor([[0, 0, 300, 300], [10, 10, 20, 40]], dtype=torch.int16)
    assert box_area(boxes).dtype == tv.box_area(boxes).dtype == torch.int32
    assert torch.equal(box_area(boxes), tv.box_area(boxes))  # 90000 overflows int16
    half = boxes.half()
    assert box_iou(half, half).dtype == tv.box_iou(half, half).dtype == torch.float32
    torch.testing.assert_close(box_iou(half, half), tv.box_iou(half, half))


@PROPERTY
@given(st.data())
def test_box_convert_equals_torchvision(data):
    rng = seeded_rng(data.draw)
    boxes = random_boxes(rng, data.draw(st.integers(0, 6)), lead=data.draw(
        st.sampled_from([(), (3,)])))
    fmts = ["xyxy", "xywh", "cxcywh"]
    in_fmt, out_fmt = data.draw(st.sampled_from(fmts)), data.draw(st.sampled_from(fmts))
    torch.testing.assert_close(box_convert(boxes, in_fmt, out_fmt),
                               tv.box_convert(boxes, in_fmt, out_fmt), **TOL)


@PROPERTY
@given(st.data())
def test_clip_and_remove_small_boxes_equal_torchvision(data):
    rng = seeded_rng(data.draw)
    n = data.draw(st.integers(0, 10))
    lead = data.draw(st.sampled_from([(), (2,)]))  # the box head clips (N, classes, 4)
    boxes = random_boxes(rng, n, lead=lead)
    size = (data.draw(st.integers(0, 60)), data.draw(st.integers(0, 60)))
    assert torch.equal(clip_boxes_to_image(boxes, size), tv.clip_boxes_to_image(boxes, size))
    flat = random_boxes(rng, n)
    min_size = data.draw(st.sampled_from([0.0, 1e-3, 1.0, 5.5, 20.0]))
    assert torch.equal(remove_small_boxes(flat, min_size), tv.remove_small_boxes(flat, min_size))


def test_clip_of_a_worked_example():
    boxes = torch.tensor([[-5.0, 2.0, 40.0, 30.0], [50.0, 50.0, 60.0, 70.0]])
    expected = torch.tensor([[0.0, 2.0, 32.0, 20.0], [32.0, 20.0, 32.0, 20.0]])
    assert torch.equal(clip_boxes_to_image(boxes, (20, 32)), expected)
    assert remove_small_boxes(clip_boxes_to_image(boxes, (20, 32)), 1.0).tolist() == [0]


# ---------------------------------------------------------------- NMS


@st.composite
def nms_cases(draw, max_n=40):
    rng = seeded_rng(draw)
    n = draw(st.integers(0, max_n))
    degenerate = draw(st.booleans())
    boxes = random_boxes(rng, n, extent=draw(st.sampled_from([20.0, 60.0])),
                         degenerate=degenerate)
    if draw(st.booleans()):  # few distinct values: many ties
        scores = torch.from_numpy(rng.integers(0, 4, size=n).astype("float64"))
    else:
        scores = torch.from_numpy(rng.random(n))
    threshold = draw(st.sampled_from([0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0]))
    return boxes, scores, threshold, rng


@settings(max_examples=120, deadline=None)
@given(nms_cases())
def test_nms_equals_torchvision_with_ties_and_degenerate_boxes(case):
    boxes, scores, threshold, _ = case
    keep = nms(boxes, scores, threshold)
    assert keep.dtype == torch.int64
    assert torch.equal(keep, tv.nms(boxes, scores, threshold))


@settings(max_examples=120, deadline=None)
@given(nms_cases(), st.integers(1, 4))
def test_batched_nms_equals_torchvision(case, n_classes):
    boxes, scores, threshold, rng = case
    if len(boxes):  # torchvision's offset trick (a shift per class) needs x, y >= 0
        boxes = boxes - boxes.min().clamp(max=0)
    idxs = torch.from_numpy(rng.integers(0, n_classes, size=len(boxes)))
    assert torch.equal(batched_nms(boxes, scores, idxs, threshold),
                       tv.batched_nms(boxes, scores, idxs, threshold))


def test_nms_with_more_boxes_than_one_block_equals_torchvision():
    g = torch.Generator().manual_seed(1)
    xy = torch.rand(2500, 2, generator=g, dtype=torch.float64) * 300
    wh = 5 + torch.rand(2500, 2, generator=g, dtype=torch.float64) * 60
    boxes = torch.cat([xy, xy + wh], dim=1)
    scores = torch.rand(2500, generator=g, dtype=torch.float64)
    assert torch.equal(nms(boxes, scores, 0.5), tv.nms(boxes, scores, 0.5))
    idxs = torch.randint(0, 5, (2500,), generator=g)
    assert torch.equal(batched_nms(boxes, scores, idxs, 0.5),
                       tv.batched_nms(boxes, scores, idxs, 0.5))


def test_nms_worked_example_and_tie_rule():
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0],   # 0
                          [1.0, 1.0, 11.0, 11.0],   # 1: IoU with 0 is 81 / 119 = 0.68
                          [20.0, 20.0, 30.0, 30.0],  # 2: apart
                          [0.0, 0.0, 10.0, 10.0]])  # 3: a copy of 0
    scores = torch.tensor([0.8, 0.9, 0.7, 0.8])
    # 1 is best and removes 0 and 3 (IoU 0.68 > 0.5); 2 stays
    assert nms(boxes, scores, 0.5).tolist() == [1, 2]
    # at 0.7, 1 removes neither; 0 and 3 tie on 0.8: the lower index, 0, is kept first and
    # removes its copy 3
    assert nms(boxes, scores, 0.7).tolist() == [1, 0, 2]
    assert nms(boxes, scores, 1.0).tolist() == [1, 0, 3, 2]  # IoU 1 is not > 1
    # per class: 3 alone in class 1 survives, in score order among equals by index
    assert batched_nms(boxes, scores, torch.tensor([0, 0, 0, 1]), 0.5).tolist() == [1, 3, 2]


def test_nms_keeps_zero_area_boxes_whose_iou_is_nan():
    boxes = torch.tensor([[5.0, 5.0, 5.0, 9.0], [5.0, 5.0, 5.0, 9.0]])  # zero width: IoU 0/0
    assert torch.isnan(box_iou(boxes, boxes)).all()
    assert nms(boxes, torch.tensor([0.5, 0.4]), 0.1).tolist() == [0, 1]


def test_nms_of_no_boxes():
    empty = torch.zeros(0, 4)
    for keep in (nms(empty, torch.zeros(0), 0.5),
                 batched_nms(empty, torch.zeros(0), torch.zeros(0, dtype=torch.int64), 0.5)):
        assert keep.dtype == torch.int64 and keep.shape == (0,)


# ---------------------------------------------------------------- signatures, bad input


@pytest.mark.parametrize("name", ["box_area", "box_iou", "box_convert", "clip_boxes_to_image",
                                  "remove_small_boxes", "nms", "batched_nms", "roi_pool",
                                  "roi_align"])
def test_signature_is_torchvisions(name):
    ours = {"box_area": box_area, "box_iou": box_iou, "box_convert": box_convert,
            "clip_boxes_to_image": clip_boxes_to_image, "remove_small_boxes": remove_small_boxes,
            "nms": nms, "batched_nms": batched_nms, "roi_pool": roi_pool,
            "roi_align": roi_align}[name]

    def params(f):
        return [(p.name, p.kind, p.default) for p in inspect.signature(f).parameters.values()]

    assert params(ours) == params(getattr(tv, name))


def test_multiscale_roi_align_constructor_is_torchvisions():
    def params(cls):
        return [(p.name, p.kind, p.default)
                for p in inspect.signature(cls.__init__).parameters.values()]

    assert params(MultiScaleRoIAlign) == params(tv.MultiScaleRoIAlign)
    assert params(MultiScaleRoIAlign.forward) == params(tv.MultiScaleRoIAlign.forward)


BOXES = torch.tensor([[0.0, 0.0, 4.0, 4.0], [1.0, 1.0, 5.0, 5.0]])


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: box_iou(BOXES.tolist(), BOXES), TypeError, "boxes1 must be a torch.Tensor"),
        (lambda: box_iou(BOXES, BOXES[:, :3]), ValueError, "boxes2 must have shape (N, 4)"),
        (lambda: box_iou(BOXES[None], BOXES), ValueError, "boxes1 must have shape (N, 4)"),
        (lambda: box_iou(BOXES, BOXES, "yxyx"), ValueError, "fmt must be one of"),
        (lambda: box_area(BOXES[:, :2]), ValueError, "boxes must have shape (..., 4)"),
        (lambda: box_area(BOXES > 1), TypeError, "real dtype"),
        (lambda: box_convert(BOXES, "xyxy", "xyzz"), ValueError, "out_fmt must be one of"),
        (lambda: clip_boxes_to_image(BOXES, 20), TypeError, "size must be a (height, width)"),
        (lambda: clip_boxes_to_image(BOXES, (20, -1)), ValueError, "size[1] must be >= 0"),
        (lambda: remove_small_boxes(BOXES, "1"), TypeError, "min_size must be a real number"),
        (lambda: nms(BOXES, torch.ones(3), 0.5), ValueError, "scores must have shape (2,)"),
        (lambda: nms(BOXES, torch.ones(2, 1), 0.5), ValueError, "scores must have shape (2,)"),
        (lambda: nms(BOXES, torch.ones(2, dtype=torch.int64), 0.5), TypeError,
         "scores must have a floating dtype"),
        (lambda: nms(BOXES.long(), torch.ones(2), 0.5), TypeError,
         "boxes must have a floating dtype"),
        (lambda: nms(BOXES, torch.ones(2), None), TypeError, "iou_threshold must be a real"),
        (lambda: nms(BOXES, torch.ones(2), float("nan")), ValueError,
         "iou_threshold must be finite"),
        (lambda: batched_nms(BOXES, torch.ones(2), torch.zeros(2), 0.5), TypeError,
         "idxs must have an integer dtype"),
        (lambda: batched_nms(BOXES, torch.ones(2), torch.zeros(3, dtype=torch.int64), 0.5),
         ValueError, "idxs must have shape (2,)"),
        (lambda: batched_nms(BOXES, torch.ones(2), [0, 1], 0.5), TypeError,
         "idxs must be a torch.Tensor"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)
