"""One seeding helper for every notebook and script of the course."""

from __future__ import annotations

import random

import numpy as np
import torch

from lecturepkg._checks import check_int


def seed_everything(seed: int = 0, *, deterministic: bool = False) -> np.random.Generator:
    """Seed Python's ``random``, numpy's global generator and torch (CPU and all GPUs).

    String hashing (the iteration order of sets of strings) is not seeded: Python fixes it
    from ``PYTHONHASHSEED`` when the interpreter starts, so setting the variable here would
    not change this process. Set it before starting Python when that order matters.

    Parameters
    ----------
    seed:
        A non-negative int.
    deterministic:
        Also ask torch for deterministic algorithms (slower on a GPU; some ops then raise).

    Returns
    -------
    numpy.random.Generator
        A fresh generator seeded with ``seed``, for code that prefers not to use globals.
    """
    seed = check_int("seed", seed, minimum=0)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
    return np.random.default_rng(seed)
