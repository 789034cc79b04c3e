"""Each from-scratch function that mirrors a torch function takes its arguments.

The course promises that a from-scratch function can be swapped with its library
counterpart: the same parameter names, in the same order, with the same defaults (and none
made keyword-only where torch takes it by position). This test compares the two
``inspect.signature``\\ s.

The oracle. Most of ``torch.nn.functional``'s convolutions are C builtins that carry no
signature for ``inspect`` (``F.conv2d``, ``F.conv_transpose2d``, ``F.avg_pool2d``), and
``F.max_pool2d`` is a dispatch wrapper whose signature is ``(*args, **kwargs)``. For those the
oracle is torch's *documented* signature, written out below as it appears in the first line of
torch's docstring; a test checks that the written copy still equals that docstring line, so
the copy cannot drift from the installed torch. Where ``inspect`` does give a real signature
(``F.unfold``), it is the oracle.

A from-scratch function may leave out torch's trailing options that the course does not
teach (``ceil_mode``, ``return_indices``, ...); those are listed per pair, so that dropping
any other parameter fails.
"""

from __future__ import annotations

import inspect
import re

import pytest
import torch.nn.functional as F

import lecturepkg.conv as conv

# torch's documented signatures, copied from the first line of each builtin's docstring
# (checked against it by test_documented_signatures_are_torchs below)
DOCUMENTED = {
    "conv1d": "conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1)",
    "conv2d": "conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1)",
    "conv3d": "conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1)",
    "conv_transpose1d": "conv_transpose1d(input, weight, bias=None, stride=1, padding=0, "
    "output_padding=0, groups=1, dilation=1)",
    "conv_transpose2d": "conv_transpose2d(input, weight, bias=None, stride=1, padding=0, "
    "output_padding=0, groups=1, dilation=1)",
    "conv_transpose3d": "conv_transpose3d(input, weight, bias=None, stride=1, padding=0, "
    "output_padding=0, groups=1, dilation=1)",
    "avg_pool2d": "avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, "
    "count_include_pad=True, divisor_override=None)",
    # F.max_pool2d's docstring has no signature line; this is the one of torch's
    # documentation page and of F.max_pool2d_with_indices, which it dispatches to
    "max_pool2d": "max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, "
    "ceil_mode=False, return_indices=False)",
}

# (from-scratch function, name of its torch.nn.functional counterpart, torch's trailing
# parameters it leaves out)
PAIRS = [
    (conv.conv1d, "conv1d", ()),
    (conv.conv2d, "conv2d", ()),
    (conv.conv3d, "conv3d", ()),
    (conv.conv1d_fast, "conv1d", ()),
    (conv.conv2d_fast, "conv2d", ()),
    (conv.conv3d_fast, "conv3d", ()),
    (conv.max_pool2d, "max_pool2d", ("ceil_mode", "return_indices")),
    (conv.avg_pool2d, "avg_pool2d", ("ceil_mode", "count_include_pad", "divisor_override")),
    (conv.conv_transpose1d, "conv_transpose1d", ()),
    (conv.conv_transpose2d, "conv_transpose2d", ()),
    (conv.conv_transpose3d, "conv_transpose3d", ()),
    # the two other ways of chapter 2's transposed convolution take conv_transpose2d's order
    (conv.conv_transpose_via_matrix, "conv_transpose2d", ()),
    (conv.conv_transpose_via_conv, "conv_transpose2d", ()),
    (conv.im2col, "unfold", ()),
]

_NO_DEFAULT = "<required>"


def _parse(documented: str) -> list[tuple[str, str]]:
    """``"f(a, b=1)"`` -> ``[("a", "<required>"), ("b", "1")]``."""
    inside = documented[documented.index("(") + 1 : documented.rindex(")")]
    params = []
    for part in inside.split(","):
        name, _, default = part.strip().partition("=")
        params.append((name.strip(), default.strip() or _NO_DEFAULT))
    return params


def _params(signature: inspect.Signature) -> list[tuple[str, str]]:
    """(name, repr of default) for each parameter; fails on keyword-only or ``*args``."""
    params = []
    for p in signature.parameters.values():
        assert p.kind == p.POSITIONAL_OR_KEYWORD, (
            f"parameter {p.name!r} is {p.kind.description}; torch takes it by position too"
        )
        params.append((p.name, _NO_DEFAULT if p.default is p.empty else repr(p.default)))
    return params


def torch_params(name: str) -> list[tuple[str, str]]:
    """The oracle: ``inspect.signature`` where it works, else torch's documented one."""
    function = getattr(F, name)
    try:
        signature = inspect.signature(function)
    except ValueError:  # a builtin without a signature
        return _parse(DOCUMENTED[name])
    kinds = {p.kind for p in signature.parameters.values()}
    if inspect.Parameter.VAR_POSITIONAL in kinds:  # a dispatch wrapper: (*args, **kwargs)
        return _parse(DOCUMENTED[name])
    return _params(signature)


@pytest.mark.parametrize(
    "ours, torch_name, omitted", PAIRS, ids=[f"{f.__name__}-{n}" for f, n, _ in PAIRS]
)
def test_signature_matches_torch(ours, torch_name, omitted):
    expected = torch_params(torch_name)
    got = _params(inspect.signature(ours))
    kept = [p for p in expected if p[0] not in omitted]
    assert [p[0] for p in expected[len(kept) :]] == list(omitted), (
        f"only torch's trailing parameters may be left out; {omitted} are not trailing in "
        f"{[p[0] for p in expected]}"
    )
    assert got == kept, (
        f"{ours.__module__}.{ours.__name__}{inspect.signature(ours)} does not take the "
        f"arguments of torch.nn.functional.{torch_name}: expected {kept}, got {got}"
    )


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_documented_signatures_are_torchs(name):
    """The written oracle equals the installed torch's docstring, where it has one."""
    doc = getattr(F, name).__doc__ or ""
    first = next((line.strip() for line in doc.splitlines() if line.strip()), "")
    match = re.match(rf"{name}\((.*)\)\s*->", first)
    if match is None:
        if name == "max_pool2d":  # documented on torch's page, not in its docstring
            signature = inspect.signature(F.max_pool2d_with_indices)
            assert _parse(DOCUMENTED[name]) == _params(signature)
            return
        pytest.fail(f"F.{name}'s docstring no longer opens with its signature: {first!r}")
    assert _parse(DOCUMENTED[name]) == _parse(f"{name}({match.group(1)})")


@pytest.mark.parametrize("package", ["lecturepkg", "lecturepkg.blocks", "lecturepkg.conv",
                                     "lecturepkg.models", "lecturepkg.interpret",
                                     "lecturepkg.viz", "lecturepkg.data", "lecturepkg.grading",
                                     "lecturepkg.detection"])
def test_no_exported_name_shadows_a_submodule(package):
    """``lecturepkg.conv.im2col`` is the function; no module of the package has its name."""
    import importlib
    import pkgutil

    module = importlib.import_module(package)
    for info in pkgutil.iter_modules(module.__path__):
        assert info.name not in module.__all__, (
            f"{package} exports {info.name!r}, the name of its submodule"
        )
