"""Real time series classification data, offline: two sets of the UEA & UCR archive.

* ``"BasicMotions"`` (UEA multivariate archive, Bagnall et al. 2018): recordings of a smart
  watch's 3D accelerometer and 3D gyroscope, 6 channels of 100 samples (10 s at 10 Hz), while
  four students were standing, walking, running or playing badminton. 40 training and 40 test
  cases, 10 of each class in each split.
* ``"GunPoint"`` (UCR univariate archive, Dau et al. 2019): the x coordinate of an actor's
  right hand, 150 samples, while drawing a replica gun from a holster or just pointing a
  finger. 50 training and 150 test cases, 2 classes.

The arrays were extracted from the ``.ts`` files that the ``aeon`` 1.6.0 wheel ships and are
vendored in ``lecturepkg/data/vendored/`` (see ``PROVENANCE.md`` there). The archive's own
TRAIN/TEST split is kept, so results compare with published ones. Values are as in the
archive (GunPoint is z-normalized per series there, BasicMotions is raw): normalizing is left
to the user, with training statistics only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch

from lecturepkg.data._vendored import verified_path

__all__ = ["TimeSeriesData", "load_timeseries", "TIMESERIES_FILES"]

#: name -> (vendored file, its sha256); the same sums are listed in vendored/PROVENANCE.md
TIMESERIES_FILES = {
    "BasicMotions": ("basicmotions.npz", "61ce67c457f6e23bdb296439e7e23a546458b9f604a9af3c2c85c339520d14a3"),
    "GunPoint": ("gunpoint.npz", "d0d23a902c7ed8bb8e174c048939a46cd8668a14ddcc247096060d3cb22e67dc"),
}


@dataclass(frozen=True)
class TimeSeriesData:
    """A classification data set with the archive's train/test split.

    ``x_*`` are float32 tensors ``(N, C, L)`` (cases, channels, time steps); ``y_*`` int64
    tensors ``(N,)`` of indices into ``class_names`` (the archive's label order).
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    class_names: tuple[str, ...]
    description: str

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def in_channels(self) -> int:
        return self.x_train.shape[1]

    @property
    def length(self) -> int:
        return self.x_train.shape[2]


def load_timeseries(name: str, data_dir: os.PathLike | str | None = None) -> TimeSeriesData:
    """Load ``"BasicMotions"`` or ``"GunPoint"`` as tensors, after checking the file's sha256.

    ``data_dir`` defaults to the vendored folder inside the package; it exists so that a copy
    of the files elsewhere can be loaded (and checked) too.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, one of {sorted(TIMESERIES_FILES)}, got {type(name).__name__}")
    if name not in TIMESERIES_FILES:
        raise ValueError(f"name must be one of {sorted(TIMESERIES_FILES)}, got {name!r}")
    filename, sha256 = TIMESERIES_FILES[name]
    path = verified_path(filename, sha256, data_dir)
    with np.load(path, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    return TimeSeriesData(
        name=name,
        x_train=torch.from_numpy(arrays["x_train"]),  # (N, C, L) float32
        y_train=torch.from_numpy(arrays["y_train"]),  # (N,) int64
        x_test=torch.from_numpy(arrays["x_test"]),
        y_test=torch.from_numpy(arrays["y_test"]),
        class_names=tuple(str(c) for c in arrays["class_names"]),
        description=str(arrays["description"]),
    )
