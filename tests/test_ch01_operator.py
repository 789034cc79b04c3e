"""Exhaustive checks that the page book/01-convolution/operator.md quotes but no longer runs.

The page shows the output-size formula on a handful of settings; here it is compared with the
shapes PyTorch produces on every setting of a small grid (864 settings), including those
where the dilated kernel does not fit and both refuse, and with the way Dillhoff's notes
write the same formula.
"""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from lecturepkg.conv import conv_output_size

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# input size i, kernel size k, stride s, padding p, dilation d
GRID = list(itertools.product(range(1, 9), range(1, 5), (1, 2, 3), (0, 1, 2), (1, 2, 3)))


def torch_length(i, k, s, p, d):
    """Output length of F.conv1d on an input of length i, or None when torch refuses."""
    try:
        out = F.conv1d(torch.zeros(1, 1, i), torch.zeros(1, 1, k),
                       stride=s, padding=p, dilation=d)
    except RuntimeError:
        return None
    return out.shape[-1]


def formula_length(i, k, s, p, d):
    """conv_output_size, or None when it refuses the setting with a ValueError."""
    try:
        return conv_output_size(i, k, s, p, d)
    except ValueError:
        return None


def dillhoff_length(m, n, s, p, d):
    """Dillhoff's form, floor((m + 2p - n - (n-1)(d-1)) / s) + 1, or None if it does not fit."""
    span = m + 2 * p - n - (n - 1) * (d - 1)
    return span // s + 1 if span >= 0 else None


def test_grid_has_864_settings_some_refused():
    assert len(GRID) == 864 == 8 * 4 * 3 * 3 * 3
    refused = [g for g in GRID if torch_length(*g) is None]
    assert 0 < len(refused) < len(GRID)  # the grid covers both cases


def test_output_size_formula_equals_torch_on_every_setting():
    mismatches = [(g, formula_length(*g), torch_length(*g)) for g in GRID
                  if formula_length(*g) != torch_length(*g)]
    assert not mismatches, f"(i, k, s, p, d), formula, torch: {mismatches[:5]}"


def test_dillhoffs_form_equals_the_formula_and_torch():
    # Dillhoff writes the kernel's extent as n + (n - 1)(d - 1) = d(n - 1) + 1
    grid = itertools.product(range(1, 15), range(1, 5), (1, 2, 3), (0, 1, 2), (1, 2, 3))
    checked = 0
    for m, n, s, p, d in grid:
        expected = torch_length(m, n, s, p, d)
        assert dillhoff_length(m, n, s, p, d) == expected, (m, n, s, p, d)
        assert formula_length(m, n, s, p, d) == expected, (m, n, s, p, d)
        checked += expected is not None
    assert checked > 1000


def test_the_checks_can_fail():
    """An off-by-one formula disagrees with torch somewhere on the grid."""
    def off_by_one(i, k, s, p, d):
        n = formula_length(i, k, s, p, d)
        return None if n is None else (i + 2 * p - d * (k - 1)) // s + 1  # forgot the -1

    assert any(off_by_one(*g) != torch_length(*g) for g in GRID)
