"""Tests of lecturepkg.conv.receptive_fields: the recurrences of Araujo et al. (2019) against
the gradient of real torch networks, and the lecture notes' examples."""

from __future__ import annotations


import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lecturepkg.conv.arithmetic import conv_output_size
from lecturepkg.conv.receptive_fields import (
    ReceptiveField,
    empirical_receptive_field,
    receptive_field,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def positive_stack(specs, dims: int, channels, relu: bool) -> nn.Sequential:
    """Convolutions with the given (k, s, d, p) and positive weights, zero biases."""
    conv = nn.Conv1d if dims == 1 else nn.Conv2d
    layers = []
    for (k, s, d, p), c_in, c_out in zip(specs, channels[:-1], channels[1:]):
        layer = conv(c_in, c_out, k, stride=s, dilation=d, padding=p).double()
        with torch.no_grad():
            layer.weight.uniform_(0.1, 1.0)
            layer.bias.zero_()
        layers += [layer, nn.ReLU()] if relu else [layer]
    return nn.Sequential(*layers)


def axis_tuple(value, dims):
    return (value,) * dims if isinstance(value, int) else tuple(value)


@st.composite
def stacks(draw):
    dims = draw(st.integers(1, 2))
    n_layers = draw(st.integers(1, 4 if dims == 1 else 3))
    specs = []
    for _ in range(n_layers):
        per_axis = [
            (draw(st.integers(1, 4)), draw(st.integers(1, 2 if dims == 2 else 3)),
             draw(st.integers(1, 3)), draw(st.integers(0, 2)))
            for _ in range(dims)
        ]
        k, s, d, p = zip(*per_axis)  # one tuple per setting, one entry per axis
        specs.append((k, s, d, p) if dims == 2 else (k[0], s[0], d[0], p[0]))
    channels = [draw(st.integers(1, 2)) for _ in range(n_layers + 1)]
    return dims, specs, channels, draw(st.booleans())


def unit_inside(fields: ReceptiveField, specs, dims):
    """Input size and an output unit whose receptive field lies inside the input."""
    size, jump, start = (axis_tuple(v, dims) for v in (fields.size, fields.jump, fields.start))
    unit = tuple(-(-max(0, -st_) // j) for st_, j in zip(start, jump))  # first unit >= 0
    need = tuple(st_ + u * j + r for st_, u, j, r in zip(start, unit, jump, size))
    length = list(need)
    while True:  # grow the input until the stack's output contains that unit
        out = tuple(length)
        try:
            for k, s, d, p in specs:
                out = conv_output_size(out, axis_tuple(k, dims), axis_tuple(s, dims),
                                       axis_tuple(p, dims), axis_tuple(d, dims))
        except ValueError:
            out = (0,) * dims
        if all(o > u for o, u in zip(out, unit)):
            return tuple(length), unit
        length = [n + 1 for n in length]


@settings(max_examples=40, deadline=None)
@given(stacks())
def test_recurrences_match_the_gradient_of_a_random_network(case):
    dims, specs, channels, relu = case
    model = positive_stack(specs, dims, channels, relu)
    fields = receptive_field(specs)
    # the torch layers themselves describe the same stack
    assert receptive_field([m for m in model if not isinstance(m, nn.ReLU)]) == fields
    last = fields[-1]
    input_size, unit = unit_inside(last, specs, dims)
    measured = empirical_receptive_field(model, (channels[0], *input_size), (0, *unit))
    assert measured.size == axis_tuple(last.size, dims)
    first, _ = last.span(unit[0] if dims == 1 else unit)
    assert measured.start == axis_tuple(first, dims)
    assert measured.gradient.shape == input_size


def test_seed_example_kernel_2_stride_2_undilated_field_4():
    """Notes: kernel 2 with weights {0.5, 1.0}, stride 2, no dilation: a unit of layer 2
    sees 4 inputs."""
    fields = receptive_field([(2, 2, 1), (2, 2, 1)])
    assert [f.size for f in fields] == [2, 4] and fields[-1].jump == 4
    model = nn.Sequential(*[nn.Conv1d(1, 1, 2, stride=2, bias=False) for _ in range(2)])
    with torch.no_grad():
        for layer in model:
            layer.weight.copy_(torch.tensor([[[0.5, 1.0]]]))
    measured = empirical_receptive_field(model, (1, 8), output_index=(0, 0))
    assert measured.size == (4,) and measured.start == (0,)
    np.testing.assert_allclose(measured.gradient[:4], [0.25, 0.5, 0.5, 1.0])  # weight products


def test_seed_example_kernel_2_stride_2_dilated():
    """Notes: the same with dilation 2 gives a field 'of size 8'. The recurrences give 7 (the
    unit's inputs run from position 0 to 6) and so does the gradient; only the 4 even positions
    actually feed the unit, since the first layer's dilated, strided kernel never touches odd
    inputs. The notes' 8 is not reproduced: we record both numbers."""
    published = 8
    fields = receptive_field([(2, 2, 2), (2, 2, 2)])
    assert [f.size for f in fields] == [3, 7]
    model = nn.Sequential(
        *[nn.Conv1d(1, 1, 2, stride=2, dilation=2, bias=False) for _ in range(2)]
    )
    with torch.no_grad():
        for layer in model:
            layer.weight.copy_(torch.tensor([[[0.5, 1.0]]]))
    measured = empirical_receptive_field(model, (1, 8), output_index=(0, 0))
    assert measured.size == (7,) == (published - 1,)
    np.testing.assert_array_equal(np.nonzero(measured.gradient)[0], [0, 2, 4, 6])
    # the undilated stack's 4 becomes 7: (k - 1) * d per layer instead of (k - 1)
    assert fields[-1].size - 1 == 2 * (receptive_field([(2, 2, 1)] * 2)[-1].size - 1)


def test_seed_examples_3x3_layers_and_causal_memory():
    # 3x3 kernels: a pixel of layer 2 sees 3x3 inputs, of layer 3 5x5 (Lin et al. figure)
    assert [f.size for f in receptive_field([((3, 3), (1, 1), (1, 1))] * 2)] == [(3, 3), (5, 5)]
    # causal stacks (kernel 2): 4 layers look 4 steps back, dilations 1, 2, 4, 8 look 15 back
    assert receptive_field([(2, 1, 1)] * 4)[-1].size - 1 == 4
    assert receptive_field([(2, 1, d) for d in (1, 2, 4, 8)])[-1].size - 1 == 15


def test_layer_descriptions_are_interchangeable():
    expected = receptive_field([(3, 2, 1, 1), (3, 1, 2, 0), (2, 2, 1, 0)])
    as_dicts = [dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=3, dilation=2),
                dict(kernel_size=2, stride=2)]
    torch_layers = [nn.Conv1d(1, 1, 3, stride=2, padding=1), nn.Conv1d(1, 1, 3, dilation=2),
                    nn.MaxPool1d(2)]
    assert receptive_field(as_dicts) == receptive_field(torch_layers) == expected
    assert expected[-1] == ReceptiveField(size=13, jump=4, start=-1)
    same = receptive_field([nn.Conv2d(1, 1, (3, 4), padding="same", dilation=(1, 2))])
    assert same[-1] == ReceptiveField(size=(3, 7), jump=(1, 1), start=(-1, -3))


def test_max_pooling_routes_the_gradient_to_one_input():
    """The documented caveat: max pooling passes the gradient to one position per window, so
    the measured field is smaller than the computed one; average pooling is not."""
    conv = nn.Conv1d(1, 1, 3, bias=False).double()
    with torch.no_grad():
        conv.weight.fill_(1.0)
    computed = receptive_field([conv, nn.MaxPool1d(2)])[-1].size
    assert computed == 4
    avg = empirical_receptive_field(nn.Sequential(conv, nn.AvgPool1d(2)), (1, 8), (0, 1))
    mx = empirical_receptive_field(nn.Sequential(conv, nn.MaxPool1d(2)), (1, 8), (0, 1))
    assert avg.size == (4,) and mx.size == (3,)


def test_cancelling_weights_give_a_clear_error_and_the_model_is_left_as_it_was():
    first, second = nn.Conv1d(1, 2, 2, bias=False), nn.Conv1d(2, 1, 2, bias=False)
    with torch.no_grad():
        first.weight.fill_(1.0)
        second.weight.copy_(torch.tensor([[[1.0, 1.0], [-1.0, -1.0]]]))  # channel 1 - channel 0
    model = nn.Sequential(first, second).train()
    with pytest.raises(ValueError, match="zero everywhere"):
        empirical_receptive_field(model, (1, 6))
    assert model.training and first.weight.grad is None


def test_default_output_index_is_the_centre_and_eval_mode_is_used():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)).double()
    with torch.no_grad():
        model[0].weight.abs_()
    measured = empirical_receptive_field(model, (1, 9, 9))  # train-mode BN would zero it
    assert measured.output_index == (0, 3, 3)
    assert measured.size == (3, 3) and measured.start == (3, 3)
    assert model.training


def test_span():
    field = receptive_field([((3, 5), (2, 1), (1, 1), (1, 0))])[-1]
    assert field.span((2, 3)) == ((3, 3), (5, 7))  # rows 3..5, columns 3..7
    with pytest.raises(ValueError, match="index"):
        field.span((1, 2, 3))


# ---------------------------------------------------------------------------------------
# Bad input: error type and the argument's name in the message
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error,name,layers",
    [
        (TypeError, "layers", (3, 1, 1)[0]),  # an int, not a sequence
        (TypeError, "layers", dict(kernel_size=3)),  # one dict, not a list of them
        (ValueError, "layers", []),
        (ValueError, r"layers\[1\]", [(3, 1, 1), (3, 1)]),
        (TypeError, r"layers\[0\]", ["conv"]),
        (ValueError, "kernel_size", [dict(stride=2)]),
        (ValueError, "kernel_size", [dict(kernel_size=3, strides=2)]),  # misspelt key
        (ValueError, "kernel_size", [(0, 1, 1)]),
        (TypeError, "kernel_size", [(2.5, 1, 1)]),
        (ValueError, "stride", [(3, 0, 1)]),
        (ValueError, "dilation", [(3, 1, 0)]),
        (ValueError, "padding", [(3, 1, 1, -1)]),
        (ValueError, "layers", [((3, 3), 1, 1), ((3, 3, 3), 1, 1)]),  # 2D and 3D mixed
    ],
)
def test_receptive_field_bad_input(error, name, layers):
    with pytest.raises(error, match=name):
        receptive_field(layers)


@pytest.mark.parametrize(
    "error,name,kwargs",
    [
        (TypeError, "model", dict(model="conv")),
        (TypeError, "input_size", dict(input_size="1, 8")),
        (ValueError, "input_size", dict(input_size=(8,))),
        (ValueError, "input_size", dict(input_size=(1, 0))),
        (ValueError, "output_index", dict(output_index=(0,))),
        (ValueError, "output_index", dict(output_index=(0, 6))),  # output has 6 positions
        (ValueError, "output_index", dict(output_index=(0, -1))),
        (ValueError, "model", dict(model=nn.Flatten())),  # changes the number of axes
    ],
)
def test_empirical_receptive_field_bad_input(error, name, kwargs):
    args = dict(model=nn.Conv1d(1, 1, 3), input_size=(1, 8))
    args.update(kwargs)
    with pytest.raises(error, match=name):
        empirical_receptive_field(**args)
