"""Mask R-CNN of lecturepkg.detection, end to end against torchvision's.

Oracles:

* ``torchvision.models.detection.maskrcnn_resnet50_fpn`` with random weights. Its
  ``state_dict`` is loaded into the course's ``maskrcnn_resnet50_fpn`` (same arguments)
  with ``load_torchvision_state_dict``; in float64 both must give the same boxes, labels,
  scores and pasted masks in evaluation, and the same five losses and gradients in training
  under the same torch seed (the transform's random ``min_size`` and the two balanced
  samplers draw from torch's generator in the same order).
* For the paper's C4 model (He et al. 2017, Figure 4 left), the same architecture assembled
  from torchvision's parts: its ``MaskRCNN`` class on ``IntermediateLayerGetter(resnet50,
  layer3)``, its ``AnchorGenerator``, ``RPNHead``, ``MultiScaleRoIAlign`` and predictors, and
  ``resnet50().layer4`` with the stride of its first block set to 1 as the shared res5
  head; the course's weights load into it and both detect alike. The shapes of the paper
  (7x7x1024 RoIs, 7x7x2048 after res5, K m^2 = 80 x 14 x 14 = 15,680 mask outputs) are read
  from the model's forward pass.

Weights are made less trivial than their initialisation (random biases, a wider RPN head and
class layer, batch-norm statistics measured on the test images) so that scores, proposals
and labels differ from region to region and every stage's sorting and suppression matters.
Images are small (shorter side 160 or less) and proposals few, to keep each test short.
"""

from __future__ import annotations

import inspect
import warnings

import pytest
import torch
import torchvision
from torch import nn
from torchvision.models.detection import mask_rcnn as tv_mask
from torchvision.models.detection import rpn as tv_rpn
from torchvision.models.detection.anchor_utils import AnchorGenerator as TVAnchorGenerator
from torchvision.models.detection.backbone_utils import IntermediateLayerGetter
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor as TVFastRCNNPredictor

from lecturepkg.detection.mask_rcnn import (
    MaskRCNN, Res5Head, load_torchvision_state_dict, maskrcnn_resnet50_c4,
    maskrcnn_resnet50_fpn,
)

DTYPE = torch.float64
K = 3  # classes including the background
EVAL = dict(min_size=128, max_size=192, box_score_thresh=0.0, rpn_pre_nms_top_n_test=200,
            rpn_post_nms_top_n_test=15)  # at most 15 x (K - 1) = 30 detections per image
TRAIN = dict(min_size=(64, 80), max_size=112, rpn_pre_nms_top_n_train=200,
             rpn_post_nms_top_n_train=40, rpn_batch_size_per_image=64,
             box_batch_size_per_image=32, box_positive_fraction=0.5)
LOSSES = {"loss_classifier", "loss_box_reg", "loss_mask", "loss_objectness",
          "loss_rpn_box_reg"}

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def images(sizes=((3, 96, 136), (3, 120, 88))):
    return [torch.rand(*s, dtype=DTYPE) for s in sizes]


def perturb_(model: nn.Module, rpn_std: float = 0.05) -> None:
    """Random biases, a wider RPN head and class layer: non-trivial proposals and scores."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "rpn.head" in name and name.endswith("weight"):
                p.normal_(0.0, rpn_std)
            elif "cls_score.weight" in name:
                p.normal_(0.0, 0.05)
            elif name.endswith("bias") and ("rpn" in name or "roi_heads" in name):
                p.normal_(0.0, 0.3)


def calibrate_batch_norms_(model: nn.Module, batch: list[torch.Tensor]) -> None:
    """Set every batch norm's statistics to those of ``batch`` (one training-mode pass)."""
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for m in norms:
        m.momentum = 1.0
    model.train()
    with torch.no_grad():
        model.backbone(model.transform(batch)[0].tensors)
    for m in norms:
        m.momentum = 0.1


def fpn_pair(batch, **kwargs):
    """torchvision's ResNet-50-FPN Mask R-CNN with random weights; the course's, loaded."""
    theirs = torchvision.models.detection.maskrcnn_resnet50_fpn(
        weights=None, weights_backbone=None, num_classes=K, **kwargs).to(DTYPE)
    perturb_(theirs)
    calibrate_batch_norms_(theirs, batch)
    mine = maskrcnn_resnet50_fpn(num_classes=K, **kwargs).to(DTYPE)
    assert list(mine.state_dict()) == list(theirs.state_dict())
    assert load_torchvision_state_dict(mine, theirs.state_dict()) == []  # a strict load
    return theirs, mine


def assert_same_detections(got, expected, batch, at_least):
    assert len(got) == len(expected)
    for g, e, image in zip(got, expected, batch):
        assert set(g) == set(e) == {"boxes", "labels", "scores", "masks"}
        d = len(e["boxes"])
        assert d >= at_least
        assert e["masks"].shape == (d, 1, *image.shape[-2:])
        torch.testing.assert_close(g["labels"], e["labels"], rtol=0, atol=0)
        for key in ["boxes", "scores", "masks"]:
            torch.testing.assert_close(g[key], e[key], rtol=1e-9, atol=1e-9)


def test_fpn_model_equals_torchvisions_in_evaluation():
    batch = images()
    theirs, mine = fpn_pair(batch, **EVAL)
    theirs.eval(), mine.eval()
    with torch.no_grad():
        expected = theirs(batch)
        got = mine(batch)
    # every detection kept: no score threshold, and fewer than the 100 allowed per image
    assert_same_detections(got, expected, batch, at_least=10)
    assert all(len(e["boxes"]) < 100 for e in expected)
    labels = torch.cat([e["labels"] for e in expected])
    scores = torch.cat([e["scores"] for e in expected])
    assert set(labels.tolist()) == {1, 2}  # both classes detected
    assert scores.max() - scores.min() > 0.1  # scores spread, not all equal
    non_empty = sum(int(((e["masks"] >= 0.5).flatten(1).sum(1) > 0).sum()) for e in expected)
    assert non_empty >= 10  # binary masks with pixels


def targets_for(batch, n=(3, 2)):
    out = []
    for image, m in zip(batch, n):
        h, w = image.shape[-2:]
        xy = torch.rand(m, 2, dtype=DTYPE) * torch.tensor([w / 2, h / 2], dtype=DTYPE)
        wh = 10 + torch.rand(m, 2, dtype=DTYPE) * torch.tensor([w / 2, h / 2], dtype=DTYPE)
        boxes = torch.cat([xy, xy + wh], dim=1)
        masks = torch.zeros(m, h, w, dtype=torch.uint8)
        for i, (x1, y1, x2, y2) in enumerate(boxes.round().long().tolist()):
            x2, y2 = min(x2, w), min(y2, h)
            masks[i, y1:y2, x1:x2] = (torch.rand(y2 - y1, x2 - x1) > 0.3).to(torch.uint8)
        out.append({"boxes": boxes, "labels": torch.randint(1, K, (m,)), "masks": masks})
    return out


def clone(targets):
    return [{k: v.clone() for k, v in t.items()} for t in targets]


def test_fpn_model_equals_torchvisions_in_training():
    batch = images(((3, 60, 80), (3, 70, 50)))
    theirs, mine = fpn_pair(batch, **TRAIN)
    theirs.train(), mine.train()
    targets = targets_for(batch)
    torch.manual_seed(5)
    expected = theirs(batch, clone(targets))
    torch.manual_seed(5)
    got = mine(batch, clone(targets))
    assert list(got) == list(expected) and set(got) == LOSSES
    for key in expected:
        torch.testing.assert_close(got[key], expected[key], rtol=1e-9, atol=1e-12)
        assert expected[key].item() > 0
    params_t = [p for p in theirs.parameters() if p.requires_grad]
    params_m = [p for p in mine.parameters() if p.requires_grad]
    assert len(params_t) == len(params_m)
    grads_t = torch.autograd.grad(sum(expected.values()), params_t)
    grads_m = torch.autograd.grad(sum(got.values()), params_m)
    for a, b in zip(grads_t, grads_m):
        torch.testing.assert_close(b, a, rtol=1e-7, atol=1e-10)
    assert sum(g.abs().sum() for g in grads_t[:3]) > 0  # the stem learns too


class TinyBackbone(nn.Sequential):
    """Two strided convolutions: one (N, 8, H / 4, W / 4) map, returned as a tensor."""

    out_channels = 8

    def __init__(self):
        super().__init__(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(),
                         nn.Conv2d(8, 8, 3, stride=2, padding=1))


def tiny_parts(lib_anchor, lib_rpn, lib_pool, lib_box, lib_mask):
    return dict(rpn_anchor_generator=lib_anchor(((16, 32),), ((0.5, 1.0, 2.0),)),
                rpn_head=lib_rpn.RPNHead(8, 6),
                box_roi_pool=lib_pool(["0"], 7, 2),
                box_head=lib_box.TwoMLPHead(8 * 49, 32),
                box_predictor=lib_box.FastRCNNPredictor(32, K),
                mask_roi_pool=lib_pool(["0"], 14, 2),
                mask_head=lib_mask.MaskRCNNHeads(8, [16, 16], 1),
                mask_predictor=lib_mask.MaskRCNNPredictor(16, 16, K))


def test_a_backbone_returning_one_tensor_equals_torchvisions():
    from lecturepkg.detection import roi_heads as our_heads
    from lecturepkg.detection import rpn as our_rpn
    from lecturepkg.detection.anchors import AnchorGenerator
    from lecturepkg.detection.multiscale import MultiScaleRoIAlign
    from torchvision.models.detection import faster_rcnn as tv_faster

    kwargs = dict(min_size=64, max_size=96, box_score_thresh=0.0,
                  rpn_batch_size_per_image=32, box_batch_size_per_image=16)
    theirs = tv_mask.MaskRCNN(TinyBackbone(), **kwargs, **tiny_parts(
        TVAnchorGenerator, tv_rpn, torchvision.ops.MultiScaleRoIAlign, tv_faster, tv_mask))
    mine = MaskRCNN(TinyBackbone(), **kwargs, **tiny_parts(
        AnchorGenerator, our_rpn, MultiScaleRoIAlign, our_heads, our_heads))
    theirs.to(DTYPE), mine.to(DTYPE)
    perturb_(theirs, rpn_std=0.2)
    assert load_torchvision_state_dict(mine, theirs.state_dict()) == []
    # both resized to 64 x 96, a multiple of 32: no zero padding, whose identical features
    # would give proposals with exactly equal scores, ordered arbitrarily by either sort
    batch = images(((3, 48, 72), (3, 64, 96)))
    with torch.no_grad():
        expected = theirs.eval()(batch)
        got = mine.eval()(batch)
    assert_same_detections(got, expected, batch, at_least=10)
    targets = targets_for(batch)
    no_objects = {"boxes": torch.zeros(0, 4, dtype=DTYPE),
                  "labels": torch.zeros(0, dtype=torch.int64),
                  "masks": torch.zeros(0, 64, 96, dtype=torch.uint8)}
    for targets in [targets, [targets[0], no_objects]]:  # an image without objects too
        torch.manual_seed(2)
        expected = theirs.train()(batch, clone(targets))
        torch.manual_seed(2)
        got = mine.train()(batch, clone(targets))
        assert set(got) == LOSSES
        for key in expected:
            torch.testing.assert_close(got[key], expected[key], rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------- the paper's C4 model
def torchvision_c4(num_classes: int, **kwargs) -> nn.Module:
    """The C4 architecture assembled from torchvision's parts (the oracle)."""
    resnet = torchvision.models.resnet50()
    body = IntermediateLayerGetter(resnet, {"layer3": "0"})
    body.out_channels = 1024
    res5 = resnet.layer4
    res5[0].conv2.stride = (1, 1)  # torchvision strides the 3x3 convolution
    res5[0].downsample[0].stride = (1, 1)

    class BoxHead(nn.Module):  # res5, then average pooling: (R, 2048)
        def __init__(self):
            super().__init__()
            self.res5, self.pool = res5, nn.AdaptiveAvgPool2d(1)

        def forward(self, x):
            return self.pool(self.res5(x)).flatten(1)

    return tv_mask.MaskRCNN(
        body, num_classes=None,
        rpn_anchor_generator=TVAnchorGenerator(((32, 64, 128, 256, 512),), ((0.5, 1.0, 2.0),)),
        rpn_head=tv_rpn.RPNHead(1024, 15),
        box_roi_pool=torchvision.ops.MultiScaleRoIAlign(["0"], 7, 2), box_head=BoxHead(),
        box_predictor=TVFastRCNNPredictor(2048, num_classes),
        mask_roi_pool=torchvision.ops.MultiScaleRoIAlign(["0"], 7, 2), mask_head=res5,
        mask_predictor=tv_mask.MaskRCNNPredictor(2048, 256, num_classes), **kwargs)


C4_EVAL = dict(min_size=96, max_size=160, box_score_thresh=0.0, rpn_pre_nms_top_n_test=100,
               rpn_post_nms_top_n_test=8, box_detections_per_img=5)


def test_c4_model_equals_the_same_architecture_built_from_torchvisions_parts():
    batch = images(((3, 80, 100), (3, 90, 70)))
    mine = maskrcnn_resnet50_c4(num_classes=K, **C4_EVAL).to(DTYPE)
    perturb_(mine, rpn_std=0.01)
    calibrate_batch_norms_(mine, batch)
    theirs = torchvision_c4(K, **C4_EVAL).to(DTYPE)
    assert list(theirs.state_dict()) == list(mine.state_dict())
    theirs.load_state_dict(mine.state_dict(), strict=True)
    # one res5 module serves both branches
    assert mine.roi_heads.mask_head is mine.roi_heads.box_head.res5
    theirs.eval(), mine.eval()
    with torch.no_grad():
        expected = theirs(batch)
        got = mine(batch)
    assert_same_detections(got, expected, batch, at_least=C4_EVAL["box_detections_per_img"])
    assert torch.cat([e["scores"] for e in expected]).std() > 0.01


def test_c4_model_trains_as_the_same_architecture_built_from_torchvisions_parts():
    kwargs = dict(min_size=64, max_size=96, rpn_pre_nms_top_n_train=100,
                  rpn_post_nms_top_n_train=10, rpn_batch_size_per_image=32,
                  box_batch_size_per_image=4, box_positive_fraction=0.5)
    batch = images(((3, 60, 80), (3, 70, 50)))
    mine = maskrcnn_resnet50_c4(num_classes=K, **kwargs).to(DTYPE)
    perturb_(mine, rpn_std=0.01)
    theirs = torchvision_c4(K, **kwargs).to(DTYPE)
    theirs.load_state_dict(mine.state_dict(), strict=True)
    theirs.train(), mine.train()
    targets = targets_for(batch)
    torch.manual_seed(3)
    expected = theirs(batch, clone(targets))
    torch.manual_seed(3)
    got = mine(batch, clone(targets))
    assert set(got) == set(expected) == LOSSES
    for key in expected:
        torch.testing.assert_close(got[key], expected[key], rtol=1e-9, atol=1e-12)
    # the shared res5 gets the gradients of both branches, equal in both models
    res5_t = list(theirs.roi_heads.box_head.res5.parameters())
    res5_m = list(mine.roi_heads.box_head.res5.parameters())
    for a, b in zip(torch.autograd.grad(sum(expected.values()), res5_t),
                    torch.autograd.grad(sum(got.values()), res5_m)):
        torch.testing.assert_close(b, a, rtol=1e-7, atol=1e-10)


def test_c4_shapes_are_the_papers():
    model = maskrcnn_resnet50_c4(num_classes=81, min_size=64, max_size=64,
                                 rpn_post_nms_top_n_test=3, box_score_thresh=0.0,
                                 box_detections_per_img=2).eval()
    shapes = {}

    def record(name):
        def hook(module, inputs, output):
            outputs = output if isinstance(output, tuple) else (output,)
            shapes.setdefault(name, []).append([tuple(o.shape) for o in outputs])
        return hook

    heads = model.roi_heads
    heads.box_roi_pool.register_forward_hook(record("roi"))
    heads.box_head.res5.register_forward_hook(record("res5"))
    heads.box_head.register_forward_hook(record("box_features"))
    heads.box_predictor.register_forward_hook(record("predictor"))
    heads.mask_predictor.register_forward_hook(record("mask_logits"))
    anchors_per_location = model.rpn.head.cls_logits.out_channels
    with torch.no_grad():
        model([torch.rand(3, 64, 64)])
    (roi,), (res5,), (pooled,) = shapes["roi"][0], shapes["res5"][0], shapes["box_features"][0]
    r = roi[0]
    assert r >= 1
    assert roi == (r, 1024, 7, 7)  # RoIAlign on C4: 7 x 7 x 1024
    assert res5 == (r, 2048, 7, 7)  # res5 with stride 1: 7 x 7 x 2048
    assert pooled == (r, 2048)  # average pooled
    scores, offsets = shapes["predictor"][0]
    assert scores == (r, 81) and offsets == (r, 4 * 81)  # K + 1 classes, 4 offsets each
    ((d, channels, m, m2),) = shapes["mask_logits"][0]
    assert d >= 1
    assert (m, m2) == (14, 14) and channels == 81
    foreground_outputs = (channels - 1) * m * m  # K m^2, background channel unused
    assert foreground_outputs == 15_680  # the paper's K = 80, m = 14
    assert anchors_per_location == 15  # k = 15 anchors per location on C4


def test_res5_head_shapes_and_stride():
    head = Res5Head(1024)
    assert head(torch.randn(2, 1024, 7, 7)).shape == (2, 2048)
    assert head.res5(torch.randn(2, 1024, 7, 7)).shape == (2, 2048, 7, 7)
    with pytest.raises(ValueError, match="in_channels"):
        Res5Head(0)


# ---------------------------------------------------------------------- loading, builders
def test_load_converts_frozen_batch_norms_and_old_mask_keys():
    from lecturepkg.detection.backbone import FrozenBatchNorm2d, resnet_fpn_backbone

    frozen = MaskRCNN(resnet_fpn_backbone(backbone_name="resnet18", trainable_layers=5),
                      num_classes=K)
    state = frozen.state_dict()
    state["roi_heads.mask_head.mask_fcn1.weight"] = state.pop("roi_heads.mask_head.0.0.weight")
    plain = MaskRCNN(resnet_fpn_backbone(backbone_name="resnet18", norm_layer=nn.BatchNorm2d,
                                         trainable_layers=5), num_classes=K)
    changes = load_torchvision_state_dict(plain, state)
    assert "renamed roi_heads.mask_head.mask_fcn1.weight -> roi_heads.mask_head.0.0.weight" \
        in changes
    assert any(c.startswith("added backbone.body.bn1.num_batches_tracked") for c in changes)
    for key, value in frozen.state_dict().items():
        torch.testing.assert_close(plain.state_dict()[key], value)
    # and back: a BatchNorm2d's counters are dropped for a frozen model
    changes = load_torchvision_state_dict(frozen, plain.state_dict())
    assert "dropped backbone.body.bn1.num_batches_tracked" in changes
    assert isinstance(frozen.backbone.body.bn1, FrozenBatchNorm2d)


def test_load_reports_missing_and_unexpected_keys():
    from lecturepkg.detection.backbone import resnet_fpn_backbone

    model = MaskRCNN(resnet_fpn_backbone(backbone_name="resnet18"), num_classes=K)
    state = model.state_dict()
    del state["rpn.head.cls_logits.bias"]
    state["roi_heads.extra.weight"] = torch.zeros(1)
    with pytest.raises(ValueError, match=r"1 missing keys \['rpn.head.cls_logits.bias'\] and "
                                         r"1 unexpected keys \['roi_heads.extra.weight'\]"):
        load_torchvision_state_dict(model, state)
    other = MaskRCNN(resnet_fpn_backbone(backbone_name="resnet18"), num_classes=K + 1)
    with pytest.raises(RuntimeError, match="size mismatch"):
        load_torchvision_state_dict(other, model.state_dict())
    with pytest.raises(TypeError, match="state_dict must be a mapping"):
        load_torchvision_state_dict(model, [1, 2])


def test_builders_take_torchvisions_defaults_and_refuse_weights():
    model = maskrcnn_resnet50_fpn()
    assert model.roi_heads.box_predictor.cls_score.out_features == 91
    assert (model.transform.min_size, model.transform.max_size) == ((800,), 1333)
    assert model.rpn._pre_nms_top_n == {"training": 2000, "testing": 1000}
    assert model.roi_heads.detections_per_img == 100
    assert all(p.requires_grad for p in model.parameters())
    with pytest.raises(ValueError, match="weights must be None.*load_torchvision_state_dict"):
        maskrcnn_resnet50_fpn(weights="DEFAULT")
    with pytest.raises(ValueError, match="weights_backbone must be None"):
        maskrcnn_resnet50_fpn(weights_backbone="IMAGENET1K_V1")
    with pytest.raises(ValueError, match="weights must be None.*torchvision has no C4"):
        maskrcnn_resnet50_c4(weights="DEFAULT")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        maskrcnn_resnet50_fpn(num_classes=K, trainable_backbone_layers=2)
    assert any("trainable_backbone_layers" in str(w.message) for w in caught)


def test_signatures_are_torchvisions():
    """The same keyword arguments in the same order with the same defaults, read from
    torchvision's own signatures (the builder's weights_backbone defaults to None: nothing
    is downloaded)."""
    def parameters(f):
        return [(p.name, p.kind, p.default) for p in inspect.signature(f).parameters.values()]

    assert parameters(MaskRCNN.__init__) == parameters(tv_mask.MaskRCNN.__init__)
    theirs = parameters(tv_mask.maskrcnn_resnet50_fpn)
    theirs = [(n, k, None if n == "weights_backbone" else d) for n, k, d in theirs]
    assert parameters(maskrcnn_resnet50_fpn) == theirs


def test_constructor_arguments_are_checked():
    from lecturepkg.detection.backbone import resnet_fpn_backbone
    from lecturepkg.detection.roi_heads import FastRCNNPredictor

    backbone = resnet_fpn_backbone(backbone_name="resnet18")
    with pytest.raises(TypeError, match="out_channels"):
        MaskRCNN(nn.Identity(), num_classes=K)
    with pytest.raises(ValueError, match="num_classes must be given"):
        MaskRCNN(backbone)
    with pytest.raises(ValueError, match="num_classes must be None when box_predictor"):
        MaskRCNN(backbone, num_classes=K, box_predictor=FastRCNNPredictor(1024, K))
    with pytest.raises(TypeError, match="rpn_head must be None or an nn.Module"):
        MaskRCNN(backbone, num_classes=K, rpn_head="head")


# ---------------------------------------------------------------------- bad inputs
@pytest.fixture(scope="module")
def small_model():
    from lecturepkg.detection.backbone import resnet_fpn_backbone

    torch.manual_seed(0)
    return MaskRCNN(resnet_fpn_backbone(backbone_name="resnet18", trainable_layers=5),
                    num_classes=K, min_size=64, max_size=96)


def test_bad_inputs_raise(small_model):
    model = small_model.train()
    batch = [torch.rand(3, 60, 80), torch.rand(3, 70, 50)]
    targets = [{k: v.float() if v.is_floating_point() else v for k, v in t.items()}
               for t in targets_for(batch)]
    with pytest.raises(ValueError, match="targets must be given in training mode"):
        model(batch)
    with pytest.raises(ValueError, match=r"images\[1\] must be a \(3, H, W\) float tensor"):
        model([batch[0], batch[1][None]], targets)
    with pytest.raises(ValueError, match=r"images\[0\] must be a \(3, H, W\) float tensor"):
        model([(batch[0] * 255).byte(), batch[1]], targets)
    with pytest.raises(TypeError, match="images must be a non-empty list"):
        model(torch.stack([batch[0], batch[0]]), targets)
    with pytest.raises(ValueError, match="targets must be a list of 2 dicts"):
        model(batch, targets[:1])
    bad = clone(targets)
    bad[1]["boxes"][1, 2] = bad[1]["boxes"][1, 0]  # zero width
    with pytest.raises(ValueError, match=r"positive height and width\. Found invalid box "
                                         r"\[.*\] \(box 1\) for target at index 1"):
        model(batch, bad)
    bad = clone(targets)
    bad[0]["labels"] = bad[0]["labels"].int()
    with pytest.raises(ValueError, match=r"targets\[0\]\['labels'\] must be an int64"):
        model(batch, bad)
    bad = clone(targets)
    bad[0]["masks"] = bad[0]["masks"].float()
    with pytest.raises(ValueError, match=r"targets\[0\]\['masks'\] must be a uint8 tensor "
                                         r"of shape \(3, 60, 80\)"):
        model(batch, bad)
    bad = clone(targets)
    bad[0]["boxes"] = bad[0]["boxes"][:, :3]
    with pytest.raises(ValueError, match=r"targets\[0\]\['boxes'\] must be a float tensor"):
        model(batch, bad)
    bad = clone(targets)
    del bad[1]["masks"]
    with pytest.raises(TypeError, match=r"targets\[1\] must be a dict with 'boxes', 'labels' "
                                        r"and 'masks'"):
        model(batch, bad)
    losses = model(batch, targets)  # the valid batch trains
    assert set(losses) == LOSSES
