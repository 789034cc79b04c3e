"""Reference solutions of the chapter 5 exercises, "Case study: Mask R-CNN".

Each function is the solution of the exercise of the same name in
``book/05-mask-rcnn/exercises.md``, with the same signature and the same docstring as the
stub there. They use plain Python, numpy and PyTorch tensors, never the functions that would
do the work (``torchvision.ops``, ``torchvision.models.detection``, pycocotools, the
course's own ``lecturepkg.detection``): those are the answers the exercises ask for. Each
function is self-contained, so that it can be pasted into the exercises notebook as it
stands.
"""

from __future__ import annotations

import math

import numpy as np
import torch  # noqa: F401 - the docstring examples use it; each function imports it itself

__all__ = [
    "box_iou",
    "decode_boxes",
    "nms",
    "roi_align_single",
    "grid_anchors",
    "mask_loss",
    "average_precision",
]


def box_iou(boxes1, boxes2):
    """The intersection over union (IoU) of every box of ``boxes1`` with every box of
    ``boxes2``, as ``torchvision.ops.box_iou`` computes it.

    Boxes are ``(x1, y1, x2, y2)`` with ``x1 <= x2`` and ``y1 <= y2``, in continuous
    coordinates: the area of a box is ``(x2 - x1) * (y2 - y1)``, with no ``+ 1``. The
    intersection of two boxes is the box between the larger top-left corner and the
    smaller bottom-right corner, empty (area 0) when they do not overlap. Then
    ``IoU = intersection / (area1 + area2 - intersection)``.

    Parameters
    ----------
    boxes1 : torch.Tensor, shape (N, 4), float
    boxes2 : torch.Tensor, shape (M, 4), float

    Returns
    -------
    torch.Tensor, shape (N, M)
        The dtype of the boxes; entry ``[i, j]`` is the IoU of ``boxes1[i]`` and
        ``boxes2[j]``.

    Raises
    ------
    ValueError
        If a box tensor is not of shape (number of boxes, 4).

    Examples
    --------
    >>> boxes1 = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
    >>> box_iou(boxes1, torch.tensor([[1.0, 0.0, 3.0, 2.0], [5.0, 5.0, 6.0, 6.0]]))
    tensor([[0.3333, 0.0000]])
    """
    import torch

    for name, boxes in (("boxes1", boxes1), ("boxes2", boxes2)):
        if not isinstance(boxes, torch.Tensor) or boxes.ndim != 2 or boxes.shape[1] != 4:
            raise ValueError(f"{name} must be a tensor of shape (number of boxes, 4), got "
                             f"{tuple(getattr(boxes, 'shape', ()))}")
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])  # (N,)
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])  # (M,)
    top_left = torch.maximum(boxes1[:, None, :2], boxes2[None, :, :2])  # (N, M, 2)
    bottom_right = torch.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])  # (N, M, 2)
    size = (bottom_right - top_left).clamp(min=0)  # (N, M, 2): 0 where they do not overlap
    intersection = size[..., 0] * size[..., 1]  # (N, M)
    return intersection / (area1[:, None] + area2[None, :] - intersection)


def decode_boxes(rel_codes, boxes, weights=(1.0, 1.0, 1.0, 1.0),
                 bbox_xform_clip=math.log(1000.0 / 16)):
    """Apply the box regression offsets of Faster R-CNN to boxes, as
    ``BoxCoder(weights, bbox_xform_clip).decode_single`` of torchvision does.

    A box ``(x1, y1, x2, y2)`` has the width ``w = x2 - x1``, the height ``h = y2 - y1``
    and the centre ``(x1 + w / 2, y1 + h / 2)``. The offsets ``(dx, dy, dw, dh)`` are
    first divided by ``weights = (wx, wy, ww, wh)``; ``dw`` and ``dh`` are then clamped
    from above at ``bbox_xform_clip`` (``log(1000 / 16)``: no box grows more than 62.5
    times in one step). The new centre is ``(cx + dx * w, cy + dy * h)``, the new size
    ``(w * exp(dw), h * exp(dh))``, and the result is given back as corners
    ``(cx' - w' / 2, cy' - h' / 2, cx' + w' / 2, cy' + h' / 2)``.

    Parameters
    ----------
    rel_codes : torch.Tensor, shape (N, 4), float
        The offsets ``(dx, dy, dw, dh)`` of each box.
    boxes : torch.Tensor, shape (N, 4), float
        The boxes they apply to (anchors or proposals), ``(x1, y1, x2, y2)``.
    weights : tuple of 4 floats
        ``(wx, wy, ww, wh)``: the offsets are divided by them (Faster R-CNN's second
        stage uses ``(10, 10, 5, 5)``).
    bbox_xform_clip : float
        The largest ``dw`` and ``dh`` after the division.

    Returns
    -------
    torch.Tensor, shape (N, 4)
        The decoded boxes ``(x1, y1, x2, y2)``, in the dtype of ``rel_codes``.

    Raises
    ------
    ValueError
        If ``rel_codes`` or ``boxes`` is not (N, 4) for the same N, or ``weights`` does
        not hold 4 numbers.

    Examples
    --------
    >>> decode_boxes(torch.tensor([[0.5, 0.0, math.log(2.0), 0.0]]),
    ...              torch.tensor([[0.0, 0.0, 4.0, 2.0]]))
    tensor([[0., 0., 8., 2.]])
    """
    import torch

    if not isinstance(boxes, torch.Tensor) or boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes must be a tensor (N, 4), got shape {getattr(boxes, 'shape', None)}")
    if not isinstance(rel_codes, torch.Tensor) or rel_codes.shape != boxes.shape:
        raise ValueError(f"rel_codes must be a tensor of the shape of boxes, {tuple(boxes.shape)}, "
                         f"got {getattr(rel_codes, 'shape', None)}")
    if len(weights) != 4:
        raise ValueError(f"weights must hold 4 numbers (wx, wy, ww, wh), got {weights!r}")
    wx, wy, ww, wh = (float(w) for w in weights)
    boxes = boxes.to(rel_codes.dtype)
    widths = boxes[:, 2] - boxes[:, 0]  # (N,)
    heights = boxes[:, 3] - boxes[:, 1]
    centre_x = boxes[:, 0] + 0.5 * widths
    centre_y = boxes[:, 1] + 0.5 * heights
    dx, dy = rel_codes[:, 0] / wx, rel_codes[:, 1] / wy  # (N,)
    dw = (rel_codes[:, 2] / ww).clamp(max=bbox_xform_clip)  # no exp() overflow
    dh = (rel_codes[:, 3] / wh).clamp(max=bbox_xform_clip)
    new_x = dx * widths + centre_x
    new_y = dy * heights + centre_y
    half_w = 0.5 * (torch.exp(dw) * widths)
    half_h = 0.5 * (torch.exp(dh) * heights)
    return torch.stack([new_x - half_w, new_y - half_h, new_x + half_w, new_y + half_h], dim=1)


def nms(boxes, scores, iou_threshold):
    """Greedy non-maximum suppression, as ``torchvision.ops.nms`` computes it.

    Visit the boxes by decreasing score. The first box is kept; every box whose IoU with
    it is strictly larger than ``iou_threshold`` is suppressed; the next box that is not
    suppressed is kept, and so on. A suppressed box never suppresses another one.

    Parameters
    ----------
    boxes : torch.Tensor, shape (N, 4), float
        ``(x1, y1, x2, y2)``, areas without ``+ 1`` (as in ``box_iou``).
    scores : torch.Tensor, shape (N,), float
    iou_threshold : float
        Boxes that overlap a kept box with an IoU above it are discarded.

    Returns
    -------
    torch.Tensor, shape (K,), int64
        The indices of the kept boxes, by decreasing score.

    Raises
    ------
    ValueError
        If ``boxes`` is not (N, 4) or ``scores`` is not (N,).

    Examples
    --------
    >>> boxes = torch.tensor([[0.0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]])
    >>> nms(boxes, torch.tensor([0.6, 0.9, 0.5]), iou_threshold=0.5)
    tensor([1, 2])
    """
    import torch

    if not isinstance(boxes, torch.Tensor) or boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes must be a tensor (N, 4), got shape {getattr(boxes, 'shape', None)}")
    if not isinstance(scores, torch.Tensor) or tuple(scores.shape) != (len(boxes),):
        raise ValueError(f"scores must be a tensor of shape ({len(boxes)},), one per box, "
                         f"got {getattr(scores, 'shape', None)}")
    x1, y1, x2, y2 = boxes.unbind(dim=1)  # each (N,)
    areas = (x2 - x1) * (y2 - y1)
    order = torch.argsort(scores, descending=True)
    suppressed = torch.zeros(len(boxes), dtype=torch.bool)
    keep = []
    for i in order.tolist():
        if suppressed[i]:
            continue
        keep.append(i)
        width = (torch.minimum(x2[i], x2) - torch.maximum(x1[i], x1)).clamp(min=0)  # (N,)
        height = (torch.minimum(y2[i], y2) - torch.maximum(y1[i], y1)).clamp(min=0)
        intersection = width * height
        iou = intersection / (areas[i] + areas - intersection)
        suppressed |= iou > iou_threshold
    return torch.tensor(keep, dtype=torch.int64)


def roi_align_single(features, box, output_size, spatial_scale=1.0,
                     sampling_ratio=2, aligned=False):
    """RoIAlign (He et al. 2017) of one region on one feature map, as
    ``torchvision.ops.roi_align`` computes it.

    The box ``(x1, y1, x2, y2)``, in image coordinates, is scaled by
    ``spatial_scale`` to feature map coordinates and, if ``aligned``, shifted by half
    a pixel: ``start = x1 * spatial_scale - 0.5`` (the pixel ``j`` of the map covers
    ``[j - 0.5, j + 0.5]`` around its centre). Without ``aligned`` nothing is shifted
    and a region is at least 1 x 1. The region is cut into ``output_size = (ph, pw)``
    bins of equal size, with no rounding anywhere. Each bin is sampled at
    ``sampling_ratio x sampling_ratio`` points placed at the centres of a regular grid
    inside it, for example the x coordinates ``start + (j + (ix + 0.5) /
    sampling_ratio) * bin_width`` of bin ``j``. A point ``(y, x)`` is read by bilinear
    interpolation of its four neighbouring pixels, with torchvision's rules at the
    border: a point beyond -1 or beyond H (or W) reads 0; otherwise a coordinate below
    0 is taken as 0 and one at or beyond the last pixel ``H - 1`` as ``H - 1``. A
    bin's value is the average of its points.

    Parameters
    ----------
    features : torch.Tensor, shape (C, H, W), float
        The feature map.
    box : torch.Tensor, shape (4,), float
        The region ``(x1, y1, x2, y2)`` in image coordinates.
    output_size : int or tuple (ph, pw)
        The number of bins down and across (an int: a square).
    spatial_scale : float
        Feature map pixels per image pixel (1/16 for a stride-16 map).
    sampling_ratio : int
        The sampling points per bin along each axis (at least 1).
    aligned : bool
        Whether to shift the box by half a pixel (Detectron2's alignment; the
        paper's models use ``False``).

    Returns
    -------
    torch.Tensor, shape (C, ph, pw)
        In the dtype of ``features``.

    Raises
    ------
    ValueError
        If ``features`` is not 3-dimensional, ``box`` does not hold 4 numbers, an output
        size is smaller than 1 or ``sampling_ratio`` is smaller than 1.

    Examples
    --------
    >>> features = torch.arange(16.0).reshape(1, 4, 4)
    >>> box = torch.tensor([0.0, 0.0, 2.0, 2.0])
    >>> roi_align_single(features, box, 1, sampling_ratio=1)  # reads (y, x) = (1, 1)
    tensor([[[5.]]])
    """
    import torch

    if not isinstance(features, torch.Tensor) or features.ndim != 3:
        raise ValueError(f"features must be a tensor (C, H, W), got shape {getattr(features, 'shape', None)}")
    if not isinstance(box, torch.Tensor) or tuple(box.shape) != (4,):
        raise ValueError(f"box must be a tensor of shape (4,), got {getattr(box, 'shape', None)}")
    ph, pw = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    if ph < 1 or pw < 1 or sampling_ratio < 1:
        raise ValueError(f"output_size and sampling_ratio must be >= 1, got {output_size!r} "
                         f"and {sampling_ratio!r}")
    C, H, W = features.shape
    offset = 0.5 if aligned else 0.0
    x1, y1, x2, y2 = (float(v) * spatial_scale - offset for v in box)
    width, height = x2 - x1, y2 - y1
    if not aligned:
        width, height = max(width, 1.0), max(height, 1.0)
    g = sampling_ratio
    # the sampling points' coordinates, bin by bin: (ph * g,) and (pw * g,)
    ys = y1 + (torch.arange(ph * g, dtype=torch.float64) + 0.5) * (height / ph / g)
    xs = x1 + (torch.arange(pw * g, dtype=torch.float64) + 0.5) * (width / pw / g)

    def taps(coords, size):
        inside = (coords >= -1.0) & (coords <= size)  # further out: the point reads 0
        coords = coords.clamp(min=0.0)
        low = coords.floor().long()
        last = low >= size - 1
        low = torch.where(last, size - 1, low)
        high = torch.where(last, size - 1, low + 1)
        frac = torch.where(last, 0.0, coords - low)
        return low, high, (1 - frac) * inside, frac * inside

    y_low, y_high, wy_low, wy_high = taps(ys, H)
    x_low, x_high, wx_low, wx_high = taps(xs, W)
    f = features.to(torch.float64)
    samples = 0.0
    for rows, wy in ((y_low, wy_low), (y_high, wy_high)):
        for cols, wx in ((x_low, wx_low), (x_high, wx_high)):
            # (C, ph * g, pw * g): one of the four neighbours of every point, weighted
            samples = samples + f[:, rows][:, :, cols] * (wy[:, None] * wx[None, :])
    bins = samples.reshape(C, ph, g, pw, g).mean(dim=(2, 4))  # (C, ph, pw)
    return bins.to(features.dtype)


def grid_anchors(scales, aspect_ratios, grid_size, stride):
    """The anchors of a feature map, ``k = len(aspect_ratios) * len(scales)`` boxes at
    each of its ``H x W`` positions, as torchvision's ``AnchorGenerator`` places them.

    At one position, an anchor of scale ``s`` (its side, in image pixels) and aspect
    ratio ``r = height / width`` keeps the area ``s ** 2``: its height is ``s *
    sqrt(r)`` and its width ``s / sqrt(r)``. Centred on ``(0, 0)``, its corners ``(-w/2,
    -h/2, w/2, h/2)`` are rounded to whole pixels (``torch.round``, halves to even),
    computed in float32. The k anchors come ratio by ratio, and for each ratio scale by
    scale. Position ``(i, j)`` of the map, row ``i`` and column ``j``, shifts them by
    ``(j * stride_x, i * stride_y)``. The positions come row by row (row 0 first, from
    left to right), each with its k anchors.

    Parameters
    ----------
    scales : sequence of float
        The anchor sizes in pixels, e.g. ``(32, 64, 128)``.
    aspect_ratios : sequence of float
        The ratios height / width, e.g. ``(0.5, 1.0, 2.0)``.
    grid_size : tuple (H, W)
        The feature map's height and width.
    stride : int or tuple (stride_y, stride_x)
        Image pixels between neighbouring positions (an int: the same both ways).

    Returns
    -------
    torch.Tensor, shape (H * W * k, 4), float32
        Row ``(i * W + j) * k + a`` is anchor ``a`` at position ``(i, j)``, as
        ``(x1, y1, x2, y2)``.

    Raises
    ------
    ValueError
        If there is no scale or no ratio, one is not positive, or the grid size or the
        stride is smaller than 1.

    Examples
    --------
    >>> grid_anchors([4.0], [1.0, 4.0], grid_size=(1, 2), stride=8)
    tensor([[-2., -2.,  2.,  2.],
            [-1., -4.,  1.,  4.],
            [ 6., -2., 10.,  2.],
            [ 7., -4.,  9.,  4.]])
    """
    import torch

    scales = torch.as_tensor(scales, dtype=torch.float32).reshape(-1)  # (S,)
    ratios = torch.as_tensor(aspect_ratios, dtype=torch.float32).reshape(-1)  # (R,)
    if len(scales) == 0 or len(ratios) == 0 or (scales <= 0).any() or (ratios <= 0).any():
        raise ValueError(f"scales and aspect_ratios must be positive and not empty, got "
                         f"{scales.tolist()} and {ratios.tolist()}")
    H, W = grid_size
    stride_y, stride_x = (stride, stride) if isinstance(stride, int) else tuple(stride)
    if min(H, W) < 1 or min(stride_y, stride_x) < 1:
        raise ValueError(f"grid_size and stride must be >= 1, got {grid_size!r} and {stride!r}")
    height_factor = torch.sqrt(ratios)  # (R,)
    # (R * S,), ratio by ratio and, for each ratio, scale by scale
    widths = ((1 / height_factor)[:, None] * scales[None, :]).reshape(-1)
    heights = (height_factor[:, None] * scales[None, :]).reshape(-1)
    cell = (torch.stack([-widths, -heights, widths, heights], dim=1) / 2).round()  # (k, 4)
    ys, xs = torch.meshgrid(torch.arange(H) * stride_y, torch.arange(W) * stride_x,
                            indexing="ij")  # each (H, W)
    xs, ys = xs.reshape(-1), ys.reshape(-1)  # (H * W,), row by row
    shifts = torch.stack([xs, ys, xs, ys], dim=1).to(torch.float32)  # (H * W, 4)
    return (shifts[:, None, :] + cell[None, :, :]).reshape(-1, 4)  # (H * W * k, 4)


def mask_loss(mask_logits, labels, mask_targets):
    """Mask R-CNN's mask loss, the average binary cross-entropy of the mask of each
    region's true class only.

    The mask head predicts one ``M x M`` mask of logits per class and region, ``K`` in
    all. Only the mask of the region's ground-truth class ``labels[r]`` enters the loss
    (He et al. 2017, section 3): the classes do not compete for a pixel, which is what
    decouples the masks from the classification. Each pixel's loss is the binary
    cross-entropy of the sigmoid of its logit ``x`` with its target ``t``, computed
    stably as ``max(x, 0) - x * t + log(1 + exp(-|x|))``; the loss is the average over
    the ``R * M * M`` pixels of the chosen masks. With no region at all the loss is 0.

    Parameters
    ----------
    mask_logits : torch.Tensor, shape (R, K, M, M), float
        The mask head's output for R regions and K classes.
    labels : torch.Tensor, shape (R,), int64
        The ground-truth class of each region, between 0 and K - 1.
    mask_targets : torch.Tensor, shape (R, M, M), float
        The target of every pixel of each region's mask, 0 or 1.

    Returns
    -------
    torch.Tensor, shape ()
        The loss, in the dtype of ``mask_logits``.

    Raises
    ------
    ValueError
        If ``mask_logits`` is not 4-dimensional, ``labels`` is not (R,),
        ``mask_targets`` is not (R, M, M) or a label is not between 0 and K - 1.

    Examples
    --------
    >>> logits = torch.zeros(1, 3, 2, 2)  # one region, 3 classes, 2 x 2 masks
    >>> logits[0, 1] = 50.0  # class 1 is sure that every pixel is in the object
    >>> mask_loss(logits, torch.tensor([2]), torch.ones(1, 2, 2))  # the region is a 2
    tensor(0.6931)
    """
    import torch

    if not isinstance(mask_logits, torch.Tensor) or mask_logits.ndim != 4:
        raise ValueError(f"mask_logits must be a tensor (R, K, M, M), got shape "
                         f"{tuple(getattr(mask_logits, 'shape', ()))}")
    R, K, M, M2 = mask_logits.shape
    if not isinstance(labels, torch.Tensor) or tuple(labels.shape) != (R,):
        raise ValueError(f"labels must be a tensor of shape ({R},), got {getattr(labels, 'shape', None)}")
    if not isinstance(mask_targets, torch.Tensor) or tuple(mask_targets.shape) != (R, M, M2):
        raise ValueError(f"mask_targets must be a tensor of shape {(R, M, M2)}, got "
                         f"{tuple(getattr(mask_targets, 'shape', ()))}")
    if R == 0:
        return mask_logits.sum() * 0
    if labels.min() < 0 or labels.max() >= K:
        raise ValueError(f"labels must be between 0 and {K - 1}, got {labels.tolist()}")
    x = mask_logits[torch.arange(R), labels.long()]  # (R, M, M): the true class's mask
    t = mask_targets.to(x.dtype)
    losses = x.clamp(min=0) - x * t + torch.log1p(torch.exp(-x.abs()))  # (R, M, M)
    return losses.mean()


def average_precision(scores, is_true_positive, num_gt):
    """COCO's average precision of one class at one IoU threshold, the mean of the
    interpolated precision at the 101 recall points 0, 0.01, ..., 1.

    The detections are sorted by decreasing score; ties keep their order in the input (a
    stable sort, as pycocotools does). After the first ``k`` detections, with ``TP_k``
    true and ``FP_k`` false positives among them, the recall is ``TP_k / num_gt`` and
    the precision ``TP_k / k``. The interpolated precision at recall ``r`` is the best
    precision at any ``k`` whose recall is at least ``r``, and 0 where no ``k`` reaches
    ``r``. The recall points are ``np.linspace(0, 1, 101)``.

    Parameters
    ----------
    scores : np.ndarray, shape (D,), float
        The confidence of each detection of the class, over the whole data set.
    is_true_positive : np.ndarray, shape (D,), bool
        Whether each detection matched a ground-truth object (at the IoU threshold).
    num_gt : int
        The number of ground-truth objects of the class (at least 1).

    Returns
    -------
    float
        The average precision, between 0 and 1.

    Raises
    ------
    ValueError
        If ``scores`` is not 1-dimensional, ``is_true_positive`` does not have its
        shape, there are more true positives than objects, or ``num_gt`` is smaller
        than 1.

    Examples
    --------
    >>> hits = np.array([True, False, True])  # by decreasing score
    >>> ap = average_precision(np.array([0.9, 0.8, 0.7]), hits, num_gt=2)
    >>> round(ap, 4)  # precision 1 up to recall 0.5 (51 points), then 2/3 (50 points)
    0.835
    """
    scores = np.asarray(scores, dtype=np.float64)
    hits = np.asarray(is_true_positive, dtype=bool)
    if scores.ndim != 1 or hits.shape != scores.shape:
        raise ValueError(f"scores must be 1-dimensional and is_true_positive of its shape, got "
                         f"{scores.shape} and {hits.shape}")
    if num_gt < 1 or hits.sum() > num_gt:
        raise ValueError(f"num_gt must be >= 1 and at least the number of true positives, "
                         f"got {num_gt}")
    if len(scores) == 0:
        return 0.0
    order = np.argsort(-scores, kind="stable")
    tp = np.cumsum(hits[order])  # (D,)
    recall = tp / num_gt
    precision = tp / np.arange(1, len(scores) + 1)
    # the best precision at this recall or a higher one
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    thresholds = np.linspace(0, 1, 101)
    first = np.searchsorted(recall, thresholds, side="left")  # first k with recall >= r
    reached = first < len(scores)
    interpolated = np.where(reached, precision[np.minimum(first, len(scores) - 1)], 0.0)
    return float(interpolated.mean())
