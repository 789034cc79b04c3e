"""Notebooks for the grading tests, and the command line grader run on them.

``solved_notebook`` writes a small exercises notebook for one chapter: each exercise function is
the reference solution's source unless replaced, each followed by its check cell, with extra
cells before or after. ``solve_exercises_page`` replaces the stubs of a book's exercises notebook
by the reference solutions. ``grade`` runs ``python -m lecturepkg.grading`` on a notebook, checks
that its exit status, its score table and its results.json agree and that none of the processes
it started is left, and returns what it printed and wrote.
"""

from __future__ import annotations

import inspect
import json
import os
import pathlib
import re
import subprocess
import sys
import uuid
from dataclasses import dataclass

import nbformat

from lecturepkg.grading import chapter_exercises

HEADER = "import numpy as np\nimport torch\nfrom lecturepkg.grading import check, check_chapter"
_ROW = re.compile(r"^(\w+)\s+(\d+)/(\d+)\s+([\d.]+)/([\d.]+)\s+([✓✗])\s*$", re.M)
_TOTAL = re.compile(r"^total\s+([\d.]+)/([\d.]+)\s*$", re.M)


def write_notebook(path: pathlib.Path, cells: list[str]) -> pathlib.Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def solved_notebook(path: pathlib.Path, chapter: str = "01-convolution", overrides: dict | None = None,
                    before: tuple[str, ...] = (), after: tuple[str, ...] = ()) -> pathlib.Path:
    """A notebook defining every exercise of ``chapter`` (reference source unless in
    ``overrides``, name -> source), each followed by its check cell, ending with
    ``check_chapter``; ``before`` cells come after the imports, ``after`` cells at the end."""
    overrides = overrides or {}
    cells = [HEADER, *before]
    for exercise in chapter_exercises(chapter):
        cells.append(overrides.get(exercise.name) or inspect.getsource(exercise.reference_function()))
        cells.append(f"check({exercise.name!r}, {exercise.name})")
    cells += [*after, f"check_chapter({chapter!r})"]
    return write_notebook(path, cells)


def solve_exercises_page(notebook: pathlib.Path, chapter: str, path: pathlib.Path) -> pathlib.Path:
    """A copy of a book's exercises notebook with each stub replaced by the reference solution."""
    nb = nbformat.read(notebook, as_version=4)
    replaced = set()
    for cell in nb.cells:
        for exercise in chapter_exercises(chapter):
            if cell.cell_type == "code" and re.search(rf"^def {exercise.name}\(", cell.source, re.M):
                cell.source = "import numpy as np\n\n" + inspect.getsource(exercise.reference_function())
                replaced.add(exercise.name)
    assert replaced == {e.name for e in chapter_exercises(chapter)}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@dataclass
class Graded:
    """What the command line grader did: exit status, stdout, stderr, results.json, and the
    score table read back (exercise -> (points, max points))."""

    code: int
    out: str
    err: str
    results: dict
    table: dict[str, tuple[float, float]]

    def points(self, exercise: str) -> float:
        return self.table[exercise][0]

    def full(self, exercise: str) -> bool:
        return self.table[exercise][0] == self.table[exercise][1] > 0

    def messages(self, exercise: str) -> list[str]:
        return [t["output"] for t in self.results["tests"] if t["name"].startswith(f"{exercise}: ")]


def _marked_processes(marker: str) -> list[str]:
    """Living processes (Linux) whose environment carries ``marker``: those the grader started."""
    found = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc/self") else []:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                environ = f.read()
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode("ascii", "replace")
        except OSError:
            continue
        if marker.encode() in environ and stat[stat.rfind(")") + 2] != "Z":
            found.append(f"{entry}: {stat[:80]}")
    return found


def grade(path: pathlib.Path, *args: str, json_path: pathlib.Path | None = None, timeout: float = 300,
          agree: bool = True) -> Graded:
    """Run the command line grader on ``path`` with ``args`` (``--json`` added); check that the
    exit status, the table and results.json agree, and that no process it started is left."""
    json_path = json_path or path.with_name(path.stem + "-results.json")
    marker = f"LECTUREPKG_TEST_MARKER={uuid.uuid4().hex}"
    env = {**os.environ, marker.split("=")[0]: marker.split("=")[1]}
    env.pop("LECTUREPKG_GRADER", None)
    ran = subprocess.run([sys.executable, "-m", "lecturepkg.grading", str(path), "--json", str(json_path), *args],
                         capture_output=True, text=True, timeout=timeout, env=env)
    left = _marked_processes(marker)
    assert not left, f"processes left behind by the grader: {left}"
    results = json.loads(json_path.read_text())
    table = {m[1]: (float(m[4]), float(m[5])) for m in _ROW.finditer(ran.stdout)}
    graded = Graded(ran.returncode, ran.stdout, ran.stderr, results, table)
    if agree and ran.returncode != 2:
        total = _TOTAL.search(ran.stdout)
        assert total, ran.stdout + ran.stderr
        assert results["score"] == float(total[1]), (results["score"], ran.stdout)
        for exercise, (points, maximum) in table.items():
            tests = [t for t in results["tests"] if t["name"].startswith(f"{exercise}: ")]
            assert sum(t["score"] for t in tests) == points and sum(t["max_score"] for t in tests) == maximum
        assert sum(t["score"] for t in results["tests"]) == results["score"]
        all_passed = all(t["status"] == "passed" for t in results["tests"])
        assert ran.returncode == (0 if all_passed else 1), (ran.returncode, ran.stdout, ran.stderr[-2000:])
    return graded
