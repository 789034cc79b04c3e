"""Occlusion, or covering part of the image and watching the class score (Zeiler & Fergus).

Zeiler & Fergus, *Visualizing and understanding convolutional networks* (ECCV 2014), Sec.
4.2 and Fig. 7: slide a grey square over the image and record, for every position, the
score of the correct class. Where covering the image makes the score drop, the network
looked. No gradient is needed, only forward passes, and many of them:
:func:`occlusion_forward_passes` computes how many.

:func:`occlusion` follows captum's ``Occlusion`` (the same arguments and the same numbers,
tested): a window of shape ``sliding_window_shapes`` = ``(C, h, w)`` moves in steps of
``strides`` over one image ``(C, H, W)``; at each position the values under it are
replaced by ``baselines``; the score's drop ``S_c(x) - S_c(x occluded)`` is added to every
value under the window, and each value's total is divided by the number of windows that
covered it. Along an axis of size ``L`` with window ``k`` and stride ``s`` the window
starts at ``0, s, 2s, ...``, ``ceil((L - k) / s) + 1`` positions, the last one cut off at
the border when ``s`` does not divide ``L - k``, so that every value is covered.
"""

from __future__ import annotations

import itertools
import math
import numbers
from typing import Any

import torch

from lecturepkg.interpret._args import (
    check_baselines,
    check_bool,
    check_inputs,
    check_int,
    check_model,
    check_target,
    select_target,
)
from lecturepkg.output import progress

__all__ = ["occlusion", "occlusion_forward_passes", "occlusion_window_counts"]


def _check_shape(name: str, value: Any, n: int, hint: str) -> tuple[int, ...]:
    """A tuple of ``n`` positive ints (``strides`` may also be one int for all axes)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and name == "strides":
        value = (value,) * n
    if not isinstance(value, (tuple, list)) or len(value) != n:
        raise ValueError(f"{name} must be a tuple of {n} ints {hint}, got {value!r}")
    return tuple(check_int(f"{name}[{i}]", v, minimum=1) for i, v in enumerate(value))


def occlusion_window_counts(
    input_shape: tuple, sliding_window_shapes: tuple, strides: Any = 1
) -> tuple[int, ...]:
    """Number of window positions along each axis of one input, as :func:`occlusion` slides.

    ``ceil((L - k) / s) + 1`` for an axis of size ``L``, window ``k`` and stride ``s``.
    The window may not be larger than the input, and the stride not larger than the
    window (captum's rules: a larger stride would leave values that no window covers),
    except along an axis the window covers whole.

    >>> occlusion_window_counts((3, 32, 32), (3, 8, 8), strides=(3, 4, 4))
    (1, 7, 7)
    >>> occlusion_window_counts((3, 32, 32), (3, 8, 8), strides=(3, 5, 5))  # the last: 25-32
    (1, 6, 6)
    """
    if not isinstance(input_shape, (tuple, list, torch.Size)) or len(input_shape) == 0:
        raise ValueError(
            f"input_shape must be the shape (C, H, W) of one input, got {input_shape!r}"
        )
    input_shape = tuple(
        check_int(f"input_shape[{i}]", v, minimum=1) for i, v in enumerate(input_shape)
    )
    n = len(input_shape)
    window = _check_shape(
        "sliding_window_shapes", sliding_window_shapes, n,
        "(the window's shape in every axis of one input, e.g. (C, h, w))",
    )
    strides = _check_shape("strides", strides, n, "or one int")
    counts = []
    for axis, (size, k, s) in enumerate(zip(input_shape, window, strides)):
        if k > size:
            raise ValueError(
                f"sliding_window_shapes {window} is larger than the input {input_shape} "
                f"along axis {axis}"
            )
        if k < size and s > k:
            raise ValueError(
                f"strides[{axis}] = {s} is larger than the window ({k}): some values would "
                "never be covered"
            )
        counts.append(math.ceil((size - k) / s) + 1)
    return tuple(counts)


def occlusion_forward_passes(
    input_shape: tuple, sliding_window_shapes: tuple, strides: Any = 1
) -> int:
    """How many times :func:`occlusion` runs the model on each image.

    One pass on the image itself, then one per window position: ``1 + prod_a
    (ceil((L_a - k_a) / s_a) + 1)`` (see :func:`occlusion_window_counts`). A backward pass
    costs about two forward passes, so saliency (one forward, one backward) is far
    cheaper than occlusion with a small window and stride.

    >>> occlusion_forward_passes((3, 224, 224), (3, 16, 16), strides=(3, 8, 8))
    730
    """
    return 1 + math.prod(occlusion_window_counts(input_shape, sliding_window_shapes, strides))


def occlusion(
    model: Any,
    inputs: torch.Tensor,
    target: Any,
    sliding_window_shapes: tuple,
    strides: Any = 1,
    baselines: Any = 0.0,
    perturbations_per_eval: int = 1,
    show_progress: bool = False,
) -> torch.Tensor:
    """The drop of the class score when a window of the input is covered (Zeiler & Fergus).

    Zeiler & Fergus, *Visualizing and understanding convolutional networks* (ECCV 2014),
    Sec. 4.2. The result for an input value is the average, over the window positions that
    cover it, of ``S_c(x) - S_c(x with the window set to the baseline)``: positive where
    covering the image lowers the score. The arguments and the numbers are those of
    captum's ``Occlusion(model).attribute(inputs, sliding_window_shapes, strides,
    baselines, target, perturbations_per_eval=...)``.

    Parameters
    ----------
    model : torch.nn.Module or callable
        Maps ``(N, C, H, W)`` to scores ``(N, num_classes)``; call ``model.eval()`` first.
    inputs : torch.Tensor
        Images ``(N, C, H, W)``, floating point, not modified.
    target : int or torch.Tensor
        The class whose score is watched: one int or a ``(N,)`` tensor.
    sliding_window_shapes : tuple of 3 ints
        The window ``(c, h, w)``; ``(C, h, w)`` covers every channel at once, as Zeiler &
        Fergus's grey square does.
    strides : int or tuple of 3 ints
        Steps of the window along ``(C, H, W)``; no larger than the window (see
        :func:`occlusion_window_counts`).
    baselines : float or torch.Tensor
        What covers the image: a number (``0.0``, or the data's mean: Zeiler & Fergus's
        grey) or a tensor of shape ``(N, C, H, W)`` or ``(1, C, H, W)``.
    perturbations_per_eval : int
        Window positions evaluated in one forward pass (captum's argument): the batch has
        ``perturbations_per_eval * N`` images. The result does not change, only the speed.
    show_progress : bool
        Show a progress bar over the forward passes.

    Returns
    -------
    torch.Tensor
        ``(N, C, H, W)``. The model ran :func:`occlusion_forward_passes` times per image.
    """
    check_model(model)
    check_inputs(inputs, model)
    n = inputs.shape[0]
    target = check_target(target, n, inputs.device)
    counts = occlusion_window_counts(tuple(inputs.shape[1:]), sliding_window_shapes, strides)
    window = tuple(sliding_window_shapes)
    steps = _check_shape("strides", strides, 3, "or one int")
    baselines = check_baselines(baselines, inputs)  # (N, C, H, W)
    per_eval = check_int("perturbations_per_eval", perturbations_per_eval, minimum=1)
    check_bool("show_progress", show_progress)

    # the top-left-front corner of every window position, channel axis first
    corners = list(itertools.product(*(range(0, c * s, s) for c, s in zip(counts, steps))))
    x, x0 = inputs.detach(), baselines.detach()
    total = torch.zeros_like(x)  # sum of the score drops over the windows: (N, C, H, W)
    covered = torch.zeros(x.shape[1:], dtype=x.dtype, device=x.device)  # (C, H, W)
    bar = progress(total=len(corners) + 1, desc="occlusion", disable=not show_progress)
    with torch.no_grad():
        score = select_target(model(x), target)  # (N,)
        bar.update(1)
        for first in range(0, len(corners), per_eval):
            chunk = corners[first : first + per_eval]
            masks = torch.zeros((len(chunk), *x.shape[1:]), dtype=torch.bool, device=x.device)
            for mask, corner in zip(masks, chunk):  # (C, H, W) each; slices stop at the border
                mask[tuple(slice(c, c + k) for c, k in zip(corner, window))] = True
            occluded = torch.where(masks[:, None], x0[None], x[None])  # (P, N, C, H, W)
            scores = select_target(
                model(occluded.reshape(len(chunk) * n, *x.shape[1:])), target.repeat(len(chunk))
            ).reshape(len(chunk), n)  # (P, N)
            drop = score[None] - scores  # (P, N)
            total += (drop[:, :, None, None, None] * masks[:, None]).sum(dim=0)
            covered += masks.sum(dim=0)
            bar.update(len(chunk))
    bar.close()
    return total / covered  # every value is covered at least once
