"""Tests of lecturepkg.detection's RoIPool, RoIAlign and MultiScaleRoIAlign against torchvision.

Oracles: ``torchvision.ops.roi_pool``, ``roi_align`` and ``MultiScaleRoIAlign`` (their C++
kernels, forward and backward) on random float64 feature maps and boxes, with boxes partly or
wholly outside the map, of zero or negative size, on half-integer coordinates (where RoIPool's
rounding matters), in both box formats, every sampling ratio and both ``aligned`` settings;
and worked examples whose results follow from the definitions (bilinear interpolation is
exact on a linear ramp; the maximum of an increasing ramp is a bin's last cell).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision.ops as tv
from hypothesis import given, settings
from hypothesis import strategies as st
from torchvision.ops.poolers import LevelMapper

from helpers import seeded_rng
from lecturepkg.detection import (
    MultiScaleRoIAlign,
    bilinear_sample,
    fpn_levels,
    infer_scale,
    roi_align,
    roi_pool,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PROPERTY = settings(max_examples=80, deadline=None)
TOL = dict(rtol=1e-10, atol=1e-12)


@st.composite
def roi_cases(draw):
    """Feature maps, boxes (a (K, 5) tensor or a list of (K_i, 4) tensors) and pooling
    arguments; about one box in four degenerate, one in five on half-integers."""
    rng = seeded_rng(draw)
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    scale = draw(st.sampled_from([1.0, 0.5, 0.25, 1 / 3]))
    x = torch.from_numpy(rng.standard_normal((n, c, h, w)))
    per_image = []
    for _ in range(n):
        k = draw(st.integers(0, 4))
        corner = rng.uniform(-4, 1.2 * max(h, w) / scale, size=(k, 2))
        size = rng.uniform(0, 0.8 * max(h, w) / scale, size=(k, 2))
        size[rng.random(k) < 0.15] = 0.0  # a point
        size[rng.random(k) < 0.1] *= -0.3  # x2 < x1, y2 < y1
        boxes = np.concatenate([corner, corner + size], axis=1)
        halves = rng.random(k) < 0.2
        boxes[halves] = np.round(boxes[halves] * 2) / 2  # RoIPool rounds halves away from 0
        per_image.append(torch.from_numpy(boxes))
    if draw(st.booleans()):
        boxes = per_image
    else:
        index = torch.cat([torch.full((len(b), 1), float(i)) for i, b in enumerate(per_image)])
        boxes = torch.cat([index.double(), torch.cat(per_image)], dim=1)
    output_size = draw(st.sampled_from([1, 2, 3, (2, 3), (4, 1), [3, 2]]))
    return x, boxes, output_size, scale, rng


def _check_forward_and_backward(ours, theirs, x, rng):
    x = x.clone().requires_grad_()
    got, want = ours(x), theirs(x)
    assert got.shape == want.shape and got.dtype == want.dtype
    torch.testing.assert_close(got, want, **TOL)
    grad_out = torch.from_numpy(rng.standard_normal(tuple(want.shape)))
    (got_grad,) = torch.autograd.grad(got, x, grad_out)
    (want_grad,) = torch.autograd.grad(want, x, grad_out)
    torch.testing.assert_close(got_grad, want_grad, **TOL)


@PROPERTY
@given(roi_cases(), st.sampled_from([-1, 0, 1, 2, 3]), st.booleans())
def test_roi_align_equals_torchvision_forward_and_backward(case, sampling_ratio, aligned):
    x, boxes, output_size, scale, rng = case
    args = dict(output_size=output_size, spatial_scale=scale, sampling_ratio=sampling_ratio,
                aligned=aligned)
    _check_forward_and_backward(lambda f: roi_align(f, boxes, **args),
                                lambda f: tv.roi_align(f, boxes, **args), x, rng)


@PROPERTY
@given(roi_cases())
def test_roi_pool_equals_torchvision_forward_and_backward(case):
    x, boxes, output_size, scale, rng = case
    args = dict(output_size=output_size, spatial_scale=scale)
    _check_forward_and_backward(lambda f: roi_pool(f, boxes, **args),
                                lambda f: tv.roi_pool(f, boxes, **args), x, rng)


def test_roi_pool_sends_the_gradient_of_a_tie_to_the_first_cell_like_torchvision():
    x = torch.zeros(1, 1, 4, 4, dtype=torch.float64)
    x[0, 0, 1, 2] = x[0, 0, 2, 1] = 5.0  # two equal maxima in the one bin
    x.requires_grad_()
    boxes = torch.tensor([[0.0, 0.0, 0.0, 3.0, 3.0]], dtype=torch.float64)
    (ours,) = torch.autograd.grad(roi_pool(x, boxes, 1).sum(), x)
    (theirs,) = torch.autograd.grad(tv.roi_pool(x, boxes, 1).sum(), x)
    assert torch.equal(ours, theirs)
    assert ours[0, 0, 1, 2] == 1 and ours.sum() == 1  # row-major first


def test_roi_pool_worked_example():
    x = torch.arange(36.0).reshape(1, 1, 6, 6)  # increasing along rows and columns
    # box (1, 1)-(4, 4) covers cells 1..4: two bins of cells 1-2 and 3-4 each way
    out = roi_pool(x, [torch.tensor([[1.0, 1.0, 4.0, 4.0]])], output_size=2)
    assert out.flatten().tolist() == [x[0, 0, 2, 2], x[0, 0, 2, 4], x[0, 0, 4, 2], x[0, 0, 4, 4]]
    # a box corner at 2.5 rounds away from zero to cell 3 (torch.round would give 2)
    out = roi_pool(x, [torch.tensor([[2.5, 2.5, 2.5, 2.5]])], output_size=1)
    assert out.item() == x[0, 0, 3, 3]


@pytest.mark.parametrize("aligned", [False, True])
def test_roi_align_is_exact_on_a_linear_ramp(aligned):
    """Bilinear interpolation reproduces a linear function, so each bin's mean is the ramp at
    the bin's centre: ``x1 * scale - offset + (j + 0.5) * bin_width``."""
    h, w, scale = 20, 24, 0.5
    rows, cols = torch.meshgrid(torch.arange(h, dtype=torch.float64),
                                torch.arange(w, dtype=torch.float64), indexing="ij")
    x = (3.0 * rows - 2.0 * cols + 1.0)[None, None]  # (1, 1, H, W)
    box = torch.tensor([[6.0, 8.0, 30.0, 26.0]], dtype=torch.float64)  # inside the map
    out = roi_align(x, [box], output_size=(3, 4), spatial_scale=scale, sampling_ratio=2,
                    aligned=aligned)
    offset = 0.5 if aligned else 0.0
    x1, y1, x2, y2 = (box[0] * scale - offset).tolist()
    cy = y1 + (torch.arange(3, dtype=torch.float64) + 0.5) * (y2 - y1) / 3
    cx = x1 + (torch.arange(4, dtype=torch.float64) + 0.5) * (x2 - x1) / 4
    expected = 3.0 * cy[:, None] - 2.0 * cx[None, :] + 1.0
    torch.testing.assert_close(out[0, 0], expected, **TOL)


def test_roi_align_adaptive_sampling_ratio_is_ceil_of_roi_over_output():
    """On a map that is quadratic in y (and constant in x) a bin's mean depends on its number
    of rows of samples: the adaptive grid has ceil(22 / 4) = 6 of them."""
    rows = torch.arange(32, dtype=torch.float64)[:, None].expand(32, 32)
    x = (rows ** 2)[None, None].contiguous()
    box = [torch.tensor([[1.0, 1.5, 20.0, 23.5]], dtype=torch.float64)]  # 22 rows, 19 cols
    adaptive = roi_align(x, box, output_size=(4, 4), sampling_ratio=-1)
    six = roi_align(x, box, output_size=(4, 4), sampling_ratio=6)
    five = roi_align(x, box, output_size=(4, 4), sampling_ratio=5)
    torch.testing.assert_close(adaptive, six, **TOL)
    assert (adaptive - five).abs().max() > 1e-3


def test_bilinear_sample_worked_example_and_border_rules():
    f = torch.tensor([[[[0.0, 10.0], [20.0, 30.0]]]])
    y = torch.tensor([[0.5, -0.5, -1.5, 1.7, 2.5, -1.0, 2.0]])
    x = torch.tensor([[0.25]])
    out = bilinear_sample(f, torch.tensor([0]), y, x)[0, :, 0, 0]
    # y=0.5: halfway between rows; y=-0.5 clamps to row 0; y=-1.5 is outside: 0;
    # y=1.7 beyond the last row clamps to it; y=2.5 > H: 0; the limits -1 and H are inside
    assert out.tolist() == [12.5, 2.5, 0.0, 22.5, 0.0, 2.5, 22.5]
    # the same rules along x, and on a grid: (K, P, Q, C)
    grid = bilinear_sample(f, torch.tensor([0]), torch.tensor([[0.0, 1.0]]),
                           torch.tensor([[-1.0, 0.5, 2.0, 2.01]]))
    assert grid.shape == (1, 2, 4, 1)
    assert grid[0, :, :, 0].tolist() == [[0.0, 5.0, 10.0, 0.0], [20.0, 25.0, 30.0, 0.0]]


def test_empty_boxes_give_an_empty_result_with_a_zero_gradient():
    x = torch.randn(2, 3, 5, 5, dtype=torch.float64, requires_grad=True)
    for boxes in (torch.zeros(0, 5, dtype=torch.float64),
                  [torch.zeros(0, 4, dtype=torch.float64)] * 2):
        for op in (roi_align, roi_pool):
            out = op(x, boxes, 2)
            assert out.shape == (0, 3, 2, 2) == tv.roi_align(x, boxes, 2).shape
            (grad,) = torch.autograd.grad(out.sum(), x)
            assert torch.equal(grad, torch.zeros_like(x))


def test_roi_ops_in_float32_are_close_to_torchvision():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 8, 20, 24, generator=g)
    boxes = torch.rand(30, 4, generator=g) * 80
    boxes[:, 2:] += boxes[:, :2]
    rois = torch.cat([torch.randint(0, 2, (30, 1), generator=g).float(), boxes], dim=1)
    for aligned in (False, True):
        torch.testing.assert_close(roi_align(x, rois, 7, 0.25, 2, aligned),
                                   tv.roi_align(x, rois, 7, 0.25, 2, aligned))
    torch.testing.assert_close(roi_pool(x, rois, 7, 0.25), tv.roi_pool(x, rois, 7, 0.25))


def test_under_autocast_the_ops_run_in_float32_and_return_the_inputs_dtype():
    """torchvision's autocast rule for its RoI ops: cast to float32, cast the result back."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 4, 16, 16, generator=g).bfloat16()
    boxes = [torch.tensor([[2.0, 3.0, 40.0, 50.0], [10.0, 0.0, 30.0, 12.0]])]  # float32
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ours = roi_align(x, boxes, 3, 0.25, 2)
        pooled = roi_pool(x, boxes, 3, 0.25)
    assert ours.dtype == pooled.dtype == torch.bfloat16
    torch.testing.assert_close(ours, tv.roi_align(x.float(), boxes, 3, 0.25, 2).bfloat16())
    assert torch.equal(pooled, tv.roi_pool(x.float(), boxes, 3, 0.25).bfloat16())  # a max


X = torch.zeros(2, 3, 8, 8)
ROIS = torch.tensor([[0.0, 1.0, 1.0, 5.0, 5.0]])


@pytest.mark.parametrize("op", [roi_align, roi_pool], ids=["roi_align", "roi_pool"])
@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        (dict(input=X[0]), ValueError, "input must have shape (N, C, H, W)"),
        (dict(input=X.long()), TypeError, "input must have a floating dtype"),
        (dict(input=X[:, :, :0]), ValueError, "H, W >= 1"),
        (dict(boxes=ROIS[:, 1:]), ValueError, "boxes must be a (K, 5) tensor"),
        (dict(boxes=ROIS.double()), TypeError, "boxes must have input's dtype"),
        (dict(boxes=[ROIS[:, 1:], ROIS]), ValueError, "boxes[1] must have shape (N, 4)"),
        (dict(boxes=[]), ValueError, "one (K_i, 4) tensor per image"),
        (dict(boxes=ROIS.tolist()), TypeError, "boxes[0] must be a torch.Tensor"),
        (dict(boxes=torch.tensor([[2.0, 1.0, 1.0, 5.0, 5.0]])), ValueError,
         "image indices in [0, 2)"),
        (dict(boxes=torch.tensor([[0.5, 1.0, 1.0, 5.0, 5.0]])), ValueError,
         "image indices in [0, 2)"),
        (dict(boxes=torch.tensor([[0.0, 1.0, float("nan"), 5.0, 5.0]])), ValueError,
         "finite coordinates"),
        (dict(output_size=0), ValueError, "output_size must be >= 1"),
        (dict(output_size=(2, 2, 2)), ValueError, "output_size must be an int or a sequence"),
        (dict(spatial_scale=0.0), ValueError, "spatial_scale must be > 0"),
    ],
)
def test_bad_input_raises_a_clear_error(op, kwargs, error, words):
    args = dict(input=X, boxes=ROIS, output_size=2, spatial_scale=1.0) | kwargs
    with pytest.raises(error) as info:
        op(**args)
    assert words in str(info.value)


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        (dict(sampling_ratio=2.0), TypeError, "sampling_ratio must be an int"),
        (dict(aligned=1), TypeError, "aligned must be True or False"),
    ],
)
def test_roi_align_bad_options_raise_a_clear_error(kwargs, error, words):
    with pytest.raises(error) as info:
        roi_align(X, ROIS, 2, **kwargs)
    assert words in str(info.value)


# ---------------------------------------------------------------- feature pyramids


def test_fpn_levels_follow_equation_1_and_equal_torchvisions_level_mapper():
    sides = torch.tensor([224.0, 112.0, 448.0, 896.0, 1000.0, 56.0, 10.0, 223.0, 0.0])
    boxes = torch.stack([torch.zeros(9), torch.zeros(9), sides, sides], dim=1)
    levels = fpn_levels(boxes, 2, 5)
    # 224 -> k0 = 4, each halving one level down, clamped to [2, 5]; 223 is just below 4;
    # a box of zero area has log2(0) = -inf: the finest level
    assert levels.tolist() == [4, 3, 5, 5, 5, 2, 2, 3, 2]
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(200, 2, generator=g, dtype=torch.float64) * 100
    boxes = torch.cat([xy, xy + torch.rand(200, 2, generator=g, dtype=torch.float64) ** 3 * 900],
                      dim=1)
    for k_min, k_max, scale, level in [(2, 5, 224, 4), (3, 6, 100, 5), (4, 4, 224, 4)]:
        mapper = LevelMapper(k_min, k_max, canonical_scale=scale, canonical_level=level)
        expected = mapper([boxes[:120], boxes[120:]]) + k_min
        assert torch.equal(fpn_levels(boxes, k_min, k_max, scale, level), expected)


def test_infer_scale_rounds_the_ratio_to_a_power_of_two():
    assert infer_scale((200, 272), (800, 1088)) == 1 / 4
    assert infer_scale((25, 34), (800, 1088)) == 1 / 32  # 800 / 32 = 25
    assert infer_scale((13, 17), (800, 1088)) == 1 / 64  # log2(13 / 800) = -5.94
    assert infer_scale((100, 100), (100, 100)) == 1.0


@st.composite
def pyramid_cases(draw):
    """Two images padded into one batch, maps of strides 4..32 (plus an unused 'pool'), and
    boxes of sides from 2 to 300 pixels so that every level gets some."""
    rng = seeded_rng(draw)
    pad_h, pad_w = 32 * draw(st.integers(3, 6)), 32 * draw(st.integers(3, 6))
    shapes = [(pad_h - int(rng.integers(0, 20)), pad_w - int(rng.integers(0, 20))),
              (pad_h, pad_w - int(rng.integers(0, 30)))]
    channels = draw(st.integers(1, 3))
    maps = {str(i): torch.from_numpy(rng.standard_normal((2, channels, pad_h // s, pad_w // s)))
            for i, s in enumerate([4, 8, 16, 32])}
    maps["pool"] = torch.from_numpy(rng.standard_normal((2, channels, pad_h // 64, pad_w // 64)))
    boxes = []
    for h, w in shapes:
        k = draw(st.integers(0, 12))
        side = np.exp(rng.uniform(np.log(2), np.log(300), size=(k, 2)))
        corner = rng.uniform(0, 1, size=(k, 2)) * (np.array([w, h]) - side).clip(min=1)
        boxes.append(torch.from_numpy(np.concatenate([corner, corner + side], axis=1)))
    names = draw(st.sampled_from([["0", "1", "2", "3"], ["0", "1", "2"], ["2"], ["1", "3"]]))
    output_size = draw(st.sampled_from([7, (14, 14), (3, 5)]))
    sampling_ratio = draw(st.sampled_from([2, -1, 1]))
    return maps, boxes, shapes, names, output_size, sampling_ratio, rng


@settings(max_examples=40, deadline=None)
@given(pyramid_cases())
def test_multiscale_roi_align_equals_torchvision_forward_and_backward(case):
    maps, boxes, shapes, names, output_size, sampling_ratio, rng = case
    maps = {k: v.requires_grad_() for k, v in maps.items()}
    ours = MultiScaleRoIAlign(names, output_size, sampling_ratio)
    theirs = tv.MultiScaleRoIAlign(names, output_size, sampling_ratio)
    got, want = ours(maps, boxes, shapes), theirs(maps, boxes, shapes)
    assert got.shape == want.shape
    torch.testing.assert_close(got, want, **TOL)
    grad_out = torch.from_numpy(rng.standard_normal(tuple(want.shape)))
    used = [maps[name] for name in names]
    got_grads = torch.autograd.grad(got, used, grad_out)
    want_grads = torch.autograd.grad(want, used, grad_out)
    for g, w in zip(got_grads, want_grads):
        torch.testing.assert_close(g, w, **TOL)


def test_multiscale_roi_align_with_other_canonical_scale_and_level():
    g = torch.Generator().manual_seed(3)
    maps = {str(i): torch.randn(1, 2, 128 // s, 128 // s, generator=g, dtype=torch.float64)
            for i, s in enumerate([4, 8, 16, 32])}
    xy = torch.rand(40, 2, generator=g, dtype=torch.float64) * 60
    boxes = [torch.cat([xy, xy + 1 + torch.rand(40, 2, generator=g, dtype=torch.float64) * 60],
                       dim=1)]
    args = (["0", "1", "2", "3"], 5, 2)
    kw = dict(canonical_scale=64, canonical_level=3)
    torch.testing.assert_close(MultiScaleRoIAlign(*args, **kw)(maps, boxes, [(128, 128)]),
                               tv.MultiScaleRoIAlign(*args, **kw)(maps, boxes, [(128, 128)]),
                               **TOL)


MAPS = {"0": torch.zeros(1, 2, 16, 16), "1": torch.zeros(1, 2, 8, 8)}
BOX_LIST = [torch.tensor([[0.0, 0.0, 20.0, 20.0]])]


@pytest.mark.parametrize(
    "make, call, error, words",
    [
        (lambda: MultiScaleRoIAlign("0", 7, 2), None, TypeError, "featmap_names must be a list"),
        (lambda: MultiScaleRoIAlign([], 7, 2), None, ValueError, "non-empty list of str"),
        (lambda: MultiScaleRoIAlign(["0"], 0, 2), None, ValueError, "output_size must be >= 1"),
        (lambda: MultiScaleRoIAlign(["0"], 7, 2.5), None, TypeError, "sampling_ratio must be"),
        (lambda: MultiScaleRoIAlign(["0", "2"], 7, 2), lambda m: m(MAPS, BOX_LIST, [(64, 64)]),
         KeyError, "no feature map named ['2']"),
        (lambda: MultiScaleRoIAlign(["0", "1"], 7, 2), lambda m: m(MAPS, BOX_LIST[0], [(64, 64)]),
         TypeError, "boxes must be a list"),
        (lambda: MultiScaleRoIAlign(["0", "1"], 7, 2),
         lambda m: m(MAPS, BOX_LIST * 2, [(64, 64)]), ValueError, "one tensor per image (1)"),
        (lambda: MultiScaleRoIAlign(["0", "1"], 7, 2), lambda m: m(MAPS, BOX_LIST, []),
         ValueError, "image_shapes must be a non-empty list"),
        (lambda: MultiScaleRoIAlign(["0", "1"], 7, 2), lambda m: m(list(MAPS.values()), BOX_LIST,
                                                                   [(64, 64)]),
         TypeError, "x must be a dict"),
        (lambda: MultiScaleRoIAlign(["0", "1"], 7, 2),
         lambda m: m({"0": MAPS["0"], "1": torch.zeros(1, 3, 8, 8)}, BOX_LIST, [(64, 64)]),
         ValueError, "must share N and C"),
    ],
)
def test_multiscale_bad_input_raises_a_clear_error(make, call, error, words):
    with pytest.raises(error) as info:
        module = make()
        call(module)
    assert words in str(info.value)


F = torch.zeros(2, 1, 3, 3)
IMAGE = torch.tensor([0, 1])
COORDS = torch.zeros(2, 4)


@pytest.mark.parametrize(
    "args, error, words",
    [
        ((F[0], IMAGE, COORDS, COORDS), ValueError, "features must have shape (N, C, H, W)"),
        ((F, IMAGE.float(), COORDS, COORDS), TypeError, "image must be a (K,) integer tensor"),
        ((F, torch.tensor([0, 2]), COORDS, COORDS), ValueError, "indices in [0, 2)"),
        ((F, IMAGE, COORDS[:1], COORDS), ValueError, "y must have shape (2, S)"),
        ((F, IMAGE, COORDS, COORDS.long()), TypeError, "x must have a floating dtype"),
        ((F, IMAGE, COORDS, [[0.0], [1.0]]), TypeError, "x must be a torch.Tensor"),
    ],
)
def test_bilinear_sample_bad_input_raises_a_clear_error(args, error, words):
    with pytest.raises(error) as info:
        bilinear_sample(*args)
    assert words in str(info.value)
