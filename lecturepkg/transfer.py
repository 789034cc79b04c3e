"""Transfer learning with any ``nn.Module``, no model hub needed.

Three operations reuse a network trained on one task for another, as in the studies of how
transferable CNN features are (Yosinski et al. 2014) and of "off-the-shelf" CNN features with
a simple classifier on top (Razavian et al. 2014):

- :func:`extract_features` runs a network and returns what one of its layers computes,
  flattened to one feature vector per input, to train a separate classifier on;
- :func:`replace_head` swaps a network's final linear layer for a fresh one with the number
  of classes of the new task;
- :func:`freeze` and :func:`unfreeze` switch the gradients of a part of the network off and
  on, and :func:`trainable_parameters` lists what an optimiser should then update.

Layers are named as in ``model.named_modules()``: ``"fc"`` or ``"avgpool"`` in torchvision's
ResNets, ``"features"`` or ``"classifier.3"`` in :class:`lecturepkg.models.DigitsLeNet`.
"""

from __future__ import annotations

import torch
from torch import nn

from lecturepkg._checks import check_int

__all__ = ["freeze", "unfreeze", "trainable_parameters", "replace_head", "extract_features"]


def _check_module(name: str, value) -> nn.Module:
    if not isinstance(value, nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(value).__name__}")
    return value


def _submodule(model: nn.Module, layer) -> nn.Module:
    """The submodule called ``layer`` in ``model.named_modules()``, or a clear error."""
    if not isinstance(layer, str):
        raise TypeError(f"layer must be a str naming a submodule, got {type(layer).__name__}")
    modules = dict(model.named_modules())
    if layer not in modules or layer == "":
        names = [n for n in modules if n]
        shown = ", ".join(repr(n) for n in names[:12]) + (", ..." if len(names) > 12 else "")
        raise ValueError(f"layer must name a submodule of the model ({shown}), got {layer!r}")
    return modules[layer]


def freeze(module: nn.Module) -> nn.Module:
    """Stop gradients for every parameter of ``module`` and return it.

    The parameters get ``requires_grad=False``: backpropagation no longer computes their
    gradients and an optimiser leaves them alone. Freezing stops gradients only: batch-norm
    layers of a frozen part still update their running statistics in training mode (put
    them in ``eval()`` mode as well to freeze those).

    Examples
    --------
    >>> net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    >>> _ = freeze(net[0])
    >>> [p.requires_grad for p in net.parameters()]
    [False, False, True, True]
    """
    _check_module("module", module).requires_grad_(False)
    return module


def unfreeze(module: nn.Module) -> nn.Module:
    """Let gradients flow to every parameter of ``module`` again, and return it."""
    _check_module("module", module).requires_grad_(True)
    return module


def trainable_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The parameters of ``model`` that require a gradient, for an optimiser.

    Examples
    --------
    >>> net = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    >>> _ = freeze(net[0])
    >>> [tuple(p.shape) for p in trainable_parameters(net)]
    [(2, 3), (2,)]
    """
    return [p for p in _check_module("model", model).parameters() if p.requires_grad]


def replace_head(model: nn.Module, num_classes: int, layer: str | None = None) -> nn.Linear:
    """Replace a final ``nn.Linear`` of ``model`` by a fresh one with ``num_classes`` outputs.

    Parameters
    ----------
    model:
        The network, changed in place.
    num_classes:
        Outputs of the new layer: the classes of the new task.
    layer:
        Name of the linear layer to replace (``"fc"`` for torchvision's ResNets); by default
        the last ``nn.Linear`` in ``model.named_modules()``.

    Returns
    -------
    torch.nn.Linear
        The new layer: same ``in_features``, same use of a bias, freshly initialised (as
        ``nn.Linear`` initialises), on the device and with the dtype of the old one.

    Examples
    --------
    >>> net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 10))
    >>> replace_head(net, 5)
    Linear(in_features=3, out_features=5, bias=True)
    >>> net(torch.zeros(2, 4)).shape
    torch.Size([2, 5])
    """
    _check_module("model", model)
    num_classes = check_int("num_classes", num_classes, minimum=1)
    if layer is None:
        linears = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
        if not linears:
            raise ValueError("model has no nn.Linear layer to replace; pass layer=")
        layer = linears[-1]
    old = _submodule(model, layer)
    if not isinstance(old, nn.Linear):
        raise ValueError(f"layer {layer!r} must be an nn.Linear, got {type(old).__name__}")
    new = nn.Linear(old.in_features, num_classes, bias=old.bias is not None,
                    device=old.weight.device, dtype=old.weight.dtype)
    parent_name, _, child = layer.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, new)  # also replaces an entry of an nn.Sequential
    return new


@torch.no_grad()
def extract_features(
    model: nn.Module, x: torch.Tensor, layer: str, batch_size: int = 256
) -> torch.Tensor:
    """What layer ``layer`` of ``model`` computes for inputs ``x``, one flat row per input.

    The model runs in eval mode (dropout off, batch norm with its running statistics) and
    without gradients, in batches of ``batch_size`` on the model's device; a forward hook
    records the layer's output. The model's training mode is restored afterwards. These are
    the "CNN features" of Razavian et al. 2014, read here from any layer, so that features
    of different depths can be compared (Yosinski et al. 2014).

    Parameters
    ----------
    model:
        The network.
    x:
        Inputs ``(N, ...)``, as the model takes them.
    layer:
        Name of the submodule whose output is wanted, as in ``model.named_modules()``.
    batch_size:
        Inputs per forward pass.

    Returns
    -------
    torch.Tensor
        ``(N, D)`` on the CPU: the layer's output for each input, flattened.
    """
    _check_module("model", model)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor of shape (N, ...), got {type(x).__name__}")
    if x.ndim < 1 or len(x) == 0:
        raise ValueError(f"x must hold at least one input along dim 0, got shape {tuple(x.shape)}")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    target = _submodule(model, layer)
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    captured: list[torch.Tensor] = []

    def hook(module, inputs, output):
        if not isinstance(output, torch.Tensor):
            raise TypeError(f"layer {layer!r} must output a tensor, got {type(output).__name__}")
        # a copy: the network may change its output in place later (a ResNet adds the
        # shortcut to the output of bn2 with +=)
        captured.append(output.flatten(1).to("cpu", copy=True))  # (B, D)

    was_training = model.training
    handle = target.register_forward_hook(hook)
    try:
        model.eval()
        for start in range(0, len(x), batch_size):
            before = len(captured)
            model(x[start:start + batch_size].to(device))
            if len(captured) != before + 1:
                raise ValueError(f"layer {layer!r} must run once per forward pass, it ran "
                                 f"{len(captured) - before} times")
    finally:
        handle.remove()
        model.train(was_training)
    return torch.cat(captured)  # (N, D)
