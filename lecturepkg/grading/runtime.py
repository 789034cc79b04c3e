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

import numpy as np

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


def input_rng(seed: int) -> np.random.Generator:
    """The random generator of a grading test's inputs.

    In this process (pytest on the grading tests in CI, ``check()`` in a notebook) it is
    ``numpy.random.default_rng(seed)``: the same inputs every time, reproducible feedback.
    Under the isolated command line grader the seed is mixed with a secret drawn once per
    run in the grader's process, so the inputs, and the answers to them, cannot be worked out
    in advance from the shipped test files.
    """
    secret = getattr(_current, "input_secret", None)
    return np.random.default_rng(seed if secret is None else [seed, secret])
