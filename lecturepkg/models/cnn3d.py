"""A small 3-D CNN for volumes ``(N, C, D, H, W)``, such as the shapes of
:func:`lecturepkg.data.volumes.make_volumes`.

The recipe is the 2-D one with every layer swapped for its 3-D counterpart: 3x3x3
convolutions (the kernel size Tran et al. 2015 found best for video in C3D), batch norm,
ReLU and 2x2x2 max pooling, which halves depth, height and width together; then global
average pooling over the remaining volume and a linear classifier (Ji et al. 2013 introduced
3-D convolutions for action recognition in video).
"""

from __future__ import annotations

import torch
from torch import nn

from lecturepkg._checks import check_int
from lecturepkg.models._input import check_input

__all__ = ["CNN3d"]


def conv_bn_relu3d(in_channels: int, out_channels: int) -> nn.Sequential:
    """A 3x3x3 convolution that keeps the size (padding 1), batch norm and ReLU."""
    return nn.Sequential(
        nn.Conv3d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm3d(out_channels),
        nn.ReLU(),
    )


class CNN3d(nn.Module):
    """Three conv-BN-ReLU stages (two followed by 3-D max pooling), GAP and a linear head.

    For a ``(N, 1, 16, 16, 16)`` input and ``width = w``::

        stage1  (N, w, 16, 16, 16) -> pool1 (N, w, 8, 8, 8)
        stage2  (N, 2w, 8, 8, 8)   -> pool2 (N, 2w, 4, 4, 4)
        stage3  (N, 4w, 4, 4, 4)   -> GAP   (N, 4w) -> classifier (N, num_classes)

    The layers are reachable by name (``model.features.stage1`` ...), so a notebook can look
    at the 3-D feature maps after each of them.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 4, width: int = 8):
        super().__init__()
        in_channels = check_int("in_channels", in_channels, minimum=1)
        num_classes = check_int("num_classes", num_classes, minimum=1)
        width = check_int("width", width, minimum=1)
        self.in_channels = in_channels
        self.features = nn.Sequential()
        self.features.add_module("stage1", conv_bn_relu3d(in_channels, width))
        self.features.add_module("pool1", nn.MaxPool3d(2))  # halves D, H and W
        self.features.add_module("stage2", conv_bn_relu3d(width, 2 * width))
        self.features.add_module("pool2", nn.MaxPool3d(2))
        self.features.add_module("stage3", conv_bn_relu3d(2 * width, 4 * width))
        self.pool = nn.AdaptiveAvgPool3d(1)  # global average pooling: (N, 4w, 1, 1, 1)
        self.classifier = nn.Linear(4 * width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, ("N", self.in_channels, "D", "H", "W"))  # TypeError / ValueError
        if min(x.shape[2:]) < 4:
            raise ValueError(f"x must be at least 4 voxels along D, H, W, got {tuple(x.shape)}")
        x = self.features(x)  # (N, 4w, D/4, H/4, W/4)
        return self.classifier(self.pool(x).flatten(1))  # (N, num_classes)
