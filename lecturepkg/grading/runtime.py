"""Which function the grading tests are looking at right now.

The runner sets the submission for the duration of one run: the student's function under the
sandbox (``check``), or, under the command line grader, a proxy that calls the student's
function in the student's own process (:class:`lecturepkg.grading.isolated.RemoteSubmission`),
so that the tests, their oracles and their expected values stay in the grader's process.
Without one (pytest run directly on the grading tests, as in CI), the tests see the reference
solution.
"""

from __future__ import annotations

import contextlib
from typing import Callable

from lecturepkg.grading.sandbox import Submission

_current: Callable | None = None


def submission_for(exercise_name: str) -> Callable:
    from lecturepkg.grading.exercises import get_exercise

    if _current is not None and _current.exercise.name == exercise_name:
        return _current
    exercise = get_exercise(exercise_name)
    return Submission(exercise.reference_function(), exercise, block_reference=False)


@contextlib.contextmanager
def submitted(submission: Callable):
    """Make ``submission`` (a callable with an ``exercise`` attribute) what the tests of its
    exercise call, for the duration of the ``with`` block."""
    global _current
    previous, _current = _current, submission
    try:
        yield
    finally:
        _current = previous
