"""Tests of the generated datasets: lecturepkg.data.volumes and lecturepkg.data.sequences.

Oracles: the analytic volumes of a ball, a cube, a cylinder and a spherical shell (the
occupancy of a voxelised shape sums to its volume); the distribution of pure noise in the
corners of the grid, which no shape reaches; the definition of the memory task read off
the one-hot input.
"""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from lecturepkg.data.sequences import make_memory_task
from lecturepkg.data.volumes import VOLUME_CLASSES, make_volumes, shape_volume

FAST = settings(max_examples=30, deadline=None)


def ball(r):
    return 4 / 3 * math.pi * r**3


def analytic_volume(label, radius, extra):
    if label == 0:
        return ball(radius)
    if label == 1:
        return (2 * radius) ** 3
    if label == 2:
        return math.pi * radius**2 * 2 * extra
    return ball(radius + extra) - ball(radius - extra)


# ---------------------------------------------------------------- volumes: geometry


@FAST
@given(
    label=st.integers(0, 3),
    radius=st.floats(3.0, 6.0),
    rot_seed=st.integers(0, 10_000),
    offset=st.tuples(*[st.floats(-1.5, 1.5)] * 3),
)
def test_shape_volume_matches_analytic_volume(label, radius, rot_seed, offset):
    extra = {2: 1.5 * radius, 3: 1.0}.get(label)
    if label == 2:
        radius = radius * 0.7
        extra = 1.5 * radius
    rotation = Rotation.random(random_state=rot_seed).as_matrix()
    vol = shape_volume(label, 24, radius, offset, rotation, extra)
    assert vol.shape == (24, 24, 24)
    assert vol.min() >= 0.0 and vol.max() <= 1.0
    expected = analytic_volume(label, radius, extra if extra is not None else 0.0)
    assert vol.sum() == pytest.approx(expected, rel=0.06)


def test_shape_volume_centre_and_defaults():
    solid, hollow = shape_volume(0, 17, 5.0), shape_volume(3, 17, 5.0)
    assert solid[8, 8, 8] == 1.0 and hollow[8, 8, 8] == 0.0  # the shell is hollow
    assert hollow[8, 8, 8 + 5] == 1.0  # its wall at the radius
    # the default cylinder is 3 radii long along the first axis
    cyl = shape_volume(2, 21, 3.0)
    assert cyl[10 + 4, 10, 10] == 1.0 and cyl[10 + 6, 10, 10] == 0.0
    assert cyl[10, 10 + 4, 10] == 0.0


def test_shape_volume_bad_input():
    with pytest.raises(ValueError, match="label"):
        shape_volume(4)
    with pytest.raises(ValueError, match="radius"):
        shape_volume(0, radius=0.0)
    with pytest.raises(ValueError, match="center"):
        shape_volume(0, center=(0, 0))
    with pytest.raises(ValueError, match="rotation"):
        shape_volume(0, rotation=np.eye(2))
    with pytest.raises(ValueError, match="size"):
        shape_volume(0, size=2)


# ---------------------------------------------------------------- volumes: the dataset


def test_make_volumes_shapes_dtypes_balance_determinism():
    x, y = make_volumes(40, size=16, seed=3)
    assert x.shape == (40, 1, 16, 16, 16) and x.dtype == torch.float32
    assert y.shape == (40,) and y.dtype == torch.int64
    assert torch.bincount(y, minlength=4).tolist() == [10, 10, 10, 10]
    x2, y2 = make_volumes(40, size=16, seed=3)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    x3, _ = make_volumes(40, size=16, seed=4)
    assert not torch.equal(x, x3)
    x5, y5 = make_volumes(9, size=20, num_classes=3)
    assert x5.shape == (9, 1, 20, 20, 20) and set(y5.tolist()) == {0, 1, 2}
    assert len(VOLUME_CLASSES) == 4


def test_make_volumes_noise_level_in_the_empty_corners():
    # No shape reaches the 3x3x3 corner blocks: there the voxels are pure N(0, noise^2).
    x, _ = make_volumes(200, size=16, seed=0, noise=0.3)
    corners = torch.cat([x[:, 0, :3, :3, :3].flatten(), x[:, 0, -3:, -3:, -3:].flatten()])
    assert corners.mean().abs() < 0.02
    assert corners.std() == pytest.approx(0.3, rel=0.05)
    clean, _ = make_volumes(50, size=16, seed=0, noise=0.0)
    assert clean.min() >= 0 and clean.max() <= 1
    assert torch.all(clean[:, 0, :3, :3, :3] == 0)


def test_make_volumes_labels_match_the_shapes():
    # With the documented ranges of radius and thickness, every class's occupied volume lies
    # within analytic bounds, and shells are hollow: their centre of mass is empty.
    size = 16
    x, y = make_volumes(120, size=size, seed=1, noise=0.0)
    r_lo, r_hi = 0.22 * size, 0.34 * size
    bounds = {
        0: (ball(r_lo), ball(r_hi)),
        1: ((2 * 0.85 * r_lo) ** 3, (2 * 0.85 * r_hi) ** 3),
        3: (ball(r_lo + 0.75) - ball(r_lo - 0.75), ball(r_hi + 1.25) - ball(r_hi - 1.25)),
    }
    grid = torch.arange(size, dtype=torch.float32)
    for vol, label in zip(x[:, 0], y.tolist()):
        total = vol.sum().item()
        if label in bounds:
            lo, hi = bounds[label]
            assert lo * 0.93 <= total <= hi * 1.07, (label, total, lo, hi)
        com = [(vol.sum(dim=[a for a in range(3) if a != axis]) * grid).sum() / total
               for axis in range(3)]
        centre = vol[tuple(int(round(c.item())) for c in com)]
        if label == 3:
            assert centre == 0.0
        else:
            assert centre == 1.0


@pytest.mark.parametrize(
    "kwargs, name, error",
    [
        ({"n": 0}, "n", ValueError),
        ({"n": 2.5}, "n", TypeError),
        ({"size": 8}, "size", ValueError),
        ({"seed": -1}, "seed", ValueError),
        ({"noise": -0.1}, "noise", ValueError),
        ({"noise": "big"}, "noise", ValueError),
        ({"num_classes": 5}, "num_classes", ValueError),
        ({"num_classes": 1}, "num_classes", ValueError),
    ],
)
def test_make_volumes_bad_input(kwargs, name, error):
    args = {"n": 4, **kwargs}
    with pytest.raises(error, match=name):
        make_volumes(**args)


# ---------------------------------------------------------------- memory task


@FAST
@given(
    n=st.integers(1, 20),
    length=st.integers(1, 40),
    lag_frac=st.floats(0, 0.999),
    k=st.integers(2, 6),
    seed=st.integers(0, 100),
)
def test_memory_task_definition(n, length, lag_frac, k, seed):
    lag = int(lag_frac * length)
    x, y = make_memory_task(n, length, lag, seed=seed, num_symbols=k)
    assert x.shape == (n, k, length) and x.dtype == torch.float32
    assert y.shape == (n,) and y.dtype == torch.int64
    assert torch.all(x.sum(dim=1) == 1) and set(x.unique().tolist()) <= {0.0, 1.0}  # one-hot
    assert torch.equal(x[:, :, length - 1 - lag].argmax(dim=1), y)


def test_memory_task_statistics_and_determinism():
    x, y = make_memory_task(4000, 20, 9, seed=0)
    counts = torch.bincount(y, minlength=4).double() / 4000
    assert torch.allclose(counts, torch.full((4,), 0.25, dtype=torch.float64), atol=0.03)
    # the label is independent of the other positions: the last symbol predicts it at chance
    assert (x[:, :, -1].argmax(1) == y).double().mean() == pytest.approx(0.25, abs=0.03)
    x2, y2 = make_memory_task(4000, 20, 9, seed=0)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    assert not torch.equal(make_memory_task(50, 20, 9, seed=1)[0], x[:50])


@pytest.mark.parametrize(
    "kwargs, name, error",
    [
        ({"n": 0}, "n", ValueError),
        ({"length": 0}, "length", ValueError),
        ({"lag": 10}, "lag", ValueError),
        ({"lag": -1}, "lag", ValueError),
        ({"lag": 1.0}, "lag", TypeError),
        ({"seed": -2}, "seed", ValueError),
        ({"num_symbols": 1}, "num_symbols", ValueError),
    ],
)
def test_memory_task_bad_input(kwargs, name, error):
    args = {"n": 3, "length": 10, "lag": 4, **kwargs}
    with pytest.raises(error, match=name):
        make_memory_task(**args)
