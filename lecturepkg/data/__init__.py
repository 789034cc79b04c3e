"""Datasets of the course, all available offline: shipped by packages (scikit-learn's digits),
vendored with their source, licence and checksum (``vendored/PROVENANCE.md``), or generated."""

from lecturepkg.data.augmentation import PerSample
from lecturepkg.data.digits import load_digits_split
from lecturepkg.data.glyphs import GLYPH_FONTS, LETTERS, render_glyph, render_glyphs
from lecturepkg.data.roads import Road, RoadTiles, make_roads, road_mask
from lecturepkg.data.scenes import (
    SCENE_CLASSES, SCENE_TEXTURES, CleverHansScenes, Scenes, make_clever_hans, make_scenes,
    shape_mask,
)
from lecturepkg.data.sequences import make_memory_task
from lecturepkg.data.subsets import few_per_class
from lecturepkg.data.text import ZHANG_ALPHABET, encode_batch, one_hot_encode
from lecturepkg.data.timeseries import TimeSeriesData, load_timeseries
from lecturepkg.data.volumes import VOLUME_CLASSES, make_volumes, shape_volume
from lecturepkg.data.words import WordsSplit, load_words

__all__ = [
    "load_digits_split",
    "load_timeseries", "TimeSeriesData",
    "load_words", "WordsSplit", "one_hot_encode", "encode_batch", "ZHANG_ALPHABET",
    "make_volumes", "shape_volume", "VOLUME_CLASSES",
    "make_memory_task",
    "few_per_class", "PerSample", "render_glyph", "render_glyphs", "LETTERS", "GLYPH_FONTS",
    "make_roads", "road_mask", "Road", "RoadTiles",
    "make_scenes", "make_clever_hans", "shape_mask", "Scenes", "CleverHansScenes",
    "SCENE_CLASSES", "SCENE_TEXTURES",
]
