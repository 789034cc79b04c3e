"""Gradient attributions (saliency, SmoothGrad and integrated gradients).

How much does the class score ``S_c`` change when one input value changes a little? The
gradient ``dS_c / dx`` answers it for every input value at once, with one forward and one
backward pass. Three methods build on it:

* :func:`saliency` (Simonyan, Vedaldi & Zisserman 2014, Sec. 3.1): the gradient itself,
  usually its absolute value; the lecture notes' saliency map is
  ``heatmap(saliency(...), reduce="max_abs")``, the largest absolute value over the colour
  channels at each pixel.
* :func:`smoothgrad` (Smilkov et al. 2017): the average of the saliency of ``nt_samples``
  noisy copies ``x + N(0, stdevs^2)``; the gradient of a ReLU network jumps from pixel to
  pixel, its average over a neighbourhood of ``x`` does much less.
* :func:`integrated_gradients` (Sundararajan, Taly & Yan 2017): the gradient averaged along
  the straight path from a baseline ``x'`` (black image) to ``x``, times ``x - x'``. The
  attributions then add up to ``S_c(x) - S_c(x')`` (completeness), up to the error of the
  numerical integration.

The arguments are captum's (``Saliency``, ``NoiseTunnel(Saliency)``, ``IntegratedGradients``),
and the tests check that both give the same numbers (all but one integration rule of
captum's, see :func:`integration_points`). The model is used as it is: call
``model.eval()`` first (the methods warn when batch norm or dropout is in training mode).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lecturepkg.interpret._args import (
    check_baselines,
    check_bool,
    check_choice,
    check_inputs,
    check_int,
    check_model,
    check_real,
    check_target,
    select_target,
)

__all__ = ["saliency", "smoothgrad", "integrated_gradients", "integration_points", "METHODS"]

#: The integration rules of :func:`integrated_gradients` (captum's names).
METHODS = ("riemann_trapezoid", "riemann_left", "riemann_right", "riemann_middle",
           "gausslegendre")


def _score_gradient(model: Any, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The gradient ``d output[i, target[i]] / d inputs[i]`` of each image, ``(N, C, H, W)``."""
    with torch.enable_grad():
        x = inputs.detach().requires_grad_(True)  # a leaf of its own: inputs is not touched
        scores = select_target(model(x), target)  # (N,)
        # image i's score depends on image i only, so the gradient of the sum w.r.t. x[i]
        # is the gradient of score i (with batch norm in eval mode)
        (grad,) = torch.autograd.grad(scores.sum(), x)
    return grad  # (N, C, H, W)


def saliency(model: Any, inputs: torch.Tensor, target: Any, abs: bool = True) -> torch.Tensor:
    """The gradient of the class score with respect to the input (Simonyan et al. 2014).

    Simonyan, Vedaldi & Zisserman, *Deep inside convolutional networks: visualising image
    classification models and saliency maps* (ICLR workshop 2014), Sec. 3.1: the score
    ``S_c`` of class ``c`` is, near the image ``x0``, close to the linear function
    ``w^T x + b`` with ``w = dS_c / dx`` at ``x0``; the magnitude of ``w`` says which input
    values the score is most sensitive to. Their saliency map is ``max_c |w|`` over the
    colour channels: pass the result to :func:`~lecturepkg.interpret.heatmap`.

    They use the unnormalised score (the logit), not the softmax probability: the
    probability of one class can also rise because other classes' scores fall. So the
    model should return logits, as the course's models do.

    Parameters
    ----------
    model : torch.nn.Module or callable
        Maps ``(N, C, H, W)`` to scores ``(N, num_classes)``.
    inputs : torch.Tensor
        Images ``(N, C, H, W)``, floating point, with the model's dtype and device; not
        modified.
    target : int or torch.Tensor
        The class whose score is explained: one int for all images or a ``(N,)`` tensor.
    abs : bool
        Return ``|dS_c / dx|`` (default, as captum's ``Saliency``), or the signed gradient.

    Returns
    -------
    torch.Tensor
        ``(N, C, H, W)``, detached: one forward and one backward pass of the batch.

    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2, bias=False))
    >>> with torch.no_grad():
    ...     _ = model[1].weight.copy_(torch.tensor([[1.0, -2.0, 0.0, 3.0], [0, 0, 1, 0]]))
    >>> saliency(model, torch.randn(1, 1, 2, 2), target=0)  # a linear model: |w| of row 0
    tensor([[[[1., 2.],
              [0., 3.]]]])
    """
    check_model(model)
    check_inputs(inputs, model)
    target = check_target(target, inputs.shape[0], inputs.device)
    check_bool("abs", abs)
    grad = _score_gradient(model, inputs, target)
    return grad.abs() if abs else grad


def smoothgrad(
    model: Any,
    inputs: torch.Tensor,
    target: Any,
    nt_samples: int = 25,
    stdevs: float = 0.15,
    seed: int | None = None,
    abs: bool = True,
    nt_samples_batch_size: int | None = None,
) -> torch.Tensor:
    """Saliency averaged over noisy copies of the input (SmoothGrad, Smilkov et al. 2017).

    Smilkov, Thorat, Kim, Viégas & Wattenberg, *SmoothGrad: removing noise by adding noise*
    (2017), Eq. 3: ``M(x) = 1/n sum_k saliency(x + g_k)`` with ``g_k ~ N(0, stdevs^2)``
    drawn independently for every input value. The paper gives the noise level as
    ``stdevs / (x_max - x_min)`` and finds 10 % to 20 % works well: for images scaled to
    ``[0, 1]`` the default ``stdevs=0.15`` is 15 %. Like captum's
    ``NoiseTunnel(Saliency(model)).attribute(inputs, nt_type="smoothgrad", ...)``, this
    averages ``|gradient|`` when ``abs=True`` (captum's default); ``abs=False`` averages the
    signed gradients, as the paper's Eq. 3 does before taking the absolute value for
    display.

    Parameters
    ----------
    model, inputs, target
        As in :func:`saliency`.
    nt_samples : int
        Noisy copies per image ``n``: one forward and one backward pass each.
    stdevs : float
        Standard deviation of the Gaussian noise, in the units of ``inputs`` (captum's
        ``stdevs``, not a fraction of the range).
    seed : int or None
        Draw the noise from a ``torch.Generator`` seeded with ``seed`` (the same seed gives
        the same map); None draws from torch's global generator, as captum does: after
        ``torch.manual_seed(s)`` both draw the same noise.
    abs : bool
        Average ``|gradient|`` (default) or the signed gradient.
    nt_samples_batch_size : int or None
        Noisy copies of each image per forward pass (captum's argument); None: all
        ``nt_samples`` at once, ``N * nt_samples`` images in one batch.

    Returns
    -------
    torch.Tensor
        ``(N, C, H, W)``.
    """
    check_model(model)
    check_inputs(inputs, model)
    n = inputs.shape[0]
    target = check_target(target, n, inputs.device)
    nt_samples = check_int("nt_samples", nt_samples, minimum=1)
    stdevs = check_real("stdevs", stdevs, nonnegative=True)
    check_bool("abs", abs)
    if seed is not None:
        seed = check_int("seed", seed, minimum=0)
    chunk = nt_samples if nt_samples_batch_size is None else min(
        nt_samples, check_int("nt_samples_batch_size", nt_samples_batch_size, minimum=1)
    )
    generator = None if seed is None else torch.Generator(inputs.device).manual_seed(seed)
    total = torch.zeros_like(inputs)  # (N, C, H, W)
    for first in range(0, nt_samples, chunk):
        m = min(chunk, nt_samples - first)  # copies of each image in this pass
        # copies of image 0 first, then of image 1, ... (captum's order, so that the same
        # generator state gives the same noise)
        noise = torch.randn(
            (n * m, *inputs.shape[1:]), generator=generator, dtype=inputs.dtype,
            device=inputs.device,
        ) * stdevs  # (N * m, C, H, W)
        noisy = inputs.detach().repeat_interleave(m, dim=0) + noise
        grad = _score_gradient(model, noisy, target.repeat_interleave(m))
        grad = grad.abs() if abs else grad
        total += grad.reshape(n, m, *inputs.shape[1:]).sum(dim=1)
    return total / nt_samples


def integration_points(n_steps: int, method: str = "riemann_trapezoid") -> tuple:
    """Points ``alpha_k`` and weights ``w_k`` of a rule that integrates over ``[0, 1]``.

    ``sum_k w_k f(alpha_k)`` is close to the integral of ``f`` from 0 to 1.

    The rules of captum's ``IntegratedGradients`` (``method``): Riemann sums on ``n_steps``
    equal parts of ``[0, 1]`` with the ``left``, ``right`` or ``middle`` point of each
    part, the trapezoid rule on ``n_steps`` points from 0 to 1 (``n_steps - 1`` parts of
    width ``h = 1 / (n_steps - 1)``, weights ``h``, halved at both ends), and Gauss-Legendre
    quadrature (``numpy.polynomial.legendre.leggauss`` moved from ``[-1, 1]`` to ``[0,
    1]``). The Riemann rules need ``n_steps >= 2``. Returns two float64 numpy arrays
    ``(alphas, weights)`` of length ``n_steps``; the weights add up to 1, so a constant
    gradient (a linear model) is integrated exactly.

    A difference from captum (0.9): its trapezoid rule has the same points but weights
    ``1 / n_steps`` (halved at the ends), which add up to ``(n_steps - 1) / n_steps``. Its
    trapezoid attributions are therefore ours times ``(n_steps - 1) / n_steps``, and their
    sum misses ``S_c(x) - S_c(x')`` by a ``1 / n_steps`` share even for a linear model
    (``tests/test_interpret_gradients.py`` checks both facts). The other rules are the same
    in both.

    >>> alphas, weights = integration_points(5)
    >>> alphas.tolist(), weights.tolist()
    ([0.0, 0.25, 0.5, 0.75, 1.0], [0.125, 0.25, 0.25, 0.25, 0.125])
    """
    n_steps = check_int("n_steps", n_steps, minimum=1)
    check_choice("method", method, METHODS)
    if method == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(n_steps)  # on [-1, 1]
        return 0.5 * (1.0 + nodes), 0.5 * weights
    if n_steps < 2:
        raise ValueError(f"n_steps must be >= 2 for method {method!r}, got {n_steps}")
    weights = np.full(n_steps, 1.0 / n_steps)  # n_steps parts of width 1 / n_steps
    if method == "riemann_trapezoid":
        alphas = np.linspace(0.0, 1.0, n_steps)
        weights = np.full(n_steps, 1.0 / (n_steps - 1))  # n_steps - 1 parts between them
        weights[[0, -1]] /= 2
    elif method == "riemann_left":
        alphas = np.linspace(0.0, 1.0 - 1.0 / n_steps, n_steps)
    elif method == "riemann_right":
        alphas = np.linspace(1.0 / n_steps, 1.0, n_steps)
    else:  # riemann_middle
        alphas = np.linspace(0.5 / n_steps, 1.0 - 0.5 / n_steps, n_steps)
    return alphas, weights


def integrated_gradients(
    model: Any,
    inputs: torch.Tensor,
    target: Any,
    baselines: Any = None,
    n_steps: int = 50,
    method: str = "riemann_trapezoid",
    internal_batch_size: int | None = None,
) -> torch.Tensor:
    """Gradients integrated along the path from a baseline (Sundararajan et al. 2017).

    Sundararajan, Taly & Yan, *Axiomatic attribution for deep networks* (ICML 2017), Eq. 1
    and Sec. 5 (the Riemann approximation)::

        IG_i(x) = (x_i - x'_i) * integral_0^1 dS_c(x' + a (x - x')) / dx_i  da
                ~ (x_i - x'_i) * sum_k w_k dS_c(x' + alpha_k (x - x')) / dx_i

    with the points and weights of :func:`integration_points`. By the fundamental
    theorem of calculus along the path, the attributions of an image add up to
    ``S_c(x) - S_c(x')`` (completeness, their Prop. 1), up to the integration error, which
    shrinks as ``n_steps`` grows: the sum's distance to ``S_c(x) - S_c(x')`` is the check
    of convergence they recommend.

    Parameters
    ----------
    model, inputs, target
        As in :func:`~lecturepkg.interpret.saliency`.
    baselines : None, float or torch.Tensor
        The reference ``x'``: None is zeros (a black image), a number fills every value, a
        tensor has the shape ``(N, C, H, W)`` of ``inputs`` or ``(1, C, H, W)``.
    n_steps : int
        Points on the path: ``N * n_steps`` forward and backward passes in all.
    method : str
        One of :data:`METHODS` (see :func:`integration_points`). The default is the
        trapezoid rule; captum's default is ``"gausslegendre"``, so name the method when
        comparing the two.
    internal_batch_size : int or None
        At most this many images per forward pass (captum's argument; at least one point
        of the path per pass); None: all ``N * n_steps`` at once.

    Returns
    -------
    torch.Tensor
        ``(N, C, H, W)``; ``result.sum(dim=(1, 2, 3))`` is close to
        ``S_c(inputs) - S_c(baselines)``.
    """
    check_model(model)
    check_inputs(inputs, model)
    n = inputs.shape[0]
    target = check_target(target, n, inputs.device)
    baselines = check_baselines(baselines, inputs)  # (N, C, H, W)
    alphas, weights = integration_points(n_steps, method)
    steps_per_pass = len(alphas)
    if internal_batch_size is not None:
        size = check_int("internal_batch_size", internal_batch_size, minimum=1)
        steps_per_pass = max(1, size // n)
    x, x0 = inputs.detach(), baselines.detach()
    path_gradient = torch.zeros_like(inputs)  # sum_k w_k dS/dx at point k: (N, C, H, W)
    for first in range(0, len(alphas), steps_per_pass):
        a = torch.as_tensor(alphas[first : first + steps_per_pass], dtype=x.dtype,
                            device=x.device)  # (m,)
        w = torch.as_tensor(weights[first : first + steps_per_pass], dtype=x.dtype,
                            device=x.device)
        m = len(a)
        # m points of the path for every image, point-major: (m * N, C, H, W)
        points = (x0[None] + a[:, None, None, None, None] * (x - x0)[None]).reshape(
            m * n, *x.shape[1:]
        )
        grad = _score_gradient(model, points, target.repeat(m)).reshape(m, *x.shape)
        path_gradient += (grad * w[:, None, None, None, None]).sum(dim=0)
    return (x - x0) * path_gradient
