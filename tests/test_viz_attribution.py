"""The heat-map explorer: its figure shows the map of the chosen method and class (compared
with the methods called directly), its widgets follow their sliders and toggle, the static
book gets the initial figure without any widget, and bad settings are refused by name."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from lecturepkg.interpret import cam, grad_cam, heatmap, saliency  # noqa: E402
from lecturepkg.models import GapNet  # noqa: E402
from lecturepkg.output import STATIC_ENV  # noqa: E402
from lecturepkg.viz.explorer_attribution import (  # noqa: E402
    AttributionExplorer,
    StaticExplorer,
    attribution_explorer,
    attribution_explorer_figure,
    attribution_methods,
)

NAMES = ("disk", "square", "triangle")


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    model = GapNet(3, num_classes=3, width=2).eval()
    images = torch.rand(4, 3, 16, 16)
    masks = torch.zeros(4, 1, 16, 16)
    masks[:, :, 4:9, 5:11] = 1
    return model, images, masks


def _shown_map(fig):
    return np.asarray(fig.axes[1].images[0].get_array())


def test_methods_are_the_seven_of_the_chapter(setup):
    model, images, _ = setup
    methods = attribution_methods()
    assert list(methods) == ["saliency", "SmoothGrad", "integrated gradients", "occlusion",
                             "CAM", "Grad-CAM", "LIME"]
    target = torch.tensor([1, 2])
    for name, explain in methods.items():
        maps = explain(model, images[:2], target)
        assert maps.shape == (2, 16, 16), name
    torch.testing.assert_close(methods["CAM"](model, images[:2], target),
                               cam(model, images[:2], target, model.features))


@pytest.mark.parametrize("method, reference", [
    ("Grad-CAM", lambda m, x, t: grad_cam(m, x, t, m.features)),
    ("CAM", lambda m, x, t: cam(m, x, t, m.features)),
    ("saliency", lambda m, x, t: heatmap(saliency(m, x, t))),
])
def test_figure_shows_the_map_of_the_method_and_class(setup, method, reference):
    model, images, masks = setup
    fig = attribution_explorer_figure(model, images, image=2, method=method, target=1,
                                      masks=masks, class_names=NAMES, pixel=(3, 7))
    assert isinstance(fig, Figure) and len(fig.axes) == 4  # three panels and a colour bar
    expected = reference(model, images[2:3], 1)[0].detach().numpy()
    np.testing.assert_allclose(_shown_map(fig), expected, rtol=1e-5, atol=1e-6)
    assert "explaining square" in fig.get_suptitle() and method in fig.get_suptitle()
    (marker,) = [line for line in fig.axes[1].lines if line.get_gid() == "pixel"]
    assert marker.get_xdata()[0] == 7 and marker.get_ydata()[0] == 3
    assert f"{expected[3, 7]:.3g}" in fig.axes[1].get_title()
    assert len(fig.axes[0].collections) > 0  # the mask's outline


def test_default_target_is_the_predicted_class(setup):
    model, images, _ = setup
    with torch.no_grad():
        predicted = int(model(images[1:2]).argmax())
    fig = attribution_explorer_figure(model, images, image=1, method="CAM",
                                      class_names=NAMES)
    assert f"explaining {NAMES[predicted]}" in fig.get_suptitle()


def test_live_explorer_follows_its_widgets(setup, capsys, monkeypatch):
    import ipywidgets

    monkeypatch.delenv(STATIC_ENV, raising=False)
    model, images, masks = setup
    labels = torch.tensor([0, 1, 2, 0])
    w = attribution_explorer(model, images, masks=masks, labels=labels, class_names=NAMES,
                             method="CAM", target=0)
    assert isinstance(w, AttributionExplorer) and isinstance(w, ipywidgets.Widget)
    assert (w.sliders["image"].min, w.sliders["image"].max) == (0, 3)
    assert (w.sliders["target"].min, w.sliders["target"].max) == (0, 2)
    assert w.sliders["output_row"].max == 15
    assert w.message.startswith("image 0: true disk") and w.message.endswith("CAM")
    w.method.value = "Grad-CAM"
    np.testing.assert_allclose(_shown_map(w.figure),
                               grad_cam(model, images[:1], 0, model.features)[0].numpy(),
                               rtol=1e-5, atol=1e-6)
    w.sliders["target"].value = 2
    w.sliders["image"].value = 3
    assert w.message.startswith("image 3: true disk") and "explaining triangle" in w.message
    np.testing.assert_allclose(_shown_map(w.figure),
                               grad_cam(model, images[3:4], 2, model.features)[0].numpy(),
                               rtol=1e-5, atol=1e-6)
    w.sliders["output_row"].value = 5
    assert "pixel (5, 0)" in w.figure.axes[1].get_title()
    capsys.readouterr()


def test_static_explorer_is_the_initial_figure_without_widgets(setup, static, widgets_made):
    model, images, masks = setup
    shown = attribution_explorer(model, images, masks=masks, class_names=NAMES,
                                 method="Grad-CAM", image=1, target=2)
    assert widgets_made == []
    assert isinstance(shown, StaticExplorer)
    expected = attribution_explorer_figure(model, images, image=1, method="Grad-CAM",
                                           target=2, masks=masks, class_names=NAMES)
    assert shown.message == expected.get_suptitle()
    np.testing.assert_allclose(_shown_map(shown.figure), _shown_map(expected))
    bundle = shown._repr_mimebundle_()
    assert bundle["image/png"].startswith(b"\x89PNG")


@pytest.mark.parametrize("mode", ["live", "static"])
def test_bad_settings_are_refused(setup, mode, request, capsys):
    request.getfixturevalue(mode)
    model, images, masks = setup
    with pytest.raises(ValueError, match="image must be between 0 and 3"):
        attribution_explorer(model, images, image=4)
    with pytest.raises(ValueError, match="method must be one of"):
        attribution_explorer(model, images, method="GradCAM")
    with pytest.raises(ValueError, match="target must be between 0 and 2"):
        attribution_explorer(model, images, target=3)
    with pytest.raises(ValueError, match="masks must be a tensor of shape"):
        attribution_explorer(model, images, masks=masks[:, 0])
    with pytest.raises(ValueError, match="class_names must name the model's 3 classes"):
        attribution_explorer(model, images, class_names=("a", "b"))
    with pytest.raises(ValueError, match="images must be square"):
        attribution_explorer(model, images[..., :12])
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        attribution_explorer("model", images)
    with pytest.raises(ValueError, match="pixel must be a"):
        attribution_explorer_figure(model, images, pixel=(16, 0))
    capsys.readouterr()
