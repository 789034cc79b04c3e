"""The feature pyramid network (Lin et al. 2017), with torchvision's names and weights.

A ResNet's stages give feature maps at strides 4, 8, 16 and 32 (``C2`` to ``C5``): the deep
ones are semantically strong but coarse, the shallow ones fine but weak. A feature pyramid
network gives every level both. A *top-down pathway* starts from the deepest map, upsamples
it by 2 (nearest neighbour) and adds a *lateral connection* (a 1x1 convolution that brings
the stage's map to ``out_channels``, 256 in the paper); a 3x3 convolution then smooths each
sum into the output ``P2`` to ``P5``. Every level has the same depth, so one RPN head and
one RoI head serve all of them. For the RPN, the paper adds ``P6``, a stride-2 subsampling
of ``P5`` (:class:`LastLevelMaxPool`), so that the largest anchors (512 pixels) have a level
of their own.

The modules have torchvision's ``state_dict`` keys (``inner_blocks.i.0`` for the lateral
1x1 convolutions, ``layer_blocks.i.0`` for the 3x3 smoothing convolutions), so the weights of
``torchvision.ops.FeaturePyramidNetwork`` load into :class:`FeaturePyramidNetwork`; the
backbone that puts it on a ResNet is :mod:`lecturepkg.detection.backbone`.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from lecturepkg.detection._args import check_feature_map, check_int

__all__ = ["ExtraFPNBlock", "LastLevelMaxPool", "FeaturePyramidNetwork"]


class ExtraFPNBlock(nn.Module):
    """Base class of the extra levels that a :class:`FeaturePyramidNetwork` appends.

    ``forward(results, x, names)`` takes the pyramid's outputs (finest first), the
    backbone's input maps and the names of the levels, and returns the extended outputs and
    names, as torchvision's ``ExtraFPNBlock``.
    """

    def forward(self, results: list[torch.Tensor], x: list[torch.Tensor],
                names: list[str]) -> tuple[list[torch.Tensor], list[str]]:
        raise NotImplementedError


class LastLevelMaxPool(ExtraFPNBlock):
    """The level ``P6`` of Lin et al. (2017), ``P5`` subsampled with stride 2, named ``"pool"``.

    torchvision computes it as a max pooling with a 1x1 window and stride 2, which is plain
    subsampling: it keeps every other row and column, starting with the first.

    >>> out, names = LastLevelMaxPool()([torch.arange(16.).reshape(1, 1, 4, 4)], [], ["0"])
    >>> names, out[1].flatten().tolist()
    (['0', 'pool'], [0.0, 2.0, 8.0, 10.0])
    """

    def forward(self, results: list[torch.Tensor], x: list[torch.Tensor],
                names: list[str]) -> tuple[list[torch.Tensor], list[str]]:
        p6 = F.max_pool2d(results[-1], kernel_size=1, stride=2, padding=0)  # (N, C, H/2, W/2)
        return results + [p6], names + ["pool"]


def _conv_block(in_channels: int, out_channels: int, kernel_size: int,
                norm_layer: Callable[[int], nn.Module] | None) -> nn.Sequential:
    """A convolution (``same`` padding), followed by ``norm_layer`` if one is given.

    The convolution has a bias only without a norm layer, as torchvision's
    ``Conv2dNormActivation``; index 0 of the sequence is the convolution in both cases.
    """
    conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2,
                     bias=norm_layer is None)
    if norm_layer is None:
        return nn.Sequential(conv)
    return nn.Sequential(conv, norm_layer(out_channels))


class FeaturePyramidNetwork(nn.Module):
    """A feature pyramid on top of a backbone's maps (Lin et al. 2017), torchvision's FPN.

    Parameters
    ----------
    in_channels_list : sequence of int
        Channels of each input map, finest (largest) first.
    out_channels : int
        Channels of every output map (256 in the paper).
    extra_blocks : ExtraFPNBlock or None
        Appends further levels, such as :class:`LastLevelMaxPool`.
    norm_layer : callable or None
        A norm layer after each convolution (none in the paper).

    ``forward(x)`` takes an ordered dict of ``(N, C_i, H_i, W_i)`` maps, finest first, and
    returns an ordered dict with the same names (plus those of ``extra_blocks``) of
    ``(N, out_channels, H_i, W_i)`` maps. A coarser map need not be exactly half the size of
    the finer one: the top-down pathway resizes it to the finer map's size.

    >>> fpn = FeaturePyramidNetwork([8, 16], 4, extra_blocks=LastLevelMaxPool())
    >>> x = OrderedDict(c2=torch.randn(1, 8, 16, 16), c3=torch.randn(1, 16, 8, 8))
    >>> [(k, tuple(v.shape)) for k, v in fpn(x).items()]
    [('c2', (1, 4, 16, 16)), ('c3', (1, 4, 8, 8)), ('pool', (1, 4, 4, 4))]
    """

    def __init__(
        self,
        in_channels_list: Sequence[int],
        out_channels: int,
        extra_blocks: ExtraFPNBlock | None = None,
        norm_layer: Callable[[int], nn.Module] | None = None,
    ):
        super().__init__()
        if (not isinstance(in_channels_list, Sequence) or isinstance(in_channels_list, str)
                or len(in_channels_list) == 0):
            raise TypeError(
                f"in_channels_list must be a non-empty sequence of ints, got {in_channels_list!r}"
            )
        in_channels_list = [check_int(f"in_channels_list[{i}]", c, minimum=1)
                            for i, c in enumerate(in_channels_list)]
        out_channels = check_int("out_channels", out_channels, minimum=1)
        if extra_blocks is not None and not isinstance(extra_blocks, ExtraFPNBlock):
            raise TypeError(
                f"extra_blocks must be None or an ExtraFPNBlock, got {type(extra_blocks).__name__}"
            )
        if norm_layer is not None and not callable(norm_layer):
            raise TypeError(f"norm_layer must be None or a callable, got {norm_layer!r}")
        self.in_channels_list = in_channels_list
        self.out_channels = out_channels
        # lateral connections: 1x1 convolutions C_i -> out_channels
        self.inner_blocks = nn.ModuleList(
            [_conv_block(c, out_channels, 1, norm_layer) for c in in_channels_list])
        # 3x3 convolutions that smooth each sum of the top-down pathway into P_i
        self.layer_blocks = nn.ModuleList(
            [_conv_block(out_channels, out_channels, 3, norm_layer) for _ in in_channels_list])
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_uniform_(m.weight, a=1)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)
        self.extra_blocks = extra_blocks

    def forward(self, x: "dict[str, torch.Tensor]") -> "dict[str, torch.Tensor]":
        if not isinstance(x, dict):
            raise TypeError(
                "x must be an ordered dict of (N, C_i, H_i, W_i) feature maps, finest first, "
                f"got {type(x).__name__}"
            )
        if len(x) != len(self.inner_blocks):
            raise ValueError(
                f"x must hold {len(self.inner_blocks)} feature maps (one per entry of "
                f"in_channels_list), got {len(x)}"
            )
        names = list(x.keys())
        maps = list(x.values())
        for name, c, m in zip(names, self.in_channels_list, maps):
            check_feature_map(f"x[{name!r}]", m)
            if m.shape[1] != c or m.shape[0] != maps[0].shape[0]:
                raise ValueError(
                    f"x[{name!r}] must have shape ({maps[0].shape[0]}, {c}, H, W), "
                    f"got {tuple(m.shape)}"
                )

        # top-down pathway, from the coarsest map to the finest
        last_inner = self.inner_blocks[-1](maps[-1])  # (N, out, H_last, W_last)
        results = [self.layer_blocks[-1](last_inner)]
        for i in range(len(maps) - 2, -1, -1):
            lateral = self.inner_blocks[i](maps[i])  # (N, out, H_i, W_i)
            top_down = F.interpolate(last_inner, size=lateral.shape[-2:], mode="nearest")
            last_inner = lateral + top_down  # (N, out, H_i, W_i)
            results.insert(0, self.layer_blocks[i](last_inner))  # P_i, finest first

        if self.extra_blocks is not None:
            results, names = self.extra_blocks(results, maps, names)
        return OrderedDict(zip(names, results))
