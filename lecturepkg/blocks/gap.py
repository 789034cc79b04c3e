"""A global-average-pooling classifier head (Lin et al. 2014; GoogLeNet, ResNet).

Instead of flattening the last ``C x H x W`` feature maps into one long vector for a dense
layer, average each map to one number, then apply one ``Linear(C, num_classes)``. The head
has ``C * num_classes + num_classes`` parameters whatever ``H`` and ``W`` are, so the network
accepts any input size; flattening would need ``C * H * W * num_classes`` weights (for 256
maps of 6 x 6 and 10 classes, 92,160 instead of 2,560). Network in Network (Lin et al. 2014)
introduced the idea (with one map per class and no dense layer); GoogLeNet and ResNet end
with this head.
"""

from __future__ import annotations

import torch
from torch import nn

from lecturepkg.blocks._args import check_input, check_int

__all__ = ["GlobalAvgPoolHead"]


class GlobalAvgPoolHead(nn.Module):
    """Average every channel over ``H`` and ``W``, then a linear layer ``fc`` to the classes.

    Parameters
    ----------
    in_channels : int
        Channels ``C`` of the input maps ``(N, C, H, W)``.
    num_classes : int
        Outputs of ``fc``; the result is ``(N, num_classes)`` logits.

    >>> head = GlobalAvgPoolHead(256, 10)
    >>> head(torch.randn(2, 256, 7, 7)).shape
    torch.Size([2, 10])
    >>> sum(p.numel() for p in head.parameters())  # 256 * 10 weights + 10 biases
    2570
    """

    def __init__(self, in_channels: int, num_classes: int):
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, minimum=1)
        check_int("num_classes", num_classes, minimum=1)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, ("N", self.in_channels, "H", "W"))  # TypeError / ValueError naming x
        x = self.avgpool(x)  # (N, C, 1, 1)
        x = torch.flatten(x, 1)  # (N, C)
        return self.fc(x)  # (N, num_classes)
