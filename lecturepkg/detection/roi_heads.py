"""Stage two of Faster and Mask R-CNN, the box and mask heads on pooled regions, as torchvision's.

Every proposal of the region proposal network is pooled into a fixed-size feature map
(RoIAlign, He et al. 2017) and passed to two heads:

* the *box head* (:class:`TwoMLPHead`, two fully connected layers) and its predictor
  (:class:`FastRCNNPredictor`): ``K + 1`` class logits (class 0 is background) and ``4 K``
  box offsets, one set of offsets per class (Girshick 2015, Fast R-CNN);
* the *mask head* (:class:`MaskRCNNHeads`, a stack of 3x3 convolutions) and its predictor
  (:class:`MaskRCNNPredictor`, a 2x2 transposed convolution then a 1x1 convolution): one
  ``m x m`` mask logit map per class (He et al. 2017, ``K = 80``, ``m = 28`` with FPN).

:class:`RoIHeads` runs them. In training it adds the ground-truth boxes to the proposals,
matches every proposal to a ground-truth box (IoU ``>= fg_iou_thresh`` positive, below
``bg_iou_thresh`` background), samples ``batch_size_per_image`` proposals per image with at
most ``positive_fraction`` positives, and returns the multi-task loss
``L = L_cls + L_box + L_mask`` (:func:`fastrcnn_loss`, :func:`maskrcnn_loss`). The mask loss
is a per-pixel binary cross-entropy on the mask of the *true* class only, so that classes
do not compete for a pixel (He et al. 2017, section 3). In inference it decodes one box per
class, clips it to the image, drops low scores and tiny boxes, suppresses duplicates per
class and keeps the best ``detections_per_img``; the mask of each detection is the sigmoid
of the predicted class's mask logits.

The modules have torchvision's constructor arguments and ``state_dict`` keys, so
torchvision's weights load strictly and both give the same detections and losses.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from lecturepkg.detection._args import check_int, check_real, check_tensor
from lecturepkg.detection.box_coder import BoxCoder
from lecturepkg.detection.boxes import box_iou, clip_boxes_to_image, remove_small_boxes
from lecturepkg.detection.matcher import Matcher
from lecturepkg.detection.roi_ops import roi_align
from lecturepkg.detection.sampler import BalancedPositiveNegativeSampler
from lecturepkg.detection.suppression import batched_nms

__all__ = [
    "TwoMLPHead", "FastRCNNPredictor", "MaskRCNNHeads", "MaskRCNNPredictor",
    "fastrcnn_loss", "project_masks_on_boxes", "maskrcnn_loss", "RoIHeads",
]


def _kaiming_init(module: nn.Module) -> None:
    """He-normal weights (fan out) and zero biases for every convolution, as torchvision."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def _check_list(name: str, value: Any, n: int | None = None) -> list:
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{name} must be a list with one entry per image, got "
                        f"{type(value).__name__}")
    if n is not None and len(value) != n:
        raise ValueError(f"{name} must have one entry per image ({n}), got {len(value)}")
    return list(value)


class TwoMLPHead(nn.Module):
    """The box head of Faster R-CNN with FPN, two fully connected layers with ReLU.

    Parameters
    ----------
    in_channels : int
        Size of a flattened pooled region (``256 * 7 * 7`` with FPN).
    representation_size : int
        Width of both layers (1024).

    ``forward(x)`` flattens ``(K, C, H, W)`` regions and returns ``(K, representation_size)``.
    """

    def __init__(self, in_channels: int, representation_size: int) -> None:
        super().__init__()
        in_channels = check_int("in_channels", in_channels, minimum=1)
        representation_size = check_int("representation_size", representation_size, minimum=1)
        self.fc6 = nn.Linear(in_channels, representation_size)
        self.fc7 = nn.Linear(representation_size, representation_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = check_tensor("x", x, shape="(K, C, H, W)", floating=True)
        x = x.flatten(start_dim=1)  # (K, C * H * W)
        if x.shape[1] != self.fc6.in_features:
            raise ValueError(f"x must have {self.fc6.in_features} features per region, got "
                             f"{x.shape[1]}")
        x = F.relu(self.fc6(x))  # (K, representation_size)
        return F.relu(self.fc7(x))  # (K, representation_size)


class FastRCNNPredictor(nn.Module):
    """Class logits and per-class box offsets from the box head's features (Girshick 2015).

    Parameters
    ----------
    in_channels : int
        Features per region.
    num_classes : int
        ``K + 1``, the classes including background.

    ``forward(x)`` returns ``(K, num_classes)`` logits and ``(K, 4 * num_classes)`` offsets.
    """

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        in_channels = check_int("in_channels", in_channels, minimum=1)
        num_classes = check_int("num_classes", num_classes, minimum=1)
        self.cls_score = nn.Linear(in_channels, num_classes)
        self.bbox_pred = nn.Linear(in_channels, num_classes * 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = check_tensor("x", x, shape="(K, C)", floating=True)
        if x.ndim == 4:
            if tuple(x.shape[2:]) != (1, 1):
                raise ValueError(f"x of 4 dimensions must be (K, C, 1, 1), got {tuple(x.shape)}")
            x = x.flatten(start_dim=1)  # (K, C)
        if x.ndim != 2 or x.shape[1] != self.cls_score.in_features:
            raise ValueError(f"x must have shape (K, {self.cls_score.in_features}), got "
                             f"{tuple(x.shape)}")
        return self.cls_score(x), self.bbox_pred(x)  # (K, classes), (K, 4 * classes)


class _ConvReLU(nn.Sequential):
    """A 3x3 convolution, an optional normalisation and ReLU (torchvision's key layout)."""

    def __init__(self, in_channels: int, out_channels: int, dilation: int, norm_layer) -> None:
        layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, 3, padding=dilation,
                                             dilation=dilation, bias=norm_layer is None)]
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class MaskRCNNHeads(nn.Sequential):
    """The mask head, a stack of 3x3 convolutions with ReLU on pooled regions (He et al. 2017).

    Parameters
    ----------
    in_channels : int
        Channels of the pooled regions (256 with FPN).
    layers : sequence of int
        Output channels of each convolution (``(256, 256, 256, 256)`` in Mask R-CNN).
    dilation : int
        Dilation (and padding) of every convolution.
    norm_layer : callable, optional
        Normalisation after each convolution (the convolutions then have no bias).

    ``forward(x)`` maps ``(K, in_channels, m, m)`` to ``(K, layers[-1], m, m)``.
    """

    def __init__(self, in_channels: int, layers: Sequence[int], dilation: int,
                 norm_layer=None) -> None:
        in_channels = check_int("in_channels", in_channels, minimum=1)
        dilation = check_int("dilation", dilation, minimum=1)
        if not isinstance(layers, (list, tuple)) or not layers:
            raise TypeError(f"layers must be a non-empty sequence of ints, got {layers!r}")
        blocks, previous = [], in_channels
        for i, width in enumerate(layers):
            width = check_int(f"layers[{i}]", width, minimum=1)
            blocks.append(_ConvReLU(previous, width, dilation, norm_layer))
            previous = width
        super().__init__(*blocks)
        _kaiming_init(self)


class MaskRCNNPredictor(nn.Sequential):
    """Mask logits per class from a 2x2 stride-2 transposed convolution, ReLU and a 1x1 convolution.

    Parameters
    ----------
    in_channels : int
        Channels of the mask head's output.
    dim_reduced : int
        Channels after the transposed convolution (256).
    num_classes : int
        ``K + 1``: one mask per class, background included.

    ``forward(x)`` maps ``(K, in_channels, m, m)`` to ``(K, num_classes, 2 m, 2 m)``.
    """

    def __init__(self, in_channels: int, dim_reduced: int, num_classes: int) -> None:
        in_channels = check_int("in_channels", in_channels, minimum=1)
        dim_reduced = check_int("dim_reduced", dim_reduced, minimum=1)
        num_classes = check_int("num_classes", num_classes, minimum=1)
        super().__init__(OrderedDict([
            ("conv5_mask", nn.ConvTranspose2d(in_channels, dim_reduced, 2, 2, 0)),
            ("relu", nn.ReLU(inplace=True)),
            ("mask_fcn_logits", nn.Conv2d(dim_reduced, num_classes, 1, 1, 0)),
        ]))
        _kaiming_init(self)


def fastrcnn_loss(
    class_logits: torch.Tensor,
    box_regression: torch.Tensor,
    labels: Sequence[torch.Tensor],
    regression_targets: Sequence[torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Compute the classification and box losses of Fast R-CNN (Girshick 2015, eq. 1).

    Parameters
    ----------
    class_logits : torch.Tensor
        ``(N, K + 1)`` logits of the ``N`` sampled regions of all images.
    box_regression : torch.Tensor
        ``(N, 4 (K + 1))`` predicted offsets, four per class.
    labels : list of torch.Tensor
        One ``(N_i,)`` int64 tensor of classes per image (0 is background).
    regression_targets : list of torch.Tensor
        One ``(N_i, 4)`` tensor of target offsets per image.

    Returns
    -------
    (torch.Tensor, torch.Tensor)
        The cross-entropy averaged over the regions, and the smooth L1 loss (``beta = 1/9``)
        of the true class's offsets summed over the positive regions and divided by ``N``.
    """
    class_logits = check_tensor("class_logits", class_logits, shape="(N, C)", floating=True)
    box_regression = check_tensor("box_regression", box_regression, shape="(N, 4 C)",
                                  floating=True)
    labels = torch.cat(_check_list("labels", labels))  # (N,)
    regression_targets = torch.cat(_check_list("regression_targets", regression_targets))
    n = labels.shape[0]
    if class_logits.ndim != 2 or class_logits.shape[0] != n:
        raise ValueError(f"class_logits must have shape ({n}, C), got {tuple(class_logits.shape)}")
    if box_regression.shape != (n, 4 * class_logits.shape[1]):
        raise ValueError(f"box_regression must have shape ({n}, {4 * class_logits.shape[1]}), "
                         f"got {tuple(box_regression.shape)}")
    if regression_targets.shape != (n, 4):
        raise ValueError(f"regression_targets must hold ({n}, 4) offsets in all, got "
                         f"{tuple(regression_targets.shape)}")
    classification_loss = F.cross_entropy(class_logits, labels)
    positives = torch.where(labels > 0)[0]  # (P,)
    per_class = box_regression.reshape(n, -1, 4)  # (N, K + 1, 4)
    box_loss = F.smooth_l1_loss(
        per_class[positives, labels[positives]],  # (P, 4): the true class's offsets only
        regression_targets[positives], beta=1 / 9, reduction="sum",
    ) / labels.numel()
    return classification_loss, box_loss


def project_masks_on_boxes(
    gt_masks: torch.Tensor, boxes: torch.Tensor, matched_idxs: torch.Tensor, M: int
) -> torch.Tensor:
    """Crop and resize ground-truth masks to ``M x M`` mask targets with RoIAlign.

    Parameters
    ----------
    gt_masks : torch.Tensor
        ``(G, H, W)`` instance masks of one image.
    boxes : torch.Tensor
        ``(P, 4)`` positive proposals.
    matched_idxs : torch.Tensor
        ``(P,)`` index of the mask each proposal is matched to.
    M : int
        Side of the targets.

    Returns
    -------
    torch.Tensor
        ``(P, M, M)`` soft targets in ``[0, 1]``.
    """
    gt_masks = check_tensor("gt_masks", gt_masks, shape="(G, H, W)")
    if gt_masks.ndim != 3:
        raise ValueError(f"gt_masks must have shape (G, H, W), got {tuple(gt_masks.shape)}")
    boxes = check_tensor("boxes", boxes, shape="(P, 4)", floating=True)
    matched_idxs = check_tensor("matched_idxs", matched_idxs, shape="(P,)")
    if matched_idxs.shape != (boxes.shape[0],):
        raise ValueError(f"matched_idxs must have shape ({boxes.shape[0]},), one index per box, "
                         f"got {tuple(matched_idxs.shape)}")
    M = check_int("M", M, minimum=1)
    rois = torch.cat([matched_idxs.to(boxes)[:, None], boxes], dim=1)  # (P, 5)
    masks = gt_masks[:, None].to(rois)  # (G, 1, H, W)
    return roi_align(masks, rois, (M, M), 1.0)[:, 0]  # (P, M, M)


def maskrcnn_loss(
    mask_logits: torch.Tensor,
    proposals: Sequence[torch.Tensor],
    gt_masks: Sequence[torch.Tensor],
    gt_labels: Sequence[torch.Tensor],
    mask_matched_idxs: Sequence[torch.Tensor],
) -> torch.Tensor:
    """Binary cross-entropy of the true class's mask only (He et al. 2017, section 3).

    Parameters
    ----------
    mask_logits : torch.Tensor
        ``(P, K + 1, M, M)`` mask logits of the positive regions of all images.
    proposals : list of torch.Tensor
        One ``(P_i, 4)`` tensor of positive proposals per image.
    gt_masks, gt_labels : list of torch.Tensor
        Per image, the ``(G_i, H, W)`` masks and ``(G_i,)`` classes of the ground truth.
    mask_matched_idxs : list of torch.Tensor
        Per image, ``(P_i,)`` index of the ground truth each proposal is matched to.

    Returns
    -------
    torch.Tensor
        The mean per-pixel loss (0, still in the graph, if there are no positives).
    """
    mask_logits = check_tensor("mask_logits", mask_logits, shape="(P, C, M, M)", floating=True)
    if mask_logits.ndim != 4 or mask_logits.shape[-1] != mask_logits.shape[-2]:
        raise ValueError(f"mask_logits must have shape (P, C, M, M), got "
                         f"{tuple(mask_logits.shape)}")
    proposals = _check_list("proposals", proposals)
    n = len(proposals)
    gt_masks = _check_list("gt_masks", gt_masks, n)
    gt_labels = _check_list("gt_labels", gt_labels, n)
    mask_matched_idxs = _check_list("mask_matched_idxs", mask_matched_idxs, n)
    M = mask_logits.shape[-1]
    labels = [lab[idx] for lab, idx in zip(gt_labels, mask_matched_idxs)]
    targets = [project_masks_on_boxes(m, p, i, M)
               for m, p, i in zip(gt_masks, proposals, mask_matched_idxs)]
    labels_all = torch.cat(labels)  # (P,)
    targets_all = torch.cat(targets)  # (P, M, M)
    if labels_all.shape[0] != mask_logits.shape[0]:
        raise ValueError(f"mask_logits must have one row per proposal ({labels_all.shape[0]}), "
                         f"got {mask_logits.shape[0]}")
    if targets_all.numel() == 0:
        return mask_logits.sum() * 0
    true_class = mask_logits[torch.arange(labels_all.shape[0], device=labels_all.device),
                             labels_all]  # (P, M, M)
    return F.binary_cross_entropy_with_logits(true_class, targets_all)


class RoIHeads(nn.Module):
    """The box and mask branches of Faster and Mask R-CNN on the proposals of the RPN.

    Parameters
    ----------
    box_roi_pool : nn.Module
        Pools the proposals, called as ``box_roi_pool(features, proposals, image_shapes)``
        (a :class:`~lecturepkg.detection.multiscale.MultiScaleRoIAlign`).
    box_head, box_predictor : nn.Module
        :class:`TwoMLPHead` and :class:`FastRCNNPredictor` (or modules with their contract).
    fg_iou_thresh, bg_iou_thresh : float
        Proposals with IoU ``>= fg_iou_thresh`` (0.5) to a ground-truth box are positive,
        those below ``bg_iou_thresh`` (0.5) background, in between ignored.
    batch_size_per_image : int
        Proposals sampled per image for the losses (512).
    positive_fraction : float
        Largest share of positives in the sample (0.25).
    bbox_reg_weights : tuple of 4 floats or None
        Weights of the box coder; ``None`` gives ``(10, 10, 5, 5)``.
    score_thresh : float
        Detections scoring at most this are dropped (0.05).
    nms_thresh : float
        IoU of per-class non-maximum suppression (0.5).
    detections_per_img : int
        Detections kept per image (100).
    mask_roi_pool, mask_head, mask_predictor : nn.Module, optional
        The mask branch (:class:`MaskRCNNHeads`, :class:`MaskRCNNPredictor`): all three or
        none.

    ``forward(features, proposals, image_shapes, targets=None)`` returns ``(result, losses)``:
    in training an empty list and the dict of losses (``loss_classifier``, ``loss_box_reg``
    and ``loss_mask``); in evaluation one dict per image with ``boxes`` ``(D, 4)``,
    ``labels`` ``(D,)``, ``scores`` ``(D,)`` and, with a mask branch, ``masks``
    ``(D, 1, M, M)`` probabilities, and an empty dict.
    """

    def __init__(
        self,
        box_roi_pool: nn.Module,
        box_head: nn.Module,
        box_predictor: nn.Module,
        fg_iou_thresh: float,
        bg_iou_thresh: float,
        batch_size_per_image: int,
        positive_fraction: float,
        bbox_reg_weights: tuple[float, float, float, float] | None,
        score_thresh: float,
        nms_thresh: float,
        detections_per_img: int,
        mask_roi_pool: nn.Module | None = None,
        mask_head: nn.Module | None = None,
        mask_predictor: nn.Module | None = None,
    ) -> None:
        super().__init__()
        for name, module in [("box_roi_pool", box_roi_pool), ("box_head", box_head),
                             ("box_predictor", box_predictor)]:
            if not isinstance(module, nn.Module):
                raise TypeError(f"{name} must be an nn.Module, got {type(module).__name__}")
        mask_parts = [mask_roi_pool, mask_head, mask_predictor]
        if any(p is not None for p in mask_parts) and any(p is None for p in mask_parts):
            raise ValueError("mask_roi_pool, mask_head and mask_predictor must be given all "
                             "three or none")
        self.box_similarity = box_iou
        self.proposal_matcher = Matcher(fg_iou_thresh, bg_iou_thresh,
                                        allow_low_quality_matches=False)
        self.fg_bg_sampler = BalancedPositiveNegativeSampler(batch_size_per_image,
                                                             positive_fraction)
        self.box_coder = BoxCoder((10.0, 10.0, 5.0, 5.0) if bbox_reg_weights is None
                                  else bbox_reg_weights)
        self.box_roi_pool = box_roi_pool
        self.box_head = box_head
        self.box_predictor = box_predictor
        self.score_thresh = check_real("score_thresh", score_thresh)
        self.nms_thresh = check_real("nms_thresh", nms_thresh)
        self.detections_per_img = check_int("detections_per_img", detections_per_img, minimum=1)
        self.mask_roi_pool = mask_roi_pool
        self.mask_head = mask_head
        self.mask_predictor = mask_predictor

    def has_mask(self) -> bool:
        """Whether the mask branch is present."""
        return self.mask_predictor is not None

    # ------------------------------------------------------------------ checks
    def _check_inputs(self, features, proposals, image_shapes, targets) -> None:
        if not isinstance(features, dict):
            raise TypeError(f"features must be a dict of (N, C, H, W) feature maps, got "
                            f"{type(features).__name__}")
        proposals = _check_list("proposals", proposals)
        for i, p in enumerate(proposals):
            p = check_tensor(f"proposals[{i}]", p, shape="(K_i, 4)", floating=True)
            if p.ndim != 2 or p.shape[1] != 4:
                raise ValueError(f"proposals[{i}] must have shape (K_i, 4), got "
                                 f"{tuple(p.shape)}")
        _check_list("image_shapes", image_shapes, len(proposals))
        if self.training and targets is None:
            raise ValueError("targets must be given in training mode")
        if targets is None:
            return
        _check_list("targets", targets, len(proposals))
        for i, t in enumerate(targets):
            if not isinstance(t, dict) or "boxes" not in t or "labels" not in t:
                raise TypeError(f"targets[{i}] must be a dict with 'boxes' and 'labels'")
            if not t["boxes"].is_floating_point():
                raise TypeError(f"targets[{i}]['boxes'] must have a floating dtype, got "
                                f"{t['boxes'].dtype}")
            if t["labels"].dtype != torch.int64:
                raise TypeError(f"targets[{i}]['labels'] must be int64, got "
                                f"{t['labels'].dtype}")
            if self.has_mask() and "masks" not in t:
                raise TypeError(f"targets[{i}] must hold 'masks' when the heads predict masks")

    # ------------------------------------------------------------------ training
    def assign_targets_to_proposals(
        self, proposals: list[torch.Tensor], gt_boxes: list[torch.Tensor],
        gt_labels: list[torch.Tensor],
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Match every proposal to a ground-truth box and label it with that box's class.

        Returns, per image, the ``(K_i,)`` matched index (clamped to 0 for unmatched
        proposals) and the ``(K_i,)`` int64 label: the class, 0 for background, -1 ignored.
        """
        matched_idxs, labels = [], []
        for props, boxes, classes in zip(proposals, gt_boxes, gt_labels):
            if boxes.numel() == 0:  # no object: every proposal is background
                idxs = torch.zeros(props.shape[0], dtype=torch.int64, device=props.device)
                labs = torch.zeros(props.shape[0], dtype=torch.int64, device=props.device)
            else:
                quality = box_iou(boxes, props)  # (G, K_i)
                matches = self.proposal_matcher(quality)  # (K_i,)
                idxs = matches.clamp(min=0)
                labs = classes[idxs].to(dtype=torch.int64)
                labs[matches == self.proposal_matcher.BELOW_LOW_THRESHOLD] = 0
                labs[matches == self.proposal_matcher.BETWEEN_THRESHOLDS] = -1
            matched_idxs.append(idxs)
            labels.append(labs)
        return matched_idxs, labels

    def select_training_samples(
        self, proposals: list[torch.Tensor], targets: list[dict[str, torch.Tensor]]
    ) -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]]:
        """Add the ground truth to the proposals, match, sample, and encode box targets.

        Returns, per image, the sampled proposals, their matched indices, their labels and
        their regression targets.
        """
        dtype, device = proposals[0].dtype, proposals[0].device
        gt_boxes = [t["boxes"].to(dtype) for t in targets]
        gt_labels = [t["labels"] for t in targets]
        # the ground-truth boxes are proposals too: every object has a perfect positive
        proposals = [torch.cat((p, g)) for p, g in zip(proposals, gt_boxes)]
        matched_idxs, labels = self.assign_targets_to_proposals(proposals, gt_boxes, gt_labels)
        positive, negative = self.fg_bg_sampler(labels)
        matched_boxes = []
        for i in range(len(proposals)):
            keep = torch.where(positive[i] | negative[i])[0]
            proposals[i] = proposals[i][keep]
            labels[i] = labels[i][keep]
            matched_idxs[i] = matched_idxs[i][keep]
            boxes = gt_boxes[i]
            if boxes.numel() == 0:
                boxes = torch.zeros((1, 4), dtype=dtype, device=device)
            matched_boxes.append(boxes[matched_idxs[i]])
        regression_targets = self.box_coder.encode(matched_boxes, proposals)
        return proposals, matched_idxs, labels, list(regression_targets)

    # ------------------------------------------------------------------ inference
    def postprocess_detections(
        self, class_logits: torch.Tensor, box_regression: torch.Tensor,
        proposals: list[torch.Tensor], image_shapes: list[tuple[int, int]],
    ) -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]]:
        """Turn logits and offsets into per-image boxes, scores and labels."""
        num_classes = class_logits.shape[-1]
        per_image = [p.shape[0] for p in proposals]
        pred_boxes = self.box_coder.decode(box_regression, proposals)  # (N, K + 1, 4)
        pred_scores = F.softmax(class_logits, -1)  # (N, K + 1)
        all_boxes, all_scores, all_labels = [], [], []
        for boxes, scores, shape in zip(pred_boxes.split(per_image, 0),
                                        pred_scores.split(per_image, 0), image_shapes):
            boxes = clip_boxes_to_image(boxes.reshape(-1, 4), shape).reshape(boxes.shape)
            labels = torch.arange(num_classes, device=boxes.device).view(1, -1)
            labels = labels.expand_as(scores)  # (N_i, K + 1)
            # drop the background column; every (proposal, class) pair is a candidate
            boxes = boxes[:, 1:].reshape(-1, 4)
            scores = scores[:, 1:].reshape(-1)
            labels = labels[:, 1:].reshape(-1)
            keep = torch.where(scores > self.score_thresh)[0]
            boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
            keep = remove_small_boxes(boxes, min_size=1e-2)
            boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
            keep = batched_nms(boxes, scores, labels, self.nms_thresh)
            keep = keep[: self.detections_per_img]  # batched_nms sorts by decreasing score
            all_boxes.append(boxes[keep])
            all_scores.append(scores[keep])
            all_labels.append(labels[keep])
        return all_boxes, all_scores, all_labels

    # ------------------------------------------------------------------ forward
    def forward(
        self,
        features: dict[str, torch.Tensor],
        proposals: list[torch.Tensor],
        image_shapes: list[tuple[int, int]],
        targets: list[dict[str, torch.Tensor]] | None = None,
    ) -> tuple[list[dict[str, torch.Tensor]], dict[str, torch.Tensor]]:
        """Detect (evaluation) or compute the losses (training); see the class docstring."""
        self._check_inputs(features, proposals, image_shapes, targets)
        proposals = list(proposals)
        if self.training:
            proposals, matched_idxs, labels, regression_targets = \
                self.select_training_samples(proposals, targets)
        box_features = self.box_roi_pool(features, proposals, image_shapes)  # (N, C, 7, 7)
        box_features = self.box_head(box_features)  # (N, representation)
        class_logits, box_regression = self.box_predictor(box_features)

        result: list[dict[str, torch.Tensor]] = []
        losses: dict[str, torch.Tensor] = {}
        if self.training:
            loss_classifier, loss_box_reg = fastrcnn_loss(class_logits, box_regression,
                                                          labels, regression_targets)
            losses = {"loss_classifier": loss_classifier, "loss_box_reg": loss_box_reg}
        else:
            boxes, scores, det_labels = self.postprocess_detections(
                class_logits, box_regression, proposals, image_shapes)
            result = [{"boxes": b, "labels": lab, "scores": s}
                      for b, lab, s in zip(boxes, det_labels, scores)]

        if self.has_mask():
            if self.training:
                # the mask branch learns on the positive sampled proposals only
                mask_proposals, positive_matched = [], []
                for props, labs, idxs in zip(proposals, labels, matched_idxs):
                    positive = torch.where(labs > 0)[0]
                    mask_proposals.append(props[positive])
                    positive_matched.append(idxs[positive])
            else:
                mask_proposals = [r["boxes"] for r in result]
            mask_features = self.mask_roi_pool(features, mask_proposals, image_shapes)
            mask_features = self.mask_head(mask_features)  # (P, C, 14, 14)
            mask_logits = self.mask_predictor(mask_features)  # (P, K + 1, 28, 28)
            if self.training:
                losses["loss_mask"] = maskrcnn_loss(
                    mask_logits, mask_proposals, [t["masks"] for t in targets],
                    [t["labels"] for t in targets], positive_matched)
            else:
                # the probabilities of the predicted class's mask, one per detection
                probs = mask_logits.sigmoid()
                det_classes = torch.cat([r["labels"] for r in result])  # (P,)
                probs = probs[torch.arange(det_classes.shape[0], device=probs.device),
                              det_classes][:, None]  # (P, 1, M, M)
                for r, p in zip(result, probs.split([len(r["labels"]) for r in result], 0)):
                    r["masks"] = p
        return result, losses
