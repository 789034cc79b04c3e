"""Assertions for grading tests that tell a student precisely what is wrong.

A grading test compares what the student's function returned with what was expected. On
failure it raises :class:`GradingFailure` whose message says what was expected and what came
back: the type, the shape, the dtype, the maximum absolute and relative error, and the first
index where the values differ, with both values. No pytest internals reach the student.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class GradingFailure(AssertionError):
    """A wrong answer. The message is written for the student."""


def _as_numpy(value: Any) -> np.ndarray | None:
    """A numpy view of an ndarray or a torch tensor; ``None`` for anything else."""
    if isinstance(value, np.ndarray):
        return value
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return None
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return None


def _fmt(x: Any) -> str:
    return f"{x:.6g}" if isinstance(x, (float, np.floating)) else repr(x)


def expect_array(
    actual: Any,
    expected: np.ndarray,
    *,
    what: str = "the result",
    rtol: float | None = None,
    atol: float | None = None,
    check_dtype: str = "kind",
) -> None:
    """Check that ``actual`` is an array equal to ``expected`` within tolerances.

    ``actual`` must be of the same container type as ``expected`` (numpy array or torch
    tensor). ``check_dtype`` is ``"kind"`` (float vs int vs bool must match), ``"exact"``
    or ``"none"``. Tolerances default by dtype: 1e-10 for float64, 1e-5 for float32,
    exact for integers.
    """
    expected_np = _as_numpy(expected)
    if expected_np is None:
        raise TypeError("expected must be a numpy array or a torch tensor")
    actual_np = _as_numpy(actual)
    want_type = type(expected).__module__.split(".")[0] + "." + type(expected).__name__
    if actual_np is None or type(actual) is not type(expected):
        got = type(actual).__module__.split(".")[0] + "." + type(actual).__name__
        raise GradingFailure(f"{what} should be a {want_type}, but your function returned a {got}"
                             + (f" ({_fmt(actual)})" if np.isscalar(actual) or actual is None else ""))
    if actual_np.shape != expected_np.shape:
        raise GradingFailure(
            f"{what} has the wrong shape: expected {tuple(expected_np.shape)}, got {tuple(actual_np.shape)}"
        )
    if check_dtype == "exact" and actual_np.dtype != expected_np.dtype:
        raise GradingFailure(f"{what} has dtype {actual_np.dtype}, expected {expected_np.dtype}")
    if check_dtype == "kind" and _kind(actual_np) != _kind(expected_np):
        raise GradingFailure(
            f"{what} has dtype {actual_np.dtype} ({_kind(actual_np)}), expected a "
            f"{_kind(expected_np)} dtype such as {expected_np.dtype}"
        )
    if rtol is None or atol is None:
        default = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-5, np.dtype(np.float16): 1e-3}
        tol = default.get(expected_np.dtype, 0.0)
        rtol = tol if rtol is None else rtol
        atol = tol if atol is None else atol
    a = actual_np.astype(np.float64) if actual_np.dtype != np.bool_ else actual_np
    e = expected_np.astype(np.float64) if expected_np.dtype != np.bool_ else expected_np
    if actual_np.dtype == np.bool_ or expected_np.dtype == np.bool_:
        close = a == e
    else:
        if not np.all(np.isfinite(a) | ~np.isfinite(e)):
            bad = tuple(int(i) for i in np.argwhere(~np.isfinite(a) & np.isfinite(e))[0])
            raise GradingFailure(f"{what} contains {a[bad]} at index {bad}; expected {_fmt(e[bad])}")
        close = np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
    if close.all():
        return
    first = tuple(int(i) for i in np.argwhere(~close)[0])
    lines = [f"{what} has the right shape {tuple(e.shape)} but wrong values "
             f"({int((~close).sum())} of {close.size} differ)."]
    if a.dtype != np.bool_:
        diff = np.abs(a - e)
        worst = tuple(int(i) for i in np.unravel_index(np.argmax(diff), diff.shape))
        scale = np.maximum(np.abs(e), np.finfo(np.float64).tiny)
        lines.append(f"max absolute error {diff.max():.4g} at index {worst}, "
                     f"max relative error {(diff / scale).max():.4g}")
    lines.append(f"first differing index {first}: expected {_fmt(e[first].item())}, got {_fmt(a[first].item())}")
    if e.size <= 12:
        lines.append(f"expected {np.array2string(e, precision=6, separator=', ')}")
        lines.append(f"got      {np.array2string(a, precision=6, separator=', ')}")
    raise GradingFailure("\n".join(lines))


def _kind(a: np.ndarray) -> str:
    if a.dtype == np.bool_:
        return "bool"
    if np.issubdtype(a.dtype, np.integer):
        return "integer"
    if np.issubdtype(a.dtype, np.floating):
        return "float"
    return str(a.dtype)


def expect_equal(actual: Any, expected: Any, *, what: str = "the result") -> None:
    """Check an exact value (an int, a tuple of ints, a string, ...), type included."""
    if type(actual) is not type(expected) and not (
        isinstance(expected, int) and isinstance(actual, (int, np.integer)) and not isinstance(actual, bool)
    ):
        raise GradingFailure(
            f"{what} should be a {type(expected).__name__} ({_fmt(expected)}), "
            f"got a {type(actual).__name__} ({_fmt(actual)})"
        )
    if actual != expected:
        raise GradingFailure(f"{what}: expected {_fmt(expected)}, got {_fmt(actual)}")


def expect_raises(exc_type, func, *args, what: str = "your function", **kwargs) -> None:
    """Check that calling ``func`` raises ``exc_type`` (for bad-input requirements)."""
    try:
        func(*args, **kwargs)
    except exc_type:
        return
    except Exception as err:  # noqa: BLE001 - reported to the student
        original = getattr(err, "original", None)  # the student's own exception, via the sandbox
        if isinstance(original, exc_type) and not isinstance(original, NotImplementedError):
            return
        if original is not None:
            err = original
        elif isinstance(err, GradingFailure):  # the grader's own word (a timeout, a crash)
            raise
        raise GradingFailure(f"{what} should raise {exc_type.__name__}, but raised "
                             f"{type(err).__name__}: {err}") from None
    raise GradingFailure(f"{what} should raise {exc_type.__name__}, but returned normally")
