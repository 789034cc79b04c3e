"""Region proposal network of lecturepkg.detection against torchvision's.

Oracle: ``torchvision.models.detection.rpn`` (``RPNHead``, ``concat_box_prediction_layers``,
``RegionProposalNetwork``) with torchvision's own ``AnchorGenerator``. The course's RPN is
built from the course's anchor generator, box coder, matcher, sampler and box operations; it
loads the ``state_dict`` of torchvision's RPN strictly, and on the same random images, feature
maps and ground-truth boxes both must give the same proposals (eval mode) and the same losses
and gradients (train mode, under the same torch seed: the balanced sampler is random, and both
draw their permutations in the same order).

The head's weights are randomised with a larger spread than the initial N(0, 0.01^2), so that
objectness scores and box offsets differ enough between anchors for the top-n selection, the
clipping, the size filter and the NMS to all matter.
"""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
import torchvision
from torchvision.models.detection import anchor_utils as tv_anchor_utils
from torchvision.models.detection import rpn as tv_rpn
from torchvision.models.detection.image_list import ImageList

from lecturepkg.detection import anchors as our_anchors
from lecturepkg.detection import rpn as our_rpn


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def randomise_(module: torch.nn.Module, std: float = 0.3) -> torch.nn.Module:
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0.0, std)
    return module


SIZES = ((16,), (32,), (64,))
RATIOS = ((0.5, 1.0, 2.0),) * 3


def make_pair(channels=8, conv_depth=1, sizes=SIZES, ratios=RATIOS, **kwargs):
    """torchvision's RPN with random head weights, and the course's with the same weights."""
    settings = dict(fg_iou_thresh=0.7, bg_iou_thresh=0.3, batch_size_per_image=64,
                    positive_fraction=0.5, pre_nms_top_n=dict(training=200, testing=100),
                    post_nms_top_n=dict(training=150, testing=60), nms_thresh=0.7)
    settings.update(kwargs)
    k = len(ratios[0]) * len(sizes[0])
    theirs = tv_rpn.RegionProposalNetwork(
        tv_anchor_utils.AnchorGenerator(sizes, ratios),
        tv_rpn.RPNHead(channels, k, conv_depth=conv_depth), **settings)
    ours = our_rpn.RegionProposalNetwork(
        our_anchors.AnchorGenerator(sizes, ratios),
        our_rpn.RPNHead(channels, k, conv_depth=conv_depth), **settings)
    randomise_(theirs)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    return ours, theirs


def make_inputs(n=2, channels=8, size=(96, 128), levels=3, image_sizes=None):
    h, w = size
    images = ImageList(torch.randn(n, 3, h, w),
                       image_sizes or [(h - 8 * i, w - 16 * i) for i in range(n)])
    features = OrderedDict(
        (str(level), torch.randn(n, channels, h // 2 ** (level + 2), w // 2 ** (level + 2)))
        for level in range(levels))
    return images, features


def random_targets(image_sizes, boxes_per_image=(3, 5)):
    targets = []
    for (h, w), m in zip(image_sizes, boxes_per_image):
        xy = torch.rand(m, 2) * torch.tensor([w * 0.7, h * 0.7])
        wh = 8 + torch.rand(m, 2) * torch.tensor([w * 0.3, h * 0.3])
        targets.append({"boxes": torch.cat([xy, xy + wh], dim=1)})
    return targets


def assert_same_proposals(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b)


# ---------------------------------------------------------------- RPNHead


@pytest.mark.parametrize("conv_depth", [1, 2])
def test_head_equals_torchvisions_forward_and_backward(conv_depth):
    theirs = randomise_(tv_rpn.RPNHead(6, 3, conv_depth=conv_depth))
    ours = our_rpn.RPNHead(6, 3, conv_depth=conv_depth)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = [torch.randn(2, 6, 9, 7, requires_grad=True), torch.randn(2, 6, 5, 4)]
    (lo, do), (lt, dt) = ours(x), theirs(x)
    for a, b in zip(lo + do, lt + dt):
        torch.testing.assert_close(a, b)
    weights = [torch.randn_like(t) for t in lo + do]
    g_ours = torch.autograd.grad(sum((t * w).sum() for t, w in zip(lo + do, weights)),
                                 [x[0]] + list(ours.parameters()))
    g_theirs = torch.autograd.grad(sum((t * w).sum() for t, w in zip(lt + dt, weights)),
                                   [x[0]] + list(theirs.parameters()))
    for a, b in zip(g_ours, g_theirs):
        torch.testing.assert_close(a, b)


def test_head_initialisation_is_the_papers():
    head = our_rpn.RPNHead(64, 9)
    for conv in (head.conv[0][0], head.cls_logits, head.bbox_pred):
        assert abs(conv.weight.std().item() - 0.01) < 0.002
        assert torch.all(conv.bias == 0)


def test_concat_box_prediction_layers_equals_torchvisions():
    cls = [torch.randn(2, 3, 5, 4), torch.randn(2, 3, 2, 3)]
    reg = [torch.randn(2, 12, 5, 4), torch.randn(2, 12, 2, 3)]
    for a, b in zip(our_rpn.concat_box_prediction_layers(cls, reg),
                    tv_rpn.concat_box_prediction_layers(cls, reg)):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b)
    # two classes per anchor (the layout of a RetinaNet-style head)
    cls2 = [torch.randn(2, 6, 5, 4)]
    for a, b in zip(our_rpn.concat_box_prediction_layers(cls2, reg[:1]),
                    tv_rpn.concat_box_prediction_layers(cls2, reg[:1])):
        torch.testing.assert_close(a, b)


# ---------------------------------------------------------------- proposals


@pytest.mark.parametrize("score_quantile", [None, 0.995])
def test_eval_proposals_equal_torchvisions(score_quantile):
    ours, theirs = make_pair()
    ours.eval(), theirs.eval()
    images, features = make_inputs()
    if score_quantile is not None:
        # a threshold that only the best 0.5% of the anchors pass
        logits = torch.cat([t.flatten() for t in ours.head(list(features.values()))[0]])
        threshold = torch.sigmoid(logits).quantile(score_quantile).item()
        ours.score_thresh = theirs.score_thresh = threshold
    (boxes_ours, losses_ours), (boxes_theirs, losses_theirs) = (
        ours(images, features), theirs(images, features))
    assert losses_ours == losses_theirs == {}
    assert_same_proposals(boxes_ours, boxes_theirs)
    # the selection did something: at most post_nms_top_n (60) proposals, fewer with the
    # threshold, and every proposal inside its (unpadded) image
    counts = [len(b) for b in boxes_ours]
    assert all(0 < n <= 60 for n in counts)
    assert (sum(counts) < 60) == (score_quantile is not None)
    for b, (h, w) in zip(boxes_ours, images.image_sizes):
        assert b[:, 0::2].max() <= w and b[:, 1::2].max() <= h and b.min() >= 0


def test_proposals_of_torchvisions_mask_rcnn_rpn_are_equal():
    """The RPN of maskrcnn_resnet50_fpn: five levels, sizes 32 to 512, 2000/1000 top-n."""
    tv_model = torchvision.models.detection.maskrcnn_resnet50_fpn(
        weights=None, weights_backbone=None, num_classes=3)
    theirs = tv_model.rpn.eval()
    randomise_(theirs.head, std=0.05)
    generator = theirs.anchor_generator
    ours = our_rpn.RegionProposalNetwork(
        our_anchors.AnchorGenerator(generator.sizes, generator.aspect_ratios),
        our_rpn.RPNHead(256, 3), fg_iou_thresh=0.7, bg_iou_thresh=0.3,
        batch_size_per_image=256, positive_fraction=0.5,
        pre_nms_top_n=theirs._pre_nms_top_n, post_nms_top_n=theirs._post_nms_top_n,
        nms_thresh=0.7).eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    images, features = make_inputs(n=1, channels=256, size=(160, 224), levels=5,
                                   image_sizes=[(150, 200)])
    # 1000 proposals out of 40,000 anchors: in float32 some objectness probabilities are
    # exactly equal, and the order of equal scores after NMS is not specified (it differs
    # between sorting algorithms), so this comparison runs in float64, where they are not
    ours.double(), theirs.double()
    features = OrderedDict((k, v.double()) for k, v in features.items())
    boxes_ours, boxes_theirs = ours(images, features)[0], theirs(images, features)[0]
    assert boxes_ours[0].dtype == torch.float64 and len(boxes_ours[0]) == 1000
    assert_same_proposals(boxes_ours, boxes_theirs)


# ---------------------------------------------------------------- losses


def test_train_losses_proposals_and_gradients_equal_torchvisions():
    ours, theirs = make_pair()
    ours.train(), theirs.train()
    images, features = make_inputs()
    targets = random_targets(images.image_sizes)
    torch.manual_seed(1)
    boxes_ours, losses_ours = ours(images, features, targets)
    torch.manual_seed(1)
    boxes_theirs, losses_theirs = theirs(images, features, targets)
    assert_same_proposals(boxes_ours, boxes_theirs)
    assert not any(b.requires_grad for b in boxes_ours)  # decoded from detached offsets
    assert sorted(losses_ours) == sorted(losses_theirs) == ["loss_objectness",
                                                            "loss_rpn_box_reg"]
    for key in losses_ours:
        assert losses_ours[key] > 0
        torch.testing.assert_close(losses_ours[key], losses_theirs[key])
    g_ours = torch.autograd.grad(sum(losses_ours.values()), list(ours.parameters()))
    g_theirs = torch.autograd.grad(sum(losses_theirs.values()), list(theirs.parameters()))
    for a, b in zip(g_ours, g_theirs):
        torch.testing.assert_close(a, b)


def test_train_losses_differ_under_another_seed():
    """The sampler is random: the test above holds because both drew the same sample."""
    ours, _ = make_pair()
    ours.train()
    images, features = make_inputs()
    targets = random_targets(images.image_sizes)
    torch.manual_seed(1)
    first = ours(images, features, targets)[1]["loss_objectness"]
    torch.manual_seed(2)
    second = ours(images, features, targets)[1]["loss_objectness"]
    assert not torch.allclose(first, second)


def test_losses_of_an_image_without_boxes_equal_torchvisions():
    ours, theirs = make_pair()
    ours.train(), theirs.train()
    images, features = make_inputs()
    targets = random_targets(images.image_sizes)
    targets[1] = {"boxes": torch.zeros(0, 4)}
    torch.manual_seed(3)
    losses_ours = ours(images, features, targets)[1]
    torch.manual_seed(3)
    losses_theirs = theirs(images, features, targets)[1]
    for key in losses_ours:
        torch.testing.assert_close(losses_ours[key], losses_theirs[key])


def test_compute_loss_normalises_the_box_loss_by_the_sampled_anchors():
    """Computed by hand on a sample that is the whole batch (no randomness)."""
    ours, _ = make_pair(batch_size_per_image=10, positive_fraction=0.5)
    labels = [torch.tensor([1.0, 0.0, -1.0, 1.0, 0.0])]
    objectness = torch.randn(5, 1)
    deltas = torch.randn(5, 4)
    targets = [torch.randn(5, 4)]
    obj_loss, box_loss = ours.compute_loss(objectness, deltas, labels, targets)
    sampled = torch.tensor([0, 1, 3, 4])
    expected_obj = torch.nn.functional.binary_cross_entropy_with_logits(
        objectness[sampled, 0], labels[0][sampled])
    diff = (deltas[[0, 3]] - targets[0][[0, 3]]).abs()
    beta = 1 / 9
    smooth = torch.where(diff < beta, 0.5 * diff ** 2 / beta, diff - 0.5 * beta)
    torch.testing.assert_close(obj_loss, expected_obj)
    torch.testing.assert_close(box_loss, smooth.sum() / 4)


# ---------------------------------------------------------------- bad input


def test_bad_arguments_raise():
    generator = our_anchors.AnchorGenerator(SIZES, RATIOS)
    head = our_rpn.RPNHead(8, 3)
    good = dict(fg_iou_thresh=0.7, bg_iou_thresh=0.3, batch_size_per_image=64,
                positive_fraction=0.5, pre_nms_top_n=dict(training=20, testing=10),
                post_nms_top_n=dict(training=20, testing=10), nms_thresh=0.7)
    with pytest.raises(TypeError, match="anchor_generator"):
        our_rpn.RegionProposalNetwork(None, head, **good)
    with pytest.raises(TypeError, match="head"):
        our_rpn.RegionProposalNetwork(generator, "head", **good)
    with pytest.raises(TypeError, match="pre_nms_top_n"):
        our_rpn.RegionProposalNetwork(generator, head, **{**good, "pre_nms_top_n": 10})
    with pytest.raises(ValueError, match=r"post_nms_top_n\['testing'\]"):
        our_rpn.RegionProposalNetwork(
            generator, head, **{**good, "post_nms_top_n": dict(training=5, testing=0)})
    with pytest.raises(ValueError, match="low_threshold must be <= high_threshold"):
        our_rpn.RegionProposalNetwork(generator, head, **{**good, "bg_iou_thresh": 0.8})
    with pytest.raises(TypeError, match="nms_thresh"):
        our_rpn.RegionProposalNetwork(generator, head, **{**good, "nms_thresh": "0.7"})
    with pytest.raises(TypeError, match="num_anchors"):
        our_rpn.RPNHead(8, 3.0)
    with pytest.raises(ValueError, match="conv_depth"):
        our_rpn.RPNHead(8, 3, conv_depth=0)


def test_bad_inputs_raise():
    ours, _ = make_pair()
    images, features = make_inputs()
    with pytest.raises(TypeError, match="images must have the attributes tensors"):
        ours.eval()(images.tensors, features)
    with pytest.raises(TypeError, match="features must be"):
        ours.eval()(images, list(features.values()))
    with pytest.raises(ValueError, match=r"features\['1'\] must have 2 images"):
        ours.eval()(images, OrderedDict(features, **{"1": features["1"][:1]}))
    with pytest.raises(ValueError, match="image_sizes must hold one"):
        ours.eval()(ImageList(images.tensors, images.image_sizes[:1]), features)
    with pytest.raises(ValueError, match="targets must be given"):
        ours.train()(images, features)
    with pytest.raises(ValueError, match="targets must be a list of 2"):
        ours.train()(images, features, random_targets(images.image_sizes)[:1])
    with pytest.raises(TypeError, match=r"targets\[0\] must be a dict"):
        ours.train()(images, features, [torch.zeros(1, 4)] * 2)
    with pytest.raises(ValueError, match=r"targets\[1\]\['boxes'\] must have shape \(N, 4\)"):
        ours.train()(images, features, [{"boxes": torch.zeros(1, 4)},
                                        {"boxes": torch.zeros(4)}])
    with pytest.raises(ValueError, match=r"x\[0\] must have 8 channels"):
        ours.head([torch.randn(1, 4, 5, 5)])
    with pytest.raises(TypeError, match="x must be a non-empty list"):
        ours.head(torch.randn(1, 8, 5, 5))
    with pytest.raises(ValueError, match=r"box_regression\[0\]"):
        our_rpn.concat_box_prediction_layers([torch.randn(1, 3, 4, 4)],
                                             [torch.randn(1, 10, 4, 4)])
