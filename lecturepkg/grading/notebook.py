"""A student's submission as code: the code cells of a notebook (``.ipynb``, jupytext ``.md``)
or a ``.py`` file, with IPython syntax (``%pip``, ``!ls``) translated to Python, and running
them one after the other in one namespace.

The command line grader reads the cells in its own process (reading a notebook runs none of
its code) and runs them in the student's process (:mod:`lecturepkg.grading.student_process`);
:func:`execute_submission` runs them in this process, for tests of the exercises notebooks.
"""

from __future__ import annotations

import linecache
import os
import pathlib
import re
import sys
from dataclasses import dataclass
from typing import Callable

from lecturepkg.grading.sandbox import GradingTimeout, student_traceback, time_limit

#: Set while a student's notebook is run for grading; check cells then do nothing, so that
#: each exercise is graded once, by the grader.
GRADER_ENV = "LECTUREPKG_GRADER"


class NotebookError(ValueError):
    """The submission cannot be read: not a notebook or a ``.py`` file, or a broken file."""


@dataclass(frozen=True)
class Cell:
    """One code cell: the name its tracebacks show, and its Python source."""

    filename: str
    source: str


class NoIPython:
    """Stands in for ``get_ipython()`` outside Jupyter: magics do nothing."""

    def run_line_magic(self, *args, **kwargs):
        return None

    run_cell_magic = system = getoutput = run_line_magic


def _translate(source: str) -> str:
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # plain Python without IPython: no magics to translate
        return source
    return TransformerManager().transform_cell(source)


def code_cells(path: pathlib.Path) -> list[Cell]:
    """The code cells of the notebook or ``.py`` file at ``path``, ready to run.

    Raises :class:`NotebookError` when the file cannot be read as a submission.
    """
    path = pathlib.Path(path)
    if path.suffix not in (".ipynb", ".md", ".py"):
        raise NotebookError(f"path must be a .ipynb, .md (jupytext) or .py file, got {path.name}")
    if not path.is_file():
        raise NotebookError(f"path: {path} does not exist or is not a file")
    try:
        if path.suffix == ".py":
            return [Cell(str(path), path.read_text())]
        if path.suffix == ".ipynb":
            import nbformat

            notebook = nbformat.read(path, as_version=4)
        else:
            import jupytext

            notebook = jupytext.read(path)
        sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
        return [Cell(f"<{path.name}, code cell {i}>", _translate(source))
                for i, source in enumerate(sources, start=1)]
    except NotebookError:
        raise
    except Exception as err:  # noqa: BLE001 - any reader error means: not gradable
        raise NotebookError(f"{path.name} cannot be read as a notebook: {type(err).__name__}: {err}") from None


def defined_functions(cells: list[Cell]) -> set[str]:
    """Names of the functions the cells define at the start of a line (``def name(``), read
    from the source without running it."""
    return {name for cell in cells for name in re.findall(r"^def\s+(\w+)\s*\(", cell.source, re.M)}


def execute_cells(cells: list[Cell], namespace: dict, *, cell_timeout: float | None = None,
                  on_cell: Callable[[int], None] | None = None) -> list[str]:
    """Run ``cells`` in order in ``namespace``; return one message per cell that failed.

    A cell that raises (even ``SystemExit`` or ``KeyboardInterrupt``) is reported and the next
    cells still run, as when a student runs all cells. ``cell_timeout`` interrupts a cell that
    runs too long (POSIX main thread only: the grader also limits the whole notebook from
    outside). ``on_cell(i)`` is called before cell ``i`` (from 1) runs.
    """
    problems: list[str] = []
    for index, cell in enumerate(cells, start=1):
        if on_cell is not None:
            on_cell(index)
        linecache.cache[cell.filename] = (len(cell.source), None, cell.source.splitlines(True), cell.filename)
        try:
            with time_limit(cell_timeout, f"code cell {index}"):
                exec(compile(cell.source, cell.filename, "exec"), namespace)  # noqa: S102 - grading
        except GradingTimeout as err:
            problems.append(str(err))
        except BaseException as err:  # noqa: BLE001 - reported, the other cells still run
            problems.append(f"code cell {index} raised {type(err).__name__}: {err}\n" + student_traceback(err))
    return problems


def new_namespace(path: pathlib.Path) -> dict:
    """The globals a submission's cells run in: ``__main__`` for a notebook, and a
    ``get_ipython`` whose magics do nothing."""
    return {"__name__": "submission" if pathlib.Path(path).suffix == ".py" else "__main__",
            "get_ipython": NoIPython}


def execute_submission(path: pathlib.Path, cell_timeout: float = 120.0) -> tuple[dict, list[str]]:
    """Run the submission's code cells in this process, with its folder on ``sys.path`` and
    check cells inert; return the namespace and a list of cell problems.

    For trusted notebooks (tests of the exercises pages): the command line grader runs a
    student's cells in a separate process instead.
    """
    path = pathlib.Path(path)
    cells = code_cells(path)
    namespace = new_namespace(path)
    os.environ.setdefault("MPLBACKEND", "Agg")
    previous = os.environ.get(GRADER_ENV)
    os.environ[GRADER_ENV] = "1"
    folder = str(path.parent.resolve())
    sys.path.insert(0, folder)
    try:
        problems = execute_cells(cells, namespace, cell_timeout=cell_timeout)
    finally:
        sys.path.remove(folder)
        if previous is None:
            os.environ.pop(GRADER_ENV, None)
        else:
            os.environ[GRADER_ENV] = previous
    return namespace, problems
