"""Sphinx extension: mark the book build as static output for the pages it executes.

The kernels that MyST-NB starts inherit this process's environment, so setting
``LECTUREPKG_STATIC_OUTPUT=1`` here makes :mod:`lecturepkg.output` choose text progress bars
and static explorer figures for the rendered book (see that module).
"""

import os

from lecturepkg.output import STATIC_ENV


def setup(app):
    os.environ[STATIC_ENV] = "1"
    return {"parallel_read_safe": True, "parallel_write_safe": True}
