"""Every notebook page is a MyST source with a committed Colab notebook beside it, generated
from the source by ``book/_ext/colab.py``: output-free, in sync, showing the whole page with
no raw MyST, asking Colab for a GPU only where the page uses one, and installing lecturepkg
in its first code cell on Colab only."""

from __future__ import annotations

import pathlib
import re

import jupytext
import nbformat
import pytest

from notebook_files import BOOK, ROOT, config, is_notebook_source, notebook_sources, toc_files

import colab  # noqa: E402  (book/_ext/colab.py, the converter; on sys.path via notebook_files)

SOURCES = notebook_sources()
IDS = [str(p.relative_to(ROOT)) for p in SOURCES]

#: What only Sphinx understands: roles, directive fences (backtick or colon), directive
#: options, ``(label)=`` targets, MyST comments.
RAW_MYST = re.compile(
    r"\{[\w:-]+\}`"                       # {cite}`...`, {doc}`...`
    r"|^\s*(`{3,}|:{3,})\s*\{"            # ```{directive} / :::{directive}
    r"|^\s*:{3,}\s*$"                      # a closing colon fence
    r"|^\s*:[\w-]+:(\s|$)"                 # :class: dropdown, :pyobject: f
    r"|^\s*\([\w:.-]+\)=\s*$"             # (label)=
    r"|^%\s", re.M)

#: A page that moves tensors or models to the device it picked uses a GPU when there is one.
USES_DEVICE = re.compile(r"\.to\(device\)|device=device")


def test_there_are_notebooks():
    assert len(SOURCES) == 32, f"expected the 31 pages of chapters 1-5 (lecture, exercises, overviews) and the status page, found {IDS}"


def test_every_ipynb_has_a_myst_source():
    orphans = [p for p in BOOK.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
               and not p.with_suffix(".md").exists()]
    assert not orphans, f".ipynb files without a .md source: {orphans}"


@pytest.mark.parametrize("md", SOURCES, ids=IDS)
def test_colab_notebook_is_generated_from_the_source_and_in_sync(md: pathlib.Path):
    ipynb = md.with_suffix(".ipynb")
    fix = f"run `python book/_ext/colab.py {md.relative_to(ROOT)}`"
    assert ipynb.exists(), f"{ipynb.relative_to(ROOT)} is missing: {fix}"
    assert ipynb.read_text() == colab.notebook_text(md), f"{ipynb.relative_to(ROOT)} is stale: {fix}"
    # the source is not a jupytext pair of the notebook: editing the .ipynb changes nothing
    assert jupytext.read(md).metadata["jupytext"].get("formats", "md:myst") == "md:myst"


@pytest.mark.parametrize("md", SOURCES, ids=IDS)
def test_colab_notebook_shows_no_raw_myst(md: pathlib.Path):
    nb = nbformat.read(md.with_suffix(".ipynb"), as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        found = RAW_MYST.search(cell.source)
        assert not found, (f"{md.with_suffix('.ipynb').name}, cell {index}: raw MyST "
                           f"{cell.source[max(0, found.start() - 40):found.end() + 40]!r}")


@pytest.mark.parametrize("md", SOURCES, ids=IDS)
def test_colab_notebook_holds_the_whole_page(md: pathlib.Path):
    """Every included source, dropdown, citation, cross-reference and caption is there."""
    text = md.read_text()
    nb = nbformat.read(md.with_suffix(".ipynb"), as_version=4)
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for obj in re.findall(r":pyobject:\s*(\S+)", text):
        name = obj.rsplit(".", 1)[-1]
        assert re.search(rf"```python\n(.*\n)*?\s*(def|class) {name}\b", markdown), \
            f"{md.name}: the source of {obj} is not in the notebook"
    dropdowns = len(re.findall(r":class:\s*dropdown", text))
    assert markdown.count("<details>") == markdown.count("</details>") == dropdowns
    for key in (k.strip() for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", text)
                for k in group.split(",")):
        assert f"references.html#{colab._citation_anchor(key)})" in markdown, f"{md.name}: {key}"
    assert markdown.count(colab.book_url()) >= len(re.findall(r"\{(?:doc|ref)\}`", text))
    for caption in re.findall(r"caption: *'([^']{20})", text):
        assert caption.split()[0] in markdown


def test_converter_renders_each_construct():
    md = BOOK / "01-convolution" / "exercises.md"
    got = colab.convert_markdown(
        ":::{admonition} A correction\n:class: dropdown\n\nSee {doc}`operator` and "
        "{cite}`lecun1998gradient`, `{cite}` stays code.\n:::\n\n```{note}\nShort.\n```\n"
        "(a-label)=\n% a comment\n```python\n{doc}`kept in code`\n```", md)
    assert got.startswith("<details>\n<summary><b>A correction</b></summary>")
    assert "[The convolution operator](https://" in got and "operator.html)" in got
    assert "([LeCun et al., 1998](" in got and "#cite-lecun1998gradient)" in got
    assert "`{cite}` stays code" in got and "{doc}`kept in code`" in got
    assert "> **Note**\n>\n> Short." in got and "(a-label)=" not in got and "% a" not in got
    with pytest.raises(colab.ConversionError, match="role {unknownrole}"):
        colab.convert_markdown("{unknownrole}`x`", md)
    with pytest.raises(colab.ConversionError, match="directive {figure}"):
        colab.convert_markdown("```{figure} x.png\n```", md)
    with pytest.raises(colab.ConversionError, match="unknown key 'nobody2099'"):
        colab.convert_markdown("{cite}`nobody2099`", md)
    with pytest.raises(colab.ConversionError, match="missing page"):
        colab.convert_markdown("{doc}`no-such-page`", md)


def test_literalinclude_gives_exactly_the_package_source():
    import inspect

    from lecturepkg.grading.solutions import ch01

    md = BOOK / "01-convolution" / "exercises.md"
    got = colab.convert_markdown("```{literalinclude} ../../lecturepkg/grading/solutions/ch01.py"
                                 "\n:pyobject: correlate1d\n:language: python\n```", md)
    assert inspect.getsource(ch01.correlate1d).rstrip() in got


@pytest.mark.parametrize("md", SOURCES, ids=IDS)
def test_ipynb_is_output_free_and_asks_colab_for_a_gpu_only_when_the_page_uses_one(md):
    nb = nbformat.read(md.with_suffix(".ipynb"), as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
             and (c.outputs or c.execution_count is not None)]
    assert not dirty, f"cells {dirty} of {md.with_suffix('.ipynb').name} carry outputs"
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    uses_gpu = bool(USES_DEVICE.search(code))
    asks = nb.metadata.get("accelerator") == "GPU" or "gpuType" in nb.metadata.get("colab", {})
    assert asks == uses_gpu, (f"{md.name}: {'uses' if uses_gpu else 'does not use'} the device but "
                              f"{'asks' if asks else 'does not ask'} Colab for a GPU "
                              "(front matter: accelerator: GPU, colab: gpuType: T4)")
    if uses_gpu:
        assert nb.metadata["accelerator"] == "GPU" and nb.metadata["colab"]["gpuType"]


@pytest.mark.parametrize("md", SOURCES, ids=IDS)
def test_first_code_cell_installs_lecturepkg_only_on_colab(md: pathlib.Path):
    nb = nbformat.read(md.with_suffix(".ipynb"), as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    url = config()["repository"]["url"].rstrip("/")
    branch = config()["repository"]["branch"]
    assert 'if "google.colab" in sys.modules:' in first.source, "install must be guarded for Colab"
    match = re.search(r'%pip install -q "lecturepkg @ git\+(\S+?)@(\S+?)"', first.source)
    assert match, f"first code cell must pip-install lecturepkg from git:\n{first.source}"
    assert match.groups() == (url, branch), f"install URL {match.groups()} != _config.yml {(url, branch)}"


def test_each_exercises_notebook_ends_by_grading_the_whole_chapter():
    from lecturepkg.grading import EXERCISES

    for chapter in sorted({e.chapter for e in EXERCISES.values()}):
        nb = nbformat.read(BOOK / chapter / "exercises.ipynb", as_version=4)
        last = [c for c in nb.cells if c.cell_type == "code"][-1]
        assert last.source.strip().endswith(f'check_chapter("{chapter}")'), \
            f"{chapter}/exercises: the last code cell should be check_chapter({chapter!r})"


def test_toc_entries_exist_and_notebook_pages_have_colab_targets():
    cfg = config()
    assert "book/**.ipynb" in cfg["exclude_patterns"], "the .ipynb twins must not be Sphinx sources"
    for entry in toc_files():
        md = ROOT / f"{entry}.md"
        assert md.exists(), f"_toc.yml names {entry}, but {md.relative_to(ROOT)} does not exist"
        if is_notebook_source(md):
            assert md.with_suffix(".ipynb").exists(), f"Colab link of {entry} would point nowhere"
    listed = {str(p.relative_to(ROOT).with_suffix("")) for p in SOURCES}
    missing = listed - set(toc_files())
    assert not missing, f"notebooks not in _toc.yml (never built): {sorted(missing)}"
