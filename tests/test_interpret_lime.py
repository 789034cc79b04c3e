"""lecturepkg.interpret.lime_explainer against the ``lime`` package and a linear model.

Oracle: ``lime.lime_image.LimeImageExplainer.explain_instance`` with the same
segmentation, the same ``random_state`` (an int: both draw from
``numpy.random.RandomState(seed)``, first the segmentation's seed, then the perturbation
bits), ``hide_color``, ``num_samples``, ``kernel_width``, ``num_features`` and
``feature_selection``, ``top_labels=None`` and ``labels=(target,)``. ``lime`` takes the
image as ``(H, W, C)`` numpy and a ``classifier_fn`` that returns the model's softmax.
Compared: the perturbation vectors and class scores ``lime`` generates (captured by
wrapping its ``data_labels``), the kernel weights (``lime``'s ``kernel_fn`` on scikit-learn's
cosine distances), and the fit's weight per superpixel, intercept, R² and local prediction.

Second oracle, independent of ``lime``: for a model that is linear in its input and with
raw scores, every perturbed score is exactly ``f(hidden) + sum_s z_s * contribution_s``, so
an unpenalised fit must return those contributions, that intercept and R² = 1.

Everything runs in float64, with random and briefly trained models.
"""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import skimage.transform
import torch
from sklearn.metrics import pairwise_distances
from torch import nn

lime_image_module = pytest.importorskip("lime.lime_image")
from lime.wrappers.scikit_image import SegmentationAlgorithm  # noqa: E402

from helpers import train_on_digits  # noqa: E402
from lecturepkg.interpret.lime_explainer import (  # noqa: E402
    LimeResult,
    lime_image,
    superpixels,
)

DTYPE = torch.float64
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def photo(name: str = "coffee", size: int = 48) -> np.ndarray:
    """A scikit-image sample photo resized to (size, size, 3), float64 in [0, 1]."""
    return skimage.transform.resize(getattr(skimage.data, name)(), (size, size))


def as_tensor(pixels: np.ndarray) -> torch.Tensor:
    """(H, W, C) numpy -> (C, H, W) tensor."""
    return torch.from_numpy(np.ascontiguousarray(pixels)).permute(2, 0, 1).contiguous()


def random_model(seed: int = 0, in_channels: int = 3, classes: int = 4) -> nn.Module:
    """A small random CNN whose class probabilities react to the image (scaled logits)."""
    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Conv2d(in_channels, 6, 5, stride=2), nn.ReLU(), nn.Conv2d(6, 6, 3), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, classes),
    ).to(DTYPE)
    with torch.no_grad():
        net[-1].weight.mul_(20.0)
    return net.eval()


@pytest.fixture(scope="module")
def digits_model():
    """A small CNN trained for 60 steps on scikit-learn's digits (1 x 8 x 8), and images."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 12, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(12, 10),
    ).to(DTYPE)
    net, accuracy, x, y = train_on_digits(net, steps=60, lr=0.03, dtype=DTYPE)
    assert accuracy > 0.3, accuracy  # it learned something: chance is 0.1
    return net, x[:3], y[:3]


def run_lime(model, pixels, target, segmentation_fn, seed, channels=None, **kwargs):
    """``lime``'s explanation, its perturbations and scores (captured) and kernel."""
    explainer = lime_image_module.LimeImageExplainer(
        kernel_width=kwargs.pop("kernel_width", 0.25),
        feature_selection=kwargs.pop("feature_selection", "auto"),
        random_state=seed,
    )
    captured = {}
    generate = explainer.data_labels

    def data_labels(*args, **kw):
        captured["data"], captured["labels"] = generate(*args, **kw)
        return captured["data"], captured["labels"]

    explainer.data_labels = data_labels

    def classifier_fn(images):  # (B, H, W, 3) numpy -> (B, classes) probabilities
        batch = torch.from_numpy(images).permute(0, 3, 1, 2)
        if channels is not None:
            batch = batch[:, :channels]  # lime made a grey image RGB
        with torch.no_grad():
            return torch.softmax(model(batch.contiguous()), dim=1).numpy()

    explanation = explainer.explain_instance(
        pixels, classifier_fn, labels=(target,), top_labels=None,
        segmentation_fn=segmentation_fn, **kwargs,
    )
    return explanation, captured, explainer


def assert_same_as_lime(ours: LimeResult, explanation, captured, explainer, target):
    data, labels = captured["data"], captured["labels"]
    np.testing.assert_array_equal(ours.perturbations, data)
    np.testing.assert_allclose(ours.class_scores, labels[:, target], rtol=1e-12, atol=1e-15)
    distances = pairwise_distances(data, data[0].reshape(1, -1), metric="cosine").ravel()
    np.testing.assert_allclose(ours.distances, distances, rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        ours.sample_weights, explainer.base.kernel_fn(distances), rtol=1e-10, atol=1e-15
    )
    theirs = dict(explanation.local_exp[target])  # superpixel -> weight
    assert set(ours.features.tolist()) == set(int(k) for k in theirs)
    expected = np.zeros_like(ours.weights)
    for feature, weight in theirs.items():
        expected[feature] = weight
    scale = np.abs(expected).max()
    assert scale > 1e-3, scale  # the fit found something: the comparison has teeth
    np.testing.assert_allclose(ours.weights, expected, rtol=1e-8, atol=1e-10 * scale)
    assert ours.intercept == pytest.approx(explanation.intercept[target], rel=1e-9, abs=1e-12)
    assert ours.score == pytest.approx(explanation.score, rel=1e-9, abs=1e-12)
    assert ours.local_prediction == pytest.approx(explanation.local_pred[0], rel=1e-9,
                                                  abs=1e-12)


@pytest.mark.parametrize(
    "feature_selection, num_features",
    [("auto", 100000), ("auto", 4), ("highest_weights", 5), ("forward_selection", 3),
     ("none", 100000)],
)
@pytest.mark.parametrize("hide_color", [None, 0.0, (0.2, 0.5, 0.8)])
def test_lime_image_equals_lime_with_given_segments(feature_selection, num_features,
                                                    hide_color):
    pixels = photo("astronaut", 40)
    image = as_tensor(pixels)
    model = random_model(1)
    segments = superpixels(image, "slic", n_segments=20)  # labels 0 .. S-1
    assert segments.max() + 1 >= 8
    explanation, captured, explainer = run_lime(
        model, pixels, 2, lambda _: segments, seed=5, hide_color=hide_color,
        num_samples=150, num_features=num_features, feature_selection=feature_selection,
    )
    ours = lime_image(
        model, image, 2, segments=segments, n_samples=150, seed=5, hide_color=hide_color,
        num_features=num_features, feature_selection=feature_selection, progress_bar=False,
    )
    assert_same_as_lime(ours, explanation, captured, explainer, 2)
    if num_features < segments.max() + 1:
        assert len(ours.features) == num_features
        assert np.count_nonzero(ours.weights) == num_features


def test_lime_image_equals_lime_with_its_default_segmentation():
    """lime's quickshift (kernel_size=4, max_dist=200, ratio=0.2) and ours, seed drawn."""
    pixels = photo("coffee", 64)
    image = as_tensor(pixels)
    model = random_model(2)
    explanation, captured, explainer = run_lime(
        model, pixels, 1, None, seed=11, num_samples=100, kernel_width=0.4
    )
    ours = lime_image(model, image, 1, n_samples=100, seed=11, kernel_width=0.4,
                      progress_bar=False)
    np.testing.assert_array_equal(ours.segments, explanation.segments)
    assert ours.segments.max() + 1 >= 4
    assert_same_as_lime(ours, explanation, captured, explainer, 1)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_lime_image_equals_lime_on_a_trained_model(digits_model, index):
    """A grey 8 x 8 digit cut into 2 x 2 blocks; lime makes the image RGB (its means per
    channel are then the same), the classifier reads one channel back."""
    net, x, y = digits_model
    image = x[index]  # (1, 8, 8)
    segments = np.arange(16).reshape(4, 4).repeat(2, axis=0).repeat(2, axis=1)  # (8, 8)
    target = int(y[index])
    explanation, captured, explainer = run_lime(
        net, image[0].numpy(), target, lambda _: segments, seed=index, channels=1,
        num_samples=300, kernel_width=0.5,
    )
    ours = lime_image(net, image, target, segments=segments, n_samples=300, seed=index,
                      kernel_width=0.5, progress_bar=False)
    assert_same_as_lime(ours, explanation, captured, explainer, target)


def test_the_fit_recovers_a_linear_model_exactly():
    """f(x) = <v, x> + c: each perturbed score is f(hidden) + sum_s z_s <v, x - hidden>_s."""
    torch.manual_seed(4)
    image = torch.rand(3, 12, 10, dtype=DTYPE)
    linear = nn.Sequential(nn.Flatten(), nn.Linear(360, 3)).to(DTYPE).eval()
    segments = np.arange(6).reshape(3, 2).repeat(4, axis=0).repeat(5, axis=1)  # (12, 10)
    fill = (0.1, 0.4, 0.7)
    result = lime_image(linear, image, 2, segments=segments, n_samples=64, seed=0,
                        hide_color=fill, feature_selection="none", alpha=0.0,
                        softmax=False, progress_bar=False)
    v = linear[1].weight[2].detach().reshape(3, 12, 10)
    hidden = torch.tensor(fill, dtype=DTYPE)[:, None, None].expand(3, 12, 10)
    labels = torch.from_numpy(segments)
    contributions = [float((v * (image - hidden))[:, labels == s].sum()) for s in range(6)]
    np.testing.assert_allclose(result.weights, contributions, rtol=1e-9, atol=1e-12)
    with torch.no_grad():
        all_hidden = float(linear(hidden[None])[0, 2])
        itself = float(linear(image[None])[0, 2])
    assert result.intercept == pytest.approx(all_hidden, abs=1e-10)
    assert result.local_prediction == pytest.approx(itself, abs=1e-10)
    assert result.score == pytest.approx(1.0, abs=1e-12)


def test_the_result_is_consistent():
    pixels = photo("chelsea", 32)
    image = as_tensor(pixels)
    segments = superpixels(image, "slic", n_segments=9)
    result = lime_image(random_model(3), image, 0, segments=segments, n_samples=40, seed=1,
                        progress_bar=False)
    s = segments.max() + 1
    assert result.map.shape == (32, 32) and result.map.dtype == DTYPE
    torch.testing.assert_close(result.map, torch.from_numpy(result.weights[segments]))
    assert result.perturbations.shape == (40, s)
    assert (result.perturbations[0] == 1).all()
    assert set(np.unique(result.perturbations[1:])) == {0, 1}
    assert result.sample_weights[0] == 1.0 and (result.sample_weights <= 1).all()
    # the same seed gives the same perturbations, another seed others
    again = lime_image(random_model(3), image, 0, segments=segments, n_samples=40, seed=1,
                       progress_bar=False)
    np.testing.assert_array_equal(again.weights, result.weights)
    other = lime_image(random_model(3), image, 0, segments=segments, n_samples=40, seed=2,
                       progress_bar=False)
    assert not np.array_equal(other.perturbations, result.perturbations)
    # (1, C, H, W) is one image too; batch size does not change the result
    batched = lime_image(random_model(3), image[None], 0, segments=segments, n_samples=40,
                         seed=1, batch_size=7, progress_bar=False)
    np.testing.assert_allclose(batched.weights, result.weights, rtol=1e-12, atol=1e-15)


def test_given_segments_are_renumbered():
    image = as_tensor(photo("coffee", 16))
    segments = np.array([3, 7, 9, 42]).repeat(64).reshape(16, 16)  # four bands, odd labels
    result = lime_image(random_model(0), image, 0, segments=torch.from_numpy(segments),
                        n_samples=20, seed=0, progress_bar=False)
    np.testing.assert_array_equal(result.segments, np.arange(4).repeat(64).reshape(16, 16))
    assert result.weights.shape == (4,)


def test_superpixels_as_lime_and_scikit_image():
    from skimage.segmentation import quickshift, slic

    pixels = photo("astronaut", 48)
    image = as_tensor(pixels)
    default = SegmentationAlgorithm("quickshift", kernel_size=4, max_dist=200, ratio=0.2,
                                    random_seed=123)
    np.testing.assert_array_equal(superpixels(image), default(pixels))
    np.testing.assert_array_equal(
        superpixels(image, max_dist=10), quickshift(pixels, kernel_size=4, max_dist=10,
                                                    ratio=0.2)
    )
    np.testing.assert_array_equal(
        superpixels(image, "slic", n_segments=20), slic(pixels, n_segments=20, start_label=0)
    )
    # the two lime details the module's docstring states
    assert "random_seed" not in default.target_params  # dropped: skimage calls it rng
    assert SegmentationAlgorithm("slic", n_segments=20)(pixels).min() == 1  # labels from 1
    # a grey image is segmented as its RGB copy
    grey = image[:1]
    np.testing.assert_array_equal(superpixels(grey), superpixels(grey.expand(3, -1, -1)))


def test_bad_inputs_raise_clear_errors():
    image = as_tensor(photo("coffee", 16))
    model = random_model(0)
    segments = np.arange(4).repeat(64).reshape(16, 16)
    ok = dict(segments=segments, n_samples=10, seed=0, progress_bar=False)

    def call(**changes):
        args = {"model": model, "image": image, "target": 0, **ok, **changes}
        return lime_image(**args)

    with pytest.raises(TypeError, match="model"):
        call(model="net")
    with pytest.raises(TypeError, match=r"image must be a torch.Tensor of shape \(C, H, W\)"):
        call(image=image.numpy())
    with pytest.raises(ValueError, match="one image; LIME explains one at a time"):
        call(image=torch.stack([image, image]))
    with pytest.raises(TypeError, match="image must be a floating-point tensor"):
        call(image=(image * 255).to(torch.uint8))
    with pytest.raises(TypeError, match="image has dtype torch.float32"):
        call(image=image.float())
    with pytest.raises(ValueError, match="target must be < num_classes = 4"):
        call(target=4)
    with pytest.raises(TypeError, match="target"):
        call(target=0.5)
    with pytest.raises(ValueError, match=r"segments must have the image's shape .*\(16, 16\)"):
        call(segments=segments[:8])
    with pytest.raises(TypeError, match="segments must hold integer labels"):
        call(segments=segments.astype(float))
    with pytest.raises(TypeError, match="segments must be a numpy array or tensor"):
        call(segments=segments.tolist())
    with pytest.raises(ValueError, match="n_samples must be >= 2"):
        call(n_samples=1)
    with pytest.raises(ValueError, match="kernel_width must be > 0"):
        call(kernel_width=0)
    with pytest.raises(ValueError, match="feature_selection must be one of"):
        call(feature_selection="lasso_path")
    with pytest.raises(ValueError, match="num_features must be >= 1"):
        call(num_features=0)
    with pytest.raises(ValueError, match="hide_color must be None, a number or 3 numbers"):
        call(hide_color=(0.0, 0.0))
    with pytest.raises(ValueError, match="seed must be >= 0"):
        call(seed=-1)
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        call(alpha=-1.0)
    with pytest.raises(TypeError, match="softmax must be True or False"):
        call(softmax="yes")
    with pytest.raises(ValueError, match="segmentation must be one of"):
        call(segments=None, segmentation="felzenszwalb")
    with pytest.raises(ValueError, match="method must be one of"):
        superpixels(image, "watershed")
    with pytest.raises(ValueError, match="RGB .* or grey .* got 2 channels; pass segments"):
        superpixels(image[:2])
