"""Residual networks for ImageNet (He et al. 2016), with torchvision's names and weights.

A ResNet is a 7x7 convolution with stride 2 and a 3x3 max pooling (the *stem*, which takes a
224 x 224 image to 56 x 56), four *stages* of residual blocks (``layer1`` to ``layer4``;
``conv2_x`` to ``conv5_x`` in the paper), each but the first halving the height and width and
doubling the depth, then global average pooling and one linear layer. ResNet-18 and -34 stack
:class:`~lecturepkg.blocks.BasicBlock`\\ s, ResNet-50, -101 and -152
:class:`~lecturepkg.blocks.Bottleneck`\\ s; the number of blocks per stage is Table 1 of the
paper:

========== ============== =====================
network    block          blocks per stage
========== ============== =====================
resnet18   BasicBlock     2, 2, 2, 2
resnet34   BasicBlock     3, 4, 6, 3
resnet50   Bottleneck     3, 4, 6, 3
resnet101  Bottleneck     3, 4, 23, 3
resnet152  Bottleneck     3, 8, 36, 3
========== ============== =====================

The first block of a stage changes the shape, so its shortcut is a projection (a strided 1x1
convolution and a batch norm, option B of the paper); the other shortcuts are identities.

The builders take torchvision's names and keyword arguments and the models have its
``state_dict`` keys and shapes: ``model.load_state_dict(torchvision.models.resnet50(
weights="DEFAULT").state_dict())`` loads torchvision's ImageNet weights into the course's
model (with internet access; the package itself downloads nothing, and ``weights`` must be
``None``). tests/test_models_resnets_googlenets.py checks that both give the same outputs,
and that parameter and multiply-accumulate counts equal torchvision's published figures.

Where torchvision differs from the paper. torchvision's bottleneck puts the stride of a
downsampling block on its 3x3 convolution ("ResNet v1.5", the recipe of Goyal et al. 2017);
the paper put it on the first 1x1 convolution ("v1"). ``variant="paper"`` builds v1: the same
parameters, fewer multiply-adds, since the 3x3 convolution then runs on the smaller map.
The paper's Table 1 gives the cost in "FLOPs" that are multiply-adds; measured by
:func:`lecturepkg.counting.count_macs` at 224 x 224 (convolutions and the final linear layer):

========== ===================== ======================= ==========================
network    paper (x 10^9)        ``variant="paper"``     torchvision (v1.5)
========== ===================== ======================= ==========================
resnet18   1.8                   1.81                    1.81
resnet34   3.6                   3.66                    3.66
resnet50   3.8                   3.86                    4.09
resnet101  7.6                   7.57                    7.80
resnet152  11.3                  11.28                   11.51
========== ===================== ======================= ==========================

The v1 counts round to the paper's figures for ResNet-18, -101 and -152. ResNet-34's 3.66
and ResNet-50's 3.86 are within 2% of the paper's 3.6 and 3.8, but would round to 3.7 and
3.9 (the paper does not say how it counted). For ResNet-18 and -34 the two variants are the
same network. The tests assert every cell of this table.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn

from lecturepkg._checks import check_int
from lecturepkg.blocks import BasicBlock, Bottleneck, projection_shortcut
from lecturepkg.models._input import check_input
from lecturepkg.models._pretrained import check_no_weights

__all__ = ["ResNet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]

VARIANTS = ("torchvision", "paper")


class ResNet(nn.Module):
    """A residual network for ``(N, 3, H, W)`` images, torchvision's ``ResNet``.

    Parameters
    ----------
    block : type
        :class:`~lecturepkg.blocks.BasicBlock` or :class:`~lecturepkg.blocks.Bottleneck`
        (or a subclass).
    layers : sequence of 4 ints
        Number of blocks in ``layer1`` to ``layer4``.
    num_classes : int
        Outputs of the final linear layer ``fc``.
    zero_init_residual : bool
        Start the last batch norm of every block at ``gamma = 0``, so that every residual
        block starts as the identity (Goyal et al. 2017).
    groups, width_per_group : int
        Grouped and wider bottlenecks (ResNeXt, wide ResNets), as in torchvision.
    replace_stride_with_dilation : sequence of 3 bools or None
        For ``layer2`` to ``layer4``, replace the stride 2 by a dilation (segmentation
        backbones); bottleneck networks only.
    norm_layer : callable or None
        Makes the norm layers from a channel count; ``None`` is ``nn.BatchNorm2d``.
    variant : {"torchvision", "paper"}
        Keyword only. ``"torchvision"`` (v1.5) strides the bottleneck's 3x3 convolution,
        ``"paper"`` (He et al. 2016, v1) its first 1x1 convolution. Basic blocks are the
        same in both.

    Input ``(N, 3, H, W)``, output ``(N, num_classes)`` logits.

    >>> model = ResNet(BasicBlock, [1, 1, 1, 1], num_classes=10)
    >>> model(torch.randn(2, 3, 64, 64)).shape
    torch.Size([2, 10])
    """

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        layers: Sequence[int],
        num_classes: int = 1000,
        zero_init_residual: bool = False,
        groups: int = 1,
        width_per_group: int = 64,
        replace_stride_with_dilation: Sequence[bool] | None = None,
        norm_layer: Callable[[int], nn.Module] | None = None,
        *,
        variant: str = "torchvision",
    ):
        super().__init__()
        if not (isinstance(block, type) and issubclass(block, (BasicBlock, Bottleneck))):
            raise TypeError(
                "block must be lecturepkg.blocks.BasicBlock or Bottleneck (the class), got "
                f"{block!r}"
            )
        if not isinstance(layers, Sequence) or isinstance(layers, str) or len(layers) != 4:
            raise ValueError(f"layers must be a sequence of 4 ints, got {layers!r}")
        for i, n in enumerate(layers):
            check_int(f"layers[{i}]", n, minimum=1)
        check_int("num_classes", num_classes, minimum=1)
        if not isinstance(zero_init_residual, bool):
            raise TypeError(f"zero_init_residual must be a bool, got {zero_init_residual!r}")
        check_int("groups", groups, minimum=1)
        check_int("width_per_group", width_per_group, minimum=1)
        if replace_stride_with_dilation is None:
            replace_stride_with_dilation = [False, False, False]
        if (not isinstance(replace_stride_with_dilation, Sequence)
                or len(replace_stride_with_dilation) != 3
                or not all(isinstance(d, bool) for d in replace_stride_with_dilation)):
            raise ValueError(
                "replace_stride_with_dilation must be None or a sequence of 3 bools, got "
                f"{replace_stride_with_dilation!r}"
            )
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        if not callable(norm_layer):
            raise TypeError(f"norm_layer must be None or a callable, got {norm_layer!r}")
        self._norm_layer = norm_layer
        self.variant = variant
        self.inplanes = 64
        self.dilation = 1
        self.groups = groups
        self.base_width = width_per_group

        # the stem: (N, 3, 224, 224) -> (N, 64, 112, 112) -> (N, 64, 56, 56)
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(self.inplanes)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        dilate = replace_stride_with_dilation
        self.layer1 = self._make_layer(block, 64, layers[0])  # (N, 64 e, 56, 56)
        self.layer2 = self._make_layer(block, 128, layers[1], 2, dilate[0])  # (N, 128 e, 28, 28)
        self.layer3 = self._make_layer(block, 256, layers[2], 2, dilate[1])  # (N, 256 e, 14, 14)
        self.layer4 = self._make_layer(block, 512, layers[3], 2, dilate[2])  # (N, 512 e, 7, 7)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))  # (N, 512 e, 1, 1)
        self.fc = nn.Linear(512 * block.expansion, num_classes)  # e = block.expansion

        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck) and m.bn3.weight is not None:
                    nn.init.constant_(m.bn3.weight, 0)
                elif isinstance(m, BasicBlock) and m.bn2.weight is not None:
                    nn.init.constant_(m.bn2.weight, 0)

    def _make_layer(self, block, planes: int, blocks: int, stride: int = 1,
                    dilate: bool = False) -> nn.Sequential:
        """One stage: ``blocks`` blocks, the first with ``stride`` and a projection if needed."""
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = projection_shortcut(self.inplanes, planes * block.expansion, stride,
                                             self._norm_layer)
        extra = {"stride_in_1x1": self.variant == "paper"} if issubclass(block, Bottleneck) else {}
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width,
                        previous_dilation, self._norm_layer, **extra)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, groups=self.groups,
                                base_width=self.base_width, dilation=self.dilation,
                                norm_layer=self._norm_layer, **extra))
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, ("N", 3, "H", "W"))  # TypeError / ValueError naming x
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (N, 64, H / 4, W / 4)
        x = self.layer1(x)  # (N, 64 e, H / 4, W / 4)
        x = self.layer2(x)  # (N, 128 e, H / 8, W / 8)
        x = self.layer3(x)  # (N, 256 e, H / 16, W / 16)
        x = self.layer4(x)  # (N, 512 e, H / 32, W / 32)
        x = torch.flatten(self.avgpool(x), 1)  # (N, 512 e)
        return self.fc(x)  # (N, num_classes)


def _resnet(name: str, block, layers: list[int], weights, progress, kwargs) -> ResNet:
    check_no_weights(name, weights, progress)
    return ResNet(block, layers, **kwargs)


def resnet18(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """ResNet-18 (He et al. 2016) with basic blocks ``[2, 2, 2, 2]``; 11,689,512 parameters.

    Takes torchvision's keywords: ``weights`` must be ``None`` (see the module's docstring
    for loading torchvision's weights), ``progress`` is unused, and ``**kwargs`` go to
    :class:`ResNet` (``num_classes``, ``zero_init_residual``, ``norm_layer``,
    ``variant``, ...).

    >>> resnet18(num_classes=10)(torch.randn(2, 3, 32, 32)).shape
    torch.Size([2, 10])
    """
    return _resnet("resnet18", BasicBlock, [2, 2, 2, 2], weights, progress, kwargs)


def resnet34(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """ResNet-34 (He et al. 2016) with basic blocks ``[3, 4, 6, 3]``.

    Keywords as :func:`resnet18`.
    """
    return _resnet("resnet34", BasicBlock, [3, 4, 6, 3], weights, progress, kwargs)


def resnet50(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """ResNet-50 (He et al. 2016) with bottlenecks ``[3, 4, 6, 3]``; keywords as :func:`resnet18`.

    ``variant="paper"`` strides the first 1x1 convolution of a downsampling bottleneck (v1),
    the default ``"torchvision"`` its 3x3 convolution (v1.5).
    """
    return _resnet("resnet50", Bottleneck, [3, 4, 6, 3], weights, progress, kwargs)


def resnet101(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """ResNet-101 (He et al. 2016) with bottlenecks ``[3, 4, 23, 3]``.

    Keywords as :func:`resnet50`.
    """
    return _resnet("resnet101", Bottleneck, [3, 4, 23, 3], weights, progress, kwargs)


def resnet152(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """ResNet-152 (He et al. 2016) with bottlenecks ``[3, 8, 36, 3]``.

    Keywords as :func:`resnet50`.
    """
    return _resnet("resnet152", Bottleneck, [3, 8, 36, 3], weights, progress, kwargs)
