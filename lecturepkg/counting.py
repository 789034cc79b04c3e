"""Count the parameters and multiply-accumulate operations (MACs) of a network.

A *multiply-accumulate* is one ``a += w * x``. Following the convention of the figures that
torchvision publishes for its models (and of the MNIST-network table in Fleuret's notes),
only convolutions and fully connected layers are counted, biases are not, and the count is
for a single input sample:

* ``ConvNd``:          MACs = (output elements) x (in_channels / groups) x prod(kernel_size)
* ``ConvTransposeNd``: MACs = (input elements)  x (out_channels / groups) x prod(kernel_size)
* ``Linear``:          MACs = (output elements) x in_features

Pooling, activations and normalisation are counted as zero: they cost comparatively little
and the published figures leave them out. Many papers write "FLOPs" for these MAC counts;
we keep the honest name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from torch.overrides import TorchFunctionMode

from lecturepkg._checks import check_shape_of

__all__ = ["LayerStats", "count_parameters", "layer_stats", "count_macs", "summary",
           "count_weight_layers"]

_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_CONV_T = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


@dataclass(frozen=True)
class LayerStats:
    """One row of :func:`layer_stats`: a leaf module, its output shape and its costs."""

    name: str
    kind: str
    output_shape: tuple[int, ...]
    params: int
    macs: int


def _check_model(model) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return model


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of scalar parameters of ``model`` (shared parameters counted once)."""
    _check_model(model)
    params = {id(p): p for p in model.parameters() if p.requires_grad or not trainable_only}
    return sum(p.numel() for p in params.values())


def _macs_of(module: nn.Module, inputs: tuple, output) -> int:
    """MACs of one call of a leaf module, for a batch of one."""
    if isinstance(module, _CONV):
        per_output = (module.in_channels // module.groups) * math.prod(module.kernel_size)
        return output[0].numel() * per_output
    if isinstance(module, _CONV_T):
        per_input = (module.out_channels // module.groups) * math.prod(module.kernel_size)
        return inputs[0][0].numel() * per_input
    if isinstance(module, nn.Linear):
        return output[0].numel() * module.in_features
    return 0


def layer_stats(model: nn.Module, input_size: tuple[int, ...]) -> list[LayerStats]:
    """Run one zero input of shape ``(1, *input_size)`` through ``model`` and record each leaf.

    Parameters
    ----------
    model:
        Any ``nn.Module``. Leaf modules (those without children) are recorded in the order
        they are called; a module called twice appears twice.
    input_size:
        Shape of one sample without the batch dimension, e.g. ``(3, 224, 224)``.

    Returns
    -------
    list of LayerStats
        ``params`` counts the parameters a leaf owns (on its first call only), ``macs`` the
        multiply-accumulates of that call.
    """
    _check_model(model)
    input_size = check_shape_of("input_size", input_size)
    rows: list[LayerStats] = []
    seen: set[int] = set()

    def hook(module, inputs, output):
        own = 0 if id(module) in seen else sum(p.numel() for p in module.parameters(recurse=False))
        seen.add(id(module))
        shape = tuple(output.shape[1:]) if isinstance(output, torch.Tensor) else ()
        rows.append(LayerStats(names[id(module)], type(module).__name__, shape, own,
                               _macs_of(module, inputs, output)))

    names = {id(m): n for n, m in model.named_modules()}
    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    was_training = model.training
    try:
        param = next(model.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
        dtype = param.dtype if param is not None else torch.float32
        model.eval()
        with torch.no_grad():
            model(torch.zeros((1, *input_size), device=device, dtype=dtype))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return rows


def count_macs(model: nn.Module, input_size: tuple[int, ...]) -> int:
    """Multiply-accumulates of one forward pass of a single input of shape ``input_size``."""
    return sum(row.macs for row in layer_stats(model, input_size))


def summary(model: nn.Module, input_size: tuple[int, ...]) -> str:
    """A printable table of :func:`layer_stats` with totals, for notebooks and terminals."""
    rows = layer_stats(model, input_size)
    header = f"{'layer':<22}{'type':<18}{'output shape':<20}{'params':>12}{'MACs':>16}"
    lines = [header, "-" * len(header), f"{'input':<22}{'':<18}{str(tuple(input_size)):<20}"]
    for r in rows:
        lines.append(f"{r.name:<22}{r.kind:<18}{str(r.output_shape):<20}{r.params:>12,}{r.macs:>16,}")
    lines.append("-" * len(header))
    total_params = count_parameters(model)
    total_macs = sum(r.macs for r in rows)
    lines.append(f"{'total':<60}{total_params:>12,}{total_macs:>16,}")
    return "\n".join(lines)


# the functions behind nn.ConvNd, nn.ConvTransposeNd and nn.Linear
_WEIGHT_LAYER_FUNCTIONS = (torch.conv1d, torch.conv2d, torch.conv3d, torch.conv_transpose1d,
                           torch.conv_transpose2d, torch.conv_transpose3d,
                           torch.nn.functional.linear)


class _DepthMode(TorchFunctionMode):
    """Give every tensor computed under this mode the number of weight layers behind it."""

    def __init__(self):
        super().__init__()
        self.depth: dict[int, int] = {}
        self.keep: list[torch.Tensor] = []  # keeps tensors alive so that ids stay unique

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        inputs = [t for t in _tensors((args, kwargs))]
        depth = max((self.depth.get(id(t), 0) for t in inputs), default=0)
        if func in _WEIGHT_LAYER_FUNCTIONS:
            depth += 1
        for t in _tensors(result):
            self.depth[id(t)] = max(depth, self.depth.get(id(t), 0))
            self.keep.append(t)
        return result


def _tensors(obj):
    """Every tensor inside nested tuples, lists and dicts."""
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, (tuple, list)):
        for item in obj:
            yield from _tensors(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _tensors(item)


def count_weight_layers(model: nn.Module, input_size: tuple[int, ...]) -> int:
    """Depth of ``model`` in weight layers, as the papers count it (VGG-16, ResNet-152).

    Runs one zero input of shape ``(1, *input_size)`` through ``model`` in eval mode and
    follows every tensor: convolutions (also transposed) and fully connected layers add one,
    every other operation passes on the largest count of its inputs. The result is the
    number of weight layers on the longest path from the input to an output: 16 for VGG-16
    (13 convolutions and 3 fully connected layers), 152 for ResNet-152 (whose projection
    shortcuts run beside the residual branches, not on the longest path) and 22 for
    GoogLeNet (Szegedy et al. 2015: "22 layers deep when counting only layers with
    parameters"). Pooling, normalization and activations are not counted.
    """
    _check_model(model)
    input_size = check_shape_of("input_size", input_size)
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None else torch.float32
    was_training = model.training
    mode = _DepthMode()
    try:
        model.eval()
        with torch.no_grad(), mode:
            output = model(torch.zeros((1, *input_size), device=device, dtype=dtype))
    finally:
        model.train(was_training)
    return max((mode.depth.get(id(t), 0) for t in _tensors(output)), default=0)
