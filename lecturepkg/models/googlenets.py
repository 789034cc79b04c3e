"""GoogLeNet (Szegedy et al. 2015, "Going deeper with convolutions"), torchvision's and the paper's.

GoogLeNet, the winner of ILSVRC 2014, is 22 layers deep with parameters, yet has about 12
times fewer parameters than AlexNet: nine inception modules
(:class:`~lecturepkg.blocks.Inception`) whose 1x1 convolutions reduce the depth before every
3x3 and 5x5 convolution, and global average pooling instead of large dense layers at the
end. Two auxiliary classifiers (:class:`InceptionAux`), on the outputs of inception (4a) and
(4d), add their losses (weighted 0.3 in the paper) during training, to push gradient into
the middle of the network; at inference they are dropped.

:func:`googlenet` takes torchvision's keywords and the model has its ``state_dict`` keys and
shapes, so torchvision's ImageNet weights load into it (``model.load_state_dict(
torchvision.models.googlenet(weights="DEFAULT", aux_logits=True).state_dict())``, with
internet access; ``weights`` itself must be ``None``) and the outputs are the same.

Where torchvision differs from the paper. torchvision's GoogLeNet (``variant="torchvision"``,
the default) differs from the network of the paper in two ways:

* every convolution is followed by a batch norm (``eps=1e-3``), which was published a few
  months after GoogLeNet (Ioffe & Szegedy 2015), and has no bias;
* the third branch of every inception module, called 5x5 (``ch5x5red``, ``ch5x5``), is a
  3x3 convolution: torchvision's code calls it a known bug, kept for its weights.

``variant="paper"`` builds the network of the paper's Table 1 and Fig. 3: convolutions with
biases and ReLUs and no batch norm, 5x5 convolutions in the third branch, and the two local
response normalisations of Fig. 3 (after the first max pooling and after the 3x3
convolution; size 5, ``alpha=1e-4``, ``beta=0.75`` as in the reference Caffe model). Two
choices stay torchvision's in both variants: ``dropout=0.2`` before the classifier (the paper
used 0.4: pass ``dropout=0.4``) and adaptive average pooling (the paper's 7x7 and 5x5/3
average poolings, which give the same result at 224 x 224).

Counts of the paper's variant against its Table 1 (tests/test_models_resnets_googlenets.py
asserts every statement of this paragraph). The table counts weights without biases,
apparently in units of 1,024 ("K": the linear layer's 1,024 x 1,000 weights are its
"1000K"), and operations in millions of multiply-adds ("M"). Recomputed from the layer
sizes of the same table:

* operations: 12 of the 14 rows agree to within 1M. Not the first (the 7x7 convolution,
  34M in the table; 64 filters of 7 x 7 x 3 at 112 x 112 are 118M) nor inception (5a)
  (54M in the table, 51M recomputed);
* parameters: 5 of the 14 rows agree to within 1K (the 3x3 convolution with its reduction,
  inception 3a, 3b and 4b, and the linear layer). The others do not: the 7x7 convolution
  (2.7K in the table, 9.2K recomputed), 4a (364K / 367K), 4c (463K / 498K, although its
  operations, 100M, agree), 4d (580K / 591K), 4e (840K / 847K), 5a (1072K / 1018K) and 5b
  (1388K / 1409K). The table's 5a row is consistent with itself (54M / 49 positions is
  about 1072K) but not with the module's filter counts in the same row;
* totals: the parameters column sums to 6,798K and the recomputed weights to 6,826K, both
  6.8 "M" as the paper writes (6,990,272 weights, 6,998,552 parameters with the biases);
  the operations column sums to 1,502M, the "1.5 billion multiply-adds" of the text, and
  the recomputed operations to 1,583M, the difference being the first row's.

torchvision's variant has 6,624,904 parameters (without the auxiliary classifiers) and
1.498 billion multiply-adds, its published figures: its 3x3 third branches cost less than
the paper's 5x5.
"""

from __future__ import annotations

from collections import namedtuple

import torch
import torch.nn.functional as F
from torch import nn

from lecturepkg._checks import check_int
from lecturepkg.blocks import ConvBNReLU, Inception
from lecturepkg.models._input import check_input
from lecturepkg.models._pretrained import check_no_weights

__all__ = ["GoogLeNet", "GoogLeNetOutputs", "InceptionAux", "googlenet"]

GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])
GoogLeNetOutputs.__doc__ = """What :class:`GoogLeNet` returns in training mode with auxiliary
classifiers: the main logits, then those of the classifier on (4d), then on (4a)."""

VARIANTS = ("torchvision", "paper")

# the nine inception modules of Table 1:
# (name, in_channels, #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj)
INCEPTION_CONFIG = [
    ("inception3a", 192, 64, 96, 128, 16, 32, 32),
    ("inception3b", 256, 128, 128, 192, 32, 96, 64),
    ("inception4a", 480, 192, 96, 208, 16, 48, 64),
    ("inception4b", 512, 160, 112, 224, 24, 64, 64),
    ("inception4c", 512, 128, 128, 256, 24, 64, 64),
    ("inception4d", 512, 112, 144, 288, 32, 64, 64),
    ("inception4e", 528, 256, 160, 320, 32, 128, 128),
    ("inception5a", 832, 256, 160, 320, 32, 128, 128),
    ("inception5b", 832, 384, 192, 384, 48, 128, 128),
]


def _check_dropout(name: str, p) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {p!r}")
    return float(p)


class InceptionAux(nn.Module):
    """An auxiliary classifier of GoogLeNet, on the output of inception (4a) or (4d).

    Average pooling to 4 x 4, a 1x1 convolution to 128 channels (``conv``, a
    :class:`~lecturepkg.blocks.ConvBNReLU`), a dense layer of 1024 units with ReLU (``fc1``),
    dropout, and a linear layer to the classes (``fc2``): torchvision's ``InceptionAux``.

    >>> aux = InceptionAux(512, 10)
    >>> aux(torch.randn(2, 512, 14, 14)).shape
    torch.Size([2, 10])
    """

    def __init__(self, in_channels: int, num_classes: int, dropout: float = 0.7, *,
                 batch_norm: bool = True):
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, minimum=1)
        check_int("num_classes", num_classes, minimum=1)
        dropout = _check_dropout("dropout", dropout)
        self.conv = ConvBNReLU(in_channels, 128, kernel_size=1, eps=1e-3, batch_norm=batch_norm)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, ("N", self.in_channels, "H", "W"))  # TypeError / ValueError naming x
        x = F.adaptive_avg_pool2d(x, (4, 4))  # (N, C, 4, 4): 5x5 / 3 pooling at 14 x 14
        x = self.conv(x)  # (N, 128, 4, 4)
        x = torch.flatten(x, 1)  # (N, 2048)
        x = F.relu(self.fc1(x))  # (N, 1024)
        return self.fc2(self.dropout(x))  # (N, num_classes)


class GoogLeNet(nn.Module):
    """GoogLeNet (Inception v1) for ``(N, 3, H, W)`` images, torchvision's ``GoogLeNet``.

    Parameters
    ----------
    num_classes : int
        Outputs of the classifier ``fc`` (and of the auxiliary classifiers).
    aux_logits : bool
        Build the auxiliary classifiers ``aux1`` (on 4a) and ``aux2`` (on 4d). In training
        mode the model then returns :data:`GoogLeNetOutputs` ``(logits, aux_logits2,
        aux_logits1)``; in eval mode, or without them, the logits ``(N, num_classes)``.
    transform_input : bool
        Re-normalise an input normalised with ImageNet's mean and standard deviation to
        ``(x - 0.5) / 0.5``, the input of the ported original weights (torchvision's option).
    init_weights : bool or None
        Initialise convolutions and linear layers from a normal distribution truncated to
        [-2, 2] with standard deviation 0.01, as torchvision; ``None`` means ``True``.
    blocks : None
        torchvision's hook for other block classes; the course's GoogLeNet is built from
        :mod:`lecturepkg.blocks` and takes only ``None``.
    dropout, dropout_aux : float
        Dropout before the classifier (torchvision 0.2; the paper 0.4) and in the auxiliary
        classifiers (0.7).
    variant : {"torchvision", "paper"}
        Keyword only; see the module's docstring. ``"paper"`` has no batch norm, 5x5
        convolutions in the third branch and local response normalisation.

    >>> model = GoogLeNet(num_classes=10, aux_logits=False)
    >>> model(torch.randn(2, 3, 64, 64)).shape
    torch.Size([2, 10])
    """

    def __init__(
        self,
        num_classes: int = 1000,
        aux_logits: bool = True,
        transform_input: bool = False,
        init_weights: bool | None = None,
        blocks: None = None,
        dropout: float = 0.2,
        dropout_aux: float = 0.7,
        *,
        variant: str = "torchvision",
    ):
        super().__init__()
        check_int("num_classes", num_classes, minimum=1)
        for name, value in [("aux_logits", aux_logits), ("transform_input", transform_input)]:
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be a bool, got {value!r}")
        if init_weights is not None and not isinstance(init_weights, bool):
            raise TypeError(f"init_weights must be None or a bool, got {init_weights!r}")
        if blocks is not None:
            raise ValueError(
                "blocks must be None: the course's GoogLeNet is built from lecturepkg.blocks "
                f"(ConvBNReLU, Inception, InceptionAux), got {blocks!r}"
            )
        dropout = _check_dropout("dropout", dropout)
        dropout_aux = _check_dropout("dropout_aux", dropout_aux)
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
        self.aux_logits = aux_logits
        self.transform_input = transform_input
        self.variant = variant
        paper = variant == "paper"

        def conv(c_in: int, c_out: int, k: int, stride: int = 1, padding: int = 0):
            return ConvBNReLU(c_in, c_out, k, stride, padding, eps=1e-3, batch_norm=not paper)

        def lrn() -> nn.Module:  # Fig. 3's LocalRespNorm; absent from torchvision
            return nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75) if paper else nn.Identity()

        self.conv1 = conv(3, 64, 7, stride=2, padding=3)  # (N, 64, 112, 112) at 224 x 224
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)  # (N, 64, 56, 56)
        self.lrn1 = lrn()
        self.conv2 = conv(64, 64, 1)  # (N, 64, 56, 56): the 3x3's reduction
        self.conv3 = conv(64, 192, 3, padding=1)  # (N, 192, 56, 56)
        self.lrn2 = lrn()
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)  # (N, 192, 28, 28)

        def inception(name: str) -> Inception:
            _, *channels = next(row for row in INCEPTION_CONFIG if row[0] == name)
            return Inception(*channels, branch3_kernel_size=5 if paper else 3,
                             batch_norm=not paper, eps=1e-3)

        self.inception3a = inception("inception3a")  # (N, 256, 28, 28)
        self.inception3b = inception("inception3b")  # (N, 480, 28, 28)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)  # (N, 480, 14, 14)
        self.inception4a = inception("inception4a")  # (N, 512, 14, 14)
        self.inception4b = inception("inception4b")  # (N, 512, 14, 14)
        self.inception4c = inception("inception4c")  # (N, 512, 14, 14)
        self.inception4d = inception("inception4d")  # (N, 528, 14, 14)
        self.inception4e = inception("inception4e")  # (N, 832, 14, 14)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)  # (N, 832, 7, 7)
        self.inception5a = inception("inception5a")  # (N, 832, 7, 7)
        self.inception5b = inception("inception5b")  # (N, 1024, 7, 7)

        if aux_logits:
            self.aux1 = InceptionAux(512, num_classes, dropout=dropout_aux, batch_norm=not paper)
            self.aux2 = InceptionAux(528, num_classes, dropout=dropout_aux, batch_norm=not paper)
        else:
            self.aux1 = None
            self.aux2 = None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))  # (N, 1024, 1, 1)
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(1024, num_classes)

        if init_weights is None or init_weights:  # torchvision's initialisation
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    nn.init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)

    def _transform_input(self, x: torch.Tensor) -> torch.Tensor:
        if not self.transform_input:
            return x
        # from (x - mean) / std with ImageNet's statistics to (x - 0.5) / 0.5
        x_ch0 = torch.unsqueeze(x[:, 0], 1) * (0.229 / 0.5) + (0.485 - 0.5) / 0.5
        x_ch1 = torch.unsqueeze(x[:, 1], 1) * (0.224 / 0.5) + (0.456 - 0.5) / 0.5
        x_ch2 = torch.unsqueeze(x[:, 2], 1) * (0.225 / 0.5) + (0.406 - 0.5) / 0.5
        return torch.cat((x_ch0, x_ch1, x_ch2), 1)

    def forward(self, x: torch.Tensor) -> GoogLeNetOutputs | torch.Tensor:
        check_input(x, ("N", 3, "H", "W"))  # TypeError / ValueError naming x
        if x.shape[2] < 15 or x.shape[3] < 15:
            raise ValueError(f"x must be at least 15 x 15 pixels, got {tuple(x.shape)}")
        x = self._transform_input(x)
        x = self.lrn1(self.maxpool1(self.conv1(x)))  # (N, 64, H / 4, W / 4)
        x = self.maxpool2(self.lrn2(self.conv3(self.conv2(x))))  # (N, 192, H / 8, W / 8)
        x = self.maxpool3(self.inception3b(self.inception3a(x)))  # (N, 480, H / 16, W / 16)
        x = self.inception4a(x)  # (N, 512, H / 16, W / 16)
        aux = self.training and self.aux_logits
        aux1 = self.aux1(x) if aux else None  # (N, num_classes)
        x = self.inception4d(self.inception4c(self.inception4b(x)))  # (N, 528, ...)
        aux2 = self.aux2(x) if aux else None  # (N, num_classes)
        x = self.maxpool4(self.inception4e(x))  # (N, 832, H / 32, W / 32)
        x = self.inception5b(self.inception5a(x))  # (N, 1024, H / 32, W / 32)
        x = torch.flatten(self.avgpool(x), 1)  # (N, 1024)
        x = self.fc(self.dropout(x))  # (N, num_classes)
        return GoogLeNetOutputs(x, aux2, aux1) if aux else x


def googlenet(*, weights=None, progress: bool = True, **kwargs) -> GoogLeNet:
    """GoogLeNet (Szegedy et al. 2015) with torchvision's keywords; 6,624,904 parameters
    without the auxiliary classifiers.

    ``weights`` must be ``None`` (see the module's docstring for loading torchvision's
    weights), ``progress`` is unused, ``**kwargs`` go to :class:`GoogLeNet` (``num_classes``,
    ``aux_logits``, ``transform_input``, ``init_weights``, ``dropout``, ``dropout_aux``,
    ``variant``).

    >>> googlenet(num_classes=10, aux_logits=False)(torch.randn(2, 3, 32, 32)).shape
    torch.Size([2, 10])
    """
    check_no_weights("googlenet", weights, progress)
    return GoogLeNet(**kwargs)
