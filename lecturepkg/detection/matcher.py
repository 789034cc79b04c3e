"""The matcher, which decides the ground-truth box (if any) each anchor or proposal learns.

Training a detector needs a target for every anchor (in the RPN) and every proposal (in the
box head). Faster R-CNN (Ren et al. 2015, section 3.1.2) assigns them by IoU with the
ground-truth boxes: an anchor whose best IoU is at least 0.7 is *positive* and learns that
box; one whose best IoU is below 0.3 is *negative* (background); the ones in between are
ignored. Since a small or oddly shaped object may have no anchor above 0.7, every
ground-truth box also claims the anchor(s) it overlaps most, whatever the IoU:
the *low-quality matches*. The box head of Fast/Mask R-CNN uses one threshold, 0.5, for
both, and no low-quality matches (He et al., *Mask R-CNN*, 2017, section 3.1).

:class:`Matcher` has the constructor, constants and results of
``torchvision.models.detection._utils.Matcher``.
"""

from __future__ import annotations

import torch

from lecturepkg.detection._args import check_bool, check_real, check_tensor

__all__ = ["Matcher"]


class Matcher:
    """Match each prediction (column) to its best ground truth (row) by quality, or to none.

    The rule of Faster R-CNN's RPN (Ren et al. 2015, sec. 3.1.2) and of the box head of
    Fast/Mask R-CNN; the same constructor, constants and results as
    ``torchvision.models.detection._utils.Matcher``.

    Parameters
    ----------
    high_threshold : float
        A prediction whose best quality (IoU) is ``>= high_threshold`` is matched to that
        ground truth (0.7 in the RPN, 0.5 in the box head).
    low_threshold : float
        Best quality ``< low_threshold``: :attr:`BELOW_LOW_THRESHOLD` (background, 0.3 in the
        RPN); in ``[low_threshold, high_threshold)``: :attr:`BETWEEN_THRESHOLDS` (ignored).
        Must be ``<= high_threshold``.
    allow_low_quality_matches : bool
        If True, every ground truth also gets the prediction(s) it overlaps most (all of them
        when several tie), even below the thresholds; each such prediction is matched to its
        own best ground truth.

    Examples
    --------
    >>> iou = torch.tensor([[0.9, 0.5, 0.1, 0.0],    # ground truth 0
    ...                     [0.0, 0.2, 0.2, 0.25]])  # ground truth 1: at most 0.25
    >>> Matcher(0.7, 0.3)(iou)
    tensor([ 0, -2, -1, -1])
    >>> Matcher(0.7, 0.3, allow_low_quality_matches=True)(iou)
    tensor([ 0, -2, -1,  1])
    """

    BELOW_LOW_THRESHOLD = -1
    """The match of a prediction whose best quality is below ``low_threshold``."""
    BETWEEN_THRESHOLDS = -2
    """The match of a prediction whose best quality is in ``[low, high)``."""

    def __init__(
        self, high_threshold: float, low_threshold: float, allow_low_quality_matches: bool = False
    ) -> None:
        self.high_threshold = check_real("high_threshold", high_threshold)
        self.low_threshold = check_real("low_threshold", low_threshold)
        if self.low_threshold > self.high_threshold:
            raise ValueError(
                f"low_threshold must be <= high_threshold, got low_threshold="
                f"{low_threshold} and high_threshold={high_threshold}"
            )
        self.allow_low_quality_matches = check_bool(
            "allow_low_quality_matches", allow_low_quality_matches
        )

    def __repr__(self) -> str:
        return (
            f"Matcher(high_threshold={self.high_threshold}, low_threshold={self.low_threshold}, "
            f"allow_low_quality_matches={self.allow_low_quality_matches})"
        )

    def __call__(self, match_quality_matrix: torch.Tensor) -> torch.Tensor:
        """Match every prediction.

        Parameters
        ----------
        match_quality_matrix : Tensor
            ``(M, N)`` quality (IoU) of ground truth ``m`` with prediction ``n``; ``M, N >= 1``.

        Returns
        -------
        Tensor
            ``(N,)`` int64: the index in ``[0, M)`` of the ground truth that prediction ``n``
            learns, or :attr:`BELOW_LOW_THRESHOLD` / :attr:`BETWEEN_THRESHOLDS`. Ties between
            ground truths go to the first (lowest index), as ``torch.max`` returns it.
        """
        quality = check_tensor(
            "match_quality_matrix", match_quality_matrix, shape="(M, N)", floating=True
        )
        if quality.ndim != 2:
            raise ValueError(
                "match_quality_matrix must have shape (M ground truths, N predictions), got "
                f"{tuple(quality.shape)}"
            )
        if quality.numel() == 0:  # the messages of torchvision
            if quality.shape[0] == 0:
                raise ValueError(
                    "No ground-truth boxes available for one of the images during training"
                )
            raise ValueError("No proposal boxes available for one of the images during training")
        if torch.isnan(quality).any():
            raise ValueError("match_quality_matrix must not contain NaN")

        best_quality, best_gt = quality.max(dim=0)  # (N,), (N,): the best row of each column
        matches = best_gt.clone()  # (N,)
        below = best_quality < self.low_threshold
        between = (best_quality >= self.low_threshold) & (best_quality < self.high_threshold)
        matches[below] = self.BELOW_LOW_THRESHOLD
        matches[between] = self.BETWEEN_THRESHOLDS

        if self.allow_low_quality_matches:
            # each ground truth's best quality (M, 1), and every prediction that reaches it
            best_per_gt = quality.max(dim=1).values[:, None]  # (M, 1)
            is_best_for_some_gt = (quality == best_per_gt).any(dim=0)  # (N,), ties included
            # such a prediction learns its own best ground truth, as if above the threshold
            matches[is_best_for_some_gt] = best_gt[is_best_for_some_gt]
        return matches
