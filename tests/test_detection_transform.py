"""GeneralizedRCNNTransform of lecturepkg.detection against torchvision's.

Oracle: ``torchvision.models.detection.transform.GeneralizedRCNNTransform`` (and its
``resize_boxes``). On random images of different sizes, with random targets (boxes and
masks), both must give the same padded batch, image sizes and targets, in evaluation and in
training (where several ``min_size`` values are drawn at random: both draw from torch's
generator, seeded identically), and the same post-processed detections (boxes rescaled,
masks pasted into the original images).
"""

from __future__ import annotations

import pytest
import torch
from torchvision.models.detection import transform as tv_transform

from lecturepkg.detection.transform import GeneralizedRCNNTransform, ImageList, resize_boxes

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
SIZES = [(3, 45, 70), (3, 83, 52), (3, 64, 64)]

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def make_targets(sizes, n=4):
    targets = []
    for _, h, w in sizes:
        xy = torch.rand(n, 2) * torch.tensor([w / 2, h / 2])
        wh = 1 + torch.rand(n, 2) * torch.tensor([w / 2, h / 2])
        targets.append({"boxes": torch.cat([xy, xy + wh], 1),
                        "labels": torch.randint(1, 5, (n,)),
                        "masks": (torch.rand(n, h, w) > 0.5).to(torch.uint8)})
    return targets


def copies(targets):
    return [{k: v.clone() for k, v in t.items()} for t in targets]


def assert_same(got, expected):
    (batch_g, targets_g), (batch_e, targets_e) = got, expected
    assert isinstance(batch_g, ImageList)
    torch.testing.assert_close(batch_g.tensors, batch_e.tensors, rtol=0, atol=0)
    assert batch_g.image_sizes == [tuple(s) for s in batch_e.image_sizes]
    if targets_e is None:
        assert targets_g is None
        return
    for g, e in zip(targets_g, targets_e):
        assert set(g) == set(e)
        for key in e:
            torch.testing.assert_close(g[key], e[key], rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("min_size, max_size, divisible", [
    (48, 100, 32),  # shorter side to 48
    (80, 100, 32),  # the longer side limited to 100
    (60, 200, 16),
])
def test_eval_batches_equal_torchvisions(min_size, max_size, divisible, dtype):
    images = [torch.rand(*s, dtype=dtype) for s in SIZES]
    targets = make_targets(SIZES)
    theirs = tv_transform.GeneralizedRCNNTransform(min_size, max_size, MEAN, STD,
                                                   size_divisible=divisible).eval()
    mine = GeneralizedRCNNTransform(min_size, max_size, MEAN, STD,
                                    size_divisible=divisible).eval()
    assert_same(mine(images), theirs(images))
    assert_same(mine(images, copies(targets)), theirs(images, copies(targets)))
    assert mine(images)[0].tensors.shape[-1] % divisible == 0


def test_train_draws_the_same_min_sizes_as_torchvision():
    images = [torch.rand(*s) for s in SIZES]
    targets = make_targets(SIZES)
    theirs = tv_transform.GeneralizedRCNNTransform((32, 40, 48, 56), 90, MEAN, STD).train()
    mine = GeneralizedRCNNTransform((32, 40, 48, 56), 90, MEAN, STD).train()
    drawn = set()
    for seed in range(6):
        torch.manual_seed(seed)
        expected = theirs(images, copies(targets))
        next_draw_theirs = torch.rand(1)
        torch.manual_seed(seed)
        got = mine(images, copies(targets))
        next_draw_mine = torch.rand(1)
        assert_same(got, expected)
        assert next_draw_mine == next_draw_theirs  # both consumed the generator alike
        drawn |= {min(s) for s in got[0].image_sizes}
    assert len(drawn) >= 3  # the sizes really are drawn at random


def test_fixed_size_and_skip_resize_equal_torchvisions():
    images = [torch.rand(*s) for s in SIZES]
    targets = make_targets(SIZES)
    for kwargs in [{"fixed_size": (50, 40)}, {"_skip_resize": True}]:
        theirs = tv_transform.GeneralizedRCNNTransform(64, 100, MEAN, STD, **kwargs).train()
        mine = GeneralizedRCNNTransform(64, 100, MEAN, STD, **kwargs).train()
        torch.manual_seed(1)
        expected = theirs(images, copies(targets))
        torch.manual_seed(1)
        assert_same(mine(images, copies(targets)), expected)


def test_the_callers_targets_are_not_changed():
    targets = make_targets(SIZES[:1])
    before = copies(targets)
    GeneralizedRCNNTransform(100, 200, MEAN, STD)([torch.rand(*SIZES[0])], targets)
    for key in before[0]:
        assert torch.equal(targets[0][key], before[0][key])


def test_postprocess_equals_torchvisions():
    theirs = tv_transform.GeneralizedRCNNTransform(64, 100, MEAN, STD).eval()
    mine = GeneralizedRCNNTransform(64, 100, MEAN, STD).eval()
    shapes, originals = [(64, 99), (64, 80)], [(45, 70), (83, 104)]

    def result():
        out = []
        for h, w in shapes:
            xy = torch.rand(7, 2, dtype=torch.float64) * torch.tensor([w, h]) * 0.7
            out.append({"boxes": torch.cat([xy, xy + 1 + 10 * torch.rand(7, 2)], 1),
                        "labels": torch.randint(1, 5, (7,)),
                        "masks": torch.rand(7, 1, 28, 28, dtype=torch.float64)})
        return out

    detections = result()
    expected = theirs.postprocess([dict(d) for d in detections], shapes, originals)
    got = mine.postprocess([dict(d) for d in detections], shapes, originals)
    for g, e, (h, w) in zip(got, expected, originals):
        for key in e:
            torch.testing.assert_close(g[key], e[key], rtol=0, atol=0)
        assert g["masks"].shape == (7, 1, h, w)
    mine.train()
    assert mine.postprocess(detections, shapes, originals) is detections


def test_image_list_moves_its_tensors_and_keeps_the_sizes():
    batch = ImageList(torch.rand(2, 3, 32, 32, dtype=torch.float64), [(30, 20), (32, 31)])
    moved = batch.to("cpu")
    assert moved.tensors is not None and torch.equal(moved.tensors, batch.tensors)
    assert moved.image_sizes == [(30, 20), (32, 31)]


def test_resize_boxes_equals_torchvisions():
    boxes = torch.rand(10, 4, dtype=torch.float64) * 100
    torch.testing.assert_close(resize_boxes(boxes, (37, 51), (80, 111)),
                               tv_transform.resize_boxes(boxes, (37, 51), (80, 111)),
                               rtol=0, atol=0)


def test_bad_inputs_raise():
    t = GeneralizedRCNNTransform(64, 100, MEAN, STD)
    with pytest.raises(ValueError, match=r"images\[1\] must be a 3-D tensor"):
        t([torch.rand(3, 8, 8), torch.rand(1, 3, 8, 8)])
    with pytest.raises(TypeError, match="images must be a non-empty list"):
        t(torch.rand(2, 3, 8, 8))
    with pytest.raises(TypeError, match="floating dtype"):
        t([torch.zeros(3, 8, 8, dtype=torch.uint8)])
    with pytest.raises(ValueError, match="must have 3 channels"):
        t([torch.rand(1, 8, 8)])
    with pytest.raises(ValueError, match="targets must be a list of 1 dicts"):
        t([torch.rand(3, 8, 8)], [])
    with pytest.raises(ValueError, match=r"targets\[0\]\['boxes'\] must have shape"):
        t([torch.rand(3, 8, 8)], [{"boxes": torch.zeros(4)}])
    with pytest.raises(ValueError, match="image_std"):
        GeneralizedRCNNTransform(64, 100, MEAN, [0.2, 0.0, 0.2])
    with pytest.raises(ValueError, match="min_size"):
        GeneralizedRCNNTransform((64, 0), 100, MEAN, STD)
    with pytest.raises(TypeError, match="unexpected keyword"):
        GeneralizedRCNNTransform(64, 100, MEAN, STD, max_sise=3)
