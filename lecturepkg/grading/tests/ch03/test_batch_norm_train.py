"""Grading tests of exercise ``batch_norm_train``: batch norm in training mode.

Oracle: ``torch.nn.functional.batch_norm(..., training=True)`` in float64, which normalises
with the batch's biased variance and updates its running statistics in place (with the
unbiased variance); the updated statistics are read from copies given to it. A
``torch.nn.BatchNorm2d`` layer in ``train()`` mode gives the same, checked once.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lecturepkg.grading.feedback import GradingFailure, expect_array, expect_raises
from lecturepkg.grading.runtime import input_rng

EXERCISE = "batch_norm_train"


def torch_batch_norm(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
    mean, var = torch.from_numpy(running_mean.copy()), torch.from_numpy(running_var.copy())
    y = F.batch_norm(torch.from_numpy(x), mean, var, torch.from_numpy(gamma), torch.from_numpy(beta),
                     training=True, momentum=momentum, eps=eps)
    return y.numpy(), mean.numpy(), var.numpy()


def random_case(rng, shape):
    C = shape[1]
    x = rng.normal(loc=rng.normal(size=(1, C) + (1,) * (len(shape) - 2)) * 3, size=shape)
    return (x, rng.uniform(0.5, 2.0, size=C), rng.normal(size=C), rng.normal(size=C), rng.uniform(0.5, 2.0, size=C))


def expect_result(result, expected, what):
    if not isinstance(result, tuple) or len(result) != 3:
        raise GradingFailure(f"{what} should return a tuple (y, new_running_mean, new_running_var), got "
                             f"{type(result).__name__}")
    for got, want, name in zip(result, expected, ["y", "the new running mean", "the new running variance"]):
        expect_array(got, want, what=f"{name} of {what}")


@pytest.mark.points(3)
def test_images_match_torch(submission):
    rng = input_rng(3801)
    for shape, momentum in [((4, 3, 5, 6), 0.1), ((2, 5, 3, 3), 0.3), ((8, 2, 1, 4), 0.01)]:
        args = random_case(rng, shape)
        expect_result(submission(*args, momentum=momentum), torch_batch_norm(*args, momentum=momentum),
                      f"batch_norm_train on x {shape} with momentum {momentum}")


@pytest.mark.points(2)
def test_features_match_torch(submission):
    # (N, C) inputs, as after a dense layer (BatchNorm1d)
    rng = input_rng(3802)
    for shape, eps in [((16, 4), 1e-5), ((3, 7), 1e-3), ((2, 2), 1e-5)]:
        args = random_case(rng, shape)
        expect_result(submission(*args, eps=eps), torch_batch_norm(*args, eps=eps),
                      f"batch_norm_train on x {shape} with eps {eps}")


@pytest.mark.points(1)
def test_small_batches_show_the_two_variances(submission):
    # with 3 values per channel, the biased (/3) and unbiased (/2) variances differ by half
    rng = input_rng(3803)
    args = random_case(rng, (3, 4))
    expected = torch_batch_norm(*args, momentum=1.0)  # momentum 1: the running var is the batch's
    np.testing.assert_allclose(expected[2], args[0].var(axis=0, ddof=1))
    expect_result(submission(*args, momentum=1.0), expected, "batch_norm_train on 3 samples with momentum 1")


@pytest.mark.points(1)
def test_same_as_a_batchnorm2d_layer_in_training(submission):
    rng = input_rng(3804)
    x, gamma, beta, _, _ = random_case(rng, (5, 3, 4, 4))
    layer = torch.nn.BatchNorm2d(3, momentum=0.2).double().train()
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(gamma))
        layer.bias.copy_(torch.from_numpy(beta))
        y = layer(torch.from_numpy(x)).numpy()
    expected = (y, layer.running_mean.numpy(), layer.running_var.numpy())  # from 0 and 1
    expect_result(submission(x, gamma, beta, np.zeros(3), np.ones(3), momentum=0.2), expected,
                  "batch_norm_train against nn.BatchNorm2d(3, momentum=0.2) fresh from its constructor")


@pytest.mark.points(1)
def test_bad_inputs_raise_value_error(submission):
    rng = input_rng(3805)
    x, gamma, beta, mean, var = random_case(rng, (4, 3, 2, 2))
    for args, what in [
        ((x, rng.uniform(size=4), beta, mean, var), "4 scales for 3 channels"),
        ((x, gamma, beta, mean, rng.uniform(size=2)), "a running variance for 2 channels"),
        ((x[:1, :, :1, :1], gamma, beta, mean, var), "one value per channel, x of shape (1, 3, 1, 1)"),
        ((x[:1, :, 0, 0], gamma, beta, mean, var), "one value per channel, x of shape (1, 3)"),
        ((x[0], gamma, beta, mean, var), "a 3-dimensional x"),
    ]:
        expect_raises(ValueError, submission, *args, what=f"batch_norm_train with {what}")
