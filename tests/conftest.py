"""Fixtures shared by the test modules."""

import pytest

from lecturepkg.device import torch_threads


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run a module's many tiny torch ops on one thread: on a busy 2-core machine OpenMP's
    start-up cost makes them up to 100x slower with two."""
    with torch_threads(1):
        yield
