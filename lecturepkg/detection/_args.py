"""Argument checks shared by the modules of :mod:`lecturepkg.detection`.

Detection code passes boxes around as ``(N, 4)`` floating tensors in ``(x1, y1, x2, y2)``
pixel coordinates, scores as ``(N,)`` tensors, feature maps as ``(N, C, H, W)`` tensors and
regions of interest either as one ``(K, 5)`` tensor whose first column is the image index or
as a list with one ``(K_i, 4)`` tensor per image. These checks reject anything else with a
message that names the argument and the expected shape.
"""

from __future__ import annotations

from typing import Any

import torch

from lecturepkg._checks import check_bool, check_input, check_int, check_real, check_tuple

__all__ = [
    "check_int", "check_real", "check_bool", "check_input", "check_tuple",
    "check_tensor", "check_boxes", "check_scores", "check_same_device",
    "check_image_size", "check_feature_map", "check_rois",
]


def check_tensor(name: str, value: Any, *, shape: str = "", floating: bool = False) -> torch.Tensor:
    """Check that ``value`` is a tensor, optionally of a floating dtype."""
    if not isinstance(value, torch.Tensor):
        hint = f" of shape {shape}" if shape else ""
        raise TypeError(f"{name} must be a torch.Tensor{hint}, got {type(value).__name__}")
    if floating and not value.is_floating_point():
        raise TypeError(f"{name} must have a floating dtype, got {value.dtype}")
    return value


def check_boxes(name: str, boxes: Any, *, floating: bool = True) -> torch.Tensor:
    """Check a ``(N, 4)`` tensor of boxes in ``(x1, y1, x2, y2)`` format (``N`` may be 0)."""
    boxes = check_tensor(name, boxes, shape="(N, 4)", floating=floating)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(
            f"{name} must have shape (N, 4) in (x1, y1, x2, y2) format, got {tuple(boxes.shape)}"
        )
    return boxes


def check_scores(name: str, scores: Any, n: int, boxes_name: str = "boxes") -> torch.Tensor:
    """Check a ``(n,)`` tensor with one value per box of ``boxes_name``."""
    scores = check_tensor(name, scores, shape=f"({n},)")
    if scores.ndim != 1 or scores.shape[0] != n:
        raise ValueError(
            f"{name} must have shape ({n},), one value per box of {boxes_name}, "
            f"got {tuple(scores.shape)}"
        )
    return scores


def check_same_device(**tensors: torch.Tensor) -> None:
    """Check that all the named tensors live on one device."""
    devices = {name: t.device for name, t in tensors.items()}
    if len(set(devices.values())) > 1:
        listed = ", ".join(f"{name} on {device}" for name, device in devices.items())
        raise ValueError(f"tensors must be on one device, got {listed}")


def check_image_size(name: str, size: Any) -> tuple[int, int]:
    """Check an image size ``(height, width)`` of two non-negative ints."""
    if not isinstance(size, (tuple, list, torch.Size)) or len(size) != 2:
        raise TypeError(f"{name} must be a (height, width) pair of ints, got {size!r}")
    return (check_int(f"{name}[0]", size[0], minimum=0),
            check_int(f"{name}[1]", size[1], minimum=0))


def check_feature_map(name: str, value: Any) -> torch.Tensor:
    """Check a floating ``(N, C, H, W)`` feature map."""
    value = check_tensor(name, value, shape="(N, C, H, W)", floating=True)
    if value.ndim != 4:
        raise ValueError(f"{name} must have shape (N, C, H, W), got {tuple(value.shape)}")
    return value


def check_rois(name: str, boxes: Any, batch_size: int) -> torch.Tensor:
    """Return regions of interest as one ``(K, 5)`` tensor ``(image index, x1, y1, x2, y2)``.

    ``boxes`` is either that tensor already, or a list (or tuple) with one ``(K_i, 4)`` tensor
    per image, as torchvision's RoI operations accept. The image indices must lie in
    ``[0, batch_size)``.
    """
    if isinstance(boxes, (list, tuple)):
        for i, b in enumerate(boxes):
            check_boxes(f"{name}[{i}]", b)
        if not boxes:
            raise ValueError(f"{name} must hold one (K_i, 4) tensor per image, got an empty list")
        dtypes = {b.dtype for b in boxes}
        if len(dtypes) > 1:
            raise TypeError(f"{name} must all have one dtype, got {sorted(map(str, dtypes))}")
        check_same_device(**{f"{name}[{i}]": b for i, b in enumerate(boxes)})
        index = torch.cat([
            torch.full((len(b), 1), i, dtype=b.dtype, device=b.device)
            for i, b in enumerate(boxes)
        ])  # (K, 1)
        rois = torch.cat([index, torch.cat(list(boxes))], dim=1)  # (K, 5)
    else:
        rois = check_tensor(name, boxes, shape="(K, 5)", floating=True)
        if rois.ndim != 2 or rois.shape[1] != 5:
            raise ValueError(
                f"{name} must be a (K, 5) tensor (image index, x1, y1, x2, y2) or a list of "
                f"(K_i, 4) tensors, got shape {tuple(rois.shape)}"
            )
    if len(rois):
        if not torch.isfinite(rois).all():
            raise ValueError(f"{name} must hold finite coordinates, got NaN or infinity")
        index = rois[:, 0]
        if (index != index.round()).any() or index.min() < 0 or index.max() >= batch_size:
            raise ValueError(
                f"{name}[:, 0] must hold image indices in [0, {batch_size}), "
                f"got values in [{index.min().item()}, {index.max().item()}]"
            )
    return rois
