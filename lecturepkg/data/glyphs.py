"""Printed letters in the fonts that ship with matplotlib, rasterised offline.

A large, varied source task for transfer learning without downloading anything: 52 letters
(``a``-``z``, ``A``-``Z``) in 21 fonts (DejaVu Sans, Serif and Sans Mono, STIX and Computer
Modern, in their upright, bold and italic cuts). Each glyph is the outline that matplotlib's
``TextPath`` reads from the font file, scaled so that its longer side fills a ``size x size``
grid, centred, and rasterised to 0/1 pixels (a pixel is ink when its centre lies inside the
outline, by the even-odd rule, so the holes of ``o`` and ``B`` stay open). At ``size=32``
they are the 32 x 32 binary bitmaps from which the UCI handwritten digits were made
(scikit-learn's digits are counts of ink pixels in 4 x 4 blocks of such bitmaps; Alpaydin &
Kaynak 1998): average pooling by 4 puts the letters on the same 8 x 8 grid.
"""

from __future__ import annotations

import functools
import string
from pathlib import Path

import matplotlib
import numpy as np
import torch
from matplotlib.font_manager import FontProperties
from matplotlib.path import Path as MplPath
from matplotlib.textpath import TextPath

from lecturepkg._checks import check_int

__all__ = ["LETTERS", "GLYPH_FONTS", "render_glyph", "render_glyphs"]

#: The 52 classes of :func:`render_glyphs` by default: ``a``-``z`` then ``A``-``Z``.
LETTERS = string.ascii_letters

#: Font files shipped in matplotlib's ``mpl-data/fonts/ttf`` folder, used by default.
GLYPH_FONTS = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf",
    "DejaVuSans-BoldOblique.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Italic.ttf", "DejaVuSerif-BoldItalic.ttf", "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf", "DejaVuSansMono-Oblique.ttf", "DejaVuSansMono-BoldOblique.ttf",
    "STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf", "STIXGeneralBolIta.ttf",
    "cmr10.ttf", "cmss10.ttf", "cmtt10.ttf", "cmti10.ttf", "cmb10.ttf",
)


def _font_path(font) -> Path:
    if not isinstance(font, str):
        raise TypeError(f"font must be a str naming a font file, got {type(font).__name__}")
    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / font
    if not path.is_file():
        raise ValueError(f"font must be a font file shipped with matplotlib, such as "
                         f"{GLYPH_FONTS[0]!r}; no file {font!r} in {path.parent}")
    return path


@functools.lru_cache(maxsize=4096)
def _render(char: str, font: str, size: int) -> np.ndarray:
    outline = TextPath((0, 0), char, size=100, prop=FontProperties(fname=str(_font_path(font))))
    polygons = outline.to_polygons()  # outer contours and holes, curves as line segments
    if not polygons:
        raise ValueError(f"char {char!r} has no outline in font {font!r}")
    points = np.concatenate(polygons)  # (P, 2) in font units, y up
    low, high = points.min(axis=0), points.max(axis=0)
    scale = size / max(high - low)  # grid pixels per font unit
    middle = (low + high) / 2
    rows, cols = np.mgrid[0:size, 0:size] + 0.5  # pixel centres, row 0 at the top
    centres = np.stack([(cols.ravel() - size / 2) / scale + middle[0],
                        (size / 2 - rows.ravel()) / scale + middle[1]], axis=1)
    ink = np.zeros(size * size, dtype=bool)
    for polygon in polygons:
        ink ^= MplPath(polygon).contains_points(centres)  # even-odd rule
    ink = ink.reshape(size, size)
    ink.flags.writeable = False  # cached: callers get copies
    return ink


def render_glyph(char: str, font: str = GLYPH_FONTS[0], size: int = 32) -> np.ndarray:
    """One character of one font as a ``(size, size)`` boolean image (True is ink).

    Parameters
    ----------
    char:
        A single printable character other than a space.
    font:
        A font file shipped with matplotlib (see :data:`GLYPH_FONTS`).
    size:
        Side of the square grid in pixels (at least 4); the glyph's longer side fills it.

    Examples
    --------
    >>> glyph = render_glyph("I", "DejaVuSans.ttf", size=8)
    >>> glyph.shape, bool(glyph[:, 3:5].all()), bool(glyph[:, :3].any())
    ((8, 8), True, False)
    """
    if not isinstance(char, str) or len(char) != 1 or not char.isprintable() or char.isspace():
        raise ValueError(f"char must be one printable, non-space character, got {char!r}")
    size = check_int("size", size, minimum=4)
    return _render(char, font, size).copy()


def render_glyphs(
    chars: str = LETTERS, fonts: tuple[str, ...] = GLYPH_FONTS, size: int = 32
) -> torch.Tensor:
    """Every character of ``chars`` in every font of ``fonts``, as 0/1 float images.

    Returns
    -------
    torch.Tensor
        ``(len(chars), len(fonts), size, size)`` float32 with values 0 and 1: entry
        ``[i, j]`` is ``chars[i]`` in ``fonts[j]``; the class of a glyph is its index ``i``.
    """
    if not isinstance(chars, str) or not chars:
        raise ValueError(f"chars must be a non-empty str, got {chars!r}")
    if len(set(chars)) != len(chars):
        raise ValueError(f"chars must not repeat a character, got {chars!r}")
    if isinstance(fonts, str) or not isinstance(fonts, (tuple, list)) or not fonts:
        raise TypeError(f"fonts must be a non-empty tuple of font file names, got {fonts!r}")
    images = np.array([[render_glyph(c, f, size) for f in fonts] for c in chars])
    return torch.from_numpy(images).float()  # (len(chars), len(fonts), size, size)
