"""The box coder, which writes boxes as offsets from a reference box, and back.

A detector does not regress a box's corners directly. It predicts how to move and stretch a
box it already has (an anchor in the RPN, a proposal in the box head), in units of that box's
size, so that the same prediction means the same thing for a small box and a large one
(Girshick et al., *Rich feature hierarchies*, 2014, appendix C; Ren et al., *Faster R-CNN*,
2015, eq. 2). For a reference box with centre ``(x_a, y_a)``, width ``w_a`` and height
``h_a`` and a target box ``(x, y, w, h)`` the four codes are::

    t_x = w_x * (x - x_a) / w_a        t_w = w_w * log(w / w_a)
    t_y = w_y * (y - y_a) / h_a        t_h = w_h * log(h / h_a)

The weights ``(w_x, w_y, w_w, w_h)`` rescale the codes so that they have about unit
variance: ``(1, 1, 1, 1)`` in the region proposal network, ``(10, 10, 5, 5)`` in the box
head, whose proposals are already close to their objects (the values of Detectron and of
torchvision). Decoding inverts the formulas; before taking ``exp`` it clamps ``t_w / w_w``
and ``t_h / w_h`` at ``bbox_xform_clip = log(1000 / 16)``, so that an untrained network
cannot ask for a box more than 62.5 times larger than its reference (and overflow ``exp``).

:class:`BoxCoder` has the constructor, methods and results of
``torchvision.models.detection._utils.BoxCoder``.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch

from lecturepkg.detection._args import check_boxes, check_real, check_same_device, check_tensor

__all__ = ["BoxCoder"]


def _centres_and_sizes(boxes: torch.Tensor):
    """``(N, 4)`` corner boxes -> centre x, centre y, width, height, each ``(N,)``."""
    widths = boxes[:, 2] - boxes[:, 0]  # (N,)
    heights = boxes[:, 3] - boxes[:, 1]  # (N,)
    return boxes[:, 0] + 0.5 * widths, boxes[:, 1] + 0.5 * heights, widths, heights


def _check_box_list(name: str, boxes) -> list[torch.Tensor]:
    """A list (or tuple) with one ``(N_i, 4)`` floating tensor per image."""
    if not isinstance(boxes, (list, tuple)):
        raise TypeError(
            f"{name} must be a list with one (N_i, 4) tensor per image, "
            f"got {type(boxes).__name__}"
        )
    if not boxes:
        raise ValueError(f"{name} must hold one (N_i, 4) tensor per image, got an empty list")
    return [check_boxes(f"{name}[{i}]", b) for i, b in enumerate(boxes)]


class BoxCoder:
    """Encode boxes as offsets ``(t_x, t_y, t_w, t_h)`` from reference boxes, and decode them.

    The parametrisation of R-CNN (Girshick et al. 2014) and Faster R-CNN (Ren et al. 2015,
    eq. 2), with per-coordinate weights; the same constructor, methods and results as
    ``torchvision.models.detection._utils.BoxCoder``.

    Parameters
    ----------
    weights : tuple of 4 floats
        ``(w_x, w_y, w_w, w_h)``, each > 0: the codes are multiplied by them when encoding and
        divided by them when decoding. ``(1, 1, 1, 1)`` for the RPN, ``(10, 10, 5, 5)`` for
        the box head of Faster/Mask R-CNN.
    bbox_xform_clip : float
        Largest log-scale ``t_w / w_w`` and ``t_h / w_h`` that decoding uses: larger values are
        clamped to it (default ``log(1000 / 16)``: at most 62.5 times the reference's size).

    Examples
    --------
    >>> coder = BoxCoder(weights=(1.0, 1.0, 1.0, 1.0))
    >>> anchor = torch.tensor([[0.0, 0.0, 10.0, 20.0]])
    >>> target = torch.tensor([[5.0, 0.0, 15.0, 40.0]])
    >>> codes = coder.encode_single(target, anchor)  # half a width right, twice as tall
    >>> codes
    tensor([[0.5000, 0.5000, 0.0000, 0.6931]])
    >>> coder.decode_single(codes, anchor)
    tensor([[ 5.,  0., 15., 40.]])
    """

    def __init__(
        self,
        weights: tuple[float, float, float, float],
        bbox_xform_clip: float = math.log(1000.0 / 16),
    ) -> None:
        if not isinstance(weights, (tuple, list)) or len(weights) != 4:
            raise TypeError(
                f"weights must be a tuple of 4 numbers (w_x, w_y, w_w, w_h), got {weights!r}"
            )
        self.weights = tuple(
            check_real(f"weights[{i}]", w, positive=True) for i, w in enumerate(weights)
        )
        self.bbox_xform_clip = check_real("bbox_xform_clip", bbox_xform_clip)

    def __repr__(self) -> str:
        return f"BoxCoder(weights={self.weights}, bbox_xform_clip={self.bbox_xform_clip})"

    # ------------------------------------------------------------------ encoding
    def encode(
        self, reference_boxes: Sequence[torch.Tensor], proposals: Sequence[torch.Tensor]
    ) -> tuple[torch.Tensor, ...]:
        """Encode boxes image by image, with :meth:`encode_single` on each pair of the lists.

        Parameters
        ----------
        reference_boxes : list of Tensor
            One ``(N_i, 4)`` tensor per image: the boxes to encode (the matched ground truth).
        proposals : list of Tensor
            One ``(N_i, 4)`` tensor per image: the boxes the codes are relative to (anchors or
            proposals), one per box of ``reference_boxes``.

        Returns
        -------
        tuple of Tensor
            One ``(N_i, 4)`` tensor of codes per image.
        """
        reference_boxes = _check_box_list("reference_boxes", reference_boxes)
        proposals = _check_box_list("proposals", proposals)
        if [len(b) for b in reference_boxes] != [len(p) for p in proposals]:
            raise ValueError(
                "reference_boxes and proposals must hold as many boxes per image, got "
                f"{[len(b) for b in reference_boxes]} and {[len(p) for p in proposals]}"
            )
        per_image = [len(b) for b in reference_boxes]
        codes = self.encode_single(torch.cat(reference_boxes), torch.cat(proposals))  # (N, 4)
        return codes.split(per_image, 0)

    def encode_single(self, reference_boxes: torch.Tensor, proposals: torch.Tensor) -> torch.Tensor:
        """Encode ``reference_boxes`` as offsets from ``proposals`` (Ren et al. 2015, eq. 2).

        Parameters
        ----------
        reference_boxes : Tensor
            ``(N, 4)`` boxes ``(x1, y1, x2, y2)`` to encode (the ground truth).
        proposals : Tensor
            ``(N, 4)`` boxes the codes are relative to (anchors or proposals); their widths and
            heights must be > 0.

        Returns
        -------
        Tensor
            ``(N, 4)`` codes ``(t_x, t_y, t_w, t_h)``, multiplied by ``weights``, in the
            dtype of ``reference_boxes``.
        """
        reference_boxes = check_boxes("reference_boxes", reference_boxes)
        proposals = check_boxes("proposals", proposals)
        if len(reference_boxes) != len(proposals):
            raise ValueError(
                "reference_boxes and proposals must have one box each per pair, got "
                f"{len(reference_boxes)} and {len(proposals)} boxes"
            )
        check_same_device(reference_boxes=reference_boxes, proposals=proposals)
        wx, wy, ww, wh = torch.as_tensor(
            self.weights, dtype=reference_boxes.dtype, device=reference_boxes.device
        )
        x_a, y_a, w_a, h_a = _centres_and_sizes(proposals)  # the reference frame, each (N,)
        x, y, w, h = _centres_and_sizes(reference_boxes)  # the boxes to encode, each (N,)
        t_x = wx * (x - x_a) / w_a  # shift in units of the reference's width
        t_y = wy * (y - y_a) / h_a
        t_w = ww * torch.log(w / w_a)  # scale change, on a log scale
        t_h = wh * torch.log(h / h_a)
        return torch.stack((t_x, t_y, t_w, t_h), dim=1)  # (N, 4)

    # ------------------------------------------------------------------ decoding
    def decode(self, rel_codes: torch.Tensor, boxes: Sequence[torch.Tensor]) -> torch.Tensor:
        """Decode codes predicted for the boxes of several images.

        Parameters
        ----------
        rel_codes : Tensor
            Codes for all the boxes of all the images, ``N = sum(N_i)`` rows in all: shape
            ``(N, 4 * K)`` (``K`` codes per box, as the box head predicts one per class) or
            anything with ``N * 4 * K`` elements that reshapes to it.
        boxes : list of Tensor
            One ``(N_i, 4)`` tensor of reference boxes per image.

        Returns
        -------
        Tensor
            ``(N, K, 4)`` decoded boxes (as torchvision returns them).
        """
        rel_codes = check_tensor("rel_codes", rel_codes, floating=True)
        boxes = _check_box_list("boxes", boxes)
        total = sum(len(b) for b in boxes)
        if total > 0:
            if rel_codes.numel() % (4 * total):
                raise ValueError(
                    f"rel_codes must hold 4 * K codes for each of the {total} boxes, got "
                    f"shape {tuple(rel_codes.shape)} ({rel_codes.numel()} values)"
                )
            rel_codes = rel_codes.reshape(total, -1)  # (N, 4K)
        pred_boxes = self.decode_single(rel_codes, torch.cat(boxes))  # (N, 4K)
        if total > 0:
            pred_boxes = pred_boxes.reshape(total, -1, 4)  # (N, K, 4)
        return pred_boxes

    def decode_single(self, rel_codes: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        """Apply codes to their reference boxes, the inverse of :meth:`encode_single`.

        Parameters
        ----------
        rel_codes : Tensor
            ``(N, 4 * K)`` codes: ``K`` groups ``(t_x, t_y, t_w, t_h)`` per box.
        boxes : Tensor
            ``(N, 4)`` reference boxes ``(x1, y1, x2, y2)`` (cast to ``rel_codes``' dtype).

        Returns
        -------
        Tensor
            ``(N, 4 * K)`` boxes ``(x1, y1, x2, y2)``, ``K`` per reference box. The log-scale
            codes are clamped at ``bbox_xform_clip`` before ``exp``.
        """
        rel_codes = check_tensor("rel_codes", rel_codes, shape="(N, 4 * K)", floating=True)
        boxes = check_boxes("boxes", boxes)
        if rel_codes.ndim != 2 or rel_codes.shape[1] % 4 or rel_codes.shape[0] != len(boxes):
            raise ValueError(
                f"rel_codes must have shape (N, 4 * K) with N = {len(boxes)} boxes, got "
                f"{tuple(rel_codes.shape)}"
            )
        check_same_device(rel_codes=rel_codes, boxes=boxes)
        boxes = boxes.to(rel_codes.dtype)
        x_a, y_a, w_a, h_a = (v[:, None] for v in _centres_and_sizes(boxes))  # each (N, 1)
        wx, wy, ww, wh = self.weights
        t_x = rel_codes[:, 0::4] / wx  # (N, K): code k of box n in column k
        t_y = rel_codes[:, 1::4] / wy
        t_w = torch.clamp(rel_codes[:, 2::4] / ww, max=self.bbox_xform_clip)  # keep exp finite
        t_h = torch.clamp(rel_codes[:, 3::4] / wh, max=self.bbox_xform_clip)
        x = t_x * w_a + x_a  # the decoded centre and size, each (N, K)
        y = t_y * h_a + y_a
        w = torch.exp(t_w) * w_a
        h = torch.exp(t_h) * h_a
        corners = (x - 0.5 * w, y - 0.5 * h, x + 0.5 * w, y + 0.5 * h)
        return torch.stack(corners, dim=2).flatten(1)  # (N, K, 4) -> (N, 4K)
