"""Tests of lecturepkg.detection.anchors against torchvision's AnchorGenerator.

The oracle is ``torchvision.models.detection.anchor_utils.AnchorGenerator`` with
torchvision's ``ImageList``, on random sizes, ratios, image and feature-map sizes, in
float64 and float32; the anchors' areas and ratios are also checked against their
definition (Ren et al. 2015, sec. 3.1), and the seeds' ``W x H x k`` count against the
number of anchors torchvision puts on the feature map of a 600 x 800 image.
"""

from __future__ import annotations

import types

import pytest
import torch
import torchvision
from hypothesis import given, settings
from hypothesis import strategies as st
from torchvision.models.detection.anchor_utils import AnchorGenerator as TvAnchorGenerator
from torchvision.models.detection.image_list import ImageList

from lecturepkg.detection.anchors import AnchorGenerator, anchor_count

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PROPERTY = settings(max_examples=40, deadline=None)

ratios_of_a_level = st.lists(
    st.sampled_from([0.25, 0.5, 1.0, 2.0, 3.0, 0.7]), min_size=1, max_size=3, unique=True
).map(tuple)
sizes_of_a_level = st.lists(
    st.integers(4, 600), min_size=1, max_size=3, unique=True
).map(tuple)


@st.composite
def generator_args(draw):
    levels = draw(st.integers(1, 4))
    sizes = tuple(draw(sizes_of_a_level) for _ in range(levels))
    ratios = tuple(draw(ratios_of_a_level) for _ in range(levels))
    return sizes, ratios


@PROPERTY
@given(generator_args())
def test_cell_anchors_equal_torchvisions(args):
    sizes, ratios = args
    ours, theirs = AnchorGenerator(sizes, ratios), TvAnchorGenerator(sizes, ratios)
    assert ours.num_anchors_per_location() == theirs.num_anchors_per_location()
    assert len(ours.cell_anchors) == len(theirs.cell_anchors) == len(sizes)
    for got, want in zip(ours.cell_anchors, theirs.cell_anchors):
        assert got.dtype == torch.float32
        assert torch.equal(got, want)


@PROPERTY
@given(
    args=generator_args(),
    image=st.tuples(st.integers(16, 160), st.integers(16, 160)),
    batch=st.integers(1, 3),
    dtype=st.sampled_from([torch.float64, torch.float32]),
    data=st.data(),
)
def test_forward_equals_torchvision(args, image, batch, dtype, data):
    sizes, ratios = args
    height, width = image
    # feature maps from stride 1 to stride 32, like a backbone's levels (or odd sizes)
    grids = [
        (data.draw(st.integers(1, height)), data.draw(st.integers(1, width)))
        for _ in sizes
    ]
    images = torch.zeros(batch, 3, height, width, dtype=dtype)
    image_sizes = [(height - i, width) for i in range(batch)]  # padded: sizes may differ
    features = [torch.zeros(batch, 2, *g, dtype=dtype) for g in grids]
    ours = AnchorGenerator(sizes, ratios)(ImageList(images, image_sizes), features)
    theirs = TvAnchorGenerator(sizes, ratios)(ImageList(images, image_sizes), features)
    assert len(ours) == len(theirs) == batch
    for got, want in zip(ours, theirs):
        assert got.dtype == dtype
        assert torch.equal(got, want)
    k = AnchorGenerator(sizes, ratios).num_anchors_per_location()
    assert ours[0].shape == (sum(anchor_count(g, kl) for g, kl in zip(grids, k)), 4)


def test_forward_takes_any_object_with_tensors_and_image_sizes():
    images = torch.zeros(2, 3, 64, 96)
    duck = types.SimpleNamespace(tensors=images, image_sizes=[(64, 96), (60, 90)])
    features = [torch.zeros(2, 8, 16, 24), torch.zeros(2, 8, 8, 12)]
    sizes, ratios = ((32,), (64,)), ((0.5, 1.0, 2.0),) * 2
    ours = AnchorGenerator(sizes, ratios)(duck, features)
    theirs = TvAnchorGenerator(sizes, ratios)(ImageList(images, duck.image_sizes), features)
    for got, want in zip(ours, theirs):
        assert torch.equal(got, want)
    assert ours[0] is not ours[1]  # one tensor per image, as torchvision returns


@pytest.mark.parametrize(
    "sizes, ratios",
    [((32, 64, 128), (0.5, 1.0, 2.0)), ((32, 64), ((1.0,), (0.5, 2.0))),
     (((128, 256, 512),), (0.5, 1.0, 2.0))],
)
def test_flat_arguments_are_read_as_torchvision_reads_them(sizes, ratios):
    ours, theirs = AnchorGenerator(sizes, ratios), TvAnchorGenerator(sizes, ratios)
    assert ours.num_anchors_per_location() == theirs.num_anchors_per_location()
    for got, want in zip(ours.cell_anchors, theirs.cell_anchors):
        assert torch.equal(got, want)


def test_the_default_is_the_papers_nine_anchors():
    ours = AnchorGenerator()
    assert ours.sizes == ((128, 256, 512),) and ours.aspect_ratios == ((0.5, 1.0, 2.0),)
    assert torch.equal(ours.cell_anchors[0], TvAnchorGenerator().cell_anchors[0])
    assert ours.num_anchors_per_location() == [9]


@PROPERTY
@given(generator_args())
def test_anchors_have_the_asked_area_and_ratio(args):
    sizes, ratios = args
    generator = AnchorGenerator(sizes, ratios)
    for level_sizes, level_ratios, cell in zip(sizes, ratios, generator.cell_anchors):
        widths = (cell[:, 2] - cell[:, 0]).double()
        heights = (cell[:, 3] - cell[:, 1]).double()
        assert torch.equal(cell[:, :2], -cell[:, 2:])  # centred on (0, 0)
        for i, r in enumerate(level_ratios):
            for j, s in enumerate(level_sizes):
                row = i * len(level_sizes) + j  # ratio-major, as torchvision orders them
                h, w = s * r**0.5, s / r**0.5  # h / w = r and h * w = s**2
                # corners are rounded to whole pixels: each side is off by at most 1
                assert abs(heights[row].item() - h) <= 1 + 1e-6
                assert abs(widths[row].item() - w) <= 1 + 1e-6


def test_anchors_are_centred_on_the_strided_positions():
    generator = AnchorGenerator(((16,),), ((1.0,),))
    images = ImageList(torch.zeros(1, 3, 40, 60), [(40, 60)])
    (anchors,) = generator(images, [torch.zeros(1, 1, 4, 3)])  # strides 10 (y) and 20 (x)
    centres = (anchors[:, :2] + anchors[:, 2:]) / 2
    expected = [(20.0 * j, 10.0 * i) for i in range(4) for j in range(3)]  # row-major
    assert centres.tolist() == [list(c) for c in expected]


def test_anchors_are_not_in_the_state_dict():
    # torchvision's Mask R-CNN state_dict has no anchors: ours must not add keys to it
    assert AnchorGenerator().state_dict().keys() == TvAnchorGenerator().state_dict().keys()
    assert len(AnchorGenerator().state_dict()) == 0


def test_anchor_count_of_the_seeds_600_by_800_image():
    # the feature map a ResNet-50 gives after its fourth stage (C4, stride 16), computed by
    # running torchvision's ResNet-50 on the meta device (shapes only, no arithmetic)
    resnet = torchvision.models.resnet50().to("meta")
    c4 = torch.nn.Sequential(*list(resnet.children())[:-3])  # up to layer3
    features = c4(torch.empty(1, 3, 600, 800, device="meta"))
    grid = tuple(features.shape[-2:])
    sizes, ratios = (128, 256, 512), (0.5, 1.0, 2.0)  # the seeds' 3 sizes x 3 ratios
    k = len(sizes) * len(ratios)
    images = ImageList(torch.zeros(1, 3, 600, 800), [(600, 800)])
    (theirs,) = TvAnchorGenerator((sizes,), (ratios,))(images, [torch.zeros(1, 1, *grid)])
    assert anchor_count(grid, k) == len(theirs) == grid[0] * grid[1] * 9


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: anchor_count((38,), 9), TypeError, "grid_size"),
        (lambda: anchor_count((38, 50), 0), ValueError, "anchors_per_location"),
        (lambda: anchor_count((38, -1), 9), ValueError, "grid_size[1]"),
        (lambda: AnchorGenerator(((128, 256),), ((0.5,), (1.0,))), ValueError,
         "one entry per feature map"),
        (lambda: AnchorGenerator(((128, -256),)), ValueError, "sizes[0][1]"),
        (lambda: AnchorGenerator(((128,),), ((0.0, 1.0),)), ValueError,
         "aspect_ratios[0][0]"),
        (lambda: AnchorGenerator(128), TypeError, "sizes"),
        (lambda: AnchorGenerator(((),)), TypeError, "sizes[0]"),
        (lambda: AnchorGenerator()(torch.zeros(1, 3, 32, 32), [torch.zeros(1, 1, 4, 4)]),
         TypeError, "image_list must have the attributes tensors"),
        (lambda: AnchorGenerator()(ImageList(torch.zeros(1, 3, 32, 32), [(32, 32)]), []),
         TypeError, "feature_maps"),
        (lambda: AnchorGenerator()(ImageList(torch.zeros(1, 3, 32, 32), [(32, 32)]),
                                   [torch.zeros(1, 1, 4, 4)] * 2),
         ValueError, "one tensor per entry of sizes (1)"),
        (lambda: AnchorGenerator()(ImageList(torch.zeros(1, 3, 32, 32), [(32, 32)]),
                                   [torch.zeros(1, 1, 64, 4)]),
         ValueError, "at most the image's"),
        (lambda: AnchorGenerator()(ImageList(torch.zeros(2, 3, 32, 32), [(32, 32)]),
                                   [torch.zeros(2, 1, 4, 4)]),
         ValueError, "one (h, w) per image"),
        (lambda: AnchorGenerator()(ImageList(torch.zeros(1, 3, 32, 32), [(32, 32)]),
                                   [torch.zeros(1, 4, 4)]),
         ValueError, "feature_maps[0] must have shape (N, C, H, W)"),
        (lambda: AnchorGenerator().grid_anchors([(4, 4), (2, 2)], [(8, 8), (16, 16)]),
         ValueError, "one entry per feature map"),
    ],
)
def test_bad_input_is_refused_clearly(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)
