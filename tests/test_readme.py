"""The README's two commands are the ones the project really uses."""

from notebook_files import ROOT


def _ci_command() -> str:
    lines = [l for l in (ROOT / ".ci" / "run").read_text().splitlines()
             if l.strip() and not l.startswith("#") and not l.startswith(("set ", "cd "))]
    assert len(lines) == 1, f".ci/run should run exactly one command, found {lines}"
    return lines[0]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    command = _ci_command()
    assert f"```bash\n{command}\n```" in readme, f"README does not show the CI command {command!r}"
    assert command.endswith("pytest -n 2 --dist loadfile"), "both cores; each test module (the book's) on one worker"


def test_readme_build_command_builds_the_whole_book_into_build_html():
    readme = (ROOT / "README.md").read_text()
    build = "python3.11 -m venv .venv && .venv/bin/pip install -q -r requirements.txt && .venv/bin/jupyter-book build --all ."
    assert f"```bash\n{build}\n```" in readme
    assert "-e ." in (ROOT / "requirements.txt").read_text().splitlines()
