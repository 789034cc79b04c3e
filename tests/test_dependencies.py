"""The package declares what it imports, with lower bounds that admit what Colab ships.

A Colab student installs ``lecturepkg`` as a wheel with ``pip``: whatever the package imports
(at the top of a module or lazily inside a function, in the grading tests it ships too) must
be a declared dependency, or the exercises crash on a fresh install. The check reads the
imports with ``ast``, maps each top-level module to the distribution that provides it
(``importlib.metadata.packages_distributions``) and compares with ``[project] dependencies``
in ``pyproject.toml`` (read from the source, so a stale editable install cannot hide a change).

Also here: the package shows progress only through :func:`lecturepkg.output.progress`, which
gives plain text in the static book and tqdm's auto bar elsewhere.
"""

from __future__ import annotations

import ast
import importlib.metadata
import io
import pathlib
import sys

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

import lecturepkg
from lecturepkg.output import STATIC_ENV, progress

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = pathlib.Path(lecturepkg.__file__).resolve().parent

# What Google Colab ships (its default runtime, late 2024 / 2025): the declared lower bounds
# must admit every one, so that installing lecturepkg there upgrades nothing.
COLAB = {
    "ipywidgets": "7.7.1",
    "numpy": "1.26.4",
    "torch": "2.5.1+cu121",
    "torchvision": "0.20.1+cu121",
    "pytest": "7.4.4",
    "matplotlib": "3.8.0",
    "tqdm": "4.66.6",
    "scipy": "1.13.1",
    "scikit-learn": "1.5.2",
    "scikit-image": "0.24.0",
    "nbformat": "5.10.4",
    "ipython": "7.34.0",
    "threadpoolctl": "3.5.0",
}
# Declared but not on Colab: pip installs them there (pure Python, no upgrade of the above).
NOT_ON_COLAB = {"jupytext"}


# ----------------------------------------------------------------------------- checker


def declared_requirements(pyproject: pathlib.Path = ROOT / "pyproject.toml") -> list[Requirement]:
    """The ``[project] dependencies`` of ``pyproject``, parsed."""
    with open(pyproject, "rb") as f:
        project = tomllib.load(f)["project"]
    return [Requirement(line) for line in project["dependencies"]]


def shipped_sources(package: pathlib.Path = PACKAGE) -> list[pathlib.Path]:
    """The ``.py`` files of the package that a wheel ships: those in directories that are
    packages (an ``__init__.py`` in each directory up to the package root), as setuptools'
    package discovery finds them. Maintainer scripts in plain folders (``data/vendored``)
    are left out."""
    files = []
    for path in sorted(package.rglob("*.py")):
        folders = path.relative_to(package).parents
        if all((package / folder / "__init__.py").is_file() for folder in folders):
            files.append(path)
    return files


def third_party_imports(path: pathlib.Path) -> dict[str, int]:
    """Top-level module -> first line number, for every absolute import in ``path`` (also
    inside functions and ``try`` blocks) that is neither stdlib nor ``lecturepkg``."""
    found: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:  # relative imports stay inside the package
            continue
        for name in names:
            top = name.split(".")[0]
            if top in sys.stdlib_module_names or top in ("__future__", "lecturepkg"):
                continue
            found[top] = min(found.get(top, node.lineno), node.lineno)
    return found


def undeclared_imports(files, requirements) -> list[str]:
    """One message per import in ``files`` whose distribution is not among ``requirements``."""
    declared = {canonicalize_name(req.name) for req in requirements}
    providers = importlib.metadata.packages_distributions()
    problems = []
    for path in files:
        for module, line in sorted(third_party_imports(path).items()):
            where = f"{path}:{line}"
            dists = {canonicalize_name(d) for d in providers.get(module, [])}
            if not dists:
                problems.append(f"{where}: module {module!r} comes from no installed "
                                f"distribution")
            elif not dists & declared:
                problems.append(f"{where}: module {module!r} (distribution "
                                f"{', '.join(sorted(dists))}) is not declared in "
                                f"pyproject.toml [project] dependencies")
    return problems


# ------------------------------------------------------------------------------- tests


def test_every_import_of_the_package_is_declared():
    files = shipped_sources()
    assert PACKAGE / "grading" / "runner.py" in files
    assert any("grading/tests" in f.as_posix() for f in files)  # shipped, run on Colab
    problems = undeclared_imports(files, declared_requirements())
    assert not problems, "\n".join(problems)


def test_checker_flags_an_undeclared_import(tmp_path):
    source = tmp_path / "student_helper.py"
    source.write_text(
        "from __future__ import annotations\n"
        "import os, json\n"
        "import numpy as np\n"
        "from . import sibling\n"
        "from lecturepkg.output import progress\n"
        "\n"
        "def load(path):\n"
        "    import yaml  # lazy, inside a function\n"
        "    return yaml.safe_load(path)\n"
        "\n"
        "try:\n"
        "    import surely_no_such_module_xyz\n"
        "except ImportError:\n"
        "    pass\n"
    )
    assert set(third_party_imports(source)) == {"numpy", "yaml", "surely_no_such_module_xyz"}
    problems = undeclared_imports([source], declared_requirements())
    assert len(problems) == 2, problems
    yaml_problem, missing_problem = sorted(problems, key=lambda p: "yaml" not in p)
    assert f"{source}:8" in yaml_problem and "'yaml'" in yaml_problem
    assert "pyyaml" in yaml_problem
    assert "'surely_no_such_module_xyz'" in missing_problem and f"{source}:12" in missing_problem
    # declaring the distribution makes the complaint go away
    assert len(undeclared_imports([source], [*declared_requirements(),
                                             Requirement("PyYAML>=5")])) == 1


def test_maintainer_scripts_are_not_shipped():
    skipped = set(PACKAGE.rglob("*.py")) - set(shipped_sources())
    assert all(p.parent.name == "vendored" for p in skipped), skipped


def test_declared_lower_bounds_admit_what_colab_ships():
    for req in declared_requirements():
        name = canonicalize_name(req.name)
        assert all(spec.operator == ">=" for spec in req.specifier), (
            f"{req}: only loose lower bounds, so installing on Colab upgrades nothing")
        if name in NOT_ON_COLAB:
            continue
        assert name in COLAB, f"{req.name}: add Colab's version to the table in this test"
        assert req.specifier.contains(Version(COLAB[name])), (
            f"{req} would upgrade Colab's {req.name} {COLAB[name]}")


def test_colab_table_check_can_fail():
    assert not Requirement("ipywidgets>=8.0").specifier.contains(Version(COLAB["ipywidgets"]))
    assert Requirement("torch>=2.0").specifier.contains(Version(COLAB["torch"]))


# ------------------------------------------------------------------------ progress bars


def test_only_output_imports_tqdm():
    importers = [str(path.relative_to(ROOT)) for path in shipped_sources()
                 if "tqdm" in third_party_imports(path)]
    assert importers == ["lecturepkg/output.py"], (
        "show progress with lecturepkg.output.progress, not tqdm directly")


def test_progress_is_plain_text_in_the_static_book(monkeypatch, capsys):
    import tqdm.std

    monkeypatch.setenv(STATIC_ENV, "1")
    stream = io.StringIO()
    bar = progress(range(3), desc="epochs", file=stream)
    assert type(bar) is tqdm.std.tqdm  # not a widget
    assert list(bar) == [0, 1, 2]
    assert "epochs" in stream.getvalue() and "3/3" in stream.getvalue()
    assert list(progress(range(2), desc="steps")) == [0, 1]  # by default on stdout
    assert "steps" in capsys.readouterr().out


@pytest.mark.parametrize("value", [None, "0", ""])
def test_progress_is_the_auto_bar_elsewhere(monkeypatch, value):
    import tqdm.auto

    if value is None:
        monkeypatch.delenv(STATIC_ENV, raising=False)
    else:
        monkeypatch.setenv(STATIC_ENV, value)
    stream = io.StringIO()
    bar = progress(total=2, file=stream)
    assert type(bar) is tqdm.auto.tqdm  # tqdm's widget bar in Jupyter and Colab
    bar.update(2)
    bar.close()
    assert "2/2" in stream.getvalue()
