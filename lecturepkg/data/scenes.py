"""Objects on cluttered real textures, with exact masks: data where the evidence is known.

To ask whether an explanation of a classifier is *right*, one needs images where the pixels
that decide the label are known. :func:`make_scenes` pastes one object (a disk, a square, a
triangle or a cross, of random colour, size, rotation and position) on a random crop of a
real photograph or texture that ships with scikit-image (brick, grass, gravel, coffee,
astronaut, chelsea the cat, a rocket, a stained tissue). The label is the object's shape and
nothing else: the background is drawn independently of it. Since the object is painted
from its mask, the mask is exact, and so is its bounding box.

:func:`make_clever_hans` is the husky-versus-wolf story of the lecture notes (Ribeiro et al.
2016: a classifier told wolves from huskies by the snow behind them) made measurable. Two
classes of objects, and a background cue (snow, or a watermark in a corner) that agrees
with the label in the training split and is independent of it in the test split. A network
that learns the cue instead of the object (a "Clever Hans" predictor, Lapuschkin et al.
2019) scores well in training and drops at test.

Coordinates: pixel ``(row, col)`` has its centre at ``(row, col)``; a pixel belongs to an
object when its centre lies inside the object's outline. Boxes are ``(x0, y0, x1, y1)``
= ``(min col, min row, max col, max row)`` of the mask, inclusive, the convention of
``torchvision.ops.masks_to_boxes``.
"""

from __future__ import annotations

import functools
import numbers
from typing import NamedTuple

import numpy as np
import skimage.data
import torch
from scipy.ndimage import binary_dilation, gaussian_filter

from lecturepkg._checks import check_int

__all__ = ["SCENE_CLASSES", "SCENE_TEXTURES", "Scenes", "CleverHansScenes", "make_scenes",
           "make_clever_hans", "shape_mask"]

#: Classes of :func:`make_scenes`: label ``k`` is the shape ``SCENE_CLASSES[k]``.
SCENE_CLASSES = ("disk", "square", "triangle", "cross")

#: The scikit-image samples that backgrounds are cropped from (``background`` indexes this).
SCENE_TEXTURES = ("brick", "grass", "gravel", "coffee", "astronaut", "chelsea", "rocket",
                  "immunohistochemistry")


class Scenes(NamedTuple):
    """Images drawn by :func:`make_scenes` with what is known about each of them."""

    #: ``float32`` ``(N, 3, H, W)``, RGB in [0, 1]
    images: torch.Tensor
    #: ``int64`` ``(N,)``: the index of the object's shape in :data:`SCENE_CLASSES`
    labels: torch.Tensor
    #: ``float32`` ``(N, 1, H, W)``: 1 on the object's pixels, 0 elsewhere
    masks: torch.Tensor
    #: ``float32`` ``(N, 4)``: the mask's extent ``(x0, y0, x1, y1)``, inclusive
    boxes: torch.Tensor
    #: ``int64`` ``(N,)``: the index of the background's source in :data:`SCENE_TEXTURES`
    background: torch.Tensor


class CleverHansScenes(NamedTuple):
    """Images drawn by :func:`make_clever_hans`: objects, their masks and the cue."""

    #: ``float32`` ``(N, 3, H, W)``, RGB in [0, 1]
    images: torch.Tensor
    #: ``int64`` ``(N,)``: 0 or 1, the object's shape (``shapes[label]``)
    labels: torch.Tensor
    #: ``float32`` ``(N, 1, H, W)``: 1 on the object's pixels, 0 elsewhere
    masks: torch.Tensor
    #: ``float32`` ``(N, 4)``: the mask's extent ``(x0, y0, x1, y1)``, inclusive
    boxes: torch.Tensor
    #: ``bool`` ``(N,)``: whether the image shows the cue (snow, or the watermark)
    cue: torch.Tensor
    #: ``float32`` ``(N, 1, H, W)``: the cue's pixels (the snowy background, or the
    #: watermark), zeros where the image has no cue
    cue_masks: torch.Tensor


# --------------------------------------------------------------------------------------------
# Shapes
# --------------------------------------------------------------------------------------------


def shape_mask(shape: str, size: int, centre, radius: float, angle: float = 0.0) -> np.ndarray:
    """Rasterise one shape into a boolean mask ``(size, size)``.

    A pixel is inside when its centre is: a ``"disk"`` of the given radius; a ``"square"``
    of half-side ``0.8 radius``; an equilateral ``"triangle"`` inscribed in the circle; a
    ``"cross"`` of two bars of length ``2 radius`` and width ``0.6 radius``. The shape is
    turned by ``angle`` radians about ``centre``, a ``(row, col)`` pair.

    Examples
    --------
    >>> shape_mask("square", 7, (3, 3), 2.5).sum(axis=0).tolist()  # half-side 2
    [0, 5, 5, 5, 5, 5, 0]
    """
    if shape not in SCENE_CLASSES:
        raise ValueError(f"shape must be one of {SCENE_CLASSES}, got {shape!r}")
    size = check_int("size", size, minimum=1)
    if (not isinstance(centre, (tuple, list, np.ndarray)) or len(centre) != 2
            or not all(_is_real(c) for c in centre)):
        raise TypeError(f"centre must be a (row, col) pair of numbers, got {centre!r}")
    for name, value in (("radius", radius), ("angle", angle)):
        if not _is_real(value) or not np.isfinite(value):
            raise TypeError(f"{name} must be a finite real number, got {value!r}")
    if not radius > 0:
        raise ValueError(f"radius must be > 0, got {radius}")
    rows, cols = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    dr, dc = rows - float(centre[0]), cols - float(centre[1])  # (size, size) offsets
    cos, sin = np.cos(angle), np.sin(angle)
    u, v = cos * dc + sin * dr, -sin * dc + cos * dr  # offsets in the shape's own frame
    if shape == "disk":
        return dr * dr + dc * dc <= radius * radius
    if shape == "square":
        return (np.abs(u) <= 0.8 * radius) & (np.abs(v) <= 0.8 * radius)
    if shape == "cross":
        half = 0.3 * radius
        return (((np.abs(u) <= radius) & (np.abs(v) <= half))
                | ((np.abs(v) <= radius) & (np.abs(u) <= half)))
    inside = np.ones((size, size), dtype=bool)  # triangle: three half-planes
    for k in range(3):  # outward normals at -90, 30, 150 degrees; edges at radius / 2
        theta = -np.pi / 2 + k * 2 * np.pi / 3
        inside &= np.cos(theta) * u + np.sin(theta) * v <= radius / 2
    return inside


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


# --------------------------------------------------------------------------------------------
# Backgrounds
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _texture(name: str, factor: int) -> np.ndarray:
    """The sample ``name`` as float RGB ``(H, W, 3)`` in [0, 1], shrunk ``factor`` times."""
    image = getattr(skimage.data, name)().astype(np.float64) / 255.0
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)  # grey textures: tinted when drawn
    h, w = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
    image = image[:h, :w].reshape(h // factor, factor, w // factor, factor, 3).mean((1, 3))
    image.flags.writeable = False  # cached: callers crop copies
    return image


def _background(rng: np.random.Generator, size: int, source: int) -> np.ndarray:
    """A random crop ``(size, size, 3)`` of texture ``source``, zoom, flip, colour jitter."""
    name = SCENE_TEXTURES[source]
    factor = int(rng.integers(1, 4))  # 1, 2 or 3: how much of the photo the crop shows
    texture = _texture(name, factor)
    if min(texture.shape[:2]) < size:
        texture = _texture(name, 1)
    top = int(rng.integers(0, texture.shape[0] - size + 1))
    left = int(rng.integers(0, texture.shape[1] - size + 1))
    crop = texture[top:top + size, left:left + size].copy()
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    if name in ("brick", "grass", "gravel"):  # grey: give it a random earthy tint
        crop = crop * rng.uniform(0.7, 1.1, size=3)
    crop = crop * rng.uniform(0.8, 1.2) + rng.uniform(-0.1, 0.1)  # contrast, brightness
    return crop


def _snow(rng: np.random.Generator, size: int) -> np.ndarray:
    """A snow-like field ``(size, size, 3)``: bright, bluish white, soft drifts, sparkle."""
    drifts = gaussian_filter(rng.standard_normal((size, size)), sigma=size / 8)
    drifts = drifts / (np.abs(drifts).max() + 1e-12)
    grain = gaussian_filter(rng.standard_normal((size, size)), sigma=0.8)
    level = 0.82 + 0.08 * drifts + 0.05 * grain  # (size, size)
    tint = np.array([0.95, 0.98, 1.0]) * rng.uniform(0.95, 1.05)
    return level[..., None] * tint


def _random_colour(rng: np.random.Generator) -> np.ndarray:
    """A saturated colour (RGB in [0, 1]) of random hue, from HSV."""
    hue, sat, val = rng.random(), rng.uniform(0.6, 1.0), rng.uniform(0.55, 1.0)
    k = (np.array([5.0, 3.0, 1.0]) + hue * 6) % 6
    return val - val * sat * np.clip(np.minimum(k, 4 - k), 0, 1)


def _paint(rng, image, mask, colour) -> None:
    """Paint ``colour`` with a light shading gradient on ``mask`` of ``image`` (in place)."""
    size = mask.shape[0]
    rows, cols = np.mgrid[0:size, 0:size] / size
    slope = rng.uniform(-0.25, 0.25, size=2)
    shade = 1.0 + slope[0] * (rows - 0.5) + slope[1] * (cols - 0.5)  # (size, size)
    image[mask] = colour * shade[mask][:, None]


def _object(rng, size, shape, radius_range, rotate):
    """Draw a shape of random radius, position (fully inside) and maybe angle."""
    radius = rng.uniform(*radius_range) * size
    margin = radius + 1.0
    centre = rng.uniform(margin, size - 1 - margin, size=2)
    angle = rng.uniform(0, 2 * np.pi) if rotate else 0.0
    return shape_mask(shape, size, tuple(centre), radius, angle)


def _box(mask: np.ndarray) -> np.ndarray:
    rows, cols = np.nonzero(mask)
    return np.array([cols.min(), rows.min(), cols.max(), rows.max()], dtype=np.float32)


def _check_scale(scale) -> tuple[float, float]:
    if (not isinstance(scale, (tuple, list)) or len(scale) != 2
            or not all(_is_real(s) for s in scale)):
        raise TypeError(f"scale must be a (low, high) pair of numbers, got {scale!r}")
    low, high = float(scale[0]), float(scale[1])
    if not 0 < low <= high <= 0.45:
        raise ValueError(f"scale must satisfy 0 < low <= high <= 0.45 (the object's radius "
                         f"as a fraction of the image size), got {scale!r}")
    return low, high


def _finish(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    image = image + 0.02 * rng.standard_normal(image.shape)  # sensor noise
    return np.clip(image, 0.0, 1.0).transpose(2, 0, 1)  # (3, size, size)


def make_scenes(n: int, size: int = 32, seed: int = 0, *,
                scale: tuple[float, float] = (0.2, 0.35), rotate: bool = False) -> Scenes:
    """Draw ``n`` RGB images, each one object of :data:`SCENE_CLASSES` on a real texture.

    Each image is a random crop of one of :data:`SCENE_TEXTURES` (zoomed out 1 to 3 times,
    maybe mirrored, tinted and with its contrast and brightness jittered), with one object
    painted on it: a shape of random colour, radius ``scale[0] * size`` to
    ``scale[1] * size`` and position (always fully inside the image), upright or (with
    ``rotate=True``) turned by a random angle, lightly shaded, then sensor noise on every
    pixel. The label (the shape) and the background are
    drawn independently, so only the object's pixels carry information about the label.

    The same arguments give the same images; image ``i`` depends on ``size``, ``seed``,
    ``scale``, ``rotate`` and ``i`` only, so a longer set starts with a shorter one.
    The defaults (32 x 32 images, upright shapes) give a task that
    :func:`lecturepkg.models.train_gapnet` learns in seconds on a CPU.

    Parameters
    ----------
    n:
        Number of images.
    size:
        Height and width in pixels (at least 16).
    seed:
        Seed of the generator (``numpy.random.SeedSequence(seed)``, one child per image).
    scale:
        ``(low, high)``, the range of the object's radius as a fraction of ``size``
        (``0 < low <= high <= 0.45``).
    rotate:
        Turn each shape by a random angle (a harder task: a turned square is a diamond).

    Returns
    -------
    Scenes
        ``images`` ``(n, 3, size, size)``, ``labels`` ``(n,)``, ``masks``
        ``(n, 1, size, size)``, ``boxes`` ``(n, 4)`` and ``background`` ``(n,)``.

    Examples
    --------
    >>> scenes = make_scenes(3, size=32, seed=1)
    >>> tuple(scenes.images.shape), tuple(scenes.masks.shape), tuple(scenes.boxes.shape)
    ((3, 3, 32, 32), (3, 1, 32, 32), (3, 4))
    """
    n = check_int("n", n, minimum=1)
    size = check_int("size", size, minimum=16)
    seed = check_int("seed", seed, minimum=0)
    radius_range = _check_scale(scale)
    if not isinstance(rotate, bool):
        raise TypeError(f"rotate must be a bool, got {rotate!r}")
    images = np.empty((n, 3, size, size), dtype=np.float32)
    masks = np.empty((n, 1, size, size), dtype=np.float32)
    labels = np.empty(n, dtype=np.int64)
    boxes = np.empty((n, 4), dtype=np.float32)
    backgrounds = np.empty(n, dtype=np.int64)
    for i, child in enumerate(np.random.SeedSequence(seed).spawn(n)):
        rng = np.random.default_rng(child)
        labels[i] = rng.integers(len(SCENE_CLASSES))
        backgrounds[i] = rng.integers(len(SCENE_TEXTURES))
        image = _background(rng, size, int(backgrounds[i]))  # (size, size, 3)
        mask = _object(rng, size, SCENE_CLASSES[labels[i]], radius_range, rotate)
        _paint(rng, image, mask, _random_colour(rng))
        images[i] = _finish(image, rng)
        masks[i, 0] = mask
        boxes[i] = _box(mask)
    return Scenes(torch.from_numpy(images), torch.from_numpy(labels), torch.from_numpy(masks),
                  torch.from_numpy(boxes), torch.from_numpy(backgrounds))


def _watermark(size: int) -> np.ndarray:
    """The watermark's mask ``(size, size)``: a small ring in the bottom-right corner."""
    radius = max(2.0, size / 16)
    centre = (size - 2 - radius, size - 2 - radius)
    rows, cols = np.mgrid[0:size, 0:size]
    d2 = (rows - centre[0]) ** 2 + (cols - centre[1]) ** 2
    return (d2 <= radius ** 2) & (d2 >= (radius - 1.5) ** 2)


def make_clever_hans(n: int, split: str = "train", size: int = 32, seed: int = 0, *,
                     cue: str = "snow", agreement: float = 1.0,
                     shapes: tuple[str, str] = ("square", "disk"),
                     scale: tuple[float, float] = (0.15, 0.25)) -> CleverHansScenes:
    """Draw ``n`` images of two classes with a background cue: a shortcut to the label.

    Label 0 is ``shapes[0]`` (the "husky"), label 1 is ``shapes[1]`` (the "wolf"), upright,
    drawn on a crop of grass, gravel or brick as in :func:`make_scenes`, or on the cue. With
    ``cue="snow"`` the cue is a snow-like background (bright, bluish white) instead of the
    texture; with ``cue="watermark"`` it is a small white ring in the bottom-right corner
    (the object never overlaps it).

    In the ``"train"`` split the cue agrees with the label: image ``i`` shows the cue
    exactly when its label is 1, except that each image disagrees with probability
    ``1 - agreement`` (so ``agreement=1.0``, the default, makes the cue a perfect predictor,
    as the snow was in the husky/wolf story). In the ``"test"`` split the cue is present
    with probability 1/2 independently of the label, so it carries no information.

    Each split uses its own stream of random numbers (``seed`` and the split's name), so a
    train and a test set with the same ``seed`` share no image.

    Parameters
    ----------
    n:
        Number of images.
    split:
        ``"train"`` or ``"test"``.
    size:
        Height and width in pixels (at least 16).
    seed:
        Seed of the generator.
    cue:
        ``"snow"`` or ``"watermark"``.
    agreement:
        In ``[0.5, 1]``: the probability that the cue agrees with the label in training
        (ignored for ``"test"``).
    shapes:
        The two classes, two different names from :data:`SCENE_CLASSES`.
    scale:
        Range of the object's radius as a fraction of ``size``; small objects make the
        shortcut tempting.

    Returns
    -------
    CleverHansScenes
        ``images``, ``labels``, ``masks``, ``boxes``, ``cue`` and ``cue_masks``.

    Examples
    --------
    >>> train = make_clever_hans(20, "train", size=32, seed=0)
    >>> bool((train.cue == train.labels.bool()).all())
    True
    """
    n = check_int("n", n, minimum=1)
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    size = check_int("size", size, minimum=16)
    seed = check_int("seed", seed, minimum=0)
    if cue not in ("snow", "watermark"):
        raise ValueError(f"cue must be 'snow' or 'watermark', got {cue!r}")
    if not _is_real(agreement):
        raise TypeError(f"agreement must be a real number, got {agreement!r}")
    if not 0.5 <= agreement <= 1.0:
        raise ValueError(f"agreement must be in [0.5, 1], got {agreement}")
    if (not isinstance(shapes, (tuple, list)) or len(shapes) != 2
            or any(s not in SCENE_CLASSES for s in shapes) or shapes[0] == shapes[1]):
        raise ValueError(f"shapes must be two different names from {SCENE_CLASSES}, "
                         f"got {shapes!r}")
    radius_range = _check_scale(scale)
    mark = _watermark(size)
    keep_out = binary_dilation(mark, iterations=2)  # the mark and 2 pixels around it
    textures = [SCENE_TEXTURES.index(t) for t in ("grass", "gravel", "brick")]
    images = np.empty((n, 3, size, size), dtype=np.float32)
    masks = np.zeros((n, 1, size, size), dtype=np.float32)
    cue_masks = np.zeros((n, 1, size, size), dtype=np.float32)
    labels = np.empty(n, dtype=np.int64)
    boxes = np.empty((n, 4), dtype=np.float32)
    shown = np.empty(n, dtype=bool)
    stream = np.random.SeedSequence([seed, 0 if split == "train" else 1])
    for i, child in enumerate(stream.spawn(n)):
        rng = np.random.default_rng(child)
        labels[i] = rng.integers(2)
        if split == "train":
            shown[i] = bool(labels[i]) == (rng.random() < agreement)
        else:
            shown[i] = rng.random() < 0.5
        if cue == "snow" and shown[i]:
            image = _snow(rng, size)
        else:
            image = _background(rng, size, textures[int(rng.integers(len(textures)))])
        while True:  # the object never covers the watermark's corner
            mask = _object(rng, size, shapes[labels[i]], radius_range, False)
            if cue == "snow" or not (mask & keep_out).any():
                break
        _paint(rng, image, mask, _random_colour(rng))
        if cue == "watermark" and shown[i]:
            image[mark] = 1.0
            cue_masks[i, 0] = mark
        elif shown[i]:
            cue_masks[i, 0] = ~mask
        images[i] = _finish(image, rng)
        masks[i, 0] = mask
        boxes[i] = _box(mask)
    return CleverHansScenes(torch.from_numpy(images), torch.from_numpy(labels),
                            torch.from_numpy(masks), torch.from_numpy(boxes),
                            torch.from_numpy(shown), torch.from_numpy(cue_masks))

