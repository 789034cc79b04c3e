"""Character-level one-hot encoding of text, as in Zhang, Zhao & LeCun (2015).

A text becomes a 1D signal with one channel per character of an alphabet: the matrix
``(len(alphabet), length)`` has a single 1 in the column of each character that belongs to
the alphabet, and all-zero columns for characters outside it and for padding. Zhang et al.
fix the length at 1014 characters, lowercase the text, ignore characters beyond the fixed
length and quantize the characters "in backward order", so that the latest characters read
sit at the beginning of the signal.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from lecturepkg._checks import check_int

__all__ = ["ZHANG_ALPHABET", "ZHANG_LENGTH", "one_hot_encode", "encode_batch"]

#: The alphabet of Zhang, Zhao & LeCun (2015, section 2.2), in the order the paper lists it:
#: 26 lowercase letters, 10 digits, the 33 "other characters" as printed in the paper
#: (``-,;.!?:'"/\|_@#$%^&*~`+-=<>()[]{}``) and the newline, 70 characters in all, as the
#: paper counts. The printed list contains the hyphen twice (after the digits and between
#: ``+`` and ``=``), so only 69 of the 70 characters are distinct. The space is not in the
#: alphabet: it is encoded, like any unknown character, as an all-zero column.
ZHANG_ALPHABET = "abcdefghijklmnopqrstuvwxyz" "0123456789" "-,;.!?:'\"/\\|_@#$%^&*~`+-=<>()[]{}" "\n"

#: The fixed input length of Zhang et al. (2015).
ZHANG_LENGTH = 1014


def _check_alphabet(alphabet) -> dict[str, int]:
    if not isinstance(alphabet, str):
        raise TypeError(f"alphabet must be a str of characters, got {type(alphabet).__name__}")
    if not alphabet:
        raise ValueError("alphabet must contain at least one character, got ''")
    # A repeated character maps to its last position, as in the authors' Torch code (Crepe),
    # whose lookup table is filled in order and so overwrites earlier entries.
    return {c: i for i, c in enumerate(alphabet)}


def _check_flags(reverse, lowercase) -> None:
    for name, value in (("reverse", reverse), ("lowercase", lowercase)):
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be a bool, got {type(value).__name__} {value!r}")


def _encode_into(out: np.ndarray, text: str, index: dict[str, int], length: int,
                 reverse: bool, lowercase: bool) -> None:
    """Write the one-hot columns of ``text`` into the zeroed array ``out`` (A, length)."""
    chars = text.lower() if lowercase else text
    chars = chars[:length]  # characters beyond the fixed length are ignored
    if reverse:
        chars = chars[::-1]  # the last character read goes to position 0
    for t, c in enumerate(chars):
        row = index.get(c)
        if row is not None:  # unknown characters (and the space) stay all-zero
            out[row, t] = 1.0


def one_hot_encode(text: str, alphabet: str = ZHANG_ALPHABET, length: int = ZHANG_LENGTH,
                   reverse: bool = True, lowercase: bool = True) -> np.ndarray:
    """Encode ``text`` as a float32 array ``(len(alphabet), length)``, Zhang et al.'s quantization.

    Parameters
    ----------
    text:
        The string to encode.
    alphabet:
        One channel per character; default :data:`ZHANG_ALPHABET` (70 channels). A character
        listed twice gets the row of its last occurrence (as in the authors' code), so the
        row of its first occurrence stays zero.
    length:
        Fixed number of positions (default 1014). Shorter texts are padded with all-zero
        columns; in longer texts the characters after the first ``length`` are ignored.
    reverse:
        ``True`` (the paper's choice) quantizes the kept characters in backward order: the
        last one is at position 0, the first one at position ``min(len(text), length) - 1``,
        and the padding follows. ``False`` keeps reading order.
    lowercase:
        Lowercase the text first (the paper's default alphabet has no capital letters).

    Returns
    -------
    numpy.ndarray
        ``(len(alphabet), length)`` float32 array of zeros and ones; each column holds at most
        a single one.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    index = _check_alphabet(alphabet)
    length = check_int("length", length, minimum=1)
    _check_flags(reverse, lowercase)
    out = np.zeros((len(alphabet), length), dtype=np.float32)  # (A, length)
    _encode_into(out, text, index, length, reverse, lowercase)
    return out


def encode_batch(texts: Sequence[str], alphabet: str = ZHANG_ALPHABET, length: int = ZHANG_LENGTH,
                 reverse: bool = True, lowercase: bool = True) -> np.ndarray:
    """Encode a sequence of strings as a float32 array ``(N, len(alphabet), length)``.

    Each row is :func:`one_hot_encode` of one text, with the same options. ``texts`` must be
    a list or tuple of str (a single str is refused: it would be read as a list of characters).
    """
    if isinstance(texts, str) or not isinstance(texts, (list, tuple)):
        raise TypeError(f"texts must be a list or tuple of str, got {type(texts).__name__}")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}] must be a str, got {type(text).__name__}")
    index = _check_alphabet(alphabet)
    length = check_int("length", length, minimum=1)
    _check_flags(reverse, lowercase)
    out = np.zeros((len(texts), len(alphabet), length), dtype=np.float32)  # (N, A, length)
    for i, text in enumerate(texts):
        _encode_into(out[i], text, index, length, reverse, lowercase)
    return out
