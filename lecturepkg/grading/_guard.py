"""How the sandbox makes forbidden functions, operators and autograd unavailable.

Private to :mod:`lecturepkg.grading.sandbox`. Three mechanisms, all undone after the call:

* **Python functions** (``scipy.signal.correlate``, the course's ``lecturepkg.conv``, the
  Python implementation behind ``numpy.correlate``) get their ``__code__`` swapped for a
  blocker's: every reference to the function object is blocked at once, whatever module,
  alias, closure or container holds it.
* **Compiled functions** (numpy's ``correlate2``, scipy's ``_sigtools._correlateND``) cannot
  be changed; they are replaced by a blocker in every loaded module that holds them, and in
  the student's function's globals, defaults and closure.
* **PyTorch operators** are refused by a dispatch mode (:class:`torch.utils._python_dispatch.
  TorchDispatchMode`): every PyTorch call that is not a composite of other operators reaches
  the dispatcher as itself, whatever Python route led there (``torch.nn.functional``,
  ``nn`` modules, ``torch.ops.aten``, ``torch._C``, a backward pass). The same mode refuses
  autograd: any operator that runs inside a backward pass, or while a forward-mode AD level
  is open.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import types
from typing import Any, Callable, Iterable

_HERE = os.path.abspath(__file__)


_YOURSELF = "this exercise asks you to write that computation yourself"
SWITCH_OFF = "it would switch off the grader's guard against forbidden PyTorch operators"


def message(what: str, exercise: str, why: str = _YOURSELF) -> str:
    return f"{what} is not available while '{exercise}' is graded: {why}"


# ----------------------------------------------------------------------------- targets

def _resolve_attr(module_name: str, attr: str) -> tuple[Any, str, Any] | None:
    """``module``, ``"A.b"`` -> (owner, attribute name, current value), or None."""
    try:
        owner = importlib.import_module(module_name)
    except ImportError:
        return None
    parts = attr.split(".")
    for part in parts[:-1]:
        owner = getattr(owner, part, None)
        if owner is None:
            return None
    if not hasattr(owner, parts[-1]):
        return None
    return owner, parts[-1], getattr(owner, parts[-1])


_PACKAGE_CACHE: dict[str, list[tuple[str, types.FunctionType]]] = {}


def package_functions(package: str) -> list[tuple[str, types.FunctionType]]:
    """Every Python function defined in ``package`` and its modules (methods, static and
    class methods and property accessors of its classes included), as (label, function)."""
    if package in _PACKAGE_CACHE:
        return _PACKAGE_CACHE[package]
    root = importlib.import_module(package)
    modules = [root]
    for info in pkgutil.walk_packages(getattr(root, "__path__", []), prefix=package + ".",
                                      onerror=lambda name: None):
        if {"tests", "test", "testing"} & set(info.name.split(".")[1:]):
            continue  # a library's own test suite computes no answer (and is slow to import)
        try:
            modules.append(importlib.import_module(info.name))
        except ImportError:  # pragma: no cover - an optional dependency of one module
            continue
    found: dict[int, tuple[str, types.FunctionType]] = {}

    def add(obj, label):
        if isinstance(obj, (staticmethod, classmethod)):
            obj = obj.__func__
        if isinstance(obj, property):
            for accessor in (obj.fget, obj.fset, obj.fdel):
                if accessor is not None:
                    add(accessor, label)
            return
        if isinstance(obj, types.FunctionType) and (obj.__module__ or "").startswith(package):
            found.setdefault(id(obj), (label, obj))

    for module in modules:
        for name, obj in list(vars(module).items()):
            if isinstance(obj, type) and obj.__module__ == module.__name__:
                for attr, member in list(vars(obj).items()):
                    if attr.startswith("__") and attr not in ("__init__", "__new__", "__call__"):
                        continue  # __repr__, __eq__, __hash__... compute no answer
                    add(member, f"{module.__name__}.{name}.{attr}")
            else:
                add(obj, f"{module.__name__}.{name}")
    _PACKAGE_CACHE[package] = list(found.values())
    return _PACKAGE_CACHE[package]


def not_loaded(target: str) -> bool:
    """Whether ``target`` is a whole third-party library (``"captum:*"``) that is not
    imported: then the sandbox refuses its import (:class:`ImportBlocker`) rather than
    importing it to block its functions. Parts of a library (``"torchvision.models.vgg:*"``)
    and the course's own packages are always imported and blocked."""
    module_name, attr = target.split(":")
    if attr != "*" or "." in module_name or module_name == "lecturepkg":
        return False
    prefix = module_name + "."
    return not any(name == module_name or name.startswith(prefix) for name in list(sys.modules))


class ImportBlocker:
    """A ``sys.meta_path`` finder that refuses to import ``packages`` (and their modules):
    finding one raises ``refuse(name)``."""

    def __init__(self, packages: list[str], refuse: Callable[[str], BaseException]):
        self.packages = tuple(packages)
        self.refuse = refuse

    def find_spec(self, name, path=None, target=None):
        for package in self.packages:
            if name == package or name.startswith(package + "."):
                raise self.refuse(f"importing {package}")
        return None


def resolve(target: str) -> list[tuple[str, Any, str | None, Any]]:
    """``"module:attr"`` or ``"package:*"`` -> [(label, owner, attribute, value)]; owner and
    attribute are None for the functions of a package. Unknown targets, and packages that
    are not installed, give []."""
    module_name, attr = target.split(":")
    if attr == "*":
        try:
            functions = package_functions(module_name)
        except ImportError:  # not installed (captum on Colab): nothing of it can be called
            return []
        return [(label, None, None, f) for label, f in functions]
    found = _resolve_attr(module_name, attr)
    if found is None:
        return []
    owner, name, value = found
    return [(f"{module_name}.{attr}", owner, name, value)]


def python_function(value: Any) -> types.FunctionType | None:
    """The Python function whose code runs when ``value`` is called, if there is one: the
    function itself, a method's function, or the implementation behind a numpy function."""
    if isinstance(value, (staticmethod, classmethod, types.MethodType)):
        value = value.__func__
    if isinstance(value, types.FunctionType):
        return value
    implementation = getattr(value, "_implementation", None)
    if isinstance(implementation, types.FunctionType):  # numpy's _ArrayFunctionDispatcher
        return implementation
    return None


# ----------------------------------------------------------------------- code swapping

_CODE_CACHE: dict[tuple, types.CodeType] = {}


def blocking_code(code: types.CodeType, text: str) -> types.CodeType:
    """A code object with the free variables of ``code`` whose call raises the sandbox's
    ForbiddenCall with ``text``, whatever its arguments."""
    key = (code.co_freevars, text)
    if key in _CODE_CACHE:
        return _CODE_CACHE[key]
    free = code.co_freevars
    lines = ["def _outer():"]
    if free:
        lines.append(f"    {' = '.join(free)} = None")
    lines.append("    def _blocked(*_lecturepkg_args, **_lecturepkg_kwargs):")
    if free:
        lines.append(f"        {', '.join(free)},")  # make them free variables of _blocked
    lines.append("        raise __import__('lecturepkg.grading.sandbox', fromlist=['ForbiddenCall'])"
                 f".ForbiddenCall({text!r})")
    lines.append("    return _blocked")
    namespace: dict = {}
    exec(compile("\n".join(lines), _HERE, "exec"), namespace)
    blocked = namespace["_outer"]().__code__
    assert blocked.co_freevars == free
    _CODE_CACHE[key] = blocked
    return blocked


# ------------------------------------------------------------------- compiled aliases

_ALIAS_CACHE: dict[int, tuple[int, Any, list[tuple[dict, str]]]] = {}


def module_aliases(value: Any) -> list[tuple[dict, str]]:
    """Every (module dict, name) of a loaded module that holds ``value``."""
    cached = _ALIAS_CACHE.get(id(value))
    if cached is not None and cached[0] == len(sys.modules) and cached[1] is value:
        return cached[2]
    found = []
    for module in list(sys.modules.values()):
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        for name, held in list(namespace.items()):
            if held is value:
                found.append((namespace, name))
    _ALIAS_CACHE[id(value)] = (len(sys.modules), value, found)
    return found


# ------------------------------------------------------------------ PyTorch operators

_MODE_CLASS = None
_OP_NAMES: dict[Any, str] = {}


def op_name(func: Any) -> str:
    """``aten.convolution`` for any overload of ``aten::convolution``."""
    try:
        return _OP_NAMES[func]
    except (KeyError, TypeError):
        pass
    schema = getattr(func, "_schema", None)
    name = schema.name.replace("::", ".") if schema is not None else str(func)
    try:
        _OP_NAMES[func] = name
    except TypeError:  # pragma: no cover - an unhashable operator
        pass
    return name


def refusing_mode(ops: Iterable[str], autograd: bool, exercise: str,
                  describe: Callable[[str], str], error: type) -> Any:
    """A dispatch mode refusing the operators ``ops`` (and autograd if ``autograd``) with
    ``error`` (the sandbox's ForbiddenCall)."""
    global _MODE_CLASS
    if _MODE_CLASS is None:
        import torch
        import torch.autograd.forward_ad as forward_ad
        from torch.utils._python_dispatch import TorchDispatchMode

        current_node = getattr(torch._C, "_current_autograd_node", lambda: None)  # torch >= 2.1

        class RefuseOperators(TorchDispatchMode):
            def __init__(self, ops, autograd, exercise, describe, error):
                super().__init__()
                self.ops = frozenset(ops)
                self.autograd = autograd
                self.exercise = exercise
                self.describe = describe
                self.error = error

            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                name = op_name(func)
                if name in self.ops:
                    raise self.error(message(self.describe(name), self.exercise))
                if self.autograd and (current_node() is not None or forward_ad._current_level >= 0):
                    raise self.error(message(AUTOGRAD, self.exercise))
                return func(*args, **(kwargs or {}))

        _MODE_CLASS = RefuseOperators
    return _MODE_CLASS(ops, autograd, exercise, describe, error)


#: What would switch the dispatch mode off for the student's code: refused while it is on.
ESCAPE_HATCHES = (
    "torch._C:_DisableTorchDispatch", "torch._C:_ExcludeDispatchKeyGuard",
    "torch._C:_ForceDispatchKeyGuard", "torch._C:_dispatch_tls_set_dispatch_key_excluded",
    "torch._C:_set_dispatch_mode", "torch._C:_unset_dispatch_mode",
)
POP_TARGET = "torch._C:_pop_torch_dispatch_stack"
#: Where forward-mode AD starts, also when ``torch.autograd.forward_ad`` is bypassed.
FORWARD_AD_ENTRY = "torch._C:_enter_dual_level"
AUTOGRAD = ("autograd (a backward pass, torch.autograd.grad, torch.func's grad/vjp/jacrev/jacfwd/jvp, "
            "forward-mode AD)")
_PASS_THROUGH = (os.sep + os.path.join("torch", "utils", "_python_dispatch.py"), os.sep + "contextlib.py")


def guarded_pop(original: Callable, mode: Any, refuse: Callable[[], BaseException]) -> Callable:
    """``torch._C._pop_torch_dispatch_stack`` that refuses to pop ``mode`` when asked by
    code outside PyTorch (the student's ``_pop_mode_temporarily()``), while PyTorch's own
    code (printing a tensor steps outside the modes) may still do it."""
    import torch

    torch_dir = os.path.dirname(os.path.abspath(torch.__file__)) + os.sep

    def pop(*args, **kwargs):
        from torch.utils._python_dispatch import _get_current_dispatch_mode

        if _get_current_dispatch_mode() is mode:
            frame = sys._getframe(1)
            while frame is not None and frame.f_code.co_filename.endswith(_PASS_THROUGH):
                frame = frame.f_back
            caller = os.path.abspath(frame.f_code.co_filename) if frame is not None else ""
            if not caller.startswith(torch_dir):
                raise refuse()
        return original(*args, **kwargs)

    return pop


def guarded_thread_start(original: Callable, make_mode: Callable[[], Any]) -> Callable:
    """``threading.Thread._bootstrap_inner`` that runs a thread started during the call under
    a dispatch mode of its own (a mode is per thread): the thread, not only the call, is
    refused the operators."""

    def bootstrap_inner(self):
        mode = make_mode()
        mode.__enter__()  # before the thread reports it has started: its target runs guarded
        try:
            return original(self)
        finally:
            mode.__exit__(None, None, None)

    return bootstrap_inner


def dispatch_stack_depth() -> int:
    import torch

    return torch._C._len_torch_dispatch_stack()


def leave_mode(mode: Any, depth: int) -> bool:
    """Exit ``mode``, entered when the dispatch mode stack was ``depth`` deep; True if the
    stack was as the mode left it. Otherwise (the student left modes of their own on it, or
    popped the grader's), the stack is trimmed back to ``depth`` and False is returned."""
    import torch
    from torch.utils._python_dispatch import _get_current_dispatch_mode

    if _get_current_dispatch_mode() is mode:
        mode.__exit__(None, None, None)
        return dispatch_stack_depth() == depth
    while dispatch_stack_depth() > depth:
        torch._C._pop_torch_dispatch_stack(None)
    return False
