"""A small character-level CNN, in the spirit of Zhang, Zhao & LeCun (2015).

Zhang et al. classify texts one-hot encoded as ``(alphabet size, 1014)`` signals with six 1D
convolutions (kernels 7, 7, 3, 3, 3, 3; 256 or 1024 channels), three max-poolings of size 3,
and three fully connected layers with dropout between them. The fully connected layers see
every position separately, which is why the paper quantizes characters in backward order:
the end of the text always lands at the same place in front of them.

:class:`CharCNN` keeps that recipe (convolution -> ReLU -> max pooling, twice; then fully
connected layers with dropout) at the scale of a single word: a few dozen channels, kernels
of size 3, and inputs of a few dozen characters, so that it trains in seconds on a CPU.
"""

from __future__ import annotations

import torch
from torch import nn

from lecturepkg._checks import check_int
from lecturepkg.conv.arithmetic import conv_output_size, pool_output_size
from lecturepkg.models._input import check_input

__all__ = ["CharCNN"]


class CharCNN(nn.Module):
    """``(N, alphabet_size, length)`` one-hot characters -> ``(N, num_classes)`` logits.

    Two stages of ``Conv1d(kernel_size, padding=kernel_size // 2)`` -> ``ReLU`` ->
    ``MaxPool1d(2)`` (``width`` then ``2 * width`` channels), then ``Dropout`` ->
    ``Linear(-> hidden)`` -> ``ReLU`` -> ``Dropout`` -> ``Linear(-> num_classes)``.
    """

    def __init__(self, alphabet_size: int, num_classes: int, length: int, width: int = 64,
                 kernel_size: int = 3, hidden: int = 128, dropout: float = 0.5):
        super().__init__()
        self.alphabet_size = check_int("alphabet_size", alphabet_size, minimum=1)
        check_int("num_classes", num_classes, minimum=2)
        self.length = check_int("length", length, minimum=4)
        check_int("width", width, minimum=1)
        check_int("kernel_size", kernel_size, minimum=1)
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd (symmetric padding keeps the length), got {kernel_size}")
        check_int("hidden", hidden, minimum=1)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be a number in [0, 1), got {dropout!r}")
        pad = kernel_size // 2
        self.features = nn.Sequential(
            nn.Conv1d(alphabet_size, width, kernel_size, padding=pad),  # (N, w, length)
            nn.ReLU(),
            nn.MaxPool1d(2),  # (N, w, length // 2)
            nn.Conv1d(width, 2 * width, kernel_size, padding=pad),  # (N, 2w, length // 2)
            nn.ReLU(),
            nn.MaxPool1d(2),  # (N, 2w, length // 4)
        )
        steps = length
        for _ in range(2):
            steps = pool_output_size(conv_output_size(steps, kernel_size, padding=pad), 2)
        self.classifier = nn.Sequential(
            nn.Flatten(),  # (N, 2w * steps)
            nn.Dropout(dropout),
            nn.Linear(2 * width * steps, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),  # (N, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, ("N", self.alphabet_size, self.length))  # TypeError / ValueError
        return self.classifier(self.features(x))  # (N, num_classes)
