"""Character one-hot encoding of Zhang, Zhao & LeCun (2015), against independent constructions:
the paper's alphabet rebuilt from its parts, an identity-matrix encoder, and a port of the
authors' Torch code (Crepe, ``Data:stringToTensor``)."""

from __future__ import annotations

import string

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lecturepkg.data.text import ZHANG_ALPHABET, ZHANG_LENGTH, encode_batch, one_hot_encode

# Section 2.2 of the paper: 26 letters, 10 digits, 33 other characters, the new line.
PAPER_OTHERS = "-,;.!?:'\"/\\|_@#$%^&*~`+-=<>()[]{}"


def identity_encoder(text, alphabet, length, reverse=True, lowercase=True):
    """Independent construction: rows of an identity matrix, last occurrence of repeated characters."""
    chars = (text.lower() if lowercase else text)[:length]
    if reverse:
        chars = chars[::-1]
    eye = np.eye(len(alphabet) + 1, dtype=np.float32)  # the extra last row encodes "unknown"
    rows = [alphabet.rindex(c) if c in alphabet else len(alphabet) for c in chars]
    cols = eye[rows][:, :-1].T if rows else np.zeros((len(alphabet), 0), np.float32)
    return np.pad(cols, ((0, 0), (0, length - cols.shape[1])))


def crepe_string_to_tensor(s, alphabet, l):
    """Port of Crepe's Data:stringToTensor (Lua, 1-based) for strings of at most l characters."""
    d = {}
    for i in range(1, len(alphabet) + 1):
        d[alphabet[i - 1]] = i  # later entries overwrite earlier ones, as in the Lua loop
    s = s.lower()
    t = np.zeros((len(alphabet), l), np.float32)
    for i in range(len(s), max(len(s) - l + 1, 1) - 1, -1):
        c = s[i - 1]
        if c in d:
            t[d[c] - 1][len(s) - i + 1 - 1] = 1
    return t


def test_alphabet_is_the_papers_seventy_characters():
    rebuilt = string.ascii_lowercase + string.digits + PAPER_OTHERS + "\n"
    assert len(PAPER_OTHERS) == 33
    assert ZHANG_ALPHABET == rebuilt
    assert len(ZHANG_ALPHABET) == 70 and ZHANG_LENGTH == 1014
    assert len(set(ZHANG_ALPHABET)) == 69  # the printed list has the hyphen twice
    assert [i for i, c in enumerate(ZHANG_ALPHABET) if c == "-"] == [36, 59]  # 0-based: after the digits, and between + and =
    assert " " not in ZHANG_ALPHABET and "\n" in ZHANG_ALPHABET
    assert ZHANG_ALPHABET.index("d") + 1 == 4  # "the vector for d ... 4th position" (the notes)


def test_shape_dtype_and_one_hot_columns():
    x = one_hot_encode("Dummy review")
    assert x.shape == (70, 1014) and x.dtype == np.float32
    assert set(np.unique(x)) <= {0.0, 1.0}
    assert np.all(x.sum(axis=0) <= 1)
    assert x.sum() == 11  # 12 characters, the space is all-zero


def test_backward_order_padding_and_unknown_characters_by_hand():
    x = one_hot_encode("ab c", length=6)
    a, b, c = (ZHANG_ALPHABET.index(ch) for ch in "abc")
    expected = np.zeros((70, 6), np.float32)
    expected[c, 0] = 1  # last character first
    # column 1 is the space: all zero
    expected[b, 2] = 1
    expected[a, 3] = 1
    # columns 4 and 5: padding
    np.testing.assert_array_equal(x, expected)
    forward = one_hot_encode("ab c", length=6, reverse=False)
    np.testing.assert_array_equal(forward[:, :4], x[:, :4][:, ::-1])
    assert not forward[:, 4:].any()


def test_cutting_keeps_the_first_length_characters():
    text = "abcdefghij"
    x = one_hot_encode(text, length=4)  # keeps "abcd", reversed: d c b a
    assert [ZHANG_ALPHABET[i] for i in x.argmax(axis=0)] == list("dcba")
    y = one_hot_encode(text * 200)
    assert y.shape == (70, 1014) and y.sum(axis=0).min() == 1  # all positions used, none beyond


def test_repeated_hyphen_uses_its_last_row_as_the_authors_code():
    x = one_hot_encode("-", length=1)
    assert x[59, 0] == 1 and x[36, 0] == 0  # row 60 of 70 in the 1-based Lua code
    assert not encode_batch([string.printable * 3], length=400)[:, 36].any()  # row 36 is never used


def test_unknown_characters_and_case():
    x = one_hot_encode("München ÉTÉ €", length=20)
    assert x[:, 1].sum() == 0  # ü is not in the alphabet
    assert x.sum() == len("mnchen") + len("t")  # é, ü, €, and the spaces are all-zero
    upper = one_hot_encode("ABC", length=3, lowercase=False)
    assert not upper.any()  # no capital letters in the alphabet
    np.testing.assert_array_equal(one_hot_encode("ABC", length=3), one_hot_encode("abc", length=3))


def test_newline_is_encoded():
    x = one_hot_encode("a\nb", length=3)
    assert x[69, 1] == 1


texts = st.text(alphabet=st.sampled_from(ZHANG_ALPHABET + "ABCXYZ éüß€\t"), max_size=40)


@settings(max_examples=60, deadline=None)
@given(text=texts, length=st.integers(1, 50), reverse=st.booleans(), lowercase=st.booleans())
def test_matches_an_identity_matrix_construction(text, length, reverse, lowercase):
    got = one_hot_encode(text, length=length, reverse=reverse, lowercase=lowercase)
    np.testing.assert_array_equal(got, identity_encoder(text, ZHANG_ALPHABET, length, reverse, lowercase))


@settings(max_examples=40, deadline=None)
@given(text=texts, extra=st.integers(0, 10))
def test_matches_the_authors_torch_code_when_the_text_fits(text, extra):
    length = len(text) + extra + 1
    np.testing.assert_array_equal(one_hot_encode(text, length=length),
                                  crepe_string_to_tensor(text, ZHANG_ALPHABET, length))


@settings(max_examples=30, deadline=None)
@given(text=texts, length=st.integers(1, 20))
def test_long_texts_are_cut_before_reversing(text, length):
    # Crepe's test-time encoder would keep the *last* characters of a long text; we keep
    # the first ones (the paper: characters beyond the fixed length are ignored).
    np.testing.assert_array_equal(one_hot_encode(text, length=length),
                                  crepe_string_to_tensor(text[:length], ZHANG_ALPHABET, length))


@settings(max_examples=30, deadline=None)
@given(batch=st.lists(texts, max_size=5), length=st.integers(1, 30))
def test_encode_batch_stacks_one_hot_encode(batch, length):
    alphabet = "abc-é"
    got = encode_batch(batch, alphabet=alphabet, length=length)
    assert got.shape == (len(batch), 5, length) and got.dtype == np.float32
    for row, text in zip(got, batch):
        np.testing.assert_array_equal(row, one_hot_encode(text, alphabet=alphabet, length=length))
    assert encode_batch(tuple(batch), alphabet=alphabet, length=length).shape == got.shape


def test_custom_alphabet_with_accents():
    x = one_hot_encode("été", alphabet="eét", length=4)
    np.testing.assert_array_equal(x.argmax(axis=0)[:3], [1, 2, 1])
    assert not x[:, 3].any()


@pytest.mark.parametrize("call, error, match", [
    (lambda: one_hot_encode(b"abc"), TypeError, "text"),
    (lambda: one_hot_encode(None), TypeError, "text"),
    (lambda: one_hot_encode("abc", alphabet=""), ValueError, "alphabet"),
    (lambda: one_hot_encode("abc", alphabet=["a", "b"]), TypeError, "alphabet"),
    (lambda: one_hot_encode("abc", length=0), ValueError, "length"),
    (lambda: one_hot_encode("abc", length=2.0), TypeError, "length"),
    (lambda: one_hot_encode("abc", reverse=1), TypeError, "reverse"),
    (lambda: one_hot_encode("abc", lowercase="yes"), TypeError, "lowercase"),
    (lambda: encode_batch("abc"), TypeError, "texts"),
    (lambda: encode_batch(np.array(["abc"])), TypeError, "texts"),
    (lambda: encode_batch(["abc", 3]), TypeError, r"texts\[1\]"),
    (lambda: encode_batch(["abc"], alphabet=""), ValueError, "alphabet"),
    (lambda: encode_batch(["abc"], length=-1), ValueError, "length"),
    (lambda: encode_batch(["abc"], reverse=None), TypeError, "reverse"),
])
def test_bad_input_names_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()
