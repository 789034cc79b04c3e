"""Fixtures shared by the test modules."""

import time

import pytest

from lecturepkg.device import torch_threads
from lecturepkg.output import STATIC_ENV


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run a module's many tiny torch ops on one thread: on a busy 2-core machine OpenMP's
    start-up cost makes them up to 100x slower with two."""
    with torch_threads(1):
        yield



# explorer tests (tests/test_viz.py, tests/test_viz_transposed.py): live or static output

@pytest.fixture
def widgets_made(monkeypatch):
    """The ipywidgets.Widget instances created during the test (every widget's __init__
    ends in Widget.__init__, which opens its comm: that is what stores widget state)."""
    import ipywidgets

    made = []
    init = ipywidgets.Widget.__init__

    def recording_init(self, *args, **kwargs):
        made.append(type(self).__name__)
        init(self, *args, **kwargs)

    monkeypatch.setattr(ipywidgets.Widget, "__init__", recording_init)
    return made


@pytest.fixture
def live(monkeypatch):
    """A live notebook: the book build's variable is unset."""
    monkeypatch.delenv(STATIC_ENV, raising=False)


@pytest.fixture
def static(monkeypatch):
    """The static book build."""
    monkeypatch.setenv(STATIC_ENV, "1")


@pytest.fixture
def no_pyplot_leaks():
    """The test closes every pyplot figure it opens (the viz functions never use pyplot)."""
    import matplotlib.pyplot as plt

    before = set(plt.get_fignums())
    yield
    leaked = set(plt.get_fignums()) - before
    plt.close("all")
    assert not leaked, f"pyplot figures left open: {leaked}"


def pytest_sessionstart(session):
    session.config._started = time.time()  # to tell this run's timings from an older file's


def pytest_terminal_summary(terminalreporter, config):
    """Say where the time went: each page's execution and the book build (tests/test_book.py)."""
    from book_execution import TIMINGS

    if TIMINGS.exists() and TIMINGS.stat().st_mtime >= getattr(config, "_started", 0):
        terminalreporter.section("where the time goes: the book")
        terminalreporter.write(TIMINGS.read_text())
