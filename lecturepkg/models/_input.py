"""The one check every model of the course runs on its input, so they all fail alike.

A model's ``forward(x)`` first calls :func:`check_input`: anything that is not a tensor
raises ``TypeError``, a tensor of the wrong shape raises ``ValueError``, and both messages
name the argument ``x`` and the expected shape, instead of a shape error from deep inside a
layer.
"""

from __future__ import annotations

from lecturepkg._checks import check_input

__all__ = ["check_input"]
