"""The fully convolutional network (FCN) for time series classification of Wang, Yan & Oates (2017).

"Time series classification from scratch with deep neural networks: a strong baseline"
(IJCNN 2017) proposes three convolutional blocks and no pooling between them::

    input (N, C, L)
    -> Conv1d(C -> 128, kernel 8) -> BatchNorm -> ReLU
    -> Conv1d(128 -> 256, kernel 5) -> BatchNorm -> ReLU
    -> Conv1d(256 -> 128, kernel 3) -> BatchNorm -> ReLU       (N, 128, L)
    -> global average pooling over time                         (N, 128)
    -> Linear(128 -> classes) (softmax in the loss)             (N, classes)

Every convolution has stride 1 and "same" padding (``border_mode='same'`` in the authors'
Keras code), so each feature map keeps the input's length ``L``. For the even kernel 8 the 7
padding zeros cannot be split evenly; we put 3 before and 4 after, the split of TensorFlow's
"same" and of PyTorch's ``padding="same"`` (:func:`same_padding`).

Because global average pooling is the only place where time is summarized, the network takes
series of any length, and the class score is an average over time of a per-time-step score:
the class activation map (CAM) that the paper uses to show which parts of a series drove the
decision.
"""

from __future__ import annotations

import torch
from torch import nn

from lecturepkg._checks import check_int
from lecturepkg.models._input import check_input

__all__ = ["FCN", "conv_bn_relu", "same_padding"]


def same_padding(kernel_size: int) -> tuple[int, int]:
    """Zeros (before, after) that keep the length of a stride-1 convolution ("same" padding).

    ``kernel_size - 1`` zeros in all, the smaller half before: ``(3, 4)`` for kernel 8,
    ``(2, 2)`` for kernel 5, as TensorFlow/Keras and PyTorch's ``padding="same"`` split them.
    """
    kernel_size = check_int("kernel_size", kernel_size, minimum=1)
    before = (kernel_size - 1) // 2
    return before, kernel_size - 1 - before


def conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int) -> nn.Sequential:
    """One FCN block: zero padding ("same") -> ``Conv1d`` (stride 1) -> ``BatchNorm1d`` -> ``ReLU``.

    The padding is an explicit module rather than ``padding="same"``, which PyTorch accepts
    but warns about for even kernels such as 8.
    """
    return nn.Sequential(
        nn.ConstantPad1d(same_padding(kernel_size), 0.0),  # (N, in, L + kernel_size - 1)
        nn.Conv1d(in_channels, out_channels, kernel_size),  # (N, out, L)
        nn.BatchNorm1d(out_channels),
        nn.ReLU(),
    )


class FCN(nn.Module):
    """Wang et al. (2017) FCN: blocks 128/256/128 with kernels 8/5/3, GAP, linear classifier.

    ``features`` maps ``(N, in_channels, L)`` to ``(N, 128, L)``; ``gap`` averages over time
    to ``(N, 128)``; ``fc`` gives the class scores (logits) ``(N, num_classes)``.
    """

    def __init__(self, in_channels: int, num_classes: int):
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, minimum=1)
        self.num_classes = check_int("num_classes", num_classes, minimum=2)
        self.features = nn.Sequential(
            conv_bn_relu(in_channels, 128, 8),  # (N, 128, L)
            conv_bn_relu(128, 256, 5),  # (N, 256, L)
            conv_bn_relu(256, 128, 3),  # (N, 128, L)
        )
        self.gap = nn.AdaptiveAvgPool1d(1)  # (N, 128, 1)
        self.flatten = nn.Flatten()  # (N, 128)
        self.fc = nn.Linear(128, num_classes)  # (N, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, ("N", self.in_channels, "L"))  # TypeError / ValueError naming x
        return self.fc(self.flatten(self.gap(self.features(x))))  # (N, num_classes)
