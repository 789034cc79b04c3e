"""Generated aerial tiles with exact road masks, for road segmentation.

Road maps from aerial photographs are the case study of the lecture notes (the problem is
studied at length in Mnih's thesis, *Machine Learning for Aerial Image Labeling*, 2013): an
RGB tile goes in, a per-pixel road probability comes out. Real aerial data cannot be shipped with the course,
so :func:`make_roads` draws tiles that pose the same problem, with masks that are exact
because the roads are drawn from them:

- **land cover**: irregular patches (warped Voronoi cells) of grass, crops with furrows,
  ripe or ploughed fields, bare soil and forest, each with its own texture;
- **roads**: straight and curved centre lines running off the tile, branches that start on
  another road (junctions) and dead ends, each with its own width and its own grey (asphalt)
  or pale brown (gravel); the mask of a road is every pixel whose centre lies within half
  the road's width of its centre line (:func:`road_mask`);
- **clutter**: buildings with grey, red or dark roofs (grey roofs look like asphalt) near
  the roads, tree crowns, half of them on or beside a road, and the shadows of both, cast
  in one direction per tile and falling across roads;
- **the camera**: brightness and colour cast per tile, a slight blur and sensor noise.

Trees and shadows cover parts of roads without changing the mask: as in real road maps, a
road under a tree is still a road. So is a road in shadow, darker than any sunlit road.
:func:`make_roads` returns these hidden road pixels too (``occluded``), so that one can
measure how a model does on them. No colour threshold separates roads from the rest;
finding them needs the shape of the surroundings, which is what a convolutional network
sees and a per-pixel classifier does not.

Coordinates are ``(row, col)`` in pixels: pixel ``(i, j)`` has its centre at ``(i, j)``,
and a tile of ``size`` pixels covers ``[-0.5, size - 0.5]`` along each axis.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np
import torch
from scipy.ndimage import gaussian_filter

from lecturepkg._checks import check_int

__all__ = ["Road", "RoadTiles", "road_mask", "make_roads"]


class Road(NamedTuple):
    """One road: its centre line and its width, in pixels."""

    #: ``(K, 2)`` vertices ``(row, col)`` of the centre line, a polyline (``K >= 2``)
    points: np.ndarray
    #: the road's full width; its mask is everything within ``width / 2`` of the centre line
    width: float
    #: ``"asphalt"`` (grey) or ``"gravel"`` (pale brown); the mask does not depend on it
    surface: str = "asphalt"


class RoadTiles(NamedTuple):
    """Tiles drawn by :func:`make_roads`, their masks and the roads they were drawn from."""

    #: ``float32`` tensor ``(N, 3, size, size)``, RGB values in [0, 1]
    images: torch.Tensor
    #: ``float32`` tensor ``(N, 1, size, size)``: 1 on road pixels, 0 elsewhere
    masks: torch.Tensor
    #: for each tile, the tuple of its :class:`Road`\\ s
    roads: tuple
    #: ``bool`` tensor ``(N, 1, size, size)``: the road pixels hidden under a tree crown or
    #: darkened by a shadow (a subset of the mask)
    occluded: torch.Tensor


# --------------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------------


def _pixel_centres(size: int) -> np.ndarray:
    """Centres ``(size * size, 2)`` of a tile's pixels as ``(row, col)``, row-major."""
    rows, cols = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    return np.stack([rows.ravel(), cols.ravel()], axis=1).astype(np.float64)


def _polyline_distance(p: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Distance ``(M,)`` from points ``p`` ``(M, 2)`` to the polyline through ``points``."""
    rows, cols = p[:, 0], p[:, 1]
    best = np.full(len(p), np.inf)  # squared distance to the nearest segment so far
    for (ar, ac), (br, bc) in zip(points[:-1], points[1:]):
        dr, dc = br - ar, bc - ac  # the segment from a to b
        qr, qc = rows - ar, cols - ac  # the points, seen from a
        length2 = dr * dr + dc * dc
        if length2 > 0:  # subtract the closest point a + t (b - a), t in [0, 1]
            t = np.clip((qr * dr + qc * dc) / length2, 0.0, 1.0)
            qr, qc = qr - t * dr, qc - t * dc
        np.minimum(best, qr * qr + qc * qc, out=best)
    return np.sqrt(best)


def _check_road(i: int, road) -> Road:
    if not isinstance(road, Road):
        raise TypeError(f"roads[{i}] must be a Road(points, width), got {type(road).__name__}")
    points = np.asarray(road.points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) < 2:
        raise ValueError(
            f"roads[{i}].points must have shape (K, 2) with K >= 2, got {points.shape}"
        )
    if not np.isfinite(points).all():
        raise ValueError(f"roads[{i}].points must be finite")
    width = road.width
    if isinstance(width, bool) or not isinstance(width, numbers.Real) or not width > 0:
        raise ValueError(f"roads[{i}].width must be a positive number, got {width!r}")
    return Road(points, float(width))


def road_mask(size: int, roads) -> np.ndarray:
    """Rasterise roads into a boolean mask ``(size, size)``.

    Pixel ``(i, j)`` is road when its centre ``(i, j)`` lies within half the width of some
    road's centre line (the distance to the nearest point of the polyline, so a road has
    round ends and round bends).

    Parameters
    ----------
    size:
        Edge length of the square tile, in pixels.
    roads:
        A sequence of :class:`Road`; may be empty.

    Examples
    --------
    >>> road = Road(np.array([[2.0, -1.0], [2.0, 8.0]]), width=3.0)  # horizontal, row 2
    >>> road_mask(6, [road]).any(axis=1).nonzero()[0].tolist()  # rows 0.5 to 3.5 away
    [1, 2, 3]
    """
    size = check_int("size", size, minimum=1)
    if isinstance(roads, (Road, np.ndarray)) or not isinstance(roads, (list, tuple)):
        raise TypeError(f"roads must be a list or tuple of Road, got {type(roads).__name__}")
    roads = [_check_road(i, road) for i, road in enumerate(roads)]
    centres = _pixel_centres(size)
    mask = np.zeros(size * size, dtype=bool)
    for road in roads:
        mask |= _polyline_distance(centres, road.points) <= road.width / 2
    return mask.reshape(size, size)


def _border_point(rng: np.random.Generator, size: int, side: int) -> np.ndarray:
    """A point just outside side ``side`` (0 top, 1 right, 2 bottom, 3 left) of the tile."""
    along = rng.uniform(0.1, 0.9) * (size - 1)
    out = -3.0, size + 2.0
    return np.array([
        (out[0], along), (along, out[1]), (out[1], along), (along, out[0])
    ][side])


def _bezier(a: np.ndarray, c: np.ndarray, b: np.ndarray, k: int = 24) -> np.ndarray:
    """``k`` points ``(k, 2)`` of the quadratic Bezier curve from ``a`` to ``b`` via ``c``."""
    t = np.linspace(0.0, 1.0, k)[:, None]
    return (1 - t) ** 2 * a + 2 * (1 - t) * t * c + t**2 * b


def _curve(rng: np.random.Generator, a: np.ndarray, b: np.ndarray, bend: float) -> np.ndarray:
    """A centre line from ``a`` to ``b``: straight, or bent sideways by up to ``bend``."""
    if rng.random() < 0.4:
        return np.stack([a, b])
    direction = b - a
    normal = np.array([-direction[1], direction[0]]) / max(np.linalg.norm(direction), 1e-9)
    control = (a + b) / 2 + rng.uniform(-bend, bend) * normal
    return _bezier(a, control, b)


def _surface(rng: np.random.Generator) -> str:
    return "gravel" if rng.random() < 0.2 else "asphalt"


def _draw_roads(rng: np.random.Generator, size: int) -> list[Road]:
    """Through roads (edge to edge), branches from them (junctions) and dead ends."""
    scale = size / 64
    roads = []
    for _ in range(rng.integers(1, 3)):  # one or two through roads
        side = int(rng.integers(4))
        other = (side + int(rng.integers(1, 4))) % 4  # another side of the tile
        a, b = _border_point(rng, size, side), _border_point(rng, size, other)
        roads.append(Road(_curve(rng, a, b, 0.35 * size), rng.uniform(2.5, 5.0) * scale,
                          _surface(rng)))
    for _ in range(rng.integers(0, 3)):  # branches: start on a road, end at an edge or inside
        parent = roads[int(rng.integers(len(roads)))].points
        segment = int(rng.integers(len(parent) - 1))
        start = parent[segment] + rng.uniform(0.2, 0.8) * (parent[segment + 1] - parent[segment])
        if rng.random() < 0.6:
            end = _border_point(rng, size, int(rng.integers(4)))
        else:  # a dead end inside the tile
            end = rng.uniform(0.15, 0.85, size=2) * (size - 1)
        if np.linalg.norm(end - start) < 0.25 * size:
            continue
        roads.append(Road(_curve(rng, start, end, 0.25 * size), rng.uniform(1.5, 3.5) * scale,
                          _surface(rng)))
    return roads


# --------------------------------------------------------------------------------------------
# Appearance
# --------------------------------------------------------------------------------------------

# land-cover classes: base colour (RGB) and kind of texture
_LAND_COVER = (
    ((0.36, 0.50, 0.25), "grass"),
    ((0.30, 0.44, 0.18), "furrows"),  # green crops
    ((0.72, 0.64, 0.40), "furrows"),  # ripe field
    ((0.52, 0.41, 0.30), "furrows"),  # ploughed field
    ((0.56, 0.50, 0.42), "grass"),  # bare soil, dry grass
    ((0.16, 0.28, 0.13), "forest"),
)
_ROOFS = ((0.55, 0.55, 0.56), (0.45, 0.45, 0.48), (0.62, 0.30, 0.22), (0.30, 0.26, 0.26))


def _smooth_noise(rng: np.random.Generator, size: int, sigma: float) -> np.ndarray:
    """Gaussian noise ``(size, size)`` smoothed over ``sigma`` pixels, scaled to unit std."""
    field = gaussian_filter(rng.standard_normal((size, size)), sigma, mode="wrap")
    return field / max(field.std(), 1e-12)


def _land_cover(rng: np.random.Generator, size: int) -> np.ndarray:
    """Background ``(size, size, 3)``: warped Voronoi patches with their own textures."""
    scale = size / 64
    rows, cols = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    warp = 4.0 * scale
    r = rows + warp * _smooth_noise(rng, size, 6 * scale)
    c = cols + warp * _smooth_noise(rng, size, 6 * scale)
    k = int(rng.integers(3, 8))
    seeds = rng.uniform(-0.2, 1.2, size=(k, 2)) * size
    patch = np.argmin((r[..., None] - seeds[:, 0]) ** 2 + (c[..., None] - seeds[:, 1]) ** 2, -1)
    image = np.empty((size, size, 3))
    fine = _smooth_noise(rng, size, 0.7 * scale)
    blobs = _smooth_noise(rng, size, 1.2 * scale)
    for p in range(k):
        colour, texture = _LAND_COVER[int(rng.integers(len(_LAND_COVER)))]
        colour = np.asarray(colour) + rng.uniform(-0.05, 0.05, size=3)
        if texture == "furrows":
            angle, period = rng.uniform(0, np.pi), rng.uniform(2.0, 4.0) * scale
            phase = (rows * np.cos(angle) + cols * np.sin(angle)) * 2 * np.pi / period
            shade = 1 + 0.08 * np.sin(phase) + 0.03 * fine
        elif texture == "forest":
            shade = 1 + 0.35 * blobs + 0.05 * fine
        else:
            shade = 1 + 0.06 * fine
        inside = patch == p
        image[inside] = colour * shade[inside, None]
    return image


def _disc(size: int, centre: np.ndarray, radius: float) -> np.ndarray:
    rows, cols = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    return (rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= radius**2


def _rectangle(size: int, centre, half: tuple[float, float], angle: float) -> np.ndarray:
    rows, cols = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    dr, dc = rows - centre[0], cols - centre[1]
    u = dr * np.cos(angle) + dc * np.sin(angle)
    v = -dr * np.sin(angle) + dc * np.cos(angle)
    return (np.abs(u) <= half[0]) & (np.abs(v) <= half[1])


def _shift(mask: np.ndarray, d: tuple[int, int]) -> np.ndarray:
    """``mask`` moved by ``d = (rows, cols)`` pixels (what moves out is dropped)."""
    out = np.zeros_like(mask)
    size = mask.shape[0]
    dr, dc = d
    out[max(dr, 0):size + min(dr, 0), max(dc, 0):size + min(dc, 0)] = mask[
        max(-dr, 0):size + min(-dr, 0), max(-dc, 0):size + min(-dc, 0)
    ]
    return out


def _tile(rng: np.random.Generator, size: int):
    """One tile: image ``(size, size, 3)``, mask and occluded road ``(size, size)``, roads."""
    scale = size / 64
    image = _land_cover(rng, size)
    centres = _pixel_centres(size)
    while True:  # until the roads cover at least 2% of the tile (not just clip a corner)
        roads = _draw_roads(rng, size)
        d = [_polyline_distance(centres, road.points) for road in roads]  # (size * size,)
        mask = np.zeros((size, size), dtype=bool)
        for road, road_d in zip(roads, d):
            mask |= (road_d <= road.width / 2).reshape(size, size)
        if mask.mean() >= 0.02:
            break
    distance = np.full(size * size, np.inf)  # to the nearest road's edge
    for road, road_d in zip(roads, d):
        distance = np.minimum(distance, road_d - road.width / 2)
        on_road = (road_d <= road.width / 2).reshape(size, size)
        if road.surface == "gravel":
            colour = np.array([0.76, 0.71, 0.62]) + rng.uniform(-0.04, 0.04, size=3)
        else:  # asphalt: grey with a slight tint
            colour = rng.uniform(0.36, 0.66) + rng.uniform(-0.03, 0.03, size=3)
        shade = 1 + 0.05 * _smooth_noise(rng, size, 0.8 * scale)
        image[on_road] = colour * shade[on_road, None]
    distance = distance.reshape(size, size)

    sun = rng.uniform(0, 2 * np.pi)  # shadows fall away from the sun, 1 to 3 pixels
    length = rng.uniform(1.0, 3.0) * scale
    offset = (int(round(length * np.sin(sun))), int(round(length * np.cos(sun))))
    objects = np.zeros((size, size), dtype=bool)
    shadows = np.zeros((size, size), dtype=bool)
    n_buildings = int(rng.integers(0, 9)) if rng.random() < 0.75 else 0
    for _ in range(4 * n_buildings):  # off the road, near it: a roof and its shadow
        if n_buildings == 0:
            break
        centre = rng.uniform(0, size - 1, size=2)
        half = tuple(rng.uniform(1.5, 4.5, size=2) * scale)
        gap = distance[int(round(centre[0])), int(round(centre[1]))]
        if gap > 12 * scale:
            continue
        footprint = _rectangle(size, centre, half, rng.uniform(0, np.pi))
        if (footprint & (mask | objects)).any() or not footprint.any():
            continue
        roof = np.asarray(_ROOFS[int(rng.integers(len(_ROOFS)))]) + rng.uniform(-0.04, 0.04, 3)
        shadows |= _shift(footprint, offset)
        objects |= footprint
        image[footprint] = roof * (1 + 0.03 * rng.standard_normal((footprint.sum(), 1)))
        n_buildings -= 1
    n_trees = int(rng.integers(0, 16))
    crowns = np.zeros((size, size), dtype=bool)
    for _ in range(n_trees):  # half of them on or beside a road, hiding part of it
        radius = rng.uniform(1.0, 2.6) * scale
        if rng.random() < 0.5 and mask.any():
            on_road = np.argwhere(mask)
            centre = on_road[int(rng.integers(len(on_road)))] + rng.uniform(-2, 2, size=2)
        else:
            centre = rng.uniform(0, size - 1, size=2)
        crown = _disc(size, centre, radius)
        crowns |= crown
        shadows |= _shift(crown, offset)
    leaves = np.array([0.17, 0.30, 0.12]) + rng.uniform(-0.03, 0.03, size=3)
    texture = 1 + 0.25 * _smooth_noise(rng, size, 0.6 * scale)
    image[crowns] = leaves * texture[crowns, None]
    objects |= crowns
    image[shadows & ~objects] *= rng.uniform(0.45, 0.65)
    occluded = mask & (crowns | (shadows & ~objects))  # buildings never stand on a road

    image = image * rng.uniform(0.85, 1.15) + rng.uniform(-0.03, 0.03, size=3)  # light
    image = gaussian_filter(image, sigma=(0.5 * scale, 0.5 * scale, 0))  # optics
    image = image + 0.015 * rng.standard_normal(image.shape)  # sensor noise
    return np.clip(image, 0.0, 1.0), mask, occluded, roads


def make_roads(n: int, size: int = 64, seed: int = 0) -> RoadTiles:
    """Draw ``n`` aerial-looking RGB tiles with their road masks.

    The same arguments always give the same tiles: everything is drawn from
    ``numpy.random.default_rng(seed)``. Tile ``i`` depends on ``size``, ``seed`` and ``i``
    only (not on ``n``), so a longer set starts with the tiles of a shorter one. Lengths
    (road widths, building sizes, shadows) scale with ``size``, designed for 64 to 256.

    Parameters
    ----------
    n:
        Number of tiles.
    size:
        Edge length of the square tiles, in pixels (at least 16).
    seed:
        Seed of the generator.

    Returns
    -------
    RoadTiles
        ``images`` ``float32`` ``(n, 3, size, size)`` in [0, 1]; ``masks`` ``float32``
        ``(n, 1, size, size)`` with values 0 and 1, equal to :func:`road_mask` of
        ``roads[i]``; ``roads``, a tuple of ``n`` tuples of :class:`Road`; ``occluded``,
        ``bool`` ``(n, 1, size, size)``, the road pixels under a tree crown or in a
        shadow. Roads cover at least 2% of every tile.

    Examples
    --------
    >>> tiles = make_roads(2, size=32, seed=1)
    >>> tuple(tiles.images.shape), tuple(tiles.masks.shape), len(tiles.roads)
    ((2, 3, 32, 32), (2, 1, 32, 32), 2)
    """
    n = check_int("n", n, minimum=1)
    size = check_int("size", size, minimum=16)
    seed = check_int("seed", seed, minimum=0)
    images = np.empty((n, 3, size, size), dtype=np.float32)
    masks = np.empty((n, 1, size, size), dtype=np.float32)
    occluded = np.empty((n, 1, size, size), dtype=bool)
    all_roads = []
    for i, tile_seed in enumerate(np.random.SeedSequence(seed).spawn(n)):
        image, mask, hidden, roads = _tile(np.random.default_rng(tile_seed), size)
        images[i] = image.transpose(2, 0, 1)  # (3, size, size)
        masks[i, 0] = mask
        occluded[i, 0] = hidden
        all_roads.append(tuple(roads))
    return RoadTiles(torch.from_numpy(images), torch.from_numpy(masks), tuple(all_roads),
                     torch.from_numpy(occluded))
