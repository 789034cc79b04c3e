"""Helpers for learning from little data: balanced few-shot subsets, per-image augmentation
of a batch (torchvision's transforms applied image by image), and printed letters rendered
from matplotlib's fonts (checked against the areas of their outlines)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision.transforms.v2 as T
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextPath

import matplotlib
from lecturepkg.data import GLYPH_FONTS, LETTERS, PerSample, few_per_class, render_glyph
from lecturepkg.data import render_glyphs

# ---------------------------------------------------------------------------- subsets


def test_few_per_class_draws_k_distinct_examples_of_every_class():
    rng = np.random.default_rng(0)
    labels = rng.integers(3, 9, size=300)  # classes 3..8, unbalanced
    idx = few_per_class(torch.from_numpy(labels), 4, seed=5)
    assert idx.dtype == torch.int64 and idx.shape == (6 * 4,)
    assert len(set(idx.tolist())) == len(idx)
    chosen = labels[idx.numpy()]
    assert chosen.tolist() == sorted(chosen.tolist())  # grouped by class, in order
    values, counts = np.unique(chosen, return_counts=True)
    assert values.tolist() == list(range(3, 9)) and counts.tolist() == [4] * 6


def test_few_per_class_is_reproducible_and_seeds_differ():
    labels = np.repeat(np.arange(10), 50)
    a, b = few_per_class(labels, 5, seed=1), few_per_class(labels, 5, seed=1)
    assert torch.equal(a, b)
    assert not torch.equal(a, few_per_class(labels, 5, seed=2))
    # every example is drawn about equally often over many seeds (uniform without replacement)
    hits = np.zeros(500)
    for seed in range(200):
        hits[few_per_class(labels, 5, seed=seed).numpy()] += 1
    assert abs(hits.mean() - 200 * 5 / 50) < 1e-9 and hits.min() > 5 and hits.max() < 40


def test_few_per_class_rejects_bad_input():
    with pytest.raises(ValueError, match="class 1 has 2 examples, k is 3"):
        few_per_class(np.array([0, 0, 0, 1, 1]), 3)
    with pytest.raises(TypeError, match="labels must be a torch.Tensor or numpy.ndarray"):
        few_per_class([0, 1, 1], 1)
    with pytest.raises(ValueError, match="labels must be 1-D integers"):
        few_per_class(np.zeros((3, 2), dtype=int), 1)
    with pytest.raises(ValueError, match="labels must be 1-D integers"):
        few_per_class(np.array([0.0, 1.0]), 1)
    with pytest.raises(ValueError, match="k must be >= 1"):
        few_per_class(np.array([0, 1]), 0)


# ---------------------------------------------------------------------------- augmentation


def test_per_sample_draws_one_flip_per_image():
    torch.manual_seed(0)
    batch = torch.rand(64, 1, 5, 5)
    out = PerSample(T.RandomHorizontalFlip())(batch)
    flipped = torch.flip(batch, dims=[-1])  # the oracle for each image
    same = [torch.equal(o, b) for o, b in zip(out, batch)]
    mirrored = [torch.equal(o, f) for o, f in zip(out, flipped)]
    assert all(s != m for s, m in zip(same, mirrored))  # each image one or the other
    assert 10 < sum(mirrored) < 54  # both happen (p = 0.5 each)
    # one call on the whole batch draws once: all flipped or none
    whole = T.RandomHorizontalFlip()(batch)
    assert torch.equal(whole, batch) or torch.equal(whole, flipped)


def test_per_sample_equals_torchvision_applied_image_by_image():
    batch = torch.rand(6, 3, 16, 16)
    transform = T.Compose([T.RandomResizedCrop(12, antialias=True), T.RandomRotation(20)])
    torch.manual_seed(3)
    out = PerSample(transform)(batch)
    torch.manual_seed(3)
    expected = [transform(image) for image in batch]
    assert out.shape == (6, 3, 12, 12)
    for o, e in zip(out, expected):
        assert torch.equal(o, e)


def test_per_sample_rejects_bad_input():
    with pytest.raises(TypeError, match="transform must be callable"):
        PerSample("flip")
    augment = PerSample(T.RandomHorizontalFlip())
    with pytest.raises(TypeError, match="batch must be a torch.Tensor"):
        augment(np.zeros((2, 1, 4, 4)))
    with pytest.raises(ValueError, match=r"batch must have shape \(B, C, H, W\)"):
        augment(torch.zeros(1, 4, 4))
    assert "RandomHorizontalFlip" in repr(augment)


# ---------------------------------------------------------------------------- glyphs


def _outline_area(char, font):
    """Ink area of a glyph from its outline polygons (shoelace formula, even-odd rule
    by containment depth), as a fraction of the square on its longer side."""
    path = TextPath((0, 0), char, size=100, prop=FontProperties(
        fname=str(matplotlib.get_data_path() + "/fonts/ttf/" + font)))
    polygons = path.to_polygons()
    area = 0.0
    for i, poly in enumerate(polygons):
        x, y = poly[:, 0], poly[:, 1]
        a = 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))
        inside = sum(
            matplotlib.path.Path(other).contains_point(poly[0])
            for j, other in enumerate(polygons) if j != i
        )
        area += a if inside % 2 == 0 else -a  # a hole inside one contour
    points = np.concatenate(polygons)
    side = (points.max(0) - points.min(0)).max()
    return area / side**2


@pytest.mark.parametrize("char,font", [("O", "DejaVuSans.ttf"), ("B", "cmr10.ttf"),
                                       ("g", "DejaVuSerif-Italic.ttf"), ("W", "STIXGeneral.ttf")])
def test_glyph_ink_matches_the_area_of_its_outline(char, font):
    glyph = render_glyph(char, font, size=64)
    assert glyph.dtype == bool and glyph.shape == (64, 64)
    assert glyph.mean() == pytest.approx(_outline_area(char, font), abs=0.02)
    rows, cols = np.flatnonzero(glyph.any(1)), np.flatnonzero(glyph.any(0))
    extent = max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1
    assert extent >= 62  # the longer side fills the grid


def test_glyph_holes_stay_open_and_letters_are_upright():
    o = render_glyph("O", "DejaVuSans.ttf", size=32)
    assert not o[16, 16] and o[16, 1:5].any()  # a ring: ink at the side, none at the centre
    t = render_glyph("T", "DejaVuSans.ttf", size=32)
    assert t[1].sum() > 20 and t[-2].sum() < 8  # the bar is at the top, row 0
    ell = render_glyph("L", "DejaVuSans.ttf", size=32)
    assert ell[-2].sum() > ell[2].sum()  # the foot of an L is at the bottom


def test_render_glyphs_stacks_every_letter_and_font():
    images = render_glyphs("aZ", ("DejaVuSans.ttf", "cmtt10.ttf"), size=16)
    assert images.shape == (2, 2, 16, 16) and images.dtype == torch.float32
    assert set(images.unique().tolist()) == {0.0, 1.0}
    assert np.array_equal(images[1, 1].numpy(), render_glyph("Z", "cmtt10.ttf", 16))
    assert len(LETTERS) == 52 and len(GLYPH_FONTS) == 21 and len(set(GLYPH_FONTS)) == 21
    for font in GLYPH_FONTS:  # every default font ships with matplotlib and renders
        assert render_glyph("k", font, size=8).any()
    mutable = render_glyph("a", size=8)
    mutable[:] = False  # callers get copies of the cache
    assert render_glyph("a", size=8).any()


def test_glyphs_reject_bad_input():
    with pytest.raises(ValueError, match="char must be one printable, non-space"):
        render_glyph("ab")
    with pytest.raises(ValueError, match="char must be one printable, non-space"):
        render_glyph(" ")
    with pytest.raises(ValueError, match="font must be a font file shipped with matplotlib"):
        render_glyph("a", "Comic.ttf")
    with pytest.raises(TypeError, match="font must be a str"):
        render_glyph("a", 3)
    with pytest.raises(ValueError, match="size must be >= 4"):
        render_glyph("a", size=2)
    with pytest.raises(ValueError, match="chars must not repeat"):
        render_glyphs("aa")
    with pytest.raises(TypeError, match="fonts must be a non-empty tuple"):
        render_glyphs("a", "DejaVuSans.ttf")
