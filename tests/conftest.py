"""Fixtures shared by the test modules."""

import pytest

from lecturepkg.device import torch_threads


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run a module's many tiny torch ops on one thread: on a busy 2-core machine OpenMP's
    start-up cost makes them up to 100x slower with two."""
    with torch_threads(1):
        yield


def pytest_sessionstart(session):
    if not hasattr(session.config, "workerinput"):  # the controller, not an xdist worker
        from book_execution import TIMINGS

        TIMINGS.unlink(missing_ok=True)


def pytest_terminal_summary(terminalreporter):
    """Say where the time went: each page's execution and the book build (tests/test_book.py)."""
    from book_execution import TIMINGS

    if TIMINGS.exists():
        terminalreporter.section("where the time goes: the book")
        terminalreporter.write(TIMINGS.read_text())
