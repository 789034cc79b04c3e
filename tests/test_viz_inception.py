"""Tests of lecturepkg.viz.inception_diagram: the diagram shows the module it is given.

The expected labels are built from the constructor's arguments, and the output depth from
a forward pass through the module, never from the drawing code.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from lecturepkg.blocks import Inception, NaiveInception  # noqa: E402
from lecturepkg.viz.inception_diagram import draw_inception, inception_branches  # noqa: E402

X = "\u00d7"

NAIVE = [(256, 128, 192, 96), (3, 1, 2, 5), (17, 9, 4, 11)]
REDUCED = [
    ((256, 128, 128, 192, 32, 96, 64), 5),  # GoogLeNet's inception (3b)
    ((192, 64, 96, 128, 16, 32, 32), 3),  # inception (3a), torchvision's 3x3 "5x5" branch
    ((5, 2, 3, 7, 4, 6, 1), 5),
]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _naive_labels(c_in, c1, c3, c5):
    return [[f"1{X}1 conv, {c1}"], [f"3{X}3 conv, {c3}"], [f"5{X}5 conv, {c5}"],
            [f"3{X}3 max pool"]]


def _reduced_labels(c_in, c1, c3r, c3, c5r, c5, proj, k):
    return [[f"1{X}1 conv, {c1}"],
            [f"1{X}1 conv, {c3r}", f"3{X}3 conv, {c3}"],
            [f"1{X}1 conv, {c5r}", f"{k}{X}{k} conv, {c5}"],
            [f"3{X}3 max pool", f"1{X}1 conv, {proj}"]]


def _modules_and_labels():
    for args in NAIVE:
        yield NaiveInception(*args), _naive_labels(*args), args[0]
    for args, k in REDUCED:
        for bn in (True, False):
            module = Inception(*args, branch3_kernel_size=k, batch_norm=bn)
            yield module, _reduced_labels(*args, k), args[0]


CASES = list(_modules_and_labels())


@pytest.mark.parametrize("module,labels,c_in", CASES)
def test_inception_branches_lists_each_branch_from_its_arguments(module, labels, c_in):
    assert inception_branches(module) == labels


@pytest.mark.parametrize("module,labels,c_in", CASES)
def test_draw_inception_draws_every_layer_and_the_real_depths(module, labels, c_in):
    with torch.no_grad():
        depth_out = module(torch.randn(1, c_in, 9, 9)).shape[1]  # the oracle: a forward pass
    fig, ax = plt.subplots()
    assert draw_inception(module, ax, title="t") is ax
    texts = [t.get_text() for t in ax.texts
             if not isinstance(t, matplotlib.text.Annotation)]  # the arrows are texts too
    assert f"input: {c_in} channels" in texts
    assert f"concatenate: {depth_out} channels" in texts
    drawn_layers = [t.replace("\n", " ") for t in texts if "channels" not in t]
    assert sorted(drawn_layers) == sorted(label for b in labels for label in b)
    boxes = [p for p in ax.patches if p.get_gid() == "layer"]
    n_layers = sum(len(b) for b in labels)
    assert len(boxes) == n_layers + 2  # plus the input and the concatenation
    arrows = [c for c in ax.get_children() if isinstance(c, matplotlib.text.Annotation)]
    assert len(arrows) == n_layers + len(labels)  # one into every layer, one per branch out
    assert ax.get_title() == "t"


def test_draw_inception_without_ax_makes_its_own_figure():
    ax = draw_inception(NaiveInception(8, 1, 2, 3))
    assert ax.figure.get_figwidth() <= 7.5


def test_bad_input_is_refused_with_a_clear_error():
    for fn in (inception_branches, draw_inception):
        with pytest.raises(TypeError, match="module must be"):
            fn(nn.Conv2d(3, 3, 1))
    module = NaiveInception(8, 1, 2, 3)
    with pytest.raises(TypeError, match="ax must be"):
        draw_inception(module, ax="axes")
    with pytest.raises(TypeError, match="title must be"):
        draw_inception(module, title=3)
