"""The ``submission`` fixture every grading test uses.

A grading test module names its exercise in a module-level ``EXERCISE = "<name>"`` and calls
the function under test through the ``submission`` fixture. When a student's function is
being checked (by :func:`lecturepkg.grading.check` or the command line grader), the fixture is
the student's function wrapped by the sandbox (timeout, forbidden functions blocked, input
mutation caught). When pytest runs these files directly, as CI does, the fixture is the
exercise's reference solution, so the tests themselves are tested.
"""

import pytest

from lecturepkg.device import torch_threads
from lecturepkg.grading import runtime


def pytest_configure(config):
    config.addinivalue_line("markers", "points(n): points this grading test is worth (default 1)")


@pytest.fixture
def submission(request):
    return runtime.submission_for(request.module.EXERCISE)


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """The oracles are many tiny torch ops: one thread avoids OpenMP's start-up cost when
    pytest runs these files directly (run_exercise sets the same for check and the CLI)."""
    with torch_threads(1):
        yield
