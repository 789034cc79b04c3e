"""Where a page's output goes: a live notebook or the static book.

The rendered book is executed once, headless, and then read without a kernel: a tqdm widget
is stored there as blank widget state and an ipywidgets explorer as hundreds of KB of state
that nobody can move. The book build therefore sets the environment variable
:data:`STATIC_ENV` (``book/_ext/static_output.py`` does it for ``jupyter-book build``; the
test suite does it when it executes the pages), and the package reacts to it:

- :func:`progress` gives a plain-text progress bar there and tqdm's auto bar (a widget in
  Jupyter and Colab) everywhere else;
- the explorers in :mod:`lecturepkg.viz` draw a static figure there and live widgets
  everywhere else.
"""

from __future__ import annotations

import os
import sys

#: Name of the environment variable that marks a static (book) build; "1" means static.
STATIC_ENV = "LECTUREPKG_STATIC_OUTPUT"


def static_output() -> bool:
    """True while the book is being built (``LECTUREPKG_STATIC_OUTPUT=1``), else False."""
    return os.environ.get(STATIC_ENV, "") == "1"


def progress(iterable=None, **kwargs):
    """A tqdm progress bar: plain text in the static book, tqdm's auto bar elsewhere.

    Takes tqdm's arguments (``desc``, ``total``, ``disable``, ``leave``, ...). The static
    bar writes to stdout, 80 columns wide: the book shows stdout as text and keeps only the
    bar's final state (it applies the carriage returns), while stderr would be dropped.
    """
    if static_output():
        from tqdm.std import tqdm  # plain text

        kwargs.setdefault("file", sys.stdout)
        kwargs.setdefault("ncols", 80)
        kwargs.setdefault("mininterval", 30.0)  # nobody watches: few updates, the last one kept
    else:
        from tqdm.auto import tqdm  # a widget in Jupyter and Colab, text in a terminal
    return tqdm(iterable, **kwargs)
