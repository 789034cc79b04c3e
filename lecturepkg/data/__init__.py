"""Datasets of the course, all available offline (shipped by packages, vendored, or generated)."""

from lecturepkg.data.digits import load_digits_split

__all__ = ["load_digits_split"]
