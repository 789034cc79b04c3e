"""Images in, one padded batch out, and detections back to the original sizes, as torchvision's.

Mask R-CNN takes a *list* of images of any sizes. Before the backbone,
:class:`GeneralizedRCNNTransform` prepares them as torchvision's transform of the same
name:

1. **normalise** each ``(3, H, W)`` image in ``[0, 1]`` with the ImageNet mean and standard
   deviation of the backbone's pretraining, ``(x - mean) / std`` per channel;
2. **resize** it so that its shorter side becomes ``min_size`` (800 in He et al. 2017)
   unless its longer side would then exceed ``max_size`` (1333), keeping its aspect ratio
   (bilinear interpolation; the ground-truth boxes are scaled by the same factors and the
   masks resized by nearest neighbour);
3. **batch** the images into one zero-padded ``(N, 3, H_max, W_max)`` tensor whose sides are
   multiples of ``size_divisible`` (32, the stride of the coarsest backbone map), kept with
   each image's size before padding in an :class:`ImageList`.

After the heads, :meth:`GeneralizedRCNNTransform.postprocess` maps the detections back to
each original image: the boxes are rescaled and the ``M x M`` masks pasted into the image
(:func:`~lecturepkg.detection.masks.paste_masks_in_image`), as probabilities.

In training, ``min_size`` may be a tuple of sizes of which each image draws one at random
(scale augmentation); the draw uses torch's random generator exactly as torchvision does,
so both give the same batch under the same seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from lecturepkg.detection._args import check_boxes, check_int, check_real
from lecturepkg.detection.masks import paste_masks_in_image

__all__ = ["ImageList", "resize_boxes", "GeneralizedRCNNTransform"]


@dataclass
class ImageList:
    """A padded batch of images and the size of each image before padding.

    Attributes
    ----------
    tensors : torch.Tensor
        ``(N, C, H, W)``, the images zero-padded to a common size.
    image_sizes : list of (int, int)
        ``(h, w)`` of each image inside the batch.
    """

    tensors: torch.Tensor
    image_sizes: list[tuple[int, int]]

    def to(self, device: torch.device | str) -> "ImageList":
        """The same batch on ``device``."""
        return ImageList(self.tensors.to(device), self.image_sizes)


def resize_boxes(boxes: torch.Tensor, original_size: Sequence[int],
                 new_size: Sequence[int]) -> torch.Tensor:
    """Scale ``(N, 4)`` boxes from an image of ``original_size`` to one of ``new_size``.

    Both sizes are ``(h, w)``. The two ratios are computed in float32, as torchvision does,
    so that both give the same boxes to the last bit.

    >>> resize_boxes(torch.tensor([[10.0, 20.0, 30.0, 40.0]]), (100, 200), (50, 400))
    tensor([[20., 10., 60., 20.]])
    """
    boxes = check_boxes("boxes", boxes)
    ratio_h, ratio_w = (
        torch.tensor(float(new), dtype=torch.float32, device=boxes.device)
        / torch.tensor(float(old), dtype=torch.float32, device=boxes.device)
        for new, old in zip(new_size, original_size)
    )
    x1, y1, x2, y2 = boxes.unbind(1)
    return torch.stack((x1 * ratio_w, y1 * ratio_h, x2 * ratio_w, y2 * ratio_h), dim=1)


def _check_sizes(min_size: Any) -> tuple[int, ...]:
    if not isinstance(min_size, (list, tuple)):
        min_size = (min_size,)
    if not min_size:
        raise ValueError("min_size must be an int or a non-empty tuple of ints")
    return tuple(check_int(f"min_size[{i}]", s, minimum=1) for i, s in enumerate(min_size))


def _check_channels(name: str, value: Any) -> list[float]:
    if not isinstance(value, (list, tuple)) or not value:
        raise TypeError(f"{name} must be a list of floats, one per channel, got {value!r}")
    return [check_real(f"{name}[{i}]", v, positive=name == "image_std")
            for i, v in enumerate(value)]


class GeneralizedRCNNTransform(nn.Module):
    """Normalise, resize and batch images (and their targets) for Mask R-CNN, torchvision's.

    Parameters
    ----------
    min_size : int or tuple of int
        Length of the shorter side after resizing. A tuple gives the sizes drawn at random
        in training (one per image); evaluation uses the last one.
    max_size : int
        Longest allowed side after resizing.
    image_mean, image_std : list of float
        Per-channel mean and standard deviation of the normalisation.
    size_divisible : int
        The padded batch's height and width are multiples of it (32).
    fixed_size : (int, int) or None
        ``(width, height)`` to resize every image to instead, ignoring the aspect ratio
        (torchvision's order).
    **kwargs
        ``_skip_resize=True`` skips the resizing in training, as torchvision.

    ``forward(images, targets=None)`` returns an :class:`ImageList` and the targets with
    boxes and masks resized (copies: the caller's dicts are not changed).
    """

    def __init__(
        self,
        min_size: int | Sequence[int],
        max_size: int,
        image_mean: Sequence[float],
        image_std: Sequence[float],
        size_divisible: int = 32,
        fixed_size: tuple[int, int] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        self.min_size = _check_sizes(min_size)
        self.max_size = check_int("max_size", max_size, minimum=1)
        self.image_mean = _check_channels("image_mean", image_mean)
        self.image_std = _check_channels("image_std", image_std)
        if len(self.image_mean) != len(self.image_std):
            raise ValueError(f"image_mean and image_std must have one value per channel each, "
                             f"got {len(self.image_mean)} and {len(self.image_std)}")
        self.size_divisible = check_int("size_divisible", size_divisible, minimum=1)
        if fixed_size is not None:
            if not isinstance(fixed_size, (list, tuple)) or len(fixed_size) != 2:
                raise TypeError(f"fixed_size must be None or (width, height), got {fixed_size!r}")
            fixed_size = tuple(check_int(f"fixed_size[{i}]", s, minimum=1)
                               for i, s in enumerate(fixed_size))
        self.fixed_size = fixed_size
        self._skip_resize = bool(kwargs.pop("_skip_resize", False))
        if kwargs:
            raise TypeError(f"unexpected keyword arguments {sorted(kwargs)}")

    # ------------------------------------------------------------------ one image
    def normalize(self, image: torch.Tensor) -> torch.Tensor:
        """``(image - mean) / std`` per channel, for a floating ``(C, H, W)`` image."""
        if not image.is_floating_point():
            raise TypeError(f"images must have a floating dtype (values in [0, 1]), got "
                            f"{image.dtype}")
        if image.shape[0] != len(self.image_mean):
            raise ValueError(f"images must have {len(self.image_mean)} channels (one per "
                             f"image_mean value), got shape {tuple(image.shape)}")
        mean = torch.as_tensor(self.image_mean, dtype=image.dtype, device=image.device)
        std = torch.as_tensor(self.image_std, dtype=image.dtype, device=image.device)
        return (image - mean[:, None, None]) / std[:, None, None]

    def torch_choice(self, k: Sequence[int]) -> int:
        """One element of ``k`` drawn with torch's generator (one uniform draw, always)."""
        index = int(torch.empty(1).uniform_(0.0, float(len(k))).item())
        return k[index]

    def _scale(self, image: torch.Tensor, size: int) -> dict[str, Any]:
        """Arguments of ``F.interpolate`` that bring ``image`` to ``size`` (or fixed_size)."""
        if self.fixed_size is not None:
            return {"size": [self.fixed_size[1], self.fixed_size[0]], "scale_factor": None,
                    "recompute_scale_factor": None}
        h, w = image.shape[-2:]
        # the shorter side becomes `size` unless the longer one would exceed max_size
        scale = min(size / min(h, w), self.max_size / max(h, w))
        return {"size": None, "scale_factor": scale, "recompute_scale_factor": True}

    def resize(
        self, image: torch.Tensor, target: dict[str, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor] | None]:
        """Resize one ``(C, H, W)`` image and its target's boxes and masks."""
        if self.training:
            if self._skip_resize:
                return image, target
            size = self.torch_choice(self.min_size)  # scale augmentation
        else:
            size = self.min_size[-1]
        h, w = image.shape[-2:]
        how = self._scale(image, size)
        image = F.interpolate(image[None], mode="bilinear", align_corners=False,
                              **how)[0]  # (C, H', W')
        if target is None:
            return image, target
        if "masks" in target:  # (M, H, W) uint8 -> (M, H', W'), nearest neighbour
            masks = target["masks"][:, None].float()
            target["masks"] = F.interpolate(masks, **how)[:, 0].byte()
        target["boxes"] = resize_boxes(target["boxes"], (h, w), image.shape[-2:])
        return image, target

    # ------------------------------------------------------------------ the batch
    def batch_images(self, images: Sequence[torch.Tensor],
                     size_divisible: int = 32) -> torch.Tensor:
        """Zero-pad ``(C, H_i, W_i)`` images into one ``(N, C, H, W)`` batch.

        ``H`` and ``W`` are the largest height and width rounded up to multiples of
        ``size_divisible``.
        """
        channels = max(img.shape[0] for img in images)
        height = max(img.shape[1] for img in images)
        width = max(img.shape[2] for img in images)
        height = int(math.ceil(height / size_divisible) * size_divisible)
        width = int(math.ceil(width / size_divisible) * size_divisible)
        batch = images[0].new_zeros((len(images), channels, height, width))
        for i, img in enumerate(images):
            batch[i, : img.shape[0], : img.shape[1], : img.shape[2]].copy_(img)
        return batch

    def _check(self, images: Any, targets: Any) -> None:
        if not isinstance(images, (list, tuple)) or not images:
            raise TypeError(f"images must be a non-empty list of (C, H, W) tensors, got "
                            f"{type(images).__name__}")
        for i, image in enumerate(images):
            if not isinstance(image, torch.Tensor) or image.ndim != 3:
                got = tuple(image.shape) if isinstance(image, torch.Tensor) else \
                    type(image).__name__
                raise ValueError(f"images[{i}] must be a 3-D tensor (C, H, W), got {got}")
        if targets is None:
            return
        if not isinstance(targets, (list, tuple)) or len(targets) != len(images):
            raise ValueError(f"targets must be a list of {len(images)} dicts, one per image")
        for i, target in enumerate(targets):
            if not isinstance(target, Mapping) or "boxes" not in target:
                raise TypeError(f"targets[{i}] must be a dict with the key 'boxes'")
            check_boxes(f"targets[{i}]['boxes']", target["boxes"])

    def forward(
        self,
        images: Sequence[torch.Tensor],
        targets: Sequence[dict[str, torch.Tensor]] | None = None,
    ) -> tuple[ImageList, list[dict[str, torch.Tensor]] | None]:
        self._check(images, targets)
        images = list(images)
        if targets is not None:
            targets = [dict(t) for t in targets]  # shallow copies: the caller's stay as given
        for i, image in enumerate(images):
            target = targets[i] if targets is not None else None
            image, target = self.resize(self.normalize(image), target)
            images[i] = image
            if targets is not None:
                targets[i] = target
        image_sizes = [(int(img.shape[-2]), int(img.shape[-1])) for img in images]
        batch = self.batch_images(images, size_divisible=self.size_divisible)  # (N, C, H, W)
        return ImageList(batch, image_sizes), targets

    def postprocess(
        self,
        result: list[dict[str, torch.Tensor]],
        image_shapes: Sequence[tuple[int, int]],
        original_image_sizes: Sequence[tuple[int, int]],
    ) -> list[dict[str, torch.Tensor]]:
        """Bring detections back to the original images, boxes rescaled and masks pasted.

        ``result`` holds one dict per image with ``boxes`` in the resized image and,
        optionally, ``masks`` ``(D, 1, M, M)``; they are replaced in place by boxes in the
        original image and ``(D, 1, H, W)`` mask probabilities. In training ``result`` is
        returned unchanged.
        """
        if self.training:
            return result
        for pred, shape, original in zip(result, image_shapes, original_image_sizes):
            pred["boxes"] = resize_boxes(pred["boxes"], shape, original)
            if "masks" in pred:
                pred["masks"] = paste_masks_in_image(pred["masks"], pred["boxes"], original)
        return result

    def extra_repr(self) -> str:
        return (f"min_size={self.min_size}, max_size={self.max_size}, "
                f"image_mean={self.image_mean}, image_std={self.image_std}, "
                f"size_divisible={self.size_divisible}, fixed_size={self.fixed_size}")
