"""lecturepkg.detection.shapes: exact instance masks, torchvision targets, COCO export.

Oracles: each shape is rasterised again here by other means (matplotlib's
``Path.contains_points`` for squares and triangles, the distance for circles, on the pixel
centres), occlusion is recomputed from the painting order, boxes come from
``torchvision.ops.masks_to_boxes`` and from ``pycocotools.mask.toBbox``, the COCO export is
read by ``pycocotools.coco.COCO`` (its masks by ``annToMask``), and torchvision's own Mask
R-CNN accepts the targets and computes finite losses on them.
"""

from __future__ import annotations

import contextlib
import copy
import io
import math

import numpy as np
import pytest
import torch
import torchvision
from matplotlib.path import Path
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from torchvision.ops import masks_to_boxes

from lecturepkg.detection.coco_eval import rle_decode
from lecturepkg.detection.shapes import (
    SHAPE_CLASSES,
    Shape,
    ShapesDataset,
    collate_detections,
    draw_shapes,
    random_shapes,
    to_coco,
    to_coco_results,
)

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


@pytest.fixture(scope="module")
def dataset():
    return ShapesDataset(120, 96, 128, seed=3)


@pytest.fixture(scope="module")
def items(dataset):
    return [dataset[i] for i in range(len(dataset))]


def oracle_region(shape: Shape, height: int, width: int) -> np.ndarray:
    """Pixels whose centre is inside the shape, by matplotlib paths and distances."""
    cols, rows = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    centres = np.stack([cols.ravel(), rows.ravel()], 1)
    x, y, s = shape.x, shape.y, shape.size
    if shape.kind == "circle":
        inside = np.hypot(centres[:, 0] - x, centres[:, 1] - y) <= s
    else:
        if shape.kind == "square":
            corners = [(x - s, y - s), (x + s, y - s), (x + s, y + s), (x - s, y + s)]
        else:  # equilateral, apex up, height 2 s: side 2 s / sin 60
            half = s / math.sin(math.pi / 3)
            corners = [(x, y - s), (x + half, y + s), (x - half, y + s)]
        inside = Path(corners).contains_points(centres)
    return inside.reshape(height, width)


def test_masks_are_exactly_the_visible_pixels_and_the_image_shows_them(dataset, items):
    for index, (image, target) in enumerate(items):
        drawn = dataset.describe(index)
        h, w = image.shape[1:]
        regions = [oracle_region(s, h, w) for s in drawn.shapes]
        masks = target["masks"].numpy().astype(bool)
        assert len(masks) == len(drawn.shapes)
        expected = np.broadcast_to(np.array(drawn.background, np.float32)[:, None, None],
                                   (3, h, w)).copy()
        for k, region in enumerate(regions):
            later = np.any(regions[k + 1:], axis=0) if k + 1 < len(regions) else False
            np.testing.assert_array_equal(masks[k], region & ~later)
            expected[:, masks[k]] = np.array(drawn.shapes[k].colour, np.float32)[:, None]
            assert masks[k].sum() >= dataset.min_pixels
        torch.testing.assert_close(image, torch.from_numpy(expected), rtol=0, atol=0)
        assert not (masks.sum(0) > 1).any()  # the visible parts do not overlap
        labels = [SHAPE_CLASSES.index(s.kind) for s in drawn.shapes]
        assert target["labels"].tolist() == labels


def test_targets_have_torchvisions_types_and_boxes_cover_the_masks(items):
    for index, (image, target) in enumerate(items):
        k = len(target["labels"])
        assert image.dtype == torch.float32 and image.shape == (3, 96, 128)
        assert 0 <= image.min() and image.max() <= 1
        assert target["boxes"].dtype == torch.float32 and target["boxes"].shape == (k, 4)
        assert target["labels"].dtype == torch.int64
        assert ((target["labels"] >= 1) & (target["labels"] <= 3)).all()
        assert target["masks"].dtype == torch.uint8 and target["masks"].shape == (k, 96, 128)
        assert int(target["image_id"]) == index
        torch.testing.assert_close(target["area"], target["masks"].sum((1, 2)).float())
        assert target["iscrowd"].tolist() == [0] * k
        if k:  # (min col, min row, max col + 1, max row + 1)
            extent = masks_to_boxes(target["masks"]) + torch.tensor([0.0, 0.0, 1.0, 1.0])
            torch.testing.assert_close(target["boxes"], extent, rtol=0, atol=0)


def test_the_data_vary_like_the_matterport_demo(dataset, items):
    counts = [len(t["labels"]) for _, t in items]
    assert min(counts) >= 1 and max(counts) == 4
    labels = torch.cat([t["labels"] for _, t in items])
    assert set(labels.tolist()) == {1, 2, 3}
    for share in torch.bincount(labels, minlength=4)[1:] / len(labels):
        assert 0.2 < share < 0.47
    # occlusion happens: some visible masks are smaller than their shape
    hidden = 0
    for index, (_, target) in enumerate(items):
        drawn = dataset.describe(index)
        for shape, mask in zip(drawn.shapes, target["masks"]):
            hidden += int(oracle_region(shape, 96, 128).sum() > mask.sum())
    assert hidden >= 10
    areas = torch.cat([t["area"] for _, t in items])
    assert areas.min() < 32 ** 2 < areas.max()  # COCO's small and medium objects


def test_a_seed_gives_the_same_images_whatever_the_length():
    a, b = ShapesDataset(5, 64, 64, seed=11), ShapesDataset(50, 64, 64, seed=11)
    for i in range(5):
        (ia, ta), (ib, tb) = a[i], b[i]
        assert torch.equal(ia, ib)
        for key in ta:
            assert torch.equal(ta[key], tb[key])
    assert torch.equal(a[-1][0], a[4][0])
    other = ShapesDataset(5, 64, 64, seed=12)
    assert not torch.equal(other[0][0], a[0][0])


def test_hidden_and_tiny_instances_are_dropped_and_not_painted():
    shapes = [
        Shape("square", (1.0, 0.0, 0.0), 20.3, 20.2, 4.1),    # hidden under the next one
        Shape("square", (0.0, 1.0, 0.0), 20.1, 20.4, 9.7),
        Shape("circle", (0.0, 0.0, 1.0), 45.2, 20.3, 6.2),    # 3 columns left visible
        Shape("square", (1.0, 1.0, 0.0), 48.7, 20.2, 6.0),    # from x = 42.7 on
    ]
    drawn = draw_shapes(shapes, 40, 70, (0.5, 0.5, 0.5), min_pixels=40)
    assert [s.colour for s in drawn.shapes] == [(0.0, 1.0, 0.0), (1.0, 1.0, 0.0)]
    colours = {tuple(c) for c in drawn.image.permute(1, 2, 0).reshape(-1, 3).tolist()}
    assert colours == {(0.5, 0.5, 0.5), (0.0, 1.0, 0.0), (1.0, 1.0, 0.0)}
    keep_all = draw_shapes(shapes, 40, 70, (0.5, 0.5, 0.5), min_pixels=1)
    assert len(keep_all.shapes) == 3  # the hidden square has no pixel at all
    assert 0 < keep_all.masks[1].sum() < 40


def test_random_shapes_follow_their_arguments():
    rng = np.random.default_rng(0)
    for _ in range(50):
        shapes, background = random_shapes(rng, 100, 60, num_shapes=(2, 3), size=(0.1, 0.2),
                                           max_overlap=1.0)
        assert len(shapes) in (2, 3)
        for s in shapes:
            assert 6 <= s.size <= 12 and 9 <= s.x <= 51 and 15 <= s.y <= 85
            assert max(abs(a - b) for a, b in zip(s.colour, background)) >= 0.3
    shapes, _ = random_shapes(np.random.default_rng(1), num_shapes=(30, 30), max_overlap=0.0)
    for i, a in enumerate(shapes):  # boxes of the kept shapes do not overlap at all
        for b in shapes[:i]:
            assert (abs(a.x - b.x) >= a.size + b.size) or (abs(a.y - b.y) >= a.size + b.size)


def test_torchvision_mask_rcnn_trains_on_the_targets():
    torch.manual_seed(0)
    model = torchvision.models.detection.maskrcnn_resnet50_fpn(
        weights=None, weights_backbone=None, num_classes=len(SHAPE_CLASSES),
        min_size=64, max_size=64)
    model.train()
    loader = torch.utils.data.DataLoader(ShapesDataset(2, 64, 64, seed=0), batch_size=2,
                                         collate_fn=collate_detections)
    images, targets = next(iter(loader))
    assert isinstance(images, list) and len(targets) == 2
    losses = model(images, targets)
    assert set(losses) >= {"loss_classifier", "loss_box_reg", "loss_mask"}
    assert all(torch.isfinite(v) for v in losses.values())


# --------------------------------------------------------------------------------------------
# COCO export
# --------------------------------------------------------------------------------------------


def test_to_coco_is_read_by_pycocotools(items):
    gt = to_coco(items)
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = copy.deepcopy(gt)
        coco.createIndex()
    assert sorted(coco.getImgIds()) == list(range(len(items)))
    assert coco.getCatIds() == [1, 2, 3]
    assert [c["name"] for c in coco.loadCats([1, 2, 3])] == ["square", "circle", "triangle"]
    for index, (_, target) in enumerate(items):
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[index]))
        assert [a["category_id"] for a in anns] == target["labels"].tolist()
        for ann, mask, box in zip(anns, target["masks"].numpy(), target["boxes"].tolist()):
            np.testing.assert_array_equal(coco.annToMask(ann), mask)
            rle = coco.annToRLE(ann)
            assert mask_utils.area(rle) == ann["area"] == mask.sum()
            np.testing.assert_array_equal(mask_utils.toBbox(rle), ann["bbox"])
            assert ann["bbox"] == [box[0], box[1], box[2] - box[0], box[3] - box[1]]
            assert ann["iscrowd"] == 0 and ann["id"] >= 1
    ids = [a["id"] for a in gt["annotations"]]
    assert len(set(ids)) == len(ids)
    assert to_coco([t for _, t in items]) == gt  # targets alone: size from the masks


def test_to_coco_results_from_torchvision_style_predictions(items):
    rng = torch.Generator().manual_seed(0)
    predictions = []
    for _, target in items[:6]:
        k = len(target["labels"])
        probs = torch.rand(k, 1, 96, 128, generator=rng)
        predictions.append({"boxes": target["boxes"] + 0.25, "labels": target["labels"],
                            "scores": torch.rand(k, generator=rng), "masks": probs})
    results = to_coco_results(predictions, image_ids=list(range(6)))
    assert len(results) == sum(len(p["labels"]) for p in predictions)
    gt = to_coco(items[:6])
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = copy.deepcopy(gt)
        coco.createIndex()
        loaded = coco.loadRes(copy.deepcopy(results))
    assert len(loaded.getAnnIds()) == len(results)
    r = 0
    for i, pred in enumerate(predictions):
        for k in range(len(pred["labels"])):
            res = results[r]
            assert res["image_id"] == i and res["category_id"] == int(pred["labels"][k])
            assert res["score"] == float(pred["scores"][k])
            x1, y1, x2, y2 = pred["boxes"][k].tolist()
            assert res["bbox"] == [x1, y1, x2 - x1, y2 - y1]
            expected = (pred["masks"][k, 0] > 0.5).numpy().astype(np.uint8)
            np.testing.assert_array_equal(mask_utils.decode(res["segmentation"]), expected)
            np.testing.assert_array_equal(rle_decode(res["segmentation"]), expected)
            r += 1
    no_masks = [{k: v for k, v in p.items() if k != "masks"} for p in predictions]
    assert all("segmentation" not in d for d in to_coco_results(no_masks))


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"num_images": -1}, ValueError, "num_images must be >= 0"),
        ({"num_images": 2.0}, TypeError, "num_images must be an int"),
        ({"height": 4}, ValueError, "height must be >= 8"),
        ({"num_shapes": (3, 1)}, ValueError, "num_shapes must be a pair"),
        ({"size": (0.0, 0.2)}, ValueError, "size within (0, 1]"),
        ({"size": 0.2}, ValueError, "size must be a pair"),
        ({"max_overlap": -0.1}, ValueError, "max_overlap must be >= 0"),
        ({"min_pixels": 0}, ValueError, "min_pixels must be >= 1"),
        ({"transforms": 3}, TypeError, "transforms must be callable"),
    ],
)
def test_dataset_bad_arguments_raise(kwargs, error, words):
    args = {"num_images": 3, **kwargs}
    with pytest.raises(error, match=_pattern(words)):
        ShapesDataset(**args)


def _pattern(words):
    import re

    return re.escape(words)


def test_bad_items_and_shapes_raise(items):
    data = ShapesDataset(3, 32, 32)
    with pytest.raises(IndexError, match="out of range"):
        data[3]
    with pytest.raises(TypeError, match="index must be an int"):
        data[1.0]
    with pytest.raises(ValueError, match="kind must be one of"):
        draw_shapes([Shape("star", (1, 0, 0), 5, 5, 2)], 10, 10, (0, 0, 0))
    with pytest.raises(ValueError, match=r"colour must be three numbers in \[0, 1\]"):
        draw_shapes([Shape("square", (255, 0, 0), 5, 5, 2)], 10, 10, (0, 0, 0))
    with pytest.raises(TypeError, match="must be a Shape"):
        draw_shapes([("square", (1, 0, 0), 5, 5, 2)], 10, 10, (0, 0, 0))
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        random_shapes(0)
    image, target = items[0]
    with pytest.raises(ValueError, match="labels must be in 1..3"):
        to_coco([(image, dict(target, labels=torch.zeros_like(target["labels"])))])
    with pytest.raises(ValueError, match=r"\['boxes'\] must be a tensor \(K, 4\)"):
        to_coco([(image, dict(target, boxes=target["boxes"][:, :3]))])
    with pytest.raises(ValueError, match=r"\['masks'\] must have shape"):
        to_coco([(image, dict(target, masks=target["masks"][:, 0]))])
    with pytest.raises(TypeError, match="must be an \\(image, target\\) pair"):
        to_coco([image])
    with pytest.raises(ValueError, match="repeated image_id"):
        to_coco([items[0], items[0]])
    with pytest.raises(TypeError, match="data must be a dataset"):
        to_coco(5)
    prediction = {"boxes": target["boxes"], "labels": target["labels"],
                  "scores": torch.ones(len(target["labels"]))}
    with pytest.raises(ValueError, match="image_ids must have one id per prediction"):
        to_coco_results([prediction], image_ids=[0, 1])
    with pytest.raises(ValueError, match="must have 'scores'"):
        to_coco_results([{"boxes": target["boxes"], "labels": target["labels"]}])
    with pytest.raises(ValueError, match=r"\['scores'\] must be a tensor of shape"):
        to_coco_results([dict(prediction, scores=torch.ones(len(target["labels"]) + 1))])
    with pytest.raises(TypeError, match="predictions must be a list of dicts"):
        to_coco_results(prediction)
