"""The inception module of GoogLeNet (Szegedy et al. 2015), naive and with 1x1 reductions.

An inception module lets the network choose the filter size: it applies a 1x1, a 3x3 and
a 5x5 convolution and a 3x3 max pooling to the same input, all with stride 1 and the padding
that keeps the height and width, and stacks the four results along the depth
(:func:`~lecturepkg.blocks.depth_concat`).

:class:`NaiveInception` is that idea as drawn in Fig. 2(a) of the paper. It is expensive:
the pooling branch passes all ``in_channels`` through, so the depth grows from module to
module, and the 5x5 convolution runs over the full input depth. On a 28 x 28 x 192 input,
32 filters of 5 x 5 cost 28 * 28 * 32 * (5 * 5 * 192) = 120,422,400 multiplications.

:class:`Inception` is the module GoogLeNet uses (Fig. 2(b)): a 1x1 convolution first reduces
the depth before the 3x3 and the 5x5 convolutions, and another one projects the pooled map.
With a 16-channel reduction, the 5x5 branch above costs 28 * 28 * 16 * 192 +
28 * 28 * 32 * (5 * 5 * 16) = 12,443,648 multiplications, about ten times fewer.

A known difference in torchvision. torchvision's GoogLeNet uses a **3x3** convolution (padding 1)
in the branch that the paper and the names (``ch5x5red``, ``ch5x5``) describe as 5x5; the
torchvision code calls it a known bug (pytorch/vision issue 906), kept so that its
ImageNet weights keep loading.
:class:`Inception` takes ``branch3_kernel_size=5`` (the paper, the default) or ``3``
(torchvision); :func:`lecturepkg.models.googlenet` passes 3 unless asked for the paper's
variant.
"""

from __future__ import annotations

import torch
from torch import nn

from lecturepkg.blocks._args import check_bool, check_input, check_int, check_real
from lecturepkg.blocks.conv_bn_relu import ConvBNReLU
from lecturepkg.blocks.depth_concatenation import depth_concat

__all__ = ["NaiveInception", "Inception"]


class NaiveInception(nn.Module):
    """The naive inception module, 1x1, 3x3 and 5x5 convolutions and a 3x3 max pooling side by side.

    Parameters
    ----------
    in_channels : int
        Depth of the input.
    ch1x1, ch3x3, ch5x5 : int
        Number of filters of the 1x1, the 3x3 (padding 1) and the 5x5 (padding 2)
        convolution, each followed by a ReLU.

    The output has ``ch1x1 + ch3x3 + ch5x5 + in_channels`` channels (the max pooling, 3x3,
    stride 1, padding 1, keeps all the input's channels) and the input's height and width.
    The branches are ``branch1`` to ``branch4``, in the order of concatenation.

    >>> block = NaiveInception(192, 64, 128, 32)
    >>> block(torch.randn(1, 192, 28, 28)).shape  # 64 + 128 + 32 + 192 channels
    torch.Size([1, 416, 28, 28])
    """

    def __init__(self, in_channels: int, ch1x1: int, ch3x3: int, ch5x5: int):
        super().__init__()
        check_int("in_channels", in_channels, minimum=1)
        check_int("ch1x1", ch1x1, minimum=1)
        check_int("ch3x3", ch3x3, minimum=1)
        check_int("ch5x5", ch5x5, minimum=1)
        self.in_channels = in_channels
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + in_channels
        self.branch1 = nn.Sequential(nn.Conv2d(in_channels, ch1x1, 1), nn.ReLU())
        self.branch2 = nn.Sequential(nn.Conv2d(in_channels, ch3x3, 3, padding=1), nn.ReLU())
        self.branch3 = nn.Sequential(nn.Conv2d(in_channels, ch5x5, 5, padding=2), nn.ReLU())
        self.branch4 = nn.MaxPool2d(3, stride=1, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, ("N", self.in_channels, "H", "W"))  # TypeError / ValueError naming x
        outputs = [
            self.branch1(x),  # (N, ch1x1, H, W)
            self.branch2(x),  # (N, ch3x3, H, W)
            self.branch3(x),  # (N, ch5x5, H, W)
            self.branch4(x),  # (N, in_channels, H, W)
        ]
        return depth_concat(outputs)  # (N, ch1x1 + ch3x3 + ch5x5 + in_channels, H, W)


class Inception(nn.Module):
    """The inception module with 1x1 reductions, as in GoogLeNet (and torchvision).

    Parameters
    ----------
    in_channels : int
        Depth of the input.
    ch1x1 : int
        Filters of the 1x1 convolution (``branch1``).
    ch3x3red, ch3x3 : int
        The 1x1 reduction, then the 3x3 convolution (``branch2``).
    ch5x5red, ch5x5 : int
        The 1x1 reduction, then the "5x5" convolution (``branch3``).
    pool_proj : int
        Filters of the 1x1 convolution after the 3x3 max pooling (``branch4``).
    branch3_kernel_size : {5, 3}
        Kernel of ``branch3``: 5 as in the paper (padding 2), or 3 as in torchvision's
        GoogLeNet (padding 1), which keeps the 5x5 names for a 3x3 convolution.
    batch_norm : bool
        Each convolution is a :class:`~lecturepkg.blocks.ConvBNReLU`; ``True`` (torchvision)
        puts a batch norm before its ReLU, ``False`` (the paper, which predates batch norm)
        a bias in the convolution.
    eps : float
        The batch norms' ``eps``; ``1e-3`` is torchvision's.

    Every convolution is followed by a ReLU. The output has
    ``ch1x1 + ch3x3 + ch5x5 + pool_proj`` channels and the input's height and width. The
    parameter names are torchvision's (``branch1.conv.weight``, ``branch2.0.bn.weight``,
    ``branch4.1.conv.weight``, ...), so torchvision's weights load into it (with
    ``branch3_kernel_size=3``).

    >>> block = Inception(192, 64, 96, 128, 16, 32, 32)  # GoogLeNet's inception (3a)
    >>> block(torch.randn(1, 192, 28, 28)).shape
    torch.Size([1, 256, 28, 28])
    """

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch3x3red: int,
        ch3x3: int,
        ch5x5red: int,
        ch5x5: int,
        pool_proj: int,
        *,
        branch3_kernel_size: int = 5,
        batch_norm: bool = True,
        eps: float = 1e-3,
    ):
        super().__init__()
        for name, value in [("in_channels", in_channels), ("ch1x1", ch1x1),
                            ("ch3x3red", ch3x3red), ("ch3x3", ch3x3), ("ch5x5red", ch5x5red),
                            ("ch5x5", ch5x5), ("pool_proj", pool_proj)]:
            check_int(name, value, minimum=1)
        check_int("branch3_kernel_size", branch3_kernel_size)
        if branch3_kernel_size not in (3, 5):
            raise ValueError(
                "branch3_kernel_size must be 5 (the paper) or 3 (torchvision), got "
                f"{branch3_kernel_size}"
            )
        check_bool("batch_norm", batch_norm)
        check_real("eps", eps, positive=True)
        self.in_channels = in_channels
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj

        def unit(c_in: int, c_out: int, k: int) -> ConvBNReLU:
            return ConvBNReLU(c_in, c_out, k, padding=k // 2, eps=eps, batch_norm=batch_norm)

        k = branch3_kernel_size
        self.branch1 = unit(in_channels, ch1x1, 1)
        self.branch2 = nn.Sequential(unit(in_channels, ch3x3red, 1), unit(ch3x3red, ch3x3, 3))
        self.branch3 = nn.Sequential(unit(in_channels, ch5x5red, 1), unit(ch5x5red, ch5x5, k))
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            unit(in_channels, pool_proj, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, ("N", self.in_channels, "H", "W"))  # TypeError / ValueError naming x
        outputs = [
            self.branch1(x),  # (N, ch1x1, H, W)
            self.branch2(x),  # (N, ch3x3, H, W)
            self.branch3(x),  # (N, ch5x5, H, W)
            self.branch4(x),  # (N, pool_proj, H, W)
        ]
        return depth_concat(outputs)  # (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W)
