"""Tests of the box coder, the matcher and the balanced sampler of lecturepkg.detection.

The oracle is torchvision's ``models.detection._utils`` (``BoxCoder``, ``Matcher``,
``BalancedPositiveNegativeSampler``) on random float64 inputs, forward and backward; the
matcher is also checked against a plain loop over the predictions written from the rule of
Ren et al. 2015, and the sampler's counts against the numbers its rule asks for.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torchvision.models.detection import _utils as tv_utils

from lecturepkg.detection.box_coder import BoxCoder
from lecturepkg.detection.matcher import Matcher
from lecturepkg.detection.sampler import BalancedPositiveNegativeSampler

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PROPERTY = settings(max_examples=40, deadline=None)
TOL = dict(rtol=1e-12, atol=1e-12)
WEIGHTS = [(1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0)]  # the RPN's and the box head's


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def random_boxes(n: int, g: torch.Generator, requires_grad: bool = False) -> torch.Tensor:
    """``(n, 4)`` float64 boxes with corners in [0, 100) and sides in [1, 51)."""
    corner = torch.rand(n, 2, generator=g, dtype=torch.float64) * 100
    size = 1 + torch.rand(n, 2, generator=g, dtype=torch.float64) * 50
    boxes = torch.cat([corner, corner + size], dim=1)
    return boxes.requires_grad_(requires_grad)


seeds = st.integers(0, 2**31 - 1)
weights = st.sampled_from(WEIGHTS) | st.tuples(
    *[st.floats(0.5, 20.0) for _ in range(4)]
)


# ------------------------------------------------------------------------- BoxCoder


@PROPERTY
@given(seed=seeds, n=st.integers(0, 12), w=weights)
def test_encode_single_equals_torchvision_forward_and_backward(seed, n, w):
    g = generator(seed)
    gt, anchors = random_boxes(n, g, True), random_boxes(n, g, True)
    ours = BoxCoder(w).encode_single(gt, anchors)
    theirs = tv_utils.BoxCoder(w).encode_single(gt, anchors)
    assert ours.shape == (n, 4) and ours.dtype == torch.float64
    torch.testing.assert_close(ours, theirs, **TOL)
    if n:
        upstream = torch.randn(n, 4, generator=g, dtype=torch.float64)
        grads = torch.autograd.grad((ours * upstream).sum(), (gt, anchors))
        expected = torch.autograd.grad((theirs * upstream).sum(), (gt, anchors))
        for got, want in zip(grads, expected):
            torch.testing.assert_close(got, want, **TOL)


@PROPERTY
@given(seed=seeds, counts=st.lists(st.integers(0, 6), min_size=1, max_size=3), w=weights)
def test_encode_of_lists_equals_torchvision(seed, counts, w):
    g = generator(seed)
    gt = [random_boxes(n, g) for n in counts]
    anchors = [random_boxes(n, g) for n in counts]
    ours = BoxCoder(w).encode(gt, anchors)
    theirs = tv_utils.BoxCoder(w).encode(gt, anchors)
    assert len(ours) == len(theirs) == len(counts)
    for got, want in zip(ours, theirs):
        torch.testing.assert_close(got, want, **TOL)


@PROPERTY
@given(seed=seeds, n=st.integers(1, 10), k=st.integers(1, 3), w=weights,
       scale=st.sampled_from([0.5, 4.0]))
def test_decode_single_equals_torchvision_forward_and_backward(seed, n, k, w, scale):
    g = generator(seed)
    boxes = random_boxes(n, g, True)
    # codes of about `scale` once divided by the weights; scale 4 pushes a third of the
    # log-scale codes past the clamp at log(1000/16) ~ 4.1
    unit = torch.tensor(w, dtype=torch.float64).repeat(k)  # (4K,)
    codes = scale * unit * torch.randn(n, 4 * k, generator=g, dtype=torch.float64)
    codes[0, 2], codes[0, 3] = 10 * w[2], -10 * w[3]  # one width beyond the clamp for sure
    codes.requires_grad_()
    ours = BoxCoder(w).decode_single(codes, boxes)
    theirs = tv_utils.BoxCoder(w).decode_single(codes, boxes)
    assert ours.shape == (n, 4 * k)
    torch.testing.assert_close(ours, theirs, **TOL)
    upstream = torch.randn(n, 4 * k, generator=g, dtype=torch.float64)
    grads = torch.autograd.grad((ours * upstream).sum(), (codes, boxes))
    expected = torch.autograd.grad((theirs * upstream).sum(), (codes, boxes))
    for got, want in zip(grads, expected):
        torch.testing.assert_close(got, want, **TOL)


@PROPERTY
@given(seed=seeds, counts=st.lists(st.integers(0, 5), min_size=1, max_size=3),
       k=st.integers(1, 3), flat=st.booleans())
def test_decode_of_lists_equals_torchvision(seed, counts, k, flat):
    g = generator(seed)
    boxes = [random_boxes(n, g) for n in counts]
    codes = torch.randn(sum(counts), 4 * k, generator=g, dtype=torch.float64)
    if flat:  # the RPN passes its codes as one (N * 4K,) tensor: decode reshapes it
        codes = codes.reshape(-1)
    if sum(counts) == 0 and flat:
        codes = codes.reshape(0, 4 * k)
    ours = BoxCoder((1.0, 1.0, 1.0, 1.0)).decode(codes, boxes)
    theirs = tv_utils.BoxCoder((1.0, 1.0, 1.0, 1.0)).decode(codes, boxes)
    assert ours.shape == theirs.shape
    torch.testing.assert_close(ours, theirs, **TOL)


@PROPERTY
@given(seed=seeds, n=st.integers(1, 12), w=weights)
def test_decode_inverts_encode(seed, n, w):
    g = generator(seed)
    gt, anchors = random_boxes(n, g), random_boxes(n, g)
    coder = BoxCoder(w)
    codes = coder.encode_single(gt, anchors)
    # the boxes are at most 51 / 1 times larger than their reference: below the clamp
    torch.testing.assert_close(coder.decode_single(codes, anchors), gt, rtol=1e-10, atol=1e-10)


def test_encode_follows_the_formulas_of_faster_rcnn():
    anchor = torch.tensor([[10.0, 20.0, 30.0, 60.0]], dtype=torch.float64)  # 20 x 40 at (20, 40)
    gt = torch.tensor([[15.0, 20.0, 55.0, 50.0]], dtype=torch.float64)  # 40 x 30 at (35, 35)
    codes = BoxCoder((10.0, 10.0, 5.0, 5.0)).encode_single(gt, anchor)
    expected = [10 * 15 / 20, 10 * -5 / 40, 5 * math.log(40 / 20), 5 * math.log(30 / 40)]
    torch.testing.assert_close(codes[0], torch.tensor(expected, dtype=torch.float64), **TOL)


@pytest.mark.parametrize("clip", [math.log(1000.0 / 16), 1.0])
@pytest.mark.parametrize("axis", [0, 1])
def test_decode_clamps_the_log_scale_codes(clip, axis):
    anchor = torch.tensor([[0.0, 0.0, 8.0, 4.0]], dtype=torch.float64)  # 8 wide, 4 tall
    log_scales = [50.0, -2.0] if axis == 0 else [-2.0, 50.0]
    codes = torch.tensor([[0.0, 0.0, *log_scales]], dtype=torch.float64, requires_grad=True)
    coder = BoxCoder((1.0, 1.0, 2.0, 2.0), bbox_xform_clip=clip)
    decoded = coder.decode_single(codes, anchor)[0]
    sizes = [decoded[2] - decoded[0], decoded[3] - decoded[1]]  # width, height
    anchor_sizes = [8, 4]
    big, small = sizes[axis], sizes[1 - axis]
    assert big.item() == pytest.approx(anchor_sizes[axis] * math.exp(clip))  # 25 -> clip
    assert small.item() == pytest.approx(anchor_sizes[1 - axis] * math.exp(-1.0))  # as is
    (grad,) = torch.autograd.grad(big, codes)
    assert grad[0, 2 + axis].item() == 0  # no gradient through the clamp
    theirs = tv_utils.BoxCoder((1.0, 1.0, 2.0, 2.0), bbox_xform_clip=clip)
    torch.testing.assert_close(decoded, theirs.decode_single(codes, anchor)[0], **TOL)


def test_default_clip_is_log_1000_over_16():
    assert BoxCoder((1.0, 1.0, 1.0, 1.0)).bbox_xform_clip == tv_utils.BoxCoder(
        (1.0, 1.0, 1.0, 1.0)
    ).bbox_xform_clip


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: BoxCoder((1.0, 1.0, 1.0)), TypeError, "weights"),
        (lambda: BoxCoder((1.0, 0.0, 1.0, 1.0)), ValueError, "weights[1]"),
        (lambda: BoxCoder((1.0, 1.0, 1.0, 1.0), bbox_xform_clip="big"), TypeError,
         "bbox_xform_clip"),
        (lambda: BoxCoder((1, 1, 1, 1)).encode_single(torch.zeros(3, 4), torch.zeros(2, 4)),
         ValueError, "one box each"),
        (lambda: BoxCoder((1, 1, 1, 1)).encode_single(torch.zeros(3, 3), torch.zeros(3, 4)),
         ValueError, "reference_boxes must have shape (N, 4)"),
        (lambda: BoxCoder((1, 1, 1, 1)).encode_single(torch.zeros(3, 4, dtype=torch.long),
                                                      torch.zeros(3, 4)),
         TypeError, "reference_boxes must have a floating dtype"),
        (lambda: BoxCoder((1, 1, 1, 1)).encode(torch.zeros(3, 4), [torch.zeros(3, 4)]),
         TypeError, "reference_boxes must be a list"),
        (lambda: BoxCoder((1, 1, 1, 1)).encode([torch.zeros(3, 4)], [torch.zeros(2, 4)]),
         ValueError, "as many boxes per image"),
        (lambda: BoxCoder((1, 1, 1, 1)).decode_single(torch.zeros(3, 6), torch.zeros(3, 4)),
         ValueError, "rel_codes must have shape (N, 4 * K)"),
        (lambda: BoxCoder((1, 1, 1, 1)).decode_single(torch.zeros(2, 4), torch.zeros(3, 4)),
         ValueError, "N = 3 boxes"),
        (lambda: BoxCoder((1, 1, 1, 1)).decode(torch.zeros(3, 5), [torch.zeros(3, 4)]),
         ValueError, "4 * K codes for each of the 3 boxes"),
        (lambda: BoxCoder((1, 1, 1, 1)).decode(torch.zeros(3, 4), torch.zeros(3, 4)),
         TypeError, "boxes must be a list"),
    ],
)
def test_box_coder_rejects_bad_input(call, error, words):
    with pytest.raises(error, match=None) as info:
        call()
    assert words in str(info.value)


# -------------------------------------------------------------------------- Matcher


def loop_matcher(quality: torch.Tensor, high: float, low: float, low_quality: bool) -> list:
    """The rule of Ren et al. (2015, sec. 3.1.2), one prediction at a time, in plain Python."""
    rows = quality.tolist()  # M lists of N values
    m, n = len(rows), len(rows[0])
    matches = []
    for j in range(n):
        column = [rows[i][j] for i in range(m)]
        best = max(column)
        first_best = column.index(best)
        if best >= high:
            matches.append(first_best)
        elif best >= low:
            matches.append(-2)
        else:
            matches.append(-1)
    if low_quality:
        for i in range(m):
            best_of_gt = max(rows[i])
            for j in range(n):
                if rows[i][j] == best_of_gt:  # every tie
                    column = [rows[r][j] for r in range(m)]
                    matches[j] = column.index(max(column))
    return matches


@st.composite
def quality_matrices(draw):
    m, n = draw(st.integers(1, 6)), draw(st.integers(1, 15))
    g = generator(draw(seeds))
    quality = torch.rand(m, n, generator=g, dtype=torch.float64)
    if draw(st.booleans()):  # coarse values: many ties, within rows and within columns
        quality = (quality * 4).floor() / 4
    low = draw(st.sampled_from([0.0, 0.25, 0.3, 0.5]))
    high = draw(st.sampled_from([h for h in (0.25, 0.5, 0.7, 1.0) if h >= low]))
    return quality, high, low, draw(st.booleans())


@settings(max_examples=80, deadline=None)
@given(quality_matrices())
def test_matcher_equals_torchvision_and_the_rule(case):
    quality, high, low, low_quality = case
    ours = Matcher(high, low, allow_low_quality_matches=low_quality)(quality)
    theirs = tv_utils.Matcher(high, low, allow_low_quality_matches=low_quality)(quality)
    assert ours.dtype == torch.int64 and ours.shape == (quality.shape[1],)
    assert torch.equal(ours, theirs)
    assert ours.tolist() == loop_matcher(quality, high, low, low_quality)


def test_low_quality_matches_include_ties():
    # ground truth 0 overlaps predictions 1 and 3 equally (0.4), below every threshold;
    # prediction 3 overlaps ground truth 1 better (0.6), so it learns ground truth 1
    quality = torch.tensor([[0.1, 0.4, 0.0, 0.4],
                            [0.0, 0.1, 0.2, 0.6]], dtype=torch.float64)
    plain = Matcher(0.7, 0.3)(quality)
    rescued = Matcher(0.7, 0.3, allow_low_quality_matches=True)(quality)
    assert plain.tolist() == [-1, -2, -1, -2]
    assert rescued.tolist() == [-1, 0, -1, 1]
    assert torch.equal(rescued, tv_utils.Matcher(0.7, 0.3, True)(quality))


def test_matcher_constants_are_torchvisions():
    theirs = tv_utils.Matcher(0.7, 0.3)
    assert Matcher.BELOW_LOW_THRESHOLD == theirs.BELOW_LOW_THRESHOLD == -1
    assert Matcher.BETWEEN_THRESHOLDS == theirs.BETWEEN_THRESHOLDS == -2
    ours = Matcher(0.7, 0.3)
    assert (ours.high_threshold, ours.low_threshold, ours.allow_low_quality_matches) == (
        theirs.high_threshold, theirs.low_threshold, theirs.allow_low_quality_matches)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: Matcher(0.3, 0.7), ValueError, "low_threshold must be <= high_threshold"),
        (lambda: Matcher("0.7", 0.3), TypeError, "high_threshold"),
        (lambda: Matcher(0.7, 0.3, allow_low_quality_matches=1), TypeError,
         "allow_low_quality_matches"),
        (lambda: Matcher(0.7, 0.3)(torch.zeros(0, 5)), ValueError, "No ground-truth boxes"),
        (lambda: Matcher(0.7, 0.3)(torch.zeros(2, 0)), ValueError, "No proposal boxes"),
        (lambda: Matcher(0.7, 0.3)(torch.zeros(5)), ValueError, "shape (M ground truths"),
        (lambda: Matcher(0.7, 0.3)(torch.zeros(2, 5, dtype=torch.long)), TypeError,
         "floating dtype"),
        (lambda: Matcher(0.7, 0.3)(torch.tensor([[0.5, float("nan")]])), ValueError, "NaN"),
        (lambda: Matcher(0.7, 0.3)([[0.5, 0.2]]), TypeError, "torch.Tensor"),
    ],
)
def test_matcher_rejects_bad_input(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)


# -------------------------------------------------------------------------- sampler


@st.composite
def label_lists(draw):
    g = generator(draw(seeds))
    images = []
    for _ in range(draw(st.integers(1, 3))):
        n = draw(st.integers(0, 60))
        labels = torch.randint(-2, 4, (n,), generator=g)  # -2, -1 ignored, 0 bg, 1..3 classes
        if draw(st.booleans()):
            labels = labels.clamp(max=1).to(torch.float32)  # the RPN's float labels
        images.append(labels)
    batch = draw(st.integers(1, 40))
    fraction = draw(st.sampled_from([0.0, 0.25, 0.29, 0.5, 0.7, 1.0]))
    return images, batch, fraction, draw(seeds)


@settings(max_examples=80, deadline=None)
@given(label_lists())
def test_sampler_equals_torchvision_under_the_same_seed(case):
    images, batch, fraction, seed = case
    torch.manual_seed(seed)
    theirs = tv_utils.BalancedPositiveNegativeSampler(batch, fraction)(images)
    torch.manual_seed(seed)
    ours = BalancedPositiveNegativeSampler(batch, fraction)(images)
    for got, want in zip(ours, theirs):
        assert len(got) == len(want) == len(images)
        for g, w in zip(got, want):
            assert g.dtype == w.dtype == torch.uint8
            assert torch.equal(g, w)


@settings(max_examples=80, deadline=None)
@given(label_lists())
def test_sampler_counts_follow_the_rule(case):
    images, batch, fraction, seed = case
    torch.manual_seed(seed)
    positive, negative = BalancedPositiveNegativeSampler(batch, fraction)(images)
    for labels, pos, neg in zip(images, positive, negative):
        n_pos, n_neg = int((labels >= 1).sum()), int((labels == 0).sum())
        want_pos = min(n_pos, int(batch * fraction))  # int(): 100 * 0.29 gives 28
        assert int(pos.sum()) == want_pos
        assert int(neg.sum()) == min(n_neg, batch - want_pos)
        assert bool((labels[pos.bool()] >= 1).all()) and bool((labels[neg.bool()] == 0).all())
        assert not bool((pos.bool() & neg.bool()).any())


def test_sampler_picks_each_positive_equally_often():
    labels = torch.tensor([1] * 8 + [0] * 4)  # 2 of the 8 positives, 2 of the 4 negatives
    sampler = BalancedPositiveNegativeSampler(batch_size_per_image=4, positive_fraction=0.5)
    torch.manual_seed(0)
    counts = torch.zeros(12)
    draws = 4000
    for _ in range(draws):
        pos, neg = sampler([labels])
        counts += pos[0] + neg[0]
    # a uniform subset: each positive is drawn with probability 2/8, each negative 2/4
    rate = counts / draws
    assert torch.allclose(rate[:8], torch.full((8,), 0.25, dtype=rate.dtype), atol=0.04)
    assert torch.allclose(rate[8:], torch.full((4,), 0.5, dtype=rate.dtype), atol=0.05)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: BalancedPositiveNegativeSampler(0, 0.5), ValueError, "batch_size_per_image"),
        (lambda: BalancedPositiveNegativeSampler(2.5, 0.5), TypeError, "batch_size_per_image"),
        (lambda: BalancedPositiveNegativeSampler(8, 1.5), ValueError, "positive_fraction"),
        (lambda: BalancedPositiveNegativeSampler(8, 0.5)(torch.zeros(5)), TypeError,
         "matched_idxs must be a list"),
        (lambda: BalancedPositiveNegativeSampler(8, 0.5)([torch.zeros(2, 5)]), ValueError,
         "matched_idxs[0] must have shape (N_i,)"),
        (lambda: BalancedPositiveNegativeSampler(8, 0.5)([torch.zeros(5, dtype=torch.bool)]),
         TypeError, "integer or floating labels"),
    ],
)
def test_sampler_rejects_bad_input(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)
