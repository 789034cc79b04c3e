"""Call a student's function under grading conditions.

While the function runs:

* the library functions that would compute the answer for it (and the reference solution)
  are replaced by a stand-in that raises :class:`ForbiddenCall`, in their modules and in the
  student's own namespace (``from numpy import correlate`` is caught too);
* a timer interrupts it after ``timeout`` seconds (POSIX main thread; elsewhere no limit);
* its array arguments are copied first and compared afterwards, so a function that changes
  its input in place is caught.

An exception raised by the student's code is re-raised as :class:`StudentError`, whose
message is the student's own traceback lines, without the grader's frames.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import inspect
import os
import signal
import threading
import traceback
from typing import Any, Callable, Iterable

import numpy as np

from lecturepkg.grading.feedback import GradingFailure

_GRADING_DIR = os.path.dirname(os.path.abspath(__file__))


class ForbiddenCall(RuntimeError):
    """A student's function called a library function that solves the exercise for it."""


class GradingTimeout(Exception):
    """The student's function ran longer than the exercise's time limit."""


class StudentError(GradingFailure):
    """The student's function raised an exception; the message shows where, in their code.

    ``original`` is the exception itself, for tests that expect one (``expect_raises``).
    """

    def __init__(self, message: str, original: BaseException | None = None):
        super().__init__(message)
        self.original = original


def _resolve(target: str) -> tuple[Any, str, Any] | None:
    """``"pkg.module:attr"`` -> (module or class, attribute name, current value)."""
    module_name, attr = target.split(":")
    owner_path = attr.split(".")
    try:
        owner = importlib.import_module(module_name)
    except ImportError:
        return None
    for part in owner_path[:-1]:
        owner = getattr(owner, part, None)
        if owner is None:
            return None
    if not hasattr(owner, owner_path[-1]):
        return None
    return owner, owner_path[-1], getattr(owner, owner_path[-1])


def _blocker(target: str, exercise: str) -> Callable:
    def blocked(*args, **kwargs):
        raise ForbiddenCall(
            f"{target.replace(':', '.')} is not available while '{exercise}' is graded: "
            f"this exercise asks you to write that computation yourself"
        )

    blocked.__name__ = target.split(":")[-1].split(".")[-1]
    return blocked


@contextlib.contextmanager
def forbidden(targets: Iterable[str], exercise: str, func: Callable | None = None):
    """Replace each ``"module:attr"`` of ``targets`` by a blocker, also where ``func``'s
    globals or closure hold a reference to it (``from numpy import correlate``); restore
    everything afterwards."""
    patched: list[tuple[Any, str, Any]] = []
    blockers: dict[int, Callable] = {}  # id(original) -> its blocker
    try:
        for target in targets:
            found = _resolve(target)
            if found is None:
                continue
            owner, attr, original = found
            blocker = _blocker(target, exercise)
            blockers.setdefault(id(original), blocker)
            setattr(owner, attr, blocker)
            patched.append((owner, attr, original))
        originals = {id(o): o for _, _, o in patched}
        namespace = getattr(func, "__globals__", {})
        for name, value in list(namespace.items()):
            if id(value) in originals and originals[id(value)] is value:
                patched.append((namespace, name, value))
                namespace[name] = blockers[id(value)]
        for cell in getattr(func, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if id(value) in originals and originals[id(value)] is value:
                patched.append((cell, "cell_contents", value))
                cell.cell_contents = blockers[id(value)]
        yield
    finally:
        for owner, attr, original in reversed(patched):
            if isinstance(owner, dict):
                owner[attr] = original
            else:
                setattr(owner, attr, original)


@contextlib.contextmanager
def time_limit(seconds: float, what: str):
    """Interrupt the block after ``seconds`` with :class:`GradingTimeout` (POSIX main thread)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable or seconds is None:
        yield
        return

    def on_alarm(signum, frame):
        raise GradingTimeout(f"{what} did not finish within {seconds:g} s "
                             "(an infinite loop, or far too slow?)")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _snapshot(value: Any) -> Any:
    try:
        import torch

        if isinstance(value, torch.Tensor):
            return value.detach().clone()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, dict, set)):
        return copy.deepcopy(value)
    return None


def _same(before: Any, after: Any) -> bool:
    if isinstance(before, np.ndarray):
        return before.shape == after.shape and np.array_equal(before, after, equal_nan=True)
    try:
        import torch

        if isinstance(before, torch.Tensor):
            return before.shape == after.shape and bool(torch.equal(before, after.detach()))
    except ImportError:  # pragma: no cover
        pass
    return before == after


def student_traceback(err: BaseException) -> str:
    """The traceback lines of ``err`` that are in the student's code, not in the grader."""
    frames = [f for f in traceback.extract_tb(err.__traceback__)
              if not os.path.abspath(f.filename).startswith(_GRADING_DIR)]
    lines = ["Traceback (your code):\n"] + traceback.format_list(frames)
    lines += traceback.format_exception_only(type(err), err)
    return "".join(lines).rstrip()


class Submission:
    """A student's (or the reference) function, callable under grading conditions."""

    def __init__(self, func: Callable, exercise, *, block_reference: bool = True):
        if not callable(func):
            raise TypeError(f"the function to check must be callable, got {type(func).__name__}")
        self.func = func
        self.exercise = exercise
        self.forbidden = tuple(exercise.forbidden) + ((exercise.reference,) if block_reference else ())

    def __call__(self, *args, **kwargs):
        name = self.exercise.name
        try:
            bound = inspect.signature(self.func).bind(*args, **kwargs)
        except TypeError as err:
            raise GradingFailure(f"{name} cannot be called as the exercise requires: {err}. "
                                 "Keep the parameters of the stub.") from None
        except ValueError:  # no signature (a builtin)
            bound = None
        arguments = bound.arguments if bound is not None else dict(enumerate(args))
        before = {k: _snapshot(v) for k, v in arguments.items()}
        try:
            with forbidden(self.forbidden, name, self.func), time_limit(self.exercise.timeout, name):
                result = self.func(*args, **kwargs)
        except GradingTimeout as err:
            raise GradingFailure(str(err)) from None
        except ForbiddenCall as err:
            raise StudentError(f"{err}\n{student_traceback(err)}", err) from None
        except GradingFailure:
            raise
        except NotImplementedError as err:
            raise StudentError(f"{name} is not written yet: it raises NotImplementedError ({err})", err) from None
        except Exception as err:  # noqa: BLE001 - the student's bug, reported to them
            raise StudentError(f"{name} raised {type(err).__name__}: {err}\n{student_traceback(err)}", err) from None
        for key, old in before.items():
            if old is not None and not _same(old, arguments[key]):
                raise GradingFailure(
                    f"{name} changed its argument '{key}' in place; leave inputs unchanged "
                    f"(work on a copy, e.g. {key} = {key}.copy())"
                )
        return result
