"""The evaluation of heat maps against independent oracles: brute-force loops for the
pointing game (with ties and tolerance) and the deletion/insertion curves, numpy.trapezoid
for the areas, scipy.stats.spearmanr for the rank correlations, scipy's Gaussian filter
for the insertion canvas, a cascade written out here for the randomisation test, and maps
made by hand where the answer is known."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter
from scipy.stats import spearmanr
from torch import nn

from lecturepkg.interpret.evaluate import (
    PixelCurve, chance_level, curve_auc, deletion_curve, insertion_curve, mass_inside,
    pointing_game, randomization_check, spearman,
)
from lecturepkg.models import GapNet


def _random_masks(rng, n, h, w):
    masks = np.zeros((n, h, w), dtype=bool)
    for i in range(n):
        r0, c0 = rng.integers(0, h - 3), rng.integers(0, w - 3)
        masks[i, r0:r0 + rng.integers(2, 5), c0:c0 + rng.integers(2, 5)] = True
    return masks


def _brute_pointing(maps, masks, tolerance):
    scores = []
    for m, mask in zip(maps, masks):
        peak = m.max()
        hits = total = 0
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                if m[i, j] == peak:
                    total += 1
                    d = min(np.hypot(i - a, j - b) for a, b in zip(*np.nonzero(mask)))
                    hits += d <= tolerance
        scores.append(hits / total)
    return np.array(scores)


@pytest.mark.parametrize("tolerance", [0.0, 1.0, 2.5])
@pytest.mark.parametrize("ties", [False, True])
def test_pointing_game_equals_a_brute_force_loop(tolerance, ties):
    rng = np.random.default_rng(0)
    maps = rng.random((12, 9, 10))
    if ties:
        maps = np.round(maps * 2) / 2  # many pixels share the maximum
    masks = _random_masks(rng, 12, 9, 10)
    got = pointing_game(torch.from_numpy(maps), torch.from_numpy(masks)[:, None],
                        tolerance=tolerance)
    np.testing.assert_allclose(got.numpy(), _brute_pointing(maps, masks, tolerance))
    assert got.dtype == torch.float64


def test_pointing_game_hand_made_and_chance():
    masks = torch.zeros(3, 6, 6)
    masks[:, 2:4, 2:4] = 1
    maps = torch.zeros(3, 6, 6)
    maps[0, 3, 3] = 1  # on the object
    maps[1, 0, 0] = 1  # off
    maps[2] = 1  # flat: every pixel is a maximum, 4 of 36 hit
    torch.testing.assert_close(pointing_game(maps, masks), torch.tensor([1.0, 0.0, 4 / 36]))
    torch.testing.assert_close(chance_level(masks), torch.full((3,), 4 / 36))
    # random maps point at the object as often as chance says (Monte Carlo)
    g = torch.Generator().manual_seed(0)
    noise = torch.rand(4000, 6, 6, generator=g)
    rate = pointing_game(noise, masks[:1].expand(4000, 6, 6)).mean()
    assert abs(rate - 4 / 36) < 0.02


def test_mass_inside_hand_made_and_against_numpy():
    maps = torch.tensor([[[2.0, -2.0], [1.0, 1.0]], [[-1.0, -1.0], [-1.0, -1.0]]])
    masks = torch.tensor([[[True, True], [False, False]]] * 2)
    got = mass_inside(maps, masks)
    assert got[0] == 0.5 and torch.isnan(got[1])
    torch.testing.assert_close(mass_inside(maps, masks, positive=False),
                               torch.tensor([4 / 6, 0.5]))
    rng = np.random.default_rng(1)
    m, k = rng.normal(size=(5, 7, 7)), _random_masks(rng, 5, 7, 7)
    expected = [np.clip(a, 0, None)[b].sum() / np.clip(a, 0, None).sum() for a, b in zip(m, k)]
    np.testing.assert_allclose(mass_inside(torch.from_numpy(m), torch.from_numpy(k)).numpy(),
                               expected)
    flat = torch.ones(5, 7, 7, dtype=torch.float64)  # a constant map: chance
    np.testing.assert_allclose(mass_inside(flat, torch.from_numpy(k)).numpy(),
                               chance_level(torch.from_numpy(k)).numpy())


class _Tiny(nn.Module):
    """A small classifier whose scores depend non-linearly on where the pixels are."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 6 * 7, 3)

    def forward(self, x):
        return self.fc(torch.tanh(self.conv(x)).flatten(1))


@pytest.fixture
def tiny():
    torch.manual_seed(0)
    return _Tiny().double().eval()


def _brute_curve(model, x, target, maps, steps, start, end, softmax=True):
    """One image at a time, one step at a time, numpy's stable sort for the order."""
    n, c, h, w = x.shape
    out = np.empty((n, steps + 1))
    for i in range(n):
        order = np.argsort(-maps[i].numpy().ravel(), kind="stable")
        for k in range(steps + 1):
            count = int(round(k * h * w / steps))
            image = start[i].clone()
            for p in order[:count]:
                r, col = divmod(int(p), w)
                image[:, r, col] = end[i, :, r, col]
            with torch.no_grad():
                scores = model(image[None])[0]
            if softmax:
                scores = scores.softmax(0)
            out[i, k] = scores[target[i]].item()
    return out


@pytest.mark.parametrize("steps", [1, 5, 42])
def test_deletion_curve_equals_a_brute_force_loop(tiny, steps):
    g = torch.Generator().manual_seed(1)
    x = torch.rand(3, 3, 6, 7, generator=g, dtype=torch.float64)
    maps = torch.rand(3, 6, 7, generator=g, dtype=torch.float64).round(decimals=1)  # ties
    target = torch.tensor([0, 2, 1])
    curve = deletion_curve(tiny, x, target, maps, steps=steps, baselines=0.25)
    expected = _brute_curve(tiny, x, target, maps, steps, x, torch.full_like(x, 0.25))
    np.testing.assert_allclose(curve.scores.numpy(), expected, rtol=1e-10)
    np.testing.assert_allclose(curve.fractions.numpy(), np.linspace(0, 1, steps + 1))
    raw = deletion_curve(tiny, x, 1, maps, steps=steps, softmax=False)
    expected = _brute_curve(tiny, x, [1, 1, 1], maps, steps, x, torch.zeros_like(x), False)
    np.testing.assert_allclose(raw.scores.numpy(), expected, rtol=1e-10)


def test_insertion_curve_equals_a_brute_force_loop_from_a_blurred_canvas(tiny):
    g = torch.Generator().manual_seed(2)
    x = torch.rand(2, 3, 6, 7, generator=g, dtype=torch.float64)
    maps = torch.randn(2, 6, 7, generator=g, dtype=torch.float64)
    sigma = 1.5  # radius ceil(3 sigma) = 5 pixels, reflected at the borders
    blurred = torch.from_numpy(gaussian_filter(x.numpy(), sigma=(0, 0, sigma, sigma),
                                               mode="mirror", truncate=5 / sigma))
    curve = insertion_curve(tiny, x, 2, maps, steps=6, sigma=sigma)
    expected = _brute_curve(tiny, x, [2, 2], maps, 6, blurred, x)
    np.testing.assert_allclose(curve.scores.numpy(), expected, rtol=1e-10)
    # the ends of the curve: the canvas, then the image itself
    with torch.no_grad():
        probs = tiny(x).softmax(1)[:, 2]
    np.testing.assert_allclose(curve.scores[:, -1].numpy(), probs.numpy(), rtol=1e-12)
    flat = insertion_curve(tiny, x, 2, maps, steps=3, baselines=0.5)
    expected = _brute_curve(tiny, x, [2, 2], maps, 3, torch.full_like(x, 0.5), x)
    np.testing.assert_allclose(flat.scores.numpy(), expected, rtol=1e-10)


def test_a_map_of_the_true_evidence_deletes_faster_than_its_reverse():
    """A linear model whose evidence is known: deleting the pixels with the largest
    positive weights first makes the score fall faster than deleting them last."""
    torch.manual_seed(0)
    weights = torch.randn(8, 8, dtype=torch.float64)

    def model(x):  # (N, 1, 8, 8) -> (N, 2): the weighted sum, and a constant 0
        return torch.stack([(x[:, 0] * weights).sum((1, 2)), torch.zeros_like(x[:, 0, 0, 0])], 1)

    x = torch.ones(1, 1, 8, 8, dtype=torch.float64)
    good = curve_auc(deletion_curve(model, x, 0, weights[None], steps=64, softmax=False))
    bad = curve_auc(deletion_curve(model, x, 0, -weights[None], steps=64, softmax=False))
    assert good < bad - 1


def test_curve_auc_equals_numpy_trapezoid():
    rng = np.random.default_rng(3)
    fractions = np.sort(np.r_[0, rng.random(9), 1])
    scores = rng.random((4, 11))
    got = curve_auc(PixelCurve(torch.from_numpy(fractions), torch.from_numpy(scores)))
    np.testing.assert_allclose(got.numpy(), np.trapezoid(scores, fractions, axis=1))


@pytest.mark.parametrize("ties", [False, True])
def test_spearman_equals_scipy(ties):
    rng = np.random.default_rng(4)
    a, b = rng.random((6, 5, 5)), rng.random((6, 5, 5))
    b[:3] = a[:3] + 0.3 * b[:3]  # some correlated pairs
    if ties:
        a, b = np.round(a * 3), np.round(b * 4)
    got = spearman(torch.from_numpy(a), torch.from_numpy(b))
    expected = [spearmanr(x.ravel(), y.ravel()).statistic for x, y in zip(a, b)]
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)
    assert torch.isnan(spearman(torch.ones(1, 3, 3), torch.rand(1, 3, 3)))[0]


def _grad_map(model, x, target):
    """Saliency written out: |d score / d x|, max over channels."""
    x = x.clone().requires_grad_()
    score = model(x)[torch.arange(len(x)), target].sum()
    (grad,) = torch.autograd.grad(score, x)
    return grad.abs().amax(1)


def test_randomization_check_equals_the_cascade_written_out():
    torch.manual_seed(0)
    model = GapNet(3, num_classes=4, width=4).double().eval()
    x = torch.rand(3, 3, 16, 16, dtype=torch.float64)
    target = torch.tensor([0, 1, 3])
    before = copy.deepcopy(model.state_dict())
    torch.manual_seed(123)
    state = torch.get_rng_state()
    result = randomization_check(model, x, target, _grad_map, seed=7)
    assert torch.equal(torch.get_rng_state(), state)  # the caller's random state is kept
    for key, value in model.state_dict().items():  # the model is not changed
        assert torch.equal(value, before[key]), key
    assert result.layers == ("head", "features", "stage2", "stage1")
    # the cascade, written out
    original = _grad_map(model, x, target)
    torch.testing.assert_close(result.original, original)
    other = copy.deepcopy(model)
    torch.manual_seed(7)
    for i, name in enumerate(result.layers):
        for module in other.get_submodule(name).modules():
            if isinstance(module, (nn.Conv2d, nn.Linear, nn.BatchNorm2d)):
                module.reset_parameters()
        maps = _grad_map(other, x, target)
        torch.testing.assert_close(result.maps[i], maps)
        for j in range(3):
            a, b = original[j].numpy().ravel(), maps[j].numpy().ravel()
            np.testing.assert_allclose(result.rank_correlation_abs[i, j],
                                       spearmanr(np.abs(a), np.abs(b)).statistic, rtol=1e-10)
            np.testing.assert_allclose(result.rank_correlation[i, j],
                                       spearmanr(a, b).statistic, rtol=1e-10)
    # every re-initialised layer changed, the others did not
    assert not torch.equal(model.stage1.conv.weight, other.stage1.conv.weight)


def test_a_map_that_ignores_the_model_fails_the_sanity_check():
    torch.manual_seed(1)
    model = GapNet(3, num_classes=2, width=4).eval()
    x = torch.rand(2, 3, 16, 16)

    def edges(m, inputs, t):  # horizontal differences of the image: no model in it
        return inputs.diff(dim=3, prepend=inputs[..., :1]).abs().sum(1)

    result = randomization_check(model, x, 0, edges)
    assert (result.rank_correlation_abs == 1).all() and not result.passed()
    result = randomization_check(model, x, 0, _grad_map, layers=["head"])
    assert result.maps.shape == (1, 2, 16, 16)
    assert result.passed(threshold=1.01) and not result.passed(threshold=-1.01)


def test_bad_input_is_refused(tiny):
    x = torch.rand(2, 3, 6, 7, dtype=torch.float64)
    maps = torch.rand(2, 6, 7, dtype=torch.float64)
    masks = torch.ones(2, 6, 7)
    with pytest.raises(ValueError, match=r"maps must have shape \(N, H, W\)"):
        pointing_game(maps[:, None], masks)
    with pytest.raises(TypeError, match="maps must be a torch.Tensor"):
        pointing_game(maps.numpy(), masks)
    with pytest.raises(ValueError, match="masks must have the maps' shape"):
        mass_inside(maps, masks[:, :5])
    with pytest.raises(ValueError, match="masks must hold only 0 and 1"):
        mass_inside(maps, masks * 2)
    with pytest.raises(ValueError, match="masks must mark at least one pixel"):
        pointing_game(maps, torch.zeros(2, 6, 7))
    with pytest.raises(ValueError, match="tolerance must be >= 0"):
        pointing_game(maps, masks, tolerance=-1)
    with pytest.raises(ValueError, match="maps must be finite"):
        pointing_game(maps * float("nan"), masks)
    with pytest.raises(ValueError, match="maps must have the inputs' height and width"):
        deletion_curve(tiny, x, 0, maps[:, :5])
    with pytest.raises(ValueError, match="maps must have one map per image"):
        deletion_curve(tiny, x, 0, maps[:1])
    with pytest.raises(ValueError, match="steps must be >= 1"):
        insertion_curve(tiny, x, 0, maps, steps=0)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        insertion_curve(tiny, x, 0, maps, sigma=0)
    with pytest.raises(ValueError, match="target must be < num_classes"):
        deletion_curve(tiny, x, 5, maps)
    with pytest.raises(ValueError, match="curve's fractions must be"):
        curve_auc(PixelCurve(torch.tensor([1.0, 0.0]), torch.ones(1, 2)))
    with pytest.raises(ValueError, match=r"fractions \(K,\) and scores \(N, K\)"):
        curve_auc(PixelCurve(torch.tensor([0.0, 1.0]), torch.ones(1, 3)))
    with pytest.raises(ValueError, match="the maps must have the same shape"):
        spearman(maps, maps[:1])
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        randomization_check(lambda x: x, x, 0, _grad_map)
    with pytest.raises(ValueError, match="layers must name modules of model"):
        randomization_check(tiny, x, 0, _grad_map, layers=["nope"])
    with pytest.raises(TypeError, match="layers must be a non-empty list"):
        randomization_check(tiny, x, 0, _grad_map, layers="fc")
    with pytest.raises(TypeError, match="explain must be a callable"):
        randomization_check(tiny, x, 0, "saliency")
