"""Residual blocks (He et al. 2016), whose layers learn a residual ``F(x)`` added to ``x``.

A deeper network should do at least as well as a shallower one: the extra layers could
learn the identity. In practice plain deep networks train *worse* (the degradation problem).
He et al. let each block learn only the residual ``F(x) = H(x) - x`` and add the input back
through a shortcut; when the identity is the best mapping, pushing ``F`` to zero is easy, and
the gradient reaches early layers through the shortcuts undiminished.

* :class:`BasicBlock`: two 3x3 convolutions (ResNet-18 and -34).
* :class:`Bottleneck`: 1x1 (reduce the depth), 3x3, 1x1 (expand it 4 times again), which
  costs less for deep networks (ResNet-50, -101, -152).
* When the shortcut's input and output differ in depth or size (the first block of a stage
  halves ``H`` and ``W`` and doubles the depth), the shortcut is a projection: a 1x1
  convolution with the block's stride and a batch norm (:func:`projection_shortcut`, option B
  of the paper), passed as ``downsample``.

Both blocks take torchvision's arguments and have its parameter names, so
``torchvision.models.resnet.BasicBlock``'s weights load into :class:`BasicBlock`. Two
keyword-only additions:

* ``shortcut=False`` gives the *plain* block of He et al.'s comparison: the same layers,
  no addition, ``relu(F(x))``;
* ``Bottleneck(stride_in_1x1=True)`` puts the stride of a downsampling block on the first 1x1
  convolution, as in the paper (ResNet "v1"), instead of on the 3x3 convolution, as
  torchvision does (ResNet "v1.5", after Goyal et al. 2017). The two have the same
  parameters; v1.5 costs more multiply-adds (its 3x3 runs at the higher resolution) and is
  slightly more accurate.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from lecturepkg.blocks._args import check_bool, check_input, check_int

__all__ = ["BasicBlock", "Bottleneck", "projection_shortcut"]


def _norm_layer(norm_layer):
    if norm_layer is None:
        return nn.BatchNorm2d
    if not callable(norm_layer):
        raise TypeError(
            "norm_layer must be None or a callable such as nn.BatchNorm2d that takes the "
            f"number of channels, got {type(norm_layer).__name__}"
        )
    return norm_layer


def _check_downsample(downsample, shortcut: bool):
    if downsample is not None and not isinstance(downsample, nn.Module):
        raise TypeError(
            f"downsample must be None or an nn.Module, got {type(downsample).__name__}"
        )
    if downsample is not None and not shortcut:
        raise ValueError(
            "downsample must be None when shortcut=False (a plain block has no shortcut)"
        )


def _check_block(inplanes, planes, stride, downsample, groups, base_width, dilation,
                 norm_layer, shortcut):
    """The argument checks both residual blocks share; returns the norm layer to use."""
    for name, value in [("inplanes", inplanes), ("planes", planes), ("stride", stride),
                        ("groups", groups), ("base_width", base_width),
                        ("dilation", dilation)]:
        check_int(name, value, minimum=1)
    check_bool("shortcut", shortcut)
    _check_downsample(downsample, shortcut)
    return _norm_layer(norm_layer)


def projection_shortcut(
    inplanes: int,
    outplanes: int,
    stride: int = 1,
    norm_layer: Callable[[int], nn.Module] | None = None,
) -> nn.Sequential:
    """The projection shortcut, a 1x1 convolution (no bias) with ``stride`` followed by a norm.

    It maps ``(N, inplanes, H, W)`` to ``(N, outplanes, H_out, W_out)``, the shape of the
    residual branch's output, so that the two can be added. Its submodules are ``0`` (the
    convolution) and ``1`` (the norm), as in torchvision's ``downsample``.

    >>> projection_shortcut(64, 128, stride=2)(torch.randn(1, 64, 8, 8)).shape
    torch.Size([1, 128, 4, 4])
    """
    check_int("inplanes", inplanes, minimum=1)
    check_int("outplanes", outplanes, minimum=1)
    check_int("stride", stride, minimum=1)
    norm_layer = _norm_layer(norm_layer)
    return nn.Sequential(
        nn.Conv2d(inplanes, outplanes, kernel_size=1, stride=stride, bias=False),
        norm_layer(outplanes),
    )


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm, and a shortcut ``s`` added before the last ReLU.

    ``out = relu(bn2(conv2(relu(bn1(conv1(x))))) + s(x))``.

    Parameters
    ----------
    inplanes, planes : int
        Input and output channels (``expansion = 1``: the output has ``planes`` channels).
    stride : int
        Stride of ``conv1`` (2 halves ``H`` and ``W``; then a ``downsample`` is needed).
    downsample : nn.Module or None
        The shortcut ``s``; ``None`` is the identity. Use :func:`projection_shortcut` when
        the shapes differ.
    groups, base_width, dilation
        torchvision's arguments, for the wide and grouped variants of the bottleneck; a basic
        block supports only ``groups=1``, ``base_width=64``, ``dilation=1``.
    norm_layer : callable or None
        Makes the norm layers from a channel count; ``None`` is ``nn.BatchNorm2d``.
    shortcut : bool
        ``False`` gives the plain block (no addition), for the degradation experiment.

    >>> block = BasicBlock(64, 128, stride=2, downsample=projection_shortcut(64, 128, 2))
    >>> block(torch.randn(2, 64, 16, 16)).shape
    torch.Size([2, 128, 8, 8])
    """

    expansion: int = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        groups: int = 1,
        base_width: int = 64,
        dilation: int = 1,
        norm_layer: Callable[[int], nn.Module] | None = None,
        *,
        shortcut: bool = True,
    ):
        super().__init__()
        norm_layer = _check_block(inplanes, planes, stride, downsample, groups, base_width,
                                  dilation, norm_layer, shortcut)
        if groups != 1 or base_width != 64:
            raise ValueError(
                f"BasicBlock supports only groups=1 and base_width=64, got groups={groups}, "
                f"base_width={base_width}"
            )
        if dilation != 1:
            raise ValueError(f"BasicBlock supports only dilation=1, got dilation={dilation}")
        self.inplanes = inplanes
        self.shortcut = shortcut
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, ("N", self.inplanes, "H", "W"))  # TypeError / ValueError naming x
        out = self.relu(self.bn1(self.conv1(x)))  # (N, planes, H / stride, W / stride)
        out = self.bn2(self.conv2(out))  # (N, planes, H / stride, W / stride): F(x)
        if self.shortcut:
            identity = x if self.downsample is None else self.downsample(x)  # same shape
            out = out + identity  # F(x) + x
        return F.relu(out)


class Bottleneck(nn.Module):
    """1x1, 3x3, 1x1 convolutions with batch norm and a shortcut; ``expansion = 4``.

    ``conv1`` (1x1) reduces the depth to ``width = planes * base_width / 64 * groups``,
    ``conv2`` (3x3, ``groups``, ``dilation``) works at that depth, ``conv3`` (1x1) expands it
    to ``planes * 4``; each is followed by its batch norm, and all but the last by a ReLU;
    the shortcut is added before the final ReLU.

    Parameters
    ----------
    inplanes, planes, stride, downsample, groups, base_width, dilation, norm_layer
        As in torchvision (see :class:`BasicBlock`); ``groups`` and ``base_width`` give
        ResNeXt and wide ResNets.
    shortcut : bool
        ``False`` gives the plain block (no addition).
    stride_in_1x1 : bool
        ``False`` (torchvision, ResNet v1.5): the stride is on the 3x3 ``conv2``. ``True``
        (He et al. 2016, ResNet v1): on the 1x1 ``conv1``, which then discards three pixels
        out of four before any 3x3 filter sees them.

    >>> block = Bottleneck(256, 64)  # ResNet-50's conv2_x blocks
    >>> block(torch.randn(1, 256, 56, 56)).shape
    torch.Size([1, 256, 56, 56])
    """

    expansion: int = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        groups: int = 1,
        base_width: int = 64,
        dilation: int = 1,
        norm_layer: Callable[[int], nn.Module] | None = None,
        *,
        shortcut: bool = True,
        stride_in_1x1: bool = False,
    ):
        super().__init__()
        norm_layer = _check_block(inplanes, planes, stride, downsample, groups, base_width,
                                  dilation, norm_layer, shortcut)
        check_bool("stride_in_1x1", stride_in_1x1)
        width = int(planes * (base_width / 64.0)) * groups
        if width < 1:
            raise ValueError(
                f"planes * base_width / 64 must be >= 1, got planes={planes}, "
                f"base_width={base_width}"
            )
        stride1, stride2 = (stride, 1) if stride_in_1x1 else (1, stride)
        self.inplanes = inplanes
        self.shortcut = shortcut
        self.conv1 = nn.Conv2d(inplanes, width, 1, stride=stride1, bias=False)
        self.bn1 = norm_layer(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride2, padding=dilation,
                               groups=groups, dilation=dilation, bias=False)
        self.bn2 = norm_layer(width)
        self.conv3 = nn.Conv2d(width, planes * self.expansion, 1, bias=False)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU()
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, ("N", self.inplanes, "H", "W"))  # TypeError / ValueError naming x
        out = self.relu(self.bn1(self.conv1(x)))  # (N, width, H or H / stride, ...)
        out = self.relu(self.bn2(self.conv2(out)))  # (N, width, H / stride, W / stride)
        out = self.bn3(self.conv3(out))  # (N, 4 planes, H / stride, W / stride): F(x)
        if self.shortcut:
            identity = x if self.downsample is None else self.downsample(x)  # same shape
            out = out + identity  # F(x) + x
        return F.relu(out)
