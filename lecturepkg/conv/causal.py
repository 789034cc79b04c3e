"""Causal 1D convolution: the output at time ``t`` sees only the inputs up to ``t``.

For time-ordered data (audio, sensor streams, forecasting) a prediction at time ``t`` must
not use the future. A causal convolution guarantees it by padding the sequence on the
*left* only, with ``(k - 1) * d`` zeros for a kernel of size ``k`` and dilation ``d``, and
then running an ordinary (valid) convolution. The output has as many time steps as the
input, and output ``t`` is computed from ``x[t - (k-1) d], ..., x[t - d], x[t]``
(van den Oord et al., *WaveNet*, 2016; Bai, Kolter & Koltun, *An empirical evaluation of
generic convolutional and recurrent networks for sequence modeling*, 2018). Keras calls this
``padding="causal"``; in PyTorch it is ``F.pad(x, (left, 0))`` followed by ``F.conv1d``.

Stacking ``L`` causal layers with kernel size 2 looks ``L`` steps back; doubling the dilation
at every layer (1, 2, 4, 8, ...) looks ``2^L - 1`` steps back with the same number of
weights (see :mod:`lecturepkg.conv.receptive_fields`).
"""

from __future__ import annotations

import numpy as np

from lecturepkg._checks import check_int
from lecturepkg.conv._args import check_array
from lecturepkg.conv.unfold import conv1d_fast

__all__ = ["causal_padding", "causal_conv1d"]


def causal_padding(kernel_size: int, dilation: int = 1) -> int:
    """How many zeros a causal convolution puts on the left: ``(kernel_size - 1) * dilation``.

    This is one less than the span ``d (k - 1) + 1`` of the dilated kernel, so that the
    window of output ``t`` ends exactly at input ``t``.

    >>> causal_padding(2), causal_padding(3, dilation=4)
    (1, 8)
    """
    k = check_int("kernel_size", kernel_size, minimum=1)
    d = check_int("dilation", dilation, minimum=1)
    return (k - 1) * d


def causal_conv1d(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    dilation: int = 1,
) -> np.ndarray:
    """Causal 1D convolution (cross-correlation): left zero-padding, then a valid conv1d.

    ``out[n, o, t] = bias[o] + sum_{c, j} weight[o, c, j] * x[n, c, t - (k-1-j) d]`` with
    ``x[..., t] = 0`` for ``t < 0``: the last kernel tap ``j = k-1`` sits on the present
    ``x[t]``, tap ``j`` on the input ``(k-1-j) d`` steps in the past. The output has the
    input's length, and output ``t`` depends on inputs ``<= t`` only.

    Shapes: input ``(N, C_in, L)`` or ``(C_in, L)``; weight ``(C_out, C_in, k)``; bias
    ``(C_out,)`` or None; output ``(N, C_out, L)`` or ``(C_out, L)``.

    The lecture notes' toy example: input 10, 20, 30 and the kernel 1, 2. Like torch and
    Keras we do not flip the kernel, so ``y_t = 1 * x_{t-1} + 2 * x_t``. Without padding
    only two outputs exist; one zero on the left gives the first time step an output too,
    ``2 * 10 = 20``, and the output is as long as the input:

    >>> x, w = np.array([[10, 20, 30]]), np.array([[[1, 2]]])  # (C_in, L), (C_out, C_in, k)
    >>> from lecturepkg.conv.functional import conv1d
    >>> conv1d(x, w)  # valid: 1*10 + 2*20, 1*20 + 2*30
    array([[50, 80]])
    >>> causal_conv1d(x, w)  # zero padding at the start: 1*0 + 2*10 comes first
    array([[20, 50, 80]])

    (A textbook convolution, which flips the kernel, would give ``10, 40, 70`` instead.)
    """
    input = check_array("input", input, (2, 3), "(N, C_in, L) or (C_in, L)")
    weight = check_array("weight", weight, 3, "(C_out, C_in, k)")
    d = check_int("dilation", dilation, minimum=1)
    left = causal_padding(weight.shape[2], d)
    widths = [(0, 0)] * (input.ndim - 1) + [(left, 0)]  # zeros on the left of time only
    x = np.pad(input, widths)  # (..., C_in, L + (k-1) d)
    return conv1d_fast(x, weight, bias, stride=1, padding=0, dilation=d)
