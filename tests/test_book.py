"""Every page executes without error (once, two at a time), the whole book builds from those
executions with Sphinx warnings as errors, and the built pages are what a reader needs: Colab
buttons that open notebooks in the repository, figures that fit the page, no widget state."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys
import time
import urllib.parse

import pytest
import yaml

from book_execution import TIMINGS, execute_pages
from notebook_files import ROOT, config, is_notebook_source, toc_files

# jupyter-book 1.x has no `python -m` entry point: use the console script beside this python
JUPYTER_BOOK = [str(pathlib.Path(sys.executable).with_name("jupyter-book"))]
PAGES = [ROOT / f"{entry}.md" for entry in toc_files() if is_notebook_source(ROOT / f"{entry}.md")]

# All tests of this module share one execution of the pages (module-scoped fixtures): the
# test command's `--dist loadfile` keeps a module on one xdist worker. (`loadgroup` with
# `xdist_group` marks does not group at all with pytest 9.2 and pytest-xdist 3.8.)


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Every page executed once, two at a time, into a jupyter-cache; {page: PageRun}."""
    from lecturepkg.output import STATIC_ENV

    cache = tmp_path_factory.mktemp("jupyter_cache")
    start = time.perf_counter()
    runs = execute_pages(PAGES, cache, {STATIC_ENV: "1"}, workers=2)
    wall = time.perf_counter() - start
    lines = [f"{run.seconds:7.1f} s  {run.page.relative_to(ROOT)}"
             + ("  FAILED" if run.error else "") for run in sorted(runs, key=lambda r: -r.seconds)]
    lines.append(f"{wall:7.1f} s  all {len(runs)} pages, two at a time")
    TIMINGS.parent.mkdir(exist_ok=True)
    TIMINGS.write_text("executing the pages:\n" + "\n".join(lines) + "\n")
    return cache, {run.page: run for run in runs}


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_page_executes_without_error(page, executed):
    _, runs = executed
    assert runs[page].error is None, f"{page.relative_to(ROOT)} failed:\n{runs[page].error}"


def _cache_records(cache_dir) -> set:
    from jupyter_cache import get_cache

    return {(r.pk, r.hashkey, r.created) for r in get_cache(str(cache_dir)).list_cache_records()}


@pytest.fixture(scope="module")
def built_html(executed, tmp_path_factory):
    """The book built with warnings as errors from the executed pages, without running them
    again (MyST-NB's cache mode reads the cache that ``executed`` filled)."""
    cache, runs = executed
    failed = [str(page.relative_to(ROOT)) for page, run in runs.items() if run.error]
    if failed:
        pytest.fail(f"pages failed to execute, so the book cannot build: {failed}")
    out = tmp_path_factory.mktemp("book")
    cfg = config()
    cfg["execute"].update(execute_notebooks="cache", cache=str(cache))
    cfg["bibtex_bibfiles"] = [str(ROOT / f) for f in cfg["bibtex_bibfiles"]]
    cfg["sphinx"]["local_extensions"] = {
        name: str(ROOT / path) for name, path in cfg["sphinx"].get("local_extensions", {}).items()}
    config_file = out / "_config.yml"
    config_file.write_text(yaml.safe_dump(cfg))
    before = _cache_records(cache)
    start = time.perf_counter()
    result = subprocess.run(
        [*JUPYTER_BOOK, "build", "--all", "--warningiserror", "--nitpick", "--keep-going",
         "--config", str(config_file), "--path-output", str(out), str(ROOT)],
        capture_output=True, text=True, cwd=ROOT,
    )
    with TIMINGS.open("a") as f:
        f.write(f"{time.perf_counter() - start:7.1f} s  jupyter-book build from the cache\n")
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"book build failed:\n{log[-6000:]}"
    # Sphinx prints "path:line: WARNING: message" (the kernel's "[IPKernelApp] WARNING |" is not one)
    assert not re.search(r"(^|: )WARNING: ", log, re.M), f"Sphinx warnings:\n{log[-6000:]}"
    assert _cache_records(cache) == before, "the build executed pages again instead of using the cache"
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
        # the collapsed boxes titled "Reference solution" (hints are collapsed boxes too)
        dropdowns = [block for block in html.split('<div class="dropdown admonition">')[1:]
                     if '<p class="admonition-title">Reference solution</p>' in block[:200]]
        assert len(dropdowns) == len(names), f"{chapter}: {len(dropdowns)} solution dropdowns for {len(names)} exercises"
        for name, block in zip(names, dropdowns):
            code = re.sub(r"<[^>]+>", "", block.split("</pre>")[0])
            assert f"def {name}(" in code, f"the dropdown of {name} does not show its solution"


def test_figures_fit_the_page_width(built_html):
    """The content column is about 750 px wide: a wider image is shrunk and its labels with it."""
    from PIL import Image

    images = sorted((built_html / "_images").glob("*.png"))
    assert images, "the book has no figures"
    too_wide = {p.name: Image.open(p).size[0] for p in images if Image.open(p).size[0] > 800}
    assert not too_wide, f"figures wider than 800 px (shrunk on the page): {too_wide}"


def test_pages_store_no_widget_state_and_show_text_progress_bars(built_html):
    for entry in toc_files():
        html = _page(built_html, entry)
        assert "application/vnd.jupyter.widget-state+json" not in html, f"{entry} embeds widget state"
        assert "application/vnd.jupyter.widget-view+json" not in html, f"{entry} embeds a widget"
    first_cnn = _page(built_html, "book/01-convolution/pytorch-first-cnn")
    assert re.search(r"epochs: 100%\|", first_cnn), "the training progress bar is not shown as text"
