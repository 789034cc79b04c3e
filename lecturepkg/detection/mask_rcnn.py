"""Mask R-CNN (He et al. 2017), assembled from the course's modules, as torchvision's.

:class:`MaskRCNN` is torchvision's ``MaskRCNN`` with the same keyword arguments, defaults,
submodules and ``state_dict`` keys, built from :mod:`lecturepkg.detection`'s pieces. One
forward pass in evaluation, for a list of ``N`` images of sizes ``(3, H_i, W_i)`` with
values in ``[0, 1]`` (the shapes are those of the default ResNet-50-FPN model and one
``600 x 800`` image, the lecture notes' example):

0. **Transform** (:class:`~lecturepkg.detection.transform.GeneralizedRCNNTransform`).
   Normalise each image, resize it so that its shorter side is ``min_size`` (800) and its
   longer at most ``max_size`` (1333), here ``800 x 1066``, and pad all of them into one
   ``(N, 3, H, W)`` batch with ``H`` and ``W`` multiples of 32: ``(N, 3, 800, 1088)``.
1. **Backbone** (:func:`~lecturepkg.detection.backbone.resnet_fpn_extractor`). ResNet-50's
   stages give ``C2`` to ``C5`` (strides 4 to 32, 256 to 2048 channels); the feature pyramid
   (Lin et al. 2017) turns them into ``P2`` to ``P6``, 256 channels each, named ``"0"`` to
   ``"3"`` and ``"pool"``: ``(N, 256, 200, 272)`` down to ``(N, 256, 13, 17)``.
2. **Region proposal network** (:class:`~lecturepkg.detection.rpn.RegionProposalNetwork`,
   Ren et al. 2015). ``k = 3`` anchors per position of each level (one size per level, 32 to
   512 pixels, ratios 1:2, 1:1, 2:1), objectness and offsets for each, the best
   ``rpn_pre_nms_top_n`` per level decoded, clipped and suppressed: at most
   ``rpn_post_nms_top_n_test`` (1000) proposals ``(P_i, 4)`` per image.
3. **RoI heads** (:class:`~lecturepkg.detection.roi_heads.RoIHeads`). Each proposal is pooled
   from its pyramid level by RoIAlign into ``(P, 256, 7, 7)``, flattened through two fully
   connected layers ``(P, 1024)`` into ``K + 1`` class logits and ``4 (K + 1)`` box offsets;
   per class, boxes are decoded, scored, and suppressed (``box_nms_thresh`` 0.5), keeping the
   ``box_detections_per_img`` (100) best ``(D_i, 4)`` detections. The mask branch pools each
   detection into ``(D, 256, 14, 14)``, runs four 3x3 convolutions and a 2x2 transposed
   convolution to ``(D, 256, 28, 28)`` and a 1x1 convolution to ``(D, K + 1, 28, 28)`` mask
   logits, of which the predicted class's sigmoid is kept: ``(D_i, 1, 28, 28)``.
4. **Post-processing** (``transform.postprocess``). Boxes are scaled back to each original
   image and the masks pasted into it (:func:`~lecturepkg.detection.masks.paste_masks_in_image`):
   ``(D_i, 1, H_i, W_i)`` probabilities, which the paper binarises at 0.5.

In training the same pass, given one target per image (``boxes`` ``(M_i, 4)``, ``labels``
``(M_i,)`` int64, ``masks`` ``(M_i, H_i, W_i)`` uint8), returns the five losses instead:
``loss_classifier``, ``loss_box_reg`` and ``loss_mask`` of the heads (``L = L_cls + L_box +
L_mask``, He et al. 2017) and ``loss_objectness`` and ``loss_rpn_box_reg`` of the RPN.

:func:`maskrcnn_resnet50_fpn` builds torchvision's model of the same name and
:func:`load_torchvision_state_dict` loads its weights. :func:`maskrcnn_resnet50_c4` builds
the paper's ResNet-50-C4 model instead (He et al. 2017, Figure 4 left): no pyramid, the RPN
and RoIAlign on ``C4``, and the fifth stage ``res5`` as the head shared by the box and mask
branches.
"""

from __future__ import annotations

import warnings
from typing import Any, Mapping, Sequence

import torch
from torch import nn

from lecturepkg.blocks import Bottleneck, projection_shortcut
from lecturepkg.detection._args import check_int
from lecturepkg.detection.anchors import AnchorGenerator
from lecturepkg.detection.backbone import IntermediateLayers, resnet_fpn_extractor
from lecturepkg.detection.multiscale import MultiScaleRoIAlign
from lecturepkg.detection.roi_heads import (
    FastRCNNPredictor, MaskRCNNHeads, MaskRCNNPredictor, RoIHeads, TwoMLPHead,
)
from lecturepkg.detection.rpn import RegionProposalNetwork, RPNHead
from lecturepkg.detection.transform import GeneralizedRCNNTransform
from lecturepkg.models import resnets
from lecturepkg.models._pretrained import check_no_weights

__all__ = [
    "MaskRCNN", "maskrcnn_resnet50_fpn", "load_torchvision_state_dict", "Res5Head",
    "maskrcnn_resnet50_c4",
]

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
FPN_LEVELS = ["0", "1", "2", "3"]


def _default_anchor_generator() -> AnchorGenerator:
    """torchvision's anchors for FPN, one size per level (32 to 512) and three ratios."""
    sizes = ((32,), (64,), (128,), (256,), (512,))
    return AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * len(sizes))


def _check_module(name: str, value: Any) -> None:
    if value is not None and not isinstance(value, nn.Module):
        raise TypeError(f"{name} must be None or an nn.Module, got {type(value).__name__}")


class MaskRCNN(nn.Module):
    """Mask R-CNN (He et al. 2017) on any backbone, torchvision's ``MaskRCNN``.

    Parameters
    ----------
    backbone : nn.Module
        Maps a ``(N, 3, H, W)`` batch to an ordered dict of feature maps (or one map), all
        with ``backbone.out_channels`` channels.
    num_classes : int or None
        Classes including the background (91 for torchvision's COCO models). ``None`` only
        with both ``box_predictor`` and ``mask_predictor`` given.
    min_size, max_size, image_mean, image_std
        Of the :class:`~lecturepkg.detection.transform.GeneralizedRCNNTransform` (800,
        1333, ImageNet's mean and standard deviation).
    rpn_anchor_generator, rpn_head : nn.Module or None
        ``None`` gives torchvision's FPN anchors (sizes 32 to 512, one per level, three
        ratios) and an :class:`~lecturepkg.detection.rpn.RPNHead`.
    rpn_pre_nms_top_n_train, rpn_pre_nms_top_n_test, rpn_post_nms_top_n_train,
    rpn_post_nms_top_n_test, rpn_nms_thresh, rpn_fg_iou_thresh, rpn_bg_iou_thresh,
    rpn_batch_size_per_image, rpn_positive_fraction, rpn_score_thresh
        Of the :class:`~lecturepkg.detection.rpn.RegionProposalNetwork` (2000, 1000, 2000,
        1000, 0.7, 0.7, 0.3, 256, 0.5, 0.0).
    box_roi_pool, box_head, box_predictor : nn.Module or None
        ``None`` gives RoIAlign 7x7 on the levels ``"0"`` to ``"3"``, a
        :class:`~lecturepkg.detection.roi_heads.TwoMLPHead` of width 1024 and a
        :class:`~lecturepkg.detection.roi_heads.FastRCNNPredictor`.
    box_score_thresh, box_nms_thresh, box_detections_per_img, box_fg_iou_thresh,
    box_bg_iou_thresh, box_batch_size_per_image, box_positive_fraction, bbox_reg_weights
        Of the :class:`~lecturepkg.detection.roi_heads.RoIHeads` (0.05, 0.5, 100, 0.5, 0.5,
        512, 0.25, None for ``(10, 10, 5, 5)``).
    mask_roi_pool, mask_head, mask_predictor : nn.Module or None
        ``None`` gives RoIAlign 14x14 on the levels ``"0"`` to ``"3"``, four 3x3
        convolutions of 256 channels and a
        :class:`~lecturepkg.detection.roi_heads.MaskRCNNPredictor` (28x28 masks).
    **kwargs
        Further arguments of the transform (``size_divisible``, ``fixed_size``).

    Attributes ``transform``, ``backbone``, ``rpn`` and ``roi_heads`` are torchvision's, and
    so are the ``state_dict`` keys. See :meth:`forward` and the module's docstring.
    """

    def __init__(
        self,
        backbone: nn.Module,
        num_classes: int | None = None,
        # transform parameters
        min_size: int | Sequence[int] = 800,
        max_size: int = 1333,
        image_mean: Sequence[float] | None = None,
        image_std: Sequence[float] | None = None,
        # RPN parameters
        rpn_anchor_generator: nn.Module | None = None,
        rpn_head: nn.Module | None = None,
        rpn_pre_nms_top_n_train: int = 2000,
        rpn_pre_nms_top_n_test: int = 1000,
        rpn_post_nms_top_n_train: int = 2000,
        rpn_post_nms_top_n_test: int = 1000,
        rpn_nms_thresh: float = 0.7,
        rpn_fg_iou_thresh: float = 0.7,
        rpn_bg_iou_thresh: float = 0.3,
        rpn_batch_size_per_image: int = 256,
        rpn_positive_fraction: float = 0.5,
        rpn_score_thresh: float = 0.0,
        # box parameters
        box_roi_pool: nn.Module | None = None,
        box_head: nn.Module | None = None,
        box_predictor: nn.Module | None = None,
        box_score_thresh: float = 0.05,
        box_nms_thresh: float = 0.5,
        box_detections_per_img: int = 100,
        box_fg_iou_thresh: float = 0.5,
        box_bg_iou_thresh: float = 0.5,
        box_batch_size_per_image: int = 512,
        box_positive_fraction: float = 0.25,
        bbox_reg_weights: tuple[float, float, float, float] | None = None,
        # mask parameters
        mask_roi_pool: nn.Module | None = None,
        mask_head: nn.Module | None = None,
        mask_predictor: nn.Module | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        channels = self._check_parts(backbone, num_classes, {
            "rpn_anchor_generator": rpn_anchor_generator, "rpn_head": rpn_head,
            "box_roi_pool": box_roi_pool, "box_head": box_head, "box_predictor": box_predictor,
            "mask_roi_pool": mask_roi_pool, "mask_head": mask_head,
            "mask_predictor": mask_predictor})
        self.transform = GeneralizedRCNNTransform(
            min_size, max_size, IMAGENET_MEAN if image_mean is None else image_mean,
            IMAGENET_STD if image_std is None else image_std, **kwargs)
        self.backbone = backbone
        if rpn_anchor_generator is None:
            rpn_anchor_generator = _default_anchor_generator()
        if rpn_head is None:
            rpn_head = RPNHead(channels, rpn_anchor_generator.num_anchors_per_location()[0])
        self.rpn = RegionProposalNetwork(
            rpn_anchor_generator, rpn_head, rpn_fg_iou_thresh, rpn_bg_iou_thresh,
            rpn_batch_size_per_image, rpn_positive_fraction,
            {"training": rpn_pre_nms_top_n_train, "testing": rpn_pre_nms_top_n_test},
            {"training": rpn_post_nms_top_n_train, "testing": rpn_post_nms_top_n_test},
            rpn_nms_thresh, score_thresh=rpn_score_thresh)
        if box_roi_pool is None:
            box_roi_pool = MultiScaleRoIAlign(FPN_LEVELS, output_size=7, sampling_ratio=2)
        if box_head is None:
            resolution = box_roi_pool.output_size[0]
            box_head = TwoMLPHead(channels * resolution ** 2, 1024)
        if box_predictor is None:
            box_predictor = FastRCNNPredictor(1024, num_classes)
        if mask_roi_pool is None:
            mask_roi_pool = MultiScaleRoIAlign(FPN_LEVELS, output_size=14, sampling_ratio=2)
        if mask_head is None:
            mask_head = MaskRCNNHeads(channels, (256, 256, 256, 256), 1)
        if mask_predictor is None:
            mask_predictor = MaskRCNNPredictor(256, 256, num_classes)
        self.roi_heads = RoIHeads(
            box_roi_pool, box_head, box_predictor, box_fg_iou_thresh, box_bg_iou_thresh,
            box_batch_size_per_image, box_positive_fraction, bbox_reg_weights,
            box_score_thresh, box_nms_thresh, box_detections_per_img,
            mask_roi_pool=mask_roi_pool, mask_head=mask_head, mask_predictor=mask_predictor)

    @staticmethod
    def _check_parts(backbone: Any, num_classes: Any, modules: Mapping[str, Any]) -> int:
        """Check the modules and ``num_classes`` as torchvision; return the backbone's width."""
        if not isinstance(backbone, nn.Module) or not hasattr(backbone, "out_channels"):
            raise TypeError("backbone must be an nn.Module with an attribute out_channels (the "
                            "channels of its feature maps)")
        for name, module in modules.items():
            _check_module(name, module)
        predictors = [name for name in ("box_predictor", "mask_predictor")
                      if modules[name] is not None]
        if num_classes is not None:
            check_int("num_classes", num_classes, minimum=2)
            if predictors:
                raise ValueError(f"num_classes must be None when {predictors[0]} is given "
                                 f"(the predictor fixes the number of classes)")
        elif len(predictors) < 2:
            raise ValueError("num_classes must be given unless both box_predictor and "
                             "mask_predictor are")
        return check_int("backbone.out_channels", backbone.out_channels, minimum=1)

    # ------------------------------------------------------------------ checks
    @staticmethod
    def _check_target(i: int, target: Any, image: torch.Tensor) -> None:
        """Check one image's target (boxes (M, 4) float, labels (M,) int64, masks uint8)."""
        if not isinstance(target, Mapping) or not {"boxes", "labels", "masks"} <= set(target):
            raise TypeError(f"targets[{i}] must be a dict with 'boxes', 'labels' and 'masks'")
        boxes, labels, masks = target["boxes"], target["labels"], target["masks"]
        m = boxes.shape[0] if isinstance(boxes, torch.Tensor) else None
        if (not isinstance(boxes, torch.Tensor) or boxes.ndim != 2 or boxes.shape[1] != 4
                or not boxes.is_floating_point()):
            raise ValueError(f"targets[{i}]['boxes'] must be a float tensor of shape (M, 4), "
                             f"got {getattr(boxes, 'shape', type(boxes).__name__)}")
        if (not isinstance(labels, torch.Tensor) or labels.shape != (m,)
                or labels.dtype != torch.int64):
            raise ValueError(f"targets[{i}]['labels'] must be an int64 tensor of shape ({m},), "
                             f"got {getattr(labels, 'shape', '?')} {getattr(labels, 'dtype', '')}")
        expected = (m, *image.shape[-2:])
        if (not isinstance(masks, torch.Tensor) or tuple(masks.shape) != expected
                or masks.dtype != torch.uint8):
            raise ValueError(f"targets[{i}]['masks'] must be a uint8 tensor of shape "
                             f"{expected} (one mask per box, the image's size), got "
                             f"{getattr(masks, 'shape', '?')} {getattr(masks, 'dtype', '')}")
        degenerate = (boxes[:, 2:] <= boxes[:, :2]).any(dim=1)
        if degenerate.any():
            j = int(torch.where(degenerate)[0][0])
            raise ValueError(f"All bounding boxes should have positive height and width. Found "
                             f"invalid box {boxes[j].tolist()} (box {j}) for target at index "
                             f"{i}.")

    def _check_inputs(self, images: Any, targets: Any) -> None:
        if not isinstance(images, (list, tuple)) or not images:
            raise TypeError(f"images must be a non-empty list of (3, H, W) float tensors, got "
                            f"{type(images).__name__}")
        for i, image in enumerate(images):
            if (not isinstance(image, torch.Tensor) or image.ndim != 3
                    or not image.is_floating_point()):
                got = (f"{tuple(image.shape)} {image.dtype}" if isinstance(image, torch.Tensor)
                       else type(image).__name__)
                raise ValueError(f"images[{i}] must be a (3, H, W) float tensor with values "
                                 f"in [0, 1], got {got}")
        if targets is None:
            if self.training:
                raise ValueError("targets must be given in training mode: one dict with "
                                 "'boxes', 'labels' and 'masks' per image")
            return
        if not isinstance(targets, (list, tuple)) or len(targets) != len(images):
            raise ValueError(f"targets must be a list of {len(images)} dicts, one per image")
        for i, (target, image) in enumerate(zip(targets, images)):
            self._check_target(i, target, image)

    # ------------------------------------------------------------------ forward
    def forward(
        self,
        images: Sequence[torch.Tensor],
        targets: Sequence[dict[str, torch.Tensor]] | None = None,
    ) -> dict[str, torch.Tensor] | list[dict[str, torch.Tensor]]:
        """Detect objects (evaluation) or return the five losses (training).

        ``images`` is a list of ``(3, H_i, W_i)`` float tensors in ``[0, 1]``; ``targets``,
        required in training, one dict per image with ``boxes`` ``(M_i, 4)``, ``labels``
        ``(M_i,)`` int64 and ``masks`` ``(M_i, H_i, W_i)`` uint8. Evaluation returns one
        dict per image with ``boxes`` ``(D_i, 4)``, ``labels``, ``scores`` and ``masks``
        ``(D_i, 1, H_i, W_i)`` probabilities (binarise at 0.5).
        """
        self._check_inputs(images, targets)
        original_sizes = [(int(img.shape[-2]), int(img.shape[-1])) for img in images]
        # 0. normalise, resize, pad: list of (3, H_i, W_i) -> batch.tensors (N, 3, H, W)
        batch, targets = self.transform(images, targets)
        # 1. backbone: named maps (N, C, H / s, W / s), s = 4 ... 64 with FPN, 16 for C4
        features = self.backbone(batch.tensors)
        if isinstance(features, torch.Tensor):
            features = {"0": features}
        # 2. RPN: per image, proposals (P_i, 4); in training its two losses
        proposals, rpn_losses = self.rpn(batch, features, targets)
        # 3. heads: per image, boxes (D_i, 4), labels, scores, masks (D_i, 1, M, M)
        detections, head_losses = self.roi_heads(features, proposals, batch.image_sizes,
                                                 targets)
        if self.training:
            return {**head_losses, **rpn_losses}
        # 4. back to the original images: boxes rescaled, masks pasted (D_i, 1, H_i, W_i)
        return self.transform.postprocess(detections, batch.image_sizes, original_sizes)


# ---------------------------------------------------------------------- builders
def maskrcnn_resnet50_fpn(
    *,
    weights: None = None,
    progress: bool = True,
    num_classes: int | None = None,
    weights_backbone: None = None,
    trainable_backbone_layers: int | None = None,
    **kwargs: Any,
) -> MaskRCNN:
    """Mask R-CNN with a ResNet-50-FPN backbone, torchvision's ``maskrcnn_resnet50_fpn``.

    Parameters
    ----------
    weights, weights_backbone : None
        Must be ``None``: nothing is downloaded (see :func:`load_torchvision_state_dict`).
    progress : bool
        Unused (torchvision's download bar).
    num_classes : int or None
        Classes including the background; ``None`` is COCO's 91.
    trainable_backbone_layers : int or None
        As torchvision without pretrained weights: every stage trains and batch norms are
        ordinary ``nn.BatchNorm2d``; a value other than ``None`` warns and is replaced by 5.
    **kwargs
        :class:`MaskRCNN`'s keyword arguments (sizes, thresholds, modules).

    Its ``state_dict`` has the keys of torchvision's model built with the same arguments.

    >>> model = maskrcnn_resnet50_fpn(num_classes=3, min_size=64, max_size=96,
    ...                               rpn_post_nms_top_n_test=10).eval()
    >>> out = model([torch.rand(3, 60, 80)])
    >>> sorted(out[0]), out[0]["masks"].shape[1:]
    (['boxes', 'labels', 'masks', 'scores'], torch.Size([1, 60, 80]))
    """
    recipe = ("To use torchvision's COCO weights (with internet access, e.g. on Colab), "
              "convert and load them into the course's model: "
              "model = lecturepkg.detection.maskrcnn_resnet50_fpn(); "
              "lecturepkg.detection.load_torchvision_state_dict(model, torchvision.models."
              "detection.maskrcnn_resnet50_fpn(weights='DEFAULT').state_dict())")
    for name, value in [("weights", weights), ("weights_backbone", weights_backbone)]:
        check_no_weights("maskrcnn_resnet50_fpn", value, progress, name=name, recipe=recipe)
    if num_classes is None:
        num_classes = 91
    if trainable_backbone_layers is not None:
        warnings.warn("trainable_backbone_layers has no effect without pretrained weights "
                      "(as in torchvision): every layer is trainable", stacklevel=2)
    backbone = resnets.resnet50(norm_layer=nn.BatchNorm2d)
    backbone = resnet_fpn_extractor(backbone, trainable_layers=5)
    return MaskRCNN(backbone, num_classes=num_classes, **kwargs)


def _old_mask_head_keys(key: str) -> str:
    """Rename an old mask-head key ``mask_fcn<i>.<p>`` (torchvision < 0.13) to ``<i-1>.0.<p>``."""
    head, sep, rest = key.partition("mask_head.mask_fcn")
    if not sep:
        return key
    index, _, param = rest.partition(".")
    return f"{head}mask_head.{int(index) - 1}.0.{param}"


def load_torchvision_state_dict(model: nn.Module, state_dict: Mapping[str, torch.Tensor]
                                ) -> list[str]:
    """Load the weights of a torchvision Mask R-CNN into the course's model.

    When the keys are the model's (a model built with the same arguments), this is
    ``model.load_state_dict(state_dict, strict=True)``. Otherwise the dict is converted
    first, with three documented changes, and then loaded strictly:

    * the mask head's old keys ``mask_fcn1`` to ``mask_fcn4`` (torchvision's checkpoints
      before version 0.13) become ``0.0`` to ``3.0``;
    * a batch norm's ``num_batches_tracked`` is dropped where the model's norm layer is a
      :class:`~lecturepkg.detection.backbone.FrozenBatchNorm2d`;
    * and added (as 0) where the model has an ``nn.BatchNorm2d`` but the dict comes from a
      frozen one.

    Parameters
    ----------
    model : nn.Module
        A :class:`MaskRCNN` (or any module with torchvision's keys).
    state_dict : mapping of str to Tensor
        Such as ``torchvision.models.detection.maskrcnn_resnet50_fpn(...).state_dict()``.

    Returns
    -------
    list of str
        One line per converted key (empty for a strict load).

    Raises
    ------
    ValueError
        If keys are still missing or unexpected after the conversion (both are listed).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"state_dict must be a mapping of str to Tensor, got "
                        f"{type(state_dict).__name__}")
    wanted = model.state_dict()
    converted, changes = {}, []
    for key, value in state_dict.items():
        new = _old_mask_head_keys(key)
        if new != key:
            changes.append(f"renamed {key} -> {new}")
        if new.endswith("num_batches_tracked") and new not in wanted:
            changes.append(f"dropped {key}")
            continue
        converted[new] = value
    for key in wanted:
        if key.endswith("num_batches_tracked") and key not in converted:
            converted[key] = torch.zeros((), dtype=torch.long)
            changes.append(f"added {key} = 0")
    missing = [k for k in wanted if k not in converted]
    unexpected = [k for k in converted if k not in wanted]
    if missing or unexpected:
        raise ValueError(
            f"state_dict does not fit the model: {len(missing)} missing keys "
            f"{missing[:5]}{' ...' if len(missing) > 5 else ''} and {len(unexpected)} "
            f"unexpected keys {unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}; build "
            f"the model with the arguments (num_classes, heads) of the one saved")
    model.load_state_dict(converted, strict=True)
    return changes


# ---------------------------------------------------------------------- the paper's C4 model
class Res5Head(nn.Module):
    """ResNet-50's fifth stage run on pooled regions, the paper's C4 box head.

    He et al. 2017, Figure 4 (left): a ``(R, 1024, 7, 7)`` RoI goes through ``res5`` (three
    bottleneck blocks, the first with stride 1 instead of 2, so the RoI stays 7x7) to
    ``(R, 2048, 7, 7)`` and is average pooled into ``(R, 2048)`` for the class and box
    predictor. The mask branch uses the same ``res5`` module (the attribute ``res5``).

    Parameters
    ----------
    in_channels : int
        Channels of the pooled ``C4`` regions (1024).
    norm_layer : callable or None
        Norm layer of the blocks; ``None`` is ``nn.BatchNorm2d``.
    """

    def __init__(self, in_channels: int = 1024, norm_layer=None) -> None:
        super().__init__()
        in_channels = check_int("in_channels", in_channels, minimum=1)
        norm_layer = nn.BatchNorm2d if norm_layer is None else norm_layer
        width, out = 512, 512 * Bottleneck.expansion  # 512 inside, 2048 out
        shortcut = projection_shortcut(in_channels, out, stride=1, norm_layer=norm_layer)
        self.res5 = nn.Sequential(
            Bottleneck(in_channels, width, stride=1, downsample=shortcut, norm_layer=norm_layer),
            Bottleneck(out, width, norm_layer=norm_layer),
            Bottleneck(out, width, norm_layer=norm_layer),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.out_channels = out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.res5(x)  # (R, 1024, 7, 7) -> (R, 2048, 7, 7)
        return self.pool(x).flatten(1)  # (R, 2048)


def maskrcnn_resnet50_c4(
    *,
    weights: None = None,
    progress: bool = True,
    num_classes: int = 81,
    norm_layer=None,
    **kwargs: Any,
) -> MaskRCNN:
    """The paper's Mask R-CNN with a ResNet-50-C4 backbone (He et al. 2017, Figure 4 left).

    * **Backbone**: ResNet-50's stem and stages ``res2`` to ``res4``; one map ``C4``,
      ``(N, 1024, H / 16, W / 16)``.
    * **RPN** on ``C4`` with ``k = 15`` anchors per position, sizes 32 to 512 times ratios
      1:2, 1:1, 2:1, as Detectron's C4 models (Ren et al. 2015 used 9; one map must cover
      all object sizes, hence the five sizes).
    * **RoIAlign** 7x7 on ``C4``: ``(R, 1024, 7, 7)``.
    * **Box branch**: :class:`Res5Head` to ``(R, 2048, 7, 7)``, average pooling to
      ``(R, 2048)``, then ``K + 1`` class logits and ``4 (K + 1)`` offsets. (The lecture
      notes' "dense layer of size 2048" is this pooled 2048-vector.)
    * **Mask branch**: the *same* ``res5`` on the detections' RoIs, a 2x2 stride-2 transposed
      convolution to ``(R, 256, 14, 14)`` and a 1x1 convolution to ``(R, K + 1, 14, 14)``;
      channel 0 (background) is never used, so the ``K`` masks have ``K m^2`` outputs,
      80 x 14 x 14 for COCO.

    Parameters
    ----------
    weights : None
        Must be ``None``.
    progress : bool
        Unused.
    num_classes : int
        Classes including the background (COCO's 80 + 1).
    norm_layer : callable or None
        Of the whole ResNet; ``None`` is ``nn.BatchNorm2d`` (no pretrained statistics).
    **kwargs
        :class:`MaskRCNN`'s keyword arguments (sizes and thresholds).
    """
    check_no_weights("maskrcnn_resnet50_c4", weights, progress, recipe=(
        "torchvision has no C4 Mask R-CNN to load weights from: this model starts from "
        "its random initialisation"))
    norm_layer = nn.BatchNorm2d if norm_layer is None else norm_layer
    backbone = IntermediateLayers(resnets.resnet50(norm_layer=norm_layer), {"layer3": "0"})
    backbone.out_channels = 1024
    anchors = AnchorGenerator(((32, 64, 128, 256, 512),), ((0.5, 1.0, 2.0),))
    box_head = Res5Head(1024, norm_layer)
    return MaskRCNN(
        backbone, num_classes=None,
        rpn_anchor_generator=anchors, rpn_head=RPNHead(1024, 15),
        box_roi_pool=MultiScaleRoIAlign(["0"], output_size=7, sampling_ratio=2),
        box_head=box_head, box_predictor=FastRCNNPredictor(2048, num_classes),
        mask_roi_pool=MultiScaleRoIAlign(["0"], output_size=7, sampling_ratio=2),
        mask_head=box_head.res5, mask_predictor=MaskRCNNPredictor(2048, 256, num_classes),
        **kwargs)
