"""The one check every model of the course runs on its input, so they all fail alike.

A model's ``forward(x)`` first calls :func:`check_input`: anything that is not a tensor
raises ``TypeError``, a tensor of the wrong shape raises ``ValueError``, and both messages
name the argument ``x`` and the expected shape, instead of a shape error from deep inside a
layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["check_input"]


def check_input(x, shape: Sequence[int | str], name: str = "x") -> torch.Tensor:
    """Check that ``x`` is a tensor of ``shape``: an int is a required size, a str any size.

    >>> check_input(torch.zeros(2, 3, 10), ("N", 3, "L")).shape
    torch.Size([2, 3, 10])
    >>> check_input(torch.zeros(2, 1, 10), ("N", 3, "L"))
    Traceback (most recent call last):
    ...
    ValueError: x must have shape (N, 3, L), got (2, 1, 10)
    """
    expected = "(" + ", ".join(str(s) for s in shape) + ")"
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor of shape {expected}, got {type(x).__name__}"
        )
    if x.ndim != len(shape) or any(
        isinstance(s, int) and size != s for size, s in zip(x.shape, shape)
    ):
        raise ValueError(f"{name} must have shape {expected}, got {tuple(x.shape)}")
    return x
