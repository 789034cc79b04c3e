"""RoIPool and RoIAlign: a fixed-size feature map for every region of interest.

The second stage of a two-stage detector looks at each proposal through a small feature
map of fixed size (7 x 7 for the box head, 14 x 14 for the mask head), cut out of the
backbone's features. Both operations divide the region into ``output_size`` bins.

- **RoIPool** (Fast R-CNN, Girshick 2015) rounds the region to whole feature-map cells and
  takes the maximum of each bin, whose borders are rounded again (``floor`` at the start,
  ``ceil`` at the end). Each rounding moves a border by up to a cell, which at a stride of
  16 is up to 16 pixels of the image: the misalignment that RoIAlign removes.
- **RoIAlign** (Mask R-CNN, He et al. 2017, section 3) rounds nothing: it samples the
  features at regularly spaced points of each bin by bilinear interpolation and averages
  them. With ``sampling_ratio <= 0`` a bin gets ``ceil(roi_height / output_height)`` by
  ``ceil(roi_width / output_width)`` points, so about one per feature-map cell; with
  ``aligned=True`` the box coordinates are shifted by half a cell, so that a pixel's centre
  falls on the feature sample it belongs to (torchvision's correction of the original,
  ``aligned=False``, which is what the paper's models used).

Both functions have the signatures and the results of ``torchvision.ops.roi_pool`` and
``torchvision.ops.roi_align`` (its CPU kernel's border rules included) and let autograd
compute the gradient with respect to the features. Regions are processed in groups that
share a window or sample-grid size, each group as one vectorised gather.
"""

from __future__ import annotations

from typing import Iterator, Sequence, Union

import torch

from lecturepkg.detection._args import (
    check_bool,
    check_feature_map,
    check_int,
    check_real,
    check_rois,
    check_tensor,
    check_tuple,
)

__all__ = ["roi_pool", "roi_align", "bilinear_sample"]

Boxes = Union[torch.Tensor, Sequence[torch.Tensor]]
"""Regions as one ``(K, 5)`` tensor ``(image index, x1, y1, x2, y2)`` or one ``(K_i, 4)``
tensor per image."""


def _prepare(input, boxes, output_size, spatial_scale):
    """Check the arguments the two operations share; return them in a form ready to use.

    Under autocast, like torchvision's autocast rules, both operations run in float32 and
    return the input's dtype. Otherwise features and boxes must have one dtype.
    """
    input = check_feature_map("input", input)  # (N, C, H, W)
    if input.shape[2] == 0 or input.shape[3] == 0:
        raise ValueError(f"input must have H, W >= 1, got shape {tuple(input.shape)}")
    rois = check_rois("boxes", boxes, batch_size=input.shape[0])  # (K, 5)
    if rois.device != input.device:
        raise ValueError(f"boxes must be on input's device {input.device}, got {rois.device}")
    out_h, out_w = check_tuple("output_size", output_size, 2, minimum=1)
    spatial_scale = check_real("spatial_scale", spatial_scale, positive=True)
    result_dtype = input.dtype
    if torch.is_autocast_enabled(input.device.type):
        input, rois = input.float(), rois.float()
    elif rois.dtype != input.dtype:
        raise TypeError(
            f"boxes must have input's dtype {input.dtype}, got {rois.dtype} "
            "(or call under torch.autocast)"
        )
    return input, rois.detach(), (out_h, out_w), spatial_scale, result_dtype


def _groups(sizes: torch.Tensor) -> Iterator[tuple[tuple[int, int], torch.Tensor]]:
    """For ``(K, 2)`` integer sizes, yield each distinct ``(a, b)`` with the rows that have it."""
    distinct, which = torch.unique(sizes, dim=0, return_inverse=True)
    for g, (a, b) in enumerate(distinct.tolist()):
        yield (a, b), torch.where(which == g)[0]


def _zeros_in_graph(input: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """Zeros that autograd connects to ``input`` (through an empty sum), so that a region
    with no bin inside the map, or no region at all, gives a zero gradient, not none."""
    return input[:0].sum() + input.new_zeros(shape)


def _round_half_away(x: torch.Tensor) -> torch.Tensor:
    """C's ``round``: halves go away from zero (``torch.round`` rounds them to even)."""
    return torch.sign(x) * torch.floor(x.abs() + 0.5)


def roi_pool(
    input: torch.Tensor,
    boxes: Boxes,
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
) -> torch.Tensor:
    """Max-pool every region of interest into ``output_size`` bins (Fast R-CNN's RoIPool).

    A box is scaled by ``spatial_scale`` and its corners rounded to the nearest feature-map
    cell (halves away from zero); the region then covers the cells ``x1..x2`` and
    ``y1..y2`` inclusive, at least one cell each way. Bin ``i`` of ``output_height`` covers
    rows ``floor(i * h / output_height)`` to ``ceil((i + 1) * h / output_height)``
    (exclusive) of the region's ``h`` rows, clipped to the feature map; columns likewise.
    A bin outside the feature map gives 0. Among equal maxima the first in row-major order
    receives the gradient.

    Parameters
    ----------
    input : torch.Tensor
        ``(N, C, H, W)`` floating feature maps.
    boxes : torch.Tensor or list of torch.Tensor
        ``(K, 5)`` rows ``(image index, x1, y1, x2, y2)``, or a list with one ``(K_i, 4)``
        tensor of ``(x1, y1, x2, y2)`` boxes per image; in image coordinates.
    output_size : int or (int, int)
        ``(output_height, output_width)``, or one int for both.
    spatial_scale : float
        Feature-map cells per image pixel: ``1 / stride`` (``1/16`` for a stride of 16).

    Returns
    -------
    torch.Tensor
        ``(K, C, output_height, output_width)``.

    >>> x = torch.arange(16.).reshape(1, 1, 4, 4)
    >>> roi_pool(x, torch.tensor([[0., 0., 0., 3., 3.]]), output_size=2)
    tensor([[[[ 5.,  7.],
              [13., 15.]]]])
    """
    input, rois, (out_h, out_w), scale, result_dtype = _prepare(
        input, boxes, output_size, spatial_scale
    )
    n_rois, channels, height, width = len(rois), input.shape[1], input.shape[2], input.shape[3]
    # (K,) each; scaled in float64 like torchvision's kernel, as one ulp can flip a rounding
    x1, y1, x2, y2 = (_round_half_away(rois[:, i].double() * scale).long() for i in range(1, 5))
    roi_h = (y2 - y1 + 1).clamp(min=1).to(input.dtype)  # (K,) whole cells, at least one
    roi_w = (x2 - x1 + 1).clamp(min=1).to(input.dtype)

    def bin_edges(start, cells, bins, limit):
        """Bins' first and past-the-end rows (or columns), clipped to [0, limit]."""
        i = torch.arange(bins, dtype=input.dtype, device=input.device)  # (bins,)
        size = cells[:, None] / bins  # (K, 1) cells per bin, not rounded
        first = torch.floor(i * size).long() + start[:, None]  # (K, bins)
        stop = torch.ceil((i + 1) * size).long() + start[:, None]
        return first.clamp(0, limit), stop.clamp(0, limit)

    row0, row1 = bin_edges(y1, roi_h, out_h, height)  # (K, out_h) each
    col0, col1 = bin_edges(x1, roi_w, out_w, width)  # (K, out_w) each
    # The largest bin of each region, in rows and columns: the window its group gathers.
    windows = torch.stack([(row1 - row0).amax(1), (col1 - col0).amax(1)], dim=1)  # (K, 2)

    features = input.permute(0, 2, 3, 1)  # (N, H, W, C): one gather picks all channels
    out = _zeros_in_graph(input, (n_rois, channels, out_h, out_w))
    for (win_h, win_w), members in _groups(windows):
        if win_h == 0 or win_w == 0:
            continue  # every bin of these regions lies outside the map: 0
        rows = row0[members, :, None] + torch.arange(win_h, device=input.device)  # (k, oh, wh)
        cols = col0[members, :, None] + torch.arange(win_w, device=input.device)  # (k, ow, ww)
        row_in = rows < row1[members, :, None]  # (k, out_h, win_h): inside its bin?
        col_in = cols < col1[members, :, None]  # (k, out_w, win_w)
        image = rois[members, 0].long()[:, None, None, None, None]
        values = features[image,
                          rows.clamp(max=height - 1)[:, :, :, None, None],
                          cols.clamp(max=width - 1)[:, None, None, :, :]]  # (k,oh,wh,ow,ww,C)
        inside = row_in[:, :, :, None, None] & col_in[:, None, None, :, :]  # (k,oh,wh,ow,ww)
        values = values.masked_fill(~inside[..., None], float("-inf"))
        values = values.permute(0, 5, 1, 3, 2, 4).flatten(4)  # (k, C, oh, ow, wh*ww)
        best = values.max(dim=4).values  # (k, C, out_h, out_w); ties: first in row order
        empty = ~inside.any(dim=4).any(dim=2)  # (k, out_h, out_w)
        out = out.index_copy(0, members, best.masked_fill(empty[:, None], 0.0))
    return out.to(result_dtype)


def _linear_taps(coord: torch.Tensor, size: int):
    """The two neighbours and weights of linear interpolation at ``coord`` along one axis.

    torchvision's border rules: a sample more than one cell outside ``[0, size - 1]``
    (``coord < -1`` or ``coord > size``) contributes nothing (both weights 0); otherwise
    ``coord`` is clamped to ``[0, size - 1]`` first.

    Returns ``(low, high, weight_low, weight_high)``, each of ``coord``'s shape.
    """
    inside = ((coord >= -1.0) & (coord <= size)).to(coord.dtype)
    coord = coord.clamp(min=0)
    low = coord.floor().long()
    at_end = low >= size - 1
    low = low.clamp(max=size - 1)
    high = torch.where(at_end, low, low + 1)
    weight_high = torch.where(at_end, torch.zeros_like(coord), coord - low)
    return low, high, (1 - weight_high) * inside, weight_high * inside


def _check_sample_args(features, image, y, x) -> None:
    check_feature_map("features", features)  # (N, C, H, W)
    if features.shape[2] == 0 or features.shape[3] == 0:
        raise ValueError(f"features must have H, W >= 1, got shape {tuple(features.shape)}")
    image = check_tensor("image", image, shape="(K,)")
    if image.ndim != 1 or image.is_floating_point() or image.dtype == torch.bool:
        raise TypeError(f"image must be a (K,) integer tensor, got {image.dtype} "
                        f"of shape {tuple(image.shape)}")
    if len(image) and (image.min() < 0 or image.max() >= features.shape[0]):
        raise ValueError(f"image must hold indices in [0, {features.shape[0]})")
    for name, coord in (("y", y), ("x", x)):
        check_tensor(name, coord, shape=f"({len(image)}, S)", floating=True)
        if coord.ndim != 2 or coord.shape[0] != len(image):
            raise ValueError(f"{name} must have shape ({len(image)}, S), one row per entry "
                             f"of image, got {tuple(coord.shape)}")


def bilinear_sample(
    features: torch.Tensor, image: torch.Tensor, y: torch.Tensor, x: torch.Tensor
) -> torch.Tensor:
    """Bilinear interpolation of feature maps on a grid of rows ``y`` and columns ``x``.

    The value at ``(y, x)`` is the average of the four surrounding cells weighted by
    closeness: ``(1-ly)(1-lx) f[y0, x0] + (1-ly) lx f[y0, x1] + ly (1-lx) f[y1, x0]
    + ly lx f[y1, x1]``, where ``y0 = floor(y)``, ``y1 = y0 + 1``, ``ly = y - y0`` (and
    likewise along x). At the borders, RoIAlign's rules (torchvision's kernel): a
    coordinate in ``[-1, 0)`` counts as 0, one in ``[H - 1, H]`` as the last row, and a
    sample with ``y < -1``, ``y > H``, ``x < -1`` or ``x > W`` is 0.

    Parameters
    ----------
    features : torch.Tensor
        ``(N, C, H, W)`` feature maps.
    image : torch.Tensor
        ``(K,)`` integer: which image each grid samples.
    y : torch.Tensor
        ``(K, P)`` row coordinates, in feature-map cells (cell centres at integers).
    x : torch.Tensor
        ``(K, Q)`` column coordinates.

    Returns
    -------
    torch.Tensor
        ``(K, P, Q, C)``: the channels of image ``image[k]`` at ``(y[k, p], x[k, q])``.

    >>> f = torch.tensor([[[[0., 10.], [20., 30.]]]])
    >>> bilinear_sample(f, torch.tensor([0]), torch.tensor([[0.5]]), torch.tensor([[0.25]]))
    tensor([[[[12.5000]]]])
    """
    _check_sample_args(features, image, y, x)
    hwc = features.permute(0, 2, 3, 1)  # (N, H, W, C): one gather picks all channels
    y0, y1, wy0, wy1 = _linear_taps(y, features.shape[2])  # each (K, P)
    x0, x1, wx0, wx1 = _linear_taps(x, features.shape[3])  # each (K, Q)
    n = image[:, None, None]  # (K, 1, 1)
    out = 0
    for rows, wy in ((y0, wy0), (y1, wy1)):
        for cols, wx in ((x0, wx0), (x1, wx1)):
            weight = wy[:, :, None] * wx[:, None, :]  # (K, P, Q)
            out = out + weight[..., None] * hwc[n, rows[:, :, None], cols[:, None, :]]
    return out  # (K, P, Q, C)


def roi_align(
    input: torch.Tensor,
    boxes: Boxes,
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = -1,
    aligned: bool = False,
) -> torch.Tensor:
    """Average bilinear samples of every bin of every region of interest (Mask R-CNN's RoIAlign).

    The box is scaled by ``spatial_scale`` (minus half a cell if ``aligned``) and split
    into ``output_size`` equal bins without rounding. Each bin is sampled at the centres of
    a ``gh x gw`` grid of sub-cells: ``gh = gw = sampling_ratio`` when it is positive,
    otherwise ``gh = ceil(roi_height / output_height)`` and ``gw = ceil(roi_width /
    output_width)`` for each region. The bin's value is the mean of the samples, computed
    by :func:`bilinear_sample`. With ``aligned=False`` a region is at least one cell high
    and wide, as in the original Mask R-CNN; with ``aligned=True`` it is not.

    Parameters
    ----------
    input : torch.Tensor
        ``(N, C, H, W)`` floating feature maps.
    boxes : torch.Tensor or list of torch.Tensor
        ``(K, 5)`` rows ``(image index, x1, y1, x2, y2)``, or a list with one ``(K_i, 4)``
        tensor of ``(x1, y1, x2, y2)`` boxes per image; in image coordinates. No gradient
        flows to the boxes (as in torchvision).
    output_size : int or (int, int)
        ``(output_height, output_width)``, or one int for both.
    spatial_scale : float
        Feature-map cells per image pixel: ``1 / stride``.
    sampling_ratio : int
        Samples per bin along each axis; ``<= 0`` (default ``-1``) adapts it to the region.
    aligned : bool
        Shift the scaled box by ``-0.5`` cell so that pixel centres and feature-map cell
        centres line up (Detectron2's correction).

    Returns
    -------
    torch.Tensor
        ``(K, C, output_height, output_width)``.

    >>> x = torch.arange(16.).reshape(1, 1, 4, 4)  # x[..., i, j] = 4 i + j
    >>> roi_align(x, torch.tensor([[0., 0., 0., 2., 2.]]), 1, sampling_ratio=1)
    tensor([[[[5.]]]])
    """
    input, rois, (out_h, out_w), scale, result_dtype = _prepare(
        input, boxes, output_size, spatial_scale
    )
    sampling_ratio = check_int("sampling_ratio", sampling_ratio)
    aligned = check_bool("aligned", aligned)
    n_rois, channels = len(rois), input.shape[1]

    offset = 0.5 if aligned else 0.0
    # (K,) each, in cells; scaled in float64 then rounded to input's dtype, like the kernel
    x1, y1, x2, y2 = ((rois[:, i].double() * scale - offset).to(input.dtype) for i in range(1, 5))
    roi_w, roi_h = x2 - x1, y2 - y1  # (K,)
    if not aligned:
        roi_w, roi_h = roi_w.clamp(min=1.0), roi_h.clamp(min=1.0)
    bin_h, bin_w = roi_h / out_h, roi_w / out_w  # (K,) bin size, in cells
    if sampling_ratio > 0:
        grids = torch.full((n_rois, 2), sampling_ratio, dtype=torch.int64, device=input.device)
    else:  # about one sample per cell; none for an empty (aligned) region
        grids = torch.stack([torch.ceil(roi_h / out_h), torch.ceil(roi_w / out_w)], dim=1)
        grids = grids.long().clamp(min=0)  # (K, 2)

    def sample_coords(start, bin_size, bins, grid):
        """Sample positions along one axis: bins x grid sub-cell centres, (k, bins * grid)."""
        b = torch.arange(bins, dtype=input.dtype, device=input.device)[None, :, None]
        g = torch.arange(grid, dtype=input.dtype, device=input.device)[None, None, :]
        start, bin_size = start[:, None, None], bin_size[:, None, None]
        return (start + b * bin_size + (g + 0.5) * bin_size / grid).flatten(1)

    out = _zeros_in_graph(input, (n_rois, channels, out_h, out_w))
    for (grid_h, grid_w), members in _groups(grids):
        ys = sample_coords(y1[members], bin_h[members], out_h, grid_h)  # (k, out_h*grid_h)
        xs = sample_coords(x1[members], bin_w[members], out_w, grid_w)  # (k, out_w*grid_w)
        image = rois[members, 0].long()  # (k,)
        samples = bilinear_sample(input, image, ys, xs)  # (k, out_h*grid_h, out_w*grid_w, C)
        samples = samples.reshape(len(members), out_h, grid_h, out_w, grid_w, channels)
        mean = samples.sum(dim=(2, 4)) / max(grid_h * grid_w, 1)  # (k, out_h, out_w, C)
        out = out.index_copy(0, members, mean.permute(0, 3, 1, 2))
    return out.to(result_dtype)
