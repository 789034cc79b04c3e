"""U-Net, the encoder-decoder with skip connections of Ronneberger, Fischer & Brox (2015).

"U-Net: Convolutional Networks for Biomedical Image Segmentation" (MICCAI 2015), Figure 1::

    input (N, 1, 572, 572)
    contracting path, at each of 4 levels:
        two 3x3 convolutions + ReLU (unpadded: -2 pixels each)      64, 128, 256, 512 maps
        keep the result for the skip connection
        2x2 max pooling, stride 2 (halves H and W)
    bottom: two 3x3 convolutions + ReLU                               1024 maps, 28 x 28
    expansive path, at each level back up:
        2x2 up-convolution (transposed convolution, stride 2): doubles H and W, halves maps
        crop the kept encoder map to the same size and concatenate along channels
        two 3x3 convolutions + ReLU
    final 1x1 convolution to the classes                              (N, 2, 388, 388)

With the paper's unpadded ("valid") convolutions every 3x3 convolution eats a one-pixel
border, so the output is smaller than the input (572 -> 388) and the encoder's maps are
larger than the decoder's: they are centre-cropped before concatenation
(:func:`center_crop`). With the defaults the network has 31,030,658 parameters.

``padding="same"`` pads each 3x3 convolution by one pixel instead: the output then has the
input's height and width, and no crop is needed (the variant most re-implementations use,
and the one the course trains on road tiles). ``base_channels`` (64 in the paper) and
``depth`` (4 poolings in the paper) scale the network down for a CPU.

The paper's dropout at the end of the contracting path is a training detail without
parameters and is left out; ``batch_norm=True`` (not in the paper) adds a batch
normalization after each convolution, which makes small networks easier to train.
"""

from __future__ import annotations

import math
import torch
from torch import nn

from lecturepkg._checks import check_int
from lecturepkg.models._input import check_input

__all__ = ["UNet", "unet", "center_crop", "unet_output_size", "DoubleConv", "Up"]

_PADDINGS = ("valid", "same")


def center_crop(x: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """Cut the central ``size`` window out of the last two axes of ``x``.

    Parameters
    ----------
    x:
        Tensor of shape ``(..., H, W)`` (at least 2-D), for example ``(N, C, H, W)``.
    size:
        ``h`` or ``(h, w)``, with ``1 <= h <= H`` and ``1 <= w <= W``.

    Returns
    -------
    torch.Tensor
        ``x[..., top:top + h, left:left + w]`` with ``top = (H - h) // 2`` and
        ``left = (W - w) // 2`` (when the margin is odd, the extra row or column is
        dropped at the bottom or right). U-Net's margins are always even.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor of shape (..., H, W), got {type(x).__name__}")
    if x.ndim < 2:
        raise ValueError(
            f"x must have at least 2 dimensions (..., H, W), got shape {tuple(x.shape)}"
        )
    if isinstance(size, (tuple, list)):
        if len(size) != 2:
            raise ValueError(f"size must be an int or a pair (h, w), got {size!r}")
        h, w = (check_int(f"size[{i}]", s, minimum=1) for i, s in enumerate(size))
    else:
        h = w = check_int("size", size, minimum=1)
    height, width = x.shape[-2:]
    if h > height or w > width:
        raise ValueError(
            f"size {(h, w)} must not exceed the spatial size of x, {(height, width)}"
        )
    top, left = (height - h) // 2, (width - w) // 2
    return x[..., top : top + h, left : left + w]  # (..., h, w)


def _level_sizes(size: int, depth: int) -> tuple[list[int], list[int]] | None:
    """Encoder skip sizes and decoder output sizes of a valid-padding U-Net, or None.

    Returns ``(skips, ups)``: ``skips[i]`` is the size after the two convolutions of encoder
    level ``i`` (``i = depth`` is the bottom), ``ups[i]`` the size after the two
    convolutions of decoder level ``i`` (``ups[0]`` is the output). None if some map would be
    empty or a pooling would see an odd size.
    """
    skips = []
    x = size
    for _ in range(depth):
        x -= 4  # two unpadded 3x3 convolutions
        if x < 2 or x % 2:
            return None
        skips.append(x)
        x //= 2  # 2x2 max pooling
    x -= 4  # the bottom's two convolutions
    if x < 1:
        return None
    skips.append(x)
    ups = [0] * depth + [x]
    for i in reversed(range(depth)):
        x = 2 * x - 4  # up-convolution doubles, two convolutions eat 4
        if x < 1:
            return None
        ups[i] = x
    return skips, ups


def _nearest_valid(size: int, depth: int) -> list[int]:
    """The valid input sizes closest to ``size`` below and above (at most one each)."""
    step = 2**depth
    # a valid size is step * b + 4 * (step - 1) for the bottom input size b (see _level_sizes)
    smallest = next(s for s in range(1, 100 * step) if _level_sizes(s, depth) is not None)
    if size <= smallest:
        return [smallest]
    below = smallest + (size - smallest) // step * step
    return [below, below + step]


def unet_output_size(input_size: int, depth: int = 4, padding: str = "valid") -> int:
    """Output height (or width) of a U-Net for an input of height (or width) ``input_size``.

    With ``padding="valid"`` (the paper) a size is accepted only if every map is non-empty
    and every max pooling sees an even size: 572 -> 388 for ``depth=4``; otherwise a
    ``ValueError`` names the nearest valid sizes. With ``padding="same"`` the output has the
    input's size, which must be divisible by ``2 ** depth``.
    """
    input_size = check_int("input_size", input_size, minimum=1)
    depth = check_int("depth", depth, minimum=1)
    padding = _check_padding(padding)
    if padding == "same":
        if input_size % 2**depth:
            below = input_size // 2**depth * 2**depth
            near = [s for s in (below, below + 2**depth) if s > 0]
            raise ValueError(
                f"with padding='same' and depth={depth} the input height and width must be "
                f"divisible by 2**depth = {2**depth}, got {input_size}; nearest valid sizes: "
                f"{' or '.join(map(str, near))}"
            )
        return input_size
    sizes = _level_sizes(input_size, depth)
    if sizes is None:
        near = _nearest_valid(input_size, depth)
        raise ValueError(
            f"with padding='valid' and depth={depth} an input height or width of "
            f"{input_size} does not tile (every max pooling needs an even size and no map may "
            f"be empty); nearest valid sizes: {' or '.join(map(str, near))}"
        )
    return sizes[1][0]


def _check_padding(padding) -> str:
    if padding not in _PADDINGS:
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    return padding


class DoubleConv(nn.Sequential):
    """Two 3x3 convolutions, each followed by a ReLU (and a batch norm before it if asked).

    Unpadded (``padding=0``, the paper) each convolution shrinks H and W by 2; with
    ``padding=1`` they keep them.
    """

    def __init__(self, in_channels: int, out_channels: int, padding: int = 0,
                 batch_norm: bool = False):
        layers: list[nn.Module] = []
        for c_in in (in_channels, out_channels):
            layers.append(nn.Conv2d(c_in, out_channels, 3, padding=padding, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(out_channels))
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class Up(nn.Module):
    """One level of the expansive path (up-convolution, crop-and-concatenate, two convolutions).

    ``forward(x, skip)``: a 2x2 transposed convolution with stride 2 doubles the size of
    ``x`` ``(N, 2 C, h, w)`` and halves its maps to ``(N, C, 2 h, 2 w)``; the encoder's
    ``skip`` ``(N, C, H, W)`` (``H >= 2 h``) is centre-cropped to ``2 h x 2 w`` and
    concatenated in front, and :class:`DoubleConv` maps the ``2 C`` channels back to ``C``.
    """

    def __init__(self, in_channels: int, out_channels: int, padding: int = 0,
                 batch_norm: bool = False):
        super().__init__()
        self.up = nn.ConvTranspose2d(in_channels, out_channels, kernel_size=2, stride=2)
        self.conv = DoubleConv(2 * out_channels, out_channels, padding, batch_norm)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.up(x)  # (N, C, 2 h, 2 w): doubles the size, halves the maps
        skip = center_crop(skip, x.shape[-2:])  # (N, C, 2 h, 2 w): the encoder map, cropped
        return self.conv(torch.cat([skip, x], dim=1))  # (N, C, 2 h - 4, 2 w - 4) if valid


class UNet(nn.Module):
    """U-Net of Ronneberger et al. (2015), 572 x 572 in, 388 x 388 out, 31,030,658 parameters.

    Parameters
    ----------
    in_channels:
        Channels of the input image (1 in the paper's microscopy images, 3 for RGB).
    num_classes:
        Output maps: one logit per class and pixel (2 in the paper; 1 for a binary mask
        trained with ``BCEWithLogitsLoss``).
    base_channels:
        Maps of the first level (64 in the paper); level ``i`` has ``base_channels * 2**i``.
    depth:
        Number of max poolings (4 in the paper).
    padding:
        ``"valid"`` (the paper: unpadded convolutions, crop-and-concatenate skips) or
        ``"same"`` (padded convolutions: the output keeps H and W, which must be divisible by
        ``2**depth``).
    batch_norm:
        Add ``BatchNorm2d`` after each 3x3 convolution (not in the paper).

    ``forward`` maps ``(N, in_channels, H, W)`` to logits ``(N, num_classes, H_out, W_out)``;
    see :func:`unet_output_size` for ``H_out``. An input size that does not tile raises a
    ``ValueError`` naming the nearest valid sizes.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 2, *, base_channels: int = 64,
                 depth: int = 4, padding: str = "valid", batch_norm: bool = False):
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, minimum=1)
        self.num_classes = check_int("num_classes", num_classes, minimum=1)
        self.base_channels = check_int("base_channels", base_channels, minimum=1)
        self.depth = check_int("depth", depth, minimum=1)
        self.padding = _check_padding(padding)
        if not isinstance(batch_norm, bool):
            raise TypeError(f"batch_norm must be a bool, got {batch_norm!r}")
        pad = 0 if padding == "valid" else 1
        widths = [base_channels * 2**i for i in range(depth + 1)]  # 64, 128, ..., 1024
        self.down = nn.ModuleList()
        c_in = in_channels
        for width in widths[:-1]:
            self.down.append(DoubleConv(c_in, width, pad, batch_norm))
            c_in = width
        self.pool = nn.MaxPool2d(2)
        self.bottom = DoubleConv(widths[-2], widths[-1], pad, batch_norm)
        self.up = nn.ModuleList(  # the expansive path, from the bottom upwards
            Up(2 * width, width, pad, batch_norm) for width in reversed(widths[:-1])
        )
        self.head = nn.Conv2d(widths[0], num_classes, kernel_size=1)
        for m in self.modules():  # the paper: Gaussian, std sqrt(2 / fan-in)
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                fan_in = m.weight[0].numel() if isinstance(m, nn.Conv2d) else (
                    m.weight.shape[0] * math.prod(m.kernel_size))
                nn.init.normal_(m.weight, std=math.sqrt(2.0 / fan_in))
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """``(H_out, W_out)`` for an input of ``(height, width)``, or a ValueError."""
        return (unet_output_size(height, self.depth, self.padding),
                unet_output_size(width, self.depth, self.padding))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, ("N", self.in_channels, "H", "W"))  # TypeError / ValueError naming x
        self.output_size(*x.shape[-2:])  # ValueError with the nearest valid sizes
        skips = []
        for block in self.down:
            x = block(x)  # (N, 64 * 2**i, H_i, W_i)
            skips.append(x)
            x = self.pool(x)  # (N, 64 * 2**i, H_i / 2, W_i / 2)
        x = self.bottom(x)  # (N, 64 * 2**depth, H_b, W_b)
        for up, skip in zip(self.up, reversed(skips)):
            x = up(x, skip)  # (N, C / 2, 2 H - 4, 2 W - 4) when valid, (N, C / 2, 2 H, 2 W) same
        return self.head(x)  # (N, num_classes, H_out, W_out)


def unet(**kwargs) -> UNet:
    """Build a :class:`UNet`; with no arguments, the network of Ronneberger et al. (2015).

    ``unet()`` takes 1 x 572 x 572 tiles to 2 x 388 x 388 logits with 31,030,658
    parameters; ``unet(in_channels=3, num_classes=1, padding="same", base_channels=16)``
    is a small RGB-to-mask network that keeps the tile's size.
    """
    return UNet(**kwargs)
