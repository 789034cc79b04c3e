"""Where the book's notebooks are, shared by the notebook and book tests."""

from __future__ import annotations

import pathlib
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"

# Which pages are notebooks is the Colab converter's rule (book/_ext/colab.py): one rule for both.
sys.path.insert(0, str(BOOK / "_ext"))
from colab import is_notebook_source, notebook_sources  # noqa: E402,F401


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
