"""A generated sequence task that needs a long memory: recall the symbol seen ``lag`` steps ago.

Each sample is a random sequence of ``length`` symbols drawn uniformly from
``{0, ..., num_symbols - 1}``, given to the network one-hot encoded, as ``num_symbols``
channels; the label is the symbol that appeared ``lag`` steps before the last one,
``label = s[length - 1 - lag]``. Every other symbol is a distractor.

It is the fixed-delay variant of the memory benchmarks used to test recurrent and
convolutional sequence models, such as the "copy memory" task (Hochreiter & Schmidhuber 1997;
Bai, Kolter & Koltun 2018, who use it to compare temporal convolutional networks with LSTMs).
Its point is that it has an exact answer to "how far back must a model see": a causal model
that predicts from the last time step solves it if and only if its receptive field reaches
back ``lag`` steps, i.e. covers at least ``lag + 1`` inputs. Without that, the label is
independent of everything the model sees and the best possible accuracy is chance,
``1 / num_symbols``.
"""

from __future__ import annotations

import numpy as np
import torch

from lecturepkg._checks import check_int

__all__ = ["make_memory_task"]


def make_memory_task(
    n: int,
    length: int,
    lag: int,
    seed: int = 0,
    num_symbols: int = 4,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``n`` sequences whose label is the symbol ``lag`` steps before the last one.

    Parameters
    ----------
    n:
        Number of sequences.
    length:
        Number of time steps per sequence; must exceed ``lag``.
    lag:
        How many steps before the last one the label is read (``0``: the last symbol).
    seed:
        Seed of the generator: the same arguments always give the same data.
    num_symbols:
        Size of the alphabet (at least 2); chance accuracy is ``1 / num_symbols``.

    Returns
    -------
    x:
        ``float32`` tensor ``(n, num_symbols, length)``: one-hot symbols, channels first as
        ``torch.nn.Conv1d`` expects.
    y:
        ``int64`` tensor ``(n,)``: ``y[i] == x[i, :, length - 1 - lag].argmax()``.

    Examples
    --------
    >>> x, y = make_memory_task(2, length=6, lag=3, seed=0)
    >>> x.shape, y.shape
    (torch.Size([2, 4, 6]), torch.Size([2]))
    >>> bool((x[:, :, 6 - 1 - 3].argmax(1) == y).all())
    True
    """
    n = check_int("n", n, minimum=1)
    length = check_int("length", length, minimum=1)
    lag = check_int("lag", lag, minimum=0)
    seed = check_int("seed", seed, minimum=0)
    num_symbols = check_int("num_symbols", num_symbols, minimum=2)
    if lag >= length:
        raise ValueError(f"lag must be smaller than length ({length}), got {lag}")
    rng = np.random.default_rng(seed)
    symbols = rng.integers(0, num_symbols, size=(n, length))  # (n, L)
    x = np.eye(num_symbols, dtype=np.float32)[symbols].transpose(0, 2, 1)  # (n, K, L)
    y = symbols[:, length - 1 - lag]  # (n,)
    return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y.astype(np.int64))
