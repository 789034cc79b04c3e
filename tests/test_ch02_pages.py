"""Reader-facing conventions of the chapter-2 pages, checked on their MyST sources.

These checks read the `.md` sources only (nothing is executed): each page opens with a
"Before you start" note whose reading time fits the page, calls ``page_threads()`` in its
setup cell, leaves the thread count alone afterwards, collapses its exhaustive checks, and
keeps its figures and code lines within the page's width.
"""

from __future__ import annotations

import ast
import math
import re

import jupytext
import pytest

from notebook_files import BOOK

CHAPTER = BOOK / "02-typology"
PAGES = ["index", "conv1d", "conv3d", "dilated-causal", "separable", "transposed", "exercises"]
LECTURES = [p for p in PAGES if p != "exercises"]  # the exercises' stubs are not checked here

OPENER = re.compile(  # no DOTALL: "." stops at line ends, so nothing backtracks far
    r"# [^\n]+\n\n"
    r":::\{admonition\} Before you start\n"
    r"\*\*You need:\*\* (?P<need>[^\n]+\n(?:[^\n]+\n)*)\n"
    r"\*\*You will be able to:\*\*\n(?P<outcomes>(?:- [^\n]+\n(?:  [^\n]+\n)*)+)\n"
    r"\*\*Reading time:\*\* about (?P<minutes>\d+) minutes\.\n"
    r":::\n"
)


def read(page: str):
    return jupytext.read(CHAPTER / f"{page}.md")


def code_cells(nb, *, visible_only=False):
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if visible_only and "remove-cell" in cell.metadata.get("tags", []):
            continue
        yield cell


def words(nb) -> int:
    """Words a reader meets: markdown cells and code cells that are not removed."""
    return sum(len(cell.source.split()) for cell in nb.cells
               if cell.cell_type == "markdown"
               or (cell.cell_type == "code" and "remove-cell" not in cell.metadata.get("tags", [])))


@pytest.mark.parametrize("page", PAGES)
def test_page_opens_with_what_it_assumes_and_promises(page):
    text = (CHAPTER / f"{page}.md").read_text().split("---\n", 2)[2].lstrip("\n")
    match = OPENER.match(text)
    assert match, f"{page}.md: no 'Before you start' admonition right after the title"
    assert "{doc}`" in match["need"], f"{page}.md: 'You need' links no earlier page"
    outcomes = re.findall(r"^- ", match["outcomes"], re.MULTILINE)
    assert 3 <= len(outcomes) <= 5, f"{page}.md: {len(outcomes)} outcomes, expected 3 to 5"
    expected = math.ceil(words(read(page)) / 200)
    stated = int(match["minutes"])
    assert expected / 2 <= stated <= 2 * expected, (
        f"{page}.md: reading time {stated} min, but {words(read(page))} words suggest "
        f"about {expected}")


def test_overview_has_its_own_title():
    titles = {page: (CHAPTER / f"{page}.md").read_text().split("\n# ", 1)[1].split("\n")[0]
              for page in PAGES}
    assert "overview" in titles["index"].lower()
    assert len(set(titles.values())) == len(titles), titles


@pytest.mark.parametrize("page", PAGES)
def test_setup_cell_sets_the_page_threads(page):
    first = next(code_cells(read(page), visible_only=True)).source
    lines = [line.strip() for line in first.splitlines()]
    assert "device = get_device()" in lines, f"{page}.md: setup cell has no get_device()"
    after = lines[lines.index("device = get_device()") + 1]
    assert "page_threads()" in after and after.startswith("print("), (
        f"{page}.md: the line after get_device() should print page_threads(), got {after!r}")


@pytest.mark.parametrize("page", PAGES)
def test_no_page_wide_thread_juggling(page):
    for cell in code_cells(read(page)):
        assert "set_num_threads" not in cell.source, f"{page}.md sets the thread count itself"


@pytest.mark.parametrize("page", PAGES)
def test_no_wall_clock_assertion(page):
    for cell in code_cells(read(page)):
        # IPython magics are not Python: read them as `pass`
        source = re.sub(r"^(\s*)[%!].*$", r"\1pass", cell.source, flags=re.MULTILINE)
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Assert):
                names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
                assert not names & {"seconds", "start", "runs", "elapsed"}, (
                    f"{page}.md asserts on a timing: {ast.unparse(node)}")


@pytest.mark.parametrize("page", PAGES)
def test_collapsed_checks_say_what_they_check(page):
    for cell in code_cells(read(page)):
        if "hide-input" in cell.metadata.get("tags", []):
            assert cell.source.startswith("# Check: "), (
                f"{page}.md: a hide-input cell starts with {cell.source.splitlines()[0]!r}")


@pytest.mark.parametrize("page", PAGES)
def test_corrections_of_the_notes_are_collapsed(page):
    text = (CHAPTER / f"{page}.md").read_text()
    for block in re.findall(r":::\{admonition\} A correction to the lecture notes\n(.*?):::",
                            text, re.DOTALL):
        assert block.startswith(":class: dropdown\n"), f"{page}.md: correction not collapsed"


@pytest.mark.parametrize("page", LECTURES)
def test_code_lines_fit_the_page(page):
    for cell in code_cells(read(page), visible_only=True):
        for line in cell.source.splitlines():
            assert len(line) <= 88, f"{page}.md: code line of {len(line)} characters: {line}"


@pytest.mark.parametrize("page", PAGES)
def test_figures_are_at_most_page_wide(page):
    for cell in code_cells(read(page)):
        for width in re.findall(r"figsize=\(\s*([0-9.]+)\s*,", cell.source):
            assert float(width) <= 7.5, f"{page}.md: a figure {width} inches wide"


def test_the_checks_can_fail(tmp_path):
    """The opener pattern rejects a page without one, and the word count is what the
    reading time is compared with."""
    assert not OPENER.match("# Title\n\nSome prose.\n")
    assert OPENER.match(
        "# Title\n\n:::{admonition} Before you start\n**You need:** {doc}`x`.\n\n"
        "**You will be able to:**\n- a;\n- b;\n- c.\n\n"
        "**Reading time:** about 1 minutes.\n:::\n")
    page = tmp_path / "p.md"
    page.write_text("# T\n\none two three\n\n```{code-cell} ipython3\n:tags: [remove-cell]\n"
                    "x = 1\n```\n\n```{code-cell} ipython3\ny = 2\n```\n")
    assert words(jupytext.read(page)) == 2 + 3 + 3  # "# T", the prose, "y = 2"
