"""VGG, the very deep networks of Simonyan & Zisserman (2015), with the architecture as data.

"Very Deep Convolutional Networks for Large-Scale Image Recognition" (ICLR 2015) builds
every network from one recipe: stacks of 3x3 convolutions (stride 1, padding 1, so H and W
are kept) with ReLU, separated by 2x2 max poolings that halve H and W, with the number of
maps doubling after each pooling from 64 to 512; then three fully connected layers (4096,
4096, 1000). The networks differ only in how many convolutions each stack has, so the whole
architecture is one list per network (:data:`VGG_CONFIGS`): a number is a 3x3 convolution
with that many output maps, ``"M"`` a max pooling. The keys are the columns of the paper's
Table 1: A (11 weight layers), B (13), D (16) and E (19). Column C (16 layers, with three
1x1 convolutions) and A-LRN are not offered, as in torchvision.

The ``_bn`` variants put a batch normalization (Ioffe & Szegedy 2015, after the paper) after
each convolution. As in torchvision, an adaptive average pooling to 7 x 7 sits between the
convolutions and the classifier: at 224 x 224 it does nothing (the maps are already 7 x 7),
and it lets smaller inputs (at least 32 x 32) through. The builders take torchvision's names
and keywords and their state_dicts have torchvision's keys.
"""

from __future__ import annotations

import torch
from torch import nn

from lecturepkg._checks import check_int
from lecturepkg.models._input import check_input
from lecturepkg.models._pretrained import check_no_weights

__all__ = ["VGG_CONFIGS", "VGG", "make_layers", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn",
           "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"]

#: The columns A, B, D and E of Table 1 of Simonyan & Zisserman, one list per network. A
#: number is a 3x3 convolution with that many output maps (stride 1, padding 1), ``"M"`` a
#: 2x2 max pooling with stride 2.
VGG_CONFIGS: dict[str, list[int | str]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],  # VGG-11
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],  # VGG-13
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M",  # VGG-16
          512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",  # VGG-19
          512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


def _check_config(config) -> list[int | str]:
    if isinstance(config, str):
        if config not in VGG_CONFIGS:
            raise ValueError(f"config must be one of {sorted(VGG_CONFIGS)} or a list, "
                             f"got {config!r}")
        return VGG_CONFIGS[config]
    if not isinstance(config, (list, tuple)) or not config:
        raise TypeError(f"config must be a key of VGG_CONFIGS or a non-empty list of ints "
                        f"and 'M', got {config!r}")
    for i, v in enumerate(config):
        if v != "M":
            check_int(f"config[{i}]", v, minimum=1)
    if not any(v != "M" for v in config):
        raise ValueError(f"config must contain at least one convolution, got {config!r}")
    return list(config)


def make_layers(config: list[int | str], batch_norm: bool = False,
                in_channels: int = 3) -> nn.Sequential:
    """The convolutional part of a VGG from a list like those of :data:`VGG_CONFIGS`.

    Each number ``c`` adds ``Conv2d(c_in, c, 3, padding=1)`` (then ``BatchNorm2d(c)`` if
    ``batch_norm``) and ``ReLU``; each ``"M"`` adds ``MaxPool2d(2, 2)``. The module indices
    are those of torchvision's ``make_layers``, so the state_dict keys agree.
    """
    config = _check_config(config)
    c_in = check_int("in_channels", in_channels, minimum=1)
    layers: list[nn.Module] = []
    for v in config:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))  # (N, c, H / 2, W / 2)
            continue
        layers.append(nn.Conv2d(c_in, v, kernel_size=3, padding=1))  # (N, v, H, W)
        if batch_norm:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU(inplace=True))
        c_in = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """A VGG network, ``make_layers(config)`` then adaptive pooling to 7 x 7 and three dense layers.

    Parameters
    ----------
    in_channels:
        Channels of the input image (3 for ImageNet).
    num_classes:
        Outputs of the last layer (1000 ImageNet classes).
    config:
        A key of :data:`VGG_CONFIGS` (``"A"``, ``"B"``, ``"D"``, ``"E"``: VGG-11, 13, 16,
        19) or a list of the same form.
    batch_norm:
        Batch normalization after each convolution (the ``_bn`` variants).
    init_weights:
        torchvision's initialization (He normal for convolutions, N(0, 0.01) for the
        dense layers, zero biases).
    dropout:
        Dropout probability after the first two dense layers.

    ``forward`` maps ``(N, in_channels, H, W)`` to logits ``(N, num_classes)``; ``H`` and
    ``W`` must be at least ``2**p`` for the ``p`` max poolings of the config (32 for the
    paper's networks; 224 for ImageNet). torchvision's ``VGG`` takes a built ``features``
    module first; here the config itself (the architecture as data) is the argument.
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 1000, *,
                 config: str | list[int | str] = "D", batch_norm: bool = False,
                 init_weights: bool = True, dropout: float = 0.5):
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, minimum=1)
        self.num_classes = check_int("num_classes", num_classes, minimum=1)
        config = _check_config(config)
        for name, value in (("batch_norm", batch_norm), ("init_weights", init_weights)):
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be a bool, got {value!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)):
            raise TypeError(f"dropout must be a float in [0, 1), got {dropout!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.min_size = 2 ** config.count("M")
        last = [v for v in config if v != "M"][-1]
        self.features = make_layers(config, batch_norm, in_channels)  # (N, 512, H/32, W/32)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))  # (N, 512, 7, 7)
        self.classifier = nn.Sequential(
            nn.Linear(last * 7 * 7, 4096),  # (N, 4096)
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),  # (N, 4096)
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),  # (N, num_classes)
        )
        if init_weights:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    nn.init.zeros_(m.bias)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0.0, 0.01)
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, ("N", self.in_channels, "H", "W"))  # TypeError / ValueError naming x
        if min(x.shape[-2:]) < self.min_size:
            raise ValueError(
                f"x must be at least {self.min_size} x {self.min_size} for this VGG's "
                f"max poolings (224 x 224 for ImageNet), got {tuple(x.shape[-2:])}"
            )
        x = self.avgpool(self.features(x))  # (N, 512, 7, 7)
        return self.classifier(torch.flatten(x, 1))  # (N, num_classes)


def _vgg(name: str, config: str, batch_norm: bool, weights, progress, kwargs) -> VGG:
    check_no_weights(name, weights, progress)
    for key in ("config", "batch_norm"):
        if key in kwargs:
            raise TypeError(f"{name}() got an unexpected keyword argument {key!r}")
    return VGG(config=config, batch_norm=batch_norm, **kwargs)


def vgg11(*, weights=None, progress: bool = True, **kwargs) -> VGG:
    """VGG-11 (config "A"); ``num_classes``, ``init_weights``, ``dropout`` go to :class:`VGG`."""
    return _vgg("vgg11", "A", False, weights, progress, kwargs)


def vgg11_bn(*, weights=None, progress: bool = True, **kwargs) -> VGG:
    """VGG-11 (config "A") with batch normalization."""
    return _vgg("vgg11_bn", "A", True, weights, progress, kwargs)


def vgg13(*, weights=None, progress: bool = True, **kwargs) -> VGG:
    """VGG-13 (config "B")."""
    return _vgg("vgg13", "B", False, weights, progress, kwargs)


def vgg13_bn(*, weights=None, progress: bool = True, **kwargs) -> VGG:
    """VGG-13 (config "B") with batch normalization."""
    return _vgg("vgg13_bn", "B", True, weights, progress, kwargs)


def vgg16(*, weights=None, progress: bool = True, **kwargs) -> VGG:
    """VGG-16 (config "D")."""
    return _vgg("vgg16", "D", False, weights, progress, kwargs)


def vgg16_bn(*, weights=None, progress: bool = True, **kwargs) -> VGG:
    """VGG-16 (config "D") with batch normalization."""
    return _vgg("vgg16_bn", "D", True, weights, progress, kwargs)


def vgg19(*, weights=None, progress: bool = True, **kwargs) -> VGG:
    """VGG-19 (config "E")."""
    return _vgg("vgg19", "E", False, weights, progress, kwargs)


def vgg19_bn(*, weights=None, progress: bool = True, **kwargs) -> VGG:
    """VGG-19 (config "E") with batch normalization."""
    return _vgg("vgg19_bn", "E", True, weights, progress, kwargs)
