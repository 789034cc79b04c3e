"""LIME for images (Ribeiro et al. 2016), step by step, as the ``lime`` package does it.

To explain why a model gives class ``j`` to one image, LIME fits a small linear model that
imitates the model *near that image*, on features a person can read: superpixels.

1. Cut the image into ``S`` superpixels (scikit-image's ``quickshift`` with the ``lime``
   package's defaults, or ``slic``; or segments you give).
2. Draw ``n_samples`` binary perturbation vectors ``z`` in ``{0, 1}^S`` (the first is all
   ones: the image itself); ``z_s = 0`` hides superpixel ``s``.
3. Build each perturbed image: hidden superpixels are replaced by ``hide_color``, or (the
   default) by their own mean colour.
4. Score each perturbed image with the model: the probability of class ``j``.
5. Weigh each sample by its closeness to the image: the exponential kernel
   ``pi(z) = exp(-d(z)^2 / (2 kernel_width^2))`` on the cosine distance
   ``d(z) = 1 - cos(z, 1)`` between ``z`` and the all-ones vector.
6. Fit a weighted linear model ``score ~ intercept + sum_s weight_s z_s`` (ridge regression,
   after choosing at most ``num_features`` superpixels). ``weight_s`` is how much showing
   superpixel ``s`` adds to the class score, near this image.

Reproducing ``lime`` exactly. ``lime_image(..., seed=s)`` gives the perturbations,
weights and intercept of ``LimeImageExplainer(kernel_width, feature_selection=...,
random_state=s).explain_instance(image, classifier_fn, labels=(j,), top_labels=None,
hide_color=..., num_samples=..., num_features=..., segmentation_fn=...)`` (the image in
``(H, W, C)`` layout, ``classifier_fn`` returning the model's softmax): both draw from
``numpy.random.RandomState(s)``, first one integer in ``[0, 1000)`` (``lime``'s seed for
its segmentation, drawn even when it is not used), then the ``n_samples x S`` perturbation
bits with ``randint(0, 2)``. Details that matter:

* ``lime`` passes that seed to quickshift as ``random_seed``, a keyword scikit-image has
  renamed ``rng``; its wrapper silently drops unknown keywords, so ``lime``'s quickshift
  always runs with scikit-image's default ``rng=42``. :func:`superpixels` does the same.
* ``lime`` indexes superpixels by their label, assuming labels ``0, ..., S-1``;
  scikit-image's ``slic`` numbers from 1 by default, so ``lime``'s ``'slic'`` wrapper never
  hides its last superpixel. :func:`superpixels` asks ``slic`` for ``start_label=0``, and
  given segments are renumbered ``0, ..., S-1`` in the order of their labels.
* ``lime``'s kernel is written ``sqrt(exp(-d^2 / kernel_width^2))``, the same function.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any

import numpy as np
import torch
from torch import nn

from lecturepkg.interpret._args import (
    check_bool,
    check_choice,
    check_inputs,
    check_int,
    check_model,
    check_real,
    check_target,
    select_target,
)
from lecturepkg.output import progress

__all__ = ["lime_image", "superpixels", "LimeResult", "SEGMENTATIONS", "FEATURE_SELECTIONS"]

#: The segmentations :func:`superpixels` runs.
SEGMENTATIONS = ("quickshift", "slic")
#: The feature selections of :func:`lime_image`, ``lime``'s names.
FEATURE_SELECTIONS = ("auto", "none", "highest_weights", "forward_selection")


@dataclasses.dataclass(frozen=True)
class LimeResult:
    """The local linear model that :func:`lime_image` fitted, and the data it used.

    Attributes
    ----------
    weights : numpy.ndarray
        ``(S,)``: the linear model's weight of each superpixel (0 for superpixels left out
        by the feature selection); ``lime``'s ``local_exp``.
    intercept : float
        The linear model's intercept: its prediction with every superpixel hidden.
    score : float
        The weighted coefficient of determination (R²) of the fit on the samples.
    local_prediction : float
        The linear model's prediction for the image itself (all superpixels shown).
    segments : numpy.ndarray
        ``(H, W)`` integer superpixel labels ``0, ..., S-1``.
    map : torch.Tensor
        ``(H, W)``: each pixel carries the weight of its superpixel.
    perturbations : numpy.ndarray
        ``(n_samples, S)`` of 0/1: which superpixels each sample shows (row 0: all).
    class_scores : numpy.ndarray
        ``(n_samples,)``: the model's score of the class for each perturbed image.
    distances : numpy.ndarray
        ``(n_samples,)``: cosine distance of each perturbation vector to all ones.
    sample_weights : numpy.ndarray
        ``(n_samples,)``: the kernel's weight of each sample in the fit.
    features : numpy.ndarray
        The superpixels the feature selection kept, in the order it chose them.
    """

    weights: np.ndarray
    intercept: float
    score: float
    local_prediction: float
    segments: np.ndarray
    map: torch.Tensor
    perturbations: np.ndarray
    class_scores: np.ndarray
    distances: np.ndarray
    sample_weights: np.ndarray
    features: np.ndarray


def superpixels(image: torch.Tensor, method: str = "quickshift", **kwargs: Any) -> np.ndarray:
    """Cut an image into superpixels with scikit-image; labels ``0, ..., S-1``.

    Parameters
    ----------
    image : torch.Tensor
        ``(C, H, W)`` with 3 channels (RGB in ``[0, 1]``) or 1 (grey, repeated to RGB as
        ``lime`` does).
    method : {"quickshift", "slic"}
        ``"quickshift"`` (Vedaldi & Soatto 2008) with ``lime``'s defaults
        ``kernel_size=4, max_dist=200, ratio=0.2`` (and scikit-image's ``rng=42``), or
        ``"slic"`` (Achanta et al. 2012) with ``n_segments=50`` and ``start_label=0``.
    **kwargs
        Passed to ``skimage.segmentation.quickshift`` / ``slic``, replacing the defaults
        (for small images, a smaller ``max_dist`` or ``kernel_size`` gives more segments).

    Returns
    -------
    numpy.ndarray
        ``(H, W)`` int64 labels, numbered ``0, ..., S-1``.
    """
    from skimage.segmentation import quickshift, slic

    pixels = _rgb_pixels(_check_image(image))  # (H, W, 3) float64
    check_choice("method", method, SEGMENTATIONS)
    if method == "quickshift":
        options = {"kernel_size": 4, "max_dist": 200, "ratio": 0.2, **kwargs}
        labels = quickshift(pixels, **options)
    else:
        options = {"n_segments": 50, "start_label": 0, **kwargs}
        labels = slic(pixels, **options)
    return _renumber(np.asarray(labels))


def lime_image(
    model: nn.Module,
    image: torch.Tensor,
    target: int | torch.Tensor,
    segments: np.ndarray | torch.Tensor | None = None,
    n_samples: int = 1000,
    kernel_width: float = 0.25,
    seed: int | None = None,
    hide_color: float | tuple[float, ...] | None = None,
    num_features: int = 100000,
    feature_selection: str = "auto",
    alpha: float = 1.0,
    segmentation: str = "quickshift",
    softmax: bool = True,
    batch_size: int = 50,
    progress_bar: bool = True,
) -> LimeResult:
    """Explain one image's class score by superpixels, as LIME does (Ribeiro et al. 2016).

    Parameters
    ----------
    model : torch.nn.Module
        Returns class scores ``(N, num_classes)``. Call ``model.eval()`` first.
    image : torch.Tensor
        One image ``(C, H, W)`` (or ``(1, C, H, W)``) of the model's dtype and device.
    target : int
        The class to explain.
    segments : array or tensor, optional
        ``(H, W)`` integer superpixel labels; renumbered ``0, ..., S-1`` in label order.
        By default ``superpixels(image, segmentation)``.
    n_samples : int
        Number of perturbed images (``lime``'s ``num_samples``), the first the image itself.
    kernel_width : float
        Width of the exponential kernel on the cosine distance (``lime``'s default 0.25).
    seed : int, optional
        Seed of the ``numpy.random.RandomState`` that draws the perturbations; the same
        seed as ``lime``'s ``random_state`` gives ``lime``'s perturbations.
    hide_color : float or sequence of floats, optional
        The value of hidden pixels (one per channel, or one for all); by default each
        hidden superpixel takes its own mean colour (``lime``'s ``hide_color=None``).
    num_features : int
        The largest number of superpixels in the linear model.
    feature_selection : {"auto", "none", "highest_weights", "forward_selection"}
        How the superpixels are chosen, with ``lime``'s meanings: ``"highest_weights"``
        keeps the ``num_features`` largest ``|weight|`` of a ridge fit (``alpha=0.01``) on
        all of them; ``"forward_selection"`` adds, one at a time, the superpixel that most
        raises the weighted R² of an unregularised fit; ``"auto"`` is forward selection
        for ``num_features <= 6``, else highest weights; ``"none"`` keeps all.
    alpha : float
        Ridge penalty of the final fit (``lime``'s ``Ridge(alpha=1)``).
    segmentation : {"quickshift", "slic"}
        The default segmentation when ``segments`` is not given.
    softmax : bool
        Explain the class probability (``True``, as ``lime``'s ``classifier_fn`` usually
        returns) or the raw score (``False``).
    batch_size : int
        Perturbed images per forward pass (does not change the result).
    progress_bar : bool
        Show a progress bar over the batches.

    Returns
    -------
    LimeResult
        The weights per superpixel, intercept, R², segments, map ``(H, W)`` and the
        samples the fit used.

    >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
    ...                     nn.Flatten(), nn.Linear(4, 2)).eval()
    >>> segments = np.arange(4).repeat(16).reshape(8, 8)  # four bands of 2 rows
    >>> result = lime_image(net, torch.rand(3, 8, 8), 1, segments, n_samples=50, seed=0,
    ...                     progress_bar=False)
    >>> result.weights.shape, result.map.shape, result.perturbations.shape
    ((4,), torch.Size([8, 8]), (50, 4))
    """
    model = check_model(model)
    image = _check_image(image)  # (C, H, W)
    check_inputs(image[None], model, name="image")  # the model's dtype and device
    target_index = int(check_target(target, 1)[0])
    n_samples = check_int("n_samples", n_samples, minimum=2)
    kernel_width = check_real("kernel_width", kernel_width, positive=True)
    num_features = check_int("num_features", num_features, minimum=1)
    check_choice("feature_selection", feature_selection, FEATURE_SELECTIONS)
    alpha = check_real("alpha", alpha, nonnegative=True)
    check_choice("segmentation", segmentation, SEGMENTATIONS)
    check_bool("softmax", softmax)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    check_bool("progress_bar", progress_bar)
    if seed is not None:
        seed = check_int("seed", seed, minimum=0)
    fill = _check_hide_color(hide_color, image.shape[0])
    rng = np.random.RandomState(seed)

    # step 1: superpixels (lime first draws a seed for its segmentation; so do we)
    rng.randint(0, high=1000)
    if segments is None:
        segments = superpixels(image, segmentation)
    else:
        segments = _check_segments(segments, image.shape[-2:])
    n_superpixels = int(segments.max()) + 1  # S

    # step 2: binary perturbation vectors, row 0 = all ones (the image itself)
    z = rng.randint(0, 2, n_samples * n_superpixels).reshape(n_samples, n_superpixels)
    z[0, :] = 1  # (n_samples, S)

    # step 3: what a hidden superpixel looks like
    hidden = _hidden_image(image, segments, fill)  # (C, H, W)

    # step 4: the model's class score of each perturbed image
    class_scores = _score_perturbations(
        model, image, hidden, segments, z, target_index, softmax, batch_size, progress_bar
    )  # (n_samples,)

    # step 5: the exponential kernel on the cosine distance to the all-ones vector
    distances = _cosine_distance(z, z[0])  # (n_samples,)
    sample_weights = np.sqrt(np.exp(-(distances**2) / kernel_width**2))

    # step 6: choose superpixels, then the weighted ridge fit on them
    method = feature_selection
    if method == "auto":
        method = "forward_selection" if num_features <= 6 else "highest_weights"
    features = _select(z, class_scores, sample_weights, num_features, method)
    x = z[:, features].astype(np.float64)  # (n_samples, len(features))
    coef, intercept = _weighted_ridge(x, class_scores, sample_weights, alpha)
    score = _weighted_r2(class_scores, intercept + x @ coef, sample_weights)
    local_prediction = float(intercept + x[0] @ coef)

    weights = np.zeros(n_superpixels)
    weights[features] = coef  # (S,)
    explanation = torch.from_numpy(weights[segments]).to(image.dtype)  # (H, W)
    return LimeResult(
        weights=weights,
        intercept=float(intercept),
        score=score,
        local_prediction=local_prediction,
        segments=segments,
        map=explanation.to(image.device),
        perturbations=z,
        class_scores=class_scores,
        distances=distances,
        sample_weights=sample_weights,
        features=features,
    )


# --------------------------------------------------------------------------- the steps


def _hidden_image(image: torch.Tensor, segments: np.ndarray, fill: Any) -> torch.Tensor:
    """The image with every superpixel hidden (``fill``, or each superpixel's mean colour)."""
    if fill is not None:
        value = torch.as_tensor(fill, dtype=image.dtype, device=image.device)  # (C,)
        return value[:, None, None].expand_as(image).clone()  # (C, H, W)
    labels = torch.from_numpy(segments).to(image.device).reshape(-1)  # (H * W,)
    n = int(segments.max()) + 1
    pixels = image.reshape(image.shape[0], -1)  # (C, H * W)
    sums = torch.zeros(image.shape[0], n, dtype=image.dtype, device=image.device)
    sums.index_add_(1, labels, pixels)  # (C, S)
    counts = torch.bincount(labels, minlength=n).to(image.dtype)  # (S,)
    means = sums / counts  # (C, S): mean colour of each superpixel
    return means[:, labels].reshape(image.shape)  # (C, H, W)


def _score_perturbations(
    model: nn.Module,
    image: torch.Tensor,
    hidden: torch.Tensor,
    segments: np.ndarray,
    z: np.ndarray,
    target: int,
    softmax: bool,
    batch_size: int,
    progress_bar: bool,
) -> np.ndarray:
    """The class score of every perturbed image, in batches of ``batch_size``."""
    labels = torch.from_numpy(segments).to(image.device)  # (H, W)
    shown = torch.from_numpy(z.astype(bool)).to(image.device)  # (n_samples, S)
    starts = range(0, z.shape[0], batch_size)
    scores = []
    with torch.no_grad():
        for start in progress(starts, desc="LIME", disable=not progress_bar):
            keep = shown[start : start + batch_size][:, labels]  # (B, H, W)
            batch = torch.where(keep[:, None], image, hidden)  # (B, C, H, W)
            outputs = model(batch)  # (B, num_classes)
            if softmax:
                outputs = torch.softmax(outputs, dim=1)
            rows = torch.full((batch.shape[0],), target, device=image.device)
            scores.append(select_target(outputs, rows).double().cpu())
    return torch.cat(scores).numpy()  # (n_samples,)


def _cosine_distance(z: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``1 - cos(z_i, reference)`` per row; a zero row is at distance 1 (as scikit-learn)."""
    z = z.astype(np.float64)
    reference = reference.astype(np.float64)
    norms = np.linalg.norm(z, axis=1) * np.linalg.norm(reference)  # (n_samples,)
    dots = z @ reference
    cosine = np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)
    return np.clip(1.0 - cosine, 0.0, 2.0)


def _select(
    z: np.ndarray, y: np.ndarray, w: np.ndarray, num_features: int, method: str
) -> np.ndarray:
    """The superpixels the linear model may use, chosen as ``lime`` chooses them."""
    n = z.shape[1]
    x = z.astype(np.float64)
    if method == "none":
        return np.arange(n)
    if method == "highest_weights":
        # lime: |weight * z[0]| with z[0] all ones, largest first, ties in index order
        coef, _ = _weighted_ridge(x, y, w, alpha=0.01)
        order = np.argsort(-np.abs(coef * x[0]), kind="stable")
        return order[:num_features]
    used: list[int] = []  # forward selection: greedy on the weighted R² of a plain fit
    for _ in range(min(num_features, n)):
        best, best_score = 0, -1e8
        for s in range(n):
            if s in used:
                continue
            columns = x[:, used + [s]]
            coef, intercept = _weighted_ridge(columns, y, w, alpha=0.0)
            candidate = _weighted_r2(y, intercept + columns @ coef, w)
            if candidate > best_score:
                best, best_score = s, candidate
        used.append(best)
    return np.array(used, dtype=np.int64)


def _weighted_ridge(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, alpha: float
) -> tuple[np.ndarray, float]:
    """Minimise ``sum_i w_i (y_i - b - x_i . c)^2 + alpha |c|^2``; return ``(c, b)``.

    The intercept ``b`` is not penalised: centre ``x`` and ``y`` on their weighted means,
    scale rows by ``sqrt(w_i)``, solve the ridge problem for ``c`` as a least-squares
    problem stacked with ``sqrt(alpha) I`` (the minimum-norm solution when ``alpha = 0``
    and the columns are dependent), then ``b = mean(y) - mean(x) . c``.
    """
    x_mean = np.average(x, axis=0, weights=w)  # (F,)
    y_mean = np.average(y, weights=w)
    root = np.sqrt(w)[:, None]  # (n_samples, 1)
    a = (x - x_mean) * root  # (n_samples, F)
    b = (y - y_mean) * root[:, 0]  # (n_samples,)
    if alpha > 0:
        a = np.vstack([a, np.sqrt(alpha) * np.eye(x.shape[1])])  # (n_samples + F, F)
        b = np.concatenate([b, np.zeros(x.shape[1])])
    coef = np.linalg.lstsq(a, b, rcond=None)[0]  # (F,)
    return coef, float(y_mean - x_mean @ coef)


def _weighted_r2(y: np.ndarray, prediction: np.ndarray, w: np.ndarray) -> float:
    """``1 - sum w (y - prediction)^2 / sum w (y - mean_w y)^2`` (scikit-learn's R²)."""
    residual = float(np.sum(w * (y - prediction) ** 2))
    total = float(np.sum(w * (y - np.average(y, weights=w)) ** 2))
    if total == 0.0:  # constant scores: scikit-learn's convention
        return 1.0 if residual == 0.0 else 0.0
    return 1.0 - residual / total


# --------------------------------------------------------------------------- checks


def _check_image(image: Any) -> torch.Tensor:
    """One floating image ``(C, H, W)``; ``(1, C, H, W)`` is accepted and squeezed."""
    if not isinstance(image, torch.Tensor):
        raise TypeError(
            f"image must be a torch.Tensor of shape (C, H, W), got {type(image).__name__}"
        )
    if image.ndim == 4 and image.shape[0] == 1:
        image = image[0]
    if image.ndim != 3:
        raise ValueError(
            "image must have shape (C, H, W) (one image; LIME explains one at a time), "
            f"got {tuple(image.shape)}"
        )
    if not image.is_floating_point():
        raise TypeError(f"image must be a floating-point tensor, got dtype {image.dtype}")
    if min(image.shape) == 0:
        raise ValueError(f"image must not be empty, got shape {tuple(image.shape)}")
    return image.detach()


def _rgb_pixels(image: torch.Tensor) -> np.ndarray:
    """``(C, H, W)`` tensor -> ``(H, W, 3)`` float64 array, grey repeated to RGB."""
    if image.shape[0] not in (1, 3):
        raise ValueError(
            "superpixels need an RGB (3-channel) or grey (1-channel) image, got "
            f"{image.shape[0]} channels; pass segments instead"
        )
    pixels = image.detach().cpu().double().permute(1, 2, 0).numpy()  # (H, W, C)
    if pixels.shape[-1] == 1:
        pixels = np.repeat(pixels, 3, axis=-1)  # (H, W, 3)
    return pixels


def _renumber(labels: np.ndarray) -> np.ndarray:
    """Labels ``0, ..., S-1`` in the order of the original labels."""
    _, inverse = np.unique(labels, return_inverse=True)
    return inverse.reshape(labels.shape).astype(np.int64)


def _check_segments(segments: Any, size: torch.Size) -> np.ndarray:
    """Integer labels ``(H, W)`` of the image's size, renumbered ``0, ..., S-1``."""
    if isinstance(segments, torch.Tensor):
        segments = segments.detach().cpu().numpy()
    if not isinstance(segments, np.ndarray):
        raise TypeError(
            f"segments must be a numpy array or tensor of shape {tuple(size)} of integer "
            f"labels, got {type(segments).__name__}"
        )
    if segments.shape != tuple(size):
        raise ValueError(
            f"segments must have the image's shape (H, W) = {tuple(size)}, got "
            f"{segments.shape}"
        )
    if not np.issubdtype(segments.dtype, np.integer):
        raise TypeError(f"segments must hold integer labels, got dtype {segments.dtype}")
    return _renumber(segments)


def _check_hide_color(hide_color: Any, channels: int) -> tuple[float, ...] | None:
    """``None``, one number for all channels, or one per channel."""
    if hide_color is None:
        return None
    if isinstance(hide_color, numbers.Real) and not isinstance(hide_color, bool):
        return (check_real("hide_color", hide_color),) * channels
    if isinstance(hide_color, torch.Tensor):
        hide_color = hide_color.tolist()
    if isinstance(hide_color, (list, tuple, np.ndarray)) and len(hide_color) == channels:
        return tuple(check_real(f"hide_color[{i}]", v) for i, v in enumerate(hide_color))
    raise ValueError(
        f"hide_color must be None, a number or {channels} numbers (one per channel), "
        f"got {hide_color!r}"
    )
