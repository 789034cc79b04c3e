"""Module boundaries of the package, read from its source with ``ast``.

- A module does not import another module's private (underscore) names. Shared helpers live
  in a private module (``_args.py``, ``_checks.py``, ...), whose names may then be imported;
  importing a private module itself (``from lecturepkg.grading import _wire``) is fine too.
- The ``int or one int per axis`` type alias, ``IntOrTuple``, is defined in one module.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

import lecturepkg

PACKAGE = pathlib.Path(lecturepkg.__file__).parent
MODULES = sorted(PACKAGE.rglob("*.py"))


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def is_module(dotted: str) -> bool:
    """Whether ``lecturepkg.a.b`` is a module or package of this package."""
    path = PACKAGE.parent.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def private_imports(source: str, module: str, is_package: bool = False) -> list[str]:
    """``'from M import _x'`` for each underscore name that ``module``'s source imports from
    another lecturepkg module ``M`` that is not private; importing a private module is fine."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:  # relative import: resolve it against the importing module
            base = module.split(".")
            base = base[: len(base) - node.level + (1 if is_package else 0)]
            source_module = ".".join(base + ([node.module] if node.module else []))
        else:
            source_module = node.module or ""
        if source_module.split(".")[0] != "lecturepkg":
            continue  # third-party internals are not this test's business
        if any(is_private(part) for part in source_module.split(".")):
            continue  # a private module: its names are meant for the package
        for alias in node.names:
            if is_private(alias.name) and not is_module(f"{source_module}.{alias.name}"):
                found.append(f"from {source_module} import {alias.name} (line {node.lineno})")
    return found


def int_or_tuple_aliases(source: str) -> list[str]:
    """Module-level aliases of ``Union[int, ...]`` and assignments to ``IntOrTuple``."""
    found = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        names = [t.id for t in targets if isinstance(t, ast.Name)]
        union_of_int = (
            isinstance(value, ast.Subscript)
            and isinstance(value.value, ast.Name)
            and value.value.id == "Union"
            and isinstance(value.slice, ast.Tuple)
            and isinstance(value.slice.elts[0], ast.Name)
            and value.slice.elts[0].id == "int"
        )
        found += [name for name in names if name == "IntOrTuple" or union_of_int]
    return found


def test_the_package_has_modules():
    assert PACKAGE / "conv" / "_args.py" in MODULES
    assert len(MODULES) > 30


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_no_module_imports_another_modules_private_names(path: pathlib.Path):
    found = private_imports(path.read_text(), module_name(path), path.name == "__init__.py")
    assert not found, f"{module_name(path)} imports private names: {found}"


def test_int_or_tuple_is_defined_in_one_module():
    defined = {module_name(p): int_or_tuple_aliases(p.read_text()) for p in MODULES}
    defined = {name: aliases for name, aliases in defined.items() if aliases}
    assert defined == {"lecturepkg.conv._args": ["IntOrTuple"]}


# The checks above must be able to fail: run them on small made-up sources.


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from lecturepkg.conv.functional import _window, conv1d", ["_window"]),
        ("from lecturepkg.conv.functional import (\n    conv2d,\n    _split_groups,\n)",
         ["_split_groups"]),
        ("from .functional import _window", ["_window"]),
        ("from lecturepkg.conv._args import check_array, _private_but_in_a_private_module", []),
        ("from lecturepkg.grading import _wire", []),  # a private module, not a name in one
        ("from lecturepkg.conv import conv1d\nfrom lecturepkg.conv.functional import __all__", []),
        ("from torch.utils._python_dispatch import _get_current_dispatch_mode", []),
    ],
)
def test_private_imports_finds_exactly_the_private_names(source, expected):
    found = private_imports(source, "lecturepkg.conv.nd")
    assert [entry.split()[3] for entry in found] == expected


def test_int_or_tuple_aliases_finds_copies_under_any_name():
    source = (
        "from typing import Sequence, Union\n"
        "IntOrTuple = Union[int, Sequence[int]]\n"
        "IntOrPair = Union[int, Sequence[int]]\n"
        "Number = Union[float, int]\n"
        "def f():\n    IntOrTuple = 1\n"
    )
    assert int_or_tuple_aliases(source) == ["IntOrTuple", "IntOrPair"]
    assert int_or_tuple_aliases("from lecturepkg.conv._args import IntOrTuple\n") == []
