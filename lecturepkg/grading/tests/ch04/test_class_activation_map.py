"""Grading tests of exercise ``class_activation_map``: CAM (Zhou et al. 2016).

Oracles: the class maps of a GAP network are a 1 x 1 convolution of its last maps with the
classifier's weights (``torch.nn.functional.conv2d`` with kernels ``W[:, :, None, None]``),
of which each image's class is picked; and the identity behind CAM, checked on the oracle
and on the student's maps: the average of class c's map over the positions, plus the bias,
is the network's score ``fc(GAP(features))`` (an ``nn.AdaptiveAvgPool2d`` and an
``nn.Linear``). The normalisation is checked against ``torch.amin``/``torch.amax``.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lecturepkg.grading.feedback import GradingFailure, expect_array, expect_raises
from lecturepkg.grading.runtime import input_rng

EXERCISE = "class_activation_map"


def conv_cam(features, fc_weight, classes):
    """Every class's map by a 1 x 1 convolution, then each image's class."""
    maps = F.conv2d(torch.from_numpy(features), torch.from_numpy(fc_weight)[:, :, None, None])  # (N, classes, h, w)
    return maps[torch.arange(len(classes)), torch.as_tensor(classes)].numpy()


def gap_scores(features, fc_weight, bias):
    head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(*fc_weight.shape[::-1])).double()
    with torch.no_grad():
        head[2].weight.copy_(torch.from_numpy(fc_weight))
        head[2].bias.copy_(torch.from_numpy(bias))
        return head(torch.from_numpy(features)).numpy()  # (N, classes)


def random_case(rng, N, K, h, w, classes):
    features = np.maximum(rng.normal(size=(N, K, h, w)), 0)  # after a ReLU, as in a real network
    return features, rng.normal(size=(classes, K)), rng.normal(size=classes)


@pytest.mark.points(3)
def test_maps_match_a_one_by_one_convolution(submission):
    rng = input_rng(4201)
    for (N, K, h, w, classes), target in [((2, 6, 4, 5, 3), 1), ((3, 4, 7, 7, 5), np.array([4, 0, 2])),
                                          ((1, 10, 3, 6, 2), np.array([1]))]:
        features, fc_weight, _ = random_case(rng, N, K, h, w, classes)
        expected = conv_cam(features, fc_weight, np.full(N, target) if np.ndim(target) == 0 else target)
        expect_array(submission(features, fc_weight, target), expected,
                     what=f"the CAM of features {features.shape} with {classes} classes for target {target}")


@pytest.mark.points(2)
def test_the_average_of_the_map_is_the_score(submission):
    # Zhou et al. 2016, Section 2: S_c = sum_k w_k^c F_k = sum_ij M_c(i, j) / (h w), less the bias
    rng = input_rng(4202)
    features, fc_weight, bias = random_case(rng, 4, 8, 5, 6, 4)
    classes = np.array([3, 1, 1, 0])
    scores = gap_scores(features, fc_weight, bias)[np.arange(4), classes]
    expected = conv_cam(features, fc_weight, classes)
    np.testing.assert_allclose(expected.mean(axis=(1, 2)) + bias[classes], scores, rtol=1e-12)
    result = submission(features, fc_weight, classes)
    expect_array(result, expected, what="the CAM of four images for classes [3, 1, 1, 0]")
    means = np.asarray(result).mean(axis=(1, 2)) + bias[classes]
    if not np.allclose(means, scores, rtol=1e-10):
        raise GradingFailure(f"the maps' averages plus the biases should be the network's scores {scores}, "
                             f"got {means}")


@pytest.mark.points(2)
def test_normalized_maps_run_from_zero_to_one_per_image(submission):
    rng = input_rng(4203)
    features, fc_weight, _ = random_case(rng, 3, 5, 4, 4, 3)
    features[1] *= 100.0  # a much louder image: each image is normalised on its own
    raw = torch.from_numpy(conv_cam(features, fc_weight, np.array([0, 2, 1])))
    low, high = raw.amin(dim=(1, 2), keepdim=True), raw.amax(dim=(1, 2), keepdim=True)
    expected = ((raw - low) / (high - low)).numpy()
    expect_array(submission(features, fc_weight, np.array([0, 2, 1]), normalize=True), expected,
                 what="the normalised CAM of three images, the second 100 times louder")


@pytest.mark.points(1)
def test_a_constant_map_normalizes_to_zeros(submission):
    rng = input_rng(4204)
    features, fc_weight, _ = random_case(rng, 2, 3, 3, 4, 2)
    features[0] = 1.0  # every position alike: a constant map
    raw = torch.from_numpy(conv_cam(features, fc_weight, np.array([1, 1])))
    low, high = raw.amin(dim=(1, 2), keepdim=True), raw.amax(dim=(1, 2), keepdim=True)
    expected = ((raw - low) / (high - low)).numpy()
    expected[0] = 0.0
    expect_array(submission(features, fc_weight, 1, normalize=True), expected,
                 what="the normalised CAM when the first image's map is constant")


@pytest.mark.points(1)
def test_bad_inputs_raise_value_error(submission):
    rng = input_rng(4205)
    features, fc_weight, _ = random_case(rng, 2, 4, 3, 3, 3)
    for args, what in [
        ((features[0], fc_weight, 0), "features of shape (4, 3, 3)"),
        ((features, fc_weight.T, 0), "a weight of shape (4, 3) for 4 maps and 3 classes, transposed"),
        ((features, fc_weight, 3), "class 3 of 3 classes (0 to 2)"),
        ((features, fc_weight, np.array([0, 1, 2])), "three classes for two images"),
    ]:
        expect_raises(ValueError, submission, *args, what=f"class_activation_map with {what}")
