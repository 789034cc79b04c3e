"""The whole book builds with Sphinx warnings as errors, every page executed, and the built
pages' Colab buttons open notebooks that exist in the repository."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys
import time
import urllib.parse

import pytest

from notebook_files import ROOT, config, is_notebook_source, toc_files

# jupyter-book 1.x has no `python -m` entry point: use the console script beside this python
JUPYTER_BOOK = [str(pathlib.Path(sys.executable).with_name("jupyter-book"))]


@pytest.fixture(scope="module")
def built_html(tmp_path_factory):
    out = tmp_path_factory.mktemp("book")
    start = time.perf_counter()
    result = subprocess.run(
        [*JUPYTER_BOOK, "build", "--all", "--warningiserror", "--nitpick", "--keep-going",
         "--path-output", str(out), str(ROOT)],
        capture_output=True, text=True, cwd=ROOT,
    )
    elapsed = time.perf_counter() - start
    print(f"\njupyter-book build took {elapsed:.0f} s")
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"book build failed:\n{log[-6000:]}"
    # Sphinx prints "path:line: WARNING: message" (the kernel's "[IPKernelApp] WARNING |" is not one)
    assert not re.search(r"(^|: )WARNING: ", log, re.M), f"Sphinx warnings:\n{log[-6000:]}"
    return out / "_build" / "html"


def _page(html_dir, entry: str) -> str:
    return (html_dir / f"{entry}.html").read_text()


def test_every_toc_page_is_built(built_html):
    for entry in toc_files():
        assert (built_html / f"{entry}.html").exists(), f"{entry}.html missing from the build"


def test_no_error_output_in_any_cell(built_html):
    for entry in toc_files():
        html = _page(built_html, entry)
        for marker in ("Traceback (most recent call last)", "output error", "output traceback"):
            assert marker not in html, f"{entry}.html shows an error output ({marker!r})"


def test_colab_buttons_point_at_committed_notebooks(built_html):
    repo = urllib.parse.urlparse(config()["repository"]["url"]).path.strip("/")
    branch = config()["repository"]["branch"]
    checked = 0
    for entry in toc_files():
        html = _page(built_html, entry)
        links = set(re.findall(r'href="(https://colab\.research\.google\.com/[^"]+)"', html))
        if not is_notebook_source(ROOT / f"{entry}.md"):
            continue
        assert links, f"{entry}.html has no Colab button"
        for link in links:
            prefix = f"https://colab.research.google.com/github/{repo}/blob/{branch}/"
            assert link.startswith(prefix), f"unexpected Colab link {link}"
            target = ROOT / urllib.parse.unquote(link[len(prefix):])
            assert target.suffix == ".ipynb", f"Colab link of {entry} opens {target.name}, not an .ipynb"
            assert target.exists(), f"Colab link of {entry} points at missing {target}"
            checked += 1
    assert checked >= 4


def test_status_page_reports_environment_and_timings(built_html):
    html = _page(built_html, "book/status")
    assert "torchvision" in html and "jupyter-book" in html
    for entry in toc_files():
        if is_notebook_source(ROOT / f"{entry}.md"):
            assert entry in html, f"status page has no execution time for {entry}"


def test_exercises_pages_show_each_reference_solution_in_a_dropdown(built_html):
    from lecturepkg.grading import EXERCISES

    chapters = sorted({e.chapter for e in EXERCISES.values()})
    for chapter in chapters:
        html = _page(built_html, f"book/{chapter}/exercises")
        names = [e.name for e in EXERCISES.values() if e.chapter == chapter]
        dropdowns = html.split('<div class="dropdown admonition">')[1:]
        assert len(dropdowns) == len(names), f"{chapter}: {len(dropdowns)} dropdowns for {len(names)} exercises"
        for name, block in zip(names, dropdowns):
            code = re.sub(r"<[^>]+>", "", block.split("</pre>")[0])
            assert f"def {name}(" in code, f"the dropdown of {name} does not show its solution"
