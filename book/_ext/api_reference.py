"""Sphinx extension for the book's API reference (``book/api``): each object documented once,
reachable under every name it has.

The reference documents each public object under the name a student imports it by: the
functions of :mod:`lecturepkg.conv` as ``lecturepkg.conv.conv2d``, not as
``lecturepkg.conv.functional.conv2d`` where they are defined. Two hooks make that work:

- ``autodoc-skip-member``: when a submodule's members are documented (for its own section of
  the page), a member that a parent subpackage re-exports in its ``__all__`` is skipped, since
  the subpackage's section documents it already (no duplicate object descriptions).
- ``missing-reference``: a cross-reference to another name of a documented object (the
  defining module's ``lecturepkg.conv.functional.conv2d``, a top-level re-export such as
  ``lecturepkg.page_threads``, or a relative ``:func:`conv2d``` in a submodule's docstring)
  is resolved by importing the target and linking to the documented name of the same object.

Only names under ``lecturepkg`` are touched; anything else is left to Sphinx (and, for
external packages, to ``nitpick_ignore_regex``).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import types

from sphinx.util.nodes import make_refnode

PACKAGE = "lecturepkg"


def _import(dotted: str):
    """The object that ``dotted`` names, or None.

    Attributes win over submodules, as in Python: a name a package exports is that object,
    not a submodule of the same name (tests/test_signatures.py keeps the package free of such
    pairs); when that leads nowhere, the module is tried.
    """
    parts = dotted.split(".")
    for attributes_first in (True, False):
        obj = _walk(parts, attributes_first)
        if obj is not None:
            return obj
    return None


def _walk(parts, attributes_first):
    try:
        obj = importlib.import_module(parts[0])
    except Exception:
        return None
    for i, name in enumerate(parts[1:], start=2):
        if attributes_first and hasattr(obj, name):
            obj = getattr(obj, name)
            continue
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except Exception:
            if not hasattr(obj, name):
                return None
            obj = getattr(obj, name)
    return obj


def _docstring_owner(node) -> str:
    """The real dotted name of the object whose docstring holds ``node`` ("" if none): autodoc
    marks its lines ``<file>:docstring of lecturepkg.conv.functional.conv2d``."""
    while node is not None:
        source = getattr(node, "source", None)
        if source and "docstring of " in source:
            return source.rsplit("docstring of ", 1)[1].split(":")[0].strip()
        node = node.parent
    return ""


def _is_submodule(package: str, name: str) -> bool:
    try:
        return importlib.util.find_spec(f"{package}.{name}") is not None
    except (ImportError, ValueError):
        return False


def _key(name: str, obj):
    """Identity of a documented object: functions, classes and modules by identity alone;
    data (small ints and tuples are shared objects) by identity and name."""
    if isinstance(obj, (types.FunctionType, types.ModuleType, type)) or inspect.isroutine(obj):
        return id(obj)
    return (id(obj), name.rsplit(".", 1)[-1])


_CACHE: dict = {}


def _documented(env) -> dict:
    """Map the identity of every documented ``lecturepkg`` object to its documented name
    (built once per build, when the first reference is resolved: all documents are read)."""
    cache = _CACHE.get(id(env))
    if cache is None:
        cache = {}
        objects = env.get_domain("py").objects
        for name, entry in objects.items():
            if not name.startswith(PACKAGE + ".") or getattr(entry, "aliased", False):
                continue
            if entry.objtype == "module":
                obj = sys.modules.get(name)
            else:
                obj = _import(name)
            if obj is not None:
                key = _key(name, obj)
                # a module and an object of the same name: the object's entry wins
                if key not in cache or objects[cache[key]].objtype == "module":
                    cache[key] = name
        _CACHE.clear()
        _CACHE[id(env)] = cache
    return cache


def resolve_alias(app, env, node, contnode):
    """Resolve a ``py`` reference to another name of a documented ``lecturepkg`` object."""
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "").lstrip(".~")
    # contexts to read a relative name in, nearest first: the module of the page section
    # (py:module), then the object whose docstring it is and the modules above it
    contexts = [node.get("py:module") or ""]
    owner = _docstring_owner(node).split(".")
    contexts += [".".join(owner[:cut]) for cut in range(len(owner), 0, -1)]
    candidates = [f"{c}.{target}" for c in dict.fromkeys(contexts) if c.startswith(PACKAGE)]
    candidates.append(target)
    domain = env.get_domain("py")
    for candidate in candidates:
        if not candidate.startswith(PACKAGE + ".") and candidate != PACKAGE:
            continue
        obj = _import(candidate)
        if obj is None:
            continue
        name = _documented(env).get(_key(candidate, obj))
        if name is None:
            continue
        entry = domain.objects[name]
        return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id,
                            contnode, name)
    return None


def skip_reexported(app, what, name, obj, skip, options):
    """Choose where each member is documented, so that each is documented once.

    - A submodule's member that a parent subpackage re-exports in its ``__all__`` is skipped:
      the subpackage's section documents it under the name it is imported by.
    - Except when that name is also a submodule's (a module and a function of one name, which
      tests/test_signatures.py now forbids): the subpackage skips it and its module's section
      documents it, since a module and a function cannot share one name in Sphinx's index.
    - Members that a class inherits or gets generated by another library (matplotlib gives
      every ``Artist`` subclass its own ``set``) are not part of the course's API.
    """
    if skip:
        return None
    if what == "class":
        if inspect.isroutine(obj) or isinstance(obj, type):
            module = getattr(obj, "__module__", None)
            if isinstance(module, str) and not module.startswith(PACKAGE):
                return True
        return None
    if what != "module":
        return None
    module = app.env.temp_data.get("autodoc:module") or ""
    parts = module.split(".")
    if len(parts) == 2 and _is_submodule(module, name):  # lecturepkg.conv itself
        return True
    # ancestors below the top-level package: lecturepkg.conv for lecturepkg.conv.functional
    for cut in range(len(parts) - 1, 1, -1):
        package = ".".join(parts[:cut])
        parent = importlib.import_module(package)
        exported = getattr(parent, "__all__", ())
        documentable = isinstance(obj, type) or inspect.isroutine(obj)  # data stays here
        if documentable and name in exported and getattr(parent, name, None) is obj:
            if _is_submodule(package, name) and parts[cut] == name:
                return None
            return True
    return None


def clear_cache(app, env, *args):
    _CACHE.clear()


def setup(app):
    app.connect("autodoc-skip-member", skip_reexported)
    app.connect("missing-reference", resolve_alias)
    app.connect("env-updated", clear_cache)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
