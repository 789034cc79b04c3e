"""The vendored word lists and the language identification split: checksum, no shared word,
no word in both splits, balanced classes, seeded, clear errors."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import unicodedata

import pytest
import torch

from lecturepkg.data._vendored import VENDORED_DIR
from lecturepkg.data.words import WORD_LANGUAGES, WORDS_FILE, WordsSplit, load_words

FILENAME, SHA256 = WORDS_FILE


def raw_lists() -> dict[str, list[str]]:
    with gzip.open(VENDORED_DIR / FILENAME, "rt", encoding="utf-8") as fh:
        return json.load(fh)["languages"]


def test_checksum_and_provenance():
    assert hashlib.sha256((VENDORED_DIR / FILENAME).read_bytes()).hexdigest() == SHA256
    provenance = (VENDORED_DIR / "PROVENANCE.md").read_text()
    row = [line for line in provenance.splitlines() if line.startswith(f"| `{FILENAME}`")]
    assert len(row) == 1 and SHA256 in row[0]
    assert "CC-BY-SA 4.0" in provenance or "Attribution-ShareAlike 4.0" in provenance


def test_vendored_lists_follow_the_extraction_rules():
    lists = raw_lists()
    assert tuple(sorted(lists)) == tuple(sorted(WORD_LANGUAGES))
    for lang, words in lists.items():
        assert len(words) == 4000 and len(set(words)) == 4000, lang
        for w in words:
            assert len(w) >= 2 and w.isalpha() and w == w.lower(), (lang, w)
            assert unicodedata.normalize("NFC", w) == w
            assert all("LATIN" in unicodedata.name(c) for c in w), (lang, w)
    assert lists["en"][:3] == ["the", "to", "and"]  # most frequent first


def test_default_split_is_balanced_disjoint_and_drops_shared_words():
    s = load_words()
    assert isinstance(s, WordsSplit) and s.languages == WORD_LANGUAGES
    lists = raw_lists()
    # oracle: words listed by two or more languages, counted with plain sets
    seen, shared = set(), set()
    for lang in WORD_LANGUAGES:
        shared |= seen & set(lists[lang])
        seen |= set(lists[lang])
    assert s.n_shared == len(shared) > 0
    words = s.words_train + s.words_test
    assert not shared & set(words)
    assert len(set(words)) == len(words)  # in particular no word is in both splits
    assert not set(s.words_train) & set(s.words_test)
    counts_train = torch.bincount(s.y_train, minlength=7)
    counts_test = torch.bincount(s.y_test, minlength=7)
    assert len(set(counts_train.tolist())) == 1 and len(set(counts_test.tolist())) == 1
    per_language = counts_train[0].item() + counts_test[0].item()
    assert per_language == min(len([w for w in lists[lang] if w not in shared]) for lang in WORD_LANGUAGES)
    assert abs(counts_test[0].item() - 0.25 * per_language) <= 1
    for w, y in zip(words, torch.cat([s.y_train, s.y_test]).tolist()):
        assert w in lists[WORD_LANGUAGES[y]]
    assert s.y_train.dtype == torch.int64 and s.y_train.shape == (len(s.words_train),)


def test_languages_subset_and_per_language_take_the_most_frequent_unshared_words():
    s = load_words(languages=["pt", "en"], per_language=100, test_size=0.2, seed=3)
    lists = raw_lists()
    shared = set(lists["pt"]) & set(lists["en"])
    assert s.languages == ("pt", "en") and s.n_shared == len(shared)
    for label, lang in enumerate(("pt", "en")):
        chosen = {w for w, y in zip(s.words_train + s.words_test,
                                    torch.cat([s.y_train, s.y_test]).tolist()) if y == label}
        assert chosen == set([w for w in lists[lang] if w not in shared][:100])
    assert len(s.words_test) == 40 and len(s.words_train) == 160


def test_each_split_lists_languages_in_order_and_words_by_frequency():
    s = load_words(languages=["de", "nl", "it"], per_language=300)
    lists = raw_lists()
    for words, labels in ((s.words_train, s.y_train), (s.words_test, s.y_test)):
        labels = labels.tolist()
        assert labels == sorted(labels)
        for label, lang in enumerate(s.languages):
            ranks = [lists[lang].index(w) for w, y in zip(words, labels) if y == label]
            assert ranks == sorted(ranks)


def test_split_is_seeded():
    a, b, c = load_words(seed=1), load_words(seed=1), load_words(seed=2)
    assert a.words_test == b.words_test and torch.equal(a.y_test, b.y_test)
    assert a.words_test != c.words_test


def test_corrupted_copy_is_refused(tmp_path):
    data = bytearray((VENDORED_DIR / FILENAME).read_bytes())
    data[100] ^= 0xFF
    (tmp_path / FILENAME).write_bytes(bytes(data))
    with pytest.raises(ValueError, match="checksum mismatch"):
        load_words(data_dir=tmp_path)
    shutil.copy(VENDORED_DIR / FILENAME, tmp_path / FILENAME)
    assert load_words(data_dir=tmp_path).words_test == load_words().words_test


@pytest.mark.parametrize("kwargs, error, match", [
    ({"languages": "en"}, TypeError, "languages"),
    ({"languages": ["en", "xx"]}, ValueError, "languages"),
    ({"languages": ["en"]}, ValueError, "languages"),
    ({"languages": ["en", "en"]}, ValueError, "languages"),
    ({"per_language": 1.5}, TypeError, "per_language"),
    ({"per_language": 1}, ValueError, "per_language"),
    ({"per_language": 10_000}, ValueError, "per_language"),
    ({"test_size": 1}, ValueError, "test_size"),
    ({"test_size": 1.0}, ValueError, "test_size"),
    ({"seed": -1}, ValueError, "seed"),
    ({"data_dir": 5}, TypeError, "data_dir"),
])
def test_bad_arguments_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        load_words(**kwargs)
