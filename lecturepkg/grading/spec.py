"""What an exercise is: the function a student writes, its tests, its reference solution and
what it must not delegate to (library functions, PyTorch operators, autograd)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Exercise:
    """One graded exercise.

    Attributes
    ----------
    name:
        The name of the function the student writes (``check("correlate1d", correlate1d)``).
    chapter:
        The book folder of the chapter, e.g. ``"01-convolution"``.
    title:
        A short human title for score tables.
    tests:
        Dotted module name of the pytest file with this exercise's grading tests.
    reference:
        ``"module:function"`` of the reference solution (shown on the rendered page).
    forbidden:
        ``"module:attribute"`` names of library functions that compute the answer; they are
        unavailable while the exercise is checked (and so is ``reference`` in ``check()``).
        ``"package:*"`` stands for every function defined in the package and its modules.
        A Python function is blocked wherever it is referenced (its code is swapped for the
        time of the call); a compiled one in every module that holds it.
    forbidden_ops:
        PyTorch operators (``"aten.convolution"``, ``"aten.im2col"``, ...) refused at
        PyTorch's dispatcher while the exercise is checked, whatever Python route reached
        them (``torch.nn.functional``, ``nn`` modules, ``torch.ops.aten``, ``torch._C``...).
        Only operators that reach the dispatcher as themselves are listed: composite ones
        such as ``aten.conv1d`` arrive as ``aten.convolution``.
    forbid_autograd:
        Whether autograd is refused: any backward pass (``Tensor.backward``,
        ``torch.autograd.grad``, ``torch.func.grad/vjp/jacrev``) and forward-mode AD
        (``torch.func.jvp/jacfwd``, ``torch.autograd.forward_ad``).
    allowed:
        Tools that stay available although they are close to what is forbidden (shown on
        the exercise's page with the forbidden list), e.g. ``"torch.Tensor.unfold"``.
    timeout:
        Seconds one call of the student's function may take.
    """

    name: str
    chapter: str
    title: str
    tests: str
    reference: str
    forbidden: tuple[str, ...] = field(default_factory=tuple)
    forbidden_ops: tuple[str, ...] = field(default_factory=tuple)
    forbid_autograd: bool = False
    allowed: tuple[str, ...] = field(default_factory=tuple)
    timeout: float = 10.0

    def reference_function(self) -> Callable:
        module, attr = self.reference.split(":")
        return getattr(importlib.import_module(module), attr)

    def test_file(self) -> str:
        return importlib.import_module(self.tests).__file__
