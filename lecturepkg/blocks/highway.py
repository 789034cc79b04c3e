"""Highway layers (Srivastava et al. 2015), ``y = H(x) * T(x) + x * (1 - T(x))``.

A highway layer computes a transform ``H(x)`` (an affine map and a ReLU) and a *transform
gate* ``T(x) = sigmoid(W_T x + b_T)`` of the same shape, with values in (0, 1). Where the gate
is near 1 the layer outputs ``H(x)``; where it is near 0 it *carries* its input through
unchanged. The carry path is what lets information and gradients cross hundreds of layers:
a highway network with the gates closed is the identity.

Srivastava et al. ("Training very deep networks", 2015) initialise the gate's bias to a
negative value (the paper suggests -1 or -3, for example), so that at the start every layer
mostly carries its input, and the network learns where to transform. The residual block of
He et al. (2016) is the case of a gate that is always open on both paths, ``y = H(x) + x``.

* :class:`Highway` acts on the last axis of a tensor ``(..., features)`` (dense layers).
* :class:`HighwayConv2d` uses convolutions (padding that keeps ``H`` and ``W``) for ``H``
  and ``T``, on ``(N, channels, H, W)`` maps: a convolutional highway layer, as in the
  paper's CIFAR-10 networks.
"""

from __future__ import annotations

import torch
from torch import nn

from lecturepkg.blocks._args import check_features, check_input, check_int, check_real

__all__ = ["Highway", "HighwayConv2d"]


class Highway(nn.Module):
    """A dense highway layer on the last axis, ``y = relu(transform(x)) * T + x * (1 - T)``.

    Parameters
    ----------
    features : int
        Size of the last axis, the same for the input and the output.
    gate_bias : float
        Initial bias of the gate ``T(x) = sigmoid(gate(x))``. Negative (the default -1.0)
        starts the layer close to carrying its input: with zero weights the gate would be
        ``sigmoid(-1) = 0.27``.

    The submodules are ``transform`` (``nn.Linear``, the ``H`` before its ReLU) and ``gate``
    (``nn.Linear``).

    >>> layer = Highway(8, gate_bias=-2.0)
    >>> layer(torch.randn(5, 8)).shape
    torch.Size([5, 8])
    >>> layer.gate.bias[:3]
    tensor([-2., -2., -2.], grad_fn=<SliceBackward0>)
    """

    def __init__(self, features: int, gate_bias: float = -1.0):
        super().__init__()
        self.features = check_int("features", features, minimum=1)
        gate_bias = check_real("gate_bias", gate_bias)
        self.transform = nn.Linear(features, features)  # H(x) = relu(W_H x + b_H)
        self.gate = nn.Linear(features, features)  # T(x) = sigmoid(W_T x + b_T)
        nn.init.constant_(self.gate.bias, gate_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_features(x, self.features)  # (..., features)
        h = torch.relu(self.transform(x))  # (..., features)
        t = torch.sigmoid(self.gate(x))  # (..., features), in (0, 1)
        return h * t + x * (1 - t)  # (..., features)


class HighwayConv2d(nn.Module):
    """A convolutional highway layer, ``y = relu(transform(x)) * T + x * (1 - T)`` on maps.

    Parameters
    ----------
    channels : int
        Channels of the input and of the output.
    kernel_size : int
        Odd kernel size of both convolutions; padding ``kernel_size // 2`` keeps ``H``, ``W``.
    gate_bias : float
        Initial bias of the gate convolution (negative: start close to carrying).

    The submodules are ``transform`` and ``gate``, two ``nn.Conv2d(channels, channels,
    kernel_size)``.

    >>> layer = HighwayConv2d(4)
    >>> layer(torch.randn(2, 4, 9, 9)).shape
    torch.Size([2, 4, 9, 9])
    """

    def __init__(self, channels: int, kernel_size: int = 3, gate_bias: float = -1.0):
        super().__init__()
        self.channels = check_int("channels", channels, minimum=1)
        check_int("kernel_size", kernel_size, minimum=1)
        if kernel_size % 2 == 0:
            raise ValueError(
                f"kernel_size must be odd so that the output keeps H and W, got {kernel_size}"
            )
        gate_bias = check_real("gate_bias", gate_bias)
        padding = kernel_size // 2
        self.transform = nn.Conv2d(channels, channels, kernel_size, padding=padding)
        self.gate = nn.Conv2d(channels, channels, kernel_size, padding=padding)
        nn.init.constant_(self.gate.bias, gate_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, ("N", self.channels, "H", "W"))  # TypeError / ValueError naming x
        h = torch.relu(self.transform(x))  # (N, C, H, W)
        t = torch.sigmoid(self.gate(x))  # (N, C, H, W), in (0, 1)
        return h * t + x * (1 - t)  # (N, C, H, W)
