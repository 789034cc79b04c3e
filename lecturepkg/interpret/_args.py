"""Argument checks shared by the modules of :mod:`lecturepkg.interpret`.

Every attribution method takes ``(model, inputs, target, ...)`` with captum's argument
names. The checks here give the messages a student sees when one of them is wrong, before
torch raises something cryptic from deep inside the model:

* :func:`check_model`: a callable (usually an ``nn.Module``); a module in training mode with
  batch norm or dropout gets a warning (its output for one image would depend on the
  others in the batch, or on chance);
* :func:`check_inputs`: a floating tensor ``(N, C, H, W)`` with the model's dtype and
  device;
* :func:`check_target` and :func:`select_target`: an int or a ``(N,)`` integer tensor of
  class indices, checked against the number of classes once the model has run;
* :func:`check_baselines`: ``None`` (zeros), a real number, or a tensor of shape
  ``(N, C, H, W)`` or ``(1, C, H, W)``: nothing else is broadcast;
* :func:`check_real`, :func:`check_bool`, :func:`check_choice`, :func:`check_int`
  (from :mod:`lecturepkg._checks`).
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from lecturepkg._checks import check_bool, check_int, check_real

__all__ = [
    "check_int",
    "check_real",
    "check_bool",
    "check_choice",
    "check_model",
    "check_inputs",
    "check_target",
    "select_target",
    "check_baselines",
    "model_parameters_like",
]

_STOCHASTIC = (nn.modules.batchnorm._BatchNorm, nn.modules.dropout._DropoutNd)


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of the strings ``choices``."""
    if not isinstance(value, str) or value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {options}; got {value!r}")
    return value


def check_model(model: Any, name: str = "model") -> Any:
    """Check that ``model`` can be called; warn if it is a module in training mode.

    Batch norm in training mode normalises with the statistics of the batch, so the
    attribution of one image would depend on the other images (and on the copies that
    SmoothGrad and integrated gradients put in the same batch); dropout makes every call
    different. The methods do not switch the mode themselves (captum does not either), so
    that the two stay interchangeable: call ``model.eval()`` first.
    """
    if not callable(model):
        raise TypeError(
            f"{name} must be a torch.nn.Module or a callable returning (N, num_classes) "
            f"scores, got {type(model).__name__}"
        )
    if isinstance(model, nn.Module) and model.training:
        if any(isinstance(m, _STOCHASTIC) for m in model.modules()):
            warnings.warn(
                f"{name} is in training mode and has batch norm or dropout layers: its "
                "output for one image depends on the rest of the batch or on chance; call "
                f"{name}.eval() before explaining it",
                UserWarning,
                stacklevel=3,
            )
    return model


def model_parameters_like(model: Any) -> torch.Tensor | None:
    """The first floating-point parameter or buffer of ``model`` (None if it has none)."""
    if not isinstance(model, nn.Module):
        return None
    for tensor in (*model.parameters(), *model.buffers()):
        if tensor.is_floating_point():
            return tensor
    return None


def check_inputs(inputs: Any, model: Any = None, name: str = "inputs") -> torch.Tensor:
    """Check that ``inputs`` is a floating tensor ``(N, C, H, W)`` that ``model`` can take.

    A module's floating parameters must have the dtype and device of ``inputs`` (torch would
    otherwise fail inside the first layer with a message about ``mat1`` and ``mat2``).
    """
    if not isinstance(inputs, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor of shape (N, C, H, W), got {type(inputs).__name__}"
        )
    if inputs.ndim != 4:
        raise ValueError(
            f"{name} must have shape (N, C, H, W) (a batch of images; use x[None] for one "
            f"image), got {tuple(inputs.shape)}"
        )
    if not inputs.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {inputs.dtype}")
    if inputs.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one image, got shape {tuple(inputs.shape)}")
    reference = model_parameters_like(model)
    if reference is not None:
        if reference.dtype != inputs.dtype:
            raise TypeError(
                f"{name} has dtype {inputs.dtype} but the model's parameters have dtype "
                f"{reference.dtype}; convert one of them (model.to(inputs.dtype) or "
                f"{name}.to(...))"
            )
        if reference.device != inputs.device:
            raise ValueError(
                f"{name} is on {inputs.device} but the model is on {reference.device}; "
                f"move one of them"
            )
    return inputs


def check_target(target: Any, n: int, device: torch.device | None = None) -> torch.Tensor:
    """Return ``target`` as a ``(n,)`` int64 tensor of class indices.

    ``target`` is an int (the same class for every image) or a ``(n,)`` tensor of integer
    dtype (one class per image). Lists, floats and tensors of another length are refused:
    captum accepts several more forms, the course only these two.
    """
    if isinstance(target, torch.Tensor):
        if target.is_floating_point() or target.is_complex() or target.dtype == torch.bool:
            raise TypeError(f"target must hold integer class indices, got dtype {target.dtype}")
        if target.ndim == 0:
            target = target.reshape(1).expand(n)
        elif target.shape != (n,):
            raise ValueError(
                f"target must be an int or a tensor of shape ({n},) (one class per image), "
                f"got shape {tuple(target.shape)}"
            )
        target = target.to(dtype=torch.int64, device=device)
    elif isinstance(target, numbers.Integral) and not isinstance(target, bool):
        target = torch.full((n,), int(target), dtype=torch.int64, device=device)
    else:
        raise TypeError(
            f"target must be an int or a ({n},) tensor of class indices, "
            f"got {type(target).__name__} {target!r}"
        )
    if (target < 0).any():
        raise ValueError(f"target must be >= 0, got {target.tolist()}")
    return target


def select_target(output: Any, target: torch.Tensor) -> torch.Tensor:
    """The score ``output[i, target[i]]`` of each image, ``(N, K)`` -> ``(N,)``."""
    if not isinstance(output, torch.Tensor) or output.ndim != 2:
        shape = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output)
        raise ValueError(
            f"the model must return scores of shape (N, num_classes), got {shape}"
        )
    if output.shape[0] != target.shape[0]:
        raise ValueError(
            f"the model returned {output.shape[0]} rows of scores for {target.shape[0]} images"
        )
    if int(target.max()) >= output.shape[1]:
        raise ValueError(
            f"target must be < num_classes = {output.shape[1]}, got {target.tolist()}"
        )
    rows = torch.arange(output.shape[0], device=output.device)
    return output[rows, target]  # (N,)


def check_baselines(baselines: Any, inputs: torch.Tensor, name: str = "baselines") -> torch.Tensor:
    """Return the reference input as a tensor of the shape of ``inputs``.

    ``None`` means zeros (captum's default), a real number fills every position, a tensor
    must have the shape ``(N, C, H, W)`` of ``inputs`` or ``(1, C, H, W)`` (one reference for
    all images).
    """
    if baselines is None:
        return torch.zeros_like(inputs)
    if isinstance(baselines, torch.Tensor):
        one = (1, *inputs.shape[1:])
        if tuple(baselines.shape) not in (tuple(inputs.shape), one):
            raise ValueError(
                f"{name} must be a number or a tensor of shape {tuple(inputs.shape)} or "
                f"{one}, got shape {tuple(baselines.shape)}"
            )
        if not baselines.is_floating_point():
            raise TypeError(f"{name} must be a floating-point tensor, got {baselines.dtype}")
        baselines = baselines.detach().to(device=inputs.device, dtype=inputs.dtype)
        return baselines.expand_as(inputs)
    value = check_real(name, baselines)
    return torch.full_like(inputs, value)
