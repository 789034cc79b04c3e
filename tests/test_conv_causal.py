"""Tests of lecturepkg.conv.causal against torch (left F.pad + F.conv1d, autograd, float64)
and the lecture notes' worked examples."""

from __future__ import annotations


import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import seeded_rng, t
from lecturepkg.conv.causal import causal_conv1d, causal_padding

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PROPERTY = settings(max_examples=50, deadline=None)
TOL = dict(rtol=1e-10, atol=1e-10)


@st.composite
def causal_cases(draw):
    c_in, c_out = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    k, d = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    length = draw(st.integers(1, 12))
    lead = draw(st.sampled_from([(), (1,), (2,)]))
    rng = seeded_rng(draw)
    x = rng.standard_normal((*lead, c_in, length))
    w = rng.standard_normal((c_out, c_in, k))
    b = rng.standard_normal(c_out) if draw(st.booleans()) else None
    return x, w, b, d


@PROPERTY
@given(causal_cases())
def test_causal_conv1d_is_left_padding_then_torch_conv1d(case):
    x, w, b, d = case
    left = (w.shape[-1] - 1) * d
    expected = F.conv1d(F.pad(t(x), (left, 0)), t(w), t(b), dilation=d).numpy()
    out = causal_conv1d(x, w, b, dilation=d)
    assert out.shape == x.shape[:-2] + (w.shape[0], x.shape[-1])  # as long as the input
    np.testing.assert_allclose(out, expected, **TOL)


@PROPERTY
@given(causal_cases())
def test_output_t_depends_only_on_inputs_up_to_t(case):
    """Perturb one input time step: no earlier output may change."""
    x, w, b, d = case
    base = causal_conv1d(x, w, b, dilation=d)
    for t0 in range(x.shape[-1]):
        bumped = x.copy()
        bumped[..., t0] += 1.0
        diff = causal_conv1d(bumped, w, b, dilation=d) - base
        np.testing.assert_array_equal(diff[..., :t0], 0.0)


@PROPERTY
@given(causal_cases())
def test_jacobian_matches_autograd_and_is_causal(case):
    """The map x -> causal_conv1d(x, w) is linear, so its Jacobian is read off the outputs
    for unit impulses; it must equal torch autograd's Jacobian of F.pad + F.conv1d, be zero
    above the diagonal (t' > t) and, with positive weights, be nonzero exactly at the taps
    t' = t - j*d for j < k."""
    x, w, _, d = case
    w = np.abs(w) + 0.5  # positive weights: no accidental zeros in the Jacobian
    (c_in, length), (c_out, _, k) = x.shape[-2:], w.shape
    impulses = np.eye(c_in * length).reshape(c_in * length, c_in, length)  # batch of e_(c, t')
    ours = causal_conv1d(impulses, w, dilation=d)  # (c_in * length, c_out, length)
    ours = ours.reshape(c_in, length, c_out, length).transpose(2, 3, 0, 1)  # (o, t, c, t')

    def torch_causal(xt):
        return F.conv1d(F.pad(xt, ((k - 1) * d, 0)), t(w), dilation=d)

    expected = torch.autograd.functional.jacobian(torch_causal, t(np.zeros((c_in, length))))
    np.testing.assert_allclose(ours, expected.numpy(), **TOL)
    seen = np.abs(ours).sum(axis=(0, 2)) > 0  # (t, t'): does output t see input t'?
    taps = np.zeros((length, length), dtype=bool)
    for time in range(length):
        taps[time, [time - j * d for j in range(k) if time - j * d >= 0]] = True
    np.testing.assert_array_equal(seen, taps)
    assert not np.triu(seen, 1).any()  # nothing from the future


def test_seed_toy_example_10_20_30_with_kernel_1_2():
    x, w = np.array([[[10.0, 20.0, 30.0]]]), np.array([[[1.0, 2.0]]])
    out = causal_conv1d(x, w)
    np.testing.assert_array_equal(out, [[[20.0, 50.0, 80.0]]])  # 1*0+2*10, 1*10+2*20, ...
    # the same numbers from torch, with the zero padded at the start
    np.testing.assert_array_equal(out, F.conv1d(F.pad(t(x), (1, 0)), t(w)).numpy())
    # without padding the first output is missing
    np.testing.assert_array_equal(F.conv1d(t(x), t(w)).numpy(), [[[50.0, 80.0]]])


def _impulse_reach(dilations, length=40, t0=5):
    """How far a stack of causal layers (kernel 2, positive weights) carries an impulse."""
    x = np.zeros((1, 1, length))
    x[..., t0] = 1.0
    for d in dilations:
        x = causal_conv1d(x, np.array([[[0.5, 1.0]]]), dilation=d)
    reached = np.nonzero(x[0, 0])[0]
    return reached.min() - t0, reached.max() - t0


def test_seed_memory_of_stacked_causal_layers():
    # the notes: 4 causal layers with kernel 2 look 4 steps back; with dilations 1, 2, 4, 8
    # they look 15 steps back. An impulse at t0 reaches outputs t0 ... t0 + memory.
    assert _impulse_reach([1, 1, 1, 1]) == (0, 4)
    assert _impulse_reach([1, 2, 4, 8]) == (0, 15)


def test_causal_padding_values():
    assert causal_padding(1) == 0
    assert causal_padding(2) == 1
    assert causal_padding(3, dilation=4) == 8
    assert causal_padding(kernel_size=5, dilation=2) == 8


# ---------------------------------------------------------------------------------------
# Bad input: error type and the argument's name in the message
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error,name,changes",
    [
        (TypeError, "input", dict(input=[[1.0, 2.0]])),
        (TypeError, "input", dict(input=torch.ones(1, 2, 5))),
        (ValueError, "input", dict(input=np.ones(5))),
        (ValueError, "input", dict(input=np.ones((1, 1, 2, 5)))),
        (TypeError, "weight", dict(weight=[[[1.0]]])),
        (ValueError, "weight", dict(weight=np.ones((1, 2)))),
        (ValueError, "weight", dict(weight=np.ones((1, 3, 2)))),  # channels do not match
        (ValueError, "dilation", dict(dilation=0)),
        (TypeError, "dilation", dict(dilation=1.5)),
        (ValueError, "bias", dict(bias=np.ones(2))),
    ],
)
def test_causal_conv1d_bad_input(error, name, changes):
    args = dict(input=np.ones((1, 2, 5)), weight=np.ones((1, 2, 2)))
    args.update(changes)
    with pytest.raises(error, match=name):
        causal_conv1d(**args)


@pytest.mark.parametrize(
    "error,name,kwargs",
    [
        (ValueError, "kernel_size", dict(kernel_size=0)),
        (TypeError, "kernel_size", dict(kernel_size=(2,))),
        (ValueError, "dilation", dict(kernel_size=2, dilation=0)),
        (TypeError, "dilation", dict(kernel_size=2, dilation=None)),
    ],
)
def test_causal_padding_bad_input(error, name, kwargs):
    with pytest.raises(error, match=name):
        causal_padding(**kwargs)
