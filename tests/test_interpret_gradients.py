"""lecturepkg.interpret's gradient methods and heat maps against independent oracles.

Oracles:

* captum (``Saliency``, ``NoiseTunnel(Saliency)`` with ``nt_type="smoothgrad"``,
  ``IntegratedGradients``) with the same arguments, in float64. captum makes some tensors
  of its own with torch's default dtype (SmoothGrad's standard deviation, the points of the
  Riemann rules), so its calls run with the default dtype set to float64
  (:func:`float64_default`); it rounds the weights of its integration rules to float32,
  exact for the Riemann rules when ``n_steps`` is a power of two, about 1e-7 relative for
  Gauss-Legendre.
* SmoothGrad's noise: captum draws it from torch's global generator; after
  ``torch.manual_seed(s)`` ours draws the same (``seed=None``), and ``seed=s`` draws from a
  generator of its own seeded with ``s``, the same numbers again.
* per image, with plain autograd on one image at a time (the batch must not mix images);
  for a linear model the gradient is the weight row, and integrated gradients are
  ``w * (x - x')`` exactly, whatever the rule.
* completeness (Sundararajan et al. 2017, Prop. 1): the attributions add up to
  ``S(x) - S(x')``, up to an integration error that shrinks as ``n_steps`` grows.
* the heat map: the lecture notes' definition (absolute value, maximum over channels)
  written with numpy.

Networks: a random one with batch norm (eval mode, non-trivial statistics) and max pooling
on 3-channel inputs, a smooth one (softplus, average pooling), and one trained briefly on
scikit-learn's digits; batches of several images; int and tensor targets.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pytest
import torch
from torch import nn

captum_attr = pytest.importorskip("captum.attr")

from lecturepkg.interpret import (  # noqa: E402
    heatmap,
    integrated_gradients,
    normalize_map,
    saliency,
    smoothgrad,
)
from lecturepkg.interpret.gradients import METHODS, integration_points  # noqa: E402
from helpers import train_on_digits

DTYPE = torch.float64
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@contextlib.contextmanager
def float64_default():
    """torch's default dtype float64 inside (for the tensors captum makes itself)."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(before)


def convnet(in_channels: int = 3, classes: int = 5, smooth: bool = False) -> nn.Sequential:
    """conv-BN-act-pool-conv-act-GAP-linear; ``smooth``: softplus and average pooling."""
    act = nn.Softplus if smooth else nn.ReLU
    pool = nn.AvgPool2d if smooth else nn.MaxPool2d
    return nn.Sequential(
        nn.Conv2d(in_channels, 6, 3, padding=1),
        nn.BatchNorm2d(6),
        act(),
        pool(2),
        nn.Conv2d(6, 8, 3, padding=1),
        act(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, classes),
    )


def random_net(seed: int = 0, smooth: bool = False) -> nn.Sequential:
    """A random convnet in eval mode, float64, with non-trivial batch-norm statistics."""
    torch.manual_seed(seed)
    net = convnet(smooth=smooth).to(DTYPE)
    bn = net[1]
    with torch.no_grad():
        for conv in (net[0], net[4]):  # He initialisation: activations of order 1
            nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.normal_()
        bn.running_mean.normal_(0, 0.3)
        bn.running_var.uniform_(0.5, 2.0)
        net[-1].weight.mul_(3.0)  # scores that differ between classes
    return net.eval()


@pytest.fixture(scope="module")
def trained():
    """A convnet trained for 150 steps on digits (8 x 8, grey); 4 test images, labels."""
    torch.manual_seed(0)
    net = convnet(in_channels=1, classes=10).to(DTYPE)
    net, accuracy, x, y = train_on_digits(net, steps=150, lr=0.02, dtype=DTYPE)
    assert accuracy > 0.5, accuracy  # it learned something: chance is 0.1
    return net, x[:4], y[:4]


def case(kind: str, trained_net) -> tuple:
    """(model, inputs, number of classes) for 'random', 'smooth' or 'trained'."""
    if kind == "trained":
        net, x, _ = trained_net
        return net, x, 10
    torch.manual_seed(1)
    x = torch.rand(3, 3, 10, 9, dtype=DTYPE)
    return random_net(2, smooth=kind == "smooth"), x, 5


def target_for(kind: str, n: int, classes: int, trained_net=None):
    if kind == "int":
        return 3
    if trained_net is not None and n == trained_net[2].shape[0]:
        return trained_net[2].clone()  # the true labels
    return torch.arange(n) % classes


MODELS = ["random", "smooth", "trained"]
TARGETS = ["int", "tensor"]


def close(got, expected, rtol=1e-10, atol=1e-12):
    assert got.shape == expected.shape and got.dtype == expected.dtype
    torch.testing.assert_close(got, expected, rtol=rtol, atol=atol)


# ----------------------------------------------------------------------------- saliency


@pytest.mark.parametrize("abs_", [True, False])
@pytest.mark.parametrize("target_kind", TARGETS)
@pytest.mark.parametrize("model_kind", MODELS)
def test_saliency_equals_captum(model_kind, target_kind, abs_, trained):
    net, x, classes = case(model_kind, trained)
    target = target_for(target_kind, x.shape[0], classes, trained)
    with float64_default():
        expected = captum_attr.Saliency(net).attribute(x.clone(), target=target, abs=abs_)
    got = saliency(net, x, target, abs=abs_)
    close(got, expected)
    assert expected.abs().max() > 1e-3  # not a trivially zero gradient
    if not abs_:
        assert (got < 0).any()  # signed


@pytest.mark.parametrize("model_kind", MODELS)
def test_saliency_is_each_images_own_gradient(model_kind, trained):
    """One image at a time with plain autograd: the batch does not mix images."""
    net, x, classes = case(model_kind, trained)
    target = torch.arange(x.shape[0]) % classes
    got = saliency(net, x, target, abs=False)
    for i in range(x.shape[0]):
        xi = x[i : i + 1].clone().requires_grad_(True)
        net(xi)[0, target[i]].backward()
        close(got[i], xi.grad[0])


def test_saliency_of_a_linear_model_is_its_weight_row():
    torch.manual_seed(3)
    linear = nn.Linear(2 * 4 * 3, 6).to(DTYPE)
    model = nn.Sequential(nn.Flatten(), linear)
    x = torch.randn(5, 2, 4, 3, dtype=DTYPE)
    target = torch.tensor([0, 5, 2, 2, 1])
    expected = linear.weight.detach()[target].reshape(5, 2, 4, 3)
    close(saliency(model, x, target, abs=False), expected)
    close(saliency(model, x, target), expected.abs())


def test_saliency_leaves_inputs_and_parameters_alone():
    net = random_net(4)
    x = torch.rand(2, 3, 8, 8, dtype=DTYPE)
    before = x.clone()
    saliency(net, x, 1)
    assert torch.equal(x, before) and not x.requires_grad and x.grad is None
    assert all(p.grad is None for p in net.parameters())


def test_seeds_saliency_map_is_max_over_channels_of_abs_gradient():
    """The lecture notes: absolute value of the gradient, maximised over the channels."""
    net, x = random_net(5), torch.rand(2, 3, 8, 8, dtype=DTYPE)
    grad = saliency(net, x, 2, abs=False).numpy()
    expected = np.abs(grad).max(axis=1)  # (N, H, W)
    got = heatmap(saliency(net, x, 2), reduce="max_abs")
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12, atol=0)
    assert got.shape == (2, 8, 8)


# ----------------------------------------------------------------------------- SmoothGrad


@pytest.mark.parametrize("abs_", [True, False])
@pytest.mark.parametrize("target_kind", TARGETS)
@pytest.mark.parametrize("model_kind", MODELS)
def test_smoothgrad_equals_captum_with_the_same_noise(model_kind, target_kind, abs_, trained):
    net, x, classes = case(model_kind, trained)
    target = target_for(target_kind, x.shape[0], classes, trained)
    kwargs = dict(nt_samples=7, stdevs=0.2)
    with float64_default():
        torch.manual_seed(11)
        expected = captum_attr.NoiseTunnel(captum_attr.Saliency(net)).attribute(
            x.clone(), nt_type="smoothgrad", target=target, abs=abs_, **kwargs
        )
    torch.manual_seed(11)
    global_rng = smoothgrad(net, x, target, abs=abs_, **kwargs)  # seed=None: global generator
    own_rng = smoothgrad(net, x, target, abs=abs_, seed=11, **kwargs)
    close(global_rng, expected)
    close(own_rng, expected)
    # the noise matters: the map differs from plain saliency
    plain = saliency(net, x, target, abs=abs_)
    assert (expected - plain).abs().max() > 1e-2 * plain.abs().max()


def test_smoothgrad_in_batches_of_noisy_copies_equals_captums():
    """nt_samples_batch_size: captum draws the noise per batch (3, 3, then the rest 1)."""
    net, x = random_net(6), torch.rand(2, 3, 8, 7, dtype=DTYPE)
    with float64_default():
        torch.manual_seed(5)
        expected = captum_attr.NoiseTunnel(captum_attr.Saliency(net)).attribute(
            x.clone(), nt_type="smoothgrad", nt_samples=7, nt_samples_batch_size=3,
            stdevs=0.3, target=torch.tensor([4, 0]),
        )
    got = smoothgrad(net, x, torch.tensor([4, 0]), nt_samples=7, stdevs=0.3, seed=5,
                     nt_samples_batch_size=3)
    close(got, expected)


def test_smoothgrad_is_the_mean_saliency_of_the_drawn_noisy_copies():
    """Written out: draw the noise as documented, average the per-copy gradients."""
    net, x = random_net(7), torch.rand(2, 3, 6, 6, dtype=DTYPE)
    n, samples, sigma = 2, 5, 0.25
    noise = torch.randn((n * samples, 3, 6, 6), generator=torch.Generator().manual_seed(9),
                        dtype=DTYPE) * sigma
    expected = torch.zeros_like(x)
    for i in range(n):
        for s in range(samples):  # copies of image 0 first, then of image 1
            xi = (x[i] + noise[i * samples + s])[None].requires_grad_(True)
            net(xi)[0, 1].backward()
            expected[i] += xi.grad[0] / samples
    close(smoothgrad(net, x, 1, nt_samples=samples, stdevs=sigma, seed=9, abs=False), expected)


def test_smoothgrad_seed_reproduces_and_zero_noise_is_saliency():
    net, x = random_net(8), torch.rand(2, 3, 6, 6, dtype=DTYPE)
    a = smoothgrad(net, x, 0, nt_samples=4, seed=1)
    assert torch.equal(a, smoothgrad(net, x, 0, nt_samples=4, seed=1))
    assert not torch.equal(a, smoothgrad(net, x, 0, nt_samples=4, seed=2))
    close(smoothgrad(net, x, 0, nt_samples=3, stdevs=0.0), saliency(net, x, 0))


# ------------------------------------------------------------------ integrated gradients


@pytest.mark.parametrize("method", ["riemann_left", "riemann_right", "riemann_middle"])
@pytest.mark.parametrize("target_kind", TARGETS)
@pytest.mark.parametrize("model_kind", MODELS)
def test_integrated_gradients_equal_captum_riemann(model_kind, target_kind, method, trained):
    """n_steps = 32: captum's float32 weights 1/32 are exact, so float64 agreement is tight."""
    net, x, classes = case(model_kind, trained)
    target = target_for(target_kind, x.shape[0], classes, trained)
    with float64_default():
        expected = captum_attr.IntegratedGradients(net).attribute(
            x.clone(), target=target, n_steps=32, method=method
        )
    close(integrated_gradients(net, x, target, n_steps=32, method=method), expected)
    assert expected.abs().max() > 1e-3


@pytest.mark.parametrize("model_kind", MODELS)
def test_integrated_gradients_equal_captum_gauss_legendre(model_kind, trained):
    """captum rounds the Gauss-Legendre weights to float32: agreement to about 1e-7."""
    net, x, classes = case(model_kind, trained)
    target = target_for("tensor", x.shape[0], classes, trained)
    with float64_default():
        expected = captum_attr.IntegratedGradients(net).attribute(
            x.clone(), target=target, n_steps=20, method="gausslegendre"
        )
    got = integrated_gradients(net, x, target, n_steps=20, method="gausslegendre")
    close(got, expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("n_steps", [2, 8, 32])
@pytest.mark.parametrize("model_kind", MODELS)
def test_trapezoid_is_captums_times_n_over_n_minus_1(model_kind, n_steps, trained):
    """Same points; captum's weights add up to (n - 1) / n, ours to 1 (see the docstring)."""
    net, x, classes = case(model_kind, trained)
    with float64_default():
        theirs = captum_attr.IntegratedGradients(net).attribute(
            x.clone(), target=2, n_steps=n_steps, method="riemann_trapezoid"
        )
    ours = integrated_gradients(net, x, 2, n_steps=n_steps, method="riemann_trapezoid")
    close(ours, theirs * n_steps / (n_steps - 1))
    assert (ours - theirs).abs().max() > 1e-4  # they do differ


@pytest.mark.parametrize("baseline_kind", ["number", "batch", "one"])
def test_integrated_gradients_baselines_equal_captum(baseline_kind):
    net, x = random_net(9), torch.rand(3, 3, 8, 8, dtype=DTYPE)
    torch.manual_seed(2)
    baselines = {
        "number": 0.5,
        "batch": torch.rand(3, 3, 8, 8, dtype=DTYPE),
        "one": torch.rand(1, 3, 8, 8, dtype=DTYPE),
    }[baseline_kind]
    target = torch.tensor([1, 0, 4])
    with float64_default():
        expected = captum_attr.IntegratedGradients(net).attribute(
            x.clone(), baselines=baselines, target=target, n_steps=16, method="riemann_middle"
        )
    got = integrated_gradients(net, x, target, baselines=baselines, n_steps=16,
                               method="riemann_middle")
    close(got, expected)


@pytest.mark.parametrize("internal_batch_size", [1, 5, 7, 1000])
def test_integrated_gradients_internal_batches_change_nothing(internal_batch_size):
    net, x = random_net(10), torch.rand(3, 3, 8, 8, dtype=DTYPE)
    with float64_default():
        expected = captum_attr.IntegratedGradients(net).attribute(
            x.clone(), target=3, n_steps=16, method="riemann_left",
            internal_batch_size=internal_batch_size,
        )
    got = integrated_gradients(net, x, 3, n_steps=16, method="riemann_left",
                               internal_batch_size=internal_batch_size)
    close(got, expected)


def linear_case():
    torch.manual_seed(12)
    linear = nn.Linear(3 * 5 * 4, 4).to(DTYPE)
    model = nn.Sequential(nn.Flatten(), linear)
    x, x0 = torch.randn(2, 3, 5, 4, dtype=DTYPE), torch.randn(1, 3, 5, 4, dtype=DTYPE)
    return model, linear, x, x0


@pytest.mark.parametrize("method", METHODS)
def test_integrated_gradients_of_a_linear_model_are_exact(method):
    """A constant gradient w: IG = w * (x - x'), for every rule and any n_steps."""
    model, linear, x, x0 = linear_case()
    target = torch.tensor([3, 1])
    expected = linear.weight.detach()[target].reshape(2, 3, 5, 4) * (x - x0)
    got = integrated_gradients(model, x, target, baselines=x0, n_steps=5, method=method)
    close(got, expected)


def test_captums_trapezoid_misses_completeness_by_one_over_n():
    """The reason the course's trapezoid weights differ from captum's."""
    model, _, x, x0 = linear_case()
    with torch.no_grad():
        change = model(x)[:, 2] - model(x0.expand_as(x))[:, 2]  # S(x) - S(x')
    with float64_default():
        theirs = captum_attr.IntegratedGradients(model).attribute(
            x.clone(), baselines=x0, target=2, n_steps=8, method="riemann_trapezoid"
        )
    ours = integrated_gradients(model, x, 2, baselines=x0, n_steps=8)
    close(ours.sum(dim=(1, 2, 3)), change)
    close(theirs.sum(dim=(1, 2, 3)), change * 7 / 8)


def completeness_error(net, x, target, n_steps, method, baselines=None):
    """|sum of the attributions - (S(x) - S(x'))| per image, and |S(x) - S(x')|."""
    attributions = integrated_gradients(net, x, target, baselines=baselines,
                                        n_steps=n_steps, method=method)
    x0 = torch.zeros_like(x) if baselines is None else baselines.expand_as(x)
    with torch.no_grad():
        rows = torch.arange(x.shape[0])
        change = net(x)[rows, target] - net(x0)[rows, target]
    return (attributions.sum(dim=(1, 2, 3)) - change).abs(), change.abs()


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("model_kind", MODELS)
def test_completeness_error_shrinks_with_n_steps(model_kind, method, trained):
    """Sundararajan et al. 2017, Prop. 1: the attributions add up to S(x) - S(x')."""
    net, x, classes = case(model_kind, trained)
    target = torch.arange(x.shape[0]) % classes
    errors = [completeness_error(net, x, target, n, method)[0].max().item()
              for n in (4, 32, 256)]
    _, change = completeness_error(net, x, target, 2, method)
    assert change.min() > 0.01  # a score change to explain
    # kinks of ReLU and max pooling: the error falls like 1 / n_steps at worst
    # (+ 1e-12: Gauss-Legendre on the smooth network is at rounding error by 32 steps)
    assert errors[2] < errors[1] + 1e-12 and errors[2] < errors[0] / 4, errors
    assert errors[2] < 0.1 * change.min().item(), (errors, change)


def test_completeness_of_a_smooth_model_converges_fast():
    """Softplus network: a smooth integrand, trapezoid error ~ 1/n^2, Gauss-Legendre faster."""
    net, x = random_net(13, smooth=True), torch.rand(3, 3, 8, 8, dtype=DTYPE)
    target = torch.tensor([0, 1, 2])
    trap = [completeness_error(net, x, target, n, "riemann_trapezoid")[0].max().item()
            for n in (8, 64)]
    assert trap[1] < trap[0] / 20, trap  # 1/n^2 would give 1/64
    gauss = completeness_error(net, x, target, 16, "gausslegendre")[0].max().item()
    assert gauss < 1e-9


def test_integration_points_oracle():
    """Weights add up to 1; Gauss-Legendre is exact for polynomials of degree 2n - 1."""
    for method in METHODS:
        alphas, weights = integration_points(6, method)
        assert alphas.shape == weights.shape == (6,)
        assert np.all((alphas >= 0) & (alphas <= 1))
        np.testing.assert_allclose(weights.sum(), 1.0, rtol=1e-14)
    alphas, weights = integration_points(4, "gausslegendre")
    for degree in range(8):  # integral of a^d over [0, 1] is 1 / (d + 1)
        np.testing.assert_allclose(weights @ alphas**degree, 1 / (degree + 1), rtol=1e-13)
    alphas, weights = integration_points(3, "riemann_trapezoid")
    np.testing.assert_allclose(alphas, [0, 0.5, 1])
    np.testing.assert_allclose(weights, [0.25, 0.5, 0.25])
    np.testing.assert_allclose(integration_points(4, "riemann_middle")[0],
                               [0.125, 0.375, 0.625, 0.875])


# ----------------------------------------------------------------------------- heat maps


@pytest.mark.parametrize("reduce", ["max_abs", "sum", "abs_sum"])
def test_heatmap_equals_numpy(reduce):
    torch.manual_seed(0)
    a = torch.randn(3, 4, 5, 6, dtype=DTYPE)
    expected = {
        "max_abs": np.abs(a.numpy()).max(axis=1),
        "sum": a.numpy().sum(axis=1),
        "abs_sum": np.abs(a.numpy()).sum(axis=1),
    }[reduce]
    np.testing.assert_allclose(heatmap(a, reduce=reduce).numpy(), expected, rtol=1e-12)


def test_ig_heatmap_sum_keeps_the_total():
    net, x = random_net(14), torch.rand(2, 3, 8, 8, dtype=DTYPE)
    attributions = integrated_gradients(net, x, 1)
    close(heatmap(attributions, reduce="sum").sum(dim=(1, 2)), attributions.sum(dim=(1, 2, 3)))


def test_normalize_map_equals_numpy_per_image():
    torch.manual_seed(0)
    maps = torch.randn(4, 5, 6, dtype=DTYPE)
    maps[2] = 7.0  # constant: zeros
    maps[3] = 0.0  # all zero: zeros
    m = maps.numpy()
    low, high = m.min(axis=(1, 2), keepdims=True), m.max(axis=(1, 2), keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = np.where(high > low, (m - low) / (high - low), 0.0)
        scale = np.abs(m).max(axis=(1, 2), keepdims=True)
        expected_abs = np.where(scale > 0, m / scale, 0.0)
    np.testing.assert_allclose(normalize_map(maps).numpy(), expected, rtol=1e-12, atol=1e-15)
    got = normalize_map(maps, method="max_abs").numpy()
    np.testing.assert_allclose(got, expected_abs, rtol=1e-12, atol=1e-15)
    assert got[0].min() < 0 and np.abs(got[0]).max() == 1.0
    normed = normalize_map(maps)
    assert normed[0].min() == 0 and normed[0].max() == 1 and not torch.isnan(normed).any()


# ----------------------------------------------------------------------------- bad input


def bad_input_cases():
    net = random_net(15)
    x = torch.rand(2, 3, 8, 8, dtype=DTYPE)
    return net, x


@pytest.mark.parametrize("method", [saliency, smoothgrad, integrated_gradients])
@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        (dict(inputs=torch.rand(3, 8, 8, dtype=DTYPE)), ValueError,
         r"inputs must have shape \(N, C, H, W\)"),
        (dict(inputs=np.zeros((2, 3, 8, 8))), TypeError, "inputs must be a torch.Tensor"),
        (dict(inputs=torch.ones(2, 3, 8, 8, dtype=torch.int64)), TypeError, "floating-point"),
        (dict(inputs=torch.rand(2, 3, 8, 8)), TypeError, "dtype torch.float32 but the model"),
        (dict(target=1.0), TypeError, "target must be an int or a"),
        (dict(target=[0, 1]), TypeError, "target must be an int or a"),
        (dict(target=torch.tensor([0, 1, 2])), ValueError, r"shape \(2,\)"),
        (dict(target=torch.tensor([0.0, 1.0])), TypeError, "integer class indices"),
        (dict(target=5), ValueError, "target must be < num_classes = 5"),
        (dict(target=-1), ValueError, "target must be >= 0"),
        (dict(model="net"), TypeError, "model must be a torch.nn.Module or a callable"),
    ],
)
def test_bad_inputs_raise_clear_errors(method, change, error, match):
    net, x = bad_input_cases()
    args = dict(model=net, inputs=x, target=0) | change
    with pytest.raises(error, match=match):
        method(**args)


def test_model_that_does_not_return_scores_is_refused():
    model = nn.Conv2d(3, 2, 3).to(DTYPE)  # (N, 2, h, w), not (N, num_classes)
    with pytest.raises(ValueError, match=r"scores of shape \(N, num_classes\)"):
        saliency(model, torch.rand(2, 3, 8, 8, dtype=DTYPE), 0)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(baselines=torch.zeros(3, 8, 8, dtype=DTYPE)), ValueError, "baselines must be"),
        (dict(baselines=torch.zeros(2, 3, 8, 9, dtype=DTYPE)), ValueError, "baselines must be"),
        (dict(baselines="black"), TypeError, "baselines must be a real number"),
        (dict(n_steps=1), ValueError, "n_steps must be >= 2"),
        (dict(n_steps=0, method="gausslegendre"), ValueError, "n_steps must be >= 1"),
        (dict(n_steps=2.5), TypeError, "n_steps must be an int"),
        (dict(method="simpson"), ValueError, "method must be one of"),
        (dict(internal_batch_size=0), ValueError, "internal_batch_size must be >= 1"),
    ],
)
def test_integrated_gradients_bad_arguments(kwargs, error, match):
    net, x = bad_input_cases()
    with pytest.raises(error, match=match):
        integrated_gradients(net, x, 0, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(nt_samples=0), ValueError, "nt_samples must be >= 1"),
        (dict(stdevs=-0.1), ValueError, "stdevs must be >= 0"),
        (dict(stdevs=float("nan")), ValueError, "stdevs must be finite"),
        (dict(seed=-1), ValueError, "seed must be >= 0"),
        (dict(seed=1.5), TypeError, "seed must be an int"),
        (dict(abs=1), TypeError, "abs must be True or False"),
        (dict(nt_samples_batch_size=0), ValueError, "nt_samples_batch_size must be >= 1"),
    ],
)
def test_smoothgrad_bad_arguments(kwargs, error, match):
    net, x = bad_input_cases()
    with pytest.raises(error, match=match):
        smoothgrad(net, x, 0, **kwargs)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: heatmap(torch.zeros(2, 8, 8)), ValueError, r"\(N, C, H, W\)"),
        (lambda: heatmap(torch.zeros(1, 3, 2, 2), reduce="max"), ValueError, "reduce must be"),
        (lambda: heatmap(np.zeros((1, 3, 2, 2))), TypeError, "torch.Tensor"),
        (lambda: heatmap(torch.zeros(1, 3, 2, 2, dtype=torch.int64)), TypeError, "floating"),
        (lambda: normalize_map(torch.zeros(8, 8)), ValueError, r"\(N, H, W\)"),
        (lambda: normalize_map(torch.zeros(1, 8, 8), method="z"), ValueError, "method must be"),
        (lambda: normalize_map(torch.zeros(0, 8, 8)), ValueError, "must not be empty"),
    ],
)
def test_map_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_training_mode_with_batch_norm_warns():
    net, x = bad_input_cases()
    net.train()
    with pytest.warns(UserWarning, match=r"training mode.*model.eval\(\)"):
        saliency(net, x, 0)
    net.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        saliency(net, x, 0)  # eval mode: no warning
