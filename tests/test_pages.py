"""Static checks of the book's pages, read from their jupytext sources (nothing is executed).

Every chapter page that is a notebook (``book/0*/*.md`` with a ``kernelspec``, overview pages
included):

(a) opens with a "Before you start" admonition (right after the title, in the first markdown
    cell or the next one) saying what the reader needs, what they will be able to do, and
    "**Reading time:** about N minutes.", with N within a factor 2 of the page's words / 200;
(b) has no code line over 88 characters (the book wraps, but a page should not need it);
(c) asserts nothing about wall-clock time (a busy machine fails it; speed belongs in
    benchmarks);
(d) calls ``page_threads()`` in its first visible code cell, so every page runs torch the same
    way (one thread on small CPUs).

And the API reference (``book/api``) documents every public module of ``lecturepkg``.
"""

from __future__ import annotations

import math
import re

import jupytext
import pytest

from notebook_files import BOOK, ROOT, is_notebook_source

MAX_LINE = 88
WORDS_PER_MINUTE = 200
WALL_CLOCK_ASSERT = re.compile(r"assert[^\n]*\b(seconds|elapsed|duration|time)\b[^\n]*<")
HIDDEN_CODE_TAGS = {"remove-cell", "remove-input"}

PAGES = sorted(p for p in BOOK.glob("0*/*.md") if is_notebook_source(p))


def _name(page) -> str:
    return page.relative_to(ROOT).as_posix()


def _cells(page):
    return jupytext.read(page).cells


def _tags(cell) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def _source(cell) -> str:
    source = cell.source
    return "".join(source) if isinstance(source, list) else source


def test_there_are_pages_to_check():
    assert len(PAGES) >= 2, f"no chapter notebooks found under {BOOK}"


# ------------------------------------------------------------------------------------------
# (a) "Before you start", with a reading time that matches the page's length
# ------------------------------------------------------------------------------------------

ADMONITION = re.compile(
    r"^(?P<fence>:{3,}|`{3,})\{admonition\}[ \t]*Before you start[ \t]*\n"
    r"(?P<body>.*?)^(?P=fence)[ \t]*$",
    re.M | re.S,
)
READING_TIME = re.compile(r"\*\*Reading time:\*\*\s+about\s+(\d+)\s+minutes?\.")


def _opening(cells) -> str:
    """The markdown right after the page title: the rest of the title's cell, or the next
    markdown cell when the title stands alone."""
    markdown = [_source(c) for c in cells if c.cell_type == "markdown"]
    for i, text in enumerate(markdown):
        match = re.search(r"^# .*$", text, re.M)
        if match:
            rest = text[match.end():].strip()
            if rest:
                return rest
            return markdown[i + 1] if i + 1 < len(markdown) else ""
    return ""


def _reading_words(cells) -> int:
    """Words a reader reads: all markdown cells and the code cells the page shows."""
    words = 0
    for cell in cells:
        if cell.cell_type == "markdown" or (
            cell.cell_type == "code" and "remove-cell" not in _tags(cell)
        ):
            words += len(_source(cell).split())
    return words


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_page_opens_with_before_you_start(page):
    name = _name(page)
    cells = _cells(page)
    opening = _opening(cells)
    assert opening, f"{name}: no title ('# ...') followed by markdown"
    found = ADMONITION.search(opening)
    assert found, (
        f"{name}: the markdown after the title has no ':::{{admonition}} Before you start' "
        f"block (it begins: {opening[:120]!r})"
    )
    body = found.group("body")
    missing = [m for m in ("**You need:**", "**You will be able to:**") if m not in body]
    assert not missing, f"{name}: 'Before you start' lacks {', '.join(missing)}"
    minutes = READING_TIME.search(body)
    assert minutes, (
        f"{name}: 'Before you start' lacks '**Reading time:** about N minutes.' "
        f"(with N a number)"
    )
    stated = int(minutes.group(1))
    words = _reading_words(cells)
    expected = max(1, math.ceil(words / WORDS_PER_MINUTE))
    assert expected / 2 <= stated <= 2 * expected, (
        f"{name}: reading time says about {stated} minutes, but the page has {words} words "
        f"(markdown and shown code): about {expected} minutes at {WORDS_PER_MINUTE} words "
        f"per minute, so between {math.ceil(expected / 2)} and {2 * expected}"
    )


# ------------------------------------------------------------------------------------------
# (b) short code lines, (c) no wall-clock assertions
# ------------------------------------------------------------------------------------------


def _code_lines(cells):
    """(cell number among the page's code cells, line number in the cell, line)."""
    code_cells = [c for c in cells if c.cell_type == "code"]
    for n, cell in enumerate(code_cells, start=1):
        for i, line in enumerate(_source(cell).splitlines(), start=1):
            yield n, i, line


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_code_lines_fit_in_88_columns(page):
    long = [
        f"  code cell {n}, line {i} ({len(line)} characters): {line[:60]}..."
        for n, i, line in _code_lines(_cells(page))
        if len(line) > MAX_LINE
    ]
    assert not long, (
        f"{_name(page)}: {len(long)} code line(s) longer than {MAX_LINE} characters:\n"
        + "\n".join(long)
    )


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_no_wall_clock_assertions(page):
    found = [
        f"  code cell {n}, line {i}: {line.strip()}"
        for n, i, line in _code_lines(_cells(page))
        if WALL_CLOCK_ASSERT.search(line)
    ]
    assert not found, (
        f"{_name(page)}: asserts on wall-clock time, which fails on a busy machine "
        f"(put speed claims in a benchmark):\n" + "\n".join(found)
    )


# ------------------------------------------------------------------------------------------
# (d) page_threads() first
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_first_visible_code_cell_calls_page_threads(page):
    name = _name(page)
    visible = [
        c for c in _cells(page) if c.cell_type == "code" and not (_tags(c) & HIDDEN_CODE_TAGS)
    ]
    assert visible, f"{name}: no visible code cell"
    first = _source(visible[0])
    assert re.search(r"\bpage_threads\(", first), (
        f"{name}: the first visible code cell does not call page_threads() "
        f"(it begins: {first[:120]!r})"
    )


# ------------------------------------------------------------------------------------------
# The API reference covers the package
# ------------------------------------------------------------------------------------------


def _public_modules() -> list[str]:
    """Every public module of lecturepkg, from the file tree (nothing imported). Left out: the
    grading tests and reference solutions (shipped, shown on the exercises pages), entry points
    (``__main__``) and the scripts that extracted the vendored data."""
    package = ROOT / "lecturepkg"
    modules = []
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if any(p.startswith("_") for p in parts[1:]) or parts[-1] == "__main__":
            continue
        dotted = ".".join(parts)
        if re.match(r"lecturepkg\.(grading\.(tests|solutions)|data\.vendored)\b", dotted):
            continue
        modules.append(dotted)
    return modules


def test_api_reference_documents_every_public_module():
    api = "\n".join(p.read_text() for p in sorted((BOOK / "api").glob("*.md")))
    documented = set(re.findall(r"^\.\. automodule:: (\S+)", api, re.M))
    missing = [m for m in _public_modules() if m not in documented]
    assert not missing, (
        "book/api has no '.. automodule::' for these modules (add a section to the page of "
        f"their subpackage): {', '.join(missing)}"
    )
