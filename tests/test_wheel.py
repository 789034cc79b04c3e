"""The wheel a Colab student gets is complete: built from the repository and unpacked
elsewhere, it grades an exercises notebook in an empty folder, away from the repository (the
grading tests, reference solutions and vendored data ship inside it)."""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
import zipfile

import nbformat
import pytest

from notebook_files import BOOK, ROOT


@pytest.fixture(scope="module")
def unpacked_wheel(tmp_path_factory):
    dist = tmp_path_factory.mktemp("dist")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist),
                            str(ROOT)], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = dist.glob("lecturepkg-*.whl")
    site = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(site)
    for shipped in ("lecturepkg/grading/tests/ch01/test_correlate1d.py",
                    "lecturepkg/grading/solutions/ch01.py",
                    "lecturepkg/data/vendored/PROVENANCE.md"):
        assert shipped in names, f"the wheel lacks {shipped}"
    return site


def _grade(site, folder, notebook):
    env = {**os.environ, "PYTHONPATH": str(site), "MPLBACKEND": "Agg"}
    code = ("import lecturepkg, runpy, sys; print('FROM', lecturepkg.__file__); "
            "sys.argv = ['grade', *sys.argv[1:]]; "
            "runpy.run_module('lecturepkg.grading', run_name='__main__')")
    return subprocess.run([sys.executable, "-c", code, notebook.name, "--quiet", "--json", "r.json"],
                          cwd=folder, env=env, capture_output=True, text=True)


def test_the_wheel_grades_a_notebook_in_an_empty_folder(unpacked_wheel, tmp_path):
    from lecturepkg.grading.solutions import ch01

    stub = tmp_path / "student.ipynb"
    stub.write_text((BOOK / "01-convolution" / "exercises.ipynb").read_text())
    ran = _grade(unpacked_wheel, tmp_path, stub)
    assert f"FROM {unpacked_wheel}" in ran.stdout, "lecturepkg was not imported from the wheel"
    assert ran.returncode == 1 and re.search(r"total\s+0/46", ran.stdout), ran.stdout + ran.stderr

    solved = nbformat.read(stub, as_version=4)  # each stub's body replaced by the solution
    for cell in solved.cells:
        name = re.match(r"def (\w+)\(", cell.source) if cell.cell_type == "code" else None
        if name and hasattr(ch01, name[1]):
            cell.source = inspect.getsource(getattr(ch01, name[1]))
    nbformat.write(solved, stub)
    ran = _grade(unpacked_wheel, tmp_path, stub)
    assert ran.returncode == 0 and re.search(r"total\s+46/46", ran.stdout), ran.stdout + ran.stderr
    assert json.loads((tmp_path / "r.json").read_text())["score"] == 46
