"""Argument checks shared by the public functions of lecturepkg.

Every public function validates its input up front so that a student sees a message naming
the argument and what was expected, instead of a silent broadcast or a cryptic error from
deep inside numpy or torch.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Sequence

import numpy as np
import torch


def check_int(name: str, value: Any, *, minimum: int | None = None) -> int:
    """Return ``value`` as an ``int`` or raise a clear error naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_real(
    name: str, value: Any, *, positive: bool = False, nonnegative: bool = False
) -> float:
    """Return ``value`` as a finite ``float`` or raise a clear error naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    if nonnegative and value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` if it is a ``bool``; ``0``/``1`` or strings are refused."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return value


def check_tuple(name: str, value: Any, n: int, *, minimum: int | None = None) -> tuple[int, ...]:
    """Expand an int or a length-``n`` sequence of ints into an ``n``-tuple of ints.

    This is how torch treats ``kernel_size``, ``stride``, ``padding`` and ``dilation``:
    ``3`` means ``(3, 3)`` for a 2D operation.
    """
    if isinstance(value, (tuple, list)):
        if len(value) != n:
            raise ValueError(f"{name} must be an int or a sequence of {n} ints, got {value!r}")
        return tuple(check_int(f"{name}[{i}]", v, minimum=minimum) for i, v in enumerate(value))
    return (check_int(name, value, minimum=minimum),) * n


def check_ndarray(
    name: str,
    value: Any,
    *,
    ndim: int | Sequence[int] | None = None,
    shape_hint: str = "",
) -> np.ndarray:
    """Check that ``value`` is a numpy array (not a list, not a tensor) of the expected rank."""
    if not isinstance(value, np.ndarray):
        kind = type(value).__module__ + "." + type(value).__name__
        raise TypeError(f"{name} must be a numpy.ndarray{_hint(shape_hint)}, got {kind}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if value.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(
                f"{name} must be {want}{_hint(shape_hint)}, got shape {tuple(value.shape)}"
            )
    if not (np.issubdtype(value.dtype, np.number) or value.dtype == np.bool_):
        raise TypeError(f"{name} must have a numeric dtype, got {value.dtype}")
    return value


def check_shape_of(name: str, shape: Any) -> tuple[int, ...]:
    """Check a shape given as a tuple of positive ints (for example an input size)."""
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or not shape:
        raise TypeError(f"{name} must be a non-empty tuple of ints, got {shape!r}")
    return tuple(check_int(f"{name}[{i}]", s, minimum=1) for i, s in enumerate(shape))


def _hint(shape_hint: str) -> str:
    return f" of shape {shape_hint}" if shape_hint else ""


def check_format(name: str, fmt: Any) -> str:
    """Check that ``fmt`` is a format string that formats one number, such as ``"{:g}"``."""
    if not isinstance(fmt, str):
        raise TypeError(f"{name} must be a format string such as '{{:g}}', got {fmt!r}")
    try:
        fmt.format(1.5)
    except (IndexError, KeyError, ValueError) as err:
        raise ValueError(f"{name} must format one number, e.g. '{{:g}}', got {fmt!r}") from err
    return fmt


def check_input(x: Any, shape: Sequence[int | str], name: str = "x") -> torch.Tensor:
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
