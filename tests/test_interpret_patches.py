"""lecturepkg.interpret.top_activating_patches against brute force and autograd.

Oracles:

* the activations: the layer's output computed by running the first modules of the
  ``nn.Sequential`` by hand (no hooks), then every unit listed in Python and sorted by
  ``(-value, image, row, column)``; with ``one_per_image`` each image's best unit (the first
  in row-major order among equals), sorted by ``(-value, image)``;
* the receptive fields: where the gradient of the unit with respect to an all-ones input is
  not zero, for a network with positive weights and average pooling (so that no path
  cancels or is cut off: see ``lecturepkg.conv.empirical_receptive_field``), compared with
  the boxes clipped to the image;
* the patches: slices of the image padded on every side with ``fill`` (``F.pad``).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lecturepkg.blocks import ConvBNReLU
from lecturepkg.conv import ReceptiveField
from lecturepkg.interpret import TopPatches, layer_receptive_field, top_activating_patches

DTYPE = torch.float64
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def chain(pool=nn.MaxPool2d, inplace=False) -> nn.Sequential:
    """conv(3, pad 1) - ReLU - pool 2 - conv(3, dilation 2, pad 1) - ReLU - conv(3, stride 2)."""
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1),  # 0
        nn.ReLU(inplace=inplace),  # 1
        pool(2),  # 2
        nn.Conv2d(4, 5, 3, dilation=2, padding=1),  # 3
        nn.ReLU(),  # 4
        nn.Conv2d(5, 6, 3, stride=2),  # 5
        nn.Flatten(),  # 6: then a classifier that does not matter here
    )


def random_chain(seed=0, **kwargs) -> nn.Sequential:
    torch.manual_seed(seed)
    return chain(**kwargs).to(DTYPE).eval()


def brute_force(activations: torch.Tensor, k: int, one_per_image: bool) -> list[tuple]:
    """(score, image, row, column) of the k best units, by looping over all of them."""
    n, h, w = activations.shape
    units = [
        (activations[i, r, c].item(), i, r, c)
        for i in range(n) for r in range(h) for c in range(w)
    ]
    if one_per_image:
        best = {}
        for score, i, r, c in units:  # row-major: the first among equals stays
            if i not in best or score > best[i][0]:
                best[i] = (score, i, r, c)
        units = list(best.values())
    return sorted(units, key=lambda u: (-u[0], u[1], u[2], u[3]))[:k]


def as_tuples(result: TopPatches) -> list[tuple]:
    return [
        (s, i, r, c)
        for s, i, (r, c) in zip(result.scores.tolist(), result.image_indices.tolist(),
                                result.positions.tolist())
    ]


@pytest.mark.parametrize("one_per_image", [True, False])
@pytest.mark.parametrize("index, channel", [(0, 2), (1, 3), (3, 0), (4, 4), (5, 5)])
def test_top_units_equal_brute_force(index, channel, one_per_image):
    net = random_chain(1)
    torch.manual_seed(2)
    images = torch.randn(7, 2, 17, 15, dtype=DTYPE)
    with torch.no_grad():
        activations = net[: index + 1](images)[:, channel]  # (N, h, w), no hooks
    k = 5
    result = top_activating_patches(net, net[index], channel, images, k=k,
                                    one_per_image=one_per_image, batch_size=3)
    expected = brute_force(activations, k, one_per_image)
    assert [u[1:] for u in as_tuples(result)] == [u[1:] for u in expected]
    torch.testing.assert_close(result.scores, torch.tensor([u[0] for u in expected],
                                                           dtype=DTYPE), rtol=0, atol=0)
    if one_per_image:
        assert len(set(result.image_indices.tolist())) == k


def test_ties_are_broken_by_image_then_position():
    """A ReLU layer on mostly dark images: many units are exactly 0, the order is defined."""
    net = random_chain(3)
    images = torch.zeros(6, 2, 12, 12, dtype=DTYPE)
    images[4, :, 5, 5] = 3.0  # one bright pixel in image 4
    with torch.no_grad():
        activations = net[:2](images)[:, 1]
    for one_per_image in (True, False):
        k = 6 if one_per_image else 40
        result = top_activating_patches(net, net[1], 1, images, k=k,
                                        one_per_image=one_per_image)
        expected = brute_force(activations, k, one_per_image)
        assert [u[1:] for u in as_tuples(result)] == [u[1:] for u in expected]
    assert len(set(activations.flatten().tolist())) < activations.numel() / 2  # many ties


def test_in_place_relu_after_the_layer_does_not_change_what_was_seen():
    """The model stops at the end of the layer, before the in-place ReLU runs."""
    net = random_chain(4, inplace=True)
    images = torch.randn(4, 2, 10, 10, dtype=DTYPE)
    with torch.no_grad():
        activations = net[0](images)[:, 0]  # the convolution's output, before the ReLU
    k = 4 * 10 * 10  # every unit
    result = top_activating_patches(net, net[0], 0, images, k=k, one_per_image=False)
    assert result.scores.min() < 0  # negative values: seen before the in-place ReLU
    assert as_tuples(result) == brute_force(activations, k, False)


@pytest.mark.parametrize("index", [0, 2, 3, 5])
def test_boxes_are_where_the_gradient_reaches(index):
    """Positive weights, average pooling: the field is where d unit / d input is not 0."""
    net = random_chain(5, pool=nn.AvgPool2d)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.abs_()
                m.bias.abs_()
    images = torch.rand(3, 2, 19, 18, dtype=DTYPE)
    result = top_activating_patches(net, net[index], 0, images, k=12, one_per_image=False)
    for (row, col), box in zip(result.positions.tolist(), result.boxes.tolist()):
        x = torch.ones(1, 2, 19, 18, dtype=DTYPE, requires_grad=True)
        net[: index + 1](x)[0, 0, row, col].backward()
        rows, cols = torch.nonzero(x.grad[0].abs().sum(0), as_tuple=True)
        top, left, bottom, right = box
        clipped = [max(top, 0), max(left, 0), min(bottom, 19), min(right, 18)]
        assert clipped == [rows.min().item(), cols.min().item(), rows.max().item() + 1,
                           cols.max().item() + 1], (row, col, box)
        assert bottom - top == result.field.size[0] and right - left == result.field.size[1]


def test_patches_are_crops_of_the_padded_image():
    net = random_chain(6)
    images = torch.randn(5, 2, 14, 13, dtype=DTYPE)
    result = top_activating_patches(net, net[3], 1, images, k=10, one_per_image=False,
                                    fill=0.5)
    margin = 20
    padded = F.pad(images, (margin,) * 4, value=0.5)
    rows, cols = result.field.size
    assert result.patches.shape == (10, 2, rows, cols)
    assert any(t < 0 or lft < 0 or b > 14 or r > 13 for t, lft, b, r in result.boxes.tolist())
    for patch, i, (top, left, bottom, right) in zip(
        result.patches, result.image_indices.tolist(), result.boxes.tolist()
    ):
        expected = padded[i, :, top + margin : bottom + margin, left + margin : right + margin]
        assert torch.equal(patch, expected)


def test_field_of_the_chain_by_hand():
    """conv3 p1 -> pool2 -> conv3 d2 p1 -> conv3 s2, by the recurrences on paper.

    r: 1 -> 3 -> 4 -> 4 + 2*2*2 = 12 -> 12 + 2*2 = 16; j: 1, 1, 2, 2, 4;
    start: 0 -> -1 -> -1 -> -1 - 1*2 = -3 -> -3.
    """
    net = random_chain(7)
    images = torch.zeros(1, 2, 20, 20, dtype=DTYPE)
    assert layer_receptive_field(net, net[5], images) == ReceptiveField((16, 16), (4, 4),
                                                                         (-3, -3))
    assert layer_receptive_field(net, net[1], images) == ReceptiveField((3, 3), (1, 1),
                                                                         (-1, -1))


def test_layer_by_name_block_and_nested_model():
    """A GAP-style model: ConvBNReLU blocks in ``features``, the layer named or given."""
    torch.manual_seed(8)
    model = nn.Sequential()
    model.add_module("features", nn.Sequential(
        ConvBNReLU(3, 4, 3, padding=1), nn.MaxPool2d(2), ConvBNReLU(4, 6, 3, padding=1),
    ))
    model.add_module("head", nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                           nn.Linear(6, 3)))
    model = model.to(DTYPE).eval()
    images = torch.rand(6, 3, 12, 12, dtype=DTYPE)
    by_name = top_activating_patches(model, "features.2", 4, images, k=4)
    by_module = top_activating_patches(model, model.features[2], 4, images, k=4)
    with torch.no_grad():
        activations = model.features(images)[:, 4]
    assert as_tuples(by_name) == as_tuples(by_module) == brute_force(activations, 4, True)
    assert by_name.field == ReceptiveField((8, 8), (2, 2), (-3, -3))  # r: 3, 4, 4 + 2 * 2


def test_the_model_stops_after_the_layer():
    class Boom(nn.Module):
        def forward(self, x):
            raise RuntimeError("the rest of the model must not run")

    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), Boom()).to(DTYPE).eval()
    result = top_activating_patches(net, net[1], 1, torch.rand(3, 1, 6, 6, dtype=DTYPE), k=2)
    assert result.scores.shape == (2,)


def test_given_field_is_used():
    net = random_chain(9)
    images = torch.rand(2, 2, 12, 12, dtype=DTYPE)
    field = ReceptiveField(5, 1, -2)  # ints: the same for rows and columns
    result = top_activating_patches(net, net[0], 0, images, k=2, field=field)
    (row, col), box = result.positions[0].tolist(), result.boxes[0].tolist()
    assert box == [row - 2, col - 2, row + 3, col + 3]
    assert result.patches.shape == (2, 2, 5, 5)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(layer=nn.Conv2d(2, 4, 3)), ValueError, "layer must be a submodule of model"),
        (dict(layer="nope"), ValueError, "'nope' is not the name of a submodule"),
        (dict(layer=3), TypeError, "layer must be a submodule of model or its name"),
        (dict(channel=6), ValueError, "channel must be < 6"),
        (dict(channel=-1), ValueError, "channel must be >= 0"),
        (dict(k=5), ValueError, "k must be <= 4, the number of images"),
        (dict(k=5, one_per_image=False), ValueError,  # 4 images of one 1 x 1 unit each
         r"k must be <= 4, the number of units \(images x positions\)"),
        (dict(k=0), ValueError, "k must be >= 1"),
        (dict(images=torch.rand(2, 12, 12, dtype=DTYPE)), ValueError, r"images must have shape"),
        (dict(images=torch.rand(4, 2, 12, 12)), TypeError, "dtype torch.float32 but the model"),
        (dict(one_per_image=1), TypeError, "one_per_image must be True or False"),
        (dict(batch_size=0), ValueError, "batch_size must be >= 1"),
        (dict(field=(3, 1, 0)), TypeError, "field must be a lecturepkg.conv.ReceptiveField"),
        (dict(field=ReceptiveField(0, 1, 0)), ValueError, "field.size and field.jump"),
        (dict(model=lambda x: x), TypeError, "model must be a torch.nn.Module"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, error, match):
    net = random_chain(10)
    args = dict(model=net, layer=net[5], channel=0,
                images=torch.rand(4, 2, 12, 12, dtype=DTYPE), k=2) | kwargs
    with pytest.raises(error, match=match):
        top_activating_patches(**args)


def test_layers_without_a_receptive_field_are_refused():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2 * 4 * 4, 32),
                        nn.Unflatten(1, (2, 4, 4)), nn.Conv2d(2, 2, 1)).to(DTYPE).eval()
    images = torch.rand(3, 1, 6, 6, dtype=DTYPE)
    with pytest.raises(ValueError, match="a Flatten layer runs before the layer's output"):
        top_activating_patches(net, net[4], 0, images, k=1)
    with pytest.raises(ValueError, match=r"feature maps \(N, C_l, h, w\)"):
        top_activating_patches(net, net[2], 0, images, k=1)
