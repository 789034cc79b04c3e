"""The balanced sampler, which picks the anchors or proposals a training step learns from.

An image has tens of thousands of anchors and almost all of them are background. Trained on
all of them, the RPN would learn to answer "background" everywhere. Faster R-CNN (Ren et al.
2015, section 3.1.3) therefore computes its loss on a random sample of 256 anchors per image
with up to half of them positive, filled up with negatives when there are fewer positives;
Fast R-CNN's box head samples 128 proposals (512 in Mask R-CNN's) with up to a quarter
positive (Girshick, *Fast R-CNN*, 2015, section 2.3; He et al. 2017, section 3.1).

:class:`BalancedPositiveNegativeSampler` has the constructor and results of
``torchvision.models.detection._utils.BalancedPositiveNegativeSampler``: it draws its
random permutations with ``torch.randperm`` in the same order, so under the same torch seed
it picks the same elements.
"""

from __future__ import annotations

from typing import Sequence

import torch

from lecturepkg.detection._args import check_int, check_real, check_tensor

__all__ = ["BalancedPositiveNegativeSampler"]


class BalancedPositiveNegativeSampler:
    """Sample a fixed number of elements per image with at most a given share of positives.

    The sampling of Faster R-CNN (Ren et al. 2015, sec. 3.1.3); the same constructor and
    results as ``torchvision.models.detection._utils.BalancedPositiveNegativeSampler``.

    Parameters
    ----------
    batch_size_per_image : int
        How many elements to sample per image (256 in the RPN, 512 in Mask R-CNN's box head).
    positive_fraction : float
        The largest share of positives, in ``[0, 1]`` (0.5 in the RPN, 0.25 in the box head).
        An image samples ``min(#positives, int(batch_size_per_image * positive_fraction))``
        positives and fills the rest of the batch with negatives, as far as it has them.

    Examples
    --------
    >>> sampler = BalancedPositiveNegativeSampler(batch_size_per_image=4, positive_fraction=0.5)
    >>> labels = torch.tensor([1, 0, 0, -1, 0, 0, 0])  # one positive, 5 negatives, 1 ignored
    >>> positive, negative = sampler([labels])
    >>> positive[0]
    tensor([1, 0, 0, 0, 0, 0, 0], dtype=torch.uint8)
    >>> int(negative[0].sum())  # the batch of 4 is filled up with 3 negatives
    3
    """

    def __init__(self, batch_size_per_image: int, positive_fraction: float) -> None:
        self.batch_size_per_image = check_int(
            "batch_size_per_image", batch_size_per_image, minimum=1
        )
        self.positive_fraction = check_real("positive_fraction", positive_fraction)
        if not 0 <= self.positive_fraction <= 1:
            raise ValueError(f"positive_fraction must be in [0, 1], got {positive_fraction}")

    def __repr__(self) -> str:
        return (
            f"BalancedPositiveNegativeSampler(batch_size_per_image={self.batch_size_per_image}, "
            f"positive_fraction={self.positive_fraction})"
        )

    def __call__(
        self, matched_idxs: Sequence[torch.Tensor]
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Sample positives and negatives in every image.

        Parameters
        ----------
        matched_idxs : list of Tensor
            One ``(N_i,)`` tensor of labels per image (integer or floating): values ``>= 1``
            are positives, ``0`` negatives, anything else (``-1``, ``-2``) is never sampled.

        Returns
        -------
        (list of Tensor, list of Tensor)
            Per image, a ``(N_i,)`` uint8 mask of the sampled positives and one of the sampled
            negatives.
        """
        if not isinstance(matched_idxs, (list, tuple)):
            raise TypeError(
                "matched_idxs must be a list with one (N_i,) tensor of labels per image, got "
                f"{type(matched_idxs).__name__}"
            )
        positive_masks, negative_masks = [], []
        for i, labels in enumerate(matched_idxs):
            labels = check_tensor(f"matched_idxs[{i}]", labels, shape="(N_i,)")
            if labels.ndim != 1:
                raise ValueError(
                    f"matched_idxs[{i}] must have shape (N_i,), got {tuple(labels.shape)}"
                )
            if labels.dtype == torch.bool or labels.is_complex():
                raise TypeError(
                    f"matched_idxs[{i}] must hold integer or floating labels (>= 1 positive, "
                    f"0 negative, < 0 ignored), got dtype {labels.dtype}"
                )
            positives = torch.where(labels >= 1)[0]  # (P,) indices
            negatives = torch.where(labels == 0)[0]  # (Q,) indices

            wanted_positives = int(self.batch_size_per_image * self.positive_fraction)
            num_positives = min(positives.numel(), wanted_positives)  # fewer if too few exist
            num_negatives = min(negatives.numel(), self.batch_size_per_image - num_positives)

            # a uniformly random subset of each: the first elements of a random permutation
            pick_positives = torch.randperm(positives.numel(), device=positives.device)
            pick_negatives = torch.randperm(negatives.numel(), device=negatives.device)
            chosen_positives = positives[pick_positives[:num_positives]]
            chosen_negatives = negatives[pick_negatives[:num_negatives]]

            positive_mask = torch.zeros_like(labels, dtype=torch.uint8)  # (N_i,)
            negative_mask = torch.zeros_like(labels, dtype=torch.uint8)  # (N_i,)
            positive_mask[chosen_positives] = 1
            negative_mask[chosen_negatives] = 1
            positive_masks.append(positive_mask)
            negative_masks.append(negative_mask)
        return positive_masks, negative_masks
