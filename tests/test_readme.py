"""The README's two commands are the ones the project really uses.

Nothing here restates a command: the test command is read from ``.ci/run`` and must appear
in the README; the build command is read from the README and checked against the project
(the same environment set-up as CI, ``jupyter-book build --all`` on the folder that holds the
book's configuration).
"""

import re
import shlex

from notebook_files import ROOT


def _ci_command() -> str:
    lines = [l for l in (ROOT / ".ci" / "run").read_text().splitlines()
             if l.strip() and not l.startswith("#") and not l.startswith(("set ", "cd "))]
    assert len(lines) == 1, f".ci/run should run exactly one command, found {lines}"
    return lines[0]


def _readme_commands() -> list[str]:
    """The one-line commands of the README's bash blocks."""
    readme = (ROOT / "README.md").read_text()
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", readme, re.S)
            if "\n" not in block.strip()]


def _steps(command: str) -> list[list[str]]:
    return [shlex.split(step) for step in command.split("&&")]


def test_ci_runs_the_readme_test_command():
    command = _ci_command()
    runs_pytest = [c for c in _readme_commands() if "pytest" in c]
    assert runs_pytest == [command], (
        f"the README's test command {runs_pytest} is not what .ci/run runs ({command!r})")
    *_, test_step = _steps(command)
    if "-n" in test_step:  # parallel workers need pytest-xdist, pinned with the rest
        requirements = (ROOT / "requirements.txt").read_text().splitlines()
        assert any(r.startswith("pytest-xdist==") for r in requirements)


def test_readme_build_command_builds_the_whole_book_into_build_html():
    builds = [c for c in _readme_commands() if "jupyter-book" in c]
    assert len(builds) == 1, f"expected one build command in the README, found {builds}"
    *setup, build = _steps(builds[0])
    *ci_setup, _ = _steps(_ci_command())
    assert setup == ci_setup, "the build sets up .venv as CI does"
    assert build[0].endswith("jupyter-book") and build[1] == "build" and "--all" in build
    book_dir = ROOT / build[-1]
    assert (book_dir / "_config.yml").exists() and (book_dir / "_toc.yml").exists()
    assert "-e ." in (ROOT / "requirements.txt").read_text().splitlines()
