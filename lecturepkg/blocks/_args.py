"""Argument checks shared by the modules of :mod:`lecturepkg.blocks`.

:func:`check_input` is the check of every model's input (``lecturepkg._checks``), the same
function that ``lecturepkg.models`` uses, so blocks and models fail alike.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import torch

from lecturepkg._checks import check_input, check_int

__all__ = ["check_int", "check_real", "check_bool", "check_features", "check_input"]


def check_real(name: str, value: Any, *, positive: bool = False) -> float:
    """Return ``value`` as a finite ``float`` or raise a clear error naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return value


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` if it is a ``bool``; ``0``/``1`` or strings are refused."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return value


def check_features(x: Any, features: int, name: str = "x") -> torch.Tensor:
    """Check that ``x`` is a floating tensor of shape ``(..., features)``."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor of shape (..., {features}), got {type(x).__name__}"
        )
    if x.ndim == 0 or x.shape[-1] != features:
        raise ValueError(f"{name} must have shape (..., {features}), got {tuple(x.shape)}")
    return x
