"""lecturepkg.interpret's occlusion against captum, a plain loop, and its cost in passes.

Oracles:

* captum's ``Occlusion`` with the same ``sliding_window_shapes``, ``strides``,
  ``baselines``, ``target`` and ``perturbations_per_eval``. It runs the model in float64
  and adds up the score drops in float64, but returns float32 (``format_result`` in
  captum/attr/_core/feature_ablation.py divides ``total.float()`` by the window counts), so
  the comparison with it is to float32 accuracy (:func:`close_to_captum`);
* a plain loop written here from the description of Zeiler & Fergus (2014): for every
  window position (the last one cut off at the border), copy the image, cover the window,
  run the model, add the score's drop to the covered values, count the windows per value,
  divide;
* a linear model, where the drop for a window is the sum of ``w * (x - baseline)`` under
  it;
* the number of forward passes: counted by a wrapper around the model (captum's and
  ours), and the positions per axis enumerated one by one.

Networks: random (with batch norm in eval mode and max pooling) and briefly trained on
scikit-learn's digits; batches of several images, int and tensor targets.
"""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

captum_attr = pytest.importorskip("captum.attr")

from helpers import train_on_digits  # noqa: E402
from lecturepkg.interpret import (  # noqa: E402
    occlusion,
    occlusion_forward_passes,
    occlusion_window_counts,
)

DTYPE = torch.float64
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def convnet(in_channels: int = 3, classes: int = 5) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, 6, 3, padding=1),
        nn.BatchNorm2d(6),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 8, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, classes),
    )


def random_net(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    net = convnet().to(DTYPE)
    with torch.no_grad():
        for conv in (net[0], net[4]):
            nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
        net[1].weight.uniform_(0.5, 1.5)
        net[1].bias.normal_()
        net[1].running_mean.normal_(0, 0.3)
        net[1].running_var.uniform_(0.5, 2.0)
        net[-1].weight.mul_(3.0)
    return net.eval()


@pytest.fixture(scope="module")
def trained():
    """A convnet trained for 150 steps on digits (8 x 8, grey); 3 test images, labels."""
    torch.manual_seed(0)
    net = convnet(in_channels=1, classes=10).to(DTYPE)
    net, accuracy, x, y = train_on_digits(net, steps=150, lr=0.02, dtype=DTYPE)
    assert accuracy > 0.5, accuracy  # it learned something: chance is 0.1
    return net, x[:3], y[:3]


def close_to_captum(got: torch.Tensor, expected: torch.Tensor) -> None:
    """Ours (float64) against captum's float32 result: a few float32 roundings apart."""
    assert got.dtype == DTYPE and expected.dtype == torch.float32
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected.double(), rtol=5e-7, atol=1e-9)


def loop_oracle(model, x, target, window, strides, baseline):
    """Occlusion written out one window and one image at a time."""
    n, shape = x.shape[0], x.shape[1:]
    starts = []
    for size, k, s in zip(shape, window, strides):
        axis, start = [], 0
        while True:  # slide until the window reaches the far border
            axis.append(start)
            if start + k >= size:
                break
            start += s
        starts.append(axis)
    result = torch.zeros_like(x)
    with torch.no_grad():
        for i in range(n):
            t = target if isinstance(target, int) else int(target[i])
            score = model(x[i : i + 1])[0, t]
            total = torch.zeros(shape, dtype=x.dtype)
            count = torch.zeros(shape, dtype=x.dtype)
            for corner in itertools.product(*starts):
                region = tuple(slice(c, c + k) for c, k in zip(corner, window))
                covered = x[i].clone()
                b = baseline  # a number, or the row of image i (or the only row)
                if not isinstance(b, float):
                    b = baseline[min(i, len(baseline) - 1)]
                covered[region] = b if isinstance(b, float) else b[region]
                drop = score - model(covered[None])[0, t]
                total[region] += drop
                count[region] += 1
            result[i] = total / count
    return result


CASES = [  # (input (C, H, W), window, strides)
    ((3, 10, 9), (3, 4, 4), (3, 2, 2)),  # the usual: all channels, stride half the window
    ((3, 10, 9), (3, 4, 3), (3, 4, 3)),  # non-overlapping, last windows cut off (10 = 4+4+2)
    ((3, 10, 9), (1, 3, 3), (1, 2, 1)),  # one channel at a time
    ((3, 10, 9), (3, 10, 2), 1),  # full-height stripes, one int stride for all axes
]


@pytest.mark.parametrize("baseline_kind", ["zero", "number", "batch", "one"])
@pytest.mark.parametrize("target_kind", ["int", "tensor"])
@pytest.mark.parametrize("shape, window, strides", CASES)
def test_occlusion_equals_captum_and_the_loop(shape, window, strides, target_kind, baseline_kind):
    net = random_net(1)
    torch.manual_seed(2)
    x = torch.rand(2, *shape, dtype=DTYPE)
    target = 3 if target_kind == "int" else torch.tensor([4, 0])
    baselines = {
        "zero": 0.0,
        "number": 0.5,
        "batch": torch.rand(2, *shape, dtype=DTYPE),
        "one": torch.rand(1, *shape, dtype=DTYPE),
    }[baseline_kind]
    expected = captum_attr.Occlusion(net).attribute(
        x.clone(), sliding_window_shapes=window, strides=strides, baselines=baselines,
        target=target,
    )
    got = occlusion(net, x, target, window, strides=strides, baselines=baselines)
    close_to_captum(got, expected)
    assert expected.abs().max() > 1e-3  # covering the image does change the score
    steps = (strides,) * 3 if isinstance(strides, int) else strides
    oracle = loop_oracle(net, x, target, window, steps, baselines)
    torch.testing.assert_close(got, oracle, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("window, strides", [((1, 3, 3), (1, 1, 1)), ((1, 4, 4), (1, 2, 2))])
def test_occlusion_of_a_trained_net_equals_captum(trained, window, strides):
    net, x, labels = trained
    expected = captum_attr.Occlusion(net).attribute(
        x.clone(), sliding_window_shapes=window, strides=strides, baselines=0.0, target=labels
    )
    got = occlusion(net, x, labels, window, strides=strides)
    close_to_captum(got, expected)
    oracle = loop_oracle(net, x, labels, window, strides, 0.0)
    torch.testing.assert_close(got, oracle, rtol=1e-10, atol=1e-12)
    assert expected.abs().max() > 1e-2


@pytest.mark.parametrize("per_eval", [1, 3, 7, 1000])
def test_perturbations_per_eval_changes_nothing(per_eval):
    net = random_net(3)
    x = torch.rand(3, 3, 8, 8, dtype=DTYPE)
    target = torch.tensor([1, 2, 3])
    expected = captum_attr.Occlusion(net).attribute(
        x.clone(), sliding_window_shapes=(3, 3, 3), strides=(3, 2, 2), target=target,
        perturbations_per_eval=per_eval,
    )
    got = occlusion(net, x, target, (3, 3, 3), strides=(3, 2, 2),
                    perturbations_per_eval=per_eval)
    close_to_captum(got, expected)
    one_at_a_time = occlusion(net, x, target, (3, 3, 3), strides=(3, 2, 2))
    torch.testing.assert_close(got, one_at_a_time, rtol=1e-12, atol=1e-14)


def test_occlusion_of_a_linear_model():
    """Non-overlapping windows: each value gets the sum of w * (x - b) over its window."""
    torch.manual_seed(4)
    linear = nn.Linear(2 * 6 * 4, 3).to(DTYPE)
    model = nn.Sequential(nn.Flatten(), linear)
    x = torch.randn(2, 2, 6, 4, dtype=DTYPE)
    target = torch.tensor([2, 0])
    contribution = linear.weight.detach()[target].reshape(2, 2, 6, 4) * (x - 0.25)
    expected = torch.zeros_like(x)
    for r in range(0, 6, 3):
        for c in range(0, 4, 2):
            block = contribution[:, :, r : r + 3, c : c + 2].sum(dim=(1, 2, 3))  # (N,)
            expected[:, :, r : r + 3, c : c + 2] = block[:, None, None, None]
    got = occlusion(model, x, target, (2, 3, 2), strides=(2, 3, 2), baselines=0.25)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


class Counting(nn.Module):
    """Wraps a model and counts its calls and the images it saw."""

    def __init__(self, model):
        super().__init__()
        self.model, self.calls, self.images = model, 0, 0

    def forward(self, x):
        self.calls += 1
        self.images += x.shape[0]
        return self.model(x)


@pytest.mark.parametrize("shape, window, strides", CASES)
def test_forward_passes_are_counted_right(shape, window, strides):
    x = torch.rand(2, *shape, dtype=DTYPE)
    ours, theirs = Counting(random_net(5)), Counting(random_net(5))
    occlusion(ours, x, 1, window, strides=strides)
    captum_attr.Occlusion(theirs).attribute(x, sliding_window_shapes=window, strides=strides,
                                            target=1)
    passes = occlusion_forward_passes(shape, window, strides)
    assert ours.calls == theirs.calls == passes
    assert ours.images == 2 * passes
    batched = Counting(random_net(5))
    occlusion(batched, x, 1, window, strides=strides, perturbations_per_eval=4)
    assert batched.calls == 1 + -(-(passes - 1) // 4)  # the windows in batches of 4
    assert batched.images == 2 * passes


def test_window_counts_against_enumeration():
    """Every input size, window and stride up to 9: count the window positions one by one."""
    for size, k, s in itertools.product(range(1, 10), repeat=3):
        if k > size or (k < size and s > k):
            with pytest.raises(ValueError):
                occlusion_window_counts((size,), (k,), (s,))
            continue
        positions, start = 1, 0
        while start + k < size:
            start += s
            positions += 1
        assert occlusion_window_counts((size,), (k,), (s,)) == (positions,), (size, k, s)


def test_forward_passes_of_zeiler_and_fergus_sized_input():
    """224 x 224 colour input, 16 x 16 grey square moved 8 pixels: 27 x 27 positions."""
    assert occlusion_window_counts((3, 224, 224), (3, 16, 16), (3, 8, 8)) == (1, 27, 27)
    assert occlusion_forward_passes((3, 224, 224), (3, 16, 16), (3, 8, 8)) == 1 + 27 * 27
    assert occlusion_forward_passes((3, 224, 224), (3, 16, 16), 1) == 1 + 1 * 209 * 209


def test_occlusion_leaves_inputs_alone_and_needs_no_gradient():
    net = random_net(6)
    x = torch.rand(2, 3, 8, 8, dtype=DTYPE)
    before = x.clone()
    with torch.no_grad():  # only forward passes
        got = occlusion(net, x, 0, (3, 2, 2), strides=2)
    assert torch.equal(x, before) and not got.requires_grad


def test_show_progress(capsys, static):
    net = random_net(7)
    occlusion(net, torch.rand(1, 3, 6, 6, dtype=DTYPE), 0, (3, 2, 2), strides=2,
              show_progress=True)
    out = capsys.readouterr().out
    assert "occlusion" in out and "10/10" in out  # 1 + 3 x 3 passes


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(sliding_window_shapes=(4, 4)), ValueError, r"tuple of 3 ints"),
        (dict(sliding_window_shapes=4), ValueError, r"tuple of 3 ints"),
        (dict(sliding_window_shapes=(3, 9, 2)), ValueError, "larger than the input"),
        (dict(sliding_window_shapes=(3, 0, 2)), ValueError,
         r"sliding_window_shapes\[1\] must be >= 1"),
        (dict(strides=(3, 3, 1)), ValueError, r"strides\[1\] = 3 is larger than the window"),
        (dict(strides=(1, 2)), ValueError, "strides must be a tuple of 3 ints"),
        (dict(strides=0), ValueError, r"strides\[0\] must be >= 1"),
        (dict(baselines=torch.zeros(3, 8, 8, dtype=DTYPE)), ValueError, "baselines must be"),
        (dict(baselines=None, target=1.5), TypeError, "target must be an int"),
        (dict(target=torch.tensor([1, 2, 3])), ValueError, r"shape \(2,\)"),
        (dict(target=9), ValueError, "target must be < num_classes = 5"),
        (dict(perturbations_per_eval=0), ValueError, "perturbations_per_eval must be >= 1"),
        (dict(show_progress="yes"), TypeError, "show_progress must be True or False"),
        (dict(inputs=torch.rand(3, 8, 8, dtype=DTYPE)), ValueError, r"\(N, C, H, W\)"),
        (dict(inputs=torch.rand(2, 3, 8, 8)), TypeError, "dtype torch.float32 but the model"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, error, match):
    args = dict(model=random_net(8), inputs=torch.rand(2, 3, 8, 8, dtype=DTYPE), target=0,
                sliding_window_shapes=(3, 2, 2), strides=(3, 2, 2), baselines=0.0) | kwargs
    with pytest.raises(error, match=match):
        occlusion(**args)


def test_forward_passes_bad_shapes():
    with pytest.raises(ValueError, match="input_shape must be the shape"):
        occlusion_forward_passes(8, (3, 2, 2))
    with pytest.raises(ValueError, match="tuple of 3 ints"):
        occlusion_forward_passes((3, 8, 8), (2, 2))
