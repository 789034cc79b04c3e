"""The first convolutional network of Fleuret's lecture notes, for 1 x 28 x 28 digits.

Two convolutional layers as a feature extractor and two fully connected layers as a
classifier: the layer table in the notes gives 105,506 parameters and 1,333,200 products for
one forward pass, which :func:`lecturepkg.counting.summary` reproduces from this module.
Written as an ``nn.Sequential`` so that every step, pooling and ReLU included, is a module
and shows up as a row of the table.
"""

from __future__ import annotations

import torch
from torch import nn

from lecturepkg.models._input import check_input


class MnistConvNet(nn.Sequential):
    """Conv(1->32, 5) -> MaxPool(3) -> ReLU -> Conv(32->64, 5) -> MaxPool(2) -> ReLU -> FC(256->200) -> ReLU -> FC(200->10)."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, kernel_size=5)  # (N, 32, 24, 24)
        self.pool1 = nn.MaxPool2d(kernel_size=3)  # (N, 32, 8, 8)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(32, 64, kernel_size=5)  # (N, 64, 4, 4)
        self.pool2 = nn.MaxPool2d(kernel_size=2)  # (N, 64, 2, 2)
        self.relu2 = nn.ReLU()
        self.flatten = nn.Flatten()  # (N, 256)
        self.fc1 = nn.Linear(256, 200)  # (N, 200)
        self.relu3 = nn.ReLU()
        self.fc2 = nn.Linear(200, num_classes)  # (N, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, ("N", 1, 28, 28))  # TypeError / ValueError naming x
        return super().forward(x)  # every layer in order
