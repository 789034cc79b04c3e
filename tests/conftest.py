"""Fixtures shared by the test modules."""

import pytest
import torch


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run a module's many tiny torch ops on one thread: on a busy 2-core machine OpenMP's
    start-up cost makes them up to 100x slower with two."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
