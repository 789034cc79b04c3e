"""The ResNet-FPN backbone of Mask R-CNN (He et al. 2017; Lin et al. 2017), as torchvision's.

The backbone is chapter 3's ResNet (:mod:`lecturepkg.models.resnets`) without its pooling
and classifier: its ``body`` runs the stem and the stages ``layer1`` to ``layer4`` and
returns their maps ``C2`` to ``C5`` (strides 4, 8, 16, 32) under the names ``"0"`` to
``"3"``; its ``fpn`` (:class:`~lecturepkg.detection.fpn.FeaturePyramidNetwork`) turns them
into ``P2`` to ``P5`` with 256 channels each and adds ``P6`` (``"pool"``, stride 64).

Detection trains on a few images per GPU, too few for batch normalisation's statistics, so
a backbone that starts from ImageNet weights keeps its batch norms *frozen*: each one is the
fixed affine map ``y = (x - mean) / sqrt(var + eps) * weight + bias`` of its stored
statistics (:class:`FrozenBatchNorm2d`). It may also freeze the first stages' weights:
``trainable_layers`` counts the trainable stages from the top (``layer4``, ``layer3``,
``layer2``, ``layer1``, then the stem ``conv1`` and ``bn1``), torchvision's default 3 trains
``layer2`` to ``layer4``.

:func:`resnet_fpn_backbone` and :func:`resnet_fpn_extractor` build the modules of
torchvision's ``resnet_fpn_backbone`` and ``_resnet_fpn_extractor`` with the same
``state_dict`` keys, so torchvision's weights load strictly and give the same feature maps.

:func:`tiny_resnet_fpn_backbone` is a much smaller network of the same layout for training
from scratch on a CPU (the shapes of :mod:`lecturepkg.detection.shapes`): a 3x3 stem and
four stages of chapter 3's :class:`~lecturepkg.blocks.BasicBlock` at strides 4, 8, 16, 32,
16 to 128 channels instead of 64 to 512, and a 64-channel pyramid instead of 256.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Sequence

import torch
from torch import nn

from lecturepkg.detection._args import check_input, check_int
from lecturepkg.blocks import BasicBlock, projection_shortcut
from lecturepkg.detection.fpn import ExtraFPNBlock, FeaturePyramidNetwork, LastLevelMaxPool
from lecturepkg.models import resnets

__all__ = [
    "FrozenBatchNorm2d", "IntermediateLayers", "BackboneWithFPN", "resnet_fpn_extractor",
    "resnet_fpn_backbone", "tiny_resnet_fpn_backbone",
]

RESNETS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")


class FrozenBatchNorm2d(nn.Module):
    """Batch normalisation with fixed statistics and affine parameters, torchvision's.

    The four vectors ``weight``, ``bias``, ``running_mean`` and ``running_var`` are buffers,
    not parameters: no optimiser changes them and training does not update the statistics.
    A ``BatchNorm2d``'s ``state_dict`` loads into it (its ``num_batches_tracked`` is
    dropped), and both then give the same output as the ``BatchNorm2d`` in eval mode.

    >>> bn = FrozenBatchNorm2d(3)
    >>> bn.running_var.fill_(4.0)
    tensor([4., 4., 4.])
    >>> torch.allclose(bn(torch.ones(1, 3, 2, 2)), torch.full((1, 3, 2, 2), 0.5), atol=1e-5)
    True
    """

    def __init__(self, num_features: int, eps: float = 1e-5):
        super().__init__()
        check_int("num_features", num_features, minimum=1)
        self.eps = eps
        self.register_buffer("weight", torch.ones(num_features))
        self.register_buffer("bias", torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        state_dict.pop(prefix + "num_batches_tracked", None)  # a BatchNorm2d's counter
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict,
                                      missing_keys, unexpected_keys, error_msgs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, ("N", self.weight.shape[0], "H", "W"))
        # one scale and one shift per channel: (1, C, 1, 1)
        scale = self.weight * (self.running_var + self.eps).rsqrt()
        shift = self.bias - self.running_mean * scale
        return x * scale.reshape(1, -1, 1, 1) + shift.reshape(1, -1, 1, 1)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}, eps={self.eps}"


class IntermediateLayers(nn.ModuleDict):
    """Runs a network's children in order and returns the outputs of some of them.

    The children of a ResNet are ``conv1``, ``bn1``, ``relu``, ``maxpool``, ``layer1`` to
    ``layer4``, ``avgpool`` and ``fc``, applied in that order; this keeps them up to the last
    one named in ``return_layers`` and drops the rest, as torchvision's
    ``IntermediateLayerGetter`` (whose ``state_dict`` keys it has).

    Parameters
    ----------
    model : nn.Module
        A network whose ``forward`` applies its children one after the other.
    return_layers : dict
        Maps the name of a child to the name of its output, such as
        ``{"layer1": "0", "layer2": "1"}``.
    """

    def __init__(self, model: nn.Module, return_layers: dict[str, str]):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
        if not isinstance(return_layers, dict) or not return_layers:
            raise TypeError(f"return_layers must be a non-empty dict, got {return_layers!r}")
        children = OrderedDict(model.named_children())
        missing = [name for name in return_layers if name not in children]
        if missing:
            raise ValueError(
                f"return_layers names children that model does not have: {missing}; "
                f"model has {list(children)}"
            )
        wanted = set(return_layers)
        layers = OrderedDict()
        for name, module in children.items():
            layers[name] = module
            wanted.discard(name)
            if not wanted:
                break
        super().__init__(layers)
        self.return_layers = {str(k): str(v) for k, v in return_layers.items()}

    def forward(self, x: torch.Tensor) -> "dict[str, torch.Tensor]":
        out = OrderedDict()
        for name, module in self.items():
            x = module(x)
            if name in self.return_layers:
                out[self.return_layers[name]] = x
        return out


class BackboneWithFPN(nn.Module):
    """A network's intermediate maps (``body``) and a feature pyramid on them (``fpn``).

    Parameters
    ----------
    backbone : nn.Module
        The network, such as a :class:`~lecturepkg.models.resnets.ResNet`.
    return_layers : dict
        Children of ``backbone`` whose outputs feed the pyramid, and their names.
    in_channels_list : sequence of int
        Channels of those outputs, in order.
    out_channels : int
        Channels of the pyramid's levels (attribute ``out_channels``, read by the heads).
    extra_blocks : ExtraFPNBlock or None
        Extra levels; ``None`` means :class:`~lecturepkg.detection.fpn.LastLevelMaxPool`.
    norm_layer : callable or None
        Norm layer of the pyramid's convolutions.

    ``forward(x)`` takes ``(N, 3, H, W)`` images and returns an ordered dict of
    ``(N, out_channels, H_i, W_i)`` maps, finest first.
    """

    def __init__(
        self,
        backbone: nn.Module,
        return_layers: dict[str, str],
        in_channels_list: Sequence[int],
        out_channels: int,
        extra_blocks: ExtraFPNBlock | None = None,
        norm_layer: Callable[[int], nn.Module] | None = None,
    ):
        super().__init__()
        if extra_blocks is None:
            extra_blocks = LastLevelMaxPool()
        self.body = IntermediateLayers(backbone, return_layers=return_layers)
        self.fpn = FeaturePyramidNetwork(in_channels_list, out_channels,
                                         extra_blocks=extra_blocks, norm_layer=norm_layer)
        self.out_channels = self.fpn.out_channels

    def forward(self, x: torch.Tensor) -> "dict[str, torch.Tensor]":
        check_input(x, ("N", 3, "H", "W"))
        return self.fpn(self.body(x))  # C_i, then P_i (and P6)


def resnet_fpn_extractor(
    backbone: resnets.ResNet,
    trainable_layers: int,
    returned_layers: Sequence[int] | None = None,
    extra_blocks: ExtraFPNBlock | None = None,
    norm_layer: Callable[[int], nn.Module] | None = None,
) -> BackboneWithFPN:
    """Put a 256-channel feature pyramid on a ResNet and freeze its first stages.

    Parameters
    ----------
    backbone : ResNet
        A :class:`~lecturepkg.models.resnets.ResNet` (its ``avgpool`` and ``fc`` are dropped).
    trainable_layers : int
        0 to 5: how many of ``layer4``, ``layer3``, ``layer2``, ``layer1``, ``conv1`` (counted
        from the top) keep ``requires_grad``; 5 also trains the stem's ``bn1``. The other
        parameters of ``backbone`` are frozen, in place.
    returned_layers : sequence of int or None
        Stages (1 to 4) that feed the pyramid; ``None`` is ``[1, 2, 3, 4]``.
    extra_blocks : ExtraFPNBlock or None
        ``None`` is :class:`~lecturepkg.detection.fpn.LastLevelMaxPool`.
    norm_layer : callable or None
        Norm layer of the pyramid's convolutions.

    The result has torchvision's ``_resnet_fpn_extractor``'s modules and ``state_dict``.
    """
    if not isinstance(backbone, resnets.ResNet):
        raise TypeError(
            f"backbone must be a lecturepkg.models.resnets.ResNet, got {type(backbone).__name__}"
        )
    check_int("trainable_layers", trainable_layers, minimum=0)
    if trainable_layers > 5:
        raise ValueError(f"trainable_layers must be in [0, 5], got {trainable_layers}")
    if returned_layers is None:
        returned_layers = [1, 2, 3, 4]
    if (not isinstance(returned_layers, Sequence) or isinstance(returned_layers, str)
            or not returned_layers):
        raise TypeError(f"returned_layers must be None or a sequence of ints, got "
                        f"{returned_layers!r}")
    for i, k in enumerate(returned_layers):
        check_int(f"returned_layers[{i}]", k)
        if not 1 <= k <= 4:
            raise ValueError(f"returned_layers must hold stages in [1, 4], got {returned_layers}")

    layers_to_train = ["layer4", "layer3", "layer2", "layer1", "conv1"][:trainable_layers]
    if trainable_layers == 5:
        layers_to_train.append("bn1")
    for name, parameter in backbone.named_parameters():
        if not any(name.startswith(layer) for layer in layers_to_train):
            parameter.requires_grad_(False)

    return_layers = {f"layer{k}": str(i) for i, k in enumerate(returned_layers)}
    # the depth of stage k is 2^(k - 1) times that of layer1 (64 for basic blocks, 256 for
    # bottlenecks); backbone.inplanes is the depth of layer4, 8 times layer1's
    in_channels_stage1 = backbone.inplanes // 8
    in_channels_list = [in_channels_stage1 * 2 ** (k - 1) for k in returned_layers]
    return BackboneWithFPN(backbone, return_layers, in_channels_list, 256,
                           extra_blocks=extra_blocks, norm_layer=norm_layer)


def resnet_fpn_backbone(
    *,
    backbone_name: str = "resnet50",
    weights=None,
    norm_layer: Callable[[int], nn.Module] = FrozenBatchNorm2d,
    trainable_layers: int = 3,
    returned_layers: Sequence[int] | None = None,
    extra_blocks: ExtraFPNBlock | None = None,
) -> BackboneWithFPN:
    """A ResNet-FPN backbone built on chapter 3's ResNet, torchvision's ``resnet_fpn_backbone``.

    Parameters
    ----------
    backbone_name : str
        ``"resnet18"``, ``"resnet34"``, ``"resnet50"`` (Mask R-CNN's), ``"resnet101"`` or
        ``"resnet152"``.
    weights : None
        Must be ``None``: the package downloads nothing. Load torchvision's weights with
        ``load_state_dict`` instead.
    norm_layer : callable
        The ResNet's norm layer; :class:`FrozenBatchNorm2d` by default, as torchvision.
    trainable_layers, returned_layers, extra_blocks
        As :func:`resnet_fpn_extractor`.

    >>> backbone = resnet_fpn_backbone(backbone_name="resnet18")
    >>> [(k, tuple(v.shape)) for k, v in backbone(torch.randn(1, 3, 64, 64)).items()]
    [('0', (1, 256, 16, 16)), ('1', (1, 256, 8, 8)), ('2', (1, 256, 4, 4)), \
('3', (1, 256, 2, 2)), ('pool', (1, 256, 1, 1))]
    """
    if backbone_name not in RESNETS:
        raise ValueError(f"backbone_name must be one of {RESNETS}, got {backbone_name!r}")
    builder = getattr(resnets, backbone_name)
    backbone = builder(weights=weights, norm_layer=norm_layer)
    return resnet_fpn_extractor(backbone, trainable_layers, returned_layers, extra_blocks)


def tiny_resnet_fpn_backbone(
    *,
    widths: Sequence[int] = (16, 32, 64, 128),
    blocks: Sequence[int] = (1, 1, 1, 1),
    out_channels: int = 64,
    norm_layer: Callable[[int], nn.Module] | None = None,
    extra_blocks: ExtraFPNBlock | None = None,
) -> BackboneWithFPN:
    """A small ResNet-FPN backbone of basic blocks, to train from scratch on a CPU.

    The layout of ResNet-FPN (He et al. 2016; Lin et al. 2017) at a fraction of its width:
    a stem (3x3 convolution with stride 2, norm, ReLU, 3x3 max pooling with stride 2) and
    four stages ``layer1`` to ``layer4`` of :class:`~lecturepkg.blocks.BasicBlock`, the first
    block of stages 2 to 4 with stride 2 and a :func:`~lecturepkg.blocks.projection_shortcut`
    (also in ``layer1`` when its width differs from the stem's, which it never does here).
    Their maps ``C2`` to ``C5`` (strides 4, 8, 16, 32, ``widths`` channels) feed a
    :class:`~lecturepkg.detection.fpn.FeaturePyramidNetwork` of ``out_channels`` channels
    with ``P6`` by max pooling (stride 64), as :func:`resnet_fpn_backbone`.

    Parameters
    ----------
    widths : sequence of 4 ints
        Channels of ``layer1`` to ``layer4`` (ResNet-18: 64, 128, 256, 512); the stem has
        ``widths[0]``.
    blocks : sequence of 4 ints
        Basic blocks per stage (ResNet-18: 2, 2, 2, 2).
    out_channels : int
        Channels of the pyramid's levels (ResNet-FPN: 256).
    norm_layer : callable or None
        Norm layer of the ResNet part; ``None`` is ``nn.BatchNorm2d`` (trained, since nothing
        is pretrained; :func:`resnet_fpn_backbone` freezes ImageNet statistics instead).
    extra_blocks : ExtraFPNBlock or None
        ``None`` is :class:`~lecturepkg.detection.fpn.LastLevelMaxPool`.

    Returns
    -------
    BackboneWithFPN
        Its ``out_channels`` is ``out_channels``; the maps are named ``"0"`` to ``"3"`` and
        ``"pool"``, as the heads of :class:`~lecturepkg.detection.mask_rcnn.MaskRCNN` expect.

    >>> backbone = tiny_resnet_fpn_backbone()
    >>> [(k, tuple(v.shape)) for k, v in backbone(torch.randn(1, 3, 128, 128)).items()]
    [('0', (1, 64, 32, 32)), ('1', (1, 64, 16, 16)), ('2', (1, 64, 8, 8)), \
('3', (1, 64, 4, 4)), ('pool', (1, 64, 2, 2))]
    """
    for name, value in (("widths", widths), ("blocks", blocks)):
        if isinstance(value, str) or not isinstance(value, Sequence) or len(value) != 4:
            raise ValueError(f"{name} must be a sequence of 4 ints, got {value!r}")
        for i, v in enumerate(value):
            check_int(f"{name}[{i}]", v, minimum=1)
    check_int("out_channels", out_channels, minimum=1)
    if norm_layer is None:
        norm_layer = nn.BatchNorm2d
    if not callable(norm_layer):
        raise TypeError(f"norm_layer must be None or a callable, got {norm_layer!r}")

    layers: OrderedDict[str, nn.Module] = OrderedDict()
    # stem: (N, 3, H, W) -> (N, w0, H / 2, W / 2) -> (N, w0, H / 4, W / 4)
    layers["conv1"] = nn.Conv2d(3, widths[0], kernel_size=3, stride=2, padding=1, bias=False)
    layers["bn1"] = norm_layer(widths[0])
    layers["relu"] = nn.ReLU()
    layers["maxpool"] = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
    inplanes = widths[0]
    for k, (width, count) in enumerate(zip(widths, blocks)):
        stride = 1 if k == 0 else 2  # layer{k + 1}: (N, width, H / 2^(k + 2), W / 2^(k + 2))
        downsample = None
        if stride != 1 or inplanes != width:
            downsample = projection_shortcut(inplanes, width, stride, norm_layer)
        stage = [BasicBlock(inplanes, width, stride, downsample, norm_layer=norm_layer)]
        stage += [BasicBlock(width, width, norm_layer=norm_layer) for _ in range(count - 1)]
        layers[f"layer{k + 1}"] = nn.Sequential(*stage)
        inplanes = width
    body = nn.Sequential(layers)
    for m in body.modules():  # torchvision's ResNet initialisation
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)
    return_layers = {f"layer{k}": str(k - 1) for k in range(1, 5)}
    return BackboneWithFPN(body, return_layers, list(widths), out_channels,
                           extra_blocks=extra_blocks)
