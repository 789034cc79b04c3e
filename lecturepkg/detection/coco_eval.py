"""COCO-style average precision for boxes and masks, the metric of the Mask R-CNN paper.

The Mask R-CNN paper (He et al. 2017) reports box and mask AP as defined by the COCO
benchmark (Lin et al. 2014) and computed by its ``pycocotools`` package. This module
computes the same numbers with numpy, step by step, so that each step can be read:

1. :func:`box_iou_xywh` and :func:`mask_iou`: the overlap of every detection with every
   ground-truth object of one image and category (a crowd object counts the share of the
   detection inside it);
2. :func:`match_detections`: greedy matching, best score first, at each IoU threshold
   ``0.50, 0.55, ..., 0.95``; a detection takes the unmatched object it overlaps most;
3. :func:`interpolated_precision`: over all images, the precision/recall curve of a
   category, made non-increasing and read at the 101 recall points ``0, 0.01, ..., 1``;
   AP is their mean;
4. :func:`coco_evaluate`: all of it for every category, area range (all, small below
   32\u00b2 pixels, medium, large above 96\u00b2) and number of detections per image
   (1, 10, 100), and the twelve numbers of ``COCOeval.summarize()``.

The input is COCO's format: a ground-truth dict (``images``, ``annotations`` with ``bbox``
``[x, y, w, h]``, ``area``, ``iscrowd`` and ``segmentation``, ``categories``) and a list of
results (``image_id``, ``category_id``, ``score``, ``bbox`` or ``segmentation``). Masks are
run-length encoded as COCO does (:func:`rle_encode`, :func:`rle_decode`): column by column,
alternating runs of 0 and 1, compressed into a string. Polygons are not read.

The tests compare every statistic with ``pycocotools.cocoeval.COCOeval`` on random
detections. One convention to know: for ``iou_type="segm"`` the area of a detection (which
decides whether an unmatched one counts in an area range) is the area of its mask. pycocotools
does the same when the results carry no ``bbox`` field, and uses the box area when they do;
detectron2 removes the ``bbox`` field before evaluating masks for that reason.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

__all__ = [
    "IOU_THRESHOLDS", "RECALL_THRESHOLDS", "MAX_DETS", "AREA_RANGES", "AREA_NAMES",
    "STAT_NAMES", "rle_encode", "rle_decode", "rle_area", "box_iou_xywh", "mask_iou",
    "match_detections", "interpolated_precision", "coco_evaluate", "CocoEvaluation",
]

#: The IoU thresholds 0.50, 0.55, ..., 0.95, computed as pycocotools does (so that
#: ``0.75`` is found in it exactly).
IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
#: The 101 recall points 0, 0.01, ..., 1 at which precision is read.
RECALL_THRESHOLDS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1,
                                endpoint=True)
#: The numbers of detections per image (highest scores first) that are evaluated.
MAX_DETS = (1, 10, 100)
#: Object area ranges in pixels (all, small, medium, large).
AREA_RANGES = ((0.0, 1e5 ** 2), (0.0, 32.0 ** 2), (32.0 ** 2, 96.0 ** 2), (96.0 ** 2, 1e5 ** 2))
AREA_NAMES = ("all", "small", "medium", "large")
#: Names of the twelve numbers of ``CocoEvaluation.stats``, in ``COCOeval``'s order.
STAT_NAMES = ("AP", "AP50", "AP75", "APs", "APm", "APl",
              "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")


# --------------------------------------------------------------------------------------------
# Run-length encoding of masks
# --------------------------------------------------------------------------------------------


def rle_encode(mask: Any) -> dict:
    """Encode a binary mask ``(H, W)`` in COCO's compressed run-length format.

    The mask is read column by column (Fortran order); the runs alternate between 0 and 1
    and start with 0 (a run of length 0 if the first pixel is 1). The run lengths are
    written as COCO's ``maskApi.c`` does: from the fourth run on, as the difference with the
    run two before, then in groups of 5 bits, 6 bits to a character (ASCII 48 to 111).

    Parameters
    ----------
    mask : numpy.ndarray or torch.Tensor
        ``(H, W)`` of zeros and ones (bool or integer).

    Returns
    -------
    dict
        ``{"size": [H, W], "counts": str}``, what ``pycocotools.mask.encode`` returns with
        ``counts`` decoded to ``str`` (so that it can be written to JSON).

    Examples
    --------
    >>> rle_encode(np.array([[0, 1], [1, 1]]))
    {'size': [2, 2], 'counts': '13'}
    """
    mask = _binary_mask("mask", mask)
    flat = mask.T.reshape(-1)  # column by column
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1  # where a new run starts
    bounds = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts = [0] + counts  # runs start with zeros
    chars = []
    for i, count in enumerate(counts):
        x = count - counts[i - 2] if i > 2 else count
        more = True
        while more:
            c = x & 0x1F
            x >>= 5  # arithmetic shift: negative differences stay negative
            more = (x != -1) if (c & 0x10) else (x != 0)
            if more:
                c |= 0x20
            chars.append(chr(c + 48))
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": "".join(chars)}


def rle_decode(rle: Any) -> np.ndarray:
    """Decode a COCO run-length encoding into a ``uint8`` mask ``(H, W)``.

    Accepts the compressed form of :func:`rle_encode` (``counts`` a ``str`` or ``bytes``)
    and the uncompressed one (``counts`` a list of run lengths).

    Examples
    --------
    >>> rle_decode({"size": [2, 2], "counts": "13"}).tolist()
    [[0, 1], [1, 1]]
    """
    counts, (h, w) = _rle_counts(rle)
    values = np.arange(len(counts)) % 2  # 0, 1, 0, 1, ...
    flat = np.repeat(values.astype(np.uint8), counts)
    return flat.reshape(w, h).T.copy()


def rle_area(rle: Any) -> int:
    """The number of pixels of a run-length encoded mask (the sum of its runs of 1)."""
    counts, _ = _rle_counts(rle)
    return int(np.sum(counts[1::2]))


def _rle_counts(rle: Any) -> tuple[np.ndarray, tuple[int, int]]:
    """The run lengths and ``(H, W)`` of an RLE dict, checked."""
    if not isinstance(rle, dict) or "size" not in rle or "counts" not in rle:
        raise TypeError(f"rle must be a dict with 'size' and 'counts', got {rle!r:.80}")
    size = rle["size"]
    if (not isinstance(size, (list, tuple)) or len(size) != 2
            or not all(isinstance(s, numbers.Integral) and s >= 0 for s in size)):
        raise ValueError(f"rle['size'] must be [height, width], got {size!r}")
    h, w = int(size[0]), int(size[1])
    counts = rle["counts"]
    if isinstance(counts, bytes):
        counts = counts.decode("ascii")
    if isinstance(counts, str):
        runs: list[int] = []
        p = 0
        while p < len(counts):
            x, k, more = 0, 0, True
            while more:
                if p >= len(counts):
                    raise ValueError("rle['counts'] ends in the middle of a number")
                c = ord(counts[p]) - 48
                x |= (c & 0x1F) << (5 * k)
                more = bool(c & 0x20)
                p += 1
                k += 1
                if not more and (c & 0x10):
                    x |= -1 << (5 * k)  # the number is negative
            if len(runs) > 2:
                x += runs[-2]
            runs.append(x)
        runs_array = np.array(runs, dtype=np.int64)
    elif isinstance(counts, (list, tuple, np.ndarray)):
        runs_array = np.asarray(counts, dtype=np.int64).reshape(-1)
    else:
        raise TypeError(f"rle['counts'] must be a str, bytes or a list of ints, got {counts!r:.80}")
    if (runs_array < 0).any() or runs_array.sum() != h * w:
        raise ValueError(f"rle['counts'] must be runs that add up to {h} x {w} = {h * w} pixels")
    return runs_array, (h, w)


def _binary_mask(name: str, mask: Any, ndim: int = 2) -> np.ndarray:
    if isinstance(mask, torch.Tensor):
        mask = mask.detach().cpu().numpy()
    if not isinstance(mask, np.ndarray):
        raise TypeError(f"{name} must be a numpy array or tensor of 0/1, got {type(mask).__name__}")
    if mask.ndim != ndim:
        want = "(H, W)" if ndim == 2 else "(N, H, W)"
        raise ValueError(f"{name} must have shape {want}, got {tuple(mask.shape)}")
    if mask.dtype != np.bool_:
        if not (np.issubdtype(mask.dtype, np.integer) or np.issubdtype(mask.dtype, np.floating)):
            raise TypeError(f"{name} must be bool or numeric, got {mask.dtype}")
        if not np.isin(mask, (0, 1)).all():
            raise ValueError(f"{name} must hold only 0 and 1 (threshold it first)")
    return mask.astype(bool)


# --------------------------------------------------------------------------------------------
# Overlaps
# --------------------------------------------------------------------------------------------


def box_iou_xywh(dt: Any, gt: Any, iscrowd: Any = None) -> np.ndarray:
    """IoU of every detected box with every ground-truth box, boxes as ``[x, y, w, h]``.

    Computed as COCO's ``maskApi.c`` does, in double precision: the intersection's width
    ``min(x + w) - max(x)`` (zero if not positive), likewise its height, and the union
    ``area_dt + area_gt - intersection``. For a crowd object (``iscrowd[j]`` true) the
    union is replaced by the detection's area: the share of the detection inside the crowd.

    Parameters
    ----------
    dt : array-like
        ``(D, 4)`` detected boxes.
    gt : array-like
        ``(G, 4)`` ground-truth boxes.
    iscrowd : array-like, optional
        ``(G,)`` flags; none are crowds by default.

    Returns
    -------
    numpy.ndarray
        ``float64`` ``(D, G)``.

    Examples
    --------
    >>> box_iou_xywh([[0, 0, 2, 2]], [[1, 0, 2, 2], [1, 0, 2, 2]], [0, 1]).tolist()
    [[0.3333333333333333, 0.5]]
    """
    dt = _boxes_xywh("dt", dt)
    gt = _boxes_xywh("gt", gt)
    crowd = _crowd_flags(iscrowd, len(gt))
    d, g = dt[:, None, :], gt[None, :, :]  # (D, 1, 4), (1, G, 4)
    w = np.minimum(d[..., 2] + d[..., 0], g[..., 2] + g[..., 0]) - np.maximum(d[..., 0], g[..., 0])
    h = np.minimum(d[..., 3] + d[..., 1], g[..., 3] + g[..., 1]) - np.maximum(d[..., 1], g[..., 1])
    inter = w * h  # (D, G)
    area_d = (dt[:, 2] * dt[:, 3])[:, None]  # (D, 1)
    area_g = (gt[:, 2] * gt[:, 3])[None, :]  # (1, G)
    union = np.where(crowd[None, :], area_d, area_d + area_g - inter)
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = inter / union
    return np.where((w > 0) & (h > 0), iou, 0.0)


def mask_iou(dt: Any, gt: Any, iscrowd: Any = None) -> np.ndarray:
    """IoU of every detected mask with every ground-truth mask, counted in pixels.

    ``|dt & gt| / |dt | gt|``, or ``|dt & gt| / |dt|`` for a crowd object; 0 when the masks
    do not meet.

    Parameters
    ----------
    dt, gt : array-like
        ``(D, H, W)`` and ``(G, H, W)`` binary masks of one image.
    iscrowd : array-like, optional
        ``(G,)`` flags; none are crowds by default.

    Returns
    -------
    numpy.ndarray
        ``float64`` ``(D, G)``.
    """
    dt = _binary_mask("dt", dt, ndim=3)
    gt = _binary_mask("gt", gt, ndim=3)
    if dt.shape[1:] != gt.shape[1:]:
        raise ValueError(f"dt and gt masks must have the same (H, W), got {dt.shape[1:]} "
                         f"and {gt.shape[1:]}")
    crowd = _crowd_flags(iscrowd, len(gt))
    pixels = dt.shape[1] * dt.shape[2]
    d = dt.reshape(len(dt), pixels).astype(np.float64)  # (D, H * W)
    g = gt.reshape(len(gt), pixels).astype(np.float64)  # (G, H * W)
    inter = d @ g.T  # (D, G), exact: counts below 2 ** 53
    area_d, area_g = d.sum(1)[:, None], g.sum(1)[None, :]
    union = np.where(crowd[None, :], area_d, area_d + area_g - inter)
    return np.where(inter > 0, inter / np.maximum(union, 1), 0.0)


def _boxes_xywh(name: str, boxes: Any) -> np.ndarray:
    if isinstance(boxes, torch.Tensor):
        boxes = boxes.detach().cpu().numpy()
    array = np.asarray(boxes, dtype=np.float64)
    if array.size == 0:
        array = array.reshape(0, 4)
    if array.ndim != 2 or array.shape[1] != 4:
        raise ValueError(f"{name} must have shape (N, 4) as [x, y, w, h], got {array.shape}")
    return array


def _crowd_flags(iscrowd: Any, n: int) -> np.ndarray:
    if iscrowd is None:
        return np.zeros(n, dtype=bool)
    flags = np.asarray(iscrowd).reshape(-1)
    if flags.shape != (n,):
        raise ValueError(f"iscrowd must have one flag per ground-truth object ({n}), "
                         f"got shape {flags.shape}")
    return flags.astype(bool)


# --------------------------------------------------------------------------------------------
# Matching and precision
# --------------------------------------------------------------------------------------------


def match_detections(
    ious: Any, gt_ignore: Any, iscrowd: Any = None, iou_thresholds: Any = IOU_THRESHOLDS
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy matching of one image's detections of one category, as COCO does it.

    The detections are taken in order (sorted by score, best first). At each threshold
    ``t``, a detection takes, among the objects not yet taken (a crowd can be taken again),
    the one it overlaps most with IoU >= ``t`` (the last one among equals), preferring
    regular objects to ignored ones (crowds, or objects outside the area range: the
    objects must be sorted with the ignored ones last). A detection matched to an ignored
    object is ignored itself: neither a true nor a false positive.

    Parameters
    ----------
    ious : array-like
        ``(D, G)`` IoU of the detections (best score first) with the objects.
    gt_ignore : array-like
        ``(G,)`` whether each object is ignored; the ignored ones must come last.
    iscrowd : array-like, optional
        ``(G,)`` crowd flags.
    iou_thresholds : array-like
        ``(T,)`` thresholds, COCO's ten by default.

    Returns
    -------
    matched : numpy.ndarray
        ``(T, D)`` bool: the detection is matched at the threshold.
    ignored : numpy.ndarray
        ``(T, D)`` bool: the detection is matched to an ignored object.
    """
    ious = np.asarray(ious, dtype=np.float64)
    if ious.ndim != 2:
        raise ValueError(f"ious must have shape (D, G), got {ious.shape}")
    n_dt, n_gt = ious.shape
    ignore = _crowd_flags(gt_ignore, n_gt)
    if (np.diff(ignore.astype(int)) < 0).any():
        raise ValueError("gt_ignore must list the regular objects first, the ignored ones last")
    crowd = _crowd_flags(iscrowd, n_gt)
    thresholds = np.minimum(np.asarray(iou_thresholds, dtype=np.float64).reshape(-1), 1 - 1e-10)
    n_t = len(thresholds)
    matched = np.zeros((n_t, n_dt), dtype=bool)
    ignored = np.zeros((n_t, n_dt), dtype=bool)
    taken = np.zeros((n_t, n_gt), dtype=bool)  # (T, G)
    rows = np.arange(n_t)
    for d in range(n_dt if n_gt else 0):
        free = ~taken | crowd[None, :]  # (T, G)
        good = free & (ious[d][None, :] >= thresholds[:, None])  # (T, G)
        best = np.full(n_t, -1)
        for group in (~ignore, ignore):  # regular objects first, ignored ones if none
            value = np.where(good & group[None, :], ious[d][None, :], -np.inf)  # (T, G)
            last_max = n_gt - 1 - np.argmax(value[:, ::-1], axis=1)  # last among equals
            found = np.isfinite(value[rows, last_max]) & (best < 0)
            best = np.where(found, last_max, best)
        hit = best >= 0
        matched[hit, d] = True
        ignored[hit, d] = ignore[best[hit]]
        taken[rows[hit], best[hit]] = True
    return matched, ignored


def interpolated_precision(
    tp: Any, fp: Any, num_gt: int, recall_thresholds: Any = RECALL_THRESHOLDS
) -> tuple[np.ndarray, float]:
    """Precision read at the recall points, from the detections sorted by score.

    The cumulative true and false positives give the precision/recall curve; precision
    is made non-increasing from the right (the best precision at this recall or a higher
    one), then read at the first detection that reaches each recall point; points beyond
    the highest recall get precision 0. COCO's AP is the mean of these 101 values.

    Parameters
    ----------
    tp, fp : array-like
        ``(D,)`` booleans: each detection (best score first) is a true or a false positive
        (a detection that is neither, because it is ignored, is left out by the caller or
        has both false).
    num_gt : int
        The number of objects that are not ignored (> 0).
    recall_thresholds : array-like
        The recall points, COCO's 101 by default.

    Returns
    -------
    precision : numpy.ndarray
        ``(R,)`` interpolated precision at the recall points.
    recall : float
        The recall reached by all the detections.

    Examples
    --------
    >>> q, r = interpolated_precision([1, 0, 1], [0, 1, 0], num_gt=4,
    ...                               recall_thresholds=[0, 0.25, 0.5, 0.75])
    >>> q.round(3).tolist(), r
    ([1.0, 1.0, 0.667, 0.0], 0.5)
    """
    if not isinstance(num_gt, numbers.Integral) or isinstance(num_gt, bool) or num_gt < 1:
        raise ValueError(f"num_gt must be an int >= 1, got {num_gt!r}")
    tp_sum = np.cumsum(np.asarray(tp, dtype=bool)).astype(float)
    fp_sum = np.cumsum(np.asarray(fp, dtype=bool)).astype(float)
    if tp_sum.shape != fp_sum.shape:
        raise ValueError(f"tp and fp must have the same length, got {tp_sum.shape} and "
                         f"{fp_sum.shape}")
    thresholds = np.asarray(recall_thresholds, dtype=np.float64)
    rc = tp_sum / num_gt
    pr = tp_sum / (fp_sum + tp_sum + np.spacing(1))
    pr = np.maximum.accumulate(pr[::-1])[::-1]  # non-increasing from the right
    where = np.searchsorted(rc, thresholds, side="left")  # first detection reaching each point
    precision = np.zeros(len(thresholds))
    inside = where < len(pr)
    precision[inside] = pr[where[inside]]
    return precision, float(rc[-1]) if len(rc) else 0.0


# --------------------------------------------------------------------------------------------
# The whole evaluation
# --------------------------------------------------------------------------------------------


@dataclass
class CocoEvaluation:
    """What :func:`coco_evaluate` computes, ``COCOeval.eval`` and ``COCOeval.stats``."""

    #: ``"bbox"`` or ``"segm"``
    iou_type: str
    #: ``(12,)`` the numbers of ``COCOeval.summarize()``, named in ``STAT_NAMES``
    stats: np.ndarray
    #: ``(T, R, K, A, M)`` interpolated precision per IoU threshold, recall point,
    #: category, area range and max detections; -1 where a category has no object
    precision: np.ndarray
    #: ``(T, K, A, M)`` the recall reached; -1 where a category has no object
    recall: np.ndarray
    #: ``(K,)`` the category ids, sorted, in the order of the ``K`` axis
    category_ids: list

    def summary(self) -> dict:
        """The twelve statistics as a dict from their names (:data:`~lecturepkg.detection.coco_eval.STAT_NAMES`) to values."""
        return dict(zip(STAT_NAMES, (float(s) for s in self.stats)))

    def per_category_ap(self) -> dict:
        """AP (IoU 0.50:0.95, all areas, 100 detections) of each category id, -1 if absent."""
        out = {}
        for k, cat in enumerate(self.category_ids):
            p = self.precision[:, :, k, 0, -1]
            out[cat] = float(np.mean(p[p > -1])) if (p > -1).any() else -1.0
        return out

    def __str__(self) -> str:
        lines = []
        for i, name in enumerate(STAT_NAMES):
            kind = "Average Precision" if name.startswith("AP") else "Average Recall   "
            iou = {"AP50": "0.50     ", "AP75": "0.75     "}.get(name, "0.50:0.95")
            area = {"s": "small", "m": "medium", "l": "large"}.get(name[-1], "all")
            dets = {"AR1": 1, "AR10": 10}.get(name, 100)
            lines.append(f" {kind}  ({name[:2]}) @[ IoU={iou} | area={area:>6s} | "
                         f"maxDets={dets:>3d} ] = {self.stats[i]:0.3f}")
        return "\n".join(lines)


def coco_evaluate(coco_gt: dict, results: Sequence[dict], iou_type: str = "bbox") -> CocoEvaluation:
    """Evaluate detections in COCO's results format against COCO ground truth.

    Equal to ``COCOeval(COCO(gt), coco_gt.loadRes(results), iou_type)`` followed by
    ``evaluate()``, ``accumulate()`` and ``summarize()`` (COCO, Lin et al. 2014; the metric
    of Mask R-CNN, He et al. 2017). Images and categories are those of ``coco_gt``;
    categories without any ground-truth object are left out of the means. Two differences
    with pycocotools, both on input it cannot evaluate: a result whose ``category_id`` is
    not among the ground truth's categories raises ``ValueError`` (pycocotools drops it
    silently), and an empty list of results gives AP 0 (pycocotools raises).

    Parameters
    ----------
    coco_gt : dict
        COCO ground truth: ``images`` (``id``, ``height``, ``width``), ``annotations``
        (``id`` >= 1, ``image_id``, ``category_id``, ``bbox`` ``[x, y, w, h]``, ``area``,
        ``iscrowd``, and for masks ``segmentation`` as RLE) and ``categories`` (``id``).
    results : sequence of dict
        Detections: ``image_id``, ``category_id``, ``score`` and ``bbox`` ``[x, y, w, h]``
        (for ``"bbox"``) or ``segmentation`` as compressed RLE (for ``"segm"``).
    iou_type : str
        ``"bbox"`` or ``"segm"``.

    Returns
    -------
    CocoEvaluation
        ``stats`` (AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl),
        ``precision`` and ``recall`` arrays.
    """
    if iou_type not in ("bbox", "segm"):
        raise ValueError(f"iou_type must be 'bbox' or 'segm', got {iou_type!r}")
    images, gts, cat_ids = _read_ground_truth(coco_gt, iou_type)
    dts = _read_results(results, images, set(cat_ids), iou_type)
    img_ids = sorted(images)
    n_t, n_r, n_k = len(IOU_THRESHOLDS), len(RECALL_THRESHOLDS), len(cat_ids)
    n_a, n_m = len(AREA_RANGES), len(MAX_DETS)
    precision = -np.ones((n_t, n_r, n_k, n_a, n_m))
    recall = -np.ones((n_t, n_k, n_a, n_m))
    for k, cat in enumerate(cat_ids):
        # per image: (scores, matched (T, D), ignored (T, D), gt ignored (G,)) per area range
        per_area: list[list] = [[] for _ in AREA_RANGES]
        for img in img_ids:
            gt, dt = gts.get((img, cat), []), dts.get((img, cat), [])
            if not gt and not dt:
                continue
            for a, records in enumerate(_evaluate_image(gt, dt, images[img], iou_type)):
                per_area[a].append(records)
        for a in range(n_a):
            if not per_area[a]:
                continue
            for m, max_det in enumerate(MAX_DETS):
                scores = np.concatenate([e[0][:max_det] for e in per_area[a]])
                order = np.argsort(-scores, kind="mergesort")
                matched = np.concatenate([e[1][:, :max_det] for e in per_area[a]], axis=1)[:, order]
                ignored = np.concatenate([e[2][:, :max_det] for e in per_area[a]], axis=1)[:, order]
                num_gt = int(np.count_nonzero(np.concatenate([e[3] for e in per_area[a]]) == 0))
                if num_gt == 0:
                    continue
                for t in range(n_t):
                    tp = matched[t] & ~ignored[t]
                    fp = ~matched[t] & ~ignored[t]
                    precision[t, :, k, a, m], recall[t, k, a, m] = interpolated_precision(
                        tp, fp, num_gt)
    stats = _summarize(precision, recall)
    return CocoEvaluation(iou_type, stats, precision, recall, list(cat_ids))


def _evaluate_image(gt: list, dt: list, image: dict, iou_type: str):
    """Match one image's detections of one category in each area range (``evaluateImg``)."""
    scores = np.array([d["score"] for d in dt], dtype=np.float64)
    order = np.argsort(-scores, kind="mergesort")[: MAX_DETS[-1]]
    dt = [dt[i] for i in order]
    scores = scores[order]
    crowd = np.array([bool(g.get("iscrowd", 0)) for g in gt], dtype=bool)
    if iou_type == "bbox":
        ious = box_iou_xywh([d["bbox"] for d in dt], [g["bbox"] for g in gt], crowd)
        dt_area = np.array([d["bbox"][2] * d["bbox"][3] for d in dt], dtype=np.float64)
    else:
        shape = (image["height"], image["width"])
        dmasks = np.stack([d["_mask"] for d in dt]) if dt else np.zeros((0, *shape), bool)
        gmasks = np.stack([g["_mask"] for g in gt]) if gt else np.zeros((0, *shape), bool)
        ious = mask_iou(dmasks, gmasks, crowd)
        dt_area = dmasks.sum((1, 2)).astype(np.float64)
    gt_area = np.array([g["area"] for g in gt], dtype=np.float64)
    out = []
    for low, high in AREA_RANGES:
        ignore = crowd | (gt_area < low) | (gt_area > high)  # (G,)
        gorder = np.argsort(ignore, kind="mergesort")  # regular objects first
        if len(dt) and len(gt):
            matched, ignored = match_detections(ious[:, gorder], ignore[gorder], crowd[gorder])
        else:
            matched = np.zeros((len(IOU_THRESHOLDS), len(dt)), dtype=bool)
            ignored = np.zeros_like(matched)
        outside = (dt_area < low) | (dt_area > high)  # (D,)
        ignored = ignored | (~matched & outside[None, :])
        out.append((scores, matched, ignored, ignore[gorder]))
    return out


def _summarize(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    """The twelve numbers of ``COCOeval.summarize()``, means over the entries that exist."""

    def mean(values):
        values = values[values > -1]
        return float(np.mean(values)) if values.size else -1.0

    def threshold(value):
        index = np.where(value == IOU_THRESHOLDS)[0]
        assert index.size == 1
        return index

    last = len(MAX_DETS) - 1
    stats = [
        mean(precision[:, :, :, 0, last]),
        mean(precision[threshold(0.5)][:, :, :, 0, last]),
        mean(precision[threshold(0.75)][:, :, :, 0, last]),
        mean(precision[:, :, :, 1, last]),
        mean(precision[:, :, :, 2, last]),
        mean(precision[:, :, :, 3, last]),
        mean(recall[:, :, 0, 0]),
        mean(recall[:, :, 0, 1]),
        mean(recall[:, :, 0, last]),
        mean(recall[:, :, 1, last]),
        mean(recall[:, :, 2, last]),
        mean(recall[:, :, 3, last]),
    ]
    return np.array(stats)


# --------------------------------------------------------------------------------------------
# Reading COCO dicts
# --------------------------------------------------------------------------------------------


def _read_ground_truth(coco_gt: Any, iou_type: str):
    if not isinstance(coco_gt, dict):
        raise TypeError(f"coco_gt must be a COCO ground-truth dict, got {type(coco_gt).__name__}")
    for key in ("images", "annotations", "categories"):
        if key not in coco_gt:
            raise ValueError(f"coco_gt must have the key {key!r} (COCO format)")
    images = {}
    for image in coco_gt["images"]:
        if "id" not in image:
            raise ValueError(f"each image of coco_gt must have an 'id', got {image!r:.80}")
        images[image["id"]] = image
    cat_ids = sorted({c["id"] for c in coco_gt["categories"]})
    gts: dict = {}
    for ann in coco_gt["annotations"]:
        for key in ("id", "image_id", "category_id", "bbox", "area"):
            if key not in ann:
                raise ValueError(f"each annotation of coco_gt must have {key!r}, got {ann!r:.80}")
        if ann["image_id"] not in images:
            raise ValueError(f"annotation {ann['id']} has image_id {ann['image_id']!r}, "
                             "which is not in coco_gt['images']")
        if ann["category_id"] not in cat_ids:
            continue  # as pycocotools: only the listed categories are evaluated
        ann = dict(ann)
        if iou_type == "segm":
            ann["_mask"] = _annotation_mask(ann, images[ann["image_id"]], "coco_gt annotation")
        gts.setdefault((ann["image_id"], ann["category_id"]), []).append(ann)
    return images, gts, cat_ids


def _read_results(results: Any, images: dict, cat_ids: set, iou_type: str) -> dict:
    if not isinstance(results, (list, tuple)):
        raise TypeError(f"results must be a list of dicts (COCO results), got "
                        f"{type(results).__name__}")
    field = "bbox" if iou_type == "bbox" else "segmentation"
    dts: dict = {}
    for i, res in enumerate(results):
        if not isinstance(res, dict):
            raise TypeError(f"results[{i}] must be a dict, got {type(res).__name__}")
        for key in ("image_id", "category_id", "score", field):
            if key not in res:
                raise ValueError(f"results[{i}] must have {key!r} for iou_type={iou_type!r}")
        if res["image_id"] not in images:
            raise ValueError(f"results[{i}] has image_id {res['image_id']!r}, which is not in "
                             "the ground truth")
        if res["category_id"] not in cat_ids:
            raise ValueError(f"results[{i}] has category_id {res['category_id']!r}, which is "
                             "not in the ground truth's categories")
        det = {"score": float(res["score"])}
        if iou_type == "bbox":
            det["bbox"] = [float(v) for v in _boxes_xywh(f"results[{i}]['bbox']",
                                                        [res["bbox"]])[0]]
        else:
            det["_mask"] = _annotation_mask(res, images[res["image_id"]], f"results[{i}]")
        dts.setdefault((res["image_id"], res["category_id"]), []).append(det)
    return dts


def _annotation_mask(ann: dict, image: dict, name: str) -> np.ndarray:
    segmentation = ann.get("segmentation")
    if not isinstance(segmentation, dict):
        raise ValueError(f"{name} must have a 'segmentation' as RLE (a dict with 'size' and "
                         f"'counts'); polygons are not read, got {segmentation!r:.60}")
    mask = rle_decode(segmentation).astype(bool)
    if mask.shape != (image["height"], image["width"]):
        raise ValueError(f"{name}: the RLE's size {list(mask.shape)} is not the image's "
                         f"[height, width] = [{image['height']}, {image['width']}]")
    return mask
