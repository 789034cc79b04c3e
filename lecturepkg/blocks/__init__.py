"""The building blocks of the classic CNNs, one concept per module.

* :class:`ConvBNReLU` (``conv_bn_relu``): convolution, batch norm, ReLU.
* :func:`depth_concat`, :class:`DepthConcat` (``depth_concatenation``): zero-pad feature
  maps to a common size and stack them along the channels.
* :class:`NaiveInception`, :class:`Inception` (``inception``): GoogLeNet's module.
* :class:`BasicBlock`, :class:`Bottleneck`, :func:`projection_shortcut` (``residual``):
  ResNet's blocks, with the plain variants of the degradation experiment.
* :class:`Highway`, :class:`HighwayConv2d` (``highway``): gated carry of the input.
* :class:`GlobalAvgPoolHead` (``gap``): global average pooling and a linear classifier.

The networks of :mod:`lecturepkg.models` (GoogLeNet, ResNet) are built from these blocks,
with torchvision's parameter names.
"""

from lecturepkg.blocks.conv_bn_relu import ConvBNReLU
from lecturepkg.blocks.depth_concatenation import DepthConcat, depth_concat
from lecturepkg.blocks.gap import GlobalAvgPoolHead
from lecturepkg.blocks.highway import Highway, HighwayConv2d
from lecturepkg.blocks.inception import Inception, NaiveInception
from lecturepkg.blocks.residual import BasicBlock, Bottleneck, projection_shortcut

__all__ = [
    "ConvBNReLU",
    "depth_concat",
    "DepthConcat",
    "NaiveInception",
    "Inception",
    "BasicBlock",
    "Bottleneck",
    "projection_shortcut",
    "Highway",
    "HighwayConv2d",
    "GlobalAvgPoolHead",
]
