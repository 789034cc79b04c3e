"""Mask R-CNN from scratch: box operations, RoI pooling, and the model built on them.

Each operation has the name, signature and results of its torchvision counterpart
(``torchvision.ops``, ``torchvision.models.detection``) and is tested against it on random
inputs, forward and backward. The argument checks the modules share live in the private
module ``_args``.

The modules are named after their concept and never after a name they export
(``suppression`` holds ``nms``, ``multiscale`` holds ``MultiScaleRoIAlign``), so that
``lecturepkg.detection.nms`` is always the function.
"""

from lecturepkg.detection.anchors import AnchorGenerator, anchor_count
from lecturepkg.detection.backbone import (
    BackboneWithFPN, FrozenBatchNorm2d, IntermediateLayers, resnet_fpn_backbone,
    resnet_fpn_extractor, tiny_resnet_fpn_backbone,
)
from lecturepkg.detection.box_coder import BoxCoder
from lecturepkg.detection.boxes import (
    box_area, box_convert, box_iou, clip_boxes_to_image, remove_small_boxes,
)
from lecturepkg.detection.checkpoint import (
    load_checkpoint, load_pretrained_shapes, load_weights, save_checkpoint, save_weights,
)
from lecturepkg.detection.coco_eval import (
    CocoEvaluation, box_iou_xywh, coco_evaluate, interpolated_precision, mask_iou,
    match_detections, rle_decode, rle_encode,
)
from lecturepkg.detection.configs import GPU, TINY, CONFIGS, TrainConfig, build_model, get_config
from lecturepkg.detection.fpn import ExtraFPNBlock, FeaturePyramidNetwork, LastLevelMaxPool
from lecturepkg.detection.mask_rcnn import (
    MaskRCNN, Res5Head, load_torchvision_state_dict, maskrcnn_resnet50_c4, maskrcnn_resnet50_fpn,
)
from lecturepkg.detection.masks import paste_masks_in_image
from lecturepkg.detection.matcher import Matcher
from lecturepkg.detection.multiscale import MultiScaleRoIAlign, fpn_levels, infer_scale
from lecturepkg.detection.roi_ops import bilinear_sample, roi_align, roi_pool
from lecturepkg.detection.roi_heads import (
    FastRCNNPredictor, MaskRCNNHeads, MaskRCNNPredictor, RoIHeads, TwoMLPHead, fastrcnn_loss,
    maskrcnn_loss, project_masks_on_boxes,
)
from lecturepkg.detection.rpn import RegionProposalNetwork, RPNHead, concat_box_prediction_layers
from lecturepkg.detection.sampler import BalancedPositiveNegativeSampler
from lecturepkg.detection.shapes import (
    SHAPE_CLASSES, Shape, ShapesDataset, collate_detections, draw_shapes, random_shapes, to_coco,
    to_coco_results,
)
from lecturepkg.detection.suppression import batched_nms, nms
from lecturepkg.detection.transform import GeneralizedRCNNTransform, ImageList, resize_boxes

__all__: list[str] = [
    # box operations and RoI pooling (torchvision.ops)
    "box_area", "box_convert", "box_iou", "clip_boxes_to_image", "remove_small_boxes",
    "nms", "batched_nms", "roi_pool", "roi_align", "bilinear_sample",
    "MultiScaleRoIAlign", "fpn_levels", "infer_scale",
    "ExtraFPNBlock", "LastLevelMaxPool", "FeaturePyramidNetwork",
    "FrozenBatchNorm2d", "IntermediateLayers", "BackboneWithFPN", "resnet_fpn_extractor",
    "resnet_fpn_backbone", "tiny_resnet_fpn_backbone",
    # anchors, box coding, matching, sampling (torchvision.models.detection's _utils)
    "AnchorGenerator", "anchor_count", "BoxCoder", "Matcher", "BalancedPositiveNegativeSampler",
    # region proposal network (torchvision.models.detection.rpn)
    "RPNHead", "concat_box_prediction_layers", "RegionProposalNetwork",
    # box and mask heads (torchvision.models.detection.roi_heads)
    "TwoMLPHead", "FastRCNNPredictor", "MaskRCNNHeads", "MaskRCNNPredictor",
    "fastrcnn_loss", "project_masks_on_boxes", "maskrcnn_loss", "RoIHeads",
    # the whole model: transform, mask pasting, Mask R-CNN (torchvision.models.detection)
    "ImageList", "resize_boxes", "GeneralizedRCNNTransform", "paste_masks_in_image",
    "MaskRCNN", "maskrcnn_resnet50_fpn", "load_torchvision_state_dict", "Res5Head",
    "maskrcnn_resnet50_c4",
    # data: synthetic shapes and COCO's format (shapes); COCO-style AP (coco_eval)
    "SHAPE_CLASSES", "Shape", "ShapesDataset", "random_shapes", "draw_shapes",
    "collate_detections", "to_coco", "to_coco_results",
    "rle_encode", "rle_decode", "box_iou_xywh", "mask_iou", "match_detections",
    "interpolated_precision", "coco_evaluate", "CocoEvaluation",
    # training on the shapes: configurations, the loop, checkpoints (configs, train, checkpoint)
    "TrainConfig", "TINY", "GPU", "CONFIGS", "get_config", "build_model",
    "LOSS_NAMES", "TrainResult", "train_mask_rcnn", "evaluate_detector", "shapes_data",
    "save_checkpoint", "load_checkpoint", "save_weights", "load_weights",
    "load_pretrained_shapes",
]


# The training module is also a command (``python -m lecturepkg.detection.train``). Importing
# it here eagerly would make runpy find it already imported when the command starts (and warn
# that it runs twice), so its names are loaded on first use instead.
_TRAIN_NAMES = ("LOSS_NAMES", "TrainResult", "evaluate_detector", "shapes_data", "train_mask_rcnn")


def __getattr__(name: str):
    if name in _TRAIN_NAMES:
        from lecturepkg.detection import train

        return getattr(train, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_TRAIN_NAMES))
