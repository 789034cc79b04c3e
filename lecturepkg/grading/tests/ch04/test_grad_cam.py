"""Grading tests of exercise ``grad_cam``: Grad-CAM's channel weights and map.

Oracles: for random activations and gradients, the weights by ``F.adaptive_avg_pool2d``
and the map by a grouped 1 x 1 convolution and ``F.relu``; for a network that ends in
global average pooling and a linear layer, the gradients come from PyTorch's autograd and
the answer from Selvaraju et al. (2017), Section 3.1: ``alpha_k = W[c, k] / (h w)`` and the
map is ``relu(CAM) / (h w)``, CAM computed as a 1 x 1 convolution with the classifier's
weights.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lecturepkg.grading.feedback import GradingFailure, expect_array, expect_raises
from lecturepkg.grading.runtime import input_rng

EXERCISE = "grad_cam"


def torch_grad_cam(activations, gradients, relu=True):
    A, G = torch.from_numpy(activations), torch.from_numpy(gradients)
    N, K, h, w = A.shape
    alpha = F.adaptive_avg_pool2d(G, 1)  # (N, K, 1, 1)
    cam = F.conv2d(A.reshape(1, N * K, h, w), alpha, groups=N)[0]  # (N, h, w)
    return alpha[:, :, 0, 0].numpy(), (F.relu(cam) if relu else cam).numpy()


def expect_pair(result, expected, what):
    if not isinstance(result, tuple) or len(result) != 2:
        raise GradingFailure(f"{what} should return a tuple (weights, cam), got {type(result).__name__}")
    expect_array(result[0], expected[0], what=f"the channel weights of {what}")
    expect_array(result[1], expected[1], what=f"the map of {what}")


@pytest.mark.points(3)
def test_random_activations_and_gradients(submission):
    rng = input_rng(4301)
    for shape in [(2, 5, 4, 6), (1, 3, 7, 7), (3, 8, 2, 3)]:
        A, G = np.maximum(rng.normal(size=shape), 0), rng.normal(size=shape)
        expect_pair(submission(A, G), torch_grad_cam(A, G), f"grad_cam on activations {shape}")


@pytest.mark.points(2)
def test_a_gap_network_gives_cam_divided_by_the_area(submission):
    rng = input_rng(4302)
    N, C, K, H, W, classes = 3, 2, 6, 5, 4, 4
    features = nn.Sequential(nn.Conv2d(C, K, 3, padding=1), nn.ReLU()).double()
    fc = nn.Linear(K, classes).double()
    x = torch.from_numpy(rng.normal(size=(N, C, H, W)))
    target = torch.tensor([2, 0, 3])
    A = features(x).detach().requires_grad_(True)  # (N, K, H, W)
    scores = fc(A.mean(dim=(2, 3)))  # global average pooling, then the linear layer
    (G,) = torch.autograd.grad(scores[torch.arange(N), target].sum(), A)
    weight = fc.weight.detach()
    cam = F.conv2d(A.detach(), weight[:, :, None, None])[torch.arange(N), target]  # (N, H, W)
    expected = ((weight[target] / (H * W)).numpy(), (F.relu(cam) / (H * W)).numpy())
    np.testing.assert_allclose(torch_grad_cam(A.detach().numpy(), G.numpy())[1], expected[1], rtol=1e-10, atol=1e-14)
    expect_pair(submission(A.detach().numpy(), G.numpy()), expected,
                what="grad_cam on a GAP network's last maps and its score's gradient")


@pytest.mark.points(1)
def test_without_relu_the_negative_evidence_stays(submission):
    rng = input_rng(4303)
    shape = (2, 4, 5, 5)
    A, G = np.maximum(rng.normal(size=shape), 0), rng.normal(size=shape)
    expected = torch_grad_cam(A, G, relu=False)
    assert (expected[1] < 0).any()
    expect_pair(submission(A, G, relu=False), expected, f"grad_cam(..., relu=False) on activations {shape}")


@pytest.mark.points(1)
def test_bad_shapes_raise_value_error(submission):
    rng = input_rng(4304)
    A = rng.normal(size=(2, 3, 4, 4))
    for args, what in [((A, rng.normal(size=(2, 3, 4, 5))), "gradients of another shape"),
                       ((A[0], rng.normal(size=(3, 4, 4))), "activations of shape (3, 4, 4)"),
                       ((A, rng.normal(size=(1, 3, 4, 4))), "gradients for one image of two")]:
        expect_raises(ValueError, submission, *args, what=f"grad_cam with {what}")
