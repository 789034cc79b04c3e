"""The reference solution of chapter 5's AP exercise against pycocotools, which the shipped
grading tests cannot rely on (a student's Colab may lack it).

``COCOeval`` is run on one image and one category: each ground-truth object is a box far
from the others, a true positive is a detection equal to one object's box (not yet matched),
and a false positive a box that overlaps nothing. Then COCO's AP at IoU 0.5 over all areas
with up to 100 detections, ``eval["precision"][0, :, 0, 0, 2].mean()``, must equal
``average_precision`` of the same scores and hits. The other exercises are graded against
torchvision itself, a dependency of the course package.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from lecturepkg.grading.solutions import ch05


def coco_ap(scores: np.ndarray, hits: np.ndarray, num_gt: int) -> float:
    boxes = [[20.0 * i, 0.0, 10.0, 10.0] for i in range(num_gt)]  # [x, y, w, h], far apart
    gt = COCO()
    gt.dataset = {
        "info": {}, "licenses": [],
        "images": [{"id": 1, "width": 20 * num_gt, "height": 100}],
        "categories": [{"id": 1, "name": "thing"}],
        "annotations": [{"id": i + 1, "image_id": 1, "category_id": 1, "bbox": b, "area": 100.0, "iscrowd": 0}
                        for i, b in enumerate(boxes)],
    }
    objects = iter(range(num_gt))
    results = [{"image_id": 1, "category_id": 1, "score": float(s),
                "bbox": boxes[next(objects)] if hit else [0.0, 50.0 + k % 40, 10.0, 10.0]}
               for k, (s, hit) in enumerate(zip(scores, hits))]
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        evaluation = COCOeval(gt, gt.loadRes(results), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
    precision = evaluation.eval["precision"][0, :, 0, 0, 2]  # IoU 0.5, 101 recalls, category, all areas, 100
    assert evaluation.params.iouThrs[0] == 0.5 and evaluation.params.maxDets[2] == 100
    return float(precision.mean())


@pytest.mark.parametrize("seed", range(6))
def test_average_precision_is_pycocotools_ap50(seed):
    rng = np.random.default_rng(seed)
    D = int(rng.integers(5, 90))
    num_gt = int(rng.integers(1, 40))
    scores = np.round(rng.random(D), 2)  # ties: COCOeval's sort is stable too
    hits = rng.random(D) < 0.5
    hits[np.flatnonzero(hits)[num_gt:]] = False  # no more true positives than objects
    theirs = coco_ap(scores, hits, num_gt)
    assert ch05.average_precision(scores, hits, num_gt) == pytest.approx(theirs, abs=1e-12)
    assert 0.0 <= theirs <= 1.0


def test_a_perfect_ranking_has_ap_1_and_half_the_objects_about_half():
    scores = np.linspace(1.0, 0.5, 10)
    assert coco_ap(scores, np.ones(10, dtype=bool), 10) == pytest.approx(1.0)
    assert ch05.average_precision(scores, np.ones(10, dtype=bool), 20) == pytest.approx(coco_ap(
        scores, np.ones(10, dtype=bool), 20)) == pytest.approx(51 / 101)
