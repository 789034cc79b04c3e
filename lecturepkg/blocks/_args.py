"""Argument checks shared by the modules of :mod:`lecturepkg.blocks`.

:func:`check_input` is the check of every model's input (``lecturepkg._checks``), the same
function that ``lecturepkg.models`` uses, so blocks and models fail alike.
"""

from __future__ import annotations

from typing import Any

import torch

from lecturepkg._checks import check_bool, check_input, check_int, check_real

__all__ = ["check_int", "check_real", "check_bool", "check_features", "check_input"]


def check_features(x: Any, features: int, name: str = "x") -> torch.Tensor:
    """Check that ``x`` is a floating tensor of shape ``(..., features)``."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor of shape (..., {features}), got {type(x).__name__}"
        )
    if x.ndim == 0 or x.shape[-1] != features:
        raise ValueError(f"{name} must have shape (..., {features}), got {tuple(x.shape)}")
    return x
