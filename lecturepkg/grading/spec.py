"""What an exercise is: the function a student writes, its tests, its reference solution and
the library functions it must not delegate to."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Exercise:
    """One graded exercise.

    Attributes
    ----------
    name:
        The name of the function the student writes (``check("correlate1d", correlate1d)``).
    chapter:
        The book folder of the chapter, e.g. ``"01-convolution"``.
    title:
        A short human title for score tables.
    tests:
        Dotted module name of the pytest file with this exercise's grading tests.
    reference:
        ``"module:function"`` of the reference solution (shown on the rendered page).
    forbidden:
        ``"module:attribute"`` names of library functions that compute the answer; they are
        unavailable while the exercise is checked, and so is ``reference``.
    timeout:
        Seconds one call of the student's function may take.
    """

    name: str
    chapter: str
    title: str
    tests: str
    reference: str
    forbidden: tuple[str, ...] = field(default_factory=tuple)
    timeout: float = 10.0

    def reference_function(self) -> Callable:
        module, attr = self.reference.split(":")
        return getattr(importlib.import_module(module), attr)

    def test_file(self) -> str:
        return importlib.import_module(self.tests).__file__
