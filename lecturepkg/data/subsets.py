"""Small labelled subsets: ``k`` examples of every class, drawn reproducibly.

Experiments on learning from little data (augmentation, transfer learning) train on a few
labelled examples per class and test on everything held out; :func:`few_per_class` draws
such a subset, balanced and seeded, so that several seeds give several independent draws.
"""

from __future__ import annotations

import numpy as np
import torch

from lecturepkg._checks import check_int

__all__ = ["few_per_class"]


def few_per_class(labels, k: int, seed: int = 0) -> torch.Tensor:
    """Indices of ``k`` examples of every class in ``labels``, drawn without replacement.

    Parameters
    ----------
    labels:
        Class labels ``(N,)``: a 1-D integer torch tensor or numpy array.
    k:
        Examples per class; every class present in ``labels`` must have at least ``k``.
    seed:
        Seed of the draw (a non-negative int): the same seed gives the same subset.

    Returns
    -------
    torch.Tensor
        ``(k * C,)`` int64 indices into ``labels``, grouped by class in increasing order of
        the class, ``C`` being the number of distinct classes.

    Examples
    --------
    >>> y = torch.tensor([0, 1, 0, 1, 2, 2, 0])
    >>> idx = few_per_class(y, 2, seed=0)
    >>> y[idx].tolist()
    [0, 0, 1, 1, 2, 2]
    """
    if isinstance(labels, torch.Tensor):
        labels = labels.detach().cpu().numpy()
    if not isinstance(labels, np.ndarray):
        raise TypeError(f"labels must be a torch.Tensor or numpy.ndarray of shape (N,), "
                        f"got {type(labels).__name__}")
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be 1-D integers (N,), got shape {labels.shape} "
                         f"and dtype {labels.dtype}")
    k = check_int("k", k, minimum=1)
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
    chosen = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        if len(members) < k:
            raise ValueError(f"k must be at most the size of the smallest class: class {c} "
                             f"has {len(members)} examples, k is {k}")
        chosen.append(rng.choice(members, size=k, replace=False))
    return torch.from_numpy(np.concatenate(chosen)).long()  # (k * C,)
