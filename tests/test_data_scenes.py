"""Objects on real textures and the Clever-Hans data: shapes and dtypes, masks that are the
painted objects (the shapes checked against an independent rasterisation with matplotlib's
polygons), boxes that are the masks' extents (torchvision's ``masks_to_boxes``), labels that
the background does not predict, cue/label agreement as documented, determinism, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.path import Path as MplPath
from scipy.stats import chi2_contingency
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from torchvision.ops import masks_to_boxes

from lecturepkg.data import (
    SCENE_CLASSES, SCENE_TEXTURES, CleverHansScenes, Scenes, make_clever_hans, make_scenes,
    shape_mask,
)


@pytest.fixture(scope="module")
def scenes():
    return make_scenes(600, seed=3)


def _polygon(shape, centre, radius, angle):
    """The outline of a shape as (row, col) vertices, written from the docstring."""
    if shape == "square":
        uv = 0.8 * radius * np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]])
    elif shape == "triangle":  # vertices on the circle at 90, 210, 330 degrees (u right, v down)
        t = np.deg2rad([90, 210, 330])
        uv = radius * np.stack([np.cos(t), np.sin(t)], 1)
    else:  # cross: 12 vertices
        a, h = radius, 0.3 * radius
        uv = np.array([[-h, -a], [h, -a], [h, -h], [a, -h], [a, h], [h, h], [h, a], [-h, a],
                       [-h, h], [-a, h], [-a, -h], [-h, -h]])
    c, s = np.cos(angle), np.sin(angle)
    dc = c * uv[:, 0] - s * uv[:, 1]  # back from the shape's frame to image offsets
    dr = s * uv[:, 0] + c * uv[:, 1]
    return np.stack([centre[0] + dr, centre[1] + dc], 1)


def _oracle(shape, size, centre, radius, angle):
    rows, cols = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    points = np.stack([rows.ravel(), cols.ravel()], 1).astype(float)
    if shape == "disk":
        d = np.hypot(points[:, 0] - centre[0], points[:, 1] - centre[1])
        return (d <= radius).reshape(size, size), (np.abs(d - radius) < 1e-6).reshape(size, size)
    path = MplPath(_polygon(shape, centre, radius, angle))
    inside = path.contains_points(points, radius=1e-7)
    inside2 = path.contains_points(points, radius=-1e-7)  # one of them grows the path
    return inside.reshape(size, size) | inside2.reshape(size, size), \
        (inside != inside2).reshape(size, size)


@pytest.mark.parametrize("shape", SCENE_CLASSES)
def test_shape_mask_matches_an_independent_rasterisation(shape):
    rng = np.random.default_rng(0)
    for _ in range(20):
        centre = tuple(rng.uniform(8, 24, size=2))
        radius, angle = rng.uniform(2, 8), rng.uniform(0, 2 * np.pi)
        got = shape_mask(shape, 32, centre, radius, angle)
        expected, edge = _oracle(shape, 32, centre, radius, angle)
        assert got.dtype == bool and got.shape == (32, 32)
        assert (got[~edge] == expected[~edge]).all()
        assert expected.sum() > 5


def test_shapes_dtypes_and_ranges(scenes):
    assert isinstance(scenes, Scenes)
    assert scenes.images.shape == (600, 3, 32, 32) and scenes.images.dtype == torch.float32
    assert scenes.masks.shape == (600, 1, 32, 32) and scenes.masks.dtype == torch.float32
    assert scenes.labels.shape == (600,) and scenes.labels.dtype == torch.int64
    assert scenes.boxes.shape == (600, 4) and scenes.boxes.dtype == torch.float32
    assert scenes.background.shape == (600,) and scenes.background.dtype == torch.int64
    assert 0 <= scenes.images.min() and scenes.images.max() <= 1
    assert set(scenes.masks.unique().tolist()) == {0.0, 1.0}
    assert set(scenes.labels.tolist()) == set(range(len(SCENE_CLASSES)))
    assert set(scenes.background.tolist()) == set(range(len(SCENE_TEXTURES)))
    share = scenes.masks.mean(dim=(1, 2, 3))
    assert (share > 0.03).all() and (share < 0.6).all()


def test_boxes_are_the_masks_extents(scenes):
    torch.testing.assert_close(scenes.boxes, masks_to_boxes(scenes.masks[:, 0]), rtol=0, atol=0)


def test_objects_lie_inside_the_image(scenes):
    m = scenes.masks[:, 0]
    edges = torch.cat([m[:, 0], m[:, -1], m[:, :, 0], m[:, :, -1]], dim=1)
    assert edges.sum() == 0


def test_masks_are_the_labelled_upright_shape(scenes):
    """Refit each mask with every shape (centre and radius from the box, refined on a grid):
    the labelled shape explains the mask (IoU > 0.9) and better than any other shape."""
    for mask, label, box in zip(scenes.masks[:100, 0].numpy().astype(bool),
                                scenes.labels[:100], scenes.boxes[:100].numpy()):
        best = {}
        for shape in SCENE_CLASSES:
            scores = []
            half = (box[2] - box[0]) / 2  # half the width, in units of the radius:
            ratio = {"disk": 1, "square": 0.8, "cross": 1, "triangle": np.sqrt(3) / 2}[shape]
            for radius in half / ratio + np.linspace(-0.8, 0.8, 5):
                # a triangle spans -radius / 2 to radius about its centre, the others are
                # symmetric
                shift = radius / 4 if shape == "triangle" else 0.0
                for dr in np.linspace(-0.75, 0.75, 7):
                    for dc in np.linspace(-0.75, 0.75, 7):
                        centre = ((box[1] + box[3]) / 2 - shift + dr,
                                  (box[0] + box[2]) / 2 + dc)
                        fit, _ = _oracle(shape, 32, centre, radius, 0.0)
                        scores.append((fit & mask).sum() / (fit | mask).sum())
            best[shape] = max(scores)
        assert best[SCENE_CLASSES[label]] > 0.9, best
        assert max(best, key=best.get) == SCENE_CLASSES[label], best


def test_object_pixels_are_one_painted_colour(scenes):
    """Inside a mask the image is a colour times a linear shading, plus noise: a per-channel
    affine fit in (row, col) leaves residuals at the noise level (0.02)."""
    rows, cols = np.mgrid[0:32, 0:32]
    residuals = []
    for image, mask in zip(scenes.images[:100].numpy(), scenes.masks[:100, 0].numpy() > 0):
        design = np.stack([np.ones(mask.sum()), rows[mask], cols[mask]], 1)
        for channel in image:
            values = channel[mask]
            keep = (values > 0.02) & (values < 0.98)  # clipped pixels are not affine
            coef, *_ = np.linalg.lstsq(design[keep], values[keep], rcond=None)
            residuals.append(values[keep] - design[keep] @ coef)
    assert np.sqrt(np.mean(np.concatenate(residuals) ** 2)) < 0.03


def test_background_does_not_predict_the_label():
    data = make_scenes(1200, seed=5)
    table = np.zeros((len(SCENE_TEXTURES), len(SCENE_CLASSES)))
    np.add.at(table, (data.background.numpy(), data.labels.numpy()), 1)
    assert chi2_contingency(table).pvalue > 1e-3
    outside = (1 - data.masks).expand_as(data.images).bool()
    feats = []
    for image, keep in zip(data.images, outside):  # colour statistics of the background only
        pixels = image[keep].reshape(3, -1)
        feats.append(torch.cat([pixels.mean(1), pixels.std(1)]).numpy())
    accuracy = cross_val_score(LogisticRegression(max_iter=2000), np.array(feats),
                               data.labels.numpy(), cv=5).mean()
    assert accuracy < 0.25 + 0.07  # chance is 1/4


def test_same_seed_same_scenes_and_longer_sets_extend_shorter_ones():
    a, b = make_scenes(6, seed=7), make_scenes(6, seed=7)
    for x, y in zip(a, b):
        assert torch.equal(x, y)
    longer = make_scenes(9, seed=7)
    for x, y in zip(a, longer):
        assert torch.equal(x, y[:6])
    other = make_scenes(6, seed=8)
    assert (other.images - a.images).abs().mean() > 0.05
    turned = make_scenes(6, seed=7, rotate=True)
    assert not torch.equal(turned.masks, a.masks)


def test_rotated_scenes_still_have_exact_boxes():
    data = make_scenes(50, size=48, seed=2, rotate=True, scale=(0.1, 0.3))
    assert data.images.shape == (50, 3, 48, 48)
    torch.testing.assert_close(data.boxes, masks_to_boxes(data.masks[:, 0]), rtol=0, atol=0)


# --------------------------------------------------------------------------------------------
# Clever Hans
# --------------------------------------------------------------------------------------------


def test_train_cue_agrees_with_the_label_exactly_by_default():
    train = make_clever_hans(400, "train", seed=0)
    assert isinstance(train, CleverHansScenes)
    assert train.cue.dtype == torch.bool and train.cue.shape == (400,)
    assert torch.equal(train.cue, train.labels.bool())
    assert 0.4 < train.labels.float().mean() < 0.6


def test_partial_agreement_rate_in_training():
    train = make_clever_hans(2000, "train", seed=1, agreement=0.8)
    rate = (train.cue == train.labels.bool()).float().mean().item()
    assert abs(rate - 0.8) < 0.04  # the standard error is 0.009


def test_test_cue_is_independent_of_the_label():
    test = make_clever_hans(2000, "test", seed=0)
    rate = (test.cue == test.labels.bool()).float().mean().item()
    assert abs(rate - 0.5) < 0.05
    table = np.zeros((2, 2))
    np.add.at(table, (test.cue.numpy().astype(int), test.labels.numpy()), 1)
    assert chi2_contingency(table).pvalue > 1e-3
    assert 0.4 < test.cue.float().mean() < 0.6


def test_snow_is_the_bright_background_and_its_cue_mask():
    data = make_clever_hans(200, "test", seed=2)
    background = (1 - data.masks).bool()[:, 0]
    brightness = torch.stack([img.mean(0)[keep].mean() for img, keep in
                              zip(data.images, background)])
    assert brightness[data.cue].min() > brightness[~data.cue].max()
    for cue, mask, cue_mask in zip(data.cue, data.masks, data.cue_masks):
        assert torch.equal(cue_mask, 1 - mask if cue else torch.zeros_like(mask))


def test_watermark_is_white_in_the_corner_and_never_under_the_object():
    data = make_clever_hans(200, "train", seed=3, cue="watermark", shapes=("disk", "cross"))
    assert set(data.labels.tolist()) == {0, 1}
    marks = data.cue_masks[data.cue]
    assert len(marks) > 50 and torch.equal(marks, marks[:1].expand_as(marks))  # one mark
    mark = marks[0, 0].bool()
    rows, cols = mark.nonzero().T
    assert rows.min() > 32 * 3 / 4 and cols.min() > 32 * 3 / 4  # the bottom-right corner
    assert (data.cue_masks[~data.cue] == 0).all()
    assert ((data.cue_masks * data.masks).sum(dim=(1, 2, 3)) == 0).all()
    white = data.images[data.cue][:, :, mark]  # (K, 3, pixels)
    assert white.mean() > 0.95
    torch.testing.assert_close(data.boxes, masks_to_boxes(data.masks[:, 0]), rtol=0, atol=0)
    shapes = {"disk": 0, "cross": 1}
    for mask, label in zip(data.masks[:20, 0].numpy().astype(bool), data.labels[:20]):
        rows, cols = np.nonzero(mask)  # a disk fills pi/4 of its box, a cross less
        fill = mask.sum() / ((np.ptp(rows) + 1) * (np.ptp(cols) + 1))
        assert (fill > 0.6) == (int(label) == shapes["disk"])


def test_clever_hans_is_deterministic_and_splits_differ():
    a, b = make_clever_hans(8, "train", seed=4), make_clever_hans(8, "train", seed=4)
    for x, y in zip(a, b):
        assert torch.equal(x, y)
    test = make_clever_hans(8, "test", seed=4)
    assert (test.images - a.images).abs().mean() > 0.05


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(n=0), ValueError, "n must be >= 1"),
    (dict(n=2.0), TypeError, "n must be an int"),
    (dict(n=2, size=8), ValueError, "size must be >= 16"),
    (dict(n=2, seed=-1), ValueError, "seed must be >= 0"),
    (dict(n=2, scale=(0.3, 0.2)), ValueError, "scale must satisfy"),
    (dict(n=2, scale=(0.1, 0.5)), ValueError, "scale must satisfy"),
    (dict(n=2, scale=0.2), TypeError, "scale must be a"),
    (dict(n=2, rotate=1), TypeError, "rotate must be a bool"),
])
def test_make_scenes_rejects_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_scenes(**kwargs)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(n=0), ValueError, "n must be >= 1"),
    (dict(n=2, split="val"), ValueError, "split must be 'train' or 'test'"),
    (dict(n=2, cue="shadow"), ValueError, "cue must be 'snow' or 'watermark'"),
    (dict(n=2, agreement=0.3), ValueError, r"agreement must be in \[0.5, 1\]"),
    (dict(n=2, agreement="high"), TypeError, "agreement must be a real number"),
    (dict(n=2, shapes=("disk", "disk")), ValueError, "shapes must be two different"),
    (dict(n=2, shapes=("disk", "star")), ValueError, "shapes must be two different"),
    (dict(n=2, size=10), ValueError, "size must be >= 16"),
])
def test_make_clever_hans_rejects_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_clever_hans(**kwargs)


@pytest.mark.parametrize("args, error, match", [
    (("star", 8, (3, 3), 2), ValueError, "shape must be one of"),
    (("disk", 8, (3,), 2), TypeError, "centre must be a"),
    (("disk", 8, (3, 3), -1), ValueError, "radius must be > 0"),
    (("disk", 8, (3, 3), float("nan")), TypeError, "radius must be a finite"),
    (("disk", 0, (3, 3), 2), ValueError, "size must be >= 1"),
])
def test_shape_mask_rejects_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        shape_mask(*args)
