"""AlexNet, the network of Krizhevsky, Sutskever & Hinton (2012), in two versions.

:class:`AlexNet2012` is the network of the paper, "ImageNet Classification with Deep
Convolutional Neural Networks" (NIPS 2012, Figure 2), trained split over two GTX 580 GPUs
with 3 GB each. Its five convolutional layers have 96, 256, 384, 384 and 256 kernels, each
half of them on one GPU. Layers 2, 4 and 5 only see the maps of their own GPU: they are
*grouped* convolutions with two groups (``groups=2``), so each kernel of layer 2 has depth
48, not 96. Layer 3 and the fully connected layers see both halves. Local response
normalization follows the ReLU of layers 1 and 2, and overlapping 3x3 max pooling with
stride 2 follows the normalizations and layer 5. The paper writes that the input is
224 x 224, but with an 11 x 11 kernel at stride 4 and no padding only 227 x 227 gives the
55 x 55 maps of its Figure 2 ((227 - 11) / 4 + 1 = 55), so 227 is what the class takes.
It has 60,965,224 parameters (the paper rounds to "60 million").

:class:`AlexNet` and :func:`alexnet` are torchvision's AlexNet, key for key, so that
torchvision's ImageNet weights load into it. It is *not* the network of the 2012 paper but
the single-GPU variant of Krizhevsky's later "One weird trick for parallelizing
convolutional neural networks" (2014): 64, 192, 384, 256 and 256 kernels, no grouping, no
local response normalization, padding 2 in the first layer (so 224 x 224 inputs work), and an
adaptive average pooling to 6 x 6 before the classifier (so any input of at least 63 x 63
works). It has 61,100,840 parameters.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lecturepkg._checks import check_int
from lecturepkg.models._input import check_input
from lecturepkg.models._pretrained import check_no_weights

__all__ = ["AlexNet", "AlexNet2012", "alexnet", "alexnet2012", "GroupedLocalResponseNorm"]

# the smallest input for which torchvision's AlexNet's last max pooling still sees 3 x 3
_MIN_SIZE = 63


def _check_dropout(dropout) -> float:
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)):
        raise TypeError(f"dropout must be a float in [0, 1), got {dropout!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    return float(dropout)



def _classifier(num_classes: int, dropout: float) -> nn.Sequential:
    """The three fully connected layers both AlexNets share, on (N, 256 * 6 * 6) features."""
    return nn.Sequential(
        nn.Dropout(p=dropout),
        nn.Linear(256 * 6 * 6, 4096),  # (N, 4096)
        nn.ReLU(inplace=True),
        nn.Dropout(p=dropout),
        nn.Linear(4096, 4096),  # (N, 4096)
        nn.ReLU(inplace=True),
        nn.Linear(4096, num_classes),  # (N, num_classes)
    )

class GroupedLocalResponseNorm(nn.Module):
    """Local response normalization of Krizhevsky et al. (2012), Section 3.3, on each GPU's maps.

    ``b_i = a_i / (k + alpha * sum_j a_j**2) ** beta``, the sum running over the ``size``
    maps centred on map ``i`` (fewer at the edges). In the two-GPU network each GPU
    normalizes its own half of the maps, so with ``groups=2`` the window never reaches into
    the other half. ``alpha`` is the paper's: torch's ``local_response_norm`` divides its
    ``alpha`` by ``size``, so it is given ``size * alpha``.
    """

    def __init__(self, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0,
                 groups: int = 2):
        super().__init__()
        self.size = check_int("size", size, minimum=1)
        self.groups = check_int("groups", groups, minimum=1)
        self.alpha, self.beta, self.k = float(alpha), float(beta), float(k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, ("N", "C", "H", "W"))
        if x.shape[1] % self.groups:
            raise ValueError(f"x's {x.shape[1]} channels do not split into {self.groups} groups")
        halves = x.chunk(self.groups, dim=1)  # groups x (N, C / groups, H, W)
        return torch.cat([F.local_response_norm(h, self.size, alpha=self.size * self.alpha,
                                                beta=self.beta, k=self.k) for h in halves],
                         dim=1)  # (N, C, H, W)

    def extra_repr(self) -> str:
        return (f"size={self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}, "
                f"groups={self.groups}")


class AlexNet(nn.Module):
    """torchvision's AlexNet, the single-GPU "one weird trick" variant with 61,100,840 parameters.

    Parameters
    ----------
    num_classes:
        Outputs of the last layer (1000 ImageNet classes).
    dropout:
        Dropout probability before the first two fully connected layers.

    ``forward`` maps ``(N, 3, H, W)`` with ``H, W >= 63`` (224 for ImageNet) to logits
    ``(N, num_classes)``. The state_dict has torchvision's keys (``features.0.weight``, ...,
    ``classifier.6.bias``).
    """

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5):
        super().__init__()
        self.num_classes = check_int("num_classes", num_classes, minimum=1)
        dropout = _check_dropout(dropout)
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),  # (N, 64, 55, 55) at 224
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),  # (N, 64, 27, 27)
            nn.Conv2d(64, 192, kernel_size=5, padding=2),  # (N, 192, 27, 27)
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),  # (N, 192, 13, 13)
            nn.Conv2d(192, 384, kernel_size=3, padding=1),  # (N, 384, 13, 13)
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),  # (N, 256, 13, 13)
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),  # (N, 256, 13, 13)
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),  # (N, 256, 6, 6)
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))  # (N, 256, 6, 6) for any input >= 63
        self.classifier = _classifier(num_classes, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, ("N", 3, "H", "W"))  # TypeError / ValueError naming x
        if min(x.shape[-2:]) < _MIN_SIZE:
            raise ValueError(
                f"x must be at least {_MIN_SIZE} x {_MIN_SIZE} for AlexNet's three max "
                f"poolings (224 x 224 for ImageNet), got {tuple(x.shape[-2:])}"
            )
        x = self.avgpool(self.features(x))  # (N, 256, 6, 6)
        return self.classifier(torch.flatten(x, 1))  # (N, num_classes)


class AlexNet2012(nn.Module):
    """The two-GPU AlexNet of Krizhevsky et al. (2012), for 227 x 227 inputs, 60,965,224 parameters.

    Parameters
    ----------
    num_classes:
        Outputs of the last layer (1000 ImageNet classes).
    dropout:
        Dropout probability before the first two fully connected layers (0.5 in the paper).

    ``forward`` maps ``(N, 3, 227, 227)`` to logits ``(N, num_classes)``. Layers 2, 4 and 5
    are grouped convolutions (``groups=2``): group ``g`` is the half of the network that ran
    on GPU ``g``. The local response normalization (Section 3.3, ``n = 5``, ``k = 2``,
    ``alpha = 1e-4``, ``beta = 0.75``) works on each GPU's half of the maps
    (:class:`GroupedLocalResponseNorm`).
    """

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5):
        super().__init__()
        self.num_classes = check_int("num_classes", num_classes, minimum=1)
        dropout = _check_dropout(dropout)

        def lrn() -> GroupedLocalResponseNorm:  # Section 3.3 of the paper, on each GPU
            return GroupedLocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0, groups=2)

        self.features = nn.Sequential(
            nn.Conv2d(3, 96, kernel_size=11, stride=4),  # (N, 96, 55, 55): 48 per GPU
            nn.ReLU(inplace=True),
            lrn(),
            nn.MaxPool2d(kernel_size=3, stride=2),  # (N, 96, 27, 27): overlapping pooling
            nn.Conv2d(96, 256, kernel_size=5, padding=2, groups=2),  # (N, 256, 27, 27)
            nn.ReLU(inplace=True),
            lrn(),
            nn.MaxPool2d(kernel_size=3, stride=2),  # (N, 256, 13, 13)
            nn.Conv2d(256, 384, kernel_size=3, padding=1),  # (N, 384, 13, 13): both GPUs
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 384, kernel_size=3, padding=1, groups=2),  # (N, 384, 13, 13)
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1, groups=2),  # (N, 256, 13, 13)
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),  # (N, 256, 6, 6)
        )
        self.classifier = _classifier(num_classes, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, ("N", 3, 227, 227))  # TypeError / ValueError naming x
        return self.classifier(torch.flatten(self.features(x), 1))  # (N, num_classes)


def alexnet(*, weights=None, progress: bool = True, **kwargs) -> AlexNet:
    """torchvision's ``alexnet`` builder; ``num_classes`` and ``dropout`` go to :class:`AlexNet`.

    ``weights`` must be ``None`` (the package has no pretrained weights; the error message
    says how to load torchvision's); ``progress`` is accepted for compatibility.
    """
    check_no_weights("alexnet", weights, progress)
    return AlexNet(**kwargs)


def alexnet2012(**kwargs) -> AlexNet2012:
    """The paper's two-GPU AlexNet (:class:`AlexNet2012`), with ``num_classes`` and ``dropout``."""
    return AlexNet2012(**kwargs)
