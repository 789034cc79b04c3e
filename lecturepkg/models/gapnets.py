"""A small global-average-pooling network for class activation maps, and its one recipe.

Class activation mapping (Zhou et al. 2016) needs a network whose last convolutional maps
``f_k(x, y)`` are averaged over space and fed to one linear layer: the class score is then
``S_c = sum_k w_k^c mean_xy f_k(x, y)``, and the map ``M_c(x, y) = sum_k w_k^c f_k(x, y)``
shows where that score comes from. :class:`GapNet` is such a network, built from chapter
3's blocks (:class:`~lecturepkg.blocks.ConvBNReLU`,
:class:`~lecturepkg.blocks.GlobalAvgPoolHead`, as Network in Network, Lin et al. 2014,
introduced the head)::

    stage1   ConvBNReLU(in_channels, width, 3, padding=1)   (N, width, H, W)
    pool1    MaxPool2d(2)                                    (N, width, H/2, W/2)
    stage2   ConvBNReLU(width, 2 width, 3, padding=1)        (N, 2 width, H/2, W/2)
    pool2    MaxPool2d(2)                                    (N, 2 width, H/4, W/4)
    features ConvBNReLU(2 width, 4 width, 3, padding=1)      (N, 4 width, H/4, W/4)
    head     GlobalAvgPoolHead(4 width, num_classes)         (N, num_classes)

``model.features`` is the layer for CAM and Grad-CAM, ``model.head.fc`` the class weights.
The feature maps keep a quarter of the input's resolution (8 x 8 for 32 x 32 images), and
each of their pixels sees 18 x 18 input pixels.

:func:`train_gapnet` is the training recipe that every page of chapter 4 calls, so that the
same seed gives the same network everywhere.
"""

from __future__ import annotations

import torch
from torch import nn

from lecturepkg._checks import check_int
from lecturepkg.blocks import ConvBNReLU, GlobalAvgPoolHead
from lecturepkg.device import get_device
from lecturepkg.models._input import check_input
from lecturepkg.seed import seed_everything
from lecturepkg.train import fit, make_loader

__all__ = ["GapNet", "train_gapnet"]


class GapNet(nn.Module):
    """Three conv-BN-ReLU stages, two max-pools, global average pooling and one linear layer.

    Parameters
    ----------
    in_channels : int
        Channels of the input images (3 for RGB).
    num_classes : int
        Number of classes (at least 2).
    width : int
        Filters of the first stage; the second has ``2 width``, ``features`` ``4 width``.

    Input ``(N, in_channels, H, W)`` with ``H, W >= 4``; output ``(N, num_classes)`` logits.
    The submodules are ``stage1``, ``pool1``, ``stage2``, ``pool2``, ``features`` and
    ``head`` (``head.fc`` is the linear layer), in the order of the forward pass.

    >>> model = GapNet(3, num_classes=4, width=8)
    >>> model(torch.randn(2, 3, 64, 64)).shape
    torch.Size([2, 4])
    >>> model.features(model.pool2(model.stage2(model.pool1(model.stage1(
    ...     torch.randn(2, 3, 64, 64)))))).shape  # the maps CAM weighs
    torch.Size([2, 32, 16, 16])
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 4, *, width: int = 12):
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, minimum=1)
        check_int("num_classes", num_classes, minimum=2)
        check_int("width", width, minimum=1)
        self.stage1 = ConvBNReLU(in_channels, width, 3, padding=1)
        self.pool1 = nn.MaxPool2d(2)
        self.stage2 = ConvBNReLU(width, 2 * width, 3, padding=1)
        self.pool2 = nn.MaxPool2d(2)
        self.features = ConvBNReLU(2 * width, 4 * width, 3, padding=1)
        self.head = GlobalAvgPoolHead(4 * width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, ("N", self.in_channels, "H", "W"))
        if x.shape[-2] < 4 or x.shape[-1] < 4:
            raise ValueError(f"x must be at least 4 x 4 pixels (two 2 x 2 max-pools), got "
                             f"{tuple(x.shape)}")
        x = self.pool1(self.stage1(x))  # (N, width, H/2, W/2)
        x = self.pool2(self.stage2(x))  # (N, 2 width, H/4, W/4)
        x = self.features(x)  # (N, 4 width, H/4, W/4): the maps f_k of CAM
        return self.head(x)  # (N, num_classes)


def train_gapnet(
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    num_classes: int | None = None,
    width: int = 12,
    seed: int = 0,
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 3e-3,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> GapNet:
    """Train a :class:`GapNet` on ``images`` and ``labels``: the recipe of chapter 4.

    Seeds everything with ``seed`` (:func:`lecturepkg.seed_everything`), builds
    ``GapNet(C, num_classes, width=width)``, and trains it with :func:`lecturepkg.train.fit`:
    Adam, learning rate ``lr`` decayed along a cosine to zero over ``epochs``,
    cross-entropy, mini-batches of ``batch_size`` shuffled by a generator seeded with
    ``seed``, and random horizontal and vertical flips of each training image (a shape's
    class does not change when it is mirrored). The same arguments on the same device give
    the same network.

    On 3,000 images of :func:`lecturepkg.data.make_scenes` (32 x 32, four shapes on real
    textures) the defaults reach about 98% accuracy on new images, in seconds on a CPU.

    Parameters
    ----------
    images : torch.Tensor
        Float ``(N, C, H, W)``, for example :func:`lecturepkg.data.make_scenes`' images.
    labels : torch.Tensor
        Integer class indices ``(N,)``.
    num_classes : int, optional
        Default ``labels.max() + 1``.
    width, seed, epochs, batch_size, lr
        As described above.
    device : torch.device or str, optional
        Where to train; default :func:`lecturepkg.get_device`.
    progress : bool
        Show a progress bar over the epochs.

    Returns
    -------
    GapNet
        The trained network, in evaluation mode, on ``device``.
    """
    if not isinstance(images, torch.Tensor) or not images.is_floating_point():
        raise TypeError(f"images must be a float torch.Tensor (N, C, H, W), got "
                        f"{type(images).__name__}")
    if images.ndim != 4:
        raise ValueError(f"images must have shape (N, C, H, W), got {tuple(images.shape)}")
    if (not isinstance(labels, torch.Tensor) or labels.dtype.is_floating_point
            or labels.dtype == torch.bool or labels.is_complex()):
        raise TypeError("labels must be an integer torch.Tensor (N,) of class indices")
    if labels.shape != (len(images),):
        raise ValueError(f"labels must have shape (N,) = ({len(images)},), got "
                         f"{tuple(labels.shape)}")
    if labels.min() < 0:
        raise ValueError("labels must be class indices >= 0")
    if num_classes is None:
        num_classes = int(labels.max()) + 1
    num_classes = check_int("num_classes", num_classes, minimum=2)
    if labels.max() >= num_classes:
        raise ValueError(f"labels must be < num_classes = {num_classes}, got "
                         f"{int(labels.max())}")
    epochs = check_int("epochs", epochs, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    device = torch.device(device) if device is not None else get_device()
    seed_everything(seed)
    model = GapNet(images.shape[1], num_classes, width=width).to(device)
    loader = make_loader(images, labels.long(), batch_size=batch_size, shuffle=True, seed=seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    generator = torch.Generator(device="cpu").manual_seed(seed)

    def flip(batch: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, C, H, W)
        coins = torch.rand(2, len(batch), generator=generator).to(batch.device) < 0.5
        batch = torch.where(coins[0, :, None, None, None], batch.flip(-1), batch)
        return torch.where(coins[1, :, None, None, None], batch.flip(-2), batch)

    fit(model, loader, epochs=epochs, optimizer=optimizer, scheduler=scheduler,
        transform=flip, progress=progress)
    return model.eval()
