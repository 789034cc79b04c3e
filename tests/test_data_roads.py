"""The generated road tiles: shapes and dtypes, determinism, masks that are exactly the
drawn roads (checked against a rasterisation written independently here), roads that look
different from their surroundings without being a colour threshold, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import jaccard_score

from lecturepkg.data import Road, RoadTiles, make_roads, road_mask


@pytest.fixture(scope="module")
def tiles():
    return make_roads(24, size=64, seed=3)


def _brute_force_mask(size, roads):
    """Road pixels by broadcasting every pixel against every segment at once, and the
    pixels whose distance is within 1e-9 of a road's edge (where rounding may decide)."""
    rows, cols = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    p = np.stack([rows, cols], -1).reshape(-1, 1, 2).astype(float)  # (M, 1, 2)
    inside = np.zeros(size * size, dtype=bool)
    edge = np.zeros(size * size, dtype=bool)
    for road in roads:
        a, b = road.points[None, :-1], road.points[None, 1:]  # (1, S, 2)
        ab = b - a
        t = np.clip(((p - a) * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-300), 0, 1)
        d = np.sqrt((((a + t[..., None] * ab) - p) ** 2).sum(-1)).min(axis=1)  # (M,)
        inside |= d <= road.width / 2
        edge |= np.abs(d - road.width / 2) < 1e-9
    return inside.reshape(size, size), edge.reshape(size, size)


def test_shapes_dtypes_and_ranges(tiles):
    assert isinstance(tiles, RoadTiles)
    assert tiles.images.shape == (24, 3, 64, 64) and tiles.images.dtype == torch.float32
    assert tiles.masks.shape == (24, 1, 64, 64) and tiles.masks.dtype == torch.float32
    assert 0 <= tiles.images.min() and tiles.images.max() <= 1
    assert set(tiles.masks.unique().tolist()) == {0.0, 1.0}
    assert len(tiles.roads) == 24
    for roads in tiles.roads:
        assert len(roads) >= 1
        for road in roads:
            assert isinstance(road, Road) and road.points.ndim == 2
            assert road.points.shape[1] == 2 and road.width > 0
            assert road.surface in ("asphalt", "gravel")
    assert tiles.occluded.shape == (24, 1, 64, 64) and tiles.occluded.dtype == torch.bool


def test_every_tile_has_road_and_background(tiles):
    fraction = tiles.masks.mean(dim=(1, 2, 3))  # (N,)
    assert (fraction >= 0.02).all() and (fraction < 0.6).all()  # at least 2%, as documented
    assert 0.03 < tiles.masks.mean() < 0.3  # roads are the minority class, not a trace


def test_masks_are_exactly_the_drawn_roads(tiles):
    for mask, roads in zip(tiles.masks, tiles.roads):
        expected, edge = _brute_force_mask(64, roads)
        got = mask[0].numpy().astype(bool)
        assert (got[~edge] == expected[~edge]).all()
        np.testing.assert_array_equal(road_mask(64, list(roads)), got)


def test_same_seed_same_tiles_and_longer_sets_extend_shorter_ones():
    a, b = make_roads(5, size=32, seed=7), make_roads(5, size=32, seed=7)
    assert torch.equal(a.images, b.images) and torch.equal(a.masks, b.masks)
    assert torch.equal(a.occluded, b.occluded)
    for ra, rb in zip(a.roads, b.roads):
        assert all(np.array_equal(x.points, y.points) and x[1:] == y[1:]
                   for x, y in zip(ra, rb, strict=True))
    longer = make_roads(8, size=32, seed=7)
    assert torch.equal(longer.images[:5], a.images) and torch.equal(longer.masks[:5], a.masks)
    other = make_roads(5, size=32, seed=8)
    assert not torch.equal(other.masks, a.masks)
    assert (other.images - a.images).abs().mean() > 0.02


def test_tiles_of_other_sizes_keep_the_proportions():
    small, large = make_roads(16, size=32, seed=0), make_roads(16, size=128, seed=0)
    assert large.images.shape == (16, 3, 128, 128)
    assert 0.03 < small.masks.mean() < 0.3 and 0.03 < large.masks.mean() < 0.3


def _chroma(images):  # (N, 3, H, W) -> (N, H, W): how far a pixel is from grey
    return images.max(dim=1).values - images.min(dim=1).values


def test_roads_differ_from_their_surroundings(tiles):
    """Inside the mask the pixels are greyer (asphalt, gravel) than in a band just outside,
    on most tiles (trees and shadows hide some roads)."""
    masks = tiles.masks[:, 0].bool()  # (N, H, W)
    band = torch.nn.functional.max_pool2d(tiles.masks, 7, stride=1, padding=3)[:, 0].bool()
    band &= ~masks  # up to 3 pixels outside a road
    chroma = _chroma(tiles.images)
    greyer = [chroma[i][masks[i]].mean() < chroma[i][band[i]].mean() for i in range(len(masks))]
    assert np.mean(greyer) >= 0.8


def test_occluded_pixels_are_hidden_road(tiles):
    """The occluded pixels are road pixels, about a tenth of them, and they are darker or
    greener than the visible road of the same tile (leaves, shadow)."""
    masks = tiles.masks.bool()
    assert not (tiles.occluded & ~masks).any()  # a subset of the mask
    share = tiles.occluded.sum() / masks.sum()
    assert 0.03 < share < 0.3
    images = tiles.images.permute(0, 2, 3, 1)  # (N, H, W, 3)
    hidden, visible = tiles.occluded[:, 0], masks[:, 0] & ~tiles.occluded[:, 0]
    green_or_dark = images[..., 1] - images[..., 0] - images.mean(-1)  # (N, H, W)
    assert green_or_dark[hidden].mean() > green_or_dark[visible].mean() + 0.15


def test_both_surfaces_occur_and_gravel_is_paler():
    tiles = make_roads(40, size=32, seed=5)
    images = tiles.images.permute(0, 2, 3, 1).numpy()  # (N, H, W, 3)
    brightness = {"asphalt": [], "gravel": []}
    for image, roads, hidden in zip(images, tiles.roads, tiles.occluded[:, 0].numpy()):
        for road in roads:
            alone = road_mask(32, [road]) & ~hidden  # visible pixels of this road
            others = road_mask(32, [r for r in roads if r is not road])
            brightness[road.surface].extend(image[alone & ~others].mean(-1))
    assert len(brightness["gravel"]) > 100 and len(brightness["asphalt"]) > 400
    assert np.mean(brightness["gravel"]) > np.mean(brightness["asphalt"]) + 0.05


def test_no_colour_rule_finds_the_roads():
    """A per-pixel classifier on RGB (logistic regression on the colour and its squares and
    products) stays far from a perfect mask on tiles it was not fitted on."""
    train, test = make_roads(32, size=32, seed=0), make_roads(16, size=32, seed=1)

    def features(images):  # (N, 3, H, W) -> (N * H * W, 9)
        rgb = images.permute(0, 2, 3, 1).reshape(-1, 3).numpy().astype(np.float64)
        products = [rgb[:, i] * rgb[:, j] for i in range(3) for j in range(i, 3)]
        return np.column_stack([rgb, *products])

    model = LogisticRegression(max_iter=500, class_weight="balanced")
    model.fit(features(train.images), train.masks.numpy().ravel())
    iou = jaccard_score(test.masks.numpy().ravel(), model.predict(features(test.images)))
    assert 0.05 < iou < 0.6  # it finds something, far from all of it


def test_road_mask_of_straight_roads():
    horizontal = Road(np.array([[10.0, -5.0], [10.0, 40.0]]), width=5.0)  # rows 7.5 .. 12.5
    mask = road_mask(32, [horizontal])
    assert mask.all(axis=1)[8:13].all() and not mask[:8].any() and not mask[13:].any()
    vertical = Road(np.array([[-1.0, 3.5], [40.0, 3.5]]), width=2.0)  # columns 2.5 .. 4.5
    mask = road_mask(32, (vertical,))
    assert mask[:, 3:5].all() and mask.sum() == 64
    dead_end = Road(np.array([[16.0, 16.0], [16.0, 16.0]]), width=6.0)  # a disc, radius 3
    rows, cols = np.nonzero(road_mask(32, [dead_end]))
    assert len(rows) == 29  # lattice points within distance 3 of a point: 29 (Gauss circle)
    assert not road_mask(8, []).any()


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(n=0), ValueError, "n must be >= 1"),
        (dict(n=2.0), TypeError, "n must be an int"),
        (dict(n=2, size=8), ValueError, "size must be >= 16"),
        (dict(n=2, size="64"), TypeError, "size must be an int"),
        (dict(n=2, seed=-1), ValueError, "seed must be >= 0"),
        (dict(n=2, seed=None), TypeError, "seed must be an int"),
    ],
)
def test_make_roads_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_roads(**kwargs)


def test_road_mask_rejects_bad_arguments():
    road = Road(np.array([[0.0, 0.0], [5.0, 5.0]]), 2.0)
    with pytest.raises(ValueError, match="size must be >= 1"):
        road_mask(0, [road])
    with pytest.raises(TypeError, match="roads must be a list or tuple of Road"):
        road_mask(8, road)
    with pytest.raises(TypeError, match=r"roads\[1\] must be a Road"):
        road_mask(8, [road, (road.points, 2.0)])
    with pytest.raises(ValueError, match=r"roads\[0\].points must have shape \(K, 2\)"):
        road_mask(8, [Road(np.array([1.0, 2.0]), 2.0)])
    with pytest.raises(ValueError, match=r"roads\[0\].points must have shape \(K, 2\)"):
        road_mask(8, [Road(np.array([[1.0, 2.0]]), 2.0)])
    with pytest.raises(ValueError, match=r"roads\[0\].points must be finite"):
        road_mask(8, [Road(np.array([[1.0, 2.0], [np.nan, 0.0]]), 2.0)])
    with pytest.raises(ValueError, match=r"roads\[0\].width must be a positive number"):
        road_mask(8, [Road(road.points, 0.0)])
