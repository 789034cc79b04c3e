"""Pasting the mask head's small masks into the image, as torchvision's ``paste_masks_in_image``.

The mask branch of Mask R-CNN predicts one ``M x M`` mask per detection (``M = 28`` with
FPN, 14 in the paper's C4 model), in the coordinates of the detection's box. To get an
instance mask of the whole image, each small mask is resized to its box with bilinear
interpolation and written into an image of zeros at the box's place (He et al. 2017,
section 3, "Inference": the ``m x m`` mask is resized to the RoI size and binarised at a
threshold of 0.5).

Two details of torchvision (and Detectron) are kept so that the results agree exactly:

* the mask is first padded with ``padding`` zero pixels on every side and its box enlarged
  by the same fraction ``(M + 2 padding) / M`` about its centre, so that the interpolation
  near the box's border blends towards zero instead of stopping abruptly;
* the enlarged box is truncated to integer pixels (towards zero) and covers
  ``x2 - x1 + 1`` columns and ``y2 - y1 + 1`` rows (the "+1" pixel convention of
  Detectron).

:func:`paste_masks_in_image` returns probabilities; the 0.5 threshold of the paper is left
to the caller (``masks > 0.5``), as in torchvision's COCO evaluation and
:func:`~lecturepkg.detection.shapes.to_coco_results`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lecturepkg.detection._args import check_boxes, check_image_size, check_int, check_tensor

__all__ = ["paste_masks_in_image"]


def _expand_boxes(boxes: torch.Tensor, scale: float) -> torch.Tensor:
    """Scale ``(N, 4)`` boxes about their centres by ``scale``."""
    half = (boxes[:, 2:] - boxes[:, :2]) * 0.5 * scale  # (N, 2): half width, half height
    centre = (boxes[:, 2:] + boxes[:, :2]) * 0.5  # (N, 2)
    return torch.cat([centre - half, centre + half], dim=1)  # (N, 4)


def _paste_one(mask: torch.Tensor, box: list[int], height: int, width: int) -> torch.Tensor:
    """Resize one ``(m, m)`` mask to the integer ``box`` and paste it into an image."""
    x1, y1, x2, y2 = box
    w, h = max(x2 - x1 + 1, 1), max(y2 - y1 + 1, 1)  # the "+1" pixel convention
    resized = F.interpolate(mask[None, None], size=(h, w), mode="bilinear",
                            align_corners=False)[0, 0]  # (h, w)
    image = mask.new_zeros((height, width))
    # the part of the box inside the image
    x_lo, x_hi = max(x1, 0), min(x2 + 1, width)
    y_lo, y_hi = max(y1, 0), min(y2 + 1, height)
    if x_lo < x_hi and y_lo < y_hi:
        image[y_lo:y_hi, x_lo:x_hi] = resized[y_lo - y1:y_hi - y1, x_lo - x1:x_hi - x1]
    return image


def paste_masks_in_image(
    masks: torch.Tensor,
    boxes: torch.Tensor,
    img_shape: tuple[int, int],
    padding: int = 1,
) -> torch.Tensor:
    """Resize each detection's mask to its box and paste it into an image of zeros.

    Parameters
    ----------
    masks : Tensor
        ``(N, 1, M, M)`` mask probabilities (or logits) of the ``N`` detections.
    boxes : Tensor
        ``(N, 4)`` boxes ``(x1, y1, x2, y2)`` in the pixels of the output image; they may
        reach outside it (the part outside is cut off).
    img_shape : (int, int)
        ``(H, W)`` of the output image.
    padding : int
        Zero pixels added around each mask before resizing, the box being enlarged by the
        same fraction (torchvision's 1).

    Returns
    -------
    Tensor
        ``(N, 1, H, W)`` masks of ``masks``'s dtype, zero outside the boxes. Binarise them
        at 0.5 (``masks > 0.5``) for the paper's instance masks.

    A box from ``(2, 1)`` to ``(6, 4)`` covers 5 columns and 4 rows (the "+1" convention);
    with padding its mask fades out over the box's border pixels:

    >>> box = torch.tensor([[2.0, 1.0, 6.0, 4.0]])
    >>> (paste_masks_in_image(torch.ones(1, 1, 4, 4), box, (6, 9), padding=0) > 0.5).int()
    tensor([[[[0, 0, 0, 0, 0, 0, 0, 0, 0],
              [0, 0, 1, 1, 1, 1, 1, 0, 0],
              [0, 0, 1, 1, 1, 1, 1, 0, 0],
              [0, 0, 1, 1, 1, 1, 1, 0, 0],
              [0, 0, 1, 1, 1, 1, 1, 0, 0],
              [0, 0, 0, 0, 0, 0, 0, 0, 0]]]], dtype=torch.int32)
    >>> (paste_masks_in_image(torch.ones(1, 1, 4, 4), box, (6, 9)) > 0.5).int()[0, 0]
    tensor([[0, 0, 0, 0, 0, 0, 0, 0, 0],
            [0, 0, 1, 1, 1, 1, 1, 0, 0],
            [0, 0, 1, 1, 1, 1, 1, 0, 0],
            [0, 0, 1, 1, 1, 1, 1, 0, 0],
            [0, 0, 0, 0, 0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0, 0, 0, 0, 0]], dtype=torch.int32)
    """
    masks = check_tensor("masks", masks, shape="(N, 1, M, M)", floating=True)
    if masks.ndim != 4 or masks.shape[1] != 1 or masks.shape[2] != masks.shape[3]:
        raise ValueError(f"masks must have shape (N, 1, M, M), got {tuple(masks.shape)}")
    boxes = check_boxes("boxes", boxes)
    if boxes.shape[0] != masks.shape[0]:
        raise ValueError(f"boxes must hold one box per mask ({masks.shape[0]}), got "
                         f"{boxes.shape[0]}")
    if boxes.numel() and not torch.isfinite(boxes).all():
        raise ValueError("boxes must hold finite coordinates, got NaN or infinity")
    height, width = check_image_size("img_shape", img_shape)
    padding = check_int("padding", padding, minimum=0)

    m = masks.shape[-1]
    padded = F.pad(masks, (padding,) * 4)  # (N, 1, M + 2 p, M + 2 p)
    scale = (m + 2 * padding) / m
    int_boxes = _expand_boxes(boxes, scale).to(torch.int64).tolist()  # truncated to pixels
    pasted = [_paste_one(mask[0], box, height, width) for mask, box in zip(padded, int_boxes)]
    if not pasted:
        return masks.new_zeros((0, 1, height, width))
    return torch.stack(pasted)[:, None]  # (N, 1, H, W)
