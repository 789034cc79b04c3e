"""``check``: grade one exercise from a notebook and print what is right and what is wrong;
``check_chapter``: grade the whole chapter, with the isolated grader where it can run."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
from typing import Callable

from lecturepkg.grading.exercises import chapter_exercises, get_exercise
from lecturepkg.grading.notebook import GRADER_ENV
from lecturepkg.grading.report import exercise_report, score_table
from lecturepkg.grading.runner import ExerciseResult, TestResult, run_exercise

__all__ = ["check", "check_chapter", "grade_namespace", "GRADER_ENV", "FEEDBACK_NOTE"]

#: The last line of what ``check`` (and ``check_chapter`` without the isolated grader) prints.
FEEDBACK_NOTE = ("This is feedback from your notebook's kernel; the official grade comes from the isolated "
                 "command line grader (python -m lecturepkg.grading, or check_chapter in the last cell).")
_TEMPORARY = "lecturepkg-colab-notebook-"


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
    print(exercise_report(run_exercise(exercise, func)) + "\n" + FEEDBACK_NOTE)
    return None


def grade_namespace(chapter: str, namespace: dict, *, quiet: bool = False,
                    title: str | None = None) -> list[ExerciseResult]:
    """Grade every exercise of ``chapter`` against the functions defined in ``namespace``.

    Prints each exercise's report (unless ``quiet``) and then the score table, in the
    command line grader's format, and returns the results. This grades in this process, for
    feedback; the official grade comes from the isolated grader.
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


class GradedChapter(list):
    """The list of ``ExerciseResult`` that ``check_chapter`` returns; a notebook does not
    echo it below the score table that ``check_chapter`` has printed already."""

    def _ipython_display_(self) -> None:
        return None


def check_chapter(chapter: str, *, quiet: bool = True) -> list[ExerciseResult] | None:
    """Grade every exercise of ``chapter`` in the running notebook and print the score table.

    The last cell of each exercises notebook calls it. Where the notebook can be found, it is
    graded by the isolated command line grader, the official grade: on Colab the notebook as
    it is now (asked from Colab and saved to a temporary file), in Jupyter the notebook's file
    as last saved (``JPY_SESSION_NAME``, set by Jupyter Server 2). Elsewhere (the book's
    build, a plain IPython shell) the functions of the caller's namespace are graded in this
    kernel, for feedback, and the output says so. ``quiet=False`` also prints every test's
    verdict. Does nothing while the command line grader runs the notebook (it grades itself).
    """
    if os.environ.get(GRADER_ENV):
        return None
    chapter_exercises(chapter)  # an unknown chapter fails here, with the known ones
    caller = inspect.currentframe().f_back
    namespace = caller.f_globals if caller is not None else {}
    notebook, how = _current_notebook(namespace)
    if notebook is not None:
        try:
            results = _grade_isolated(notebook, chapter, quiet=quiet, how=how)
        finally:
            if notebook.parent.name.startswith(_TEMPORARY):  # Colab's notebook, saved by us
                shutil.rmtree(notebook.parent, ignore_errors=True)
        if results is not None:
            return GradedChapter(results)
        how = "the isolated grader could not grade it"
    results = grade_namespace(chapter, namespace, quiet=quiet, title=f"chapter {chapter}")
    print(f"Graded in this kernel ({how}). {FEEDBACK_NOTE}")
    return GradedChapter(results)


def _current_notebook(namespace: dict) -> tuple[pathlib.Path | None, str]:
    """(the file of the running notebook, how it was found), or (None, why there is none)."""
    from lecturepkg.output import static_output

    if static_output():
        return None, "the book is being built"
    if "google.colab" in sys.modules:
        try:
            # Colab's own module (not a dependency: present only on Colab)
            message = importlib.import_module("google.colab._message")
            reply = message.blocking_request("get_ipynb", timeout_sec=60)
            notebook = reply.get("ipynb", reply) if isinstance(reply, dict) else None
            if not isinstance(notebook, dict) or "cells" not in notebook:
                return None, "Colab did not send the notebook"
            path = pathlib.Path(tempfile.mkdtemp(prefix=_TEMPORARY)) / "exercises.ipynb"
            path.write_text(json.dumps(notebook))
            return path, "the notebook as it is now in Colab"
        except Exception as err:  # noqa: BLE001 - then grade in the kernel
            return None, f"Colab did not send the notebook: {type(err).__name__}: {err}"
    for candidate, how in ((os.environ.get("JPY_SESSION_NAME"), "the notebook's file as last saved"),
                           (namespace.get("__vsc_ipynb_file__"), "the notebook's file as last saved")):
        if not isinstance(candidate, str) or not candidate.endswith(".ipynb"):
            continue
        path = pathlib.Path(candidate)
        for found in ([path] if path.is_absolute() else [pathlib.Path.cwd() / path, pathlib.Path.cwd() / path.name]):
            if found.is_file():
                return found, f"{how}, {found}"
    return None, "no notebook file found: not in Jupyter or Colab"


def _grade_isolated(notebook: pathlib.Path, chapter: str, *, quiet: bool, how: str) -> list[ExerciseResult] | None:
    """Run the command line grader on ``notebook``; print its output and return its results
    (``None`` if it could not grade)."""
    import lecturepkg

    package_root = str(pathlib.Path(lecturepkg.__file__).resolve().parent.parent)
    env = {key: value for key, value in os.environ.items() if key != GRADER_ENV}
    env["PYTHONPATH"] = os.pathsep.join([package_root] + [p for p in [os.environ.get("PYTHONPATH")] if p])
    with tempfile.TemporaryDirectory(prefix="lecturepkg-grading-") as folder:
        out = pathlib.Path(folder) / "results.json"
        command = [sys.executable, "-m", "lecturepkg.grading", str(notebook), "--chapter", chapter,
                   "--json", str(out)] + (["--quiet"] if quiet else [])
        ran = subprocess.run(command, env=env, capture_output=True, text=True)
        if ran.stderr.strip():
            print(ran.stderr.rstrip(), file=sys.stderr)
        if ran.returncode not in (0, 1) or not out.is_file():
            print(f"The isolated grader could not grade {notebook.name} (exit status {ran.returncode}).")
            return None
        print(ran.stdout.rstrip())
        data = json.loads(out.read_text())
    print(f"Official grade: the isolated grader graded {how}.")
    return _results_from_json(chapter, data)


def _results_from_json(chapter: str, data: dict) -> list[ExerciseResult]:
    results = {e.name: ExerciseResult(e.name, e.title) for e in chapter_exercises(chapter)}
    for test in data["tests"]:
        exercise, name = test["name"].split(": ", 1)
        results[exercise].tests.append(TestResult(name, test["status"] == "passed", test["score"],
                                                  test["max_score"], test["output"]))
    return list(results.values())
