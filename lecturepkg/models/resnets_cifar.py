"""The CIFAR-10 networks of He et al. 2016 (section 4.2), residual or plain, of any depth.

He et al. studied *depth* on CIFAR-10 with a family of small networks of ``6n + 2`` weighted
layers: a 3x3 convolution with 16 filters, three stages of ``n`` basic blocks (two 3x3
convolutions each) on 32 x 32, 16 x 16 and 8 x 8 maps with 16, 32 and 64 filters, then
global average pooling and one linear layer. The first block of the second and third stage
halves the height and width (stride 2) and doubles the depth. With ``n = 3, 5, 7, 9, 18``
this gives ResNet-20, 32, 44, 56 and 110 (Table 6 of the paper: 0.27, 0.46, 0.66, 0.85 and
1.7 million parameters).

The *plain* networks of the paper's Figure 1 and 6 have the same layers without the
shortcuts (``shortcut=False``). Where a residual block changes the shape, its shortcut
cannot be the identity. The paper offers

* option A: the identity on every other pixel (stride 2), with zero channels appended for
  the new depth (:class:`ZeroPadShortcut`); it has no parameters, so a residual network and
  its plain twin have exactly the same weights. The paper uses it for all CIFAR networks.
* option B: a projection, a strided 1x1 convolution and a batch norm
  (:func:`lecturepkg.blocks.projection_shortcut`), at the two stage transitions only.

Names follow torchvision's ImageNet ResNet (``conv1``, ``bn1``, ``layer1`` to ``layer3``,
``avgpool``, ``fc``), and the convolutions are initialised as there, with He et al.'s (2015)
normal initialisation (``fan_out``, gain for ReLU).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lecturepkg._checks import check_int
from lecturepkg.blocks import BasicBlock, projection_shortcut
from lecturepkg.models._input import check_input

__all__ = ["ZeroPadShortcut", "CifarResNet", "cifar_resnet"]

#: Shortcut options of He et al. for blocks that change the shape (see the module docstring).
OPTIONS = ("A", "B")


class ZeroPadShortcut(nn.Module):
    """Option A of He et al. 2016, the identity subsampled by ``stride`` and zero-padded.

    Maps ``(N, inplanes, H, W)`` to ``(N, planes, ceil(H / stride), ceil(W / stride))``: the
    input on every ``stride``-th pixel in the first ``inplanes`` channels, zeros in the other
    ``planes - inplanes`` (as ``fb.resnet.torch`` did it). No parameters.

    >>> ZeroPadShortcut(16, 32, stride=2)(torch.ones(1, 16, 32, 32)).shape
    torch.Size([1, 32, 16, 16])
    """

    def __init__(self, inplanes: int, planes: int, stride: int = 1):
        super().__init__()
        self.inplanes = check_int("inplanes", inplanes, minimum=1)
        self.planes = check_int("planes", planes, minimum=1)
        self.stride = check_int("stride", stride, minimum=1)
        if planes < inplanes:
            raise ValueError(
                f"planes must be >= inplanes (option A only adds channels), got "
                f"inplanes={inplanes}, planes={planes}"
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, ("N", self.inplanes, "H", "W"))  # TypeError / ValueError naming x
        x = x[:, :, :: self.stride, :: self.stride]  # (N, inplanes, H', W')
        return F.pad(x, (0, 0, 0, 0, 0, self.planes - self.inplanes))  # (N, planes, H', W')

    def extra_repr(self) -> str:
        return f"{self.inplanes}, {self.planes}, stride={self.stride}"


def _check_depth(depth) -> int:
    depth = check_int("depth", depth, minimum=8)
    if (depth - 2) % 6:
        raise ValueError(
            f"depth must be 6n + 2 (8, 14, 20, 26, 32, 44, 56, 110, ...), got {depth}"
        )
    return depth


class CifarResNet(nn.Module):
    """He et al.'s CIFAR network of ``depth = 6n + 2`` layers, residual or plain.

    Parameters
    ----------
    in_channels : int
        Channels of the input images (3 for CIFAR-10).
    num_classes : int
        Outputs of the final linear layer.
    depth : int
        Weighted layers, ``6n + 2``: the first convolution, ``3n`` blocks of two 3x3
        convolutions, and the linear layer (option B's 1x1 projections are not counted, as
        in the paper). 20, 32, 44, 56, 110 are the paper's ResNets.
    width : int
        Filters of the first stage (16 in the paper); the others have 2 and 4 times as many.
    shortcut : bool
        ``False`` builds the plain network (same layers, no additions).
    option : str
        ``"A"`` (zero-padded identity, the paper's choice on CIFAR) or ``"B"`` (projection)
        for the two shortcuts that change the shape; ignored by the plain network.

    The input is ``(N, in_channels, H, W)`` (32 x 32 in the paper; any size works, each
    stage transition halves it, rounding up); the output ``(N, num_classes)`` logits.

    >>> model = CifarResNet(3, 10, depth=20)
    >>> model(torch.randn(2, 3, 32, 32)).shape
    torch.Size([2, 10])
    >>> sum(p.numel() for p in model.parameters())
    269722
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 10,
        *,
        depth: int = 20,
        width: int = 16,
        shortcut: bool = True,
        option: str = "A",
    ):
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, minimum=1)
        check_int("num_classes", num_classes, minimum=1)
        self.depth = _check_depth(depth)
        check_int("width", width, minimum=1)
        if not isinstance(shortcut, bool):
            raise TypeError(
                f"shortcut must be True or False, got {type(shortcut).__name__} {shortcut!r}"
            )
        if option not in OPTIONS:
            raise ValueError(f"option must be 'A' or 'B', got {option!r}")
        self.shortcut, self.option = shortcut, option
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(in_channels, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU()
        self.layer1 = self._stage(width, width, n, stride=1)
        self.layer2 = self._stage(width, 2 * width, n, stride=2)
        self.layer3 = self._stage(2 * width, 4 * width, n, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4 * width, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def _stage(self, inplanes: int, planes: int, blocks: int, stride: int) -> nn.Sequential:
        downsample = None
        if self.shortcut and (stride != 1 or inplanes != planes):
            if self.option == "A":
                downsample = ZeroPadShortcut(inplanes, planes, stride)
            else:
                downsample = projection_shortcut(inplanes, planes, stride)
        layers = [BasicBlock(inplanes, planes, stride, downsample, shortcut=self.shortcut)]
        layers += [
            BasicBlock(planes, planes, shortcut=self.shortcut) for _ in range(blocks - 1)
        ]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, ("N", self.in_channels, "H", "W"))  # TypeError / ValueError naming x
        x = self.relu(self.bn1(self.conv1(x)))  # (N, w, H, W)
        x = self.layer1(x)  # (N, w, H, W)
        x = self.layer2(x)  # (N, 2w, H / 2, W / 2)
        x = self.layer3(x)  # (N, 4w, H / 4, W / 4)
        x = torch.flatten(self.avgpool(x), 1)  # (N, 4w)
        return self.fc(x)  # (N, num_classes)


def cifar_resnet(depth: int = 20, **kwargs) -> CifarResNet:
    """He et al.'s CIFAR ResNet-``depth`` (``cifar_resnet(56)`` is ResNet-56).

    Keyword arguments go to :class:`CifarResNet` (``in_channels=3``, ``num_classes=10``,
    ``width=16``, ``shortcut=True``, ``option="A"``); ``shortcut=False`` gives the plain
    network of the same depth.

    >>> cifar_resnet(56, shortcut=False)(torch.randn(1, 3, 32, 32)).shape
    torch.Size([1, 10])
    """
    return CifarResNet(depth=depth, **kwargs)
