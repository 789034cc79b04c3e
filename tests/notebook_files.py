"""Where the book's notebooks are, shared by the notebook and book tests."""

from __future__ import annotations

import pathlib

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"


def config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text())


def toc_files() -> list[str]:
    """Every file named in _toc.yml (root first), without suffix, relative to the repo root."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    walk(toc.get("parts"))
    walk(toc.get("chapters"))
    return files


def is_notebook_source(md: pathlib.Path) -> bool:
    """A MyST markdown file is a notebook when its front matter declares a kernelspec."""
    text = md.read_text()
    return text.startswith("---") and "kernelspec:" in text.split("---", 2)[1]


def notebook_sources() -> list[pathlib.Path]:
    return sorted(p for p in BOOK.rglob("*.md") if is_notebook_source(p))
