"""Locate a vendored data file and verify its sha256 before anything reads it.

The small data files that ship inside lecturepkg live in ``lecturepkg/data/vendored/``; their
source, licence and extraction procedure are recorded in ``vendored/PROVENANCE.md``. Each loader
passes the checksum it expects, so a truncated, corrupted or silently replaced file is refused
with a clear message instead of producing wrong numbers.
"""

from __future__ import annotations

import hashlib
import os
import pathlib

VENDORED_DIR = pathlib.Path(__file__).resolve().parent / "vendored"


def sha256_of(path: os.PathLike | str) -> str:
    """Hex sha256 digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verified_path(filename: str, sha256: str, data_dir: os.PathLike | str | None = None) -> pathlib.Path:
    """Path of ``filename`` in ``data_dir`` (default: the vendored folder), checked against ``sha256``.

    Raises ``FileNotFoundError`` when the file is missing and ``ValueError`` when its checksum
    differs from the recorded one.
    """
    if data_dir is not None and not isinstance(data_dir, (str, os.PathLike)):
        raise TypeError(f"data_dir must be a path (str or os.PathLike) or None, got {type(data_dir).__name__}")
    folder = VENDORED_DIR if data_dir is None else pathlib.Path(data_dir)
    path = folder / filename
    if not path.is_file():
        raise FileNotFoundError(
            f"vendored data file {filename!r} not found in {folder} (data_dir); "
            "lecturepkg ships it in lecturepkg/data/vendored/, see PROVENANCE.md there"
        )
    actual = sha256_of(path)
    if actual != sha256:
        raise ValueError(
            f"checksum mismatch for {path}: expected sha256 {sha256}, got {actual}. The file is "
            "corrupted or was modified; reinstall lecturepkg or re-create it as PROVENANCE.md describes"
        )
    return path
