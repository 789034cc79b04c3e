"""``check``: grade one exercise from a notebook and print what is right and what is wrong."""

from __future__ import annotations

import dataclasses
import inspect
import os
from typing import Callable

from lecturepkg.grading.exercises import chapter_exercises, get_exercise
from lecturepkg.grading.report import exercise_report, score_table
from lecturepkg.grading.runner import ExerciseResult, run_exercise

#: Set by the command line grader while it executes a notebook; check cells then do nothing,
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


def grade_namespace(chapter: str, namespace: dict, *, quiet: bool = False,
                    title: str | None = None) -> list[ExerciseResult]:
    """Grade every exercise of ``chapter`` against the functions defined in ``namespace``.

    Prints each exercise's report (unless ``quiet``) and then the score table, exactly as
    the command line grader does (it calls this function), and returns the results.
    """
    if not isinstance(namespace, dict):
        raise TypeError(f"namespace must be a dict of names to objects, got {type(namespace).__name__}")
    results = []
    for exercise in chapter_exercises(chapter):
        func = namespace.get(exercise.name)
        results.append(run_exercise(exercise, func if callable(func) else None))
        if not quiet:
            print(exercise_report(results[-1]) + "\n")
    print((f"{title}\n" if title else "") + score_table(results))
    return results


def check_chapter(chapter: str, *, quiet: bool = True) -> list[ExerciseResult] | None:
    """Grade every exercise of ``chapter`` in the running notebook and print the score table.

    The last cell of each exercises notebook calls it: it takes the exercise functions from
    the notebook's namespace (the caller's globals) and prints the same table as the command
    line grader, so a student on Colab, who has no repository and no notebook file on the
    machine, gets the whole chapter's grade. ``quiet=False`` also prints every test's
    verdict. Does nothing while the command line grader runs the notebook (it grades itself).
    """
    if os.environ.get(GRADER_ENV):
        return None
    caller = inspect.currentframe().f_back
    namespace = caller.f_globals if caller is not None else {}
    return grade_namespace(chapter, namespace, quiet=quiet, title=f"chapter {chapter}")
