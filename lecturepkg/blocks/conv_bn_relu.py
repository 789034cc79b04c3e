"""The convolution -> batch norm -> ReLU unit that modern CNNs are made of.

Since batch normalisation (Ioffe & Szegedy 2015) nearly every convolution of a CNN is
followed by a batch norm and a ReLU. The convolution then needs no bias: the batch norm
subtracts the mean of each channel, which would remove any constant the convolution added,
and adds its own learned shift ``beta`` instead.

:class:`ConvBNReLU` has the submodules ``conv`` and ``bn``, the names of torchvision's
``BasicConv2d`` in GoogLeNet, so its weights load from torchvision's. ``batch_norm=False``
gives the unit of networks from before batch norm (AlexNet, VGG, the GoogLeNet of the
paper): a convolution with a bias, then a ReLU.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lecturepkg.blocks._args import check_bool, check_input, check_int, check_real

__all__ = ["ConvBNReLU"]


class ConvBNReLU(nn.Module):
    """``relu(bn(conv(x)))``, a bias-free 2D convolution followed by batch norm and ReLU.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the input and of the output.
    kernel_size, stride, padding : int
        Those of the convolution (square kernels).
    eps : float
        The batch norm's ``eps`` (torch's default ``1e-5``; torchvision's GoogLeNet uses
        ``1e-3``).
    batch_norm : bool
        ``False`` leaves out the batch norm and gives the convolution a bias instead:
        ``relu(conv(x))``, as in networks from before 2015. Then ``bn`` is ``None``.

    Input ``(N, in_channels, H, W)``, output ``(N, out_channels, H_out, W_out)`` with
    ``H_out = (H + 2 padding - kernel_size) // stride + 1`` (and the same for ``W``).

    >>> unit = ConvBNReLU(3, 8, kernel_size=3, padding=1)
    >>> unit(torch.randn(2, 3, 10, 10)).shape
    torch.Size([2, 8, 10, 10])
    >>> [name for name, _ in unit.named_parameters()]
    ['conv.weight', 'bn.weight', 'bn.bias']
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        eps: float = 1e-5,
        *,
        batch_norm: bool = True,
    ):
        super().__init__()
        check_int("in_channels", in_channels, minimum=1)
        check_int("out_channels", out_channels, minimum=1)
        check_int("kernel_size", kernel_size, minimum=1)
        check_int("stride", stride, minimum=1)
        check_int("padding", padding, minimum=0)
        check_real("eps", eps, positive=True)
        check_bool("batch_norm", batch_norm)
        self.conv = nn.Conv2d(
            in_channels, out_channels, kernel_size, stride=stride, padding=padding,
            bias=not batch_norm,  # batch norm's shift replaces the bias
        )
        self.bn = nn.BatchNorm2d(out_channels, eps=eps) if batch_norm else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, ("N", self.conv.in_channels, "H", "W"))  # TypeError / ValueError
        x = self.conv(x)  # (N, C_out, H_out, W_out)
        if self.bn is not None:
            x = self.bn(x)  # per channel: (x - mean) / sqrt(var + eps) * gamma + beta
        return F.relu(x)
