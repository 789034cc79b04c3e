"""A temporal convolutional network (TCN): a stack of dilated causal convolutions.

WaveNet (van den Oord et al. 2016) and the TCN of Bai, Kolter & Koltun (2018) model
sequences with one-dimensional convolutions that are

* **causal**: the output at time ``t`` depends on inputs at times ``<= t`` only. The input of
  every convolution is padded with ``(kernel_size - 1) * dilation`` zeros *on the left*, so
  the output has the input's length and output ``t`` lines up with input ``t``;
* **dilated**: layer ``l`` skips ``dilation[l] - 1`` inputs between its taps. With kernel
  size 2 and dilations 1, 2, 4, ..., 2^(L-1), ``L`` layers see ``2^L`` time steps, where
  undilated layers would see ``L + 1``;
* **residual**: each block adds its input to its output (He et al. 2016), through a 1x1
  convolution when the number of channels changes, which keeps deep stacks trainable.

:class:`TCN` keeps one convolution per residual block (Bai et al. use two, WaveNet a gated
pair), so that the block structure mirrors the textbook picture of a dilated stack: its
receptive field is ``1 + sum_l (kernel_size - 1) * dilations[l]``. Passing
``dilations=[1, 1, 1, 1]`` instead of ``[1, 2, 4, 8]`` gives the undilated baseline with
the same depth and exactly the same parameters.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from lecturepkg._checks import check_int
from lecturepkg.conv.causal import causal_padding
from lecturepkg.conv.receptive_fields import receptive_field
from lecturepkg.models._input import check_input

__all__ = ["CausalConv1d", "TemporalBlock", "TCN"]


class CausalConv1d(nn.Module):
    """``nn.Conv1d`` with zero padding on the left only (or centred, ``causal=False``).

    Input ``(N, C_in, L)`` -> output ``(N, C_out, L)``. Causal: the ``(k - 1) d`` zeros all go
    before the sequence, so output ``t`` sees inputs ``t - (k-1) d, ..., t``. Not causal
    ("same" padding): the zeros are split between both ends, the left getting the smaller
    half, so output ``t`` sees a window roughly centred on ``t``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        dilation: int = 1,
        causal: bool = True,
    ):
        super().__init__()
        total = causal_padding(kernel_size, dilation)  # (kernel_size - 1) * dilation
        self.padding = (total, 0) if causal else (total // 2, total - total // 2)
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, dilation=dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, ("N", self.conv.in_channels, "L"))  # TypeError / ValueError naming x
        return self.conv(F.pad(x, self.padding))  # (N, C_in, L + pad) -> (N, C_out, L)


class TemporalBlock(nn.Module):
    """``x -> relu(conv(x)) + skip(x)``, with ``conv`` a (causal) dilated convolution.

    ``skip`` is the identity, or a 1x1 convolution when ``in_channels != out_channels``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        dilation: int,
        causal: bool = True,
    ):
        super().__init__()
        self.conv = CausalConv1d(in_channels, out_channels, kernel_size, dilation, causal)
        self.skip = (
            nn.Identity()
            if in_channels == out_channels
            else nn.Conv1d(in_channels, out_channels, kernel_size=1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, ("N", self.conv.conv.in_channels, "L"))  # TypeError / ValueError
        return torch.relu(self.conv(x)) + self.skip(x)  # (N, C_out, L)


class TCN(nn.Module):
    """Temporal convolutional network: residual blocks of dilated causal convolutions.

    Parameters
    ----------
    in_channels:
        Channels of the input sequence ``(N, in_channels, L)``.
    channels:
        Channels of every block.
    kernel_size:
        Kernel size of every dilated convolution.
    dilations:
        One dilation per block, e.g. ``[1, 2, 4, 8]`` (WaveNet/TCN) or ``[1, 1, 1, 1]``
        (the undilated baseline: same depth, same number of parameters).
    num_outputs:
        Outputs per time step, produced by a final 1x1 convolution.
    causal:
        Pad on the left (default) so that no output sees the future; ``False`` centres the
        window instead ("same" padding).

    ``forward`` maps ``(N, in_channels, L)`` to ``(N, num_outputs, L)``: one prediction per
    time step. For sequence classification, read the last step, ``model(x)[..., -1]``.
    """

    def __init__(
        self,
        in_channels: int,
        channels: int,
        kernel_size: int,
        dilations: Sequence[int],
        num_outputs: int,
        causal: bool = True,
    ):
        super().__init__()
        in_channels = check_int("in_channels", in_channels, minimum=1)
        channels = check_int("channels", channels, minimum=1)
        kernel_size = check_int("kernel_size", kernel_size, minimum=1)
        num_outputs = check_int("num_outputs", num_outputs, minimum=1)
        if not isinstance(dilations, (list, tuple)) or len(dilations) == 0:
            raise TypeError(f"dilations must be a non-empty list of ints, got {dilations!r}")
        dilations = [check_int(f"dilations[{i}]", d, minimum=1) for i, d in enumerate(dilations)]
        if not isinstance(causal, bool):
            raise TypeError(f"causal must be a bool, got {causal!r}")
        self.in_channels = in_channels
        self.kernel_size = kernel_size
        self.dilations = tuple(dilations)
        self.causal = causal
        self.blocks = nn.Sequential(
            *(
                TemporalBlock(in_channels if i == 0 else channels, channels, kernel_size, d, causal)
                for i, d in enumerate(dilations)
            )
        )
        self.head = nn.Conv1d(channels, num_outputs, kernel_size=1)

    @property
    def receptive_field(self) -> int:
        """How many consecutive inputs one output depends on, ``1 + sum (k - 1) d``.

        Computed with :func:`lecturepkg.conv.receptive_fields.receptive_field` from the
        ``(kernel_size, stride=1, dilation)`` of each block; the 1x1 convolutions and the
        residual connections add nothing to it.
        """
        layers = [(self.kernel_size, 1, d) for d in self.dilations]
        return receptive_field(layers)[-1].size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, ("N", self.in_channels, "L"))  # TypeError / ValueError naming x
        return self.head(self.blocks(x))  # (N, num_outputs, L)
