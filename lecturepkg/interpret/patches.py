"""The input patches that excite one channel of a layer most (Zeiler & Fergus 2014).

Zeiler & Fergus, *Visualizing and understanding convolutional networks* (ECCV 2014), Sec.
4 and Fig. 2, show for a feature map the nine image patches, from a whole dataset, where it
responds most strongly. A unit at row ``i``, column ``j`` of a layer's map depends only on
the input pixels of its receptive field, so the patch of that unit is the crop of the
image under its field. :func:`top_activating_patches` runs the images through the model,
keeps the ``k`` largest values of the channel and crops their fields, computed from the
layers' kernels, strides, dilations and paddings with
:func:`lecturepkg.conv.receptive_field` (Araujo et al. 2019).

The field is found from the convolution and pooling layers that ran before the layer's
output, in the order they ran. That is right for a chain of layers (LeNet, VGG, the
course's GAP networks); a network with branches (inception modules, residual blocks) has
several paths of different fields: give ``field`` yourself there, the largest one.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from lecturepkg.conv.receptive_fields import ReceptiveField, receptive_field
from lecturepkg.interpret._args import (
    check_bool,
    check_inputs,
    check_int,
    check_model,
    check_real,
)

__all__ = ["TopPatches", "top_activating_patches", "layer_receptive_field"]

# layers after which a unit sees the whole input (or that the recurrences do not describe)
_NO_FIELD = (nn.Linear, nn.Flatten, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d,
             nn.modules.conv._ConvTransposeNd)


@dataclass(frozen=True)
class TopPatches:
    """The ``k`` units of one channel with the largest values, and their input patches.

    ``scores`` ``(k,)``: the channel's values, largest first (ties: lower image index, then
    row, then column first); ``image_indices`` ``(k,)``: which image of ``images``;
    ``positions`` ``(k, 2)``: ``(row, column)`` of the unit in the layer's map; ``boxes``
    ``(k, 4)``: ``(top, left, bottom, right)`` of its receptive field in input pixels,
    bottom and right excluded, so ``images[n, :, top:bottom, left:right]`` when the field
    lies inside the image (it can reach into the padding, below 0 or past the edge);
    ``patches`` ``(k, C, field height, field width)``: the crops, with ``fill`` where the
    field leaves the image; ``field``: the layer's :class:`~lecturepkg.conv.ReceptiveField`.
    """

    scores: torch.Tensor
    image_indices: torch.Tensor
    positions: torch.Tensor
    boxes: torch.Tensor
    patches: torch.Tensor
    field: ReceptiveField


def _find_layer(model: nn.Module, layer: Any) -> nn.Module:
    if isinstance(layer, str):
        try:
            return model.get_submodule(layer)
        except AttributeError as err:
            raise ValueError(f"layer {layer!r} is not the name of a submodule of model") from err
    if not isinstance(layer, nn.Module):
        raise TypeError(
            f"layer must be a submodule of model or its name (str), got {type(layer).__name__}"
        )
    if not any(m is layer for m in model.modules()):
        raise ValueError("layer must be a submodule of model (one of model.modules())")
    return layer


class _LayerDone(Exception):
    """Raised by the hook once the layer has run (the rest of the model is not needed)."""


def _run_to_layer(model: nn.Module, layer: nn.Module, images: torch.Tensor) -> tuple:
    """The layer's output ``(N, C_l, h, w)`` and the modules that finished before it.

    The model runs up to the end of ``layer`` only: its forward hook stops the pass.
    """
    finished: list[nn.Module] = []
    captured: list[Any] = []

    def record(module, args, output):
        finished.append(module)  # forward hooks fire when a module is done
        if module is layer:
            captured.append(output)
            raise _LayerDone  # stop: no later in-place ReLU can change the output either

    handles = [m.register_forward_hook(record) for m in model.modules()]
    try:
        model(images)
    except _LayerDone:
        pass
    finally:
        for handle in handles:
            handle.remove()
    if not captured:
        raise ValueError("layer did not run when model was called on images")
    return captured[0], finished


def layer_receptive_field(model: nn.Module, layer: Any, images: torch.Tensor) -> ReceptiveField:
    """The receptive field of ``layer``'s units, from the layers that run before its output.

    Runs ``model`` on ``images`` (one image is enough) and hands the convolution and pooling
    layers that finished before ``layer`` (``layer`` included), in that order, to
    :func:`lecturepkg.conv.receptive_field`. Exact for a chain of layers; see the module's
    notes for networks with branches. Raises a ``ValueError`` if a fully connected,
    flattening, adaptive pooling or transposed convolution layer ran before: the field is
    then the whole image, or not what the recurrences describe.

    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    ...                     nn.Conv2d(4, 8, 3))
    >>> layer_receptive_field(net, net[3], torch.zeros(1, 1, 16, 16))
    ReceptiveField(size=(8, 8), jump=(2, 2), start=(-1, -1))
    """
    check_model(model)
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    layer = _find_layer(model, layer)
    check_inputs(images, model, name="images")
    with torch.no_grad():
        _, finished = _run_to_layer(model, layer, images[:1])
    return _field_of(finished)


def _field_of(finished: list[nn.Module]) -> ReceptiveField:
    blocking = [type(m).__name__ for m in finished if isinstance(m, _NO_FIELD)]
    if blocking:
        raise ValueError(
            f"a {blocking[0]} layer runs before the layer's output: its units see the whole "
            "image (or a field the recurrences do not describe); choose an earlier layer"
        )
    kernels = [m for m in finished if hasattr(m, "kernel_size")]  # conv and pooling
    if not kernels:  # the input itself, or only point-wise layers: one pixel
        return ReceptiveField(size=(1, 1), jump=(1, 1), start=(0, 0))
    field = receptive_field(kernels)[-1]
    return ReceptiveField(*(_pair(v) for v in (field.size, field.jump, field.start)))


def _pair(value: Any) -> tuple[int, int]:
    """The ``(rows, columns)`` pair of a field value (an int, from square settings, is both)."""
    if isinstance(value, numbers.Integral):
        return (int(value), int(value))
    if len(value) != 2:
        raise ValueError(f"the layers before layer must be 2D, got a field of {len(value)} axes")
    return (int(value[0]), int(value[1]))


def _check_field(field: Any) -> ReceptiveField:
    if not isinstance(field, ReceptiveField):
        raise TypeError(
            f"field must be a lecturepkg.conv.ReceptiveField or None, got {type(field).__name__}"
        )
    size, jump, start = (_pair(v) for v in (field.size, field.jump, field.start))
    if min(size) < 1 or min(jump) < 1:
        raise ValueError(f"field.size and field.jump must be >= 1, got {size} and {jump}")
    return ReceptiveField(size, jump, start)


def top_activating_patches(
    model: nn.Module,
    layer: Any,
    channel: int,
    images: torch.Tensor,
    k: int = 9,
    one_per_image: bool = True,
    batch_size: int = 256,
    field: ReceptiveField | None = None,
    fill: float = 0.0,
) -> TopPatches:
    """The ``k`` input patches where one channel of a layer responds most.

    Zeiler & Fergus (2014), Fig. 2: for a channel of a layer, the image patches, across a
    dataset, with the largest activations, each cropped to the receptive field of its unit.

    Parameters
    ----------
    model : torch.nn.Module
        The network; call ``model.eval()`` first (it runs under ``torch.no_grad()``).
    layer : torch.nn.Module or str
        A submodule of ``model`` (or its name, as in ``model.named_modules()``) whose output
        is a map ``(N, C_l, h, w)``, for example a convolution, a ReLU or a block.
    channel : int
        Which of the ``C_l`` channels.
    images : torch.Tensor
        ``(N, C, H, W)``, the candidates, run through ``model`` in batches of
        ``batch_size``.
    k : int
        How many patches.
    one_per_image : bool
        True (default): at most one patch per image, its best unit, as in Zeiler & Fergus's
        figures; False: the ``k`` best units wherever they are (neighbouring units of one
        image then often give nearly the same patch).
    batch_size : int
        Images per forward pass.
    field : lecturepkg.conv.ReceptiveField or None
        The receptive field of the layer's units; None computes it with
        :func:`layer_receptive_field` (chains of layers only).
    fill : float
        The value of the patches where the field leaves the image.

    Returns
    -------
    TopPatches
        The scores, images, positions, boxes and crops, largest score first.
    """
    check_model(model)
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    layer = _find_layer(model, layer)
    check_inputs(images, model, name="images")
    channel = check_int("channel", channel, minimum=0)
    k = check_int("k", k, minimum=1)
    check_bool("one_per_image", one_per_image)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    fill = check_real("fill", fill)
    if one_per_image and k > images.shape[0]:  # known before running the model
        raise ValueError(f"k must be <= {images.shape[0]}, the number of images, got {k}")

    maps, finished = [], None
    with torch.no_grad():
        for first in range(0, images.shape[0], batch_size):
            output, ran = _run_to_layer(model, layer, images[first : first + batch_size])
            if not isinstance(output, torch.Tensor) or output.ndim != 4:
                shape = tuple(output.shape) if isinstance(output, torch.Tensor) else output
                raise ValueError(
                    f"layer must output feature maps (N, C_l, h, w), got {shape!r}"
                )
            if channel >= output.shape[1]:
                raise ValueError(
                    f"channel must be < {output.shape[1]}, the layer's channels, got {channel}"
                )
            maps.append(output[:, channel].detach())  # (B, h, w)
            finished = finished or ran
    maps = torch.cat(maps)  # (N, h, w)
    field = _field_of(finished) if field is None else _check_field(field)

    n, h, w = maps.shape
    flat = maps.reshape(n, h * w)  # (N, h * w), position p = row * w + column
    if one_per_image:
        best, where = flat.max(dim=1)  # each image's best unit (the first among equals)
        order = torch.sort(best, descending=True, stable=True).indices  # ties: lower image
        candidates = n
    else:
        order = torch.sort(flat.reshape(-1), descending=True, stable=True).indices
        candidates = n * h * w
    if k > candidates:
        raise ValueError(
            f"k must be <= {candidates}, the number of "
            f"{'images' if one_per_image else 'units (images x positions)'}, got {k}"
        )
    order = order[:k]
    if one_per_image:
        image_indices, position = order, where[order]
        scores = best[order]
    else:
        image_indices, position = order // (h * w), order % (h * w)
        scores = flat.reshape(-1)[order]
    positions = torch.stack([position // w, position % w], dim=1)  # (k, 2)

    boxes = []
    for row, col in positions.tolist():  # the unit's field, first and last pixel included
        (top, left), (last_row, last_col) = field.span((row, col))
        boxes.append((top, left, last_row + 1, last_col + 1))
    boxes = torch.tensor(boxes, dtype=torch.int64).reshape(k, 4)  # (k, 4)
    rows, cols = field.size
    patches = torch.full((k, images.shape[1], rows, cols), fill, dtype=images.dtype,
                         device=images.device)  # (k, C, rows, cols)
    height, width = images.shape[2:]
    for patch, i, (top, left, bottom, right) in zip(patches, image_indices.tolist(),
                                                    boxes.tolist()):
        t, lft = max(top, 0), max(left, 0)  # the part of the field inside the image
        b, r = min(bottom, height), min(right, width)
        if t < b and lft < r:
            patch[:, t - top : b - top, lft - left : r - left] = images[i, :, t:b, lft:r]
    return TopPatches(scores.clone(), image_indices.clone(), positions, boxes, patches, field)
