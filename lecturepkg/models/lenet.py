"""LeNet-style networks (LeCun et al. 1989, 1998).

``LeNet5`` is the classic layout for 1 x 32 x 32 inputs (LeCun et al. 1998, with ReLU and
max pooling as in modern re-implementations). ``DigitsLeNet`` keeps the same recipe,
convolution -> non-linearity -> pooling twice, then a small fully connected classifier, but
is sized for the 8 x 8 handwritten digits that scikit-learn ships (a 1 x 8 x 8 input is too
small for two unpadded 5 x 5 convolutions, so it uses padded 3 x 3 kernels).
"""

from __future__ import annotations

import torch
from torch import nn

from lecturepkg._checks import check_int
from lecturepkg.models._input import check_input


class LeNet5(nn.Module):
    """Classic LeNet-5 for ``(N, in_channels, 32, 32)`` inputs: 61,706 parameters for 10 classes."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10):
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, minimum=1)
        check_int("num_classes", num_classes, minimum=1)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5),  # (N, 6, 28, 28)
            nn.ReLU(),
            nn.MaxPool2d(2),  # (N, 6, 14, 14)
            nn.Conv2d(6, 16, kernel_size=5),  # (N, 16, 10, 10)
            nn.ReLU(),
            nn.MaxPool2d(2),  # (N, 16, 5, 5)
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),  # (N, 400)
            nn.Linear(400, 120),
            nn.ReLU(),
            nn.Linear(120, 84),
            nn.ReLU(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, ("N", self.in_channels, 32, 32))  # TypeError / ValueError naming x
        return self.classifier(self.features(x))  # (N, num_classes)


class DigitsLeNet(nn.Module):
    """LeNet-style network for ``(N, 1, 8, 8)`` digit images."""

    def __init__(self, num_classes: int = 10, width: int = 32, dropout: float = 0.25):
        super().__init__()
        check_int("num_classes", num_classes, minimum=1)
        check_int("width", width, minimum=1)
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.features = nn.Sequential(
            nn.Conv2d(1, width, kernel_size=3, padding=1),  # (N, w, 8, 8)
            nn.ReLU(),
            nn.MaxPool2d(2),  # (N, w, 4, 4)
            nn.Conv2d(width, 2 * width, kernel_size=3, padding=1),  # (N, 2w, 4, 4)
            nn.ReLU(),
            nn.MaxPool2d(2),  # (N, 2w, 2, 2)
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),  # (N, 8w)
            nn.Dropout(dropout),
            nn.Linear(8 * width, 128),
            nn.ReLU(),
            nn.Linear(128, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, ("N", 1, 8, 8))  # TypeError / ValueError naming x
        return self.classifier(self.features(x))  # (N, num_classes)
