"""Call a student's function under grading conditions.

While the function runs:

* the library functions that would compute the answer for it are unavailable wherever they
  are referenced (a Python function's code is swapped for a blocker's; a compiled function
  is replaced in every loaded module and in the student's own namespace, so ``from numpy
  import correlate`` is caught too), and so is the reference solution in ``check()``;
* the PyTorch operators that would compute it (``aten.convolution``, ...) and, where the
  exercise says so, autograd, are refused at PyTorch's dispatcher, whatever Python route
  reaches them (``torch.nn.functional``, ``nn`` modules, ``torch.ops.aten``, ``torch._C``);
* a timer interrupts it after ``timeout`` seconds (POSIX main thread; elsewhere no limit);
* its array arguments are copied first and compared afterwards, so a function that changes
  its input in place is caught.

Calling something unavailable raises :class:`ForbiddenCall`, whose message names it.
An exception raised by the student's code is re-raised as :class:`StudentError`, whose
message is the student's own traceback lines, without the grader's frames.

``Submission(func, exercise, block_reference=False)`` never imports the reference
solutions: the command line grader calls the student's function that way in a process that
must not hold them.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import os
import signal
import sys
import sysconfig
import threading
import traceback
import types
from typing import Any, Callable, Iterable

import numpy as np

from lecturepkg.grading import _guard
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


def _raiser(text: str, label: str) -> Callable:
    def blocked(*args, **kwargs):
        raise ForbiddenCall(text)

    blocked.__name__ = label.split(".")[-1]
    return blocked


def _blocker(label: str, exercise: str) -> Callable:
    return _raiser(_guard.message(label, exercise), label)


def _describe_op(name: str) -> str:
    from lecturepkg.grading.exercises import describe_op

    return describe_op(name)


@contextlib.contextmanager
def forbidden(targets: Iterable[str], exercise: str, func: Callable | None = None, *,
              ops: Iterable[str] = (), autograd: bool = False, swap_code: bool = True):
    """Make ``targets``, the PyTorch operators ``ops`` and (if ``autograd``) autograd
    unavailable for the duration of the block; restore everything afterwards.

    ``targets`` are ``"module:attr"`` names (``"package:*"``: every function of a package;
    a third-party package that is not imported yet is not imported for this: importing it
    is refused instead, which is as safe and saves seconds of imports).
    A Python function among them has its code swapped for a blocker's, which blocks every
    reference to it; a compiled one is replaced by a blocker in every loaded module that
    holds it and where ``func``'s globals, defaults or closure hold it (``from numpy import
    correlate``). With ``swap_code=False`` every target is only replaced where it is named
    (and in ``func``'s namespace).

    The operators and autograd are refused by a PyTorch dispatch mode, whatever Python
    route reaches them; threads started in the block get a mode of their own, and what
    would switch the mode off (``torch._C._DisableTorchDispatch``, popping it from outside
    PyTorch's own code...) is refused too. If the block leaves the dispatch mode stack
    changed, the stack is trimmed back and :class:`GradingFailure` is raised.
    """
    patched: list[tuple[Any, str, Any]] = []  # (module, class, dict or cell; attribute; original)
    swapped: list[tuple[types.FunctionType, types.CodeType]] = []
    blockers: dict[int, Callable] = {}  # id(original) -> its blocker
    originals: dict[int, Any] = {}
    mode = None  # the dispatch mode, once entered
    depth = 0
    ops = tuple(ops)

    def patch(owner, attr, original, replacement):
        if isinstance(owner, dict):
            owner[attr] = replacement
        else:
            setattr(owner, attr, replacement)
        patched.append((owner, attr, original))

    def patch_everywhere(target: str, replacement: Callable[[str], Callable]):
        """Replace a compiled ``target`` where it is named and in every module holding it."""
        for label, owner, attr, value in _guard.resolve(target):
            for where, name in [(owner, attr)] + _guard.module_aliases(value):
                patch(where, name, value, replacement(label))

    def new_mode():
        return _guard.refusing_mode(ops, autograd, exercise, _describe_op, ForbiddenCall)

    try:
        lazy = [t.split(":")[0] for t in targets if _guard.not_loaded(t)]
        if lazy:  # a library not imported yet: refuse its import instead of importing it now
            blocker = _guard.ImportBlocker(lazy, lambda name: ForbiddenCall(_guard.message(name, exercise)))
            sys.meta_path.insert(0, blocker)
            patched.append((sys.meta_path, None, blocker))
        for target in targets:
            if target.split(":")[0] in lazy:
                continue
            for label, owner, attr, value in _guard.resolve(target):
                function = _guard.python_function(value) if swap_code else None
                if function is not None:
                    if all(function is not f for f, _ in swapped):
                        code = function.__code__
                        function.__code__ = _guard.blocking_code(code, _guard.message(label, exercise))
                        swapped.append((function, code))
                    continue
                if owner is None or not callable(value):
                    continue
                blocker = blockers.setdefault(id(value), _blocker(label, exercise))
                originals[id(value)] = value
                patch(owner, attr, value, blocker)
                if swap_code:  # a compiled function: wherever a module holds it
                    for namespace, name in _guard.module_aliases(value):
                        if namespace.get(name) is value:
                            patch(namespace, name, value, blocker)

        def held(value):
            return id(value) in originals and originals[id(value)] is value

        namespace = getattr(func, "__globals__", {})
        for name, value in list(namespace.items()):
            if held(value):
                patch(namespace, name, value, blockers[id(value)])
        defaults = getattr(func, "__defaults__", None)
        if defaults and any(held(v) for v in defaults):
            patch(func, "__defaults__", defaults,
                  tuple(blockers[id(v)] if held(v) else v for v in defaults))
        kwdefaults = getattr(func, "__kwdefaults__", None) or {}
        for name, value in list(kwdefaults.items()):
            if held(value):
                patch(kwdefaults, name, value, blockers[id(value)])
        for cell in getattr(func, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if held(value):
                patch(cell, "cell_contents", value, blockers[id(value)])

        if ops or autograd:
            refusing = new_mode()
            for target in _guard.ESCAPE_HATCHES:
                patch_everywhere(target, lambda label: _raiser(
                    _guard.message(label, exercise, _guard.SWITCH_OFF), label))
            if autograd:  # forward-mode AD entered without torch.autograd.forward_ad
                patch_everywhere(_guard.FORWARD_AD_ENTRY, lambda label: _raiser(
                    _guard.message(f"{_guard.AUTOGRAD[:-1]}: {label})", exercise), label))
            refused = _guard.message("popping the grader's PyTorch dispatch mode", exercise, _guard.SWITCH_OFF)
            for label, owner, attr, value in _guard.resolve(_guard.POP_TARGET):
                pop = _guard.guarded_pop(value, refusing, lambda: ForbiddenCall(refused))
                for where, name in [(owner, attr)] + _guard.module_aliases(value):
                    patch(where, name, value, pop)
            if hasattr(threading.Thread, "_bootstrap_inner"):  # threads started in the block
                original = threading.Thread._bootstrap_inner
                patch(threading.Thread, "_bootstrap_inner", original,
                      _guard.guarded_thread_start(original, new_mode))
            depth = _guard.dispatch_stack_depth()
            refusing.__enter__()
            mode = refusing
        yield
    finally:
        for function, code in reversed(swapped):
            function.__code__ = code
        for owner, attr, original in reversed(patched):
            if owner is sys.meta_path:
                sys.meta_path.remove(original)
            elif isinstance(owner, dict):
                owner[attr] = original
            else:
                setattr(owner, attr, original)
        if mode is not None and not _guard.leave_mode(mode, depth):
            raise GradingFailure(f"{exercise} changed PyTorch's dispatch modes (the grader's "
                                 "guard against forbidden operators): leave them as they are")


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
    """A copy of an argument to compare it with after the call: arrays and tensors, and
    lists, tuples and dicts of them (``depth_concat``'s list of maps, a block's state dict),
    copied element by element; ``None`` for what cannot be changed in place or compared."""
    try:
        import torch

        if isinstance(value, torch.Tensor):
            return value.detach().clone()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list) or (isinstance(value, tuple) and _comparable(value)):
        return type(value)(_snapshot(v) if _comparable(v) else copy.deepcopy(v) for v in value)
    if isinstance(value, dict):
        return {k: _snapshot(v) if _comparable(v) else copy.deepcopy(v) for k, v in value.items()}
    if isinstance(value, set):
        return copy.deepcopy(value)
    return None


def _is_tensor(value: Any) -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover
        return False
    return isinstance(value, torch.Tensor)


def _comparable(value: Any) -> bool:
    """Whether ``value`` holds arrays or tensors, which ``==`` does not compare to one bool."""
    if isinstance(value, np.ndarray) or _is_tensor(value):
        return True
    if isinstance(value, (list, tuple)):
        return any(_comparable(v) for v in value)
    if isinstance(value, dict):
        return any(_comparable(v) for v in value.values())
    return False


def _same(before: Any, after: Any) -> bool:
    if isinstance(before, np.ndarray):
        return isinstance(after, np.ndarray) and before.shape == after.shape and \
            np.array_equal(before, after, equal_nan=True)
    try:
        import torch

        if isinstance(before, torch.Tensor):
            return isinstance(after, torch.Tensor) and before.shape == after.shape and \
                bool(torch.equal(before, after.detach()))
    except ImportError:  # pragma: no cover
        pass
    if isinstance(before, (list, tuple)) and _comparable(before):
        return type(after) is type(before) and len(after) == len(before) and \
            all(_same(b, a) for b, a in zip(before, after))
    if isinstance(before, dict) and _comparable(before):
        return isinstance(after, dict) and before.keys() == after.keys() and \
            all(_same(before[k], after[k]) for k in before)
    return before == after


_LIBRARY_DIRS = tuple(os.path.abspath(p) + os.sep for p in {
    sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})


def student_traceback(err: BaseException, *, libraries: bool = True) -> str:
    """The traceback lines of ``err`` that are in the student's code, not in the grader
    (nor, with ``libraries=False``, in the libraries it called after the student's last line)."""
    frames = [f for f in traceback.extract_tb(err.__traceback__)
              if not os.path.abspath(f.filename).startswith(_GRADING_DIR)]
    if not libraries:
        while frames and os.path.abspath(frames[-1].filename).startswith(_LIBRARY_DIRS):
            frames.pop()
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
        self.forbidden = tuple(exercise.forbidden)
        self.forbidden_ops = tuple(getattr(exercise, "forbidden_ops", ()))
        self.forbid_autograd = bool(getattr(exercise, "forbid_autograd", False))
        self.reference = (exercise.reference,) if block_reference else ()

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
            with forbidden(self.reference, name, self.func, swap_code=False), \
                    forbidden(self.forbidden, name, self.func, ops=self.forbidden_ops,
                              autograd=self.forbid_autograd), \
                    time_limit(self.exercise.timeout, name):
                result = self.func(*args, **kwargs)
        except GradingTimeout as err:
            raise GradingFailure(str(err)) from None
        except ForbiddenCall as err:
            raise StudentError(f"{err}\n{student_traceback(err, libraries=False)}", err) from None
        except GradingFailure:
            raise
        except NotImplementedError as err:
            raise StudentError(f"{name} is not written yet: it raises NotImplementedError ({err})", err) from None
        except Exception as err:  # noqa: BLE001 - the student's bug, reported to them
            raise StudentError(f"{name} raised {type(err).__name__}: {err}\n{student_traceback(err)}", err) from None
        for key, old in before.items():
            if old is not None and not _same(old, arguments[key]):
                how = (f"work on a copy, e.g. {key} = {key}.copy()" if not isinstance(old, (list, tuple, dict))
                       else f"copy an array or tensor of {key} before you write into it, e.g. a = a.copy() "
                            "(numpy) or t = t.clone() (PyTorch)")
                raise GradingFailure(f"{name} changed its argument '{key}' in place; leave inputs unchanged ({how})")
        return result
