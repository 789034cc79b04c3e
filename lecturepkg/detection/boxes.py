"""Boxes as ``(x1, y1, x2, y2)`` corners: areas, intersection over union, clipping, filtering.

A detector describes every object, anchor and proposal by an axis-aligned box. The corner
format ``(x1, y1, x2, y2)`` (``"xyxy"``) is what R-CNN, Fast and Faster R-CNN (Girshick et al.
2014, Girshick 2015, Ren et al. 2015) and Mask R-CNN (He et al. 2017) compute with; a box has
width ``x2 - x1`` and height ``y2 - y1`` in pixels. Intersection over union (IoU, the Jaccard
index) is the overlap measure of the whole pipeline: it matches anchors to objects, drives
non-maximum suppression and decides whether a detection is correct.

The functions have the names, arguments and results of their ``torchvision.ops``
counterparts, including torchvision's guard against overflow: half-precision boxes are
computed in float32 and 8- or 16-bit integer boxes in int32.
"""

from __future__ import annotations

import torch

from lecturepkg.detection._args import check_boxes, check_image_size, check_real, check_tensor

__all__ = ["box_area", "box_iou", "box_convert", "clip_boxes_to_image", "remove_small_boxes"]

BOX_FORMATS = ("xyxy", "xywh", "cxcywh")
"""The axis-aligned box formats: corners, corner and size, centre and size."""


def _widen(t: torch.Tensor) -> torch.Tensor:
    """float16/bfloat16 as float32 and small integers as int32, so products cannot overflow."""
    if t.is_floating_point():
        return t if t.dtype in (torch.float32, torch.float64) else t.float()
    return t if t.dtype in (torch.int32, torch.int64) else t.int()


def _check_format(name: str, fmt: object) -> str:
    if fmt not in BOX_FORMATS:
        raise ValueError(f"{name} must be one of {BOX_FORMATS}, got {fmt!r}")
    return fmt  # type: ignore[return-value]


def _check_any_boxes(name: str, boxes: object) -> torch.Tensor:
    """Boxes of shape ``(..., 4)``, of any real dtype (not bool, not complex)."""
    boxes = check_tensor(name, boxes, shape="(..., 4)")
    if boxes.ndim == 0 or boxes.shape[-1] != 4:
        raise ValueError(f"{name} must have shape (..., 4), got {tuple(boxes.shape)}")
    if boxes.dtype == torch.bool or boxes.is_complex():
        raise TypeError(f"{name} must have a real dtype, got {boxes.dtype}")
    return boxes


def box_convert(boxes: torch.Tensor, in_fmt: str, out_fmt: str) -> torch.Tensor:
    """Convert boxes between the ``"xyxy"``, ``"xywh"`` and ``"cxcywh"`` formats.

    Parameters
    ----------
    boxes : torch.Tensor
        Boxes of shape ``(..., 4)`` in format ``in_fmt``.
    in_fmt, out_fmt : str
        ``"xyxy"`` (corners), ``"xywh"`` (top-left corner, width, height; COCO's format)
        or ``"cxcywh"`` (centre, width, height).

    Returns
    -------
    torch.Tensor
        The same boxes, shape ``(..., 4)``, in format ``out_fmt``.

    >>> box_convert(torch.tensor([[10., 20., 30., 60.]]), "xyxy", "cxcywh")
    tensor([[20., 40., 20., 40.]])
    """
    boxes = _check_any_boxes("boxes", boxes)
    _check_format("in_fmt", in_fmt)
    _check_format("out_fmt", out_fmt)
    if in_fmt == out_fmt:
        return boxes.clone()
    a, b, c, d = boxes.unbind(-1)  # each (...)
    if in_fmt == "xywh":
        a, b, c, d = a, b, a + c, b + d  # corners
    elif in_fmt == "cxcywh":
        a, b, c, d = a - 0.5 * c, b - 0.5 * d, a + 0.5 * c, b + 0.5 * d
    if out_fmt == "xywh":
        a, b, c, d = a, b, c - a, d - b
    elif out_fmt == "cxcywh":
        a, b, c, d = (a + c) / 2, (b + d) / 2, c - a, d - b
    return torch.stack((a, b, c, d), dim=-1)  # (..., 4)


def box_area(boxes: torch.Tensor, fmt: str = "xyxy") -> torch.Tensor:
    """Area ``(x2 - x1) * (y2 - y1)`` of every box.

    Parameters
    ----------
    boxes : torch.Tensor
        Boxes of shape ``(..., 4)``; a box with ``x2 < x1`` has a negative area, as in
        torchvision (nothing is clamped).
    fmt : str
        ``"xyxy"`` (default), ``"xywh"`` or ``"cxcywh"``; the last two store the width and
        height in columns 2 and 3.

    Returns
    -------
    torch.Tensor
        Areas of shape ``(...)``.

    >>> box_area(torch.tensor([[0., 0., 4., 3.], [1., 1., 1., 5.]]))
    tensor([12.,  0.])
    """
    boxes = _widen(_check_any_boxes("boxes", boxes))
    if _check_format("fmt", fmt) == "xyxy":
        return (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
    return boxes[..., 2] * boxes[..., 3]  # width * height


def box_iou(boxes1: torch.Tensor, boxes2: torch.Tensor, fmt: str = "xyxy") -> torch.Tensor:
    """Intersection over union of every box of ``boxes1`` with every box of ``boxes2``.

    The intersection of two boxes is the box between the larger of the two top-left corners
    and the smaller of the two bottom-right corners, empty (area 0) when that has a negative
    side. ``IoU = intersection / (area1 + area2 - intersection)``. Two boxes of area 0 have
    ``IoU = 0 / 0``, which is NaN, as in torchvision.

    Parameters
    ----------
    boxes1 : torch.Tensor
        ``(N, 4)`` boxes.
    boxes2 : torch.Tensor
        ``(M, 4)`` boxes, in the same format.
    fmt : str
        ``"xyxy"`` (default), ``"xywh"`` or ``"cxcywh"``.

    Returns
    -------
    torch.Tensor
        ``(N, M)`` IoU values; differentiable with respect to both sets of boxes.

    >>> a = torch.tensor([[0., 0., 2., 2.]])
    >>> b = torch.tensor([[1., 0., 3., 2.], [5., 5., 6., 6.]])
    >>> box_iou(a, b)  # overlap 2, union 4 + 4 - 2
    tensor([[0.3333, 0.0000]])
    """
    boxes1 = check_boxes("boxes1", boxes1, floating=False)
    boxes2 = check_boxes("boxes2", boxes2, floating=False)
    _check_format("fmt", fmt)
    area1, area2 = box_area(boxes1, fmt), box_area(boxes2, fmt)  # (N,), (M,)
    if fmt != "xyxy":
        boxes1, boxes2 = box_convert(boxes1, fmt, "xyxy"), box_convert(boxes2, fmt, "xyxy")
    top_left = torch.maximum(boxes1[:, None, :2], boxes2[None, :, :2])  # (N, M, 2)
    bottom_right = torch.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])  # (N, M, 2)
    sides = _widen(bottom_right - top_left).clamp(min=0)  # (N, M, 2), 0 when disjoint
    intersection = sides[..., 0] * sides[..., 1]  # (N, M)
    union = area1[:, None] + area2[None, :] - intersection  # (N, M)
    return intersection / union


def clip_boxes_to_image(boxes: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Clamp every x coordinate to ``[0, width]`` and every y coordinate to ``[0, height]``.

    Parameters
    ----------
    boxes : torch.Tensor
        ``(..., 4)`` boxes in ``(x1, y1, x2, y2)`` format, any leading shape (the box heads
        clip ``(N, num_classes, 4)`` predictions at once).
    size : tuple of int
        The image's ``(height, width)``.

    Returns
    -------
    torch.Tensor
        Clipped boxes, same shape and dtype. A box entirely outside the image becomes a
        box of zero width or height on the border.

    >>> clip_boxes_to_image(torch.tensor([[-5., 2., 40., 30.]]), (20, 32))
    tensor([[ 0.,  2., 32., 20.]])
    """
    boxes = _check_any_boxes("boxes", boxes)
    height, width = check_image_size("size", size)
    x = boxes[..., 0::2].clamp(min=0, max=width)  # (..., 2): x1, x2
    y = boxes[..., 1::2].clamp(min=0, max=height)  # (..., 2): y1, y2
    return torch.stack((x, y), dim=-1).reshape(boxes.shape)  # x1, y1, x2, y2 again


def remove_small_boxes(boxes: torch.Tensor, min_size: float) -> torch.Tensor:
    """Indices of the boxes whose width and height are both at least ``min_size``.

    Parameters
    ----------
    boxes : torch.Tensor
        ``(N, 4)`` boxes in ``(x1, y1, x2, y2)`` format.
    min_size : float
        Smallest accepted side, in pixels (Faster R-CNN's proposal step drops proposals
        smaller than a few pixels; torchvision's RPN uses ``1e-3``).

    Returns
    -------
    torch.Tensor
        ``(K,)`` int64 indices into ``boxes``, increasing.

    >>> remove_small_boxes(torch.tensor([[0., 0., 5., 5.], [0., 0., 5., 0.5]]), 1.0)
    tensor([0])
    """
    boxes = check_boxes("boxes", boxes, floating=False)
    min_size = check_real("min_size", min_size)
    widths = boxes[:, 2] - boxes[:, 0]  # (N,)
    heights = boxes[:, 3] - boxes[:, 1]  # (N,)
    keep = (widths >= min_size) & (heights >= min_size)  # (N,)
    return torch.where(keep)[0]
