"""Run one exercise's grading tests with pytest, in this process.

pytest does the collecting and running; a small plugin records each test's verdict, its
points (from ``@pytest.mark.points(n)``) and a message written for the student, and pytest's
own terminal output is swallowed. The tests call whatever :func:`run_tests` is given as the
``submission``: the student's function under the sandbox (:func:`run_exercise`, as
``check`` does), or a proxy that calls it in the student's own process (the command line
grader, :mod:`lecturepkg.grading.isolated`).
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass, field
from typing import Callable

import pytest

from lecturepkg.device import torch_threads
from lecturepkg.grading import runtime
from lecturepkg.grading.exercises import get_exercise
from lecturepkg.grading.feedback import GradingFailure
from lecturepkg.grading.sandbox import Submission
from lecturepkg.grading.spec import Exercise


@dataclass
class TestResult:
    """The verdict of one grading test."""

    __test__ = False  # not a pytest test class

    name: str
    passed: bool
    points: float
    max_points: float
    message: str = ""


@dataclass
class ExerciseResult:
    """The verdicts of all tests of one exercise."""

    exercise: str
    title: str
    tests: list[TestResult] = field(default_factory=list)

    @property
    def points(self) -> float:
        return sum(t.points for t in self.tests)

    @property
    def max_points(self) -> float:
        return sum(t.max_points for t in self.tests)

    @property
    def passed(self) -> bool:
        return bool(self.tests) and all(t.passed for t in self.tests)


def _message(excinfo) -> str:
    """What to tell the student about a failed test."""
    err = excinfo.value
    if isinstance(err, GradingFailure):  # our assertions and the sandbox: already worded
        return str(err)
    if isinstance(err, AssertionError):  # a plain assert in a grading test
        text = str(err).strip()
        return text.splitlines()[0] if text else "an assertion in the grading test failed"
    return f"the grading test itself failed: {type(err).__name__}: {err}"


class _Recorder:
    """pytest plugin: one TestResult per test item."""

    def __init__(self):
        self.results: list[TestResult] = []
        self.errors: list[str] = []

    def pytest_configure(self, config):
        config.addinivalue_line("markers", "points(n): points this grading test is worth")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        marker = item.get_closest_marker("points")
        points = float(marker.args[0]) if marker and marker.args else 1.0
        name = item.name.removeprefix("test_").replace("_", " ")
        if report.when == "setup" and report.failed:
            self.results.append(TestResult(name, False, 0.0, points, _message(call.excinfo)))
        elif report.when == "call":
            passed = report.passed
            message = "" if passed else _message(call.excinfo)
            self.results.append(TestResult(name, passed, points if passed else 0.0, points, message))

    def pytest_collectreport(self, report):
        if report.failed:
            self.errors.append(str(report.longrepr))


def run_exercise(exercise: Exercise | str, func: Callable | None) -> ExerciseResult:
    """Run the grading tests of ``exercise`` against ``func``, in this process, and return
    the verdicts.

    ``func=None`` (the function is missing) fails every test with a message saying so.
    """
    exercise = _exercise(exercise)
    if func is None:
        func = _missing(exercise.name)
    return run_tests(exercise, Submission(func, exercise))


def _exercise(exercise: Exercise | str) -> Exercise:
    if isinstance(exercise, str):
        exercise = get_exercise(exercise)
    if not isinstance(exercise, Exercise):
        raise TypeError(f"exercise must be an Exercise or its name, got {type(exercise).__name__}")
    return exercise


def prepare(exercises: list[Exercise]) -> None:
    """Import the grading tests of ``exercises`` (and what they import) now, so that later
    runs use these modules and read nothing more from disk."""
    from lecturepkg.grading.tests import conftest  # noqa: F401 - the submission fixture

    for exercise in exercises:
        exercise.test_file()


def run_tests(exercise: Exercise | str, submission: Callable) -> ExerciseResult:
    """Run the grading tests of ``exercise``; their ``submission`` fixture is ``submission``
    (a callable with an ``exercise`` attribute, e.g. a :class:`~lecturepkg.grading.sandbox.Submission`).
    """
    exercise = _exercise(exercise)
    if not callable(submission):
        raise TypeError(f"submission must be callable, got {type(submission).__name__}")
    recorder = _Recorder()
    test_file = exercise.test_file()
    # hypothesis's plugin would import hypothesis (seconds) in every notebook that checks
    args = [test_file, "-q", "-p", "no:cacheprovider", "-p", "no:nbval", "-p", "no:xdist",
            "-p", "no:randomly", "-p", "no:hypothesispytest", "-p", "no:unraisableexception",
            "--rootdir", os.path.dirname(test_file), "-c", os.devnull,
            "-W", "ignore::pytest.PytestAssertRewriteWarning"]
    sink = io.StringIO()
    with runtime.submitted(submission), torch_threads(1), \
            contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        code = pytest.main(args, plugins=[recorder])
    if code == pytest.ExitCode.INTERRUPTED:  # pytest swallows Ctrl-C; the caller should not
        raise KeyboardInterrupt(f"grading {exercise.name} was interrupted")
    if recorder.errors or (not recorder.results and code not in (0, 1)):
        raise RuntimeError(f"the grading tests of {exercise.name} could not run (pytest exit {code}):\n"
                           + "\n".join(recorder.errors) + sink.getvalue()[-3000:])
    return ExerciseResult(exercise.name, exercise.title, recorder.results)


def _missing(name: str) -> Callable:
    def missing(*args, **kwargs):
        raise GradingFailure(f"no function called {name} was defined: write it (keep its name)")

    return missing
