"""Real handwritten digits, offline: the UCI "optical recognition of handwritten digits" set.

scikit-learn ships it (``sklearn.datasets.load_digits``): 1,797 grey-level images of 8 x 8
pixels with values 0..16: the test part of the UCI set, written by 13 people (the full UCI
set has 43 writers; Alpaydin & Kaynak, 1998). Nothing is
downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from lecturepkg._checks import check_int


@dataclass(frozen=True)
class DigitsSplit:
    """Train and test tensors: images ``(N, 1, 8, 8)`` float32 in [0, 1], labels ``(N,)`` int64."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def load_digits_split(test_size: float = 0.25, seed: int = 0) -> DigitsSplit:
    """Load scikit-learn's digits as tensors, with a stratified, seeded train/test split."""
    if not isinstance(test_size, float) or not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be a float in (0, 1), got {test_size!r}")
    seed = check_int("seed", seed, minimum=0)
    bunch = load_digits()
    x = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0  # (1797, 1, 8, 8)
    y = torch.tensor(bunch.target, dtype=torch.int64)  # (1797,)
    idx_train, idx_test = train_test_split(
        torch.arange(len(y)).numpy(), test_size=test_size, random_state=seed, stratify=y.numpy()
    )
    return DigitsSplit(x[idx_train], y[idx_train], x[idx_test], y[idx_test])
