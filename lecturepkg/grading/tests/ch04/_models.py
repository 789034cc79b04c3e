"""Small random models for the chapter 4 grading tests, and the copies handed to students.

Every model is an ``nn.Sequential`` of the layers the command line grader can send to the
student's process (``lecturepkg.grading._wire.LAYERS``), in float64 and evaluation mode,
with weights drawn from the test's ``input_rng``. The student's function always gets a deep
copy, so that nothing it does to the model can change what the test computes afterwards.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn


def randomize(model: nn.Module, rng: np.random.Generator, scale: float = 0.5) -> nn.Module:
    """``model`` in float64 and evaluation mode, every parameter drawn from N(0, scale^2)."""
    model = model.double().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.normal(scale=scale, size=tuple(p.shape))))
    return model


def linear_model(rng, channels: int, height: int, width: int, classes: int) -> nn.Module:
    """Scores that are a linear function of the pixels: ``S = W x + b``."""
    return randomize(nn.Sequential(nn.Flatten(), nn.Linear(channels * height * width, classes)), rng)


def conv_model(rng, channels: int, classes: int, hidden: int = 4) -> nn.Module:
    """Two convolutions with ReLUs, global average pooling and a linear layer."""
    return randomize(nn.Sequential(
        nn.Conv2d(channels, hidden, 3, padding=1), nn.ReLU(),
        nn.Conv2d(hidden, hidden + 1, 3, padding=1), nn.Tanh(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(hidden + 1, classes)), rng)


def images(rng, shape) -> torch.Tensor:
    return torch.from_numpy(rng.normal(size=shape))


def given(model: nn.Module) -> nn.Module:
    """The copy of ``model`` the student's function receives."""
    return copy.deepcopy(model)
