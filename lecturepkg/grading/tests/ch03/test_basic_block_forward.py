"""Grading tests of exercise ``basic_block_forward``: a residual block, evaluation mode.

Oracle: torchvision's ``torchvision.models.resnet.BasicBlock`` in float64 and ``eval()``
mode, its projection shortcut built as torchvision's ``resnet18`` builds it (a 1 x 1
convolution with the block's stride, then a batch norm), loaded with random weights and
random running statistics; the same state dict goes to the student's function.
"""

import pytest
import torch
from torch import nn
from torchvision.models.resnet import BasicBlock, conv1x1

from lecturepkg.grading.feedback import expect_array, expect_raises
from lecturepkg.grading.runtime import input_rng

EXERCISE = "basic_block_forward"


def random_block(rng, inplanes, planes, stride, projection):
    """A torchvision BasicBlock with random weights and statistics, and its state dict."""
    downsample = nn.Sequential(conv1x1(inplanes, planes, stride), nn.BatchNorm2d(planes)) if projection else None
    block = BasicBlock(inplanes, planes, stride=stride, downsample=downsample).double().eval()
    state = {}
    for key, value in block.state_dict().items():
        if key.endswith("num_batches_tracked"):
            state[key] = value.clone()
        elif key.endswith("running_var"):
            state[key] = torch.from_numpy(rng.uniform(0.5, 2.0, size=tuple(value.shape)))
        elif key.endswith(".weight") and value.ndim == 1:  # batch norm scales
            state[key] = torch.from_numpy(rng.uniform(0.5, 1.5, size=tuple(value.shape)))
        else:
            state[key] = torch.from_numpy(rng.normal(scale=0.3, size=tuple(value.shape)))
    block.load_state_dict(state)
    return block, state


def oracle(block, x):
    with torch.no_grad():
        return block(x)


def check_block(submission, rng, N, inplanes, planes, H, W, stride, projection, what):
    block, state = random_block(rng, inplanes, planes, stride, projection)
    x = torch.from_numpy(rng.normal(size=(N, inplanes, H, W)))
    expected = oracle(block, x)
    expect_array(submission(x, {k: v.clone() for k, v in state.items()}, stride=stride), expected,
                 what=f"the output of {what} for x {tuple(x.shape)}")


@pytest.mark.points(2)
def test_identity_shortcut(submission):
    rng = input_rng(3501)
    check_block(submission, rng, 2, 4, 4, 6, 5, 1, False, "a 4 -> 4 block with the identity shortcut")


@pytest.mark.points(3)
def test_projection_shortcut_that_halves_the_map(submission):
    # the first block of ResNet-18's layer2: stride 2, twice the channels, projection
    rng = input_rng(3502)
    check_block(submission, rng, 2, 4, 8, 8, 8, 2, True, "a 4 -> 8 block with stride 2 and a projection")
    check_block(submission, rng, 1, 3, 6, 7, 5, 2, True, "a 3 -> 6 block with stride 2 on an odd-sized map")


@pytest.mark.points(1)
def test_projection_that_only_changes_the_channels(submission):
    rng = input_rng(3503)
    check_block(submission, rng, 3, 4, 6, 5, 5, 1, True, "a 4 -> 6 block with stride 1 and a projection")


@pytest.mark.points(1)
def test_a_given_projection_is_used_even_when_shapes_match(submission):
    rng = input_rng(3504)
    check_block(submission, rng, 2, 5, 5, 4, 6, 1, True, "a 5 -> 5 block with stride 1 and a projection")


@pytest.mark.points(1)
def test_missing_projection_raises_value_error(submission):
    rng = input_rng(3505)
    for inplanes, planes, stride in [(4, 8, 1), (4, 4, 2)]:
        _, state = random_block(rng, inplanes, planes, stride, projection=False)
        x = torch.from_numpy(rng.normal(size=(1, inplanes, 6, 6)))
        expect_raises(ValueError, submission, x, state, stride=stride,
                      what=f"a {inplanes} -> {planes} block with stride {stride} and no projection")
