"""Depth concatenation, which stacks feature maps along the channels, zero-padding smaller ones.

An inception module (Szegedy et al. 2015) runs several branches on the same input and
concatenates their outputs along the depth (channel) axis. Concatenation needs the maps to
have the same height and width; Torch7's ``nn.DepthConcat``, which the GoogLeNet
implementations of the time used, allowed them to differ: every map is zero-padded to the
largest height and width, centred, before concatenating. A ``(14, 14, 2)`` map and a
``(16, 16, 3)`` one (height, width, depth) give a ``(16, 16, 5)`` result.

Centred means: a map ``d`` rows short gets ``d // 2`` rows of zeros at the top and the rest,
``d - d // 2``, at the bottom (the same for columns: left, then right), as Torch7 placed it
at the offset ``floor(d / 2)``. When all maps have the same size, :func:`depth_concat` is
``torch.cat(tensors, dim=1)``.

The module is named for the concept and not after the function, so that
``lecturepkg.blocks.depth_concat`` is always the function.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["depth_concat", "DepthConcat"]


def depth_concat(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """Zero-pad maps ``(N, C_i, H_i, W_i)`` to the largest ``H`` and ``W``, centred, and
    concatenate them along the channels.

    Parameters
    ----------
    tensors : sequence of torch.Tensor
        A list or tuple of at least one 4-D tensor ``(N, C_i, H_i, W_i)``, with the same
        ``N``, dtype and device.

    Returns
    -------
    torch.Tensor
        ``(N, sum_i C_i, max_i H_i, max_i W_i)``. Map ``i`` sits at rows
        ``(H - H_i) // 2`` to ``(H - H_i) // 2 + H_i - 1`` (and columns likewise); the rest
        of its channels is zero.

    The lecture notes' example, in PyTorch's ``(N, C, H, W)`` order:

    >>> a, b = torch.ones(1, 2, 14, 14), torch.ones(1, 3, 16, 16)
    >>> out = depth_concat([a, b])
    >>> out.shape
    torch.Size([1, 5, 16, 16])
    >>> out[0, 0, :3, :3]  # a's first channel, padded by one row and one column of zeros
    tensor([[0., 0., 0.],
            [0., 1., 1.],
            [0., 1., 1.]])
    """
    if isinstance(tensors, torch.Tensor) or not isinstance(tensors, Sequence):
        raise TypeError(
            "tensors must be a list or tuple of tensors (N, C_i, H_i, W_i), got "
            f"{type(tensors).__name__}"
        )
    if len(tensors) == 0:
        raise ValueError("tensors must hold at least one tensor, got an empty sequence")
    for i, t in enumerate(tensors):
        if not isinstance(t, torch.Tensor):
            raise TypeError(
                f"tensors[{i}] must be a torch.Tensor (N, C, H, W), got {type(t).__name__}"
            )
        if t.ndim != 4:
            raise ValueError(
                f"tensors[{i}] must have shape (N, C, H, W), got {tuple(t.shape)}"
            )
    first = tensors[0]
    for i, t in enumerate(tensors[1:], start=1):
        if t.shape[0] != first.shape[0]:
            raise ValueError(
                f"tensors must have the same batch size N: tensors[0] has {first.shape[0]}, "
                f"tensors[{i}] has {t.shape[0]}"
            )
        if t.dtype != first.dtype or t.device != first.device:
            raise ValueError(
                f"tensors must have the same dtype and device: tensors[0] is {first.dtype} "
                f"on {first.device}, tensors[{i}] is {t.dtype} on {t.device}"
            )
    height = max(t.shape[2] for t in tensors)
    width = max(t.shape[3] for t in tensors)
    padded = []
    for t in tensors:
        dh, dw = height - t.shape[2], width - t.shape[3]
        # F.pad takes (left, right, top, bottom) for the last two axes
        padded.append(F.pad(t, (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2)))  # (N, C_i, H, W)
    return torch.cat(padded, dim=1)  # (N, sum C_i, H, W)


class DepthConcat(nn.Module):
    """Run every branch on the same input and :func:`depth_concat` their outputs.

    Parameters
    ----------
    branches : sequence of nn.Module
        The branches, kept in an ``nn.ModuleList`` named ``branches``; each maps
        ``(N, C, H, W)`` to some ``(N, C_i, H_i, W_i)``.

    >>> block = DepthConcat([nn.Conv2d(4, 2, 3), nn.Conv2d(4, 3, 1)])
    >>> block(torch.randn(1, 4, 16, 16)).shape  # (1, 2, 14, 14) and (1, 3, 16, 16)
    torch.Size([1, 5, 16, 16])
    """

    def __init__(self, branches: Sequence[nn.Module]):
        super().__init__()
        is_list = isinstance(branches, nn.ModuleList) or (
            isinstance(branches, Sequence) and not isinstance(branches, (str, nn.Module))
        )
        if not is_list:
            raise TypeError(
                f"branches must be a list of nn.Module, got {type(branches).__name__}"
            )
        if len(branches) == 0:
            raise ValueError("branches must hold at least one nn.Module, got none")
        for i, b in enumerate(branches):
            if not isinstance(b, nn.Module):
                raise TypeError(f"branches[{i}] must be an nn.Module, got {type(b).__name__}")
        self.branches = nn.ModuleList(branches)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(
                f"x must be a torch.Tensor of shape (N, C, H, W), got {type(x).__name__}"
            )
        return depth_concat([branch(x) for branch in self.branches])  # (N, sum C_i, H, W)
