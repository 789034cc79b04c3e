"""The reference solutions of chapter 4's exercises against the libraries the shipped
grading tests cannot rely on (a student's Colab may lack them): captum's ``Saliency``,
``Occlusion`` and ``LayerGradCam``, and the ``lime`` package's ``LimeBase``, on random models
and inputs in float64. The grading tests use autograd, closed forms, scikit-learn and SciPy;
these show that what they grade is what the libraries compute."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import LayerGradCam, Occlusion, Saliency
from lime.lime_base import LimeBase
from torch import nn

from lecturepkg.grading.solutions import ch04


def _model(seed: int, channels: int = 3, classes: int = 4) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(channels, 5, 3, padding=1), nn.ReLU(), nn.Conv2d(5, 6, 3, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, classes)).double().eval()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_saliency_map_is_captums_saliency_max_over_channels(seed):
    model = _model(seed)
    x = torch.randn(3, 3, 7, 6, dtype=torch.float64, requires_grad=True)
    target = torch.tensor([0, 3, 1])
    captum = Saliency(model).attribute(x, target=target, abs=True).amax(dim=1)
    torch.testing.assert_close(ch04.saliency_map(model, x, target), captum, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("window,stride,baseline", [(3, 1, 0.0), ((2, 3), (2, 1), 0.5), (4, 3, -1.0), (3, 2, 0.0)])
def test_occlusion_map_is_captums_occlusion_over_all_channels(window, stride, baseline):
    model = _model(7)
    x = torch.randn(2, 3, 8, 7, dtype=torch.float64)
    kh, kw = (window, window) if isinstance(window, int) else window
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    captum = Occlusion(model).attribute(x, sliding_window_shapes=(3, kh, kw), strides=(3, sh, sw), target=2,
                                        baselines=baseline)
    assert torch.equal(captum[:, 0], captum[:, 2])  # one value per pixel: the window spans the channels
    # captum 0.9 returns float32 here, whatever the input's dtype: a few float32 roundings apart
    assert captum.dtype == torch.float32
    torch.testing.assert_close(ch04.occlusion_map(model, x, 2, window, stride, baseline), captum[:, 0].double(),
                               rtol=5e-7, atol=1e-9)


@pytest.mark.parametrize("layer", [0, 2])
def test_grad_cam_is_captums_layer_grad_cam(layer):
    model = _model(11)
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64)
    target = torch.tensor([1, 2])
    recorded = {}
    hook = model[layer].register_forward_hook(lambda m, i, out: recorded.setdefault("A", out))
    scores = model(x)
    hook.remove()
    (gradients,) = torch.autograd.grad(scores[torch.arange(2), target].sum(), recorded["A"])
    weights, cam = ch04.grad_cam(recorded["A"].detach().numpy(), gradients.numpy())
    captum = LayerGradCam(model, model[layer]).attribute(x, target=target, relu_attributions=True)
    np.testing.assert_allclose(cam, captum[:, 0].detach().numpy(), rtol=1e-10, atol=1e-12)
    assert weights.shape == (2, recorded["A"].shape[1])


def test_the_cam_identity_on_a_gap_network():
    """Grad-CAM of the last maps of a GAP network is its CAM (ReLU'd) over h * w."""
    model = _model(5)
    x = torch.randn(3, 3, 5, 4, dtype=torch.float64)
    target = torch.tensor([0, 2, 3])
    features = model[:4](x)
    cam = ch04.class_activation_map(features.detach().numpy(), model[6].weight.detach().numpy(), target.numpy())
    captum = LayerGradCam(model, model[3]).attribute(x, target=target, relu_attributions=True)[:, 0]
    np.testing.assert_allclose(np.maximum(cam, 0) / 20, captum.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("seed,alpha", [(0, 1.0), (1, 1.0), (2, 0.01)])
def test_lime_fit_is_the_lime_packages_weighted_ridge(seed, alpha):
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(seed)
    S, M, width = 300, 8, 0.25
    Z = rng.integers(0, 2, size=(S, M)).astype(float)
    Z[0] = 1
    d = 1 - Z.sum(axis=1) / (np.sqrt(np.maximum(Z.sum(axis=1), 1e-12)) * np.sqrt(M))  # lime_image's cosine
    y = Z @ rng.normal(size=M) + 0.2 * rng.normal(size=S)
    kernel = lambda dist: np.sqrt(np.exp(-(dist ** 2) / width ** 2))  # noqa: E731 - lime_image's kernel_fn
    base = LimeBase(kernel, random_state=0)
    intercept, explanation, _, _ = base.explain_instance_with_data(
        Z, y[:, None], d, 0, M, feature_selection="none", model_regressor=Ridge(alpha=alpha, fit_intercept=True))
    lime_coef = np.zeros(M)
    for feature, value in explanation:
        lime_coef[feature] = value
    coef, ours = ch04.lime_fit(Z, y, d, kernel_width=width, alpha=alpha)
    np.testing.assert_allclose(coef, lime_coef, rtol=1e-8, atol=1e-10)
    assert ours == pytest.approx(intercept, rel=1e-8, abs=1e-10)
