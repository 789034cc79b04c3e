"""Synthetic shapes with exact instance masks, data a Mask R-CNN can learn on a CPU.

In the manner of the "shapes" demo of matterport's Mask R-CNN (Abdulla 2017): each image
has a plain background of a random colour and one to four squares, circles and triangles
of random colours, sizes and positions, which may overlap (He et al. 2017 train on COCO;
this is the small stand-in). Shapes are painted in order, so a later shape hides the
pixels of an earlier one; each instance's mask holds exactly its visible pixels, and an
instance left with fewer than ``min_pixels`` visible pixels is removed from the image.

Geometry: pixel ``(row, col)`` covers the square ``[col, col + 1) x [row, row + 1)``, and
belongs to a shape when its centre ``(col + 0.5, row + 0.5)`` lies inside. A shape is
described by its centre ``(x, y)`` and half-size ``s``: a square of side ``2s``, a circle of
radius ``s``, an equilateral triangle (apex up) of height ``2s``. Boxes are
``(x1, y1, x2, y2) = (min col, min row, max col + 1, max row + 1)`` of the mask: the box
that covers the mask's pixels, COCO's ``bbox`` (``pycocotools.mask.toBbox``), one more than
``torchvision.ops.masks_to_boxes`` at the right and bottom.

Targets follow torchvision's detection models: ``boxes`` ``(K, 4)`` float, ``labels``
``(K,)`` int64 with 0 reserved for the background (1 square, 2 circle, 3 triangle),
``masks`` ``(K, H, W)`` uint8, and, as in torchvision's reference scripts, ``image_id``,
``area`` and ``iscrowd``. :func:`to_coco` and :func:`to_coco_results` write ground truth and
detections in COCO's format for :func:`lecturepkg.detection.coco_eval.coco_evaluate`
(or pycocotools).
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from lecturepkg._checks import check_int, check_real
from lecturepkg.detection.coco_eval import rle_encode

__all__ = ["SHAPE_CLASSES", "Shape", "ShapesImage", "shape_region", "random_shapes",
           "draw_shapes", "masks_extent", "ShapesDataset", "collate_detections", "to_coco",
           "to_coco_results"]

#: Class names by label, 0 being the background as in torchvision's detection models.
SHAPE_CLASSES = ("background", "square", "circle", "triangle")


class Shape(NamedTuple):
    """One shape to paint (kind, colour, centre and half-size, in pixels)."""

    #: ``"square"``, ``"circle"`` or ``"triangle"``
    kind: str
    #: RGB in [0, 1]
    colour: tuple
    #: centre, along the columns
    x: float
    #: centre, along the rows
    y: float
    #: half the side (square), the radius (circle), half the height (triangle)
    size: float


class ShapesImage(NamedTuple):
    """An image of :func:`draw_shapes` and the instances it shows."""

    #: ``float32`` ``(3, H, W)``, RGB in [0, 1]
    image: torch.Tensor
    #: ``uint8`` ``(K, H, W)``, the visible pixels of each kept shape
    masks: torch.Tensor
    #: the kept shapes, in painting order (``K`` of them)
    shapes: list
    #: the background's RGB colour
    background: tuple


def shape_region(shape: Shape, height: int, width: int) -> np.ndarray:
    """The pixels ``(height, width)`` whose centre lies inside ``shape`` (bool)."""
    cols = np.arange(width) + 0.5
    rows = np.arange(height)[:, None] + 0.5
    dx, dy = cols[None, :] - shape.x, rows - shape.y  # (1, W), (H, 1)
    s = shape.size
    if shape.kind == "square":
        return (np.abs(dx) <= s) & (np.abs(dy) <= s)
    if shape.kind == "circle":
        return dx * dx + dy * dy <= s * s
    # triangle, apex at (x, y - s), base at y + s, half-width (depth from apex) / sqrt(3)
    return (dy <= s) & (np.abs(dx) * math.sqrt(3.0) <= dy + s)


def draw_shapes(shapes: Sequence[Shape], height: int, width: int, background: Sequence[float],
                min_pixels: int = 1) -> ShapesImage:
    """Paint ``shapes`` in order on a plain ``background`` and return the visible masks.

    A later shape hides the pixels of the earlier ones. A shape left with fewer than
    ``min_pixels`` visible pixels is removed and the image painted again without it
    (removing a shape only uncovers pixels of the others, so none of them falls below).

    Parameters
    ----------
    shapes : sequence of Shape
        Painted in order.
    height, width : int
        Image size.
    background : sequence of float
        RGB in [0, 1].
    min_pixels : int
        The fewest visible pixels an instance may keep.

    Returns
    -------
    ShapesImage
    """
    height = check_int("height", height, minimum=1)
    width = check_int("width", width, minimum=1)
    min_pixels = check_int("min_pixels", min_pixels, minimum=1)
    background = _colour("background", background)
    shapes = [_check_shape(f"shapes[{i}]", s) for i, s in enumerate(shapes)]
    regions = [shape_region(s, height, width) for s in shapes]
    visible = _visible(regions)
    keep = [i for i, v in enumerate(visible) if v.sum() >= min_pixels]
    regions = [regions[i] for i in keep]
    shapes = [shapes[i] for i in keep]
    visible = _visible(regions)
    image = np.empty((height, width, 3), dtype=np.float32)
    image[:] = background
    for shape, region in zip(shapes, regions):
        image[region] = shape.colour
    masks = np.stack(visible).astype(np.uint8) if visible else np.zeros((0, height, width),
                                                                         np.uint8)
    return ShapesImage(torch.from_numpy(image).permute(2, 0, 1).contiguous(),
                       torch.from_numpy(masks), shapes, tuple(background))


def _visible(regions: list) -> list:
    """Each region minus the union of the regions painted after it."""
    visible = []
    covered = np.zeros_like(regions[0]) if regions else None
    for region in reversed(regions):
        visible.append(region & ~covered)
        covered = covered | region
    return visible[::-1]


def random_shapes(rng: np.random.Generator, height: int = 128, width: int = 128,
                  num_shapes: tuple = (1, 4), size: tuple = (0.08, 0.25),
                  max_overlap: float = 0.3) -> tuple[list, tuple]:
    """Draw random shapes and a background colour, matterport-style.

    The number of shapes is uniform in ``num_shapes`` (inclusive), the kind uniform among
    square, circle, triangle, the half-size uniform in ``size`` times the shorter side, the
    centre uniform in the image's middle 70%. A shape whose box overlaps an earlier one's
    with IoU above ``max_overlap`` is not drawn (matterport's demo uses non-maximum
    suppression at 0.3 for the same purpose). Colours are uniform in RGB, at least 0.3 from
    the background and from the other shapes in some channel.

    Returns
    -------
    shapes : list of Shape
    background : tuple
        RGB in [0, 1].
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    height = check_int("height", height, minimum=8)
    width = check_int("width", width, minimum=8)
    low_n, high_n = _pair("num_shapes", num_shapes, integer=True)
    low_s, high_s = _pair("size", size)
    if low_n < 0 or high_s > 1 or low_s <= 0:
        raise ValueError(f"num_shapes must be >= 0 and size within (0, 1], got {num_shapes}, "
                         f"{size}")
    max_overlap = check_real("max_overlap", max_overlap, nonnegative=True)
    background = tuple(float(c) for c in rng.random(3))
    colours = [np.array(background)]
    shapes: list[Shape] = []
    boxes: list[tuple] = []
    side = min(height, width)
    for _ in range(int(rng.integers(low_n, high_n + 1))):
        kind = SHAPE_CLASSES[1 + int(rng.integers(0, 3))]
        s = float(rng.uniform(low_s, high_s)) * side
        x = float(rng.uniform(0.15, 0.85)) * width
        y = float(rng.uniform(0.15, 0.85)) * height
        for _attempt in range(50):
            colour = rng.random(3)
            if all(np.abs(colour - c).max() >= 0.3 for c in colours):
                break
        box = (x - s, y - s, x + s, y + s)
        if any(_box_iou(box, other) > max_overlap for other in boxes):
            continue
        boxes.append(box)
        colours.append(colour)
        shapes.append(Shape(kind, tuple(float(c) for c in colour), x, y, s))
    return shapes, background


def _box_iou(a: tuple, b: tuple) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


class ShapesDataset(Dataset):
    """Random shapes images with torchvision-style detection targets.

    Image ``i`` is drawn from ``numpy.random.default_rng([seed, i])``: the same for a seed,
    whatever the length of the dataset, and drawn when it is read (nothing is stored).

    Parameters
    ----------
    num_images : int
        Length of the dataset.
    height, width : int
        Image size (matterport's demo: 128 x 128).
    seed : int
        Seed of the whole dataset.
    num_shapes : tuple of int
        Fewest and most shapes drawn per image.
    size : tuple of float
        Range of the half-size of a shape, as a fraction of the shorter side.
    max_overlap : float
        Largest box IoU allowed between two drawn shapes.
    min_pixels : int
        The fewest visible pixels an instance keeps; shapes with fewer are removed.
    transforms : callable, optional
        ``transforms(image, target) -> (image, target)``, applied to each item.

    Examples
    --------
    >>> image, target = ShapesDataset(10, 64, 64, seed=0)[3]
    >>> image.shape, sorted(target)
    (torch.Size([3, 64, 64]), ['area', 'boxes', 'image_id', 'iscrowd', 'labels', 'masks'])
    """

    classes = SHAPE_CLASSES

    def __init__(self, num_images: int, height: int = 128, width: int = 128, seed: int = 0,
                 num_shapes: tuple = (1, 4), size: tuple = (0.08, 0.25),
                 max_overlap: float = 0.3, min_pixels: int = 20,
                 transforms: Callable | None = None):
        self.num_images = check_int("num_images", num_images, minimum=0)
        self.height = check_int("height", height, minimum=8)
        self.width = check_int("width", width, minimum=8)
        self.seed = check_int("seed", seed, minimum=0)
        self.min_pixels = check_int("min_pixels", min_pixels, minimum=1)
        if transforms is not None and not callable(transforms):
            raise TypeError(f"transforms must be callable or None, got {type(transforms).__name__}")
        self.transforms = transforms
        self._draw = dict(num_shapes=num_shapes, size=size, max_overlap=max_overlap)
        random_shapes(np.random.default_rng(0), self.height, self.width, **self._draw)  # check

    def __len__(self) -> int:
        return self.num_images

    def describe(self, index: int) -> ShapesImage:
        """Image ``index`` with its masks, the kept shapes and the background colour."""
        index = self._index(index)
        rng = np.random.default_rng([self.seed, index])
        shapes, background = random_shapes(rng, self.height, self.width, **self._draw)
        return draw_shapes(shapes, self.height, self.width, background, self.min_pixels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict]:
        index = self._index(index)
        drawn = self.describe(index)
        masks = drawn.masks  # (K, H, W)
        target = {
            "boxes": masks_extent(masks),
            "labels": torch.tensor([SHAPE_CLASSES.index(s.kind) for s in drawn.shapes],
                                   dtype=torch.int64),
            "masks": masks,
            "image_id": torch.tensor(index, dtype=torch.int64),
            "area": masks.flatten(1).sum(1).to(torch.float32),
            "iscrowd": torch.zeros(len(masks), dtype=torch.int64),
        }
        image = drawn.image
        if self.transforms is not None:
            image, target = self.transforms(image, target)
        return image, target

    def _index(self, index: Any) -> int:
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise TypeError(f"index must be an int, got {type(index).__name__}")
        index = int(index)
        if index < 0:
            index += self.num_images
        if not 0 <= index < self.num_images:
            raise IndexError(f"index {index} is out of range for {self.num_images} images")
        return index


def masks_extent(masks: torch.Tensor) -> torch.Tensor:
    """Boxes ``(K, 4)`` ``(min col, min row, max col + 1, max row + 1)`` of masks ``(K, H, W)``."""
    boxes = torch.zeros(len(masks), 4, dtype=torch.float32)
    for k, mask in enumerate(masks):
        rows = torch.nonzero(mask.any(1)).flatten()
        cols = torch.nonzero(mask.any(0)).flatten()
        if len(rows):
            boxes[k] = torch.stack([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1]).float()
    return boxes


def collate_detections(batch: Sequence) -> tuple[list, list]:
    """Batch ``(image, target)`` pairs into two lists, the input of torchvision's models."""
    images, targets = zip(*batch) if len(batch) else ((), ())
    return list(images), list(targets)


# --------------------------------------------------------------------------------------------
# COCO format
# --------------------------------------------------------------------------------------------


def to_coco(data: Any, categories: Sequence[str] = SHAPE_CLASSES) -> dict:
    """COCO ground truth for a detection dataset (such as :class:`ShapesDataset`).

    Parameters
    ----------
    data : Dataset or sequence
        Items are ``(image, target)`` pairs, or targets alone; a target holds ``boxes``
        ``(K, 4)`` (x1, y1, x2, y2), ``labels`` ``(K,)`` and ``masks`` ``(K, H, W)``, and
        may hold ``image_id`` (its index by default). Without an image, the size is read
        from the masks.
    categories : sequence of str
        Class names by label; label 0 is the background and is not listed.

    Returns
    -------
    dict
        ``images`` (``id``, ``height``, ``width``, ``file_name``), ``annotations`` (``id``
        from 1, ``image_id``, ``category_id`` = label, ``bbox`` [x, y, w, h], ``area`` = the
        mask's pixels, ``iscrowd`` 0, ``segmentation`` as compressed RLE) and
        ``categories``: accepted by ``pycocotools.coco.COCO`` and by
        :func:`~lecturepkg.detection.coco_eval.coco_evaluate`.
    """
    if not hasattr(data, "__len__") or not hasattr(data, "__getitem__"):
        raise TypeError(f"data must be a dataset or a sequence of (image, target) pairs, got "
                        f"{type(data).__name__}")
    if (isinstance(categories, str) or not isinstance(categories, Sequence)
            or not all(isinstance(c, str) for c in categories) or len(categories) < 2):
        raise TypeError("categories must be a sequence of class names, background first")
    images, annotations = [], []
    for index in range(len(data)):
        item = data[index]
        image, target = (None, item) if isinstance(item, dict) else _pair_item(index, item)
        boxes, labels, masks = _check_target(f"data[{index}]", target)
        if image is not None:
            height, width = int(image.shape[-2]), int(image.shape[-1])
        elif masks is not None:
            height, width = int(masks.shape[-2]), int(masks.shape[-1])
        else:
            raise ValueError(f"data[{index}] has neither an image nor masks to give its size")
        if masks is not None and tuple(masks.shape[-2:]) != (height, width):
            raise ValueError(f"data[{index}]: masks are {tuple(masks.shape[-2:])}, the image "
                             f"{(height, width)}")
        image_id = int(target["image_id"]) if "image_id" in target else index
        images.append({"id": image_id, "height": height, "width": width,
                       "file_name": f"{image_id:06d}.png"})
        for k in range(len(boxes)):
            label = int(labels[k])
            if not 1 <= label < len(categories):
                raise ValueError(f"data[{index}] has label {label}; labels must be in "
                                 f"1..{len(categories) - 1} (0 is the background)")
            x1, y1, x2, y2 = (float(v) for v in boxes[k])
            ann = {"id": len(annotations) + 1, "image_id": image_id, "category_id": label,
                   "bbox": [x1, y1, x2 - x1, y2 - y1], "iscrowd": 0}
            if masks is not None:
                ann["area"] = float(masks[k].sum())
                ann["segmentation"] = rle_encode(masks[k])
            else:
                ann["area"] = (x2 - x1) * (y2 - y1)
            annotations.append(ann)
    ids = [im["id"] for im in images]
    if len(set(ids)) != len(ids):
        raise ValueError("data has repeated image_id values")
    cats = [{"id": i, "name": name, "supercategory": "shape"}
            for i, name in enumerate(categories) if i > 0]
    return {"info": {"description": "lecturepkg detection data"}, "images": images,
            "annotations": annotations, "categories": cats}


def to_coco_results(predictions: Sequence[dict], image_ids: Sequence[int] | None = None,
                    mask_threshold: float = 0.5) -> list:
    """COCO results (a list of detections) from the outputs of a detection model.

    Parameters
    ----------
    predictions : sequence of dict
        One per image, as torchvision's Mask R-CNN returns in eval mode: ``boxes``
        ``(K, 4)`` (x1, y1, x2, y2), ``labels`` ``(K,)``, ``scores`` ``(K,)`` and optionally
        ``masks`` ``(K, 1, H, W)`` or ``(K, H, W)`` (probabilities or 0/1).
    image_ids : sequence of int, optional
        The image id of each prediction; ``0, 1, ...`` by default (the ids :func:`to_coco`
        gives a :class:`ShapesDataset`).
    mask_threshold : float
        A pixel belongs to a mask when its probability is above it (torchvision: 0.5).

    Returns
    -------
    list of dict
        ``image_id``, ``category_id``, ``score``, ``bbox`` [x, y, w, h] and, with masks,
        ``segmentation`` (compressed RLE). To evaluate masks with pycocotools as
        :func:`~lecturepkg.detection.coco_eval.coco_evaluate` does, drop ``bbox`` first.
    """
    if not isinstance(predictions, Sequence) or isinstance(predictions, (str, dict)):
        raise TypeError(f"predictions must be a list of dicts, one per image, got "
                        f"{type(predictions).__name__}")
    if image_ids is None:
        image_ids = list(range(len(predictions)))
    if len(image_ids) != len(predictions):
        raise ValueError(f"image_ids must have one id per prediction ({len(predictions)}), "
                         f"got {len(image_ids)}")
    mask_threshold = check_real("mask_threshold", mask_threshold)
    results = []
    for i, (pred, image_id) in enumerate(zip(predictions, image_ids)):
        if not isinstance(pred, dict):
            raise TypeError(f"predictions[{i}] must be a dict, got {type(pred).__name__}")
        if "scores" not in pred:
            raise ValueError(f"predictions[{i}] must have 'scores'")
        boxes, labels, masks = _check_target(f"predictions[{i}]", pred, model_masks=True)
        scores = pred["scores"]
        if not isinstance(scores, torch.Tensor) or scores.shape != (len(boxes),):
            raise ValueError(f"predictions[{i}]['scores'] must be a tensor of shape "
                             f"({len(boxes)},)")
        for k in range(len(boxes)):
            x1, y1, x2, y2 = (float(v) for v in boxes[k])
            det = {"image_id": int(image_id), "category_id": int(labels[k]),
                   "bbox": [x1, y1, x2 - x1, y2 - y1], "score": float(scores[k])}
            if masks is not None:
                det["segmentation"] = rle_encode((masks[k] > mask_threshold).to(torch.uint8))
            results.append(det)
    return results


def _pair_item(index: int, item: Any) -> tuple:
    if not isinstance(item, (tuple, list)) or len(item) != 2 or not isinstance(item[1], dict):
        raise TypeError(f"data[{index}] must be an (image, target) pair or a target dict, got "
                        f"{type(item).__name__}")
    image = item[0]
    if not isinstance(image, torch.Tensor) or image.ndim != 3:
        raise ValueError(f"data[{index}]'s image must be a tensor (C, H, W)")
    return image, item[1]


def _check_target(name: str, target: dict, model_masks: bool = False) -> tuple:
    for key in ("boxes", "labels"):
        if key not in target:
            raise ValueError(f"{name} must have {key!r}")
    boxes, labels = target["boxes"], target["labels"]
    if not isinstance(boxes, torch.Tensor) or boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{name}['boxes'] must be a tensor (K, 4) as (x1, y1, x2, y2), got "
                         f"{getattr(boxes, 'shape', type(boxes).__name__)}")
    if (not isinstance(labels, torch.Tensor) or labels.shape != (len(boxes),)
            or labels.is_floating_point()):
        raise ValueError(f"{name}['labels'] must be an integer tensor of shape ({len(boxes)},)")
    masks = target.get("masks")
    if masks is not None:
        if not isinstance(masks, torch.Tensor):
            raise TypeError(f"{name}['masks'] must be a tensor, got {type(masks).__name__}")
        if model_masks and masks.ndim == 4 and masks.shape[1] == 1:
            masks = masks[:, 0]
        if masks.ndim != 3 or len(masks) != len(boxes):
            raise ValueError(f"{name}['masks'] must have shape ({len(boxes)}, H, W), got "
                             f"{tuple(masks.shape)}")
        masks = masks.detach().cpu()
    return boxes.detach().cpu().double(), labels.detach().cpu(), masks


def _check_shape(name: str, shape: Any) -> Shape:
    if not isinstance(shape, Shape):
        raise TypeError(f"{name} must be a Shape, got {type(shape).__name__}")
    if shape.kind not in SHAPE_CLASSES[1:]:
        raise ValueError(f"{name}.kind must be one of {SHAPE_CLASSES[1:]}, got {shape.kind!r}")
    _colour(f"{name}.colour", shape.colour)
    for field in ("x", "y", "size"):
        check_real(f"{name}.{field}", getattr(shape, field))
    if shape.size <= 0:
        raise ValueError(f"{name}.size must be > 0, got {shape.size}")
    return shape


def _colour(name: str, colour: Any) -> tuple:
    if (not isinstance(colour, (tuple, list, np.ndarray)) or len(colour) != 3
            or not all(isinstance(c, numbers.Real) and 0 <= c <= 1 for c in colour)):
        raise ValueError(f"{name} must be three numbers in [0, 1] (RGB), got {colour!r}")
    return tuple(float(c) for c in colour)


def _pair(name: str, value: Any, integer: bool = False) -> tuple:
    kind = numbers.Integral if integer else numbers.Real
    if (not isinstance(value, (tuple, list)) or len(value) != 2
            or not all(isinstance(v, kind) and not isinstance(v, bool) for v in value)
            or value[0] > value[1]):
        what = "ints" if integer else "numbers"
        raise ValueError(f"{name} must be a pair (low, high) of {what} with low <= high, "
                         f"got {value!r}")
    return value[0], value[1]
