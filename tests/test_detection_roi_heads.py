"""RoI heads of lecturepkg.detection (box and mask branches) against torchvision's.

Oracle: ``torchvision.models.detection.roi_heads`` (``RoIHeads``, ``fastrcnn_loss``,
``maskrcnn_loss``, ``project_masks_on_boxes``) and the head classes of
``torchvision.models.detection.faster_rcnn`` / ``mask_rcnn``, with torchvision's own
``MultiScaleRoIAlign``. The course's heads load torchvision's ``state_dict`` strictly; on the
same random feature maps, proposals and targets (float64) both must give the same detections
(eval mode) and the same losses and gradients (train mode, under the same torch seed: the
balanced sampler is random and both draw their permutations in the same order).

Weights are randomised with a larger spread than their initialisation so that scores and box
offsets differ enough between regions for the thresholds, the size filter and the per-class
NMS to all matter.
"""

from __future__ import annotations

import pytest
import torch
import torchvision
from torchvision.models.detection import faster_rcnn as tv_faster
from torchvision.models.detection import mask_rcnn as tv_mask
from torchvision.models.detection import roi_heads as tv_roi

from lecturepkg.detection import multiscale as our_multiscale
from lecturepkg.detection import roi_heads as ours

DTYPE = torch.float64
C, NUM_CLASSES, IMAGE = 4, 4, (64, 80)
NAMES = ["0", "1"]


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def randomise_(module: torch.nn.Module, std: float = 0.3) -> torch.nn.Module:
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0.0, std)
    return module


SETTINGS = dict(fg_iou_thresh=0.5, bg_iou_thresh=0.5, batch_size_per_image=32,
                positive_fraction=0.25, bbox_reg_weights=None, score_thresh=0.05,
                nms_thresh=0.5, detections_per_img=30)


def make_pair(with_mask=True, **kwargs):
    """torchvision's RoIHeads with random weights, and the course's with the same weights."""
    settings = dict(SETTINGS)
    settings.update(kwargs)

    def build(lib, head_lib, mask_lib):
        parts = dict(
            box_roi_pool=lib.MultiScaleRoIAlign(NAMES, 7, 2),
            box_head=head_lib.TwoMLPHead(C * 49, 16),
            box_predictor=head_lib.FastRCNNPredictor(16, NUM_CLASSES),
        )
        if with_mask:
            parts.update(mask_roi_pool=lib.MultiScaleRoIAlign(NAMES, 7, 2),
                         mask_head=mask_lib.MaskRCNNHeads(C, [6, 6], 1),
                         mask_predictor=mask_lib.MaskRCNNPredictor(6, 5, NUM_CLASSES))
        return parts

    theirs = tv_roi.RoIHeads(**build(torchvision.ops, tv_faster, tv_mask), **settings)
    mine = ours.RoIHeads(**build(our_multiscale, ours, ours), **settings)
    randomise_(theirs)
    mine.load_state_dict(theirs.state_dict(), strict=True)
    return theirs.to(DTYPE), mine.to(DTYPE)


def random_boxes(n, size=IMAGE, min_side=2.0):
    h, w = size
    xy = torch.rand(n, 2, dtype=DTYPE) * torch.tensor([w - min_side, h - min_side], dtype=DTYPE)
    wh = min_side + torch.rand(n, 2, dtype=DTYPE) * 30
    return torch.cat([xy, torch.minimum(xy + wh, torch.tensor([w, h], dtype=DTYPE))], 1)


def make_inputs(num_images=2, proposals=40, objects=(3, 2)):
    features = {"0": torch.randn(num_images, C, 16, 20, dtype=DTYPE),
                "1": torch.randn(num_images, C, 8, 10, dtype=DTYPE)}
    targets = []
    props = []
    for i in range(num_images):
        gt = random_boxes(objects[i])
        # proposals near the objects (so some are positive) and random ones
        jitter = gt.repeat(4, 1) + torch.randn(4 * len(gt), 4, dtype=DTYPE) * 2
        props.append(torch.cat([jitter.clamp(min=0), random_boxes(proposals)]))
        masks = (torch.rand(len(gt), *IMAGE) > 0.5).to(torch.uint8)
        labels = torch.randint(1, NUM_CLASSES, (len(gt),))
        targets.append({"boxes": gt, "labels": labels, "masks": masks})
    return features, props, [IMAGE] * num_images, targets


def clone_targets(targets):
    return [{k: v.clone() for k, v in t.items()} for t in targets]


@pytest.mark.parametrize("with_mask", [False, True])
def test_state_dict_keys_are_torchvisions(with_mask):
    theirs, mine = make_pair(with_mask=with_mask)
    assert list(mine.state_dict()) == list(theirs.state_dict())
    assert {k: v.shape for k, v in mine.state_dict().items()} == \
        {k: v.shape for k, v in theirs.state_dict().items()}


def test_heads_equal_torchvisions_forward_and_backward():
    x = torch.randn(5, C, 7, 7, dtype=DTYPE, requires_grad=True)
    pairs = [(tv_faster.TwoMLPHead(C * 49, 16), ours.TwoMLPHead(C * 49, 16), x),
             (tv_faster.FastRCNNPredictor(C * 49, 3), ours.FastRCNNPredictor(C * 49, 3),
              x.flatten(1)),
             (tv_mask.MaskRCNNHeads(C, [6, 6], 2), ours.MaskRCNNHeads(C, [6, 6], 2), x),
             (tv_mask.MaskRCNNPredictor(C, 5, 3), ours.MaskRCNNPredictor(C, 5, 3), x)]
    for theirs, mine, inp in pairs:
        randomise_(theirs).to(DTYPE)
        mine.load_state_dict(theirs.state_dict(), strict=True)
        mine.to(DTYPE)
        out_t, out_m = theirs(inp), mine(inp)
        out_t = out_t if isinstance(out_t, tuple) else (out_t,)
        out_m = out_m if isinstance(out_m, tuple) else (out_m,)
        for a, b in zip(out_t, out_m):
            torch.testing.assert_close(b, a)
        g_t = torch.autograd.grad(sum((o ** 2).sum() for o in out_t), [x, *theirs.parameters()])
        g_m = torch.autograd.grad(sum((o ** 2).sum() for o in out_m), [x, *mine.parameters()])
        for a, b in zip(g_t, g_m):
            torch.testing.assert_close(b, a)


def test_mask_head_initialisation_is_torchvisions():
    head, pred = ours.MaskRCNNHeads(256, [256] * 4, 1), ours.MaskRCNNPredictor(256, 256, 81)
    for module in [head, pred]:
        for name, p in module.named_parameters():
            if name.endswith("bias"):
                assert torch.all(p == 0)
            else:  # He normal, fan out: std = sqrt(2 / (out_channels * k * k))
                fan_out = p.shape[0] * p[0, 0].numel() if "conv5" not in name else \
                    p.shape[1] * p[0, 0].numel()
                assert abs(p.std().item() / (2 / fan_out) ** 0.5 - 1) < 0.1


@pytest.mark.parametrize("score_thresh", [0.0, 0.2])
@pytest.mark.parametrize("with_mask", [False, True])
def test_eval_detections_equal_torchvisions(score_thresh, with_mask):
    theirs, mine = make_pair(with_mask=with_mask, score_thresh=score_thresh)
    theirs.eval(), mine.eval()
    features, proposals, shapes, _ = make_inputs()
    with torch.no_grad():
        expected, _ = theirs(features, proposals, shapes)
        got, losses = mine(features, proposals, shapes)
    assert losses == {}
    assert len(got) == len(expected)
    total = 0
    for g, e in zip(got, expected):
        assert set(g) == set(e)
        for key in e:
            torch.testing.assert_close(g[key], e[key])
        total += len(e["boxes"])
    assert total > 10  # detections exist, several per image
    if score_thresh == 0.0:
        assert all(len(e["boxes"]) == SETTINGS["detections_per_img"] for e in expected)


@pytest.mark.parametrize("thresholds", [(0.5, 0.5), (0.6, 0.2)])
@pytest.mark.parametrize("with_mask", [False, True])
def test_train_losses_and_gradients_equal_torchvisions(with_mask, thresholds):
    # (0.6, 0.2): proposals with IoU in [0.2, 0.6) to their best object are ignored
    theirs, mine = make_pair(with_mask=with_mask, fg_iou_thresh=thresholds[0],
                             bg_iou_thresh=thresholds[1])
    features, proposals, shapes, targets = make_inputs()
    feats_t = {k: v.clone().requires_grad_() for k, v in features.items()}
    feats_m = {k: v.clone().requires_grad_() for k, v in features.items()}
    torch.manual_seed(7)
    _, expected = theirs(feats_t, [p.clone() for p in proposals], shapes,
                         clone_targets(targets))
    torch.manual_seed(7)
    result, got = mine(feats_m, [p.clone() for p in proposals], shapes, clone_targets(targets))
    assert result == []
    assert set(got) == set(expected) == ({"loss_classifier", "loss_box_reg"} |
                                         ({"loss_mask"} if with_mask else set()))
    for key in expected:
        torch.testing.assert_close(got[key], expected[key])
        assert expected[key].item() > 0
    g_t = torch.autograd.grad(sum(expected.values()), [*feats_t.values(), *theirs.parameters()])
    g_m = torch.autograd.grad(sum(got.values()), [*feats_m.values(), *mine.parameters()])
    for a, b in zip(g_t, g_m):
        torch.testing.assert_close(b, a)


def test_train_losses_differ_under_another_seed():
    _, mine = make_pair()
    features, proposals, shapes, targets = make_inputs(proposals=200)
    torch.manual_seed(1)
    first = mine(features, proposals, shapes, clone_targets(targets))[1]
    torch.manual_seed(2)
    second = mine(features, proposals, shapes, clone_targets(targets))[1]
    assert first["loss_classifier"] != second["loss_classifier"]


def test_losses_of_images_without_objects_equal_torchvisions():
    theirs, mine = make_pair()
    features, proposals, shapes, targets = make_inputs()
    targets[1] = {"boxes": torch.zeros(0, 4, dtype=DTYPE),
                  "labels": torch.zeros(0, dtype=torch.int64),
                  "masks": torch.zeros(0, *IMAGE, dtype=torch.uint8)}
    torch.manual_seed(3)
    _, expected = theirs(features, proposals, shapes, clone_targets(targets))
    torch.manual_seed(3)
    _, got = mine(features, proposals, shapes, clone_targets(targets))
    for key in expected:
        torch.testing.assert_close(got[key], expected[key])


def test_fastrcnn_loss_equals_torchvisions():
    n, k = 12, 5
    logits = torch.randn(n, k, dtype=DTYPE, requires_grad=True)
    regression = torch.randn(n, 4 * k, dtype=DTYPE, requires_grad=True)
    labels = [torch.randint(0, k, (5,)), torch.randint(0, k, (7,))]
    targets = [torch.randn(5, 4, dtype=DTYPE), torch.randn(7, 4, dtype=DTYPE)]
    expected = tv_roi.fastrcnn_loss(logits, regression, labels, targets)
    got = ours.fastrcnn_loss(logits, regression, labels, targets)
    for a, b in zip(expected, got):
        torch.testing.assert_close(b, a)
    g_t = torch.autograd.grad(sum(expected), [logits, regression])
    g_m = torch.autograd.grad(sum(got), [logits, regression])
    for a, b in zip(g_t, g_m):
        torch.testing.assert_close(b, a)


def test_project_masks_and_mask_loss_equal_torchvisions():
    gt_masks = [(torch.rand(3, *IMAGE) > 0.5).to(torch.uint8),
                (torch.rand(2, *IMAGE) > 0.5).to(torch.uint8)]
    proposals = [random_boxes(6), random_boxes(4)]
    matched = [torch.randint(0, 3, (6,)), torch.randint(0, 2, (4,))]
    gt_labels = [torch.randint(1, 4, (3,)), torch.randint(1, 4, (2,))]
    torch.testing.assert_close(
        ours.project_masks_on_boxes(gt_masks[0], proposals[0], matched[0], 14),
        tv_roi.project_masks_on_boxes(gt_masks[0], proposals[0], matched[0], 14))
    logits = torch.randn(10, 4, 14, 14, dtype=DTYPE, requires_grad=True)
    expected = tv_roi.maskrcnn_loss(logits, proposals, gt_masks, gt_labels, matched)
    got = ours.maskrcnn_loss(logits, proposals, gt_masks, gt_labels, matched)
    torch.testing.assert_close(got, expected)
    (g_t,) = torch.autograd.grad(expected, logits)
    (g_m,) = torch.autograd.grad(got, logits)
    torch.testing.assert_close(g_m, g_t)


def test_mask_loss_uses_the_true_class_only():
    gt_masks = [(torch.rand(2, *IMAGE) > 0.5).to(torch.uint8)]
    proposals = [random_boxes(5)]
    matched = [torch.randint(0, 2, (5,))]
    gt_labels = [torch.tensor([1, 3])]
    logits = torch.randn(5, 4, 14, 14, dtype=DTYPE, requires_grad=True)
    loss = ours.maskrcnn_loss(logits, proposals, gt_masks, gt_labels, matched)
    (grad,) = torch.autograd.grad(loss, logits)
    true_class = gt_labels[0][matched[0]]
    for i in range(5):
        for c in range(4):
            assert (grad[i, c].abs().sum() > 0) == (c == true_class[i].item())


def test_bad_arguments_raise():
    parts = dict(box_roi_pool=our_multiscale.MultiScaleRoIAlign(NAMES, 7, 2),
                 box_head=ours.TwoMLPHead(C * 49, 16),
                 box_predictor=ours.FastRCNNPredictor(16, NUM_CLASSES))
    with pytest.raises(ValueError, match="all\nthree|three or none"):
        ours.RoIHeads(**parts, **SETTINGS, mask_head=ours.MaskRCNNHeads(C, [4], 1))
    with pytest.raises(TypeError, match="box_head"):
        ours.RoIHeads(**{**parts, "box_head": "fc"}, **SETTINGS)
    with pytest.raises(ValueError, match="detections_per_img"):
        ours.RoIHeads(**parts, **{**SETTINGS, "detections_per_img": 0})
    with pytest.raises(ValueError, match="in_channels"):
        ours.TwoMLPHead(0, 4)
    with pytest.raises(TypeError, match="layers"):
        ours.MaskRCNNHeads(4, 256, 1)
    with pytest.raises(ValueError, match="x must have 196 features"):
        ours.TwoMLPHead(C * 49, 16)(torch.randn(2, C, 6, 6))
    with pytest.raises(ValueError, match=r"\(K, C, 1, 1\)"):
        ours.FastRCNNPredictor(16, 3)(torch.randn(2, 16, 2, 2))


def test_bad_inputs_raise():
    _, mine = make_pair()
    features, proposals, shapes, targets = make_inputs()
    with pytest.raises(ValueError, match="targets must be given"):
        mine(features, proposals, shapes)
    with pytest.raises(TypeError, match="features must be a dict"):
        mine(list(features.values()), proposals, shapes, targets)
    with pytest.raises(ValueError, match=r"proposals\[0\] must have shape \(K_i, 4\)"):
        mine(features, [proposals[0][:, :3], proposals[1]], shapes, targets)
    with pytest.raises(ValueError, match="image_shapes must have one entry per image"):
        mine(features, proposals, shapes[:1], targets)
    bad = clone_targets(targets)
    bad[0]["labels"] = bad[0]["labels"].to(torch.int32)
    with pytest.raises(TypeError, match=r"targets\[0\]\['labels'\] must be int64"):
        mine(features, proposals, shapes, bad)
    bad = clone_targets(targets)
    del bad[1]["masks"]
    with pytest.raises(TypeError, match=r"targets\[1\] must hold 'masks'"):
        mine(features, proposals, shapes, bad)
    with pytest.raises(ValueError, match="box_regression must have shape"):
        ours.fastrcnn_loss(torch.randn(3, 2), torch.randn(3, 4), [torch.zeros(3).long()],
                           [torch.zeros(3, 4)])
    with pytest.raises(ValueError, match="gt_masks must have shape"):
        ours.project_masks_on_boxes(torch.zeros(4, 4), torch.zeros(1, 4), torch.zeros(1), 7)
    with pytest.raises(ValueError, match="gt_masks must have one entry per image"):
        ours.maskrcnn_loss(torch.randn(1, 2, 7, 7), [torch.zeros(1, 4)], [],
                           [torch.ones(1).long()], [torch.zeros(1).long()])
