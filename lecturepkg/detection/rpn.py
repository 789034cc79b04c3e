"""The region proposal network of Faster R-CNN (Ren et al. 2015), as torchvision's.

Stage one of Faster and Mask R-CNN. A small network slides over every feature map: a 3x3
convolution with ReLU, then two sibling 1x1 convolutions that give, for each of the ``k``
anchors of every position, an *objectness* logit (object or background) and four box
offsets ``(t_x, t_y, t_w, t_h)`` that move the anchor onto the object (:class:`RPNHead`).
With a feature pyramid, the same head runs on every level.

:class:`RegionProposalNetwork` turns these predictions into *proposals*, the boxes that stage
two classifies. Per image and per pyramid level it keeps the ``pre_nms_top_n`` anchors with
the highest objectness, decodes their offsets into boxes, clips them to the image, drops
boxes thinner than ``1e-3`` pixels and those scoring below ``score_thresh``, runs
non-maximum suppression at ``nms_thresh`` on each level separately, and keeps the
``post_nms_top_n`` best proposals of all levels.

In training it also computes its two losses (Ren et al. 2015, eq. 1). Every anchor is
matched to the ground-truth box it overlaps most
(:class:`~lecturepkg.detection.matcher.Matcher`): IoU ``>= fg_iou_thresh`` (0.7) makes it positive, ``< bg_iou_thresh`` (0.3)
negative, in between ignored, and the anchor that overlaps a box most is positive whatever
its IoU. A random sample of ``batch_size_per_image`` (256) anchors per image, at most
``positive_fraction`` (half) positive
(:class:`~lecturepkg.detection.sampler.BalancedPositiveNegativeSampler`), gives

* the objectness loss: binary cross-entropy of the logits against the labels, averaged over
  the sampled anchors;
* the box loss: smooth L1 (``beta = 1/9``) between the predicted and the target offsets
  (:class:`~lecturepkg.detection.box_coder.BoxCoder` with weights ``(1, 1, 1, 1)``), summed
  over the positive anchors and divided by the number of *sampled* anchors.

Proposals are computed from detached predictions: no gradient flows from stage two into the
RPN through the proposals' coordinates (the approximate joint training of the paper).

The modules have torchvision's attributes, methods and ``state_dict`` keys
(``head.conv.0.0``, ``head.cls_logits``, ``head.bbox_pred``), so that torchvision's RPN
weights load into :class:`RegionProposalNetwork` and both give the same proposals and
losses.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from lecturepkg.detection._args import (
    check_boxes, check_feature_map, check_image_size, check_int, check_real,
)
from lecturepkg.detection.box_coder import BoxCoder
from lecturepkg.detection.boxes import box_iou, clip_boxes_to_image, remove_small_boxes
from lecturepkg.detection.matcher import Matcher
from lecturepkg.detection.sampler import BalancedPositiveNegativeSampler
from lecturepkg.detection.suppression import batched_nms

__all__ = ["RPNHead", "concat_box_prediction_layers", "RegionProposalNetwork"]


class RPNHead(nn.Module):
    """The RPN's sliding network: objectness logits and box offsets for every anchor.

    Parameters
    ----------
    in_channels : int
        Channels of the feature maps (256 with a feature pyramid).
    num_anchors : int
        ``k``, the anchors per position.
    conv_depth : int
        Number of 3x3 convolutions (with ReLU) before the two 1x1 convolutions: 1 in the
        paper, 2 in torchvision's Mask R-CNN v2.

    ``forward(x)`` takes a list of ``(N, in_channels, H_l, W_l)`` maps and returns two lists:
    ``(N, k, H_l, W_l)`` objectness logits and ``(N, 4 k, H_l, W_l)`` box offsets (the four
    offsets of anchor ``a`` in channels ``4 a`` to ``4 a + 3``).

    >>> logits, deltas = RPNHead(16, 3)([torch.randn(2, 16, 8, 8), torch.randn(2, 16, 4, 4)])
    >>> [tuple(t.shape) for t in logits], [tuple(t.shape) for t in deltas]
    ([(2, 3, 8, 8), (2, 3, 4, 4)], [(2, 12, 8, 8), (2, 12, 4, 4)])
    """

    def __init__(self, in_channels: int, num_anchors: int, conv_depth: int = 1) -> None:
        super().__init__()
        in_channels = check_int("in_channels", in_channels, minimum=1)
        num_anchors = check_int("num_anchors", num_anchors, minimum=1)
        conv_depth = check_int("conv_depth", conv_depth, minimum=1)
        self.conv = nn.Sequential(*[
            nn.Sequential(nn.Conv2d(in_channels, in_channels, 3, padding=1),
                          nn.ReLU(inplace=True))
            for _ in range(conv_depth)
        ])
        self.cls_logits = nn.Conv2d(in_channels, num_anchors, kernel_size=1)
        self.bbox_pred = nn.Conv2d(in_channels, 4 * num_anchors, kernel_size=1)
        for layer in self.modules():  # the paper's initialisation: N(0, 0.01^2), zero biases
            if isinstance(layer, nn.Conv2d):
                nn.init.normal_(layer.weight, std=0.01)
                nn.init.constant_(layer.bias, 0)

    def forward(self, x: Sequence[torch.Tensor]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        if not isinstance(x, (list, tuple)) or not x:
            raise TypeError(
                f"x must be a non-empty list of (N, C, H, W) feature maps, got {type(x).__name__}"
            )
        channels = self.cls_logits.in_channels
        logits, deltas = [], []
        for i, feature in enumerate(x):
            check_feature_map(f"x[{i}]", feature)
            if feature.shape[1] != channels:
                raise ValueError(
                    f"x[{i}] must have {channels} channels, got shape {tuple(feature.shape)}"
                )
            t = self.conv(feature)  # (N, C, H_l, W_l)
            logits.append(self.cls_logits(t))  # (N, k, H_l, W_l)
            deltas.append(self.bbox_pred(t))  # (N, 4 k, H_l, W_l)
        return logits, deltas


def concat_box_prediction_layers(
    box_cls: Sequence[torch.Tensor], box_regression: Sequence[torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Flatten the head's per-level maps into one row per anchor, in the anchors' order.

    The anchor generator lists anchors level by level, position by position (row-major), and
    the ``k`` anchors of a position last; this reorders ``(N, k C, H, W)`` maps the same way.

    Parameters
    ----------
    box_cls : list of Tensor
        Per level, ``(N, k C, H_l, W_l)`` scores (``C = 1`` for the RPN's objectness).
    box_regression : list of Tensor
        Per level, ``(N, 4 k, H_l, W_l)`` box offsets.

    Returns
    -------
    (Tensor, Tensor)
        ``(N A, C)`` scores and ``(N A, 4)`` offsets, ``A = sum_l H_l W_l k``: image 0's
        anchors first.
    """
    if not isinstance(box_cls, (list, tuple)) or not isinstance(box_regression, (list, tuple)):
        raise TypeError("box_cls and box_regression must be lists of (N, *, H, W) tensors")
    if len(box_cls) != len(box_regression) or not box_cls:
        raise ValueError(
            "box_cls and box_regression must have one tensor per level each, got "
            f"{len(box_cls)} and {len(box_regression)}"
        )
    scores, offsets = [], []
    for level, (cls, reg) in enumerate(zip(box_cls, box_regression)):
        check_feature_map(f"box_cls[{level}]", cls)
        check_feature_map(f"box_regression[{level}]", reg)
        n, kc, h, w = cls.shape
        k = reg.shape[1] // 4
        if (reg.shape[1] % 4 or k == 0 or kc % k or reg.shape[0] != n
                or tuple(reg.shape[2:]) != (h, w)):
            raise ValueError(
                f"box_regression[{level}] must have shape ({n}, 4 k, {h}, {w}) with k dividing "
                f"the {kc} channels of box_cls[{level}], got {tuple(reg.shape)}"
            )
        c = kc // k
        # (N, k C, H, W) -> (N, k, C, H, W) -> (N, H, W, k, C) -> (N, H W k, C)
        scores.append(cls.view(n, k, c, h, w).permute(0, 3, 4, 1, 2).reshape(n, -1, c))
        offsets.append(reg.view(n, k, 4, h, w).permute(0, 3, 4, 1, 2).reshape(n, -1, 4))
    box_cls = torch.cat(scores, dim=1).flatten(0, -2)  # (N A, C)
    box_regression = torch.cat(offsets, dim=1).reshape(-1, 4)  # (N A, 4)
    return box_cls, box_regression


def _check_train_test(name: str, value: Any) -> dict[str, int]:
    """A ``{"training": int, "testing": int}`` dict, as torchvision's RPN takes for top-n."""
    if not isinstance(value, Mapping) or set(value) != {"training", "testing"}:
        raise TypeError(
            f"{name} must be a dict with the keys 'training' and 'testing' (ints), got {value!r}"
        )
    return {key: check_int(f"{name}[{key!r}]", value[key], minimum=1)
            for key in ("training", "testing")}


class RegionProposalNetwork(nn.Module):
    """Proposals and training losses of the RPN (Ren et al. 2015), torchvision's.

    Parameters
    ----------
    anchor_generator : nn.Module
        An :class:`~lecturepkg.detection.anchors.AnchorGenerator` (or anything called as
        ``anchor_generator(images, feature_maps)`` that returns one ``(A, 4)`` tensor of
        anchors per image).
    head : nn.Module
        An :class:`RPNHead` whose ``num_anchors`` equals the generator's anchors per position.
    fg_iou_thresh : float
        IoU with a ground-truth box from which an anchor is positive (0.7).
    bg_iou_thresh : float
        IoU below which an anchor is negative (0.3).
    batch_size_per_image : int
        Anchors sampled per image for the losses (256).
    positive_fraction : float
        Largest share of positives in the sample (0.5).
    pre_nms_top_n, post_nms_top_n : dict
        ``{"training": int, "testing": int}``: anchors kept per level before NMS, and
        proposals kept per image after it (torchvision's Mask R-CNN: 2000 and 2000 in
        training, 1000 and 1000 in testing).
    nms_thresh : float
        IoU threshold of the non-maximum suppression (0.7).
    score_thresh : float
        Proposals with an objectness probability below it are dropped.

    ``forward(images, features, targets=None)`` takes an ``ImageList``-like ``images``
    (attributes ``tensors``, the padded ``(N, C, H, W)`` batch, and ``image_sizes``, one
    ``(h, w)`` per image), an ordered dict of ``(N, C, H_l, W_l)`` feature maps and, in
    training, one dict per image with ``"boxes"``, an ``(M, 4)`` tensor of ground-truth
    boxes. It returns the proposals, one ``(P_i, 4)`` tensor per image sorted by level and
    score as torchvision's, and a dict of losses ``loss_objectness`` and
    ``loss_rpn_box_reg`` (empty in eval mode).
    """

    def __init__(
        self,
        anchor_generator: nn.Module,
        head: nn.Module,
        fg_iou_thresh: float,
        bg_iou_thresh: float,
        batch_size_per_image: int,
        positive_fraction: float,
        pre_nms_top_n: dict[str, int],
        post_nms_top_n: dict[str, int],
        nms_thresh: float,
        score_thresh: float = 0.0,
    ) -> None:
        super().__init__()
        if not isinstance(anchor_generator, nn.Module):
            raise TypeError(
                "anchor_generator must be an nn.Module such as "
                f"lecturepkg.detection.AnchorGenerator, got {type(anchor_generator).__name__}"
            )
        if not isinstance(head, nn.Module):
            raise TypeError(f"head must be an nn.Module such as RPNHead, got "
                            f"{type(head).__name__}")
        self.anchor_generator = anchor_generator
        self.head = head
        self.box_coder = BoxCoder(weights=(1.0, 1.0, 1.0, 1.0))
        self.box_similarity = box_iou
        # allow_low_quality_matches: the anchor that overlaps a box most is positive
        self.proposal_matcher = Matcher(fg_iou_thresh, bg_iou_thresh,
                                        allow_low_quality_matches=True)
        self.fg_bg_sampler = BalancedPositiveNegativeSampler(batch_size_per_image,
                                                             positive_fraction)
        self._pre_nms_top_n = _check_train_test("pre_nms_top_n", pre_nms_top_n)
        self._post_nms_top_n = _check_train_test("post_nms_top_n", post_nms_top_n)
        self.nms_thresh = check_real("nms_thresh", nms_thresh)
        self.score_thresh = check_real("score_thresh", score_thresh)
        self.min_size = 1e-3

    def pre_nms_top_n(self) -> int:
        """Anchors kept per level before NMS, in the current mode (training or testing)."""
        return self._pre_nms_top_n["training" if self.training else "testing"]

    def post_nms_top_n(self) -> int:
        """Proposals kept per image after NMS, in the current mode."""
        return self._post_nms_top_n["training" if self.training else "testing"]

    # ------------------------------------------------------------------ training targets
    def assign_targets_to_anchors(
        self, anchors: Sequence[torch.Tensor], targets: Sequence[dict[str, torch.Tensor]]
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Label every anchor and give it the ground-truth box it is matched to.

        Returns, per image, ``(A,)`` float labels (1 positive, 0 negative, -1 ignored) and the
        ``(A, 4)`` matched boxes (the first box for negatives; their offsets are not used).
        An image without boxes has only negatives.
        """
        labels, matched_gt_boxes = [], []
        for anchors_per_image, target in zip(anchors, targets):
            gt_boxes = target["boxes"]  # (M, 4)
            if gt_boxes.numel() == 0:
                matched = torch.zeros(anchors_per_image.shape, dtype=torch.float32,
                                      device=anchors_per_image.device)
                labels_per_image = torch.zeros(len(anchors_per_image), dtype=torch.float32,
                                               device=anchors_per_image.device)
            else:
                quality = self.box_similarity(gt_boxes, anchors_per_image)  # (M, A) IoU
                matched_idxs = self.proposal_matcher(quality)  # (A,) box index or < 0
                matched = gt_boxes[matched_idxs.clamp(min=0)]  # (A, 4)
                labels_per_image = (matched_idxs >= 0).to(torch.float32)
                labels_per_image[matched_idxs == self.proposal_matcher.BELOW_LOW_THRESHOLD] = 0.0
                labels_per_image[matched_idxs == self.proposal_matcher.BETWEEN_THRESHOLDS] = -1.0
            labels.append(labels_per_image)
            matched_gt_boxes.append(matched)
        return labels, matched_gt_boxes

    # ------------------------------------------------------------------ proposals
    def _get_top_n_idx(self, objectness: torch.Tensor,
                       num_anchors_per_level: Sequence[int]) -> torch.Tensor:
        """Indices of the ``pre_nms_top_n`` highest logits of each level: ``(N, sum_l n_l)``."""
        indices, offset = [], 0
        for level_logits in objectness.split(list(num_anchors_per_level), dim=1):  # (N, A_l)
            n = min(self.pre_nms_top_n(), level_logits.shape[1])
            _, top = level_logits.topk(n, dim=1)
            indices.append(top + offset)
            offset += level_logits.shape[1]
        return torch.cat(indices, dim=1)

    def filter_proposals(
        self,
        proposals: torch.Tensor,
        objectness: torch.Tensor,
        image_shapes: Sequence[tuple[int, int]],
        num_anchors_per_level: Sequence[int],
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Select the proposals of each image from the decoded boxes of all its anchors.

        Parameters
        ----------
        proposals : Tensor
            ``(N, A, 4)`` decoded boxes, one per anchor.
        objectness : Tensor
            The ``N A`` objectness logits (any shape with that many elements).
        image_shapes : list of (int, int)
            Each image's ``(h, w)`` before padding: boxes are clipped to it.
        num_anchors_per_level : list of int
            ``A_l``, the anchors of each level (summing to ``A``).

        Returns
        -------
        (list of Tensor, list of Tensor)
            Per image, the ``(P_i, 4)`` kept boxes and their ``(P_i,)`` objectness
            probabilities.
        """
        num_images = proposals.shape[0]
        device = proposals.device
        objectness = objectness.detach().reshape(num_images, -1)  # (N, A)
        levels = torch.cat([
            torch.full((n,), level, dtype=torch.int64, device=device)
            for level, n in enumerate(num_anchors_per_level)
        ]).reshape(1, -1).expand_as(objectness)  # (N, A): the level of each anchor

        # the best pre_nms_top_n anchors of each level, in each image
        top_n_idx = self._get_top_n_idx(objectness, num_anchors_per_level)  # (N, T)
        batch_idx = torch.arange(num_images, device=device)[:, None]  # (N, 1)
        objectness = objectness[batch_idx, top_n_idx]  # (N, T)
        levels = levels[batch_idx, top_n_idx]  # (N, T)
        proposals = proposals[batch_idx, top_n_idx]  # (N, T, 4)
        probabilities = torch.sigmoid(objectness)  # (N, T)

        final_boxes, final_scores = [], []
        for boxes, scores, lvl, image_shape in zip(proposals, probabilities, levels,
                                                   image_shapes):
            boxes = clip_boxes_to_image(boxes, image_shape)
            keep = remove_small_boxes(boxes, self.min_size)
            boxes, scores, lvl = boxes[keep], scores[keep], lvl[keep]
            keep = torch.where(scores >= self.score_thresh)[0]
            boxes, scores, lvl = boxes[keep], scores[keep], lvl[keep]
            # NMS within each level (boxes of different levels never suppress each other),
            # sorted by decreasing score
            keep = batched_nms(boxes, scores, lvl, self.nms_thresh)
            keep = keep[: self.post_nms_top_n()]
            final_boxes.append(boxes[keep])
            final_scores.append(scores[keep])
        return final_boxes, final_scores

    # ------------------------------------------------------------------ losses
    def compute_loss(
        self,
        objectness: torch.Tensor,
        pred_bbox_deltas: torch.Tensor,
        labels: Sequence[torch.Tensor],
        regression_targets: Sequence[torch.Tensor],
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The objectness and box losses on a balanced sample of anchors (Ren et al., eq. 1).

        Parameters
        ----------
        objectness : Tensor
            ``(N A, 1)`` logits (any shape with ``N A`` elements).
        pred_bbox_deltas : Tensor
            ``(N A, 4)`` predicted offsets.
        labels : list of Tensor
            Per image, ``(A,)`` labels 1, 0 or -1 (:meth:`assign_targets_to_anchors`).
        regression_targets : list of Tensor
            Per image, ``(A, 4)`` target offsets of the matched boxes.

        Returns
        -------
        (Tensor, Tensor)
            The objectness loss (binary cross-entropy, mean over the sampled anchors) and the
            box loss (smooth L1 with ``beta = 1/9`` summed over the sampled positives, divided
            by the number of sampled anchors).
        """
        sampled_pos, sampled_neg = self.fg_bg_sampler(labels)  # per image, (A,) masks
        sampled_pos = torch.where(torch.cat(sampled_pos, dim=0))[0]  # indices into N A
        sampled_neg = torch.where(torch.cat(sampled_neg, dim=0))[0]
        sampled = torch.cat([sampled_pos, sampled_neg], dim=0)

        objectness = objectness.flatten()  # (N A,)
        labels = torch.cat(list(labels), dim=0)  # (N A,)
        regression_targets = torch.cat(list(regression_targets), dim=0)  # (N A, 4)

        box_loss = F.smooth_l1_loss(
            pred_bbox_deltas[sampled_pos], regression_targets[sampled_pos],
            beta=1 / 9, reduction="sum",
        ) / sampled.numel()
        objectness_loss = F.binary_cross_entropy_with_logits(objectness[sampled],
                                                             labels[sampled])
        return objectness_loss, box_loss

    # ------------------------------------------------------------------ forward
    def _check_inputs(self, images: Any, features: Any, targets: Any) -> None:
        if not hasattr(images, "tensors") or not hasattr(images, "image_sizes"):
            raise TypeError(
                "images must have the attributes tensors (the padded batch, (N, C, H, W)) and "
                f"image_sizes (one (h, w) per image), like an ImageList; got "
                f"{type(images).__name__}"
            )
        batch = check_feature_map("images.tensors", images.tensors)
        n = batch.shape[0]
        if not isinstance(images.image_sizes, (list, tuple)) or len(images.image_sizes) != n:
            raise ValueError(f"images.image_sizes must hold one (h, w) per image ({n}), got "
                             f"{images.image_sizes!r}")
        for i, size in enumerate(images.image_sizes):
            check_image_size(f"images.image_sizes[{i}]", size)
        if not isinstance(features, Mapping) or not features:
            raise TypeError("features must be a non-empty ordered dict of (N, C, H, W) "
                            f"feature maps, got {type(features).__name__}")
        for name, feature in features.items():
            check_feature_map(f"features[{name!r}]", feature)
            if feature.shape[0] != n:
                raise ValueError(f"features[{name!r}] must have {n} images (as images.tensors), "
                                 f"got shape {tuple(feature.shape)}")
        if self.training:
            if targets is None:
                raise ValueError("targets must be given in training mode: one dict with "
                                 "'boxes' per image")
            if not isinstance(targets, (list, tuple)) or len(targets) != n:
                raise ValueError(f"targets must be a list of {n} dicts (one per image), got "
                                 f"{type(targets).__name__} of length "
                                 f"{len(targets) if hasattr(targets, '__len__') else '?'}")
            for i, target in enumerate(targets):
                if not isinstance(target, Mapping) or "boxes" not in target:
                    raise TypeError(f"targets[{i}] must be a dict with the key 'boxes', got "
                                    f"{target!r}")
                check_boxes(f"targets[{i}]['boxes']", target["boxes"])

    def forward(
        self,
        images: Any,
        features: Mapping[str, torch.Tensor],
        targets: Sequence[dict[str, torch.Tensor]] | None = None,
    ) -> tuple[list[torch.Tensor], dict[str, torch.Tensor]]:
        self._check_inputs(images, features, targets)
        features = list(features.values())
        # per level, (N, k, H_l, W_l) logits and (N, 4 k, H_l, W_l) offsets
        objectness, pred_bbox_deltas = self.head(features)
        anchors = self.anchor_generator(images, features)  # per image (A, 4)

        num_images = len(anchors)
        num_anchors_per_level = [o[0].numel() for o in objectness]  # k H_l W_l
        objectness, pred_bbox_deltas = concat_box_prediction_layers(objectness,
                                                                    pred_bbox_deltas)
        # (N A, 1), (N A, 4); proposals are decoded from detached offsets
        proposals = self.box_coder.decode(pred_bbox_deltas.detach(), anchors)
        proposals = proposals.view(num_images, -1, 4)  # (N, A, 4)
        boxes, _ = self.filter_proposals(proposals, objectness, images.image_sizes,
                                         num_anchors_per_level)

        losses: dict[str, torch.Tensor] = {}
        if self.training:
            labels, matched_gt_boxes = self.assign_targets_to_anchors(anchors, targets)
            regression_targets = self.box_coder.encode(matched_gt_boxes, anchors)
            loss_objectness, loss_rpn_box_reg = self.compute_loss(
                objectness, pred_bbox_deltas, labels, regression_targets)
            losses = {"loss_objectness": loss_objectness, "loss_rpn_box_reg": loss_rpn_box_reg}
        return boxes, losses
