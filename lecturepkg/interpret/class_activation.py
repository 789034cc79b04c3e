"""Class activation maps, CAM (Zhou et al. 2016) and Grad-CAM (Selvaraju et al. 2017).

A network that ends with global average pooling (GAP) and one linear layer computes the
score of class ``j`` as ``y_j = sum_k w_jk * mean(f_k) + b_j``, where ``f_1, ..., f_K`` are
the last convolutional feature maps. Moving the mean outside the sum gives a map whose mean
is the score (minus the bias)::

    CAM_j = sum_k w_jk * f_k                  (h, w): where the evidence for class j is

Zhou et al. (2016, Sec. 2) compute it; the lecture notes number the steps: run the image
forward and keep the feature maps ``f_k`` of the last convolution, take the weights
``w_j1, ..., w_jK`` of the linear layer after the GAP for class ``j``, sum the maps
weighted by them, normalise the result into ``[0, 1]`` and upsample it (bilinearly) to the
input's size. :func:`cam` is these steps.

Grad-CAM (Selvaraju et al. 2017, Sec. 3) drops the need for a GAP head: for *any*
convolutional layer with maps ``A_k``, weigh each map by the spatial mean of the gradient of
the class score with respect to it, sum, and keep the positive part::

    alpha_jk = mean_(u, v) d y_j / d A_k[u, v]
    GradCAM_j = ReLU(sum_k alpha_jk * A_k)

For a GAP + linear head and the last feature maps, ``d y_j / d f_k[u, v] = w_jk / (h w)``,
so ``alpha_jk = w_jk / (h w)``: without the ReLU, Grad-CAM *is* CAM divided by ``h * w``
(tests/test_interpret_cam.py checks this identity on random networks).

Normalisation, and how the results compare with the libraries:

* :func:`cam` min-max normalises each image's map into ``[0, 1]`` *before* upsampling (the
  lecture notes' step 6, then step 7, as in Zhou et al.'s code); ``normalize=False`` keeps
  the raw ``sum_k w_jk f_k``, whose spatial mean plus the bias is the class score.
* :func:`grad_cam` does not normalise by default: with ``upsample=False`` it equals captum's
  ``LayerGradCam(model, layer).attribute(inputs, target, relu_attributions=True)`` (captum's
  default is ``relu_attributions=False``) with the channel dimension squeezed, and with
  ``upsample=True`` captum's ``LayerAttribution.interpolate(..., interpolate_mode=
  "bilinear")``. pytorch-grad-cam's ``GradCAM`` returns the ReLU'd map min-max normalised
  per image (with ``1e-7`` added to the divisor), resized with OpenCV's bilinear
  ``cv2.resize`` and normalised once more: that is ``normalize_map(grad_cam(...))`` of the
  upsampled map, up to float32 rounding and that ``1e-7``.

Both functions upsample with ``F.interpolate(mode="bilinear", align_corners=False)``:
pixel centres aligned, the convention of captum, OpenCV and Zhou et al.'s code.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from lecturepkg.interpret._args import (
    check_bool,
    check_inputs,
    check_model,
    check_target,
    select_target,
)
from lecturepkg.interpret.maps import normalize_map

__all__ = ["cam", "grad_cam"]


def cam(
    model: nn.Module,
    inputs: torch.Tensor,
    target: int | torch.Tensor,
    layer: nn.Module,
    fc: nn.Linear | None = None,
    upsample: bool = True,
    normalize: bool = True,
) -> torch.Tensor:
    """The class activation map of Zhou et al. (2016) of a GAP network, per image.

    Parameters
    ----------
    model : torch.nn.Module
        A network whose ``layer`` output is globally average pooled and fed to ``fc``, which
        gives the class scores ``(N, num_classes)``. Call ``model.eval()`` first.
    inputs : torch.Tensor
        Images ``(N, C, H, W)`` of the model's dtype and device.
    target : int or torch.Tensor
        The class to explain: one int for every image, or a ``(N,)`` tensor of classes.
    layer : torch.nn.Module
        The module of ``model`` whose output is the last feature maps ``(N, K, h, w)``.
    fc : torch.nn.Linear, optional
        The linear layer after the pooling (``K`` inputs). By default the last
        ``nn.Linear`` among ``model.modules()`` (``model.head.fc`` of a ``GapNet``,
        ``model.fc`` of a ResNet).
    upsample : bool
        Resize the maps bilinearly to the input's ``(H, W)`` (step 7); ``False`` keeps the
        layer's ``(h, w)``.
    normalize : bool
        Min-max normalise each image's map into ``[0, 1]`` before upsampling (step 6).
        ``False`` returns ``sum_k w_jk f_k`` as it is.

    Returns
    -------
    torch.Tensor
        ``(N, H, W)`` (or ``(N, h, w)`` with ``upsample=False``), detached.

    >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
    ...                     nn.Flatten(), nn.Linear(4, 2)).eval()
    >>> x = torch.rand(2, 3, 9, 9)
    >>> cam(net, x, 1, layer=net[1]).shape  # upsampled to the input's 9 x 9
    torch.Size([2, 9, 9])
    >>> raw = cam(net, x, 1, layer=net[1], upsample=False, normalize=False)  # (2, 7, 7)
    >>> torch.allclose(raw.mean(dim=(1, 2)) + net[4].bias[1], net(x)[:, 1], atol=1e-6)
    True

    Raises
    ------
    ValueError
        If the model's scores are not ``mean(CAM) + bias``: ``layer`` is then not the
        input of a GAP + ``fc`` head (another layer, or something between the two);
        :func:`grad_cam` works for any layer.
    """
    model = check_model(model)
    inputs = check_inputs(inputs, model)
    target = check_target(target, inputs.shape[0], inputs.device)
    _check_layer(model, layer, "layer", nn.Module)
    fc = _last_linear(model) if fc is None else _check_layer(model, fc, "fc", nn.Linear)
    check_bool("upsample", upsample)
    check_bool("normalize", normalize)

    with torch.no_grad():
        # steps 2-3: a forward pass; keep the last feature maps f_1, ..., f_K
        outputs, features = _run_keeping(model, inputs, layer)  # (N, classes), (N, K, h, w)
        scores = select_target(outputs, target)  # (N,): checks target < num_classes
        if features.shape[1] != fc.in_features:
            raise ValueError(
                f"layer's output has {features.shape[1]} channels but fc takes "
                f"{fc.in_features} inputs: layer must be the one whose maps are pooled "
                "into fc"
            )
        weights = fc.weight[target]  # step 4: (N, K), w_j1 ... w_jK of each image's class
        maps = torch.einsum("nk,nkhw->nhw", weights, features)  # step 5: (N, h, w)
        bias = fc.bias[target] if fc.bias is not None else torch.zeros_like(scores)
        _check_gap_head(maps.mean(dim=(1, 2)) + bias, scores)
    if normalize:
        maps = normalize_map(maps, method="minmax")  # step 6: each map into [0, 1]
    if upsample:
        maps = _upsample(maps, inputs.shape[-2:])  # step 7: (N, H, W)
    return maps


def grad_cam(
    model: nn.Module,
    inputs: torch.Tensor,
    target: int | torch.Tensor,
    layer: nn.Module,
    relu_attributions: bool = True,
    upsample: bool = True,
    normalize: bool = False,
) -> torch.Tensor:
    """Grad-CAM (Selvaraju et al. 2017), feature maps weighted by their mean gradient.

    Parameters
    ----------
    model : torch.nn.Module
        Any network returning class scores ``(N, num_classes)``. Call ``model.eval()``
        first.
    inputs : torch.Tensor
        Images ``(N, C, H, W)`` of the model's dtype and device.
    target : int or torch.Tensor
        The class to explain: one int for every image, or a ``(N,)`` tensor of classes.
    layer : torch.nn.Module
        Any module of ``model`` whose output is feature maps ``(N, K, h, w)``; the module's
        output is taken before any in-place operation that follows it (such as
        ``ReLU(inplace=True)``).
    relu_attributions : bool
        Keep only the positive part, as in the paper (captum's argument; captum's default
        is ``False``).
    upsample : bool
        Resize the maps bilinearly to the input's ``(H, W)``; ``False`` keeps ``(h, w)``.
    normalize : bool
        Min-max normalise each image's map into ``[0, 1]`` before upsampling, as
        :func:`cam` does; the default returns the raw map, as captum does.

    Returns
    -------
    torch.Tensor
        ``(N, H, W)`` (or ``(N, h, w)`` with ``upsample=False``), detached.

    >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3),
    ...                     nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2)).eval()
    >>> grad_cam(net, torch.rand(2, 3, 9, 9), torch.tensor([0, 1]), layer=net[0]).shape
    torch.Size([2, 9, 9])
    """
    model = check_model(model)
    inputs = check_inputs(inputs, model)
    target = check_target(target, inputs.shape[0], inputs.device)
    _check_layer(model, layer, "layer", nn.Module)
    check_bool("relu_attributions", relu_attributions)
    check_bool("upsample", upsample)
    check_bool("normalize", normalize)

    with torch.enable_grad():
        # the input needs a gradient so that the layer's output has one even when the
        # model's parameters are frozen
        x = inputs.detach().requires_grad_(True)  # (N, C, H, W)
        outputs, maps_k = _run_keeping(model, x, layer)  # (N, classes), (N, K, h, w)
        scores = select_target(outputs, target)  # (N,): y_j of each image
        # images do not interact (eval mode), so the gradient of the sum is each image's
        (gradients,) = torch.autograd.grad(scores.sum(), maps_k)  # (N, K, h, w)
    alpha = gradients.mean(dim=(2, 3))  # (N, K): channel weights alpha_jk
    maps = torch.einsum("nk,nkhw->nhw", alpha, maps_k.detach())  # (N, h, w)
    if relu_attributions:
        maps = F.relu(maps)
    if normalize:
        maps = normalize_map(maps, method="minmax")
    if upsample:
        maps = _upsample(maps, inputs.shape[-2:])  # (N, H, W)
    return maps


def _check_layer(model: nn.Module, module: Any, name: str, kind: type) -> Any:
    """Check that ``module`` is a ``kind`` and one of ``model``'s submodules."""
    if not isinstance(module, kind):
        raise TypeError(
            f"{name} must be a torch.nn.{kind.__name__} of the model (for example "
            f"model.features or model.head.fc), got {type(module).__name__}"
        )
    if not isinstance(model, nn.Module) or not any(m is module for m in model.modules()):
        raise ValueError(f"{name} must be a submodule of model, got a module outside it")
    return module


def _last_linear(model: nn.Module) -> nn.Linear:
    """The last ``nn.Linear`` in ``model.modules()``, the classifier of a GAP network."""
    if not isinstance(model, nn.Module):
        raise TypeError("fc must be given when model is not a torch.nn.Module")
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError("model has no nn.Linear layer: pass the classifier as fc")
    return linears[-1]


def _run_keeping(
    model: nn.Module, inputs: torch.Tensor, layer: nn.Module
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``model`` and return its output and ``layer``'s output ``(N, K, h, w)``."""
    kept: list[torch.Tensor] = []

    def keep(module: nn.Module, args: Any, output: Any) -> Any:
        kept.append(output)
        # hand a copy downstream: an in-place op after the layer cannot change the maps
        return output.clone() if isinstance(output, torch.Tensor) else output

    handle = layer.register_forward_hook(keep)
    try:
        outputs = model(inputs)
    finally:
        handle.remove()
    if len(kept) != 1:
        raise ValueError(
            "layer must run exactly once in model's forward pass, it ran "
            f"{len(kept)} times"
        )
    maps = kept[0]
    if not isinstance(maps, torch.Tensor) or maps.ndim != 4:
        shape = tuple(maps.shape) if isinstance(maps, torch.Tensor) else type(maps).__name__
        raise ValueError(f"layer must output feature maps (N, K, h, w), got {shape}")
    if maps.shape[0] != inputs.shape[0]:
        raise ValueError(
            f"layer's output has {maps.shape[0]} rows for {inputs.shape[0]} images"
        )
    return outputs, maps


def _check_gap_head(pooled_scores: torch.Tensor, scores: torch.Tensor) -> None:
    """Raise unless ``mean(CAM) + bias`` is the class score (the head is GAP + ``fc``)."""
    # a guard against the wrong layer, not a test of accuracy: loose enough for float16
    # and TF32 matrix products
    tolerance = max(torch.finfo(scores.dtype).eps ** 0.5, 1e-3)
    scale = 1.0 + float(scores.abs().max())
    error = float((pooled_scores - scores).abs().max())
    if error > tolerance * scale:
        raise ValueError(
            "the model's class scores are not the spatial mean of the class activation map "
            f"plus fc's bias (largest difference {error:.3g}): layer's output must be "
            "globally average pooled and fed straight into fc (use grad_cam for any layer)"
        )


def _upsample(maps: torch.Tensor, size: torch.Size) -> torch.Tensor:
    """Bilinear resize ``(N, h, w)`` -> ``(N, H, W)``, pixel centres aligned."""
    resized = F.interpolate(
        maps[:, None], size=tuple(size), mode="bilinear", align_corners=False
    )  # (N, 1, H, W)
    return resized[:, 0]  # (N, H, W)
