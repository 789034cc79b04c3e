"""lecturepkg.detection.coco_eval against pycocotools, the COCO benchmark's own code.

Oracle: ``pycocotools`` (pinned as a test dependency): ``mask.encode``/``decode``/``area``
for the run-length encoding, ``mask.iou`` for box and mask overlaps, and
``COCOeval(...).evaluate(); accumulate(); summarize()`` for the whole evaluation. The
detections are random: ground truth from the shapes dataset, moved and resized by random
amounts, masks shifted, duplicates, false positives of random categories, missed objects,
scores with ties, more than 100 detections in an image, crowd objects, a category without
objects, images without objects and images without detections. Every statistic, and the
whole precision and recall arrays, must equal pycocotools' to 1e-12 (they come out equal).

pycocotools reads the results of a mask evaluation without their ``bbox`` field (with it,
it would take a detection's box area for its mask area; detectron2 removes the field too),
and it refuses an empty list of results: those cases are checked by their definition.
"""

from __future__ import annotations

import contextlib
import copy
import io

import numpy as np
import pytest
import torch
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from lecturepkg.detection.coco_eval import (
    IOU_THRESHOLDS,
    RECALL_THRESHOLDS,
    STAT_NAMES,
    CocoEvaluation,
    box_iou_xywh,
    coco_evaluate,
    interpolated_precision,
    mask_iou,
    match_detections,
    rle_area,
    rle_decode,
    rle_encode,
)
from lecturepkg.detection.shapes import ShapesDataset, to_coco

# pycocotools 2.0.10's mask.decode passes copy=False to numpy 2 (a warning, not an error)
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def pycocotools_eval(gt: dict, results: list, iou_type: str) -> COCOeval:
    """The oracle, run quietly on copies (pycocotools adds fields to what it is given)."""
    results = copy.deepcopy(results)
    drop = "segmentation" if iou_type == "bbox" else "bbox"
    for res in results:
        res.pop(drop, None)
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = copy.deepcopy(gt)
        coco.createIndex()
        evaluator = COCOeval(coco, coco.loadRes(results), iou_type)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return evaluator


# --------------------------------------------------------------------------------------------
# Run-length encoding
# --------------------------------------------------------------------------------------------


def random_masks(rng, count=300):
    for _ in range(count):
        h, w = int(rng.integers(1, 40)), int(rng.integers(1, 40))
        kind = rng.integers(0, 4)
        if kind == 0:  # scattered pixels
            mask = rng.random((h, w)) < rng.random()
        elif kind == 1:  # a rectangle: long runs (counts above 31 need several characters)
            mask = np.zeros((h, w), bool)
            r, c = sorted(rng.integers(0, h + 1, 2)), sorted(rng.integers(0, w + 1, 2))
            mask[r[0]:r[1], c[0]:c[1]] = True
        elif kind == 2:
            mask = np.ones((h, w), bool)
        else:
            mask = np.zeros((h, w), bool)
        yield mask.astype(np.uint8)


def test_rle_encode_equals_pycocotools_and_decodes_back():
    rng = np.random.default_rng(0)
    for mask in random_masks(rng):
        expected = mask_utils.encode(np.asfortranarray(mask))
        got = rle_encode(mask)
        assert got == {"size": list(mask.shape), "counts": expected["counts"].decode()}
        assert rle_area(got) == mask_utils.area(expected) == mask.sum()
        np.testing.assert_array_equal(rle_decode(got), mask)
        np.testing.assert_array_equal(rle_decode(expected), mask_utils.decode(expected))
        uncompressed = {"size": list(mask.shape),
                        "counts": [int(c) for c in _runs(mask)]}
        np.testing.assert_array_equal(rle_decode(uncompressed), mask)


def test_rle_encode_takes_tensors_and_big_masks():
    rng = np.random.default_rng(1)
    mask = (rng.random((300, 200)) < 0.5).astype(np.uint8)
    mask[100:250, 20:180] = 1  # runs of every length, up to 150
    expected = mask_utils.encode(np.asfortranarray(mask))["counts"].decode()
    assert rle_encode(torch.from_numpy(mask))["counts"] == expected
    assert rle_encode(torch.from_numpy(mask).bool())["counts"] == expected


def _runs(mask):
    """Run lengths column by column, from zeros: an independent, plain-Python count."""
    flat = mask.T.reshape(-1).tolist()
    runs, value, length = [], 0, 0
    for pixel in flat:
        if pixel == value:
            length += 1
        else:
            runs.append(length)
            value, length = pixel, 1
    runs.append(length)
    return runs


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: rle_encode(np.array([[0, 2]])), ValueError, "only 0 and 1"),
        (lambda: rle_encode(np.zeros(4)), ValueError, "(H, W)"),
        (lambda: rle_encode([[0, 1]]), TypeError, "numpy array or tensor"),
        (lambda: rle_decode({"counts": "13"}), TypeError, "'size' and 'counts'"),
        (lambda: rle_decode({"size": [2, 2], "counts": "1"}), ValueError, "add up"),
        (lambda: rle_decode({"size": [2, 2], "counts": 5}), TypeError, "counts"),
        (lambda: rle_decode({"size": [2], "counts": "13"}), ValueError, "[height, width]"),
    ],
)
def test_rle_bad_input_raises(call, error, words):
    with pytest.raises(error, match=".*".join(map(_escape, words.split()))):
        call()


def _escape(text):
    import re

    return re.escape(text)


# --------------------------------------------------------------------------------------------
# Overlaps
# --------------------------------------------------------------------------------------------


def test_box_iou_equals_pycocotools_with_crowds():
    rng = np.random.default_rng(2)
    for _ in range(50):
        dt = np.concatenate([rng.uniform(0, 50, (7, 2)), rng.uniform(0, 30, (7, 2))], 1)
        gt = np.concatenate([rng.uniform(0, 50, (5, 2)), rng.uniform(0, 30, (5, 2))], 1)
        gt[0] = dt[0]  # identical boxes, and boxes that only touch
        gt[1] = [dt[1, 0] + dt[1, 2], dt[1, 1], 5, 5]
        dt[2] = np.round(dt[2])
        crowd = rng.random(5) < 0.3
        expected = mask_utils.iou(dt.tolist(), gt.tolist(), crowd.astype(np.uint8).tolist())
        got = box_iou_xywh(dt, gt, crowd)
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(box_iou_xywh(torch.from_numpy(dt), gt), mask_utils.iou(
            dt.tolist(), gt.tolist(), [0] * 5))
    assert box_iou_xywh(np.zeros((0, 4)), gt).shape == (0, 5)
    assert box_iou_xywh(dt, []).shape == (7, 0)


def test_mask_iou_equals_pycocotools_with_crowds():
    rng = np.random.default_rng(3)
    for _ in range(30):
        dt = rng.random((6, 20, 30)) < rng.uniform(0.05, 0.6, (6, 1, 1))
        gt = rng.random((4, 20, 30)) < rng.uniform(0.05, 0.6, (4, 1, 1))
        dt[0] = gt[0]
        dt[1] = False  # an empty mask
        crowd = (rng.random(4) < 0.4).astype(np.uint8)
        rle = lambda m: mask_utils.encode(np.asfortranarray(m.transpose(1, 2, 0).astype(np.uint8)))  # noqa: E731
        expected = mask_utils.iou(rle(dt), rle(gt), crowd.tolist())
        np.testing.assert_array_equal(mask_iou(dt, gt, crowd), expected)


def test_overlaps_bad_input_raises():
    with pytest.raises(ValueError, match=r"dt must have shape \(N, 4\)"):
        box_iou_xywh(np.zeros((3, 3)), np.zeros((1, 4)))
    with pytest.raises(ValueError, match="iscrowd must have one flag per ground-truth"):
        box_iou_xywh(np.zeros((3, 4)), np.zeros((2, 4)), [0, 0, 1])
    with pytest.raises(ValueError, match="same"):
        mask_iou(np.zeros((1, 4, 4)), np.zeros((1, 4, 5)))
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        mask_iou(np.zeros((4, 4)), np.zeros((1, 4, 4)))


# --------------------------------------------------------------------------------------------
# Matching and the precision/recall curve, on cases worked by hand
# --------------------------------------------------------------------------------------------


def test_matching_takes_the_best_free_object_and_prefers_regular_ones():
    ious = np.array([
        [0.9, 0.6, 0.0],  # takes object 0
        [0.8, 0.6, 0.0],  # object 0 is taken: takes object 1 (at 0.5 and 0.55, 0.6)
        [0.0, 0.0, 0.7],  # only the ignored object 2: matched but ignored
    ])
    matched, ignored = match_detections(ious, gt_ignore=[False, False, True],
                                        iou_thresholds=[0.5, 0.65, 0.95])
    assert matched.tolist() == [[True, True, True], [True, False, True], [False, False, False]]
    assert ignored.tolist() == [[False, False, True], [False, False, True],
                                [False, False, False]]
    # ties go to the last object; a crowd object can be matched again
    matched, _ = match_detections(np.array([[0.7, 0.7], [0.7, 0.7]]), [False, False],
                                  iou_thresholds=[0.5])
    assert matched.tolist() == [[True, True]]
    matched, ignored = match_detections(np.array([[0.7], [0.7]]), [True], iscrowd=[True],
                                        iou_thresholds=[0.5])
    assert matched.tolist() == [[True, True]] and ignored.all()
    with pytest.raises(ValueError, match="ignored ones last"):
        match_detections(np.zeros((1, 2)), [True, False])


def test_interpolated_precision_by_hand():
    # detections: TP, FP, TP, FP, TP for 4 objects: recall .25 .25 .5 .5 .75,
    # precision 1, 1/2, 2/3, 1/2, 3/5 -> made non-increasing: 1, 2/3, 2/3, 3/5, 3/5
    q, r = interpolated_precision([1, 0, 1, 0, 1], [0, 1, 0, 1, 0], num_gt=4)
    assert r == 0.75
    expected = np.where(RECALL_THRESHOLDS <= 0.25, 1.0,
                        np.where(RECALL_THRESHOLDS <= 0.5, 2 / 3,
                                 np.where(RECALL_THRESHOLDS <= 0.75, 3 / 5, 0.0)))
    np.testing.assert_allclose(q, expected, rtol=1e-12)
    q, r = interpolated_precision([], [], num_gt=3)
    assert r == 0.0 and not q.any()
    with pytest.raises(ValueError, match="num_gt"):
        interpolated_precision([1], [0], num_gt=0)


# --------------------------------------------------------------------------------------------
# The whole evaluation against COCOeval
# --------------------------------------------------------------------------------------------


def make_case(seed: int, crowds: bool = True):
    """Ground truth from shapes (sizes from small to large) and random detections."""
    rng = np.random.default_rng(seed)
    data = ShapesDataset(14, 160, 160, seed=seed, num_shapes=(0, 5), size=(0.04, 0.4),
                         max_overlap=0.6)
    items = [data[i] for i in range(len(data))]
    gt = to_coco(items, categories=("background", "square", "circle", "triangle", "cross"))
    if crowds:
        for ann in gt["annotations"]:
            ann["iscrowd"] = int(rng.random() < 0.1)
    results = []
    for index, (_, target) in enumerate(items):
        if index == 3:
            continue  # an image without detections
        for box, label, mask in zip(target["boxes"].tolist(), target["labels"].tolist(),
                                    target["masks"].numpy()):
            for _copy in range(int(rng.choice([0, 1, 1, 1, 2]))):  # missed, found, twice
                x1, y1, x2, y2 = box
                w, h = x2 - x1, y2 - y1
                jitter = rng.normal(0, rng.choice([0.02, 0.1, 0.3]), 4) * [w, h, w, h]
                shift = rng.integers(-3, 4, 2) * int(rng.random() < 0.7)
                moved = np.roll(mask, tuple(shift), axis=(0, 1))
                if rng.random() < 0.3:
                    moved = moved * (rng.random(moved.shape) < 0.8)  # holes
                category = label if rng.random() < 0.9 else int(rng.integers(1, 4))
                results.append(_result(index, category, [x1 + jitter[0], y1 + jitter[1],
                                       max(w + jitter[2], 0.5), max(h + jitter[3], 0.5)],
                                       moved, rng))
        for _ in range(int(rng.integers(0, 6))):  # false positives
            x, y = rng.uniform(0, 140, 2)
            w, h = rng.uniform(2, 60, 2)
            mask = np.zeros((160, 160), np.uint8)
            mask[int(y):int(y + h), int(x):int(x + w)] = 1
            results.append(_result(index, int(rng.integers(1, 4)), [x, y, w, h], mask, rng))
    # image 5 gets 130 detections of one category: only the best 100 count
    for _ in range(130):
        x, y = rng.uniform(0, 140, 2)
        mask = np.zeros((160, 160), np.uint8)
        mask[int(y):int(y) + 20, int(x):int(x) + 20] = 1
        results.append(_result(5, 1, [x, y, 20.0, 20.0], mask, rng))
    order = rng.permutation(len(results))
    return gt, [results[i] for i in order]


def _result(image_id, category, bbox, mask, rng):
    score = float(rng.choice([0.2, 0.5, 0.9])) if rng.random() < 0.4 else float(rng.random())
    return {"image_id": image_id, "category_id": int(category),
            "bbox": [float(v) for v in bbox], "score": score,
            "segmentation": rle_encode(mask.astype(np.uint8))}


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_coco_evaluate_equals_cocoeval(seed, iou_type):
    gt, results = make_case(seed)
    oracle = pycocotools_eval(gt, results, iou_type)
    ours = coco_evaluate(gt, results, iou_type)
    assert isinstance(ours, CocoEvaluation)
    assert ours.category_ids == oracle.params.catIds == [1, 2, 3, 4]
    np.testing.assert_allclose(ours.stats, oracle.stats, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.precision, oracle.eval["precision"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.recall, oracle.eval["recall"], rtol=0, atol=1e-12)
    # the cases are not trivial: something found, not everything, every area range present
    assert 0.05 < ours.stats[0] < 0.95 and ours.stats[1] > ours.stats[2] > ours.stats[0] - 0.3
    assert (ours.stats[3:6] > -1).all()
    # category 4 has no objects: -1 throughout, left out of the means
    assert (ours.precision[:, :, 3] == -1).all()
    summary = ours.summary()
    assert list(summary) == list(STAT_NAMES) and summary["AP50"] == ours.stats[1]
    assert ours.per_category_ap()[4] == -1.0
    assert "Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]" in str(ours)


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_without_crowds_and_with_detections_in_input_order(iou_type):
    """Detections of equal score are taken in the order of the results list: shuffling
    the list changes the result when scores tie, and pycocotools agrees on each order."""
    gt, results = make_case(5, crowds=False)
    for res in results:
        res["score"] = round(res["score"], 1)  # many ties
    values = set()
    for permutation in range(3):
        order = np.random.default_rng(permutation).permutation(len(results))
        shuffled = [results[i] for i in order]
        ours = coco_evaluate(gt, shuffled, iou_type)
        oracle = pycocotools_eval(gt, shuffled, iou_type)
        np.testing.assert_allclose(ours.stats, oracle.stats, rtol=0, atol=1e-12)
        np.testing.assert_allclose(ours.precision, oracle.eval["precision"], rtol=0, atol=1e-12)
        values.add(ours.stats[0])
    assert len(values) > 1  # the order of ties matters


def test_perfect_detections_score_one_and_none_score_zero():
    gt, _ = make_case(7, crowds=False)
    perfect = [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"],
                "segmentation": a["segmentation"], "score": 1.0} for a in gt["annotations"]]
    for iou_type in ("bbox", "segm"):
        ours = coco_evaluate(gt, perfect, iou_type)
        assert ours.stats[0] == ours.stats[1] == ours.stats[8] == 1.0
        np.testing.assert_allclose(ours.stats, pycocotools_eval(gt, perfect, iou_type).stats,
                                   rtol=0, atol=1e-12)
        nothing = coco_evaluate(gt, [], iou_type)  # pycocotools refuses an empty list
        assert (nothing.stats[[0, 1, 2, 6, 7, 8]] == 0).all()


def test_thresholds_are_cocos():
    assert len(IOU_THRESHOLDS) == 10 and 0.75 in IOU_THRESHOLDS
    np.testing.assert_array_equal(IOU_THRESHOLDS, COCOeval(iouType="bbox").params.iouThrs)
    np.testing.assert_array_equal(RECALL_THRESHOLDS, COCOeval(iouType="bbox").params.recThrs)


def test_coco_evaluate_bad_input_raises():
    gt, results = make_case(0)
    with pytest.raises(ValueError, match="iou_type must be 'bbox' or 'segm'"):
        coco_evaluate(gt, results, "keypoints")
    with pytest.raises(TypeError, match="coco_gt must be a COCO ground-truth dict"):
        coco_evaluate([], results)
    with pytest.raises(ValueError, match="coco_gt must have the key 'categories'"):
        coco_evaluate({"images": [], "annotations": []}, results)
    with pytest.raises(TypeError, match="results must be a list"):
        coco_evaluate(gt, {"image_id": 0})
    bad = [dict(results[0], image_id=999)]
    with pytest.raises(ValueError, match="image_id 999, which is not in the ground truth"):
        coco_evaluate(gt, bad)
    bad = [dict(results[0], category_id=17)]
    with pytest.raises(ValueError, match="category_id 17"):
        coco_evaluate(gt, bad)
    bad = [{k: v for k, v in results[0].items() if k != "score"}]
    with pytest.raises(ValueError, match="must have 'score'"):
        coco_evaluate(gt, bad)
    bad = [dict(results[0], segmentation=[[0, 0, 5, 0, 5, 5]])]
    with pytest.raises(ValueError, match="polygons are not read"):
        coco_evaluate(gt, bad, "segm")
    bad = [dict(results[0], segmentation=rle_encode(np.zeros((10, 10), np.uint8)))]
    with pytest.raises(ValueError, match="not the image's"):
        coco_evaluate(gt, bad, "segm")


def _boxes_case(gts, dets):
    """A one-image COCO case from boxes: gts as (bbox, iscrowd), dets as (bbox, score)."""
    gt = {"info": {}, "images": [{"id": 1, "height": 40, "width": 40}],
          "categories": [{"id": 1, "name": "square"}],
          "annotations": [{"id": i + 1, "image_id": 1, "category_id": 1, "bbox": box,
                           "area": float(box[2] * box[3]), "iscrowd": crowd}
                          for i, (box, crowd) in enumerate(gts)]}
    results = [{"image_id": 1, "category_id": 1, "bbox": box, "score": score}
               for box, score in dets]
    return gt, results


def test_equal_overlaps_go_to_the_last_object():
    """The first detection overlaps two objects equally (IoU 2/3) and takes the second one,
    which the second detection covers exactly: so the second detection finds nothing at
    thresholds up to 0.65 (2 TP would give AP 1 there) and is the only TP above."""
    gt, results = _boxes_case([([7, 0, 10, 10], 0), ([3, 0, 10, 10], 0)],
                              [([5, 0, 10, 10], 0.9), ([3, 0, 10, 10], 0.8)])
    ours = coco_evaluate(gt, results)
    # recall 1/2 reached at precision 1 (4 thresholds) or 1/2 (6 thresholds): 51 of 101 points
    assert ours.stats[0] == pytest.approx((4 * 1.0 + 6 * 0.5) * 51 / 101 / 10, abs=1e-12)
    np.testing.assert_allclose(ours.stats, pycocotools_eval(gt, results, "bbox").stats,
                               rtol=0, atol=1e-12)


def test_a_regular_object_is_preferred_to_a_crowd():
    """The detection covers a regular object with IoU 0.71 and lies wholly in a crowd
    (crowd IoU 1): it matches the regular object at thresholds up to 0.70, and only the
    crowd above (where it is ignored and the object is missed)."""
    gt, results = _boxes_case([([0, 0, 10, 10], 0), ([0, 0, 10, 20], 1)],
                              [([0, 0, 10, 14], 0.9)])
    ours = coco_evaluate(gt, results)
    assert ours.stats[0] == pytest.approx(0.5, abs=1e-12)
    np.testing.assert_allclose(ours.stats, pycocotools_eval(gt, results, "bbox").stats,
                               rtol=0, atol=1e-12)
