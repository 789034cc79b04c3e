"""``check``: grade one exercise from a notebook and print what is right and what is wrong."""

from __future__ import annotations

import dataclasses
import inspect
import os
from typing import Callable

from lecturepkg.grading.exercises import get_exercise
from lecturepkg.grading.report import exercise_report
from lecturepkg.grading.runner import run_exercise

#: Set by the command line grader while it executes a notebook: check cells then do nothing,
#: so that each exercise is graded once, by the grader.
GRADER_ENV = "LECTUREPKG_GRADER"


def check(name: str | Callable, func: Callable | None = None, *, timeout: float | None = None) -> None:
    """Run the grading tests of exercise ``name`` against ``func`` and print the verdicts.

    Three forms: ``check("correlate1d", correlate1d)``; ``check(correlate1d)`` (the exercise
    is the function's name); ``check("correlate1d")`` (the function of that name is taken
    from the caller's namespace, e.g. the notebook). A wrong answer never raises: the
    report says, per test, whether it passed, its points, and what was expected and what
    came back. ``timeout`` overrides the exercise's limit (seconds per call).
    """
    if os.environ.get(GRADER_ENV):
        return None
    if callable(name) and func is None:
        func, name = name, getattr(name, "__name__", "")
    exercise = get_exercise(name)
    if func is None:
        caller = inspect.currentframe().f_back
        func = caller.f_globals.get(name) if caller is not None else None
    elif not callable(func):
        raise TypeError(f"func must be the function you wrote, got {type(func).__name__}")
    if timeout is not None:
        if not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        exercise = dataclasses.replace(exercise, timeout=float(timeout))
    print(exercise_report(run_exercise(exercise, func)))
    return None
