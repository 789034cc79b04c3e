"""Anchors, the reference boxes that the region proposal network starts from.

Faster R-CNN's region proposal network (Ren et al., *Faster R-CNN*, 2015, section 3.1) slides
over a feature map and, at every position, scores and refines ``k`` fixed boxes centred on
that position: the *anchors*, one per combination of a size (a square's side, the box's
area is ``size**2``) and an aspect ratio ``height / width``. With the paper's 3 sizes (128,
256, 512 pixels) and 3 ratios (1:2, 1:1, 2:1) ``k = 9``; a feature map of ``W x H``
positions has ``W * H * k`` anchors (:func:`anchor_count`). The anchors of feature-map
position ``(i, j)`` are centred on pixel ``(j * stride_x, i * stride_y)`` of the image,
``stride = image size // feature-map size`` along each axis. With a feature pyramid (Lin et
al., *Feature Pyramid Networks*, 2017) every level gets its own sizes: torchvision's Mask
R-CNN uses one size per level (32, 64, 128, 256, 512), each with the 3 ratios.

:class:`AnchorGenerator` has the constructor, attributes, methods and results of
``torchvision.models.detection.anchor_utils.AnchorGenerator``. Its ``forward`` takes any
object with the two attributes of torchvision's ``ImageList`` (``tensors``, the padded batch,
and ``image_sizes``), so that the package needs no private class of torchvision.
"""

from __future__ import annotations

import numbers
from typing import Any, Sequence

import torch
from torch import nn

from lecturepkg.detection._args import check_image_size, check_int, check_tensor

__all__ = ["AnchorGenerator", "anchor_count"]


def anchor_count(grid_size: Sequence[int], anchors_per_location: int) -> int:
    """The number of anchors of one feature map, ``W x H x k`` (Ren et al. 2015, sec. 3.1).

    Parameters
    ----------
    grid_size : (int, int)
        The feature map's ``(height, width)`` in positions.
    anchors_per_location : int
        ``k``, the anchors per position (``len(sizes) * len(aspect_ratios)``, as
        :meth:`AnchorGenerator.num_anchors_per_location` gives per level).

    Returns
    -------
    int
        ``height * width * k``: how many anchors :class:`AnchorGenerator` puts on that map.

    Examples
    --------
    A ResNet C4 feature map (stride 16) of a 600 x 800 image has 38 x 50 positions:

    >>> anchor_count((38, 50), 9)
    17100
    """
    height, width = check_image_size("grid_size", grid_size)
    k = check_int("anchors_per_location", anchors_per_location, minimum=1)
    return height * width * k


def _check_levels(name: str, value: Any, kind: str) -> tuple[tuple[float, ...], ...]:
    """Sizes or aspect ratios as one non-empty tuple of positive numbers per level."""
    if not isinstance(value, (tuple, list)) or not value:
        raise TypeError(
            f"{name} must be a non-empty tuple with one tuple of {kind} per feature map, "
            f"e.g. ((128, 256, 512),), got {value!r}"
        )
    levels = []
    for i, level in enumerate(value):
        if not isinstance(level, (tuple, list)) or not level:
            raise TypeError(
                f"{name}[{i}] must be a non-empty tuple of {kind}, got {level!r}"
            )
        for j, v in enumerate(level):
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not v > 0:
                raise ValueError(f"{name}[{i}][{j}] must be a number > 0, got {v!r}")
        levels.append(tuple(level))
    return tuple(levels)


class AnchorGenerator(nn.Module):
    """The anchors of every position of one or more feature maps (Ren et al. 2015).

    The same constructor, attributes and results as
    ``torchvision.models.detection.anchor_utils.AnchorGenerator``.

    Parameters
    ----------
    sizes : tuple of tuples of numbers
        One tuple of anchor sizes (square sides, in pixels) per feature map. As in torchvision
        a flat tuple ``(32, 64)`` is read as one size per feature map, ``((32,), (64,))``.
    aspect_ratios : tuple of tuples of numbers
        One tuple of ratios ``height / width`` per feature map. As in torchvision a flat
        tuple is used for every feature map.

    Attributes
    ----------
    sizes : tuple of tuple
        The sizes, one tuple per feature map.
    aspect_ratios : tuple of tuple
        The aspect ratios, one tuple per feature map.
    cell_anchors : list of torch.Tensor
        One ``(k_l, 4)`` tensor per feature map: its anchors centred on ``(0, 0)``, as
        ``(x1, y1, x2, y2)`` rounded to whole pixels, ratio-major (all sizes of the first
        ratio, then of the next). A plain list, not buffers: anchors are no weights and do
        not appear in ``state_dict`` (nor in torchvision's).

    Examples
    --------
    >>> generator = AnchorGenerator(sizes=((128, 256, 512),), aspect_ratios=((0.5, 1.0, 2.0),))
    >>> generator.num_anchors_per_location()
    [9]
    >>> generator.cell_anchors[0][:3]  # ratio 0.5 (wider than tall), sizes 128, 256, 512
    tensor([[ -91.,  -45.,   91.,   45.],
            [-181.,  -91.,  181.,   91.],
            [-362., -181.,  362.,  181.]])
    """

    def __init__(
        self,
        sizes=((128, 256, 512),),
        aspect_ratios=((0.5, 1.0, 2.0),),
    ) -> None:
        super().__init__()
        if isinstance(sizes, (tuple, list)) and sizes and not isinstance(sizes[0], (tuple, list)):
            sizes = tuple((s,) for s in sizes)  # one size per feature map
        if (isinstance(aspect_ratios, (tuple, list)) and aspect_ratios
                and not isinstance(aspect_ratios[0], (tuple, list))):
            aspect_ratios = (tuple(aspect_ratios),) * len(sizes)  # the same for every map
        self.sizes = _check_levels("sizes", sizes, "sizes")
        self.aspect_ratios = _check_levels("aspect_ratios", aspect_ratios, "ratios")
        if len(self.sizes) != len(self.aspect_ratios):
            raise ValueError(
                f"sizes and aspect_ratios must have one entry per feature map each, got "
                f"{len(self.sizes)} and {len(self.aspect_ratios)}"
            )
        self.cell_anchors = [
            self.generate_anchors(s, r) for s, r in zip(self.sizes, self.aspect_ratios)
        ]

    def generate_anchors(
        self,
        scales: Sequence[float],
        aspect_ratios: Sequence[float],
        dtype: torch.dtype = torch.float32,
        device: torch.device = torch.device("cpu"),
    ) -> torch.Tensor:
        """The anchors of one position, centred on ``(0, 0)``, one per (ratio, size) pair.

        An anchor of size ``s`` and ratio ``r = h / w`` keeps the area ``s**2``: its height is
        ``s * sqrt(r)`` and its width ``s / sqrt(r)``. The corners are rounded to whole pixels.

        Returns
        -------
        Tensor
            ``(len(aspect_ratios) * len(scales), 4)``, row ``i * len(scales) + j`` for ratio
            ``i`` and size ``j``.
        """
        scales = torch.as_tensor(scales, dtype=dtype, device=device)  # (S,)
        ratios = torch.as_tensor(aspect_ratios, dtype=dtype, device=device)  # (R,)
        height_factor = torch.sqrt(ratios)  # (R,): h = s * sqrt(r), w = s / sqrt(r)
        width_factor = 1 / height_factor
        widths = (width_factor[:, None] * scales[None, :]).reshape(-1)  # (R * S,)
        heights = (height_factor[:, None] * scales[None, :]).reshape(-1)  # (R * S,)
        half_boxes = torch.stack([-widths, -heights, widths, heights], dim=1) / 2  # (R*S, 4)
        return half_boxes.round()

    def set_cell_anchors(self, dtype: torch.dtype, device: torch.device) -> None:
        """Move ``cell_anchors`` to ``dtype`` and ``device`` (those of the feature maps)."""
        self.cell_anchors = [a.to(dtype=dtype, device=device) for a in self.cell_anchors]

    def num_anchors_per_location(self) -> list[int]:
        """``k`` for each feature map, ``len(sizes[l]) * len(aspect_ratios[l])``."""
        return [len(s) * len(r) for s, r in zip(self.sizes, self.aspect_ratios)]

    def grid_anchors(
        self, grid_sizes: Sequence[Sequence[int]], strides: Sequence[Sequence[Any]]
    ) -> list[torch.Tensor]:
        """Place each feature map's cell anchors at every one of its positions.

        Parameters
        ----------
        grid_sizes : list of (int, int)
            ``(H_l, W_l)`` of each feature map.
        strides : list of (int, int)
            ``(stride_y, stride_x)`` of each feature map, in image pixels per position
            (ints or 0-d integer tensors).

        Returns
        -------
        list of Tensor
            One ``(H_l * W_l * k_l, 4)`` tensor per feature map; row ``(i * W_l + j) * k_l
            + a`` is cell anchor ``a`` shifted to ``(j * stride_x, i * stride_y)``.
        """
        if not len(grid_sizes) == len(strides) == len(self.cell_anchors):
            raise ValueError(
                f"grid_sizes and strides must have one entry per feature map, that is "
                f"{len(self.cell_anchors)} (one per entry of sizes), got {len(grid_sizes)} "
                f"and {len(strides)}"
            )
        anchors = []
        for (height, width), (stride_y, stride_x), cell in zip(
            grid_sizes, strides, self.cell_anchors
        ):
            device = cell.device
            xs = torch.arange(0, width, dtype=torch.int32, device=device) * stride_x  # (W,)
            ys = torch.arange(0, height, dtype=torch.int32, device=device) * stride_y  # (H,)
            centre_y, centre_x = torch.meshgrid(ys, xs, indexing="ij")  # each (H, W)
            centre_x, centre_y = centre_x.reshape(-1), centre_y.reshape(-1)  # (H * W,)
            shifts = torch.stack((centre_x, centre_y, centre_x, centre_y), dim=1)  # (H*W, 4)
            # every position (rows) with every cell anchor (columns): (H * W, k, 4)
            placed = shifts[:, None, :] + cell[None, :, :]
            anchors.append(placed.reshape(-1, 4))  # (H * W * k, 4)
        return anchors

    def forward(self, image_list: Any, feature_maps: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """The anchors of every image of a batch, over all the feature maps.

        Parameters
        ----------
        image_list : ImageList-like
            Any object with the attributes of torchvision's ``ImageList``: ``tensors``, the
            padded batch ``(N, C, H, W)``, and ``image_sizes``, one ``(h, w)`` per image. The
            strides come from the padded size ``(H, W)``; ``image_sizes`` only gives ``N``.
        feature_maps : list of Tensor
            One ``(N, C_l, H_l, W_l)`` tensor per entry of ``sizes``; the anchors take the
            dtype and device of the first.

        Returns
        -------
        list of Tensor
            One ``(A, 4)`` tensor per image, ``A = sum_l H_l * W_l * k_l``: the anchors of the
            first feature map (position by position, row-major), then of the next. All
            images share them: their padded batch has one size.
        """
        if not hasattr(image_list, "tensors") or not hasattr(image_list, "image_sizes"):
            raise TypeError(
                "image_list must have the attributes tensors (the padded batch, (N, C, H, W)) "
                f"and image_sizes (one (h, w) per image), like torchvision's ImageList; got "
                f"{type(image_list).__name__}"
            )
        images = check_tensor("image_list.tensors", image_list.tensors, shape="(N, C, H, W)")
        if images.ndim != 4:
            raise ValueError(
                f"image_list.tensors must have shape (N, C, H, W), got {tuple(images.shape)}"
            )
        sizes = image_list.image_sizes
        if not isinstance(sizes, (list, tuple)) or len(sizes) != images.shape[0]:
            raise ValueError(
                "image_list.image_sizes must be a list with one (h, w) per image of "
                f"image_list.tensors ({images.shape[0]}), got {sizes!r:.80}"
            )
        if not isinstance(feature_maps, (list, tuple)) or not feature_maps:
            raise TypeError(
                "feature_maps must be a non-empty list of (N, C, H, W) tensors, got "
                f"{type(feature_maps).__name__} {feature_maps!r:.60}"
            )
        if len(feature_maps) != len(self.cell_anchors):
            raise ValueError(
                f"feature_maps must hold one tensor per entry of sizes ({len(self.sizes)}), "
                f"got {len(feature_maps)}"
            )
        image_height, image_width = images.shape[-2:]
        grid_sizes, strides = [], []
        for i, fmap in enumerate(feature_maps):
            check_tensor(f"feature_maps[{i}]", fmap, shape="(N, C, H, W)", floating=True)
            if fmap.ndim != 4:
                raise ValueError(
                    f"feature_maps[{i}] must have shape (N, C, H, W), got {tuple(fmap.shape)}"
                )
            height, width = fmap.shape[-2:]
            if not (0 < height <= image_height and 0 < width <= image_width):
                raise ValueError(
                    f"feature_maps[{i}] has spatial size {(height, width)}, which must be "
                    f"non-empty and at most the image's {(image_height, image_width)}"
                )
            grid_sizes.append((height, width))
            # image pixels per feature-map position, as 0-d int64 tensors like torchvision
            strides.append([
                torch.tensor(image_height // height, dtype=torch.int64, device=fmap.device),
                torch.tensor(image_width // width, dtype=torch.int64, device=fmap.device),
            ])
        self.set_cell_anchors(feature_maps[0].dtype, feature_maps[0].device)
        per_map = self.grid_anchors(grid_sizes, strides)  # one (H_l * W_l * k_l, 4) per map
        return [torch.cat(per_map) for _ in image_list.image_sizes]  # each (A, 4), own copy
