"""Receptive fields: which input positions can influence one unit of a deep layer?

Two ways to find out, which the tests check against each other:

* :func:`receptive_field` computes it from the layer settings with the recurrences of
  Araujo, Norris & Sim, *Computing receptive fields of convolutional neural networks*
  (Distill, 2019). Going through the layers ``l = 1, 2, ...`` with kernel size ``k_l``,
  stride ``s_l``, dilation ``d_l`` and padding ``p_l``, starting from ``r_0 = 1, j_0 = 1,
  start_0 = 0`` (one input position)::

      r_l     = r_{l-1} + (k_l - 1) * d_l * j_{l-1}     size of the field
      j_l     = j_{l-1} * s_l                           jump: input distance between units
      start_l = start_{l-1} - p_l * j_{l-1}             first input position of unit 0

  A layer adds ``k_l - 1`` more taps, ``d_l`` units apart, and one unit of the layer below
  is ``j_{l-1}`` input positions away from the next; so the field grows by
  ``(k_l - 1) d_l j_{l-1}``. Unit ``i`` of layer ``l`` sees input positions
  ``start_l + i j_l, ..., start_l + i j_l + r_l - 1`` (negative or too large: padding).
  ``r_l`` is the distance from the first to the last input the unit can see; with dilation
  or stride larger than the kernel some positions in between may be skipped.

* :func:`empirical_receptive_field` asks the network itself: back-propagate from one output
  unit to the input and see where the gradient is not zero.

Each axis is computed separately, so 2D layers with ``kernel_size=(3, 5)`` give a
``(rows, columns)`` pair.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from lecturepkg._checks import check_int, check_shape_of, check_tuple
from lecturepkg.conv._args import IntOrTuple

__all__ = [
    "ReceptiveField",
    "EmpiricalReceptiveField",
    "receptive_field",
    "empirical_receptive_field",
]

_KEYS = ("kernel_size", "stride", "dilation", "padding")


@dataclass(frozen=True)
class ReceptiveField:
    """The receptive field of the units of one layer, in input positions.

    ``size`` (``r``): how many consecutive input positions, first to last, one unit sees;
    ``jump`` (``j``): how far apart in the input two neighbouring units' fields start;
    ``start``: the first input position seen by unit 0 (negative when it lies in padding).
    Each is an int for layers with one spatial axis and a tuple (one entry per axis)
    otherwise.
    """

    size: IntOrTuple
    jump: IntOrTuple
    start: IntOrTuple

    def span(self, index: IntOrTuple) -> tuple:
        """``(first, last)`` input positions seen by unit ``index`` of the layer (inclusive).

        >>> ReceptiveField(size=5, jump=2, start=-1).span(3)
        (5, 9)
        """
        one_d = isinstance(self.size, numbers.Integral)
        n = 1 if one_d else len(self.size)
        index = check_tuple("index", index, n, minimum=0)
        size, jump, start = ((v,) if one_d else v for v in (self.size, self.jump, self.start))
        first = tuple(st + i * j for st, i, j in zip(start, index, jump))
        last = tuple(f + r - 1 for f, r in zip(first, size))
        return (first[0], last[0]) if one_d else (first, last)


def _layer_settings(i: int, layer: Any) -> dict:
    """The raw ``kernel_size, stride, dilation, padding`` of one layer description."""
    name = f"layers[{i}]"
    if isinstance(layer, dict):
        unknown = set(layer) - set(_KEYS)
        if "kernel_size" not in layer or unknown:
            raise ValueError(
                f"{name} must be a dict with key 'kernel_size' and optional 'stride', "
                f"'dilation', 'padding'; got keys {sorted(layer)}"
            )
        settings = dict(layer)
    elif isinstance(layer, (tuple, list)):
        if len(layer) not in (3, 4):
            raise ValueError(
                f"{name} must be (kernel_size, stride, dilation) or (kernel_size, stride, "
                f"dilation, padding), got {layer!r}"
            )
        settings = dict(zip(_KEYS, layer))
    elif hasattr(layer, "kernel_size"):  # a torch layer: nn.Conv1d/2d/3d, nn.MaxPool2d, ...
        settings = {key: getattr(layer, key) for key in _KEYS if hasattr(layer, key)}
        if settings.get("stride") is None:  # pooling: the stride defaults to the kernel size
            settings["stride"] = settings["kernel_size"]
    else:
        raise TypeError(
            f"{name} must be a tuple (kernel_size, stride, dilation[, padding]), a dict or a "
            f"layer with a kernel_size attribute, got {type(layer).__name__}"
        )
    settings.setdefault("stride", 1)
    settings.setdefault("dilation", 1)
    settings.setdefault("padding", 0)
    return settings


def _dims_of(settings: list[dict]) -> int | None:
    """Number of axes given by the tuples among the settings (None: all ints, 1D)."""
    lengths = {
        len(v) for s in settings for v in s.values() if isinstance(v, (tuple, list))
    }
    if len(lengths) > 1:
        raise ValueError(f"layers mix settings for different numbers of axes: {sorted(lengths)}")
    return lengths.pop() if lengths else None


def _padding_before(i: int, padding: Any, kernel: tuple, dilation: tuple, n: int) -> tuple:
    """Zeros added before the first input position (torch's 'same' puts the odd one after)."""
    if padding == "valid":
        return (0,) * n
    if padding == "same":
        return tuple(d * (k - 1) // 2 for k, d in zip(kernel, dilation))
    return check_tuple(f"layers[{i}] padding", padding, n, minimum=0)


def receptive_field(layers: Sequence[Any]) -> list[ReceptiveField]:
    """Receptive field size, jump and start after each layer of a stack (Araujo et al. 2019).

    ``layers`` is a sequence of layer descriptions, first layer first, each one of

    * a tuple ``(kernel_size, stride, dilation)`` or ``(kernel_size, stride, dilation,
      padding)``;
    * a dict with key ``kernel_size`` and optional ``stride``, ``dilation``, ``padding``
      (defaults 1, 1, 0);
    * a torch layer with these attributes (``nn.Conv1d/2d/3d``, ``nn.MaxPool1d/2d``,
      ``nn.AvgPool2d``, ...); layers without a kernel (activations) are not receptive-field
      changing, so leave them out.

    Settings are ints (one axis, or the same for all axes) or tuples with one entry per axis.
    Returns one
    :class:`ReceptiveField` per layer; the last one is the network's.

    The lecture notes' example is a kernel of size 2 (weights 0.5 and 1.0) used with stride 2
    in two stacked layers. Without dilation a unit of the second layer sees 4 inputs, as the
    notes say. With dilation 2 in both layers the notes report a field of size 8; the
    recurrences give 7: the unit of the second layer reads inputs 0 to 6, and of these only
    0, 2, 4 and 6, because the first layer's dilated kernel, moved in steps of 2, never touches
    an odd input. Back-propagating through the same network in torch gives 7 as well (see
    ``tests/test_receptive_field.py``). We implement the recurrences, so ``size`` is 7 here.

    >>> [f.size for f in receptive_field([(2, 2, 1), (2, 2, 1)])]
    [2, 4]
    >>> [f.size for f in receptive_field([(2, 2, 2), (2, 2, 2)])]
    [3, 7]
    >>> receptive_field([(3, 1, 1, 1)] * 3)[-1]  # three 3x3 'same' layers (VGG): 7
    ReceptiveField(size=7, jump=1, start=-3)
    """
    if isinstance(layers, (str, bytes, dict)) or not isinstance(layers, Sequence):
        raise TypeError(
            f"layers must be a sequence (list) of layer descriptions, got "
            f"{type(layers).__name__}"
        )
    if len(layers) == 0:
        raise ValueError("layers must contain at least one layer")
    settings = [_layer_settings(i, layer) for i, layer in enumerate(layers)]
    dims = _dims_of(settings) or 1
    size, jump, start = [1] * dims, [1] * dims, [0] * dims  # the input: one position
    pack = tuple if dims > 1 else (lambda values: values[0])  # ints for one axis
    fields = []
    for i, s in enumerate(settings):
        k = check_tuple(f"layers[{i}] kernel_size", s["kernel_size"], dims, minimum=1)
        st = check_tuple(f"layers[{i}] stride", s["stride"], dims, minimum=1)
        d = check_tuple(f"layers[{i}] dilation", s["dilation"], dims, minimum=1)
        p = _padding_before(i, s["padding"], k, d, dims)
        for a in range(dims):
            start[a] -= p[a] * jump[a]  # uses j_{l-1}: padding is in the previous layer's units
            size[a] += (k[a] - 1) * d[a] * jump[a]
            jump[a] *= st[a]
        fields.append(ReceptiveField(pack(size), pack(jump), pack(start)))
    return fields


@dataclass(frozen=True)
class EmpiricalReceptiveField:
    """Where the gradient of one output unit with respect to the input is not zero.

    ``size``, ``start``: extent (last - first + 1) and first position of the non-zero
    gradient, per spatial axis; ``output_index``: the unit, ``(channel, *position)``;
    ``gradient``: ``|d unit / d input|`` summed over input channels, shape ``input_size[1:]``.
    """

    size: tuple
    start: tuple
    output_index: tuple
    gradient: np.ndarray


def empirical_receptive_field(
    model, input_size: Sequence[int], output_index: Sequence[int] | None = None
) -> EmpiricalReceptiveField:
    """Measure a receptive field by back-propagating from one output unit to the input.

    The model gets an all-ones input of shape ``(1, *input_size)`` (``input_size`` is one
    sample's shape, ``(C, *spatial)``), and ``torch.autograd.grad`` gives the gradient of
    output unit ``output[0][output_index]`` (default: channel 0, the centre of the output
    grid) with respect to the input. Input positions where it is not zero influence the
    unit; their extent along each axis is the receptive field that
    :func:`receptive_field` predicts, provided the unit's field lies inside the input.

    The gradient can be zero at a position the unit does see, so the measurement can come
    out too small:

    * it is a sum over paths of products of weights, which can cancel (two paths with
      weights ``+1`` and ``-1``); with all-positive weights every path counts positively;
    * a ReLU whose input is negative passes no gradient: positive weights, non-negative
      biases and the all-ones input keep every ReLU on;
    * max pooling sends the gradient to one position per window only; average pooling (or
      a convolution) sees the whole window.

    So use a network with positive weights (for example ``w.abs()`` of a trained one) for
    the structure of the field. The model is run in ``eval`` mode (batch norm with its
    running statistics) and put back in its previous mode; its parameters' ``.grad`` are
    not touched.
    """
    import torch

    if not isinstance(model, torch.nn.Module) and not callable(model):
        raise TypeError(f"model must be a torch.nn.Module or callable, got {type(model).__name__}")
    input_size = check_shape_of("input_size", input_size)
    if len(input_size) < 2:
        raise ValueError(
            f"input_size must be one sample's shape (C, *spatial), got {input_size}"
        )
    params = list(model.parameters()) if isinstance(model, torch.nn.Module) else []
    dtype = params[0].dtype if params else torch.get_default_dtype()
    device = params[0].device if params else torch.device("cpu")
    x = torch.ones((1, *input_size), dtype=dtype, device=device, requires_grad=True)
    was_training = getattr(model, "training", None)
    try:
        if was_training is not None:
            model.eval()
        with torch.enable_grad():
            out = model(x)
            index = _output_index(output_index, tuple(out.shape[1:]), len(input_size))
            (grad,) = torch.autograd.grad(out[(0, *index)], x)
    finally:
        if was_training:
            model.train()
    gradient = grad[0].abs().sum(dim=0).detach().cpu().numpy()  # (*spatial)
    nonzero = np.nonzero(gradient)
    if len(nonzero[0]) == 0:
        raise ValueError(
            f"the gradient of output unit {index} is zero everywhere: dead ReLUs or "
            "cancelling weights; use a model with positive weights (see the docstring)"
        )
    first = tuple(int(a.min()) for a in nonzero)
    last = tuple(int(a.max()) for a in nonzero)
    size = tuple(b - a + 1 for a, b in zip(first, last))
    return EmpiricalReceptiveField(size, first, index, gradient)


def _output_index(output_index, out_shape: tuple, input_ndim: int) -> tuple:
    """Check ``output_index`` against the model's output shape ``(C_out, *spatial)``."""
    if len(out_shape) != input_ndim:
        raise ValueError(
            f"model must keep the number of axes (C, *spatial): input of {input_ndim} axes "
            f"per sample gave output of shape {out_shape}"
        )
    if output_index is None:
        return (0, *(s // 2 for s in out_shape[1:]))  # channel 0, centre of the grid
    if not isinstance(output_index, (tuple, list)) or len(output_index) != len(out_shape):
        raise ValueError(
            f"output_index must be a tuple (channel, *position) of {len(out_shape)} ints for "
            f"an output of shape {out_shape} per sample, got {output_index!r}"
        )
    index = tuple(
        check_int(f"output_index[{a}]", v, minimum=0) for a, v in enumerate(output_index)
    )
    if any(i >= s for i, s in zip(index, out_shape)):
        raise ValueError(f"output_index {index} is outside the output of shape {out_shape}")
    return index
