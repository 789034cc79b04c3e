"""How fast is convolution from scratch? A benchmark against ``torch.nn.functional.conv2d``.

Run ``python -m lecturepkg.conv.benchmark`` to time the two convolution layers of LeNet-5
(LeCun et al. 1998) on a batch of 64 images, in float32:

* layer 1: 1 -> 6 channels, 5x5 kernels, on 32x32 inputs;
* layer 2: 6 -> 16 channels, 5x5 kernels, on 14x14 inputs;

with three implementations: ``F.conv2d`` (the reference), :func:`conv2d_fast`
(im2col + matrix product, :mod:`lecturepkg.conv.unfold`) and the teaching loop
:func:`~lecturepkg.conv.functional.conv2d`. Every time is the median of repeated runs.
torch and numpy's BLAS both run on one thread, so that the comparison is between algorithms
and not between numbers of cores (torch on many threads is faster still). The ratios are
measured, printed and not asserted: they depend on the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from typing import Callable, Sequence

import numpy as np

from lecturepkg.device import torch_threads

LENET_LAYERS = (
    # name, input channels, output channels, kernel size, input size (LeCun et al. 1998)
    ("C1: 1->6, 5x5 on 32x32", 1, 6, 5, 32),
    ("C3: 6->16, 5x5 on 14x14", 6, 16, 5, 14),
)


def median_time(func: Callable[[], object], repeats: int) -> float:
    """Median wall-clock time of ``func()`` in seconds over ``repeats`` runs (after a warm-up)."""
    func()  # warm-up: first-call allocations, lazy initialisation
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


@contextlib.contextmanager
def one_thread():
    """Run torch and numpy's BLAS on a single thread; restore the previous settings after."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        limits = contextlib.nullcontext()
    else:
        limits = threadpool_limits(limits=1)
    with torch_threads(1), limits:
        yield


def run(batch: int = 64, repeats: int = 20, loop_repeats: int = 3, seed: int = 0) -> list[dict]:
    """Time the LeNet layers; return one row per layer and a total row (times in seconds)."""
    import torch
    import torch.nn.functional as F

    from lecturepkg.conv.functional import conv2d
    from lecturepkg.conv.unfold import conv2d_fast

    rng = np.random.default_rng(seed)
    rows = []
    with one_thread():
        for name, c_in, c_out, k, size in LENET_LAYERS:
            x = rng.standard_normal((batch, c_in, size, size)).astype(np.float32)
            w = rng.standard_normal((c_out, c_in, k, k)).astype(np.float32)
            b = rng.standard_normal(c_out).astype(np.float32)
            xt, wt, bt = (torch.from_numpy(a) for a in (x, w, b))
            expected = F.conv2d(xt, wt, bt).numpy()
            for func in (conv2d_fast, conv2d):  # the timed functions compute the same thing
                np.testing.assert_allclose(func(x, w, b), expected, rtol=1e-3, atol=1e-3)
            with torch.no_grad():
                t_torch = median_time(lambda: F.conv2d(xt, wt, bt), repeats)
            t_fast = median_time(lambda: conv2d_fast(x, w, b), repeats)
            t_loop = median_time(lambda: conv2d(x, w, b), loop_repeats)
            rows.append(dict(layer=name, torch=t_torch, fast=t_fast, loop=t_loop))
    total = {key: sum(row[key] for row in rows) for key in ("torch", "fast", "loop")}
    rows.append(dict(layer="both layers", **total))
    return rows


def format_table(rows: Sequence[dict], batch: int) -> str:
    """The benchmark's rows as a text table: times in milliseconds and ratios to torch."""
    header = (
        f"{'layer (batch ' + str(batch) + ', float32)':<28}{'F.conv2d':>10}"
        f"{'conv2d_fast':>13}{'ratio':>8}{'loop conv2d':>13}{'ratio':>9}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row['layer']:<28}{row['torch'] * 1e3:>8.3f}ms{row['fast'] * 1e3:>11.3f}ms"
            f"{row['fast'] / row['torch']:>7.1f}x{row['loop'] * 1e3:>11.1f}ms"
            f"{row['loop'] / row['torch']:>8.0f}x"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> list[dict]:
    """Command line entry point: print the table (and return its rows)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64, help="images per batch (64)")
    parser.add_argument("--repeats", type=int, default=20, help="timed runs of F.conv2d and "
                        "conv2d_fast (20)")
    parser.add_argument("--loop-repeats", type=int, default=3, help="timed runs of the slow "
                        "loop conv2d (3)")
    args = parser.parse_args(argv)
    if args.batch < 1 or args.repeats < 1 or args.loop_repeats < 1:
        parser.error("--batch, --repeats and --loop-repeats must be >= 1")
    rows = run(args.batch, args.repeats, args.loop_repeats)
    print("LeNet-5 convolutions: numpy from scratch vs torch.nn.functional.conv2d")
    print("(one thread for torch and for numpy's BLAS; median wall-clock time per call)\n")
    print(format_table(rows, args.batch))
    return rows


if __name__ == "__main__":
    main()
