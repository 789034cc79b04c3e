"""Train Mask R-CNN on the synthetic shapes with the paper's schedule, scaled down, and its tools.

He et al. (2017) train on COCO with 8 GPUs and 16 images per iteration (2 per GPU) for
160k iterations, with SGD (momentum 0.9, weight decay 1e-4) at a learning rate of 0.02
that drops to 0.002 at 120k iterations, three quarters of the run. The configurations of
:mod:`lecturepkg.detection.configs` keep that shape: SGD with the same momentum and weight
decay, a linear warmup (Goyal et al. 2017), and a 10x drop at three quarters of the
iterations; only the numbers shrink (the ``"tiny"`` run: 8 images of 128 x 128 per
iteration, 600 iterations on a CPU).

Run it as a module::

    python -m lecturepkg.detection.train --config tiny --out runs/tiny
    python -m lecturepkg.detection.train --config tiny --out runs/tiny --resume
    torchrun --nproc_per_node=2 -m lecturepkg.detection.train --config gpu --out runs/gpu

It shows a progress bar (:func:`lecturepkg.output.progress`), appends one JSON line per
``log_every`` iterations to ``log.jsonl`` (the iteration, the learning rate, the total loss
and each of the five loss terms averaged over those iterations and over the processes),
saves the whole training state to ``last.pt`` every ``checkpoint_every`` iterations
(:func:`~lecturepkg.detection.checkpoint.save_checkpoint`; ``--resume`` continues from it
and ends with the same weights as an uninterrupted run), and at the end writes the
weights to ``model.pt`` and the COCO box and mask AP, AP50, AP75 of ``--eval-images``
held-out images (:func:`~lecturepkg.detection.coco_eval.coco_evaluate`) to ``eval.json``.
On CUDA with ``config.amp`` it computes in mixed precision (``torch.autocast`` with float16
and a ``GradScaler``); on a CPU in float32.

Several processes: ``torchrun --nproc_per_node=W`` starts ``W`` copies and sets
``RANK``/``WORLD_SIZE``; each joins a process group (backend ``nccl`` on CUDA, ``gloo`` on
a CPU), wraps the model in ``DistributedDataParallel`` (which averages the gradients, so
the ``W`` replicas stay identical) and reads its own ``batch_size`` images of every
iteration (iteration ``t`` of rank ``r`` reads images ``(t W + r) B`` to
``(t W + r + 1) B - 1`` of the seeded image stream). The batch is then ``W * batch_size``
images and, by the linear scaling rule of Goyal et al. (2017), the learning rate is
``W * lr``: the paper's 8 GPUs x 2 images at 0.02 is 16 images at 0.02, i.e. 0.00125 per
image. So ``torchrun --nproc_per_node=2 -m lecturepkg.detection.train --config tiny ...``
takes 2 x 8 = 16 images per iteration, the paper's batch, at a rate of 2 x 0.02 = 0.04,
for the same number of iterations (twice the images of one process); to keep the images
seen instead, halve ``--iterations``. Rank 0 alone writes the log, the checkpoints and the
evaluation. (The checkpoint holds rank 0's random generators, which ``--resume`` gives to
every rank: a resumed run of several processes samples the RPN's and the heads' training
regions of the other ranks differently from an uninterrupted one, so it ends close to it,
not bit for bit equal as with one process.) Batch-norm statistics are each rank's own
(``DistributedDataParallel`` copies rank 0's at every forward pass); at the end every rank
takes rank 0's.

In Python, :func:`train_mask_rcnn` does the same and returns the model and the log
(a page can train a few iterations in memory, without writing any file).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import platform
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import torch
import torch.distributed as dist
from torch import nn

from lecturepkg.detection._args import check_int
from lecturepkg.detection.checkpoint import (
    load_checkpoint, save_checkpoint, save_weights,
)
from lecturepkg.detection.coco_eval import coco_evaluate
from lecturepkg.detection.configs import (
    CONFIGS, TrainConfig, build_model, config_from_dict, get_config, lr_factor,
)
from lecturepkg.detection.shapes import (
    ShapesDataset, collate_detections, to_coco, to_coco_results,
)
from lecturepkg.output import progress as progress_bar
from lecturepkg.seed import seed_everything

__all__ = ["LOSS_NAMES", "TrainResult", "train_mask_rcnn", "evaluate_detector",
           "shapes_data", "build_parser", "main"]

#: The five loss terms of Mask R-CNN, in the order of the log.
LOSS_NAMES = ("loss_classifier", "loss_box_reg", "loss_mask", "loss_objectness",
              "loss_rpn_box_reg")

#: The summary numbers written to ``eval.json`` for boxes and masks.
EVAL_NAMES = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100")


@dataclass
class TrainResult:
    """What :func:`train_mask_rcnn` returns."""

    #: the trained model (not wrapped for DDP), in eval mode
    model: nn.Module
    #: the configuration, with the overrides applied
    config: TrainConfig
    #: the log, one dict per line of ``log.jsonl`` (also those of earlier runs when resuming)
    log: list = field(default_factory=list)
    #: ``{"bbox": {...}, "segm": {...}, "images": n}``, or None without evaluation
    evaluation: dict | None = None
    #: iterations done
    iteration: int = 0


def shapes_data(config: TrainConfig, seed: int, num_images: int) -> ShapesDataset:
    """The shapes images of ``config`` drawn with ``seed`` (for training, the run's seed)."""
    return ShapesDataset(num_images, config.image_size, config.image_size, seed=seed,
                         num_shapes=config.num_shapes, size=config.shape_size)


@torch.no_grad()
def evaluate_detector(model: nn.Module, dataset: Any, *, batch_size: int = 8,
                      device: str | torch.device | None = None,
                      show_progress: bool = False) -> dict:
    """COCO box and mask AP of a detector on a dataset of ``(image, target)`` pairs.

    Runs ``model`` in eval mode on every image, turns its detections into COCO results
    (masks thresholded at 0.5, as torchvision) and scores them with
    :func:`~lecturepkg.detection.coco_eval.coco_evaluate` against
    :func:`~lecturepkg.detection.shapes.to_coco` of the dataset. Returns
    ``{"bbox": {"AP": .., "AP50": .., ...}, "segm": {...}, "images": n}`` and leaves the
    model in the mode it found it.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if not hasattr(dataset, "__len__") or len(dataset) == 0:
        raise ValueError("dataset must be a non-empty dataset of (image, target) pairs")
    if device is None:
        device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    predictions, image_ids = [], []
    starts = range(0, len(dataset), batch_size)
    for start in progress_bar(starts, desc="evaluate", disable=not show_progress):
        items = [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]
        images, targets = collate_detections(items)
        outputs = model([image.to(device) for image in images])
        predictions += [{k: v.to("cpu") for k, v in out.items()} for out in outputs]
        image_ids += [int(t["image_id"]) if "image_id" in t else start + j
                      for j, t in enumerate(targets)]
    model.train(was_training)
    ground_truth = to_coco(dataset)
    results = to_coco_results(predictions, image_ids)
    out: dict = {"images": len(dataset)}
    for iou_type in ("bbox", "segm"):
        summary = coco_evaluate(ground_truth, results, iou_type).summary()
        out[iou_type] = {name: summary[name] for name in EVAL_NAMES}
    return out


def _distributed() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _pick_device(device: str | torch.device | None, world_size: int) -> torch.device:
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError):
        parsed = None
    if parsed is None or parsed.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    device = parsed
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("device 'cuda' was asked for but torch.cuda.is_available() is "
                               "False")
        if world_size > 1 and device.index is None:
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return device


def _read_log(path: pathlib.Path, upto: int) -> list:
    """The log's lines up to iteration ``upto`` (later ones were never checkpointed)."""
    if not path.is_file():
        return []
    entries = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [e for e in entries if e["iteration"] <= upto]


def train_mask_rcnn(
    config: str | TrainConfig = "tiny",
    out_dir: str | os.PathLike | None = None,
    *,
    iterations: int | None = None,
    seed: int = 0,
    device: str | torch.device | None = None,
    resume: bool = False,
    eval_images: int | None = None,
    stop_after: int | None = None,
    show_progress: bool = True,
    **overrides: Any,
) -> TrainResult:
    """Train the Mask R-CNN of a configuration on the shapes, as the command line does.

    Parameters
    ----------
    config : str or TrainConfig
        ``"tiny"``, ``"gpu"`` or a :class:`~lecturepkg.detection.configs.TrainConfig`.
    out_dir : path or None
        Folder of ``log.jsonl``, ``last.pt`` (the training state), ``model.pt`` and
        ``eval.json``; ``None`` writes nothing (and cannot resume).
    iterations : int or None
        Total iterations (``config.iterations`` when None); the schedule's warmup and step
        follow it.
    seed : int
        Seeds the initial weights, the training images and the samplers; the held-out
        images use ``config.eval_seed`` and must differ from them.
    device : str, torch.device or None
        ``"cpu"``, ``"cuda"``; None picks CUDA when there is one.
    resume : bool
        Continue from ``out_dir/last.pt`` if it exists (same configuration and seed).
    eval_images : int or None
        Held-out images evaluated at the end (``config.eval_images`` when None; 0: none).
    stop_after : int or None
        Stop (with a checkpoint) once this many iterations are done, as if interrupted.
    show_progress : bool
        Show a progress bar (rank 0 only).
    **overrides
        Other fields of the configuration to replace (``batch_size=2``, ...).

    Returns
    -------
    TrainResult
        The trained model in eval mode, the configuration, the log and the evaluation.

    Inside an initialised process group (``torch.distributed``) every rank calls it: the
    model is wrapped in ``DistributedDataParallel``, each rank reads its own images, the
    learning rate is multiplied by the world size, and rank 0 writes the files.
    """
    if iterations is not None:
        overrides["iterations"] = iterations
    if eval_images is not None:
        eval_images = check_int("eval_images", eval_images, minimum=0)
    config = get_config(config, **overrides)
    seed = check_int("seed", seed, minimum=0)
    if seed == config.eval_seed:
        raise ValueError(f"seed must differ from config.eval_seed ({config.eval_seed}), whose "
                         "images are held out")
    if stop_after is not None:
        stop_after = check_int("stop_after", stop_after, minimum=1)
    if resume and out_dir is None:
        raise ValueError("resume=True needs an out_dir holding last.pt")
    n_eval = config.eval_images if eval_images is None else eval_images

    rank, world_size = _distributed()
    device = _pick_device(device, world_size)
    out = pathlib.Path(out_dir) if out_dir is not None else None
    if out is not None and rank == 0:
        out.mkdir(parents=True, exist_ok=True)

    seed_everything(seed)
    model = build_model(config).to(device)
    model.train()
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(parameters, lr=config.lr * world_size,
                                momentum=config.momentum, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda it: lr_factor(config, it))
    amp = config.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler(device.type, enabled=amp)

    start, log = 0, []
    checkpoint_path = out / "last.pt" if out is not None else None
    if resume and checkpoint_path.is_file():
        # read on the CPU: the generators' states must be CPU byte tensors, and the model
        # and optimiser copy their tensors to the parameters' device when loading
        state = load_checkpoint(checkpoint_path)
        saved = config_from_dict(state["config"])
        if saved != config or state["seed"] != seed:
            raise ValueError(f"resume=True: {checkpoint_path} was written by another run "
                             f"(seed {state['seed']}, config {saved}); pass the same config, "
                             f"iterations and seed")
        load_checkpoint(checkpoint_path, model, optimizer, scheduler, scaler)
        start = state["iteration"]
        torch.set_rng_state(state["rng"]["torch"])
        if device.type == "cuda" and state["rng"]["cuda"]:
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        log = _read_log(out / "log.jsonl", start)
    if out is not None and rank == 0:  # rewrite the log: drop lines past the checkpoint
        with open(out / "log.jsonl", "w") as f:
            for entry in log:
                f.write(json.dumps(entry) + "\n")

    net: nn.Module = model
    if world_size > 1:
        net = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)

    data = shapes_data(config, seed, config.iterations * config.batch_size * world_size)
    end = config.iterations if stop_after is None else min(stop_after, config.iterations)
    sums = torch.zeros(len(LOSS_NAMES), dtype=torch.float64)
    window, started = 0, time.perf_counter()
    bar = progress_bar(range(start, end), desc=f"Mask R-CNN ({config.name})", initial=start,
                       total=config.iterations, disable=not show_progress or rank != 0)
    for it in bar:
        first = (it * world_size + rank) * config.batch_size
        images, targets = collate_detections(
            [data[i] for i in range(first, first + config.batch_size)])
        images = [image.to(device) for image in images]
        targets = [{k: v.to(device) for k, v in t.items()} for t in targets]
        with torch.autocast(device.type, dtype=torch.float16, enabled=amp):
            losses = net(images, targets)
        loss = sum(losses[name] for name in LOSS_NAMES)
        if not amp and not torch.isfinite(loss):
            raise FloatingPointError(f"the loss is {loss.item()} at iteration {it}: "
                                     f"{ {k: v.item() for k, v in losses.items()} }")
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        lr = optimizer.param_groups[0]["lr"]
        scheduler.step()

        values = torch.stack([losses[name].detach().float() for name in LOSS_NAMES])
        if world_size > 1:
            dist.all_reduce(values)  # the mean over the processes
            values /= world_size
        sums += values.cpu().double()
        window += 1
        done = it + 1
        if done % config.log_every == 0 or done == end:
            means = (sums / window).tolist()
            entry = {"iteration": done, "lr": lr, "loss": sum(means),
                     **dict(zip(LOSS_NAMES, means)),
                     "images": done * config.batch_size * world_size,
                     "seconds": round(time.perf_counter() - started, 3)}
            log.append(entry)
            sums.zero_()
            window = 0
            if rank == 0:
                bar.set_postfix(loss=f"{entry['loss']:.3f}", refresh=False)
                if out is not None:
                    with open(out / "log.jsonl", "a") as f:
                        f.write(json.dumps(entry) + "\n")
        if out is not None and rank == 0 and (done % config.checkpoint_every == 0 or done == end):
            save_checkpoint(checkpoint_path, model, optimizer, scheduler, scaler,
                            iteration=done, config=config, seed=seed)
    bar.close()
    done = max(start, end)
    if world_size > 1:  # batch norm statistics are each rank's own: give all rank 0's
        for buffer in model.buffers():
            dist.broadcast(buffer, src=0)

    evaluation = None
    if done == config.iterations:
        if out is not None and rank == 0:
            save_weights(out / "model.pt", model, config, iteration=done, seed=seed)
        if n_eval > 0 and rank == 0:
            held_out = shapes_data(config, config.eval_seed, n_eval)
            evaluation = evaluate_detector(model, held_out, device=device,
                                           show_progress=show_progress)
            if out is not None:
                (out / "eval.json").write_text(json.dumps(
                    {"config": config.name, "iterations": done, "seed": seed,
                     "eval_seed": config.eval_seed, **evaluation}, indent=2) + "\n")
    if world_size > 1:
        dist.barrier()
    model.eval()
    return TrainResult(model=model, config=config, log=log, evaluation=evaluation,
                       iteration=done)


def build_parser():
    """The command line of ``python -m lecturepkg.detection.train`` (an ``argparse`` parser)."""
    parser = argparse.ArgumentParser(
        prog="python -m lecturepkg.detection.train",
        description="Train Mask R-CNN on synthetic shapes (lecturepkg.detection).")
    parser.add_argument("--config", choices=sorted(CONFIGS), default="tiny",
                        help="named configuration (lecturepkg.detection.configs)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--iterations", type=int, default=None,
                        help="total iterations (default: the configuration's)")
    parser.add_argument("--resume", action="store_true",
                        help="continue from OUT/last.pt")
    parser.add_argument("--device", choices=("cpu", "cuda"), default=None,
                        help="default: cuda when available")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and data")
    parser.add_argument("--eval-images", type=int, default=None,
                        help="held-out images evaluated at the end (0: none)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="images per process and iteration (default: the configuration's)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads on a CPU")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def _git_commit() -> str:
    here = pathlib.Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                                text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return commit or "unknown (not a git checkout)"


def main(argv: Sequence[str] | None = None) -> TrainResult:
    """Parse the command line, join ``torchrun``'s process group if any, and train."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.threads is not None:
        if args.threads < 1:
            raise ValueError(f"--threads must be >= 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    joined = False
    if world_size > 1 and not dist.is_initialized():
        cuda = args.device == "cuda" or (args.device is None and torch.cuda.is_available())
        if cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
        # rank 0 evaluates alone at the end while the others wait at a barrier: allow it
        # an hour (NCCL's default is 10 minutes)
        dist.init_process_group("nccl" if cuda else "gloo",
                                timeout=datetime.timedelta(hours=1))
        joined = True
    rank = dist.get_rank() if dist.is_initialized() else 0
    overrides = {} if args.batch_size is None else {"batch_size": args.batch_size}
    if rank == 0:
        out = pathlib.Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        launcher = "torchrun --nproc_per_node=%d -m" % world_size if world_size > 1 \
            else "python -m"
        # quoted where needed (an --out with a space), so that the line runs as written
        lines = [f"{launcher} lecturepkg.detection.train {shlex.join(argv)}",
                 f"# torch {torch.__version__}, python {platform.python_version()}, "
                 f"threads {torch.get_num_threads()}",
                 f"# git commit {_git_commit()}",
                 f"# started {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}"]
        name = "command-resume.txt" if args.resume else "command.txt"
        (out / name).write_text("\n".join(lines) + "\n")
    try:
        result = train_mask_rcnn(args.config, args.out, iterations=args.iterations,
                                 seed=args.seed, device=args.device, resume=args.resume,
                                 eval_images=args.eval_images,
                                 show_progress=not args.no_progress, **overrides)
        if rank == 0 and result.evaluation is not None:
            ev = result.evaluation
            print(f"held-out images: {ev['images']}; box AP {ev['bbox']['AP']:.3f} "
                  f"AP50 {ev['bbox']['AP50']:.3f}; mask AP {ev['segm']['AP']:.3f} "
                  f"AP50 {ev['segm']['AP50']:.3f} AP75 {ev['segm']['AP75']:.3f}")
    finally:
        if joined:
            dist.destroy_process_group()
    return result


if __name__ == "__main__":
    main()
