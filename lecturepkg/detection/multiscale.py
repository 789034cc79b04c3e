"""RoIAlign over a feature pyramid: each region is pooled from the level that suits its size.

A feature pyramid network (FPN, Lin et al. 2017) gives the second stage several feature
maps, of strides 4, 8, 16 and 32 (levels ``k = 2..5``, stride ``2**k``). A large region
should be pooled from a coarse map, a small one from a fine map, so that every region
covers about the same number of cells. Equation 1 of the FPN paper assigns a region of
width ``w`` and height ``h`` (image pixels) to level

    ``k = floor(k0 + log2(sqrt(w * h) / 224))``,

clamped to the levels available: a 224 x 224 region (an ImageNet image) goes to the
canonical level ``k0 = 4``, one of half its side to level 3, and so on.
:class:`MultiScaleRoIAlign` applies this rule, then :func:`~lecturepkg.detection.roi_ops.roi_align`
on each level with that level's ``spatial_scale = 1 / 2**k``. It has the constructor and
the results of ``torchvision.ops.MultiScaleRoIAlign``.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from lecturepkg.detection._args import (
    check_boxes,
    check_feature_map,
    check_image_size,
    check_int,
    check_real,
    check_tuple,
)
from lecturepkg.detection.boxes import box_area
from lecturepkg.detection.roi_ops import roi_align

__all__ = ["MultiScaleRoIAlign", "fpn_levels", "infer_scale"]


def infer_scale(feature_size: Sequence[int], image_size: Sequence[int]) -> float:
    """The feature map's scale relative to the image, as a power of two: ``1 / stride``.

    The ratio of the heights is rounded to the nearest power of two in the log domain (a
    stride-32 map of an 800-pixel image has 25 rows: ``25 / 800`` gives ``1/32``), as in
    torchvision, which also reads only the heights.

    Parameters
    ----------
    feature_size : (int, int)
        The feature map's ``(height, width)``.
    image_size : (int, int)
        The (padded) image's ``(height, width)``.

    >>> infer_scale((25, 34), (800, 1088))
    0.03125
    """
    feature_h, _ = check_image_size("feature_size", feature_size)
    image_h, _ = check_image_size("image_size", image_size)
    if feature_h == 0 or image_h == 0:
        raise ValueError(f"sizes must be positive, got {feature_size} and {image_size}")
    return 2.0 ** round(math.log2(feature_h / image_h))


def fpn_levels(
    boxes: torch.Tensor,
    k_min: int,
    k_max: int,
    canonical_scale: float = 224,
    canonical_level: int = 4,
    eps: float = 1e-6,
) -> torch.Tensor:
    """The FPN level of every box (Lin et al. 2017, equation 1), clamped to ``[k_min, k_max]``.

    ``k = floor(canonical_level + log2(sqrt(area) / canonical_scale) + eps)``; ``eps``
    keeps a box of exactly ``canonical_scale * 2**j`` pixels on level ``canonical_level +
    j`` despite rounding.

    Parameters
    ----------
    boxes : torch.Tensor
        ``(N, 4)`` boxes in ``(x1, y1, x2, y2)`` image coordinates.
    k_min, k_max : int
        The finest and the coarsest level available (2 and 5 for ResNet-FPN's
        ``P2..P5``).
    canonical_scale : float
        Side of the box that goes to ``canonical_level`` (224, ImageNet's image size).
    canonical_level : int
        ``k0`` of the paper, 4.
    eps : float
        Added before the floor, as in torchvision.

    Returns
    -------
    torch.Tensor
        ``(N,)`` int64 levels.

    >>> fpn_levels(torch.tensor([[0., 0., 224., 224.], [0., 0., 112., 112.],
    ...                          [0., 0., 20., 20.]]), 2, 5)
    tensor([4, 3, 2])
    """
    boxes = check_boxes("boxes", boxes)
    k_min = check_int("k_min", k_min)
    k_max = check_int("k_max", k_max, minimum=k_min)
    canonical_scale = check_real("canonical_scale", canonical_scale, positive=True)
    canonical_level = check_int("canonical_level", canonical_level)
    eps = check_real("eps", eps, nonnegative=True)
    side = torch.sqrt(box_area(boxes))  # (N,) geometric mean of width and height
    level = torch.floor(canonical_level + torch.log2(side / canonical_scale) + eps)
    return level.clamp(min=k_min, max=k_max).to(torch.int64)


class MultiScaleRoIAlign(nn.Module):
    """RoIAlign on a feature pyramid, each region on its level (FPN, Lin et al. 2017, eq. 1).

    Parameters
    ----------
    featmap_names : list of str
        Names of the maps in the input dict to pool from (for torchvision's ResNet-FPN
        ``["0", "1", "2", "3"]``, strides 4 to 32; the pyramid's extra ``"pool"`` level is
        left out). They are used in the order of the input dict, finest first.
    output_size : int or (int, int)
        Pooled size: 7 for the box head, 14 for the mask head.
    sampling_ratio : int
        As in :func:`~lecturepkg.detection.roi_ops.roi_align` (torchvision's models use 2).
    canonical_scale : int
        Box side that maps to ``canonical_level`` (224).
    canonical_level : int
        ``k0`` of equation 1 (4).

    Notes
    -----
    Each map's scale is inferred at every call from its height and the largest image
    height in ``image_shapes`` (:func:`infer_scale`); torchvision infers it at the first
    call and keeps it. The levels are the ``-log2`` of the scales of the first and the
    last map; the ``aligned=False`` RoIAlign of the original Mask R-CNN is used, as in
    torchvision.

    >>> pool = MultiScaleRoIAlign(["0", "1"], output_size=7, sampling_ratio=2)
    >>> maps = {"0": torch.rand(1, 8, 64, 64), "1": torch.rand(1, 8, 32, 32)}
    >>> boxes = [torch.tensor([[0., 0., 50., 40.], [10., 10., 250., 200.]])]
    >>> pool(maps, boxes, [(256, 256)]).shape
    torch.Size([2, 8, 7, 7])
    """

    def __init__(
        self,
        featmap_names: list[str],
        output_size: int | tuple[int, int],
        sampling_ratio: int,
        *,
        canonical_scale: int = 224,
        canonical_level: int = 4,
    ):
        super().__init__()
        if isinstance(featmap_names, str) or not isinstance(featmap_names, (list, tuple)):
            raise TypeError(f"featmap_names must be a list of str, got {featmap_names!r}")
        if not featmap_names or not all(isinstance(n, str) for n in featmap_names):
            raise ValueError(
                f"featmap_names must be a non-empty list of str, got {featmap_names!r}"
            )
        self.featmap_names = list(featmap_names)
        self.output_size = check_tuple("output_size", output_size, 2, minimum=1)
        self.sampling_ratio = check_int("sampling_ratio", sampling_ratio)
        self.canonical_scale = check_real("canonical_scale", canonical_scale, positive=True)
        self.canonical_level = check_int("canonical_level", canonical_level)

    def _levels(self, x: dict) -> list[torch.Tensor]:
        """The maps named in ``featmap_names``, in the order of ``x``."""
        if not isinstance(x, dict):
            raise TypeError(f"x must be a dict of feature maps, got {type(x).__name__}")
        missing = [name for name in self.featmap_names if name not in x]
        if missing:
            raise KeyError(f"x has no feature map named {missing}; it has {list(x)}")
        maps = [check_feature_map(f"x[{name!r}]", x[name]) for name in x
                if name in self.featmap_names]
        if len({tuple(m.shape[:2]) for m in maps}) > 1:
            shapes = {name: tuple(x[name].shape) for name in self.featmap_names}
            raise ValueError(f"feature maps must share N and C, got shapes {shapes}")
        return maps

    def forward(
        self, x: dict[str, torch.Tensor], boxes: list[torch.Tensor], image_shapes: list
    ) -> torch.Tensor:
        """Pool every box from its pyramid level.

        Parameters
        ----------
        x : dict of str to torch.Tensor
            Feature maps ``(N, C, H_k, W_k)``, finest first.
        boxes : list of torch.Tensor
            One ``(K_i, 4)`` tensor of ``(x1, y1, x2, y2)`` boxes per image, in the
            coordinates of the (resized) image.
        image_shapes : list of (int, int)
            The ``(height, width)`` of each image before padding into a batch.

        Returns
        -------
        torch.Tensor
            ``(K_1 + ... + K_N, C, output_height, output_width)``, boxes in order.
        """
        maps = self._levels(x)
        if not isinstance(boxes, (list, tuple)):
            raise TypeError(f"boxes must be a list of (K_i, 4) tensors, got {type(boxes).__name__}")
        if len(boxes) != maps[0].shape[0]:
            raise ValueError(f"boxes must hold one tensor per image ({maps[0].shape[0]}), "
                             f"got {len(boxes)}")
        if not isinstance(image_shapes, (list, tuple)) or not image_shapes:
            raise ValueError(f"image_shapes must be a non-empty list of (height, width), "
                             f"got {image_shapes!r}")
        shapes = [check_image_size(f"image_shapes[{i}]", s) for i, s in enumerate(image_shapes)]
        largest = (max(h for h, _ in shapes), max(w for _, w in shapes))
        scales = [infer_scale(m.shape[-2:], largest) for m in maps]  # (L,) 1 / stride
        pooled = dict(output_size=self.output_size, sampling_ratio=self.sampling_ratio)
        if len(maps) == 1:
            return roi_align(maps[0], list(boxes), spatial_scale=scales[0], **pooled)

        for i, b in enumerate(boxes):
            check_boxes(f"boxes[{i}]", b)
        k_min, k_max = int(-math.log2(scales[0])), int(-math.log2(scales[-1]))
        level = fpn_levels(torch.cat(list(boxes)), k_min, k_max,
                           self.canonical_scale, self.canonical_level)  # (K,)
        image = torch.cat([torch.full((len(b),), i, device=b.device)
                           for i, b in enumerate(boxes)])  # (K,)
        rois = torch.cat([image[:, None].to(boxes[0].dtype), torch.cat(list(boxes))], dim=1)
        out = None
        for k, (features, scale) in enumerate(zip(maps, scales), start=k_min):
            members = torch.where(level == k)[0]  # the boxes pooled from level k
            part = roi_align(features, rois[members], spatial_scale=scale, **pooled)
            if out is None:  # (K, C, output_height, output_width)
                out = part.new_zeros((len(rois),) + tuple(part.shape[1:]))
            out = out.index_copy(0, members, part)
        return out

    def extra_repr(self) -> str:
        return (f"featmap_names={self.featmap_names}, output_size={self.output_size}, "
                f"sampling_ratio={self.sampling_ratio}")
