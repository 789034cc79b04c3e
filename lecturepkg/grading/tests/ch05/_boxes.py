"""Random boxes for the chapter 5 grading tests."""

from __future__ import annotations

import numpy as np
import torch


def random_boxes(rng: np.random.Generator, n: int, size: float = 50.0, dtype=torch.float64) -> torch.Tensor:
    """``n`` boxes ``(x1, y1, x2, y2)`` with corners in ``[0, size]`` and sides between 0.5
    and ``size / 2``: many overlap, many do not."""
    corner = rng.uniform(0, size, size=(n, 2))
    side = rng.uniform(0.5, size / 2, size=(n, 2))
    return torch.from_numpy(np.concatenate([corner, corner + side], axis=1)).to(dtype)


def clustered_boxes(rng: np.random.Generator, clusters: int, per_cluster: int, jitter: float = 4.0) -> torch.Tensor:
    """Boxes jittered around ``clusters`` centres, as a detector's raw output often is."""
    centres = random_boxes(rng, clusters, size=60.0).numpy()
    boxes = np.repeat(centres, per_cluster, axis=0) + rng.normal(scale=jitter, size=(clusters * per_cluster, 4))
    boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 0.5)  # x2 > x1, y2 > y1
    return torch.from_numpy(boxes)
