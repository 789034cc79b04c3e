"""A small, generated volumetric dataset: noisy 3-D shapes to classify.

Medical volumes (CT, MRI) are single-channel 3-D images ``(1, D, H, W)``. Real ones cannot be
shipped with the course, so :func:`make_volumes` draws a stand-in that exercises the same
skills: each sample is a ``size x size x size`` grid of voxels containing one solid shape of
four classes,

====  ==========  ==========================================================================
 0    sphere      a solid ball
 1    cube        a solid cube, randomly rotated
 2    cylinder    a solid cylinder, 3 to 4.4 times as long as its radius, random axis
 3    shell       a hollow sphere: a ball with its interior removed, wall 1.5 to 2.5 voxels
====  ==========  ==========================================================================

with random size, position and orientation and additive Gaussian noise. The classes are
designed so that no single 2-D slice settles every case: a slice through a cube or a
cylinder can look like a disc, a slice near the edge of a shell looks like a filled disc,
so a classifier must combine evidence across depth.

Voxel values are the fraction of the voxel inside the shape (a one-voxel linear ramp at the
surface, which avoids aliasing), plus ``noise * N(0, 1)``.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from lecturepkg._checks import check_int

__all__ = ["VOLUME_CLASSES", "make_volumes", "shape_volume"]

#: The shape classes of :func:`make_volumes`, in the order of their labels.
VOLUME_CLASSES = ("sphere", "cube", "cylinder", "shell")


def _coordinates(size: int) -> np.ndarray:
    """Voxel-centre coordinates ``(3, D, H, W)``, centred on the grid's middle."""
    axis = np.arange(size, dtype=np.float64) - (size - 1) / 2
    return np.stack(np.meshgrid(axis, axis, axis, indexing="ij"))  # (3, D, H, W)


def _signed_distance(label: int, q: np.ndarray, radius: float, extra: float) -> np.ndarray:
    """Signed distance (negative inside) of the canonical shape, at rotated points ``q``."""
    if label == 0:  # sphere of the given radius
        return np.linalg.norm(q, axis=0) - radius
    if label == 1:  # cube of half-side `radius` (max-norm ball)
        return np.abs(q).max(axis=0) - radius
    if label == 2:  # cylinder along the first axis: radius, half-length `extra`
        radial = np.linalg.norm(q[1:], axis=0) - radius
        along = np.abs(q[0]) - extra
        return np.maximum(radial, along)
    # shell: |distance to the centre - radius| minus half the wall thickness `extra`
    return np.abs(np.linalg.norm(q, axis=0) - radius) - extra


def shape_volume(
    label: int,
    size: int = 16,
    radius: float = 5.0,
    center=(0.0, 0.0, 0.0),
    rotation: np.ndarray | None = None,
    extra: float | None = None,
) -> np.ndarray:
    """One noise-free shape as an occupancy volume ``(size, size, size)`` with values in [0, 1].

    Parameters
    ----------
    label:
        Class index into :data:`VOLUME_CLASSES`.
    size:
        Edge length of the cubic grid, in voxels.
    radius:
        Radius of the sphere, shell and cylinder; half the side of the cube (voxels).
    center:
        Offset ``(z, y, x)`` of the shape's centre from the grid's centre (voxels).
    rotation:
        A ``(3, 3)`` rotation matrix applied to the shape, or ``None`` for none.
    extra:
        Cylinder: half-length (default ``1.5 * radius``); shell: half the wall thickness
        (default 1.0). Ignored for the sphere and the cube.
    """
    label = check_int("label", label, minimum=0)
    if label >= len(VOLUME_CLASSES):
        raise ValueError(f"label must be < {len(VOLUME_CLASSES)}, got {label}")
    size = check_int("size", size, minimum=4)
    if not isinstance(radius, numbers.Real) or not radius > 0:
        raise ValueError(f"radius must be a positive number, got {radius!r}")
    center = np.asarray(center, dtype=np.float64)
    if center.shape != (3,):
        raise ValueError(f"center must have 3 coordinates (z, y, x), got {center.shape}")
    if rotation is None:
        rotation = np.eye(3)
    rotation = np.asarray(rotation, dtype=np.float64)
    if rotation.shape != (3, 3):
        raise ValueError(f"rotation must be a (3, 3) matrix, got shape {rotation.shape}")
    if extra is None:
        extra = 1.5 * radius if label == 2 else 1.0
    p = _coordinates(size) - center[:, None, None, None]  # (3, D, H, W)
    q = np.einsum("ji,jdhw->idhw", rotation, p)  # rotate points into the shape's frame
    sdf = _signed_distance(label, q, float(radius), float(extra))
    return np.clip(0.5 - sdf, 0.0, 1.0)  # 1 inside, 0 outside, linear over one voxel


def make_volumes(
    n: int,
    size: int = 16,
    seed: int = 0,
    noise: float = 0.2,
    num_classes: int = 4,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``n`` noisy volumes of random shapes, with balanced classes in random order.

    Parameters
    ----------
    n:
        Number of samples.
    size:
        Edge length of each volume in voxels (at least 12; 16 to 20 is plenty).
    seed:
        Seed of the generator: the same arguments always give the same data.
    noise:
        Standard deviation of the additive Gaussian noise (the shapes have value 1).
    num_classes:
        Use the first ``num_classes`` of :data:`VOLUME_CLASSES` (2 to 4).

    Returns
    -------
    x:
        ``float32`` tensor ``(n, 1, size, size, size)``: one channel, depth, height, width.
    y:
        ``int64`` tensor ``(n,)`` of class indices; class ``c`` is ``VOLUME_CLASSES[c]``.

    Sizes are relative to the grid: a radius ``r`` is drawn in ``[0.22, 0.34] * size``; the
    sphere and the shell have radius ``r``, the cube half-side ``0.85 r`` (so that cubes and
    spheres have similar volumes), the cylinder radius ``0.7 r`` and half-length 1.5 to 2.2
    times its radius (at most ``0.4 * size``); the shell's wall is 1.5 to 2.5 voxels thick.
    The centre is moved by up to ``0.1 * size`` along each axis, and the orientation is
    uniformly random.
    """
    n = check_int("n", n, minimum=1)
    size = check_int("size", size, minimum=12)
    seed = check_int("seed", seed, minimum=0)
    num_classes = check_int("num_classes", num_classes, minimum=2)
    if num_classes > len(VOLUME_CLASSES):
        raise ValueError(f"num_classes must be <= {len(VOLUME_CLASSES)}, got {num_classes}")
    if not isinstance(noise, numbers.Real) or isinstance(noise, bool) or noise < 0:
        raise ValueError(f"noise must be a non-negative number, got {noise!r}")
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % num_classes)  # balanced, shuffled
    x = np.empty((n, 1, size, size, size), dtype=np.float32)
    for i, label in enumerate(labels):
        radius = rng.uniform(0.22, 0.34) * size
        if label == 1:
            radius *= 0.85  # a cube of half-side r has twice the volume of a ball of radius r
        extra = None
        if label == 2:
            radius *= 0.7
            extra = min(rng.uniform(1.5, 2.2) * radius, 0.4 * size)  # half-length
        elif label == 3:
            extra = rng.uniform(0.75, 1.25)  # half the wall: walls 1.5 to 2.5 voxels thick
        center = rng.uniform(-0.1, 0.1, size=3) * size
        rotation = Rotation.random(random_state=rng).as_matrix()
        x[i, 0] = shape_volume(int(label), size, radius, center, rotation, extra)
    x += noise * rng.standard_normal(x.shape).astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy(labels.astype(np.int64))
