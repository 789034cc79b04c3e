"""Greedy non-maximum suppression (NMS), for one set of boxes and per class.

A detector proposes many overlapping boxes for one object. Greedy NMS, used by R-CNN
(Girshick et al. 2014) and by both stages of Faster and Mask R-CNN (Ren et al. 2015, He et
al. 2017), keeps the best-scoring box, removes every remaining box whose IoU with it is
above a threshold, and repeats with the best box that is left.

Tie rule: boxes with equal scores are visited in the order of their index (a stable sort),
so among equal scores the box that comes first in ``boxes`` is kept. torchvision's CPU
kernel sorts the same way; its documentation warns that its CUDA kernel may pick another
box among ties.
"""

from __future__ import annotations

import torch

from lecturepkg.detection._args import (
    check_boxes,
    check_real,
    check_same_device,
    check_scores,
    check_tensor,
)
from lecturepkg.detection.boxes import box_iou

__all__ = ["nms", "batched_nms"]

ROWS_PER_BLOCK = 1024
"""How many rows of the ``(N, N)`` IoU matrix :func:`nms` computes at a time."""


def _check_nms_args(boxes, scores, iou_threshold) -> float:
    boxes = check_boxes("boxes", boxes)
    scores = check_scores("scores", scores, len(boxes))
    if not scores.is_floating_point():
        raise TypeError(f"scores must have a floating dtype, got {scores.dtype}")
    check_same_device(boxes=boxes, scores=scores)
    return check_real("iou_threshold", iou_threshold)


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Greedy non-maximum suppression: the indices of the boxes that survive.

    Parameters
    ----------
    boxes : torch.Tensor
        ``(N, 4)`` floating boxes in ``(x1, y1, x2, y2)`` format.
    scores : torch.Tensor
        ``(N,)`` score of each box.
    iou_threshold : float
        A box is removed when its IoU with a kept, better-scoring box is strictly greater
        than this. (An IoU of NaN, two boxes of zero area, removes nothing.)

    Returns
    -------
    torch.Tensor
        int64 indices of the kept boxes, by decreasing score (equal scores: by increasing
        index), like ``torchvision.ops.nms``.

    >>> boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.], [20., 20., 30., 30.]])
    >>> nms(boxes, torch.tensor([0.9, 0.8, 0.7]), iou_threshold=0.5)  # IoU(0, 1) = 0.68
    tensor([0, 2])
    """
    iou_threshold = _check_nms_args(boxes, scores, iou_threshold)
    order = torch.sort(scores, descending=True, stable=True).indices  # (N,) best first
    ranked = boxes[order]  # (N, 4)
    # overlaps[i, j]: box i, if kept, removes box j. Computed on the boxes' device, in blocks
    # of rows to bound memory, then scanned on the CPU (as torchvision's CUDA kernel does).
    overlaps = torch.cat(
        [box_iou(ranked[i:i + ROWS_PER_BLOCK], ranked) > iou_threshold  # NaN > t is False
         for i in range(0, len(ranked), ROWS_PER_BLOCK)]
        or [torch.zeros(0, 0, dtype=torch.bool)]
    ).cpu()  # (N, N)
    removed = torch.zeros(len(ranked), dtype=torch.bool)  # (N,)
    keep = []
    for i in range(len(ranked)):  # best score first: each box meets every better one first
        if not removed[i]:
            keep.append(i)
            removed |= overlaps[i]
    return order[torch.tensor(keep, dtype=torch.int64, device=order.device)]


def batched_nms(
    boxes: torch.Tensor, scores: torch.Tensor, idxs: torch.Tensor, iou_threshold: float
) -> torch.Tensor:
    """Non-maximum suppression within each category: boxes of different ``idxs`` never compete.

    Faster and Mask R-CNN suppress per class in the detection head and per image and FPN
    level in the region proposal network; ``idxs`` holds that category.

    Parameters
    ----------
    boxes : torch.Tensor
        ``(N, 4)`` floating boxes in ``(x1, y1, x2, y2)`` format.
    scores : torch.Tensor
        ``(N,)`` score of each box.
    idxs : torch.Tensor
        ``(N,)`` integer category of each box.
    iou_threshold : float
        As for :func:`nms`.

    Returns
    -------
    torch.Tensor
        int64 indices of the kept boxes, all categories together, by decreasing score
        (equal scores: by increasing index).

    >>> boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.]])
    >>> batched_nms(boxes, torch.tensor([0.9, 0.8]), torch.tensor([0, 1]), 0.5)
    tensor([0, 1])
    """
    iou_threshold = _check_nms_args(boxes, scores, iou_threshold)
    idxs = check_scores("idxs", check_tensor("idxs", idxs, shape=f"({len(boxes)},)"),
                        len(boxes))
    if idxs.is_floating_point() or idxs.is_complex() or idxs.dtype == torch.bool:
        raise TypeError(f"idxs must have an integer dtype, got {idxs.dtype}")
    check_same_device(boxes=boxes, idxs=idxs)
    kept = [torch.empty(0, dtype=torch.int64, device=boxes.device)]
    for category in torch.unique(idxs):
        members = torch.where(idxs == category)[0]  # (n_c,) indices into boxes
        kept.append(members[nms(boxes[members], scores[members], iou_threshold)])
    keep = torch.cat(kept).sort().values  # by index, so that the sort below breaks ties
    order = torch.sort(scores[keep], descending=True, stable=True).indices
    return keep[order]
