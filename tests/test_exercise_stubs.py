"""Each exercise stub on a chapter's exercises page has its reference solution's signature
and docstring, word for word: the page copies them, so a change to one must reach the other.

Both sides are read as source (``ast``): the stubs from the code cells of
``book/<chapter>/exercises.md``, the references from the module their ``reference`` names.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re

import pytest

from lecturepkg.grading import EXERCISES
from notebook_files import BOOK

CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```", re.S | re.M)


def _functions(source: str) -> dict[str, ast.FunctionDef]:
    return {n.name: n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)}


def _page_functions(chapter: str) -> dict[str, ast.FunctionDef]:
    """The top-level functions defined in the page's code cells (cell options skipped)."""
    found = {}
    for cell in CELL.findall((BOOK / chapter / "exercises.md").read_text()):
        code = "\n".join(l for l in cell.splitlines() if not l.startswith(":"))
        try:
            found.update(_functions(code))
        except SyntaxError:  # a cell with IPython magics defines no stub
            continue
    return found


def _reference(target: str) -> ast.FunctionDef:
    module, name = target.split(":")
    return _functions(inspect.getsource(importlib.import_module(module)))[name]


def _signature(node: ast.FunctionDef) -> str:
    returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
    return f"{node.name}({ast.unparse(node.args)}){returns}"


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_stub_has_the_reference_signature_and_docstring(name):
    exercise = EXERCISES[name]
    stubs = _page_functions(exercise.chapter)
    assert name in stubs, f"book/{exercise.chapter}/exercises.md has no stub def {name}(...)"
    stub, reference = stubs[name], _reference(exercise.reference)
    assert _signature(stub) == _signature(reference)
    stub_doc, reference_doc = ast.get_docstring(stub), ast.get_docstring(reference)
    assert reference_doc, f"{exercise.reference} has no docstring"
    assert stub_doc == reference_doc, f"the stub's docstring differs from {exercise.reference}'s"

