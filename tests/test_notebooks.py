"""Every notebook page is a jupytext MyST source with a committed, output-free, in-sync .ipynb
twin that Colab can open (GPU runtime requested, lecturepkg installed by the first cell)."""

from __future__ import annotations

import pathlib
import re

import jupytext
import nbformat
import pytest

from notebook_files import BOOK, ROOT, config, is_notebook_source, notebook_sources, toc_files

SOURCES = notebook_sources()
IDS = [str(p.relative_to(ROOT)) for p in SOURCES]


def test_there_are_notebooks():
    assert len(SOURCES) >= 4, f"expected the chapter 1 pages and the status page, found {IDS}"


def test_every_ipynb_has_a_myst_source():
    orphans = [p for p in BOOK.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
               and not p.with_suffix(".md").exists()]
    assert not orphans, f".ipynb files without a .md source: {orphans}"


@pytest.mark.parametrize("md", SOURCES, ids=IDS)
def test_twin_exists_and_is_in_sync(md: pathlib.Path):
    ipynb = md.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.relative_to(ROOT)} is missing: run `jupytext --sync {md.relative_to(ROOT)}`"
    from_md = jupytext.read(md)
    from_ipynb = jupytext.read(ipynb)
    cells = lambda nb: [(c.cell_type, c.source.strip(), c.metadata.get("tags", [])) for c in nb.cells]
    assert cells(from_md) == cells(from_ipynb), (
        f"{md.relative_to(ROOT)} and its .ipynb differ: run `jupytext --sync {md.relative_to(ROOT)}`"
    )
    assert from_ipynb.metadata.get("jupytext", {}).get("formats") == "ipynb,md:myst"
    # the Colab metadata live in the source too, so a regenerated twin keeps them
    assert from_md.metadata.get("accelerator") == "GPU", f"{md.name}: add `accelerator: GPU` to its front matter"
    assert "accelerator" in from_md.metadata["jupytext"].get("notebook_metadata_filter", "")


@pytest.mark.parametrize("md", SOURCES, ids=IDS)
def test_ipynb_is_output_free_and_asks_colab_for_a_gpu(md: pathlib.Path):
    nb = nbformat.read(md.with_suffix(".ipynb"), as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
             and (c.outputs or c.execution_count is not None)]
    assert not dirty, f"cells {dirty} of {md.with_suffix('.ipynb').name} carry outputs"
    assert nb.metadata.get("accelerator") == "GPU"
    assert nb.metadata.get("colab", {}).get("gpuType"), "colab.gpuType missing from metadata"
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("md", SOURCES, ids=IDS)
def test_first_code_cell_installs_lecturepkg_only_on_colab(md: pathlib.Path):
    nb = jupytext.read(md)
    first = next(c for c in nb.cells if c.cell_type == "code")
    url = config()["repository"]["url"].rstrip("/")
    branch = config()["repository"]["branch"]
    assert 'if "google.colab" in sys.modules:' in first.source, "install must be guarded for Colab"
    match = re.search(r'%pip install -q "lecturepkg @ git\+(\S+?)@(\S+?)"', first.source)
    assert match, f"first code cell must pip-install lecturepkg from git:\n{first.source}"
    assert match.groups() == (url, branch), f"install URL {match.groups()} != _config.yml {(url, branch)}"


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
