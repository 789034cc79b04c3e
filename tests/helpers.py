"""Tools the test modules share: hypothesis strategies for convolutions and figure helpers.

Imported by the tests as ``from helpers import ...`` (pytest puts ``tests/`` on the path, as
for ``notebook_files``). Fixtures live in ``conftest.py``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from hypothesis import strategies as st


def t(a: np.ndarray | None) -> torch.Tensor | None:
    """A numpy array as a torch tensor (None stays None; strided views are copied)."""
    return None if a is None else torch.from_numpy(np.ascontiguousarray(a))


def as_arg(draw, values: tuple[int, ...]):
    """Pass a hyper-parameter as an int (when all entries agree) or as a tuple/list."""
    if len(set(values)) == 1 and draw(st.booleans()):
        return values[0]
    return draw(st.sampled_from([tuple, list]))(values)


def seeded_rng(draw) -> np.random.Generator:
    """A numpy generator seeded by hypothesis (so a failing example replays exactly)."""
    return np.random.default_rng(draw(st.integers(0, 2**32 - 1)))


class ConvCase(NamedTuple):
    dims: int
    x: np.ndarray
    w: np.ndarray
    b: np.ndarray | None
    hyper: dict
    rng: np.random.Generator


@st.composite
def conv_cases(draw, dims=None, batched=None, bias=True, max_groups=3, max_out=2,
               max_hyper=3, extra=None, plain_hyper=False):
    """A valid convolution with 1, 2 or 3 spatial axes, as random float64 arrays.

    ``dims``: the number of spatial axes (drawn 1..3 when None); ``batched``: with a leading
    batch axis (drawn when None); ``bias``: a bias may be drawn; ``max_groups``, ``max_out``
    (output channels per group), ``max_hyper`` (largest kernel size, stride, dilation) and
    ``extra`` (how much larger than the smallest valid input, per dims) keep the cases small;
    ``plain_hyper``: the hyper-parameters as tuples rather than a random int/tuple/list.
    """
    dims = dims or draw(st.integers(1, 3))
    groups = draw(st.integers(1, max_groups))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, max_out))
    k = tuple(draw(st.integers(1, max_hyper)) for _ in range(dims))
    s = tuple(draw(st.integers(1, max_hyper)) for _ in range(dims))
    p = tuple(draw(st.integers(0, 2)) for _ in range(dims))
    d = tuple(draw(st.integers(1, max_hyper)) for _ in range(dims))
    extra = (extra or {1: 8, 2: 4, 3: 2})[dims]  # keep the number of output positions small
    # the smallest input the dilated kernel fits in, plus a few
    size = tuple(
        max(1, di * (ki - 1) + 1 - 2 * pi) + draw(st.integers(0, extra))
        for ki, pi, di in zip(k, p, d)
    )
    batched = draw(st.booleans()) if batched is None else batched
    lead = (draw(st.integers(1, 3)),) if batched else ()
    rng = seeded_rng(draw)
    x = rng.standard_normal((*lead, c_in, *size))
    w = rng.standard_normal((c_out, c_in // groups, *k))
    b = rng.standard_normal(c_out) if bias and draw(st.booleans()) else None
    arg = (lambda v: v) if plain_hyper else (lambda v: as_arg(draw, v))
    hyper = dict(stride=arg(s), padding=arg(p), dilation=arg(d), groups=groups)
    return ConvCase(dims, x, w, b, hyper, rng)


# ---------------------------------------------------------------------------------------
# figures (tests/test_viz*.py; the pyplot-leak check is the ``no_pyplot_leaks`` fixture)
# ---------------------------------------------------------------------------------------


def new_ax():
    """A fresh Axes on a figure pyplot does not track."""
    from matplotlib.figure import Figure

    return Figure().add_subplot()


def with_gid(ax, gid):
    """The patches of ``ax`` tagged with ``gid``."""
    return [p for p in ax.patches if p.get_gid() == gid]


def train_on_digits(net: torch.nn.Module, *, steps: int, lr: float,
                    dtype: torch.dtype = torch.float64) -> tuple[torch.nn.Module, float, torch.Tensor, torch.Tensor]:
    """Train ``net`` (1 x 8 x 8 in, 10 scores out) briefly on scikit-learn's digits.

    Adam on seeded mini-batches of 64 from the first 1,500 images. Returns the net in eval
    mode, its accuracy on the other 297 images (for the caller to check that it learned
    something: chance is 0.1), and those held-out images (N, 1, 8, 8) and labels (N,).
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.images / 16.0, dtype=dtype)[:, None]  # (1797, 1, 8, 8)
    y = torch.tensor(digits.target)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(0)
    for _ in range(steps):
        batch = torch.randint(0, 1500, (64,), generator=generator)
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(x[batch]), y[batch]).backward()
        optimizer.step()
    net.eval()
    with torch.no_grad():
        accuracy = (net(x[1500:]).argmax(1) == y[1500:]).double().mean().item()
    return net, accuracy, x[1500:], y[1500:]
