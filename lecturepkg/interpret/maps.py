"""From attributions to heat maps, by reducing the channels and scaling each image's map.

Attribution methods (:mod:`~lecturepkg.interpret.gradients`,
:mod:`~lecturepkg.interpret.perturbation`) return one number per input value, ``(N, C, H,
W)`` like captum. A heat map has one number per pixel. Simonyan et al. (2014, Sec. 3.1)
take, at each pixel, the largest absolute value over the colour channels::

    M[i, j] = max_c |w[c, i, j]|                        reduce="max_abs"

Integrated gradients are usually summed over the channels instead, keeping their sign, so
that the map still adds up to the change of the score (Sundararajan et al. 2017)::

    M[i, j] = sum_c w[c, i, j]                          reduce="sum"
    M[i, j] = sum_c |w[c, i, j]|                        reduce="abs_sum"

:func:`normalize_map` then scales every image's map on its own (a map is only ever
compared with itself: its largest value says nothing about another image's).
"""

from __future__ import annotations

from typing import Any

import torch

from lecturepkg.interpret._args import check_choice

__all__ = ["heatmap", "normalize_map", "REDUCTIONS", "NORMALIZATIONS"]

#: The channel reductions of :func:`heatmap`.
REDUCTIONS = ("max_abs", "sum", "abs_sum")
#: The scalings of :func:`normalize_map`.
NORMALIZATIONS = ("minmax", "max_abs")


def _check_tensor(name: str, value: Any, ndim: int, shape: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor of shape {shape}, got {type(value).__name__}"
        )
    if value.ndim != ndim:
        raise ValueError(f"{name} must have shape {shape}, got {tuple(value.shape)}")
    if not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    if value.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(value.shape)}")
    return value


def heatmap(attributions: torch.Tensor, reduce: str = "max_abs") -> torch.Tensor:
    """Reduce attributions ``(N, C, H, W)`` over the channels to maps ``(N, H, W)``.

    Parameters
    ----------
    attributions : torch.Tensor
        One attribution per input value, ``(N, C, H, W)``, as returned by
        :func:`~lecturepkg.interpret.saliency` and the other methods.
    reduce : {"max_abs", "sum", "abs_sum"}
        ``"max_abs"``: the largest absolute value over the channels, the saliency map of
        Simonyan et al. (2014); ``"sum"``: the signed sum (for integrated gradients, the map
        then sums to the attributions' total); ``"abs_sum"``: the sum of absolute values.

    Returns
    -------
    torch.Tensor
        ``(N, H, W)``, detached from the autograd graph.

    >>> a = torch.tensor([[[[1.0, -2.0]], [[-3.0, 0.5]]]])  # (1, 2, 1, 2)
    >>> heatmap(a)
    tensor([[[3., 2.]]])
    >>> heatmap(a, reduce="sum")
    tensor([[[-2.0000, -1.5000]]])
    """
    attributions = _check_tensor("attributions", attributions, 4, "(N, C, H, W)")
    check_choice("reduce", reduce, REDUCTIONS)
    a = attributions.detach()  # (N, C, H, W)
    if reduce == "max_abs":
        return a.abs().amax(dim=1)  # (N, H, W)
    if reduce == "sum":
        return a.sum(dim=1)
    return a.abs().sum(dim=1)


def normalize_map(maps: torch.Tensor, method: str = "minmax") -> torch.Tensor:
    """Scale each map of ``(N, H, W)`` on its own, for display or comparison.

    Parameters
    ----------
    maps : torch.Tensor
        Heat maps ``(N, H, W)`` (for one map, pass ``m[None]``).
    method : {"minmax", "max_abs"}
        ``"minmax"``: ``(m - min m) / (max m - min m)``, into ``[0, 1]`` (as
        pytorch-grad-cam scales its maps); a constant map becomes all zeros.
        ``"max_abs"``: ``m / max |m|``, into ``[-1, 1]``, keeping the sign and the zero
        (for signed maps such as integrated gradients); an all-zero map stays zero.

    Returns
    -------
    torch.Tensor
        ``(N, H, W)``, a new tensor detached from the autograd graph.

    >>> normalize_map(torch.tensor([[[2.0, 4.0], [3.0, 6.0]]]))
    tensor([[[0.0000, 0.5000],
             [0.2500, 1.0000]]])
    >>> normalize_map(torch.tensor([[[-1.0, 4.0]]]), method="max_abs")
    tensor([[[-0.2500,  1.0000]]])
    """
    maps = _check_tensor("maps", maps, 3, "(N, H, W)")
    check_choice("method", method, NORMALIZATIONS)
    m = maps.detach()  # (N, H, W)
    flat = m.reshape(m.shape[0], -1)  # (N, H * W)
    if method == "minmax":
        low = flat.amin(dim=1)[:, None, None]  # (N, 1, 1)
        span = flat.amax(dim=1)[:, None, None] - low
        return torch.where(span > 0, (m - low) / torch.where(span > 0, span, 1.0), 0.0)
    scale = flat.abs().amax(dim=1)[:, None, None]  # (N, 1, 1)
    return torch.where(scale > 0, m / torch.where(scale > 0, scale, 1.0), 0.0)
