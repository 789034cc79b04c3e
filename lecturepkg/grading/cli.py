"""The command line grader: ``python -m lecturepkg.grading NOTEBOOK [--json FILE] [options]``.

It grades every exercise of a chapter in a student's notebook (``.ipynb``, jupytext ``.md``)
or ``.py`` file, with the same tests as ``check``, and prints a score table. The student's
code runs in a separate process (:mod:`lecturepkg.grading.isolated`): the tests, their
expected values and the comparisons stay in the grader's process, time limits are kept from
outside, and whatever the student's code does (exit, patch modules, hooks, threads, signals,
processes left behind) cannot change a verdict, the exit status or ``results.json``.

Exit status: 0 every test passed, 1 some test failed, 2 the grader could not grade (no such
file, a file that is not a notebook, an unknown chapter or exercise, grading interrupted).
``--json FILE`` writes a Gradescope ``results.json`` in every case (status 2 included: score
0 and the reason), once the student's processes are dead, atomically; its score is the
table's total. GitHub Classroom reads the status, Gradescope the file.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pathlib
import signal
import sys
import tempfile
import threading
import traceback
from typing import Sequence

from lecturepkg.grading.exercises import EXERCISES, chapter_exercises, get_exercise
from lecturepkg.grading.notebook import NotebookError, code_cells, defined_functions, execute_submission
from lecturepkg.grading.report import exercise_report, gradescope_json, not_graded_json, score_table
from lecturepkg.grading.spec import Exercise

__all__ = ["main", "execute_submission", "write_results", "EXIT_PASSED", "EXIT_FAILED", "EXIT_NOT_GRADED"]

#: Exit statuses of the command line grader.
EXIT_PASSED, EXIT_FAILED, EXIT_NOT_GRADED = 0, 1, 2


class NotGraded(Exception):
    """The grader could not grade the submission (exit status 2); the message says why."""


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise _UsageError(message)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"a time limit must be a positive number of seconds, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m lecturepkg.grading",
                     description="Grade a student's exercises notebook (.ipynb, jupytext .md) or .py file; "
                                 "the student's code runs in a separate process. Exit status: 0 all tests "
                                 "passed, 1 some failed, 2 could not grade.")
    parser.add_argument("path", type=pathlib.Path, help="the student's notebook or .py file")
    parser.add_argument("--chapter", help="chapter folder, e.g. 01-convolution (default: inferred)")
    parser.add_argument("--exercise", action="append", metavar="NAME",
                        help="grade only this exercise (repeatable; default: every exercise of the chapter)")
    parser.add_argument("--json", type=pathlib.Path, help="write a Gradescope-style results.json here")
    parser.add_argument("--quiet", action="store_true", help="print only the score table")
    limits = parser.add_argument_group("time limits (seconds)")
    limits.add_argument("--call-timeout", type=_seconds, default=None,
                        help="one call of a student's function (default: each exercise's own, 10)")
    limits.add_argument("--exercise-timeout", type=_seconds, default=120.0,
                        help="all the tests of one exercise (default 120)")
    limits.add_argument("--notebook-timeout", type=_seconds, default=300.0,
                        help="starting the student's process and running the notebook (default 300)")
    limits.add_argument("--cell-timeout", type=_seconds, default=120.0,
                        help="one code cell of the notebook (default 120)")
    return parser


def _json_target(argv: Sequence[str] | None) -> pathlib.Path | None:
    """The ``--json`` path, even when the other arguments are wrong."""
    scan = argparse.ArgumentParser(add_help=False)
    scan.add_argument("--json", type=pathlib.Path)
    try:
        known, _ = scan.parse_known_args(argv)
    except SystemExit:
        return None
    return known.json


def write_results(path: pathlib.Path, data: dict) -> None:
    """Write ``data`` as JSON at ``path`` atomically: a reader sees the old file or the new
    one, never a part (a temporary file in the same folder, then ``os.replace``)."""
    path = pathlib.Path(path)
    folder = path.parent if str(path.parent) else pathlib.Path(".")
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _chapter_for(path: pathlib.Path, defined: set[str], chapter: str | None,
                 names: list[str] | None) -> str:
    chapters = sorted({e.chapter for e in EXERCISES.values()})
    if chapter is not None:
        if chapter not in chapters:
            raise NotGraded(f"chapter: no exercises for {chapter!r}; known: {', '.join(chapters)}")
        return chapter
    if names:
        return get_exercise(names[0]).chapter
    if path.resolve().parent.name in chapters:
        return path.resolve().parent.name
    counts = {c: sum(e.name in defined for e in chapter_exercises(c)) for c in chapters}
    best = max(counts, key=counts.get)
    if counts[best] == 0:
        raise NotGraded(f"none of the exercise functions of any chapter is defined in {path.name}; "
                        "name the chapter with --chapter")
    return best


def _exercises(chapter: str, names: list[str] | None) -> list[Exercise]:
    exercises = chapter_exercises(chapter)
    if not names:
        return exercises
    known = {e.name for e in exercises}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise NotGraded(f"exercise: {', '.join(unknown)} not in chapter {chapter}; known: {', '.join(known)}")
    return [e for e in exercises if e.name in names]


@contextlib.contextmanager
def _termination_raises():
    """SIGTERM (an autograder's own timeout) ends grading like Ctrl-C, cleanly: the student's
    processes are killed and results.json says that grading was interrupted."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGTERM"):
        yield
        return

    def terminated(signum, frame):
        raise KeyboardInterrupt("terminated")

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _grade(args) -> tuple[list, str, list[str]]:
    from lecturepkg.grading.isolated import IsolatedGrader, Limits

    try:
        cells = code_cells(args.path)
    except NotebookError as err:
        raise NotGraded(str(err)) from None
    try:
        chapter = _chapter_for(args.path, defined_functions(cells), args.chapter, args.exercise)
        exercises = _exercises(chapter, args.exercise)
    except ValueError as err:
        raise NotGraded(str(err)) from None
    limits = Limits(call=args.call_timeout, exercise=args.exercise_timeout, notebook=args.notebook_timeout,
                    cell=args.cell_timeout)
    problems: list[str] = []

    def on_problem(problem: str) -> None:
        problems.append(problem)
        print(f"warning: {problem}\n", file=sys.stderr)

    def on_output(text: str) -> None:
        if not args.quiet:
            print(f"--- what your notebook printed ---\n{text.rstrip()}\n---", file=sys.stderr)

    def on_result(result) -> None:
        if not args.quiet:
            print(exercise_report(result) + "\n", flush=True)

    with IsolatedGrader(args.path, cells, limits, on_problem=on_problem, on_output=on_output) as grader:
        try:
            results = grader.grade_all(exercises, on_result=on_result)
        except RuntimeError as err:  # the grading tests themselves could not run
            raise NotGraded(str(err)) from None
    # leaving the block killed the student's processes and everything they started
    return results, f"{args.path.name} — chapter {chapter}", problems


def main(argv: Sequence[str] | None = None) -> int:
    """Grade a notebook as ``python -m lecturepkg.grading`` does; return the exit status."""
    parser = _parser()
    json_path = _json_target(argv)

    def not_graded(reason: str) -> int:
        print(f"{parser.prog}: could not grade: {reason}", file=sys.stderr)
        if json_path is not None:
            try:
                write_results(json_path, not_graded_json(reason))
            except OSError as err:
                print(f"{parser.prog}: cannot write {json_path}: {err}", file=sys.stderr)
        return EXIT_NOT_GRADED

    try:
        args = parser.parse_args(argv)
    except _UsageError as err:
        parser.print_usage(sys.stderr)
        return not_graded(str(err))
    try:
        with _termination_raises():
            results, title, problems = _grade(args)
    except NotGraded as err:
        return not_graded(str(err))
    except KeyboardInterrupt:
        return not_graded("grading was interrupted")
    except Exception as err:  # noqa: BLE001 - a bug of the grader's: no grade rather than a wrong one
        traceback.print_exc()
        return not_graded(f"the grader failed: {type(err).__name__}: {err}")
    print(f"{title}\n{score_table(results)}", flush=True)
    if args.json is not None:
        output = "Problems while running the notebook:\n\n" + "\n\n".join(problems) if problems else None
        try:
            write_results(args.json, gradescope_json(results, output))
        except OSError as err:
            print(f"{parser.prog}: cannot write {args.json}: {err}", file=sys.stderr)
            return EXIT_NOT_GRADED
    return EXIT_PASSED if all(r.passed for r in results) else EXIT_FAILED
