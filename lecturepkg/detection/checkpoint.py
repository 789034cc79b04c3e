"""Saving and loading Mask R-CNN training runs, and the committed model trained on the shapes.

Two kinds of file, both written with ``torch.save`` and read with
``torch.load(weights_only=True)`` (tensors, numbers, strings, lists and dicts only):

* a *training checkpoint* (:func:`save_checkpoint`, :func:`load_checkpoint`): the model's
  ``state_dict``, the optimiser's (SGD's momentum buffers), the learning-rate scheduler's
  and the gradient scaler's states, the number of iterations done, the random number
  generators' states (torch, CUDA, numpy, Python), the seed and the configuration. Loading
  it and training on gives the same weights as a run that was never interrupted
  (``python -m lecturepkg.detection.train --resume``).
* the *weights* of a finished run (:func:`save_weights`): the model's ``state_dict`` and the
  configuration that builds it, nothing else.

:func:`load_pretrained_shapes` returns the model the package ships in
``lecturepkg/detection/checkpoints/shapes-tiny/`` (``model.pt``; beside it the command that
trained it, ``command.txt``, its log ``log.jsonl``, its evaluation ``eval.json`` and a
``README.md``): the ``"tiny"`` configuration of :mod:`lecturepkg.detection.configs`
trained on a CPU by :mod:`lecturepkg.detection.train`, our own training, nothing
downloaded.
"""

from __future__ import annotations

import os
import pathlib
import random
from typing import Any

import numpy as np
import torch
from torch import nn

from lecturepkg.detection._args import check_int
from lecturepkg.detection.configs import TrainConfig, build_model, config_from_dict

__all__ = ["CHECKPOINTS", "save_checkpoint", "load_checkpoint", "save_weights", "load_weights",
           "load_pretrained_shapes", "rng_states", "set_rng_states"]

#: Folder of the checkpoints shipped with the package, one subfolder per run.
CHECKPOINTS = pathlib.Path(__file__).resolve().parent / "checkpoints"

FORMAT = 1


def _unwrap(model: nn.Module) -> nn.Module:
    """The model inside a ``DistributedDataParallel`` (or ``DataParallel``) wrapper."""
    return model.module if hasattr(model, "module") and isinstance(model.module, nn.Module) \
        else model


def rng_states() -> dict:
    """The states of torch's (CPU and CUDA), numpy's global and Python's generators."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss),
                  float(cached)],
        "python": [list(random.getstate()[1]), random.getstate()[0], random.getstate()[2]],
    }


def set_rng_states(states: dict) -> None:
    """Restore the generators from :func:`rng_states`'s dict (loaded on any device)."""
    torch.set_rng_state(states["torch"].cpu())  # generator states are CPU byte tensors
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([state.cpu() for state in states["cuda"]])
    kind, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((kind, keys.cpu().numpy().astype(np.uint32), pos, has_gauss, cached))
    internal, version, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))


def _atomic_save(obj: Any, path: pathlib.Path) -> None:
    """Write ``obj`` to ``path`` through a temporary file, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _check_config(config: Any) -> TrainConfig:
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    return config


def save_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    scaler: Any,
    *,
    iteration: int,
    config: TrainConfig,
    seed: int,
) -> None:
    """Save everything needed to continue a training run after ``iteration`` iterations.

    Parameters
    ----------
    path : path
        The file (``last.pt`` in the run's folder); written atomically.
    model : nn.Module
        The model, possibly inside ``DistributedDataParallel`` (the inner model is saved).
    optimizer, scheduler, scaler
        The optimiser, the learning-rate scheduler and ``torch.amp.GradScaler``.
    iteration : int
        Iterations done.
    config : TrainConfig
        The run's configuration.
    seed : int
        The run's seed (its training images and initial weights).
    """
    iteration = check_int("iteration", iteration, minimum=0)
    _check_config(config)
    state = {
        "format": FORMAT, "kind": "training", "iteration": iteration, "seed": int(seed),
        "config": config.as_dict(), "model": _unwrap(model).state_dict(),
        "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict(), "rng": rng_states(),
    }
    _atomic_save(state, pathlib.Path(path))


def load_checkpoint(
    path: str | os.PathLike,
    model: nn.Module | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    scaler: Any = None,
    *,
    restore_rng: bool = False,
    map_location: str | torch.device = "cpu",
) -> dict:
    """Load a file of :func:`save_checkpoint` (or :func:`save_weights`) into the given objects.

    Each of ``model``, ``optimizer``, ``scheduler``, ``scaler`` that is given receives its
    state (the model strictly); ``restore_rng=True`` also restores the random generators.
    Returns the file's dict, whose ``"config"`` rebuilds the configuration with
    :func:`~lecturepkg.detection.configs.config_from_dict` and whose ``"iteration"`` says
    where to continue.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path {str(path)!r} is not a checkpoint file")
    state = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"path {str(path)!r} is not a checkpoint of lecturepkg.detection "
                         f"(format {FORMAT})")
    if model is not None:
        _unwrap(model).load_state_dict(state["model"])  # float16 weights are cast back
    for name, obj in (("optimizer", optimizer), ("scheduler", scheduler), ("scaler", scaler)):
        if obj is None:
            continue
        if name not in state:
            raise ValueError(f"path {str(path)!r} holds weights only, no {name} state")
        obj.load_state_dict(state[name])
    if restore_rng:
        if "rng" not in state:
            raise ValueError(f"path {str(path)!r} holds no random generator states")
        set_rng_states(state["rng"])
    return state


def save_weights(path: str | os.PathLike, model: nn.Module, config: TrainConfig, *,
                 iteration: int, seed: int) -> None:
    """Save the trained weights (float32) and the configuration that builds the model."""
    _check_config(config)
    weights = {k: v.detach().to("cpu").clone() for k, v in _unwrap(model).state_dict().items()}
    state = {"format": FORMAT, "kind": "weights", "iteration": int(iteration),
             "seed": int(seed), "config": config.as_dict(), "model": weights}
    _atomic_save(state, pathlib.Path(path))


def load_weights(path: str | os.PathLike,
                 device: str | torch.device = "cpu") -> tuple[nn.Module, TrainConfig]:
    """The model of a weights file (or training checkpoint), in eval mode, and its config."""
    state = torch.load(pathlib.Path(path), map_location="cpu", weights_only=True) \
        if pathlib.Path(path).is_file() else None
    if state is None:
        raise FileNotFoundError(f"path {str(path)!r} is not a checkpoint file")
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"path {str(path)!r} is not a checkpoint of lecturepkg.detection")
    config = config_from_dict(state["config"])
    model = build_model(config)
    model.load_state_dict(state["model"])
    return model.to(device).eval(), config


def load_pretrained_shapes(name: str = "shapes-tiny",
                           device: str | torch.device = "cpu") -> tuple[nn.Module, TrainConfig]:
    """The Mask R-CNN the package ships, trained on the shapes, in eval mode, and its config.

    Parameters
    ----------
    name : str
        A folder of :data:`CHECKPOINTS`; ``"shapes-tiny"`` is the ``"tiny"`` configuration
        trained on a CPU (see its ``README.md``, ``command.txt`` and ``eval.json``).
    device : str or torch.device
        Where to put the model.

    Returns
    -------
    model : MaskRCNN
        In eval mode: ``model(images)`` returns detections with masks.
    config : TrainConfig
        The configuration it was trained with (``config.image_size`` is its image side).
    """
    available = sorted(p.name for p in CHECKPOINTS.iterdir() if (p / "model.pt").is_file()) \
        if CHECKPOINTS.is_dir() else []
    if name not in available:
        raise ValueError(f"name must be one of the shipped checkpoints {available}, got {name!r}")
    return load_weights(CHECKPOINTS / name / "model.pt", device=device)
