"""Random augmentation of a batch, one random draw per image.

The transforms of ``torchvision.transforms.v2`` draw their random parameters once per call,
so a whole batch tensor ``(B, C, H, W)`` passed to one call is flipped, rotated or cropped
identically. Augmentation is meant to show each image in its own variant (Shorten &
Khoshgoftaar 2019): :class:`PerSample` applies the transform to each image of the batch
separately. It is the ``transform`` argument of :func:`lecturepkg.train.fit`.
"""

from __future__ import annotations

from typing import Callable

import torch

__all__ = ["PerSample"]


class PerSample:
    """Apply a transform to every image of a batch with its own random draw.

    Parameters
    ----------
    transform:
        A callable that maps one image ``(C, H, W)`` to an image ``(C', H', W')`` of the
        same shape for every image, such as a ``torchvision.transforms.v2`` transform.

    Examples
    --------
    >>> import torchvision.transforms.v2 as T
    >>> augment = PerSample(T.RandomHorizontalFlip())
    >>> augment(torch.zeros(5, 1, 8, 8)).shape
    torch.Size([5, 1, 8, 8])
    """

    def __init__(self, transform: Callable[[torch.Tensor], torch.Tensor]):
        if not callable(transform):
            raise TypeError(f"transform must be callable, got {type(transform).__name__}")
        self.transform = transform

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        """The batch ``(B, C, H, W)`` with each image transformed on its own."""
        if not isinstance(batch, torch.Tensor):
            raise TypeError(f"batch must be a torch.Tensor of shape (B, C, H, W), "
                            f"got {type(batch).__name__}")
        if batch.ndim != 4 or len(batch) == 0:
            raise ValueError(f"batch must have shape (B, C, H, W) with B >= 1, "
                             f"got {tuple(batch.shape)}")
        return torch.stack([self.transform(image) for image in batch])  # (B, C', H', W')

    def __repr__(self) -> str:
        return f"PerSample({self.transform!r})"
