"""Spatially separable convolutions: a rank-1 kernel applied as two 1D passes.

A ``kH x kW`` kernel that is the outer product of a column ``c`` (length ``kH``) and a row
``r`` (length ``kW``), ``K[u, v] = c[u] * r[v]``, has rank 1. Correlating an image with it
equals correlating every column of the image with ``c`` (a vertical pass) and then every row
of the result with ``r`` (a horizontal pass): ``kH + kW`` multiplications per output pixel
instead of ``kH * kW``, and ``kH + kW`` parameters instead of ``kH * kW``. The Sobel kernel
is the classic example (:func:`sobel_kernels`); Inception v3 and v4 factor their ``n x n``
convolutions into ``n x 1`` followed by ``1 x n`` (Szegedy et al. 2016).

Which kernels separate? Exactly the rank-1 ones. The singular value decomposition
``K = sum_i s_i u_i v_i^T`` (Eckart & Young 1936) tells: ``K`` is separable when
``s_2 = 0`` (:func:`factorize_kernel`), and otherwise ``s_1 u_1 v_1^T`` is the closest
separable kernel in the Frobenius norm (:func:`rank1_approximation`).

The other "separable" convolution, depthwise separable (a per-channel ``k x k`` convolution
followed by a ``1 x 1`` one; Chollet 2017), separates channels instead of axes;
:func:`separable_cost` compares the parameter and MAC counts of the three.
"""

from __future__ import annotations

import numbers

import numpy as np

from lecturepkg._checks import check_int, check_ndarray, check_tuple
from lecturepkg.conv._args import IntOrTuple
from lecturepkg.conv.arithmetic import conv_output_size
from lecturepkg.conv.functional import conv2d

__all__ = [
    "outer_kernel",
    "factorize_kernel",
    "rank1_approximation",
    "separable_conv2d",
    "sobel_kernels",
    "separable_cost",
]


def _check_vector(name: str, value, shape_hint: str) -> np.ndarray:
    value = check_ndarray(name, value, ndim=1, shape_hint=shape_hint)
    if value.dtype == np.bool_:
        raise TypeError(f"{name} must have a numeric dtype (int, float), got bool")
    if value.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {value.shape}")
    return value


def _check_kernel(kernel) -> np.ndarray:
    kernel = check_ndarray("kernel", kernel, ndim=2, shape_hint="(kH, kW)")
    if kernel.dtype == np.bool_ or np.issubdtype(kernel.dtype, np.complexfloating):
        raise TypeError(f"kernel must have a real numeric dtype, got {kernel.dtype}")
    if kernel.size == 0:
        raise ValueError(f"kernel must not be empty, got shape {kernel.shape}")
    return kernel


def outer_kernel(column: np.ndarray, row: np.ndarray) -> np.ndarray:
    """The rank-1 kernel ``column ⊗ row``: ``K[u, v] = column[u] * row[v]``.

    Shapes: column ``(kH,)``, row ``(kW,)`` -> ``(kH, kW)``.

    >>> outer_kernel(np.array([1, 2, 1]), np.array([1, 0, -1]))  # Sobel, d/dx
    array([[ 1,  0, -1],
           [ 2,  0, -2],
           [ 1,  0, -1]])
    """
    column = _check_vector("column", column, "(kH,)")
    row = _check_vector("row", row, "(kW,)")
    return column[:, np.newaxis] * row[np.newaxis, :]  # (kH, kW)


def _leading_pair(kernel: np.ndarray):
    """SVD of ``kernel``: the leading (column, row) pair, scaled and signed, and all the
    singular values.

    Convention: ``column = sqrt(s_1) u_1`` and ``row = sqrt(s_1) v_1`` (both have norm
    ``sqrt(s_1)``), with the sign chosen so that the first entry of ``column`` that is not
    zero (up to rounding) is positive. A factorization is unique only up to
    ``(a * column, row / a)``: this picks one.
    """
    u, s, vt = np.linalg.svd(kernel.astype(np.float64))  # kernel = u @ diag(s) @ vt
    column, row = np.sqrt(s[0]) * u[:, 0], np.sqrt(s[0]) * vt[0]  # (kH,), (kW,)
    big = np.abs(column) > 1e-12 * np.abs(column).max(initial=0.0)
    if big.any() and column[np.argmax(big)] < 0:  # first clearly non-zero entry
        column, row = -column, -row
    return column, row, s


def factorize_kernel(kernel: np.ndarray, tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """Split a separable kernel into ``(column, row)`` with ``outer_kernel(column, row) ==
    kernel`` (up to rounding), using the singular value decomposition.

    The kernel is separable when its second singular value ``s_2`` is at most
    ``tol * s_1``; otherwise ``ValueError`` (use :func:`rank1_approximation` for the best
    separable approximation). Scale and sign: both factors get the norm ``sqrt(s_1)``, and
    the first non-zero entry of ``column`` is positive; any ``(a * column, row / a)`` is an
    equally valid factorization, so rescale as you like (the Sobel kernel of
    :func:`sobel_kernels` gives multiples of ``[1, 2, 1]`` and ``[1, 0, -1]``).

    Shapes: kernel ``(kH, kW)`` -> column ``(kH,)``, row ``(kW,)`` (float64).

    >>> column, row = factorize_kernel(np.array([[2., 4.], [3., 6.]]))
    >>> np.round(row / row[0], 12), np.round(column * row[0], 12)
    (array([1., 2.]), array([2., 3.]))
    """
    kernel = _check_kernel(kernel)
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real):
        raise TypeError(f"tol must be a real number, got {tol!r}")
    if not tol >= 0:  # also catches nan
        raise ValueError(f"tol must be >= 0, got {tol!r}")
    column, row, s = _leading_pair(kernel)
    if s.size > 1 and s[1] > tol * s[0]:
        raise ValueError(
            f"kernel of shape {kernel.shape} is not separable: it has rank > 1, its second "
            f"singular value is {s[1]:.6g} > tol * first = {tol:g} * {s[0]:.6g} (use "
            f"rank1_approximation for the closest separable kernel)"
        )
    return column, row


def rank1_approximation(kernel: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The separable kernel closest to ``kernel``: ``(column, row, relative_error)``.

    By the Eckart-Young theorem the best rank-1 approximation in the Frobenius norm is
    ``s_1 u_1 v_1^T``, the leading term of the SVD, and its error is what the other singular
    values carry::

        relative_error = ||kernel - column ⊗ row||_F / ||kernel||_F
                       = sqrt(s_2^2 + s_3^2 + ...) / sqrt(s_1^2 + s_2^2 + ...)

    (0 for a separable kernel, and 0 for an all-zero kernel). Scale and sign of the factors
    as in :func:`factorize_kernel`.

    Shapes: kernel ``(kH, kW)`` -> column ``(kH,)``, row ``(kW,)``, a float.

    >>> column, row, err = rank1_approximation(np.eye(2))  # identity: s = (1, 1)
    >>> round(err ** 2, 12)  # half of the energy is lost
    0.5
    """
    kernel = _check_kernel(kernel)
    column, row, s = _leading_pair(kernel)
    total = np.sqrt(np.sum(s**2))
    error = float(np.sqrt(np.sum(s[1:] ** 2)) / total) if total > 0 else 0.0
    return column, row, error


def separable_conv2d(
    input: np.ndarray,
    column: np.ndarray,
    row: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
) -> np.ndarray:
    """Correlate every channel with the rank-1 kernel ``column ⊗ row``, in two 1D passes.

    First a vertical pass (every column of every channel correlated with ``column``, with
    the vertical stride and padding), then a horizontal pass (every row of the result
    correlated with ``row``, with the horizontal stride and padding). The result equals
    ``conv2d(input, K, bias, stride, padding, groups=C)`` with ``K`` the outer product
    repeated for each of the ``C`` channels: the same 2D filter on each channel separately,
    channels are not mixed. Per output pixel and channel this costs ``kH + kW``
    multiplications instead of ``kH * kW``.

    Shapes: input ``(N, C, H, W)`` or ``(C, H, W)``; column ``(kH,)``; row ``(kW,)``; bias
    ``(C,)`` (one per channel) or None; output ``(N, C, H_out, W_out)`` or
    ``(C, H_out, W_out)`` with the sizes of :func:`~lecturepkg.conv.arithmetic.conv_output_size`.

    >>> x = np.arange(16.).reshape(1, 4, 4)
    >>> separable_conv2d(x, np.ones(2), np.ones(2), stride=2)  # sums of 2x2 blocks
    array([[[10., 18.],
            [42., 50.]]])
    """
    input = check_ndarray("input", input, ndim=(3, 4), shape_hint="(N, C, H, W) or (C, H, W)")
    if input.dtype == np.bool_:
        raise TypeError("input must have a numeric dtype (int, float), got bool")
    column = _check_vector("column", column, "(kH,)")
    row = _check_vector("row", row, "(kW,)")
    (sh, sw) = check_tuple("stride", stride, 2, minimum=1)
    (ph, pw) = check_tuple("padding", padding, 2, minimum=0)
    batched = input.ndim == 4
    x = input if batched else input[np.newaxis]  # (N, C, H, W)
    n, c, h, w = x.shape
    if bias is not None:
        bias = check_ndarray("bias", bias, ndim=1, shape_hint="(C,)")
        if bias.shape != (c,):
            raise ValueError(f"bias must have shape (C,) = ({c},), one per channel, got "
                             f"{bias.shape}")
    for name, k, size, pad, axis in (("column", column.size, h, ph, "height"),
                                     ("row", row.size, w, pw, "width")):
        try:
            conv_output_size(size, k, padding=pad)
        except ValueError:
            raise ValueError(f"{name} of length {k} is longer than the padded input {axis} "
                             f"{size} + 2*{pad} = {size + 2 * pad}") from None

    w_column = np.tile(column.reshape(1, 1, -1, 1), (c, 1, 1, 1))  # (C, 1, kH, 1)
    w_row = np.tile(row.reshape(1, 1, 1, -1), (c, 1, 1, 1))  # (C, 1, 1, kW)
    vertical = conv2d(x, w_column, None, stride=(sh, 1), padding=(ph, 0), groups=c)
    # vertical: (N, C, H_out, W)
    out = conv2d(vertical, w_row, bias, stride=(1, sw), padding=(0, pw), groups=c)
    return out if batched else out[0]  # (N, C, H_out, W_out)


def sobel_kernels() -> tuple[np.ndarray, np.ndarray]:
    """The Sobel kernels ``(gx, gy)`` as the lecture notes write them (float64, 3 x 3)::

        gx = [[1, 0, -1],      gy = gx.T = [[ 1,  2,  1],
              [2, 0, -2],                   [ 0,  0,  0],
              [1, 0, -1]]                   [-1, -2, -1]]

    ``gx = [1, 2, 1]^T ⊗ [1, 0, -1]``: a smoothing ``[1, 2, 1]`` down the columns times a
    central difference ``[1, 0, -1]`` along the rows (Sobel & Feldman 1968); ``gy`` is the
    same, turned by 90 degrees.

    Orientation: written this way these are *convolution* kernels (the form in the notes and
    in most image processing texts): a true convolution, which flips the kernel, with ``gx``
    gives ``I(x+1) - I(x-1)`` (smoothed), positive where the image gets brighter to the
    right (and ``gy`` brighter downwards). ``conv2d`` and PyTorch *correlate*, so with them
    ``gx`` gives the opposite sign; ``np.flip(gx) == -gx`` is the correlation kernel of
    the derivative to the right (the ``[[-1, 0, 1], ...]`` of chapter 1).
    """
    gx = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
    return gx, gx.T.copy()


def separable_cost(
    kernel_size: IntOrTuple,
    in_channels: int = 1,
    out_channels: int = 1,
    output_size: IntOrTuple = 1,
) -> dict[str, dict[str, int]]:
    """Parameters and multiply-accumulates (MACs) of three ways to map ``in_channels`` to
    ``out_channels`` maps with a ``kH x kW`` receptive field (no bias, one sample):

    * ``"full"``: an ordinary convolution, ``C_out * C_in * kH * kW`` weights;
    * ``"spatial"``: every one of the ``C_out * C_in`` 2D filter slices is rank-1, applied as
      a ``kH x 1`` pass and a ``1 x kW`` pass (:func:`separable_conv2d` is the case
      ``C_in = C_out = 1``, per channel): ``C_out * C_in * (kH + kW)`` weights;
    * ``"depthwise"``: depthwise separable (Chollet 2017), a ``kH x kW`` filter per input
      channel then a ``1 x 1`` convolution mixing channels: ``C_in * kH * kW + C_in * C_out``.

    MACs are for stride 1 and "same" padding, so that every intermediate map has the output
    size ``H_out x W_out`` (``output_size``, an int or a pair; the default 1 gives the cost
    per output position): MACs = weights x ``H_out * W_out``. The counting convention is the
    one of :mod:`lecturepkg.counting`.

    >>> cost = separable_cost(3)  # the Sobel kernel: 9 weights, or 3 + 3
    >>> cost["full"]["params"], cost["spatial"]["params"]
    (9, 6)
    """
    kh, kw = check_tuple("kernel_size", kernel_size, 2, minimum=1)
    c_in = check_int("in_channels", in_channels, minimum=1)
    c_out = check_int("out_channels", out_channels, minimum=1)
    h_out, w_out = check_tuple("output_size", output_size, 2, minimum=1)
    params = {
        "full": c_out * c_in * kh * kw,
        "spatial": c_out * c_in * (kh + kw),
        "depthwise": c_in * kh * kw + c_in * c_out,
    }
    return {name: {"params": p, "macs": p * h_out * w_out} for name, p in params.items()}
