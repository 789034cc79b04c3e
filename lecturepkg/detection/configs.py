"""Named training configurations of Mask R-CNN on the shapes, and the model each one builds.

A configuration is a frozen dataclass (:class:`TrainConfig`): the data (image size, shapes
per image), the model (backbone, anchors, proposal counts, RoI sample sizes, head widths)
and the schedule (SGD with momentum 0.9 and weight decay 1e-4, a linear warmup, then the
learning rate multiplied by 0.1 at three quarters of the iterations, as in He et al. 2017,
whose 160k iterations drop the rate at 120k). Two are named:

* :data:`TINY` (``"tiny"``): 128 x 128 images, :func:`~lecturepkg.detection.backbone.\
tiny_resnet_fpn_backbone` (16 to 128 channels, a 64-channel pyramid) and small heads,
  a few hundred proposals instead of thousands, 8 images per iteration at a rate of 0.02
  (twice the paper's 0.02 / 16 per image, which the small network trained from scratch
  tolerates); it trains on one CPU thread in about 3 minutes and is the configuration of the
  committed checkpoint (:mod:`lecturepkg.detection.checkpoint`).
* :data:`GPU` (``"gpu"``): 256 x 256 images, chapter 3's ResNet-50 with a 256-channel
  pyramid (:func:`~lecturepkg.detection.backbone.resnet_fpn_backbone`, trained batch norms
  since nothing is pretrained), torchvision's head sizes, 16 images per batch and mixed
  precision. Its target is mask AP50 >= 0.9 on held-out shapes within 10 minutes of one
  GPU; it is a design that has not been run yet (no GPU was available when it was
  written), so treat its numbers as targets, not results.

:func:`build_model` turns a configuration into a
:class:`~lecturepkg.detection.mask_rcnn.MaskRCNN` with ``len(SHAPE_CLASSES)`` = 4 classes
(background, square, circle, triangle); :func:`get_config` looks a configuration up by name
and applies overrides.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from torch import nn

from lecturepkg.detection.anchors import AnchorGenerator
from lecturepkg.detection.backbone import resnet_fpn_backbone, tiny_resnet_fpn_backbone
from lecturepkg.detection.mask_rcnn import MaskRCNN
from lecturepkg.detection.roi_heads import (
    FastRCNNPredictor, MaskRCNNHeads, MaskRCNNPredictor, TwoMLPHead,
)
from lecturepkg.detection.rpn import RPNHead
from lecturepkg.detection.shapes import SHAPE_CLASSES

__all__ = ["TrainConfig", "TINY", "GPU", "CONFIGS", "get_config", "config_from_dict", "lr_factor",
           "build_model"]

BACKBONES = ("tiny", "resnet18", "resnet34", "resnet50")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run of Mask R-CNN on the shapes, but the seed.

    Schedule: ``lr`` is the learning rate of one process with ``batch_size`` images; with
    ``W`` processes (``torchrun --nproc_per_node=W``) each process still takes
    ``batch_size`` images, the batch is ``W * batch_size`` and the rate ``W * lr`` (the
    linear scaling rule of Goyal et al. 2017). The rate rises linearly from
    ``warmup_factor * lr`` to ``lr`` over ``warmup_iterations`` and is multiplied by
    ``lr_gamma`` at each fraction of ``iterations`` in ``lr_steps``.
    """

    #: the name :func:`get_config` knows it by
    name: str
    # ---- data: ShapesDataset(height=width=image_size, num_shapes, size)
    #: side of the square images, also the model's min_size and max_size (no resizing)
    image_size: int = 128
    #: fewest and most shapes drawn per image
    num_shapes: tuple = (1, 4)
    #: range of a shape's half-size, as a fraction of the image side
    shape_size: tuple = (0.08, 0.25)
    #: seed of the held-out images (the training images use the run's seed; they differ)
    eval_seed: int = 1_000_003
    #: held-out images evaluated at the end of training
    eval_images: int = 200
    # ---- model
    #: ``"tiny"`` (tiny_resnet_fpn_backbone) or ``"resnet18"``, ``"resnet34"``, ``"resnet50"``
    backbone: str = "tiny"
    #: channels of the tiny backbone's stages (ignored by the ResNets)
    widths: tuple = (16, 32, 64, 128)
    #: basic blocks per stage of the tiny backbone (ignored by the ResNets)
    blocks: tuple = (1, 1, 1, 1)
    #: channels of the pyramid of the tiny backbone (the ResNets' pyramid has 256)
    fpn_channels: int = 64
    #: anchor size of each pyramid level P2 to P6 (one per level)
    anchor_sizes: tuple = (8, 16, 32, 64, 128)
    #: anchor aspect ratios (height / width), the same on every level
    aspect_ratios: tuple = (0.5, 1.0, 2.0)
    rpn_pre_nms_top_n_train: int = 200
    rpn_post_nms_top_n_train: int = 100
    rpn_pre_nms_top_n_test: int = 200
    rpn_post_nms_top_n_test: int = 100
    #: anchors sampled per image for the RPN's losses (256 in the paper)
    rpn_batch_size_per_image: int = 128
    #: proposals sampled per image for the heads' losses (512 in the paper)
    box_batch_size_per_image: int = 32
    box_detections_per_img: int = 20
    #: width of the two fully connected layers of the box head (1024 in the paper)
    representation_size: int = 128
    #: channels of the four 3x3 convolutions of the mask head (256 each in the paper)
    mask_channels: int = 64
    # ---- optimisation
    iterations: int = 600
    #: images per process and iteration
    batch_size: int = 8
    lr: float = 0.02
    momentum: float = 0.9
    weight_decay: float = 1e-4
    warmup_iterations: int = 100
    warmup_factor: float = 0.001
    #: fractions of ``iterations`` where the rate is multiplied by ``lr_gamma``
    lr_steps: tuple = (0.75,)
    lr_gamma: float = 0.1
    #: mixed precision (float16 autocast and a gradient scaler), used on CUDA only
    amp: bool = False
    # ---- bookkeeping
    #: iterations between two checkpoints of the whole training state
    checkpoint_every: int = 100
    #: iterations averaged into one line of the log
    log_every: int = 10

    def __post_init__(self):
        _check_config(self)

    def lr_at(self, iteration: int) -> float:
        """The learning rate of iteration ``iteration`` (0-based), for one process."""
        return self.lr * lr_factor(self, iteration)

    def as_dict(self) -> dict:
        """The fields as a dict of JSON values (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in dataclasses.asdict(self).items()}


def lr_factor(config: TrainConfig, iteration: int) -> float:
    """Multiplier of ``config.lr`` at iteration ``iteration`` (a linear warmup, then steps)."""
    factor = 1.0
    if iteration < config.warmup_iterations:
        alpha = iteration / config.warmup_iterations
        factor = config.warmup_factor * (1 - alpha) + alpha
    for step in config.lr_steps:
        if iteration >= round(step * config.iterations):
            factor *= config.lr_gamma
    return factor


def _check_config(c: TrainConfig) -> None:
    # exact Python types (not numpy's): the config is saved in checkpoints that load with
    # weights_only=True, which refuses numpy scalars
    def whole(name, value, minimum):
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            kind = "a positive int" if minimum == 1 else f"an int >= {minimum}"
            raise ValueError(f"{name} must be {kind}, got {value!r}")

    def number(name, value, positive):
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not (value > 0 if positive else value >= 0):
            kind = "a positive number" if positive else "a number >= 0"
            raise ValueError(f"{name} must be {kind}, got {value!r}")

    if not isinstance(c.name, str) or not c.name:
        raise ValueError(f"name must be a non-empty str, got {c.name!r}")
    for name in ("image_size", "eval_images", "fpn_channels", "rpn_pre_nms_top_n_train",
                 "rpn_post_nms_top_n_train", "rpn_pre_nms_top_n_test",
                 "rpn_post_nms_top_n_test", "rpn_batch_size_per_image",
                 "box_batch_size_per_image", "box_detections_per_img", "representation_size",
                 "mask_channels", "iterations", "batch_size", "checkpoint_every", "log_every"):
        whole(name, getattr(c, name), 1)
    whole("eval_seed", c.eval_seed, 0)
    whole("warmup_iterations", c.warmup_iterations, 0)
    for name in ("lr", "momentum", "warmup_factor", "lr_gamma"):
        number(name, getattr(c, name), positive=True)
    number("weight_decay", c.weight_decay, positive=False)
    if c.backbone not in BACKBONES:
        raise ValueError(f"backbone must be one of {BACKBONES}, got {c.backbone!r}")
    for name, n in (("num_shapes", 2), ("shape_size", 2), ("widths", 4), ("blocks", 4),
                    ("anchor_sizes", 5)):
        value = getattr(c, name)
        if not isinstance(value, tuple) or len(value) != n:
            raise ValueError(f"{name} must be a tuple of {n} values, got {value!r}")
    if not isinstance(c.aspect_ratios, tuple) or not c.aspect_ratios:
        raise ValueError(f"aspect_ratios must be a non-empty tuple, got {c.aspect_ratios!r}")
    if not isinstance(c.lr_steps, tuple) or not all(0 < s < 1 for s in c.lr_steps):
        raise ValueError(f"lr_steps must be a tuple of fractions in (0, 1), got {c.lr_steps!r}")
    if not isinstance(c.amp, bool):
        raise TypeError(f"amp must be a bool, got {c.amp!r}")


#: The CPU configuration of the committed checkpoint (128-pixel shapes, a tiny backbone).
TINY = TrainConfig(name="tiny")

#: The GPU configuration, untested so far (256-pixel shapes, ResNet-50-FPN, batch 16, AMP).
GPU = TrainConfig(
    name="gpu", image_size=256, eval_images=500, backbone="resnet50", fpn_channels=256,
    anchor_sizes=(16, 32, 64, 128, 256), rpn_pre_nms_top_n_train=2000,
    rpn_post_nms_top_n_train=1000, rpn_pre_nms_top_n_test=1000, rpn_post_nms_top_n_test=500,
    rpn_batch_size_per_image=256, box_batch_size_per_image=256, box_detections_per_img=50,
    representation_size=1024, mask_channels=256, iterations=4000, batch_size=16, lr=0.02,
    warmup_iterations=500, amp=True, checkpoint_every=1000, log_every=20,
)

#: The named configurations.
CONFIGS = {"tiny": TINY, "gpu": GPU}


def get_config(name: str | TrainConfig, **overrides: Any) -> TrainConfig:
    """The configuration called ``name`` (``"tiny"`` or ``"gpu"``) with some fields replaced.

    >>> get_config("tiny", iterations=10).iterations
    10
    """
    if isinstance(name, TrainConfig):
        config = name
    elif isinstance(name, str) and name in CONFIGS:
        config = CONFIGS[name]
    else:
        raise ValueError(f"name must be one of {sorted(CONFIGS)} or a TrainConfig, got {name!r}")
    unknown = set(overrides) - {f.name for f in dataclasses.fields(TrainConfig)}
    if unknown:
        raise ValueError(f"overrides name fields TrainConfig does not have: {sorted(unknown)}")
    overrides = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()}
    return dataclasses.replace(config, **overrides)


def config_from_dict(fields: dict) -> TrainConfig:
    """The configuration whose :meth:`TrainConfig.as_dict` is ``fields``."""
    if not isinstance(fields, dict):
        raise TypeError(f"fields must be a dict, got {type(fields).__name__}")
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = set(fields) - known
    if unknown:
        raise ValueError(f"fields has keys TrainConfig does not have: {sorted(unknown)}")
    return TrainConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})


def build_model(config: TrainConfig) -> MaskRCNN:
    """The Mask R-CNN of ``config``, randomly initialised (seed torch first), in train mode.

    Four classes (background and the three shapes); images are not resized
    (``min_size = max_size = config.image_size``).
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    if config.backbone == "tiny":
        backbone = tiny_resnet_fpn_backbone(widths=config.widths, blocks=config.blocks,
                                            out_channels=config.fpn_channels)
    else:  # from scratch: trained batch norms and every stage trainable
        backbone = resnet_fpn_backbone(backbone_name=config.backbone, norm_layer=nn.BatchNorm2d,
                                       trainable_layers=5)
    channels = backbone.out_channels
    num_classes = len(SHAPE_CLASSES)
    anchors = AnchorGenerator(tuple((s,) for s in config.anchor_sizes),
                              (config.aspect_ratios,) * len(config.anchor_sizes))
    resolution = 7  # box RoIAlign output, MaskRCNN's default box_roi_pool
    return MaskRCNN(
        backbone, num_classes=None,  # the predictors below have the classes
        min_size=config.image_size, max_size=config.image_size,
        rpn_anchor_generator=anchors,
        rpn_head=RPNHead(channels, len(config.aspect_ratios)),
        rpn_pre_nms_top_n_train=config.rpn_pre_nms_top_n_train,
        rpn_post_nms_top_n_train=config.rpn_post_nms_top_n_train,
        rpn_pre_nms_top_n_test=config.rpn_pre_nms_top_n_test,
        rpn_post_nms_top_n_test=config.rpn_post_nms_top_n_test,
        rpn_batch_size_per_image=config.rpn_batch_size_per_image,
        box_head=TwoMLPHead(channels * resolution ** 2, config.representation_size),
        box_predictor=FastRCNNPredictor(config.representation_size, num_classes),
        box_batch_size_per_image=config.box_batch_size_per_image,
        box_detections_per_img=config.box_detections_per_img,
        mask_head=MaskRCNNHeads(channels, (config.mask_channels,) * 4, 1),
        mask_predictor=MaskRCNNPredictor(config.mask_channels, config.mask_channels,
                                         num_classes),
    )
