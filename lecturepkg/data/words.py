"""Frequent words of seven languages, offline: a small task for character-level networks.

The vendored file ``words.json.gz`` holds, for English, French, German, Spanish, Italian,
Dutch and Portuguese, the 4,000 most frequent words of wordfreq 3.1.1 (Speer 2022; data
CC-BY-SA 4.0) that consist of at least two lowercase Latin letters (see
``vendored/PROVENANCE.md``). :func:`load_words` turns them into a language identification
task: given the characters of one word, which language is it from?

A word that is frequent in several of the chosen languages (``de``, ``in``, ``real``, ``no``)
has no single right answer, so every such word is dropped before anything else happens.
"""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch

from lecturepkg._checks import check_int
from lecturepkg.data._vendored import verified_path

__all__ = ["WordsSplit", "load_words", "WORD_LANGUAGES", "WORDS_FILE"]

#: The vendored languages (ISO 639-1 codes), in the order used for class indices by default.
WORD_LANGUAGES = ("en", "fr", "de", "es", "it", "nl", "pt")

#: (vendored file, its sha256); the same sum is listed in vendored/PROVENANCE.md
WORDS_FILE = ("words.json.gz", "b9caf1b2d53de87e15417e9c02df77601b50cd9f68f2792d9211a75c8c69c6c2")


@dataclass(frozen=True)
class WordsSplit:
    """Words and their language, split into train and test with no word in both.

    ``y_*`` are int64 tensors ``(N,)`` of indices into ``languages``; ``n_shared`` is the
    number of distinct words dropped because several of the chosen languages list them.
    Each split lists the words language by language, most frequent first (shuffle before
    training, as ``make_loader(..., shuffle=True)`` does).
    """

    words_train: tuple[str, ...]
    y_train: torch.Tensor
    words_test: tuple[str, ...]
    y_test: torch.Tensor
    languages: tuple[str, ...]
    n_shared: int


def _read_vendored(data_dir) -> dict[str, list[str]]:
    path = verified_path(*WORDS_FILE, data_dir=data_dir)
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return json.load(fh)["languages"]


def load_words(
    languages: Optional[Sequence[str]] = None,
    per_language: Optional[int] = None,
    test_size: float = 0.25,
    seed: int = 0,
    data_dir: os.PathLike | str | None = None,
) -> WordsSplit:
    """Language identification of single words: a seeded train/test split, balanced classes.

    Parameters
    ----------
    languages:
        ISO codes from :data:`WORD_LANGUAGES` (default: all seven); their order sets the
        class indices.
    per_language:
        How many words per language to keep: the most frequent ones that are not shared with
        another chosen language. Default: as many as the language with the fewest unshared
        words has, so that every class has the same size.
    test_size:
        Fraction of each language's words that goes to the test set.
    seed:
        Seed of the shuffle that splits each language's words.
    data_dir:
        Folder holding ``words.json.gz`` (default: the vendored folder); its sha256 is checked.
    """
    if languages is None:
        languages = WORD_LANGUAGES
    if isinstance(languages, str) or not isinstance(languages, (list, tuple)):
        raise TypeError(f"languages must be a list or tuple of codes from {WORD_LANGUAGES}, "
                        f"got {type(languages).__name__}")
    languages = tuple(languages)
    unknown = [lang for lang in languages if lang not in WORD_LANGUAGES]
    if unknown or len(languages) < 2 or len(set(languages)) != len(languages):
        raise ValueError(f"languages must be at least two distinct codes from {WORD_LANGUAGES}, "
                         f"got {languages!r}")
    if not isinstance(test_size, float) or not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be a float in (0, 1), got {test_size!r}")
    seed = check_int("seed", seed, minimum=0)

    ranked = _read_vendored(data_dir)  # language -> words, most frequent first
    count: dict[str, int] = {}
    for lang in languages:
        for word in ranked[lang]:
            count[word] = count.get(word, 0) + 1
    shared = {word for word, n in count.items() if n > 1}
    unshared = {lang: [w for w in ranked[lang] if w not in shared] for lang in languages}

    available = min(len(words) for words in unshared.values())
    if per_language is None:
        per_language = available
    per_language = check_int("per_language", per_language, minimum=2)
    if per_language > available:
        raise ValueError(f"per_language must be <= {available} (unshared words of the smallest "
                         f"language among {languages}), got {per_language}")

    rng = np.random.default_rng(seed)
    n_test = max(1, round(test_size * per_language))
    train, test = [], []
    for label, lang in enumerate(languages):
        words = unshared[lang][:per_language]  # most frequent first
        order = rng.permutation(per_language)
        # a random split; inside it, the words keep their frequency order
        test += [(words[i], label) for i in sorted(order[:n_test])]
        train += [(words[i], label) for i in sorted(order[n_test:])]
    return WordsSplit(
        words_train=tuple(w for w, _ in train),
        y_train=torch.tensor([y for _, y in train], dtype=torch.int64),
        words_test=tuple(w for w, _ in test),
        y_test=torch.tensor([y for _, y in test], dtype=torch.int64),
        languages=languages,
        n_shared=len(shared),
    )
