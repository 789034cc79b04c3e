"""Sphinx extension: an author-year bibliography whose entries link back to their citations.

sphinxcontrib-bibtex cites author-year (``bibtex_reference_style``) but labels the
bibliography with pybtex's ``alpha`` labels (``[AK98]``), and its backreferences only work
when the citation and the bibliography are on the same page. This extension registers:

- a pybtex label style and formatting style ``author_year`` (``bibtex_default_style``):
  entries sorted by author, year and title, labelled ``Surname, 1998``, ``Surname and Other,
  1998`` or ``Surname et al., 1998`` as the citations read, with ``1998a``/``1998b`` when
  two entries would otherwise share a label;
- a referencing style ``author_year_label`` (``bibtex_reference_style``): sphinxcontrib-bibtex's
  ``author_year`` with the year taken from the label, so a citation reads ``(Alpaydin and
  Kaynak, 1998a)`` exactly as its bibliography entry is labelled (round brackets, and
  semicolons between the references of one citation);
- backreferences across pages: every ``{cite}`` keeps an anchor on its page, and every
  bibliography entry ends with "Cited in" and a link to each page (its number and title)
  and to each place on it that cites the entry.
"""

from __future__ import annotations

import string
from collections import defaultdict
from dataclasses import dataclass, field

import docutils.nodes
import pybtex.plugin
from pybtex.richtext import Text
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.template import node
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.nodes import make_refnode
from sphinxcontrib.bibtex.plugin import register_plugin
from sphinxcontrib.bibtex.style.referencing import BracketStyle
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle
from sphinxcontrib.bibtex.style.referencing.basic_author_year import (
    BasicAuthorYearParentheticalReferenceStyle,
    BasicAuthorYearTextualReferenceStyle,
)
from sphinxcontrib.bibtex.style.template import join, join2, post_text, pre_text, reference

# --------------------------------------------------------------------------------------
# Labels: "Surname et al., 1998a"
# --------------------------------------------------------------------------------------


def _surnames(entry) -> str:
    """The author part of a citation, as sphinxcontrib-bibtex's author_year style writes it:
    one or two surnames, or the first surname and "et al." (editors, then the title, when an
    entry has no authors)."""
    last = pybtex.plugin.find_plugin("pybtex.style.names", "last")()
    persons = entry.persons.get("author") or entry.persons.get("editor")
    if not persons:
        return Text(entry.fields.get("title", "")).render_as("text")
    names = [last.format(person, True).format().render_as("text") for person in persons]
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return f"{names[0]} and {names[1]}"
    return f"{names[0]} et al."


class AuthorYearLabelStyle(BaseLabelStyle):
    """Labels ``Author, year``; entries that would share one get ``a``, ``b``, ... suffixes
    in their sorted order."""

    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        labels = [f"{_surnames(e)}, {e.fields.get('year', 'n.d.')}" for e in entries]
        counts = defaultdict(int)
        for label in labels:
            counts[label] += 1
        seen = defaultdict(int)
        for label in labels:
            if counts[label] > 1:
                suffix = string.ascii_lowercase[seen[label]]
                seen[label] += 1
                yield label + suffix
            else:
                yield label


class AuthorYearStyle(PlainStyle):
    """pybtex's ``plain`` entries (sorted by author, year, title) with author-year labels."""

    default_label_style = AuthorYearLabelStyle
    default_sorting_style = "author_year_title"


# --------------------------------------------------------------------------------------
# Citations whose year is the label's year (with its a/b suffix)
# --------------------------------------------------------------------------------------


@node
def label_year(children, data):
    """The year part of the entry's label: ``1998a`` of ``Alpaydin and Kaynak, 1998a``."""
    assert not children
    return Text(data["formatted_entry"].label.rsplit(", ", 1)[-1])


class _Parenthetical(BasicAuthorYearParentheticalReferenceStyle):
    def inner(self, role_name):
        return join2(sep1=self.pre_text_sep, sep2=self.post_text_sep)[
            pre_text,
            reference[
                join(sep=self.author_year_sep)[
                    self.person.author_or_editor_or_title(full="s" in role_name),
                    label_year,
                ]
            ],
            post_text,
        ]


class _Textual(BasicAuthorYearTextualReferenceStyle):
    def inner(self, role_name):
        return join(sep=self.text_reference_sep)[
            self.person.author_or_editor_or_title(full="s" in role_name),
            join[
                self.bracket.left,
                join2(sep1=self.pre_text_sep, sep2=self.post_text_sep)[
                    pre_text,
                    reference[label_year],
                    post_text,
                ],
                self.bracket.right,
            ],
        ]


def _round_brackets():
    return BracketStyle(left="(", right=")", sep="; ")


@dataclass
class AuthorYearLabelReferenceStyle(AuthorYearReferenceStyle):
    """sphinxcontrib-bibtex's ``author_year`` style, its year read from the entry's label, in
    round brackets with semicolons between references: ``(Chollet, 2017; Howard et al., 2017)``
    and ``Zhang et al. (2015)``."""

    bracket_parenthetical: BracketStyle = field(default_factory=_round_brackets)
    bracket_textual: BracketStyle = field(default_factory=_round_brackets)

    def __post_init__(self):
        super().__post_init__()
        for i, style in enumerate(self.styles):
            if type(style) is BasicAuthorYearParentheticalReferenceStyle:
                self.styles[i] = _Parenthetical(
                    bracket=style.bracket, person=style.person,
                    author_year_sep=style.author_year_sep, pre_text_sep=style.pre_text_sep,
                    post_text_sep=style.post_text_sep,
                )
            elif type(style) is BasicAuthorYearTextualReferenceStyle:
                self.styles[i] = _Textual(
                    bracket=style.bracket, person=style.person,
                    text_reference_sep=style.text_reference_sep,
                    pre_text_sep=style.pre_text_sep, post_text_sep=style.post_text_sep,
                )


# --------------------------------------------------------------------------------------
# Backreferences across pages
# --------------------------------------------------------------------------------------


class KeepCitationAnchors(SphinxPostTransform):
    """Keep an anchor where each citation stands: the cite role gives its pending_xref an id,
    which Sphinx drops when it replaces the node by the resolved citation."""

    default_priority = 9  # before the ReferencesResolver (10)

    def run(self, **kwargs):
        from sphinx.addnodes import pending_xref

        for xref in list(self.document.findall(pending_xref)):
            if xref.get("refdomain") == "cite" and xref.get("ids"):
                anchor = docutils.nodes.inline("", "", ids=list(xref["ids"]))
                xref["ids"] = []
                xref.parent.insert(xref.parent.index(xref), anchor)


class CitedInLinks(SphinxPostTransform):
    """Append "Cited in: <page>, <page> ..." to every entry of a bibliography on this page."""

    default_priority = 6  # after sphinxcontrib-bibtex's BibliographyTransform (5)

    def run(self, **kwargs):
        env = self.env
        domain = env.get_domain("cite")
        docname = env.docname
        places = defaultdict(lambda: defaultdict(list))  # key -> citing docname -> ids
        for ref in domain.citation_refs:
            for target in ref.targets:
                places[target.key][ref.docname].append(ref.citation_ref_id)
        for citation in domain.citations:
            if citation.bibliography_key.docname != docname:
                continue
            entry_node = self.document.ids.get(citation.citation_id)
            if entry_node is None or not places.get(citation.key):
                continue
            para = docutils.nodes.paragraph(classes=["bibtex-cited-in"])
            para += docutils.nodes.Text("Cited in ")
            pages = sorted(places[citation.key].items(), key=lambda item: self._order(item[0]))
            for i, (citing, ids) in enumerate(pages):
                if i:
                    para += docutils.nodes.Text(", ")
                para += self._link(citing, ids[0], self._page_title(citing))
                if len(ids) > 1:
                    para += docutils.nodes.Text(" (")
                    for j, ref_id in enumerate(ids[1:], start=2):
                        if j > 2:
                            para += docutils.nodes.Text(" ")
                        para += self._link(citing, ref_id, str(j),
                                           f"{self._page_title(citing)}, citation {j}")
                    para += docutils.nodes.Text(")")
            para += docutils.nodes.Text(".")
            entry_node += para

    def _link(self, todoc, target_id, text, title=None):
        return make_refnode(self.app.builder, self.env.docname, todoc, target_id,
                            docutils.nodes.inline(text, text), title or text)

    def _number(self, docname):
        numbers = self.env.toc_secnumbers.get(docname, {}).get("")
        return ".".join(map(str, numbers)) if numbers else ""

    def _page_title(self, docname):
        title = self.env.titles[docname].astext() if docname in self.env.titles else docname
        number = self._number(docname)
        return f"{number} {title}" if number else title

    def _order(self, docname):
        numbers = self.env.toc_secnumbers.get(docname, {}).get("")
        return (0, tuple(numbers), docname) if numbers else (1, (), docname)


def setup(app):
    pybtex.plugin.register_plugin("pybtex.style.labels", "author_year", AuthorYearLabelStyle)
    pybtex.plugin.register_plugin("pybtex.style.formatting", "author_year", AuthorYearStyle)
    register_plugin("sphinxcontrib.bibtex.style.referencing", "author_year_label",
                    AuthorYearLabelReferenceStyle)
    app.add_post_transform(KeepCitationAnchors)
    app.add_post_transform(CitedInLinks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
