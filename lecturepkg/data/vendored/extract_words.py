"""Maintainer script (not imported by the package): re-create ``words.json.gz`` from wordfreq.

wordfreq (Robyn Speer; code Apache-2.0, word-list data CC-BY-SA 4.0) is needed only here, at
extraction time, never at run time. Install it into a throwaway environment::

    python -m venv /tmp/wfvenv && /tmp/wfvenv/bin/pip install wordfreq==3.1.1
    /tmp/wfvenv/bin/python lecturepkg/data/vendored/extract_words.py

For each language we walk wordfreq's ranked list (most frequent first) and keep the first
``PER_LANGUAGE`` tokens that are made of lowercase Latin letters only and have at least two
of them: this drops numbers, tokens with apostrophes (``don't``, ``aujourd'hui``) and the
one-letter fragments that wordfreq's tokenizer leaves (``l``, ``d`` from ``l'``, ``d'``).
Words shared by several languages are kept here; the loader decides what to do with them.
The gzip header carries no timestamp, so the output is byte-for-byte reproducible.
"""

from __future__ import annotations

import gzip
import json
import pathlib
import unicodedata

import wordfreq  # extraction time only

LANGUAGES = ("en", "fr", "de", "es", "it", "nl", "pt")
PER_LANGUAGE = 4000
WORDFREQ_VERSION = "3.1.1"
OUT = pathlib.Path(__file__).resolve().parent / "words.json.gz"


def keep(word: str) -> bool:
    return (len(word) >= 2 and word.isalpha() and word == word.lower()
            and unicodedata.normalize("NFC", word) == word
            and all("LATIN" in unicodedata.name(c, "") for c in word))


def main() -> None:
    from importlib.metadata import version

    assert version("wordfreq") == WORDFREQ_VERSION, version("wordfreq")
    languages = {}
    for lang in LANGUAGES:
        ranked = wordfreq.top_n_list(lang, 3 * PER_LANGUAGE, wordlist="best")
        words = [w for w in ranked if keep(w)][:PER_LANGUAGE]
        assert len(words) == PER_LANGUAGE and len(set(words)) == PER_LANGUAGE, lang
        languages[lang] = words
    payload = {
        "source": f"wordfreq {WORDFREQ_VERSION}, top_n_list(lang, {3 * PER_LANGUAGE}, wordlist='best')",
        "licence": "CC-BY-SA 4.0 (wordfreq data); see PROVENANCE.md",
        "filter": "lowercase Latin letters only, length >= 2, first "
                  f"{PER_LANGUAGE} per language in wordfreq's frequency order",
        "languages": languages,
    }
    raw = json.dumps(payload, ensure_ascii=False, indent=0, sort_keys=True).encode("utf-8")
    with open(OUT, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", compresslevel=9, mtime=0,
                                              filename="") as gz:
        gz.write(raw)
    print(f"{OUT.name}: {len(LANGUAGES)} languages x {PER_LANGUAGE} words")


if __name__ == "__main__":
    main()
