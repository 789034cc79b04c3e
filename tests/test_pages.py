"""Static checks of the book's pages, read from their jupytext sources (nothing is executed).

Every chapter page that is a notebook (``book/0*/*.md`` with a ``kernelspec``, overview pages
included):

(a) opens with a "Before you start" admonition (right after the title, in the first markdown
    cell or the next one) saying what the reader needs (linking an earlier page with
    ``{doc}``, except on the course's first page), what they will be able to do (3 to 5
    outcomes), and "**Reading time:** about N minutes.", with N within a factor 2 of the
    page's words / 200;
(b) has no code line over 88 characters (the book wraps, but a page should not need it);
(c) asserts nothing about wall-clock time (a busy machine fails it; speed belongs in
    benchmarks);
(d) calls ``get_device()`` and ``page_threads()`` in its first visible code cell, so every
    page runs torch the same way (one thread on small CPUs), and never changes the thread
    count for the rest of the page (no ``torch.set_num_threads``; ``torch_threads`` only as
    a ``with`` block, which restores the count);
(e) starts every collapsed (``hide-input``) code cell with a ``# Check:`` comment saying
    what it checks;
(f) collapses its corrections of the lecture notes (``:class: dropdown``);
(g) draws no figure wider than the page (``figsize`` width <= 7.5 inches).

Every chapter's overview page (``index.md``) has a title saying it is the overview, and no
two pages of a chapter share a title. The API reference (``book/api``) documents every
public module of ``lecturepkg``. ``test_the_checks_can_fail`` runs the checks on a doctored
page and chapter.
"""

from __future__ import annotations

import ast
import math
import re

import jupytext
import pytest

from notebook_files import BOOK, ROOT, is_notebook_source, toc_files

MAX_LINE = 88
WORDS_PER_MINUTE = 200
WALL_CLOCK_ASSERT = re.compile(r"assert[^\n]*\b(seconds|elapsed|duration|time)\b[^\n]*<")
TIMING_NAMES = {"seconds", "elapsed", "duration", "start", "runs", "time"}
HIDDEN_CODE_TAGS = {"remove-cell", "remove-input"}
MAX_FIGURE_WIDTH = 7.5  # inches: the width of the book's text column

PAGES = sorted(p for p in BOOK.glob("0*/*.md") if is_notebook_source(p))
CHAPTERS = sorted(p for p in BOOK.glob("0*") if p.is_dir())


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
    assert CHAPTERS, f"no chapter folders found under {BOOK}"


def _first_page() -> str | None:
    """The course's first chapter notebook in the table of contents: the one page whose
    "You need" has no earlier page to link."""
    pages = {_name(p).removesuffix(".md") for p in PAGES}
    return next((f"{f}.md" for f in toc_files() if f in pages), None)


# ------------------------------------------------------------------------------------------
# (a) "Before you start", with a reading time that matches the page's length
# ------------------------------------------------------------------------------------------

ADMONITION = re.compile(
    r"^(?P<fence>:{3,}|`{3,})\{admonition\}[ \t]*Before you start[ \t]*\n"
    r"(?P<body>.*?)^(?P=fence)[ \t]*$",
    re.M | re.S,
)
NEED = re.compile(r"\*\*You need:\*\*(?P<need>.*?)(?=\*\*You will be able to:\*\*|\Z)", re.S)
OUTCOMES = re.compile(r"\*\*You will be able to:\*\*(?P<outcomes>.*?)(?=\*\*Reading|\Z)", re.S)
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


def _opener_problems(cells, *, first_page: bool) -> list[str]:
    """What the page's "Before you start" lacks (the first problem found), or []."""
    opening = _opening(cells)
    if not opening:
        return ["no title ('# ...') followed by markdown"]
    found = ADMONITION.search(opening)
    if not found:
        return [
            "the markdown after the title has no ':::{admonition} Before you start' "
            f"block (it begins: {opening[:120]!r})"
        ]
    body = found.group("body")
    missing = [m for m in ("**You need:**", "**You will be able to:**") if m not in body]
    if missing:
        return [f"'Before you start' lacks {', '.join(missing)}"]
    if not first_page and "{doc}`" not in NEED.search(body).group("need"):
        return ["'You need' links no earlier page (a {doc}`...` role)"]
    outcomes = re.findall(r"^\s*[-*] ", OUTCOMES.search(body).group("outcomes"), re.M)
    if not 3 <= len(outcomes) <= 5:
        return [f"'You will be able to' lists {len(outcomes)} outcome(s), expected 3 to 5"]
    minutes = READING_TIME.search(body)
    if not minutes:
        return ["'Before you start' lacks '**Reading time:** about N minutes.' (N a number)"]
    stated = int(minutes.group(1))
    words = _reading_words(cells)
    expected = max(1, math.ceil(words / WORDS_PER_MINUTE))
    if not expected / 2 <= stated <= 2 * expected:
        return [
            f"reading time says about {stated} minutes, but the page has {words} words "
            f"(markdown and shown code): about {expected} minutes at {WORDS_PER_MINUTE} "
            f"words per minute, so between {math.ceil(expected / 2)} and {2 * expected}"
        ]
    return []


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_page_opens_with_before_you_start(page):
    name = _name(page)
    problems = _opener_problems(_cells(page), first_page=name == _first_page())
    assert not problems, f"{name}: {problems[0]}"


# ------------------------------------------------------------------------------------------
# (b) short code lines, (c) no wall-clock assertions
# ------------------------------------------------------------------------------------------


def _code_lines(cells):
    """(cell number among the page's code cells, line number in the cell, line)."""
    code_cells = [c for c in cells if c.cell_type == "code"]
    for n, cell in enumerate(code_cells, start=1):
        for i, line in enumerate(_source(cell).splitlines(), start=1):
            yield n, i, line


def _code_trees(cells):
    """(cell number among the page's code cells, its syntax tree); IPython magics and shell
    lines are read as ``pass``, and a cell that is not Python is skipped."""
    code_cells = [c for c in cells if c.cell_type == "code"]
    for n, cell in enumerate(code_cells, start=1):
        source = re.sub(r"^(\s*)[%!].*$", r"\1pass", _source(cell), flags=re.M)
        try:
            yield n, ast.parse(source)
        except SyntaxError:
            continue


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


def _wall_clock_assertions(cells) -> list[str]:
    """Asserts that mention time, found two ways: a line that compares something named like
    a duration, and an ``assert`` whose expression uses a timing variable (``runs``,
    ``start``, ``elapsed``...) however it is written."""
    found = {
        (n, i): line.strip()
        for n, i, line in _code_lines(cells)
        if WALL_CLOCK_ASSERT.search(line)
    }
    for n, tree in _code_trees(cells):
        for node in ast.walk(tree):
            if isinstance(node, ast.Assert):
                names = {x.id for x in ast.walk(node) if isinstance(x, ast.Name)}
                if names & TIMING_NAMES:
                    found.setdefault((n, node.lineno), ast.unparse(node))
    return [f"  code cell {n}, line {i}: {text}" for (n, i), text in sorted(found.items())]


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_no_wall_clock_assertions(page):
    found = _wall_clock_assertions(_cells(page))
    assert not found, (
        f"{_name(page)}: asserts on wall-clock time, which fails on a busy machine "
        f"(put speed claims in a benchmark):\n" + "\n".join(found)
    )


# ------------------------------------------------------------------------------------------
# (d) get_device() and page_threads() first, and no thread juggling afterwards
# ------------------------------------------------------------------------------------------


def _setup_problems(cells) -> list[str]:
    visible = [c for c in cells if c.cell_type == "code" and not (_tags(c) & HIDDEN_CODE_TAGS)]
    if not visible:
        return ["no visible code cell"]
    first = _source(visible[0])
    calls = ("get_device", "page_threads")
    missing = [f"{f}()" for f in calls if not re.search(rf"\b{f}\(", first)]
    if missing:
        return [
            f"the first visible code cell does not call {' and '.join(missing)} "
            f"(it begins: {first[:120]!r})"
        ]
    return []


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_first_visible_code_cell_calls_get_device_and_page_threads(page):
    problems = _setup_problems(_cells(page))
    assert not problems, f"{_name(page)}: {problems[0]}"


def _thread_juggling(cells) -> list[str]:
    """Code that changes torch's thread count for the rest of the page: any call of
    ``set_num_threads`` / ``set_num_interop_threads``, and ``torch_threads(...)`` used other
    than as a ``with`` block (which restores the previous count)."""
    found = {
        (n, i): line.strip()
        for n, i, line in _code_lines(cells)
        if re.search(r"\bset_num(_interop)?_threads\b", line)
    }
    for n, tree in _code_trees(cells):
        scoped = {
            id(item.context_expr)
            for node in ast.walk(tree)
            if isinstance(node, (ast.With, ast.AsyncWith))
            for item in node.items
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and "torch_threads" in (getattr(node.func, "id", None),
                                        getattr(node.func, "attr", None))
                and id(node) not in scoped
            ):
                found.setdefault((n, node.lineno), ast.unparse(node))
    return [f"  code cell {n}, line {i}: {text}" for (n, i), text in sorted(found.items())]


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_no_page_wide_thread_juggling(page):
    found = _thread_juggling(_cells(page))
    assert not found, (
        f"{_name(page)}: changes torch's thread count for the rest of the page (page_threads() "
        f"in the setup cell decides it; use 'with torch_threads(n):' for a scoped change):\n"
        + "\n".join(found)
    )


# ------------------------------------------------------------------------------------------
# (e) collapsed checks say what they check, (f) collapsed corrections, (g) figure widths
# ------------------------------------------------------------------------------------------


def _unlabelled_checks(cells) -> list[str]:
    code_cells = [c for c in cells if c.cell_type == "code"]
    return [
        f"  code cell {n} begins: {(_source(cell).splitlines() or [''])[0]!r}"
        for n, cell in enumerate(code_cells, start=1)
        if "hide-input" in _tags(cell) and not _source(cell).startswith("# Check: ")
    ]


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_collapsed_code_cells_say_what_they_check(page):
    found = _unlabelled_checks(_cells(page))
    assert not found, (
        f"{_name(page)}: hide-input cell(s) that do not start with a '# Check: ...' comment "
        f"(the reader sees only that line before expanding the cell):\n" + "\n".join(found)
    )


CORRECTION = re.compile(
    r"^(?P<fence>:{3,}|`{3,})\{admonition\}[ \t]*A correction to the lecture notes[ \t]*\n"
    r"(?P<options>(?::[\w-]+:[^\n]*\n)*)",
    re.M,
)


def _open_corrections(text: str) -> list[str]:
    """'A correction to the lecture notes' admonitions without ``:class: dropdown``."""
    found = []
    for match in CORRECTION.finditer(text):
        classes = re.search(r"^:class:(.*)$", match.group("options"), re.M)
        if not (classes and "dropdown" in classes.group(1).split()):
            found.append(f"  line {text.count(chr(10), 0, match.start()) + 1}")
    return found


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_corrections_of_the_notes_are_collapsed(page):
    found = _open_corrections(page.read_text())
    assert not found, (
        f"{_name(page)}: 'A correction to the lecture notes' not collapsed (add ':class: "
        f"dropdown' right under the admonition's title):\n" + "\n".join(found)
    )


FIGSIZE = re.compile(r"figsize\s*=\s*[(\[]\s*([0-9.]+)\s*,")


def _wide_figures(cells) -> list[str]:
    return [
        f"  code cell {n}, line {i}: {match.group(1)} inches wide"
        for n, i, line in _code_lines(cells)
        for match in FIGSIZE.finditer(line)
        if float(match.group(1)) > MAX_FIGURE_WIDTH
    ]


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_figures_are_at_most_page_wide(page):
    found = _wide_figures(_cells(page))
    assert not found, (
        f"{_name(page)}: figure(s) wider than the page's {MAX_FIGURE_WIDTH} inches "
        f"(they would be shrunk, text and all):\n" + "\n".join(found)
    )


# ------------------------------------------------------------------------------------------
# Chapter overviews have their own titles
# ------------------------------------------------------------------------------------------


def _title(md) -> str | None:
    match = re.search(r"^# (.+)$", md.read_text(), re.M)
    return match.group(1).strip() if match else None


def _title_problems(chapter) -> list[str]:
    """The overview (index.md) must say it is one, and no two pages share a title."""
    titles = {md.name: _title(md) for md in sorted(chapter.glob("*.md"))}
    problems = []
    if "index.md" not in titles:
        problems.append("no overview page (index.md)")
    elif "overview" not in (titles["index.md"] or "").lower():
        problems.append(f"the overview's title does not say so: {titles['index.md']!r}")
    problems += [f"{name} has no '# ' title" for name, t in titles.items() if t is None]
    seen: dict[str, str] = {}
    for name, title in titles.items():
        if title is not None and title in seen:
            problems.append(f"{seen[title]} and {name} share the title {title!r}")
        seen.setdefault(title, name)
    return problems


@pytest.mark.parametrize("chapter", CHAPTERS, ids=_name)
def test_overview_has_its_own_title(chapter):
    problems = _title_problems(chapter)
    assert not problems, f"{_name(chapter)}: " + "; ".join(problems)


# ------------------------------------------------------------------------------------------
# The checks can fail
# ------------------------------------------------------------------------------------------

DOCTORED_PAGE = """\
---
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# Doctored page

:::{admonition} Before you start
**You need:** Python.

**You will be able to:**
- one thing.

**Reading time:** about 1 minute.
:::

```{code-cell} ipython3
import time

import torch

from lecturepkg import page_threads, torch_threads

page_threads()
fig_a = dict(figsize=(7.5, 3))
fig_b = dict(figsize=(10, 3))
```

:::{admonition} A correction to the lecture notes
The notes say otherwise.
:::

::::{admonition} A correction to the lecture notes
:class: dropdown
Collapsed, as it should be.
::::

```{code-cell} ipython3
:tags: [hide-input]

assert 1 + 1 == 2
```

```{code-cell} ipython3
:tags: [hide-input]

# Check: labelled, as it should be
torch.set_num_threads(4)
torch_threads(2).__enter__()
with torch_threads(2):
    pass
start = time.perf_counter()
assert time.perf_counter() - start < 1.0
runs = [0.1, 0.2]
assert max(runs) < 5
```
"""


def test_the_checks_can_fail(tmp_path):
    """Each check finds the fault planted in a doctored page and chapter, and only it."""
    page = tmp_path / "page.md"
    page.write_text(DOCTORED_PAGE)
    cells = _cells(page)
    text = page.read_text()

    assert "links no earlier page" in _opener_problems(cells, first_page=False)[0]
    assert "1 outcome(s)" in _opener_problems(cells, first_page=True)[0]
    assert "get_device()" in _setup_problems(cells)[0]
    assert [p.split(": ", 1)[1] for p in _thread_juggling(cells)] == [
        "torch.set_num_threads(4)",
        "torch_threads(2)",
    ]
    assert [p.split(": ", 1)[1] for p in _wall_clock_assertions(cells)] == [
        "assert time.perf_counter() - start < 1.0",  # by its line and by its names
        "assert max(runs) < 5",  # by its names only
    ]
    assert _unlabelled_checks(cells) == ["  code cell 2 begins: 'assert 1 + 1 == 2'"]
    assert len(_open_corrections(text)) == 1
    assert _wide_figures(cells) == ["  code cell 1, line 9: 10 inches wide"]

    chapter = tmp_path / "99-doctored"
    chapter.mkdir()
    (chapter / "index.md").write_text("# Doctored page\n")
    (chapter / "page.md").write_text(DOCTORED_PAGE)
    problems = _title_problems(chapter)
    assert len(problems) == 2, problems
    assert "does not say so" in problems[0] and "share the title" in problems[1]


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
