"""Is an explanation right? Scores of a heat map against the truth and against the model.

A heat map is a claim about which pixels the class score depends on. Four ways to test it:

* **Against the object** (when the evidence is known, as in
  :func:`lecturepkg.data.make_scenes`): the *pointing game* (Zhang et al. 2018, "Top-down
  neural attention by excitation backprop") asks whether the map's maximum falls on the
  object (:func:`pointing_game`); the *mass inside* is the share of the map's positive
  part that lies on the object (:func:`mass_inside`). For a map that knows nothing (every
  pixel equally likely to be the maximum, or a constant map) both equal the share of the
  image that the object covers: the chance level (:func:`chance_level`).
* **Against the model** (no ground truth needed): the *deletion* and *insertion* curves of
  Petsiuk et al. (2018, RISE). Delete the pixels in decreasing order of the map and watch
  the class probability: if the map is right it falls fast, and the area under the curve
  is small. Insert them, in the same order, into a blurred copy: if the map is right the
  probability rises fast, and the area is large (:func:`deletion_curve`,
  :func:`insertion_curve`, :func:`curve_auc`).
* **Against a model that knows nothing**: the *model-randomisation test* of Adebayo et al.
  (2018, "Sanity checks for saliency maps"). Re-initialise the layers from the top down,
  one more at a time, and recompute the map. A method whose maps stay the same when the
  weights are random does not explain the model: it shows the input (edges, for example).
  The similarity is Spearman's rank correlation between the maps of the trained and of the
  randomised model, of the absolute maps and of the signed maps
  (:func:`randomization_check`, :func:`spearman`).

Maps are ``(N, H, W)`` tensors (reduce attributions ``(N, C, H, W)`` with
:func:`lecturepkg.interpret.heatmap` first); masks are ``(N, H, W)`` or ``(N, 1, H, W)``
with values 0 and 1 (or booleans).
"""

from __future__ import annotations

import copy
import math
from typing import Any, Callable, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import distance_transform_edt
from torch import nn

from lecturepkg.interpret._args import (
    check_baselines, check_bool, check_inputs, check_int, check_model, check_real,
    check_target, select_target,
)

__all__ = ["pointing_game", "mass_inside", "chance_level", "PixelCurve", "deletion_curve",
           "insertion_curve", "curve_auc", "spearman", "RandomizationResult",
           "randomization_check"]


# --------------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------------


def _check_maps(maps: Any, n: int | None = None) -> torch.Tensor:
    if not isinstance(maps, torch.Tensor):
        raise TypeError(f"maps must be a torch.Tensor of shape (N, H, W), got "
                        f"{type(maps).__name__}")
    if maps.ndim != 3:
        raise ValueError(f"maps must have shape (N, H, W) (reduce attributions (N, C, H, W) "
                         f"with heatmap first), got {tuple(maps.shape)}")
    if not maps.is_floating_point():
        raise TypeError(f"maps must be a floating-point tensor, got dtype {maps.dtype}")
    if n is not None and maps.shape[0] != n:
        raise ValueError(f"maps must have one map per image, N = {n}, got "
                         f"{tuple(maps.shape)}")
    if not torch.isfinite(maps).all():
        raise ValueError("maps must be finite (no NaN or infinity)")
    return maps


def _check_masks(masks: Any, maps: torch.Tensor) -> torch.Tensor:
    """Masks ``(N, H, W)`` or ``(N, 1, H, W)`` of 0/1 or bool -> bool ``(N, H, W)``."""
    if not isinstance(masks, torch.Tensor):
        raise TypeError(f"masks must be a torch.Tensor of shape (N, H, W) or (N, 1, H, W), "
                        f"got {type(masks).__name__}")
    if masks.ndim == 4 and masks.shape[1] == 1:
        masks = masks[:, 0]
    if masks.shape != maps.shape:
        raise ValueError(f"masks must have the maps' shape {tuple(maps.shape)} (or with a "
                         f"channel of 1), got {tuple(masks.shape)}")
    if masks.dtype != torch.bool:
        if not ((masks == 0) | (masks == 1)).all():
            raise ValueError("masks must hold only 0 and 1 (or be boolean)")
        masks = masks != 0
    if not masks.flatten(1).any(dim=1).all():
        raise ValueError("masks must mark at least one pixel of every image")
    return masks.to(maps.device)


# --------------------------------------------------------------------------------------------
# Against the object
# --------------------------------------------------------------------------------------------


def pointing_game(maps: torch.Tensor, masks: torch.Tensor, *,
                  tolerance: float = 0.0) -> torch.Tensor:
    """Does each map's maximum fall on the object? (Zhang et al. 2018.)

    A hit is a maximum within ``tolerance`` pixels of the object: the distance from the
    maximum's pixel centre to the nearest object pixel centre is at most ``tolerance``
    (Zhang et al. use 15 pixels on 224 x 224 images). When several pixels share the
    maximum (a flat map, a coarse occlusion map), each counts for an equal share, so the
    score of an image is the fraction of its maximal pixels that are hits; a map with a
    single maximum scores 0 or 1.

    Parameters
    ----------
    maps : torch.Tensor
        Heat maps ``(N, H, W)``.
    masks : torch.Tensor
        The objects, ``(N, H, W)`` or ``(N, 1, H, W)``, 0/1 or bool.
    tolerance : float
        In pixels, at least 0.

    Returns
    -------
    torch.Tensor
        ``(N,)`` float scores in [0, 1]; their mean is the pointing-game accuracy.

    >>> maps = torch.zeros(2, 4, 4); maps[0, 1, 1] = 1; maps[1, 3, 3] = 1
    >>> masks = torch.zeros(2, 4, 4); masks[:, :2, :2] = 1
    >>> pointing_game(maps, masks).tolist()
    [1.0, 0.0]
    >>> pointing_game(maps, masks, tolerance=3).tolist()  # (3, 3) is 2.83 from (1, 1)
    [1.0, 1.0]
    """
    maps = _check_maps(maps)
    masks = _check_masks(masks, maps)
    tolerance = check_real("tolerance", tolerance, nonnegative=True)
    if tolerance > 0:
        near = [distance_transform_edt(~m) <= tolerance for m in masks.cpu().numpy()]
        masks = torch.from_numpy(np.stack(near)).to(maps.device)  # (N, H, W)
    peak = maps.flatten(1).amax(dim=1)[:, None, None]  # (N, 1, 1)
    maximal = maps == peak  # (N, H, W)
    hits = (maximal & masks).flatten(1).sum(dim=1)
    return hits.to(maps.dtype) / maximal.flatten(1).sum(dim=1)


def mass_inside(maps: torch.Tensor, masks: torch.Tensor, *,
                positive: bool = True) -> torch.Tensor:
    """The share of each map's mass that lies on the object.

    ``sum(m * mask) / sum(m)`` with ``m = max(map, 0)`` (``positive=True``: evidence for the
    class) or ``m = |map|`` (``positive=False``). An image whose ``m`` is zero everywhere
    gets NaN (the map claims nothing).

    Returns
    -------
    torch.Tensor
        ``(N,)`` shares in [0, 1].

    >>> maps = torch.tensor([[[3.0, -1.0], [1.0, -3.0]]])
    >>> masks = torch.tensor([[[1, 1], [0, 0]]])
    >>> mass_inside(maps, masks).tolist(), mass_inside(maps, masks, positive=False).tolist()
    ([0.75], [0.5])
    """
    maps = _check_maps(maps)
    masks = _check_masks(masks, maps)
    positive = check_bool("positive", positive)
    mass = maps.clamp(min=0) if positive else maps.abs()  # (N, H, W)
    total = mass.flatten(1).sum(dim=1)
    inside = (mass * masks).flatten(1).sum(dim=1)
    return torch.where(total > 0, inside / total.where(total > 0, torch.ones_like(total)),
                       torch.full_like(total, math.nan))


def chance_level(masks: torch.Tensor) -> torch.Tensor:
    """The share of each image that the object covers, ``(N,)``.

    This is the expected pointing-game score of a map whose maximum is equally likely to be
    any pixel, and the mass inside of a constant map: the level a map must beat to show that
    it knows where the object is.
    """
    if not isinstance(masks, torch.Tensor):
        raise TypeError(f"masks must be a torch.Tensor of shape (N, H, W) or (N, 1, H, W), "
                        f"got {type(masks).__name__}")
    if masks.ndim == 4 and masks.shape[1] == 1:
        masks = masks[:, 0]
    if masks.ndim != 3:
        raise ValueError(f"masks must have shape (N, H, W) or (N, 1, H, W), got "
                         f"{tuple(masks.shape)}")
    masks = _check_masks(masks, torch.zeros(masks.shape))
    return masks.float().flatten(1).mean(dim=1)


# --------------------------------------------------------------------------------------------
# Deletion and insertion
# --------------------------------------------------------------------------------------------


class PixelCurve(NamedTuple):
    """A deletion or insertion curve: the class probability after each step."""

    #: ``(steps + 1,)`` share of the pixels deleted (or inserted), from 0 to 1
    fractions: torch.Tensor
    #: ``(N, steps + 1)`` the target class's probability (or score) at each fraction
    scores: torch.Tensor


def _pixel_order(maps: torch.Tensor) -> torch.Tensor:
    """Pixel indices ``(N, H * W)`` from the highest map value down, ties in reading order."""
    return torch.argsort(maps.flatten(1), dim=1, descending=True, stable=True)


def _blur(inputs: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of every channel, reflecting at the borders, ``(N, C, H, W)``."""
    radius = max(1, int(math.ceil(3 * sigma)))
    x = torch.arange(-radius, radius + 1, dtype=inputs.dtype, device=inputs.device)
    kernel = torch.exp(-x ** 2 / (2 * sigma ** 2))
    kernel = kernel / kernel.sum()  # (2 radius + 1,)
    n, c, h, w = inputs.shape
    out = inputs.reshape(n * c, 1, h, w)
    for dim in (2, 3):  # separable: rows, then columns
        pad = [0, 0, radius, radius] if dim == 2 else [radius, radius, 0, 0]
        mode = "reflect" if radius < min(h, w) else "replicate"
        weight = kernel.reshape(1, 1, -1, 1) if dim == 2 else kernel.reshape(1, 1, 1, -1)
        out = F.conv2d(F.pad(out, pad, mode=mode), weight)
    return out.reshape(n, c, h, w)


def _curve(model, inputs, target, maps, steps, start, end, softmax) -> PixelCurve:
    """Replace the pixels of ``start`` by those of ``end`` in the maps' order, in steps."""
    n, _, h, w = inputs.shape
    order = _pixel_order(maps)  # (N, H W)
    fractions = torch.linspace(0, 1, steps + 1)
    scores = torch.empty(n, steps + 1, dtype=inputs.dtype)
    rows = torch.arange(n, device=inputs.device)[:, None]
    with torch.no_grad():
        for k in range(steps + 1):
            count = round(k * h * w / steps)  # pixels changed after step k
            changed = torch.zeros(n, h * w, dtype=torch.bool, device=inputs.device)
            changed[rows, order[:, :count]] = True
            changed = changed.reshape(n, 1, h, w)  # every channel of a pixel together
            output = model(torch.where(changed, end, start))  # (N, K)
            if softmax:
                output = output.softmax(dim=1)
            scores[:, k] = select_target(output, target).cpu()
    return PixelCurve(fractions.to(inputs.dtype), scores)


def _check_curve_args(model, inputs, target, maps, steps, softmax):
    check_model(model)
    inputs = check_inputs(inputs, model)
    target = check_target(target, inputs.shape[0], inputs.device)
    maps = _check_maps(maps, inputs.shape[0])
    if maps.shape[1:] != inputs.shape[2:]:
        raise ValueError(f"maps must have the inputs' height and width {tuple(inputs.shape[2:])}"
                         f", got {tuple(maps.shape)}")
    steps = check_int("steps", steps, minimum=1)
    check_bool("softmax", softmax)
    return inputs, target, maps.to(inputs.device), steps


def deletion_curve(model: Any, inputs: torch.Tensor, target: Any, maps: torch.Tensor, *,
                   steps: int = 16, baselines: Any = 0.0,
                   softmax: bool = True) -> PixelCurve:
    """Delete pixels in decreasing order of the map and record the class probability.

    Petsiuk et al. (2018, Sec. 4.1): after step ``k`` of ``steps`` the
    ``round(k H W / steps)`` pixels with the highest map values (all their channels; ties
    in reading order) are replaced by ``baselines`` (zeros by default, as in the paper; a
    number, or a tensor ``(N, C, H, W)`` or ``(1, C, H, W)``). A map that finds the evidence
    makes the probability drop fast: a small :func:`curve_auc`.

    Parameters
    ----------
    model, inputs, target
        As for the attribution methods: a classifier in evaluation mode, images
        ``(N, C, H, W)``, an int or ``(N,)`` class indices.
    maps : torch.Tensor
        ``(N, H, W)`` heat maps of ``inputs``.
    steps : int
        Number of steps; the curve has ``steps + 1`` points (``steps + 1`` forward passes of
        the batch).
    baselines
        What a deleted pixel becomes.
    softmax : bool
        Record the softmax probability of ``target`` (as the paper); ``False`` records the
        raw score.

    Returns
    -------
    PixelCurve
        ``fractions`` ``(steps + 1,)`` and ``scores`` ``(N, steps + 1)``.
    """
    inputs, target, maps, steps = _check_curve_args(model, inputs, target, maps, steps,
                                                    softmax)
    end = check_baselines(baselines, inputs).expand_as(inputs)
    return _curve(model, inputs, target, maps, steps, inputs, end, softmax)


def insertion_curve(model: Any, inputs: torch.Tensor, target: Any, maps: torch.Tensor, *,
                    steps: int = 16, baselines: Any = None, sigma: float = 5.0,
                    softmax: bool = True) -> PixelCurve:
    """Insert pixels in decreasing order of the map into a blurred copy; record the probability.

    Petsiuk et al. (2018, Sec. 4.1): start from a canvas (by default the image blurred by a
    Gaussian of standard deviation ``sigma`` pixels, so that the start carries little
    evidence without being out of distribution), and after step ``k`` of ``steps`` put back
    the ``round(k H W / steps)`` pixels with the highest map values (ties in reading order).
    A map that finds the evidence makes the probability rise fast: a large
    :func:`curve_auc`. ``baselines`` (a number or a tensor) replaces the blurred canvas.

    Returns
    -------
    PixelCurve
        ``fractions`` ``(steps + 1,)`` and ``scores`` ``(N, steps + 1)``.
    """
    inputs, target, maps, steps = _check_curve_args(model, inputs, target, maps, steps,
                                                    softmax)
    if baselines is None:
        sigma = check_real("sigma", sigma, positive=True)
        start = _blur(inputs, sigma)
    else:
        start = check_baselines(baselines, inputs).expand_as(inputs)
    return _curve(model, inputs, target, maps, steps, start, inputs, softmax)


def curve_auc(curve: PixelCurve) -> torch.Tensor:
    """Area under each curve by the trapezoid rule over the fractions, ``(N,)``.

    >>> curve_auc(PixelCurve(torch.tensor([0.0, 0.5, 1.0]), torch.tensor([[1.0, 0.5, 0.0]])))
    tensor([0.5000])
    """
    if not isinstance(curve, tuple) or len(curve) != 2:
        raise TypeError(f"curve must be a PixelCurve (fractions, scores), got "
                        f"{type(curve).__name__}")
    fractions, scores = curve
    if not isinstance(fractions, torch.Tensor) or not isinstance(scores, torch.Tensor):
        raise TypeError("curve must hold two tensors, fractions (K,) and scores (N, K)")
    if fractions.ndim != 1 or scores.ndim != 2 or scores.shape[1] != len(fractions):
        raise ValueError(f"curve must hold fractions (K,) and scores (N, K), got "
                         f"{tuple(fractions.shape)} and {tuple(scores.shape)}")
    if len(fractions) < 2 or (fractions.diff() < 0).any():
        raise ValueError("curve's fractions must be at least two increasing values")
    widths = fractions.diff()  # (K - 1,)
    return ((scores[:, 1:] + scores[:, :-1]) / 2 * widths).sum(dim=1)


# --------------------------------------------------------------------------------------------
# Model randomisation
# --------------------------------------------------------------------------------------------


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``values`` ``(n,)``, tied values sharing their average rank."""
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_values)) + 1]  # first of each tie group
    ends = np.r_[starts[1:], len(values)]
    average = (starts + ends + 1) / 2  # mean of the ranks starts + 1 .. ends
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(average, ends - starts)
    return ranks


def spearman(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Spearman's rank correlation of each pair of maps ``(N, H, W)``, ``(N,)``.

    The Pearson correlation of the pixels' ranks (ties get their average rank). A constant
    map has no ranking: its correlation is NaN.

    >>> a = torch.tensor([[[1.0, 2.0], [3.0, 4.0]]])
    >>> spearman(a, a ** 3).tolist(), spearman(a, -a).tolist()
    ([1.0], [-1.0])
    """
    a, b = _check_maps(a), _check_maps(b)
    if a.shape != b.shape:
        raise ValueError(f"the maps must have the same shape, got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    out = []
    for x, y in zip(a.detach().flatten(1).cpu().double().numpy(),
                    b.detach().flatten(1).cpu().double().numpy()):
        rx, ry = _ranks(x) - (len(x) + 1) / 2, _ranks(y) - (len(y) + 1) / 2
        denominator = np.sqrt((rx ** 2).sum() * (ry ** 2).sum())
        out.append((rx * ry).sum() / denominator if denominator > 0 else math.nan)
    return torch.tensor(out, dtype=torch.float64)


class RandomizationResult(NamedTuple):
    """What :func:`randomization_check` found, one row per step of the cascade."""

    #: the re-initialised modules, top first; after step ``i``, ``layers[:i + 1]`` are random
    layers: tuple
    #: ``(N, H, W)`` the maps of the trained model
    original: torch.Tensor
    #: ``(L, N, H, W)`` the maps after each step
    maps: torch.Tensor
    #: ``(L, N)`` Spearman correlation of ``|original|`` and ``|maps[i]|``
    rank_correlation_abs: torch.Tensor
    #: ``(L, N)`` Spearman correlation of the signed maps
    rank_correlation: torch.Tensor

    def passed(self, threshold: float = 0.5) -> bool:
        """Whether the maps of the fully randomised model no longer resemble the original.

        True when the mean rank correlation of the absolute maps after the last step is
        below ``threshold`` (a method whose maps survive random weights fails).
        """
        threshold = check_real("threshold", threshold)
        return bool(np.nanmean(self.rank_correlation_abs[-1].numpy()) < threshold)


def _default_layers(model: nn.Module) -> list[str]:
    """Direct children with parameters, from the output back to the input."""
    names = [name for name, child in model.named_children()
             if any(True for _ in child.parameters())]
    if not names:
        raise ValueError("model has no child module with parameters to re-initialise; "
                         "pass layers=[...] with the names of its layers")
    return names[::-1]


def _reinitialise(module: nn.Module) -> None:
    """Call ``reset_parameters`` of ``module`` and of every submodule that has it."""
    for sub in module.modules():
        if hasattr(sub, "reset_parameters") and callable(sub.reset_parameters):
            sub.reset_parameters()
        if isinstance(sub, nn.modules.batchnorm._NormBase):
            sub.reset_running_stats()


def randomization_check(model: nn.Module, inputs: torch.Tensor, target: Any,
                        explain: Callable[..., torch.Tensor], *, layers: Any = None,
                        seed: int = 0) -> RandomizationResult:
    """The cascading model-randomisation test of Adebayo et al. (2018, Sec. 3.1).

    Copies ``model``, then re-initialises its layers one at a time from the top (the
    logits) down, cumulatively, and after each step recomputes the maps with
    ``explain(randomised_model, inputs, target)``. Each map is compared with the trained
    model's map by Spearman's rank correlation, of the absolute values (as the paper's
    main figures) and of the signed values. ``model`` itself is not changed.

    A layer is re-initialised by the ``reset_parameters`` of its modules (PyTorch's
    default initialisation; batch norm's running statistics are reset as well), drawn
    from ``torch.manual_seed(seed)``; the paper draws from a truncated normal instead.

    Parameters
    ----------
    model : nn.Module
        The trained classifier, in evaluation mode.
    inputs, target
        Images ``(N, C, H, W)`` and the class(es) to explain.
    explain : callable
        ``explain(model, inputs, target) -> (N, H, W)`` maps, for example
        ``lambda m, x, t: heatmap(saliency(m, x, t))``.
    layers : list of str, optional
        Names of the modules to re-initialise (``model.get_submodule(name)``), top first.
        Default: the model's direct children that have parameters, in reverse order
        (``["head", "features", "stage2", "stage1"]`` for a
        :class:`lecturepkg.models.GapNet`).
    seed : int
        Seed of the new weights.

    Returns
    -------
    RandomizationResult
        The layers, the original maps, the maps after each step and the rank correlations
        ``(L, N)``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module (its layers are re-initialised), "
                        f"got {type(model).__name__}")
    check_model(model)
    inputs = check_inputs(inputs, model)
    target = check_target(target, inputs.shape[0], inputs.device)
    if not callable(explain):
        raise TypeError(f"explain must be a callable (model, inputs, target) -> maps "
                        f"(N, H, W), got {type(explain).__name__}")
    seed = check_int("seed", seed, minimum=0)
    if layers is None:
        layers = _default_layers(model)
    if isinstance(layers, str) or not isinstance(layers, (list, tuple)) or not layers:
        raise TypeError(f"layers must be a non-empty list of module names, got {layers!r}")
    for name in layers:
        try:
            model.get_submodule(name)
        except (AttributeError, TypeError):
            raise ValueError(f"layers must name modules of model; {name!r} is not one") from None

    def run(m):
        maps = explain(m, inputs, target)
        return _check_maps(maps, inputs.shape[0]).detach()

    original = run(model)
    randomised = copy.deepcopy(model)
    steps = []
    with torch.random.fork_rng(devices=[]):  # the caller's random state is left alone
        torch.manual_seed(seed)
        for name in layers:
            _reinitialise(randomised.get_submodule(name))
            steps.append(run(randomised))
    maps = torch.stack(steps)  # (L, N, H, W)
    rho_abs = torch.stack([spearman(original.abs(), m.abs()) for m in maps])  # (L, N)
    rho = torch.stack([spearman(original, m) for m in maps])
    return RandomizationResult(tuple(layers), original, maps, rho_abs, rho)
