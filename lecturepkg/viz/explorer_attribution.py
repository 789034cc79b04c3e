"""An interactive explorer of heat maps (ipywidgets): image x method x class.

Sliders choose a test image and the class to explain, a toggle the attribution method
(those of :mod:`lecturepkg.interpret`: saliency, SmoothGrad, integrated gradients,
occlusion, CAM, Grad-CAM, LIME), and the output-position sliders a pixel whose value the
figure reports. The figure shows the image (with the object's outline when masks are
given), the map with the pixel marked, and the map laid over the image; the line above it
gives the true and predicted classes and the probability of the explained one.

As in :mod:`lecturepkg.viz.explorer`, the drawing is the plain function
:func:`attribution_explorer_figure` (headless, testable) and :func:`attribution_explorer`
only wires widgets to it, or, in the static book (:func:`lecturepkg.output.static_output`),
shows the figure of its initial setting without any widget.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure
from torch import nn

from lecturepkg._checks import check_int
from lecturepkg.interpret import (
    cam, grad_cam, heatmap, integrated_gradients, lime_image, occlusion, saliency,
    smoothgrad, superpixels,
)
from lecturepkg.output import static_output
from lecturepkg.viz._explorer_base import Frame, LiveExplorer, StaticExplorer
from lecturepkg.viz.grids import NotebookFigure

__all__ = ["attribution_methods", "attribution_explorer_figure", "attribution_explorer",
           "AttributionExplorer"]


def attribution_methods(layer: str = "features") -> dict[str, Callable]:
    """The chapter's seven methods as ``explain(model, inputs, target) -> (N, H, W)`` maps.

    Saliency and SmoothGrad reduced by the maximum absolute value over the channels,
    integrated gradients (32 steps) by the signed sum, occlusion with a grey (0.5) 8 x 8
    patch every 4 pixels, CAM and Grad-CAM of the submodule named ``layer``, LIME with 300
    samples on about 25 SLIC superpixels hidden in grey (seed 0): the settings of the
    chapter's evaluation page.
    """
    if not isinstance(layer, str):
        raise TypeError(f"layer must be the name of a submodule, got {layer!r}")

    def lime(m, inputs, target):
        maps = []
        for image, t in zip(inputs, target.tolist()):
            segments = superpixels(image.detach().cpu(), "slic", n_segments=25,
                                   compactness=10)
            result = lime_image(m, image, t, segments=segments, n_samples=300, seed=0,
                                hide_color=0.5, progress_bar=False)
            maps.append(result.map.to(inputs.device, inputs.dtype))
        return torch.stack(maps)

    return {
        "saliency": lambda m, i, t: heatmap(saliency(m, i, t)),
        "SmoothGrad": lambda m, i, t: heatmap(smoothgrad(m, i, t, nt_samples=25, seed=0)),
        "integrated gradients": lambda m, i, t: heatmap(
            integrated_gradients(m, i, t, n_steps=32), reduce="sum"),
        "occlusion": lambda m, i, t: occlusion(m, i, t, (i.shape[1], 8, 8),
                                               (i.shape[1], 4, 4), baselines=0.5,
                                               perturbations_per_eval=64)[:, 0],
        "CAM": lambda m, i, t: cam(m, i, t, m.get_submodule(layer)),
        "Grad-CAM": lambda m, i, t: grad_cam(m, i, t, m.get_submodule(layer)),
        "LIME": lime,
    }


def _check_args(model, images, masks, class_names, methods):
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        raise ValueError(f"images must be a tensor (N, C, H, W), got "
                         f"{getattr(images, 'shape', type(images).__name__)}")
    if images.shape[1] not in (1, 3):
        raise ValueError(f"images must have 1 or 3 channels, got {images.shape[1]}")
    if images.shape[2] != images.shape[3]:
        raise ValueError(f"images must be square, got {tuple(images.shape[2:])}")
    if masks is not None:
        if not isinstance(masks, torch.Tensor) or masks.shape != (len(images), 1,
                                                                   *images.shape[2:]):
            raise ValueError(f"masks must be a tensor of shape "
                             f"{(len(images), 1, *images.shape[2:])}, got "
                             f"{getattr(masks, 'shape', type(masks).__name__)}")
    if methods is None:
        methods = attribution_methods()
    if not isinstance(methods, dict) or not methods or not all(
            isinstance(k, str) and callable(v) for k, v in methods.items()):
        raise TypeError("methods must be a non-empty dict of name -> explain(model, inputs, "
                        "target)")
    device = next(model.parameters()).device
    with torch.no_grad():
        probabilities = model(images.to(device)).softmax(dim=1).cpu()  # (N, K)
    if class_names is None:
        class_names = tuple(str(k) for k in range(probabilities.shape[1]))
    if (not isinstance(class_names, (tuple, list))
            or len(class_names) != probabilities.shape[1]):
        raise ValueError(f"class_names must name the model's {probabilities.shape[1]} "
                         f"classes, got {class_names!r}")
    return methods, probabilities, tuple(class_names), device


def _check_choice(image, method, target, n, methods, num_classes):
    image = check_int("image", image, minimum=0)
    if image >= n:
        raise ValueError(f"image must be between 0 and {n - 1}, got {image}")
    if method not in methods:
        raise ValueError(f"method must be one of {tuple(methods)}, got {method!r}")
    if target is not None:
        target = check_int("target", target, minimum=0)
        if target >= num_classes:
            raise ValueError(f"target must be between 0 and {num_classes - 1}, got {target}")
    return image, method, target


def _map(model, images, device, methods, image, method, target) -> torch.Tensor:
    x = images[image:image + 1].to(device)
    result = methods[method](model, x, torch.tensor([target], device=device))
    return result.detach().float().cpu()[0]  # (H, W)


def _message(probabilities, class_names, labels, image, target) -> str:
    p = probabilities[image]
    predicted = int(p.argmax())
    truth = f"true {class_names[int(labels[image])]}, " if labels is not None else ""
    return (f"image {image}: {truth}predicted {class_names[predicted]} "
            f"({p[predicted]:.0%}); explaining {class_names[target]} ({p[target]:.0%})")


def _draw(images, masks, heat, title, pixel) -> Figure:
    row, col = pixel
    fig = NotebookFigure(figsize=(7.5, 2.7), layout="constrained")
    axes = fig.subplots(1, 3)
    picture = images.permute(1, 2, 0).clamp(0, 1).numpy()
    if picture.shape[2] == 1:
        picture = picture[..., 0]
    axes[0].imshow(picture, cmap="gray" if picture.ndim == 2 else None)
    axes[0].set_title("image", fontsize=9)
    shown = axes[1].imshow(heat.numpy(), cmap="magma")
    axes[1].plot(col, row, "c+", markersize=10, markeredgewidth=2, gid="pixel")
    axes[1].set_title(f"map; pixel ({row}, {col}) = {heat[row, col]:.3g}", fontsize=9)
    fig.colorbar(shown, ax=axes[1], shrink=0.8)
    low, high = heat.min(), heat.max()
    scaled = ((heat - low) / (high - low) if high > low else torch.zeros_like(heat)).numpy()
    axes[2].imshow(picture, cmap="gray" if picture.ndim == 2 else None)
    axes[2].imshow(scaled, cmap="magma", alpha=0.6)
    axes[2].set_title("map over the image", fontsize=9)
    for ax in axes:
        if masks is not None:
            ax.contour(masks[0].numpy(), levels=[0.5], colors="white", linewidths=1.0)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=9)
    return fig


def attribution_explorer_figure(
    model: nn.Module,
    images: torch.Tensor,
    image: int = 0,
    method: str = "Grad-CAM",
    target: int | None = None,
    *,
    masks: torch.Tensor | None = None,
    labels: torch.Tensor | None = None,
    class_names: Any = None,
    methods: dict | None = None,
    pixel: tuple[int, int] = (0, 0),
) -> Figure:
    """The explorer's picture: image ``image`` of ``images``, explained by ``method``.

    ``target`` is the class to explain (default: the predicted one); ``masks``
    ``(N, 1, H, W)`` outline the objects; ``methods`` maps names to
    ``explain(model, inputs, target) -> (N, H, W)`` (default :func:`attribution_methods`);
    ``pixel`` ``(row, col)`` is marked on the map and its value shown. Returns a
    :class:`~lecturepkg.viz.grids.NotebookFigure` with three ``Axes``; its suptitle is the
    line the explorer prints.
    """
    methods, probabilities, class_names, device = _check_args(model, images, masks,
                                                             class_names, methods)
    image, method, target = _check_choice(image, method, target, len(images), methods,
                                          len(class_names))
    if target is None:
        target = int(probabilities[image].argmax())
    size = images.shape[-1]
    if (not isinstance(pixel, tuple) or len(pixel) != 2
            or not all(0 <= check_int("pixel", p) < size for p in pixel)):
        raise ValueError(f"pixel must be a (row, col) pair within 0..{size - 1}, got {pixel!r}")
    heat = _map(model, images, device, methods, image, method, target)
    title = _message(probabilities, class_names, labels, image, target) + f"; {method}"
    return _draw(images[image].detach().cpu(),
                 None if masks is None else masks[image].cpu(), heat, title, pixel)


def _frame(context: dict, settings: dict) -> Frame:
    image, target, method = settings["image"], settings["target"], settings["method"]
    key = (image, target, method)
    cache = context["cache"]
    if key not in cache:  # a map is computed once per image, class and method
        cache[key] = _map(context["model"], context["images"], context["device"],
                          context["methods"], image, method, target)
    title = _message(context["probabilities"], context["class_names"], context["labels"],
                     image, target) + f"; {method}"
    masks = context["masks"]
    draw = partial(_draw, context["images"][image].detach().cpu(),
                   None if masks is None else masks[image].cpu(), cache[key], title)
    return Frame(title, context["images"].shape[-1], draw)


class AttributionExplorer(LiveExplorer):
    """Sliders (image, class, pixel), a method toggle and a drawing area; build it with
    :func:`attribution_explorer`.

    Attributes
    ----------
    sliders:
        ``dict`` name -> ``ipywidgets.IntSlider``: ``image``, ``target``, ``output_row``
        and ``output_col`` (the pixel whose value is shown).
    method:
        ``ipywidgets.ToggleButtons`` with the methods' names.
    output:
        The ``ipywidgets.Output`` the figure is displayed in.
    figure:
        The last ``Figure`` drawn.
    message:
        The last line printed under the widgets.
    """

    def __init__(self, context: dict, image: int, target: int, method: str):
        width = "70px"
        self.method = widgets.ToggleButtons(options=list(context["methods"]), value=method,
                                            description="method",
                                            style={"description_width": width})
        ranges = {"image": (0, len(context["images"]) - 1),
                  "target": (0, len(context["class_names"]) - 1)}
        super().__init__(ranges, {"image": image, "target": target},
                         partial(_frame, context), extra={"method": self.method},
                         description_width=width)


def attribution_explorer(
    model: nn.Module,
    images: torch.Tensor,
    *,
    masks: torch.Tensor | None = None,
    labels: torch.Tensor | None = None,
    class_names: Any = None,
    methods: dict | None = None,
    image: int = 0,
    method: str = "Grad-CAM",
    target: int | None = None,
) -> AttributionExplorer | StaticExplorer:
    """Build the interactive heat-map explorer (display it as a cell's last expression).

    ``model`` (in evaluation mode) classifies ``images`` ``(N, C, H, W)`` (square);
    ``masks`` ``(N, 1, H, W)`` and ``labels`` ``(N,)`` are optional; ``class_names`` name
    the classes; ``methods`` defaults to :func:`attribution_methods`. ``image``, ``method``
    and ``target`` (default: the predicted class) are the initial setting.

    In the static book (:func:`lecturepkg.output.static_output`) it returns a
    ``StaticExplorer`` instead: the figure of the
    initial setting, and no widgets.
    """
    methods, probabilities, class_names, device = _check_args(model, images, masks,
                                                             class_names, methods)
    image, method, target = _check_choice(image, method, target, len(images), methods,
                                          len(class_names))
    if target is None:
        target = int(probabilities[image].argmax())
    if labels is not None and (not isinstance(labels, torch.Tensor)
                               or labels.shape != (len(images),)):
        raise ValueError(f"labels must be a tensor of shape ({len(images)},)")
    context = dict(model=model, images=images, masks=masks, labels=labels,
                   class_names=class_names, methods=methods, probabilities=probabilities,
                   device=device, cache={})
    if static_output():
        return StaticExplorer(_frame(context, {"image": image, "target": target,
                                               "method": method}))
    return AttributionExplorer(context, image, target, method)
