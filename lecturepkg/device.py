"""Pick the device a notebook or script should compute on."""

from __future__ import annotations

import contextlib
import os

import torch

from lecturepkg._checks import check_int


def get_device(prefer: str | None = None) -> torch.device:
    """Return ``cuda`` when a GPU is available, else ``cpu``.

    Parameters
    ----------
    prefer:
        ``None`` (automatic), ``"cpu"`` or ``"cuda"``. Asking for ``"cuda"`` on a machine
        without a GPU raises a ``RuntimeError`` rather than silently falling back.

    Examples
    --------
    >>> get_device("cpu")
    device(type='cpu')
    """
    if prefer is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not isinstance(prefer, str) or prefer not in ("cpu", "cuda"):
        raise ValueError(f"prefer must be None, 'cpu' or 'cuda', got {prefer!r}")
    if prefer == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("prefer='cuda' was requested but torch.cuda.is_available() is False")
    return torch.device(prefer)


@contextlib.contextmanager
def torch_threads(n: int):
    """Run the block with torch using ``n`` CPU threads, then restore the previous count.

    Many tiny operations (small convolutions, test oracles) run faster and steadier on one
    thread of a small, busy CPU, where OpenMP's start-up cost dominates.
    """
    n = check_int("n", n, minimum=1)
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def page_threads(max_cores: int = 4) -> int:
    """Use one torch CPU thread on small CPUs (at most ``max_cores`` cores); return the count.

    Every page of the book calls this once in its setup cell. The course's models are small:
    on a 2-core machine, splitting a small convolution over two threads costs more in
    synchronisation than it gains, and a page executed next to another busy process (a
    second page, a test run) slows down many times over when both oversubscribe the cores.
    One thread per page keeps the timing steady and lets two pages run side by side. On a
    bigger CPU torch's default is kept.
    """
    max_cores = check_int("max_cores", max_cores, minimum=1)
    if (os.cpu_count() or 1) <= max_cores:
        torch.set_num_threads(1)
    return torch.get_num_threads()
