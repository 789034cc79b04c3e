"""Generate the Colab notebooks (``book/**/<page>.ipynb``) from the MyST sources (``<page>.md``).

A Colab student opens the ``.ipynb`` beside each page; Colab renders plain Markdown and knows
nothing of Sphinx. This converter turns every construct that only Sphinx understands into
what a notebook can show, so that the notebook holds the whole page:

- ``{literalinclude}`` -> the package source itself, extracted exactly as Sphinx does
  (``:pyobject:``, ``:lines:``, ...), in a fenced code block;
- admonitions -> block quotes with a bold title; dropdowns (``:class: dropdown``, e.g. the
  exercises' reference solutions) -> collapsed ``<details>`` blocks;
- ``{cite}`` -> "(Author et al., year)" linked to the entry on the online references page;
- ``{doc}``, ``{ref}`` and ``{py:...}`` -> links into the online book;
- ``{math}`` -> ``$...$``; figure captions kept in cell metadata -> a Markdown line under
  the figure's cell; ``(label)=`` targets and ``%`` comments -> dropped.

Anything else raises an error naming the page and the construct, so that a new construct
is added here before it can reach a student as raw MyST.

Maintainers edit only the ``.md``; after a change, regenerate the notebooks with::

    python book/_ext/colab.py          # all pages; or name .md files

The tests regenerate every notebook in memory and fail when a committed one differs.
"""

from __future__ import annotations

import functools
import json
import pathlib
import re
import sys
import types

import jupytext
import nbformat
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"

FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|:{3,})(?P<rest>.*)$")
DIRECTIVE = re.compile(r"^\{(?P<name>[\w:-]+)\}\s*(?P<args>.*)$")
ROLE = re.compile(r"\{(?P<name>[\w:-]+)\}`(?P<body>[^`]+)`")
INLINE = re.compile(ROLE.pattern + r"|(?P<ticks>`+)[^`][\s\S]*?(?<!`)(?P=ticks)(?!`)")
LABEL = re.compile(r"^\s*\((?P<label>[\w:.-]+)\)=\s*$")
ADMONITIONS = {"note": "Note", "tip": "Tip", "warning": "Warning", "important": "Important",
               "hint": "Hint", "caution": "Caution", "attention": "Attention",
               "seealso": "See also", "danger": "Danger", "error": "Error"}


class ConversionError(ValueError):
    """A page uses a MyST construct the converter cannot render for Colab."""


@functools.lru_cache(maxsize=None)
def config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text())


def book_url() -> str:
    """Where the rendered book is published (``html.baseurl`` in ``_config.yml``)."""
    return config()["html"]["baseurl"].rstrip("/") + "/"


def page_url(md: pathlib.Path, anchor: str = "") -> str:
    rel = md.resolve().relative_to(ROOT).with_suffix(".html").as_posix()
    return book_url() + rel + (f"#{anchor}" if anchor else "")


# ----------------------------------------------------------------------------- references

@functools.lru_cache(maxsize=None)
def bibliography() -> dict:
    """Citation key -> "Author et al., year", from every bib file the book uses."""
    from pybtex.database import parse_file

    entries = {}
    for bibfile in config()["bibtex_bibfiles"]:
        for key, entry in parse_file(str(ROOT / bibfile)).entries.items():
            people = entry.persons.get("author") or entry.persons.get("editor") or []
            names = [" ".join(p.last_names).replace("{", "").replace("}", "") for p in people]
            if not names:
                names = [entry.fields.get("organization", entry.fields.get("title", key))]
            who = (names[0] if len(names) == 1 else f"{names[0]} and {names[1]}"
                   if len(names) == 2 else f"{names[0]} et al.")
            entries[key] = (who, entry.fields.get("year", "n.d."))
    return entries


def _citation_anchor(key: str) -> str:
    from docutils.nodes import make_id

    template = config()["sphinx"]["config"].get("bibtex_cite_id", "")
    if "{key}" not in template:
        raise ConversionError("_config.yml: sphinx.config.bibtex_cite_id must contain {key}, "
                              "so that citations can link to their references entry")
    return make_id(template.format(key=key, bibliography_count=1))


def cite(name: str, body: str, where: str) -> str:
    refs = page_url(BOOK / "references.md")
    parts = []
    for key in (k.strip() for k in body.split(",")):
        if key not in bibliography():
            raise ConversionError(f"{where}: {{{name}}}`{body}` cites unknown key {key!r}")
        who, year = bibliography()[key]
        if name == "cite:t":
            parts.append(f"[{who} ({year})]({refs}#{_citation_anchor(key)})")
        else:
            parts.append(f"[{who}, {year}]({refs}#{_citation_anchor(key)})")
    return "; ".join(parts) if name == "cite:t" else "(" + "; ".join(parts) + ")"


# ----------------------------------------------------------------------- cross-references

@functools.lru_cache(maxsize=None)
def page_title(md: pathlib.Path) -> str:
    for line in md.read_text().splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    raise ConversionError(f"{md.relative_to(ROOT)} has no '# ' title")


@functools.lru_cache(maxsize=None)
def labels() -> dict:
    """``(label)=`` targets of every page: label -> (page, the heading that follows)."""
    found = {}
    for md in BOOK.rglob("*.md"):
        lines = md.read_text().splitlines()
        for i, line in enumerate(lines):
            match = LABEL.match(line)
            if match:
                heading = next((l.lstrip("#").strip() for l in lines[i + 1:] if l.strip()), "")
                found[match["label"]] = (md, heading)
    return found


@functools.lru_cache(maxsize=None)
def api_pages() -> dict:
    """Module name -> the API reference page that documents it (``automodule``)."""
    pages = {}
    for md in sorted((BOOK / "api").glob("*.md")) if (BOOK / "api").exists() else []:
        for module in re.findall(r"automodule::\s*([\w.]+)", md.read_text()):
            pages[module] = md
    return pages


def _explicit(body: str) -> tuple[str | None, str]:
    match = re.fullmatch(r"(?s)(?P<text>.*?)\s*<(?P<target>[^<>]+)>", body.strip())
    return (match["text"], match["target"]) if match else (None, body.strip())


def doc_link(md: pathlib.Path, body: str) -> str:
    text, target = _explicit(body)
    path = (BOOK / target.lstrip("/")) if target.startswith("/") else (md.parent / target)
    path = path.with_suffix(".md") if path.suffix != ".md" else path
    if not path.exists():
        raise ConversionError(f"{md.relative_to(ROOT)}: {{doc}}`{body}` names a missing page")
    return f"[{text or page_title(path.resolve())}]({page_url(path)})"


def ref_link(md: pathlib.Path, body: str) -> str:
    text, label = _explicit(body)
    if label not in labels():
        raise ConversionError(f"{md.relative_to(ROOT)}: {{ref}}`{body}`: no label {label!r}")
    page, heading = labels()[label]
    return f"[{text or heading}]({page_url(page, label)})"


def py_link(md: pathlib.Path, body: str) -> str:
    text, target = _explicit(body)
    short = target.startswith("~")
    target = target.lstrip("~")
    shown = text or (target.rsplit(".", 1)[-1] if short else target)
    modules = sorted((m for m in api_pages() if target == m or target.startswith(m + ".")),
                     key=len)
    if not modules:
        return f"`{shown}`"
    return f"[`{shown}`]({page_url(api_pages()[modules[-1]], target)})"


def convert_roles(text: str, md: pathlib.Path) -> str:
    where = str(md.relative_to(ROOT))

    def replace(match: re.Match) -> str:
        name, body = match["name"], match["body"]
        if name in ("cite", "cite:p", "cite:t", "cite:ps", "cite:ts"):
            return cite("cite:t" if name.startswith("cite:t") else "cite:p", body, where)
        if name == "doc":
            return doc_link(md, body)
        if name in ("ref", "numref"):
            return ref_link(md, body)
        if name == "math":
            return f"${body}$"
        if name.startswith("py:") or name in ("func", "class", "mod", "meth", "attr", "data"):
            return py_link(md, body)
        raise ConversionError(f"{where}: role {{{name}}} has no Colab rendering")

    def token(match: re.Match) -> str:  # inline code spans are literal: kept as they are
        return replace(match) if match["name"] else match[0]

    return INLINE.sub(token, text)


# ----------------------------------------------------------------------------- directives

def _options(body: list[str]) -> tuple[dict, list[str]]:
    options, i = {}, 0
    while i < len(body) and re.match(r"^\s*:[\w-]+:", body[i]):
        key, _, value = body[i].strip()[1:].partition(":")
        options[key] = value.strip()
        i += 1
    while i < len(body) and not body[i].strip():
        i += 1
    return options, body[i:]


def literalinclude(md: pathlib.Path, path: str, options: dict) -> str:
    from sphinx.directives.code import LiteralIncludeReader

    source = (md.parent / path).resolve()
    if not source.exists():
        raise ConversionError(f"{md.relative_to(ROOT)}: literalinclude of missing {path}")
    known = {"pyobject", "lines", "language", "start-after", "end-before", "dedent",
             "caption", "emphasize-lines", "linenos", "lineno-match", "start-at", "end-at"}
    unknown = set(options) - known
    if unknown:
        raise ConversionError(f"{md.relative_to(ROOT)}: literalinclude options {sorted(unknown)}")
    reader_options = {k: v for k, v in options.items() if k in
                      ("pyobject", "lines", "start-after", "end-before", "start-at", "end-at")}
    if "dedent" in options:
        reader_options["dedent"] = int(options["dedent"]) if options["dedent"] else None
    code, _ = LiteralIncludeReader(str(source), reader_options,
                                   types.SimpleNamespace(source_encoding="utf-8-sig")).read()
    rel = source.relative_to(ROOT).as_posix()
    what = f"`{options['pyobject']}` in `{rel}`" if "pyobject" in options else f"`{rel}`"
    caption = options.get("caption") or f"From {what}:"
    return f"{caption}\n\n```{options.get('language', 'python')}\n{code.rstrip()}\n```"


def admonition(md: pathlib.Path, name: str, args: str, body: list[str]) -> str:
    options, content = _options(body)
    title = args.strip() if name == "admonition" else ADMONITIONS[name]
    if name == "admonition" and not title:
        raise ConversionError(f"{md.relative_to(ROOT)}: an {{admonition}} needs a title")
    inner = convert_markdown("\n".join(content), md).strip()
    title = convert_roles(title, md)
    if "dropdown" in options.get("class", "").split():
        return f"<details>\n<summary><b>{title}</b></summary>\n\n{inner}\n\n</details>"
    quoted = "\n".join(f"> {line}" if line.strip() else ">" for line in inner.splitlines())
    return f"> **{title}**\n>\n{quoted}"


def directive(md: pathlib.Path, name: str, args: str, body: list[str]) -> str:
    if name in ADMONITIONS or name == "admonition":
        return admonition(md, name, args, body)
    if name == "literalinclude":
        options, _ = _options(body)
        return literalinclude(md, args.strip(), options)
    if name in ("math",):
        options, content = _options(body)
        return "$$\n" + "\n".join(content).strip() + "\n$$"
    if name in ("code-block", "code"):
        options, content = _options(body)
        return f"```{args.strip()}\n" + "\n".join(content) + "\n```"
    if name == "nb-exec-table":
        return ("*The table of each page's execution time is filled in when the book is built: "
                f"see the [online status page]({page_url(BOOK / 'status.md')}).*")
    raise ConversionError(f"{md.relative_to(ROOT)}: directive {{{name}}} has no Colab rendering")


def convert_markdown(text: str, md: pathlib.Path) -> str:
    """Render one Markdown cell's MyST into plain Markdown (see the module docstring)."""
    lines, out, prose, i = text.splitlines(), [], [], 0

    def flush():  # roles may span lines: convert a run of prose lines at once
        if prose:
            out.extend(convert_roles("\n".join(prose), md).split("\n"))
            prose.clear()

    while i < len(lines):
        line = lines[i]
        fence = FENCE.match(line)
        if LABEL.match(line) or re.match(r"^%", line):
            i += 1
            continue
        if not fence:
            prose.append(line)
            i += 1
            continue
        flush()
        char, width = fence["fence"][0], len(fence["fence"])
        close = re.compile(rf"^\s*{re.escape(char)}{{{width},}}\s*$")
        end = next((j for j in range(i + 1, len(lines)) if close.match(lines[j])), None)
        if end is None:
            raise ConversionError(f"{md.relative_to(ROOT)}: unclosed fence {line!r}")
        found = DIRECTIVE.match(fence["rest"].strip())
        if found:
            body = [l[len(fence["indent"]):] for l in lines[i + 1:end]]
            rendered = directive(md, found["name"], found["args"], body)
            out.extend(fence["indent"] + l if l else l for l in rendered.splitlines())
        elif char == ":":
            raise ConversionError(f"{md.relative_to(ROOT)}: colon fence without a directive")
        else:  # a plain code block: copied as it is
            out.extend(lines[i:end + 1])
        i = end + 1
    flush()
    return "\n".join(out)


# ------------------------------------------------------------------------------ notebooks

def _caption(cell, md: pathlib.Path) -> str | None:
    figure = cell.metadata.get("mystnb", {}).get("figure", {})
    caption = figure.get("caption")
    return f"**Figure.** {convert_roles(caption.strip(), md)}" if caption else None


def colab_notebook(md: pathlib.Path) -> nbformat.NotebookNode:
    """The Colab notebook of page ``md``: plain Markdown, code cells as in the source."""
    md = md.resolve()
    source = jupytext.read(md)
    rel = md.relative_to(ROOT).as_posix()
    cells = [nbformat.v4.new_markdown_cell(
        f"*This notebook is the page [{page_title(md)}]({page_url(md)}) of the book "
        f"[{config()['title']}]({book_url()}), generated from `{rel}`. "
        "Run the first code cell to install the course package `lecturepkg`.*")]
    for cell in source.cells:
        if cell.cell_type == "markdown":
            text = convert_markdown(cell.source, md).strip()
            if text:
                cells.append(nbformat.v4.new_markdown_cell(text))
        elif cell.cell_type == "code":
            metadata = {}
            tags = cell.metadata.get("tags", [])
            if tags:
                metadata["tags"] = list(tags)
            if {"hide-input", "hide-cell"} & set(tags):
                metadata["jupyter"] = {"source_hidden": True}
            cells.append(nbformat.v4.new_code_cell(cell.source, metadata=metadata))
            caption = _caption(cell, md)
            if caption:
                cells.append(nbformat.v4.new_markdown_cell(caption))
        else:
            cells.append(nbformat.v4.new_raw_cell(cell.source))
    for index, cell in enumerate(cells):
        cell["id"] = f"cell-{index:03d}"
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata = nbformat.from_dict({
        "kernelspec": dict(source.metadata["kernelspec"]),
        "language_info": {"name": "python"},
        "colab": {"provenance": [], "toc_visible": True, **dict(source.metadata.get("colab", {}))},
    })
    if "accelerator" in source.metadata:
        notebook.metadata["accelerator"] = source.metadata["accelerator"]
    nbformat.validate(notebook)
    return notebook


def notebook_text(md: pathlib.Path) -> str:
    """The exact text of the committed ``.ipynb`` for ``md``."""
    return json.dumps(colab_notebook(md), indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def is_notebook_source(md: pathlib.Path) -> bool:
    """A MyST markdown file is a notebook when its front matter declares a kernelspec."""
    text = md.read_text()
    return text.startswith("---") and "kernelspec:" in text.split("---", 2)[1]


def notebook_sources() -> list[pathlib.Path]:
    """Every page that is a notebook, in path order."""
    return sorted(md for md in BOOK.rglob("*.md") if is_notebook_source(md))


def main(argv: list[str]) -> int:
    pages = [pathlib.Path(a).resolve() for a in argv] or notebook_sources()
    for md in pages:
        target = md.with_suffix(".ipynb")
        text = notebook_text(md)
        if not target.exists() or target.read_text() != text:
            target.write_text(text)
            print(f"wrote {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
