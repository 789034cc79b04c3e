"""The command line grader: ``python -m lecturepkg.grading NOTEBOOK_OR_PY [--json FILE]``.

It executes the student's notebook (its code cells, in order, in one namespace; IPython
syntax such as ``%pip`` is translated, check cells do nothing) or a ``.py`` file, then grades
every exercise of the chapter with the same tests as ``check``, prints a score table, and
exits with status 0 only if every test passed, so it can drive an autograder (GitHub
Classroom runs it and reads the status; ``--json`` writes a Gradescope ``results.json``).
"""

from __future__ import annotations

import argparse
import json
import linecache
import os
import pathlib
import sys
from typing import Sequence

from lecturepkg.grading.check import GRADER_ENV, grade_namespace
from lecturepkg.grading.exercises import EXERCISES, chapter_exercises
from lecturepkg.grading.report import gradescope_json
from lecturepkg.grading.sandbox import GradingTimeout, student_traceback, time_limit


class _NoIPython:
    """Stands in for ``get_ipython()`` outside Jupyter: magics do nothing."""

    def run_line_magic(self, *args, **kwargs):
        return None

    run_cell_magic = system = getoutput = run_line_magic


def _code_cells(path: pathlib.Path) -> list[str]:
    if path.suffix == ".py":
        return [path.read_text()]
    if path.suffix == ".ipynb":
        import nbformat

        notebook = nbformat.read(path, as_version=4)
    elif path.suffix == ".md":
        import jupytext

        notebook = jupytext.read(path)
    else:
        raise ValueError(f"path must be a .ipynb, .md (jupytext) or .py file, got {path.name}")
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def _translate(source: str) -> str:
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # plain Python without IPython: no magics to translate
        return source
    return TransformerManager().transform_cell(source)


def execute_submission(path: pathlib.Path, cell_timeout: float = 120.0) -> tuple[dict, list[str]]:
    """Run the student's code cells; return the namespace and a list of cell problems."""
    namespace: dict = {"__name__": "__main__" if path.suffix != ".py" else "submission",
                       "get_ipython": _NoIPython}
    problems: list[str] = []
    os.environ.setdefault("MPLBACKEND", "Agg")
    previous = os.environ.get(GRADER_ENV)
    os.environ[GRADER_ENV] = "1"
    sys.path.insert(0, str(path.parent.resolve()))
    try:
        for index, source in enumerate(_code_cells(path), start=1):
            filename = f"<{path.name}, code cell {index}>" if path.suffix != ".py" else str(path)
            text = _translate(source) if path.suffix != ".py" else source
            linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
            try:
                with time_limit(cell_timeout, f"code cell {index}"):
                    exec(compile(text, filename, "exec"), namespace)  # noqa: S102 - grading
            except GradingTimeout as err:
                problems.append(str(err))
            except BaseException as err:  # noqa: BLE001 - reported, grading goes on
                if isinstance(err, KeyboardInterrupt):
                    raise
                problems.append(f"code cell {index} raised {type(err).__name__}: {err}\n"
                                + student_traceback(err))
    finally:
        sys.path.remove(str(path.parent.resolve()))
        if previous is None:
            os.environ.pop(GRADER_ENV, None)
        else:
            os.environ[GRADER_ENV] = previous
    return namespace, problems


def _chapter_for(path: pathlib.Path, namespace: dict, chapter: str | None) -> str:
    chapters = sorted({e.chapter for e in EXERCISES.values()})
    if chapter is not None:
        return chapter
    if path.resolve().parent.name in chapters:
        return path.resolve().parent.name
    counts = {c: sum(callable(namespace.get(e.name)) for e in chapter_exercises(c)) for c in chapters}
    best = max(counts, key=counts.get)
    if counts[best] == 0:
        raise ValueError(f"none of the exercise functions of any chapter is defined in {path.name}; "
                         "name the chapter with --chapter")
    return best


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lecturepkg.grading",
        description="Grade a student's exercises notebook (.ipynb, jupytext .md) or .py file.")
    parser.add_argument("path", type=pathlib.Path, help="the student's notebook or .py file")
    parser.add_argument("--chapter", help="chapter folder, e.g. 01-convolution (default: inferred)")
    parser.add_argument("--json", type=pathlib.Path, help="write a Gradescope-style results.json here")
    parser.add_argument("--quiet", action="store_true", help="print only the score table")
    parser.add_argument("--cell-timeout", type=float, default=120.0,
                        help="seconds each notebook cell may run (default 120)")
    args = parser.parse_args(argv)
    if not args.path.exists():
        parser.error(f"path: {args.path} does not exist")
    try:
        namespace, problems = execute_submission(args.path, args.cell_timeout)
        chapter = _chapter_for(args.path, namespace, args.chapter)
    except ValueError as err:
        parser.error(str(err))
    for problem in problems:
        print(f"warning: {problem}\n", file=sys.stderr)
    results = grade_namespace(chapter, namespace, quiet=args.quiet,
                              title=f"{args.path.name} — chapter {chapter}")
    if args.json:
        args.json.write_text(json.dumps(gradescope_json(results), indent=2))
    return 0 if all(r.passed for r in results) else 1
