"""``python -m lecturepkg.grading``: see :mod:`lecturepkg.grading.cli`."""

import sys

from lecturepkg.grading.cli import main

sys.exit(main())
