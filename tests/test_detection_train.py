"""Training Mask R-CNN on the shapes: schedule, log, checkpoints and resume, CLI, DDP.

Oracles: the loss of a fixed held-out batch measured before and after training (it must
fall); an uninterrupted run (a run stopped and resumed from its checkpoint must end with
bit-identical weights and log); ``lr_factor`` written out by hand from the paper's
schedule (warmup, 10x drop at 3/4); two processes of ``DistributedDataParallel`` on the gloo
backend, started by ``torch.multiprocessing`` and by ``torchrun`` (their replicas must stay
identical and move away from the initial weights; the rate doubles by the linear scaling
rule).
Runs use a test-only setting of the tiny configuration (64-pixel images, 2 images per
iteration, a few proposals) so the whole file takes seconds.
"""

from __future__ import annotations

import datetime
import json
import os
import random
import shlex
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from lecturepkg.detection.checkpoint import (
    load_checkpoint, load_weights, save_checkpoint, save_weights,
)
from lecturepkg.detection.configs import GPU, TINY, TrainConfig, build_model, get_config, lr_factor
from lecturepkg.detection.train import (
    LOSS_NAMES, evaluate_detector, main, shapes_data, train_mask_rcnn,
)
from lecturepkg.detection.shapes import collate_detections
import lecturepkg.detection.train as train_module

# the test-only setting: small images, batches and proposal counts
SMALL = dict(image_size=64, batch_size=2, rpn_pre_nms_top_n_train=100,
             rpn_post_nms_top_n_train=50, rpn_pre_nms_top_n_test=50, rpn_post_nms_top_n_test=25,
             rpn_batch_size_per_image=32, box_batch_size_per_image=16, warmup_iterations=2,
             log_every=1, checkpoint_every=2)
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
# generous limits for a loaded machine: a hung process fails the test instead of the run
TIMEOUT = datetime.timedelta(minutes=3)


def run_command(command: list) -> subprocess.CompletedProcess:
    """Run ``command`` in its own process group; past TIMEOUT, kill the group and fail."""
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=ENV, start_new_session=True) as process:
        try:
            stdout, stderr = process.communicate(timeout=TIMEOUT.total_seconds())
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # torchrun's workers too
            process.communicate()
            pytest.fail(f"{' '.join(command)} did not finish within {TIMEOUT}")
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


@pytest.fixture(autouse=True)
def _threads(one_torch_thread):
    yield


def fixed_batch_loss(model, config) -> float:
    """The summed loss of 4 held-out images, with the samplers seeded."""
    images, targets = collate_detections(list(shapes_data(config, config.eval_seed, 4)))
    model.train()
    torch.manual_seed(123)
    with torch.no_grad():
        losses = model(images, targets)
    return float(sum(losses.values()))


def test_training_lowers_the_loss_of_a_held_out_batch_and_logs_every_term():
    config = get_config("tiny", iterations=12, **SMALL)
    torch.manual_seed(0)
    before = fixed_batch_loss(build_model(config), config)
    result = train_mask_rcnn(config, None, seed=0, eval_images=0, show_progress=False)
    assert result.evaluation is None and not result.model.training
    after = fixed_batch_loss(result.model, config)
    assert after < 0.75 * before, (before, after)

    assert [e["iteration"] for e in result.log] == list(range(1, 13))
    for e in result.log:
        assert set(e) == {"iteration", "lr", "loss", *LOSS_NAMES, "images", "seconds"}
        assert e["loss"] == pytest.approx(sum(e[name] for name in LOSS_NAMES))
        assert e["images"] == 2 * e["iteration"]
        assert e["lr"] == pytest.approx(config.lr_at(e["iteration"] - 1))


def test_schedule_is_warmup_then_a_tenfold_drop_at_three_quarters():
    config = get_config("tiny", iterations=400, warmup_iterations=100, warmup_factor=0.001,
                        lr=0.02)
    assert lr_factor(config, 0) == pytest.approx(0.001)
    assert lr_factor(config, 50) == pytest.approx(0.001 * 0.5 + 0.5)
    assert [lr_factor(config, i) for i in (100, 299)] == [1.0, 1.0]
    assert [config.lr_at(i) for i in (300, 399)] == pytest.approx([0.002, 0.002])
    # the paper: 160k iterations, lr 0.02 dropped to 0.002 at 120k
    paper = get_config("tiny", iterations=160_000, warmup_iterations=0, lr=0.02)
    assert paper.lr_at(119_999) == pytest.approx(0.02)
    assert paper.lr_at(120_000) == pytest.approx(0.002)
    for c in (TINY, GPU):
        assert (c.momentum, c.weight_decay, c.lr_steps, c.lr_gamma) == (0.9, 1e-4, (0.75,), 0.1)


def test_resume_equals_an_uninterrupted_run_bit_for_bit(tmp_path):
    kwargs = dict(iterations=5, seed=3, eval_images=2, show_progress=False, **SMALL)
    whole = train_mask_rcnn("tiny", tmp_path / "whole", **kwargs)
    first = train_mask_rcnn("tiny", tmp_path / "cut", stop_after=3, **kwargs)
    assert first.iteration == 3 and first.evaluation is None
    assert not (tmp_path / "cut" / "model.pt").exists()
    resumed = train_mask_rcnn("tiny", tmp_path / "cut", resume=True, **kwargs)
    assert resumed.iteration == 5

    a = load_checkpoint(tmp_path / "whole" / "model.pt")["model"]
    b = load_checkpoint(tmp_path / "cut" / "model.pt")["model"]
    assert list(a) == list(b)
    for key in a:
        assert torch.equal(a[key], b[key]), key
    strip = [{k: v for k, v in e.items() if k != "seconds"} for e in whole.log]
    assert [{k: v for k, v in e.items() if k != "seconds"} for e in resumed.log] == strip
    on_disk = (tmp_path / "cut" / "log.jsonl").read_text().splitlines()
    assert [{k: v for k, v in json.loads(line).items() if k != "seconds"}
            for line in on_disk] == strip
    assert resumed.evaluation == whole.evaluation
    saved = json.loads((tmp_path / "cut" / "eval.json").read_text())
    for iou_type in ("bbox", "segm"):
        assert set(saved[iou_type]) >= {"AP", "AP50", "AP75"}
        assert saved[iou_type] == whole.evaluation[iou_type]

    # a different seed or configuration cannot resume this run (checked before loading:
    # another model's weights would not even fit)
    with pytest.raises(ValueError, match="another run"):
        train_mask_rcnn("tiny", tmp_path / "cut", resume=True,
                        **{**kwargs, "seed": 4})
    with pytest.raises(ValueError, match="another run"):
        train_mask_rcnn("tiny", tmp_path / "cut", resume=True,
                        **{**kwargs, "fpn_channels": 32})


def test_checkpoints_rebuild_the_model_and_its_config(tmp_path):
    result = train_mask_rcnn("tiny", tmp_path, iterations=2, seed=1, eval_images=0,
                             show_progress=False, **SMALL)
    model, config = load_weights(tmp_path / "model.pt")
    assert config == result.config and not model.training
    ours = result.model.state_dict()
    for key, value in model.state_dict().items():
        assert torch.equal(value, ours[key]), key
    state = load_checkpoint(tmp_path / "last.pt")
    assert state["iteration"] == 2 and state["seed"] == 1
    assert set(state) >= {"model", "optimizer", "scheduler", "scaler", "rng", "config"}
    with pytest.raises(ValueError, match="weights only"):
        load_checkpoint(tmp_path / "model.pt", optimizer=torch.optim.SGD(
            model.parameters(), lr=0.1))
    with pytest.raises(FileNotFoundError, match="path"):
        load_checkpoint(tmp_path / "missing.pt")


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(config="huge"), ValueError, "name must be one of"),
    (dict(seed=TINY.eval_seed), ValueError, "seed must differ"),
    (dict(seed=-1), ValueError, "seed must be >= 0"),
    (dict(seed=1.5), TypeError, "seed must be an int"),
    (dict(iterations=0), ValueError, "iterations must be a positive int"),
    (dict(eval_images=-1), ValueError, "eval_images"),
    (dict(stop_after=0), ValueError, "stop_after must be >= 1"),
    (dict(resume=True), ValueError, "resume=True needs an out_dir"),
    (dict(device="tpu"), ValueError, "device must be 'cpu' or 'cuda'"),
    (dict(device="meta"), ValueError, "device must be 'cpu' or 'cuda'"),
    (dict(unknown_field=1), ValueError, "unknown_field"),
])
def test_bad_arguments_raise(kwargs, error, match):
    kwargs = {"config": "tiny", **kwargs}
    with pytest.raises(error, match=match):
        train_mask_rcnn(kwargs.pop("config"), None, show_progress=False, **kwargs)


def test_configs_are_frozen_and_checked():
    with pytest.raises(Exception, match="cannot assign"):
        TINY.lr = 1.0
    with pytest.raises(ValueError, match="backbone must be one of"):
        TrainConfig(name="x", backbone="vgg")
    with pytest.raises(ValueError, match="lr_steps"):
        TrainConfig(name="x", lr_steps=(1.5,))
    with pytest.raises(TypeError, match="config must be a TrainConfig"):
        build_model("tiny")


def test_cli_help_and_a_two_iteration_run(tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:  # the parser of ``python -m ... --help``
        main(["--help"])
    assert stopped.value.code == 0
    help_text = capsys.readouterr().out
    for option in ("--config", "--out", "--iterations", "--resume", "--device", "--seed",
                   "--eval-images"):
        assert option in help_text
    out = tmp_path / "a folder"  # a space: command.txt must quote it
    args = ["--config", "tiny", "--out", str(out), "--iterations", "2", "--seed", "5",
            "--device", "cpu", "--eval-images", "2", "--batch-size", "2", "--threads", "1",
            "--no-progress"]
    command = [sys.executable, "-m", "lecturepkg.detection.train"]
    run = run_command(command + args)
    assert run.returncode == 0, run.stderr
    assert "mask AP" in run.stdout
    first_line = (out / "command.txt").read_text().splitlines()[0]
    assert shlex.split(first_line) == ["python", "-m", "lecturepkg.detection.train", *args]
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert log[-1]["iteration"] == 2
    evaluation = json.loads((out / "eval.json").read_text())
    assert evaluation["images"] == 2 and evaluation["seed"] == 5
    _, config = load_weights(out / "model.pt")
    assert config == get_config("tiny", iterations=2, batch_size=2)


def _ddp_worker(rank: int, world_size: int, folder: str) -> None:
    torch.set_num_threads(1)
    # the processes meet through a file of the test's own folder: no port to pick or share
    dist.init_process_group("gloo", init_method=f"file://{folder}/rendezvous", rank=rank,
                            world_size=world_size, timeout=TIMEOUT)
    # record which training images this rank reads (the module looks shapes_data up by name)
    read: list[int] = []
    make_data = train_module.shapes_data

    class Recording:
        def __init__(self, data):
            self.data = data

        def __len__(self):
            return len(self.data)

        def __getitem__(self, index):
            read.append(int(index))
            return self.data[index]

    train_module.shapes_data = lambda *args, **kwargs: Recording(make_data(*args, **kwargs))
    try:
        out = os.path.join(folder, "run") if rank == 0 else None
        result = train_mask_rcnn("tiny", out, iterations=3, seed=2, eval_images=0,
                                 show_progress=False, device="cpu", **SMALL)
        torch.save({"model": result.model.state_dict(), "log": result.log, "read": read},
                   os.path.join(folder, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def test_ddp_replicas_on_two_gloo_processes_stay_identical(tmp_path):
    mp.spawn(_ddp_worker, args=(2, str(tmp_path)), nprocs=2, join=True)
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    config = get_config("tiny", iterations=3, **SMALL)
    torch.manual_seed(2)
    initial = build_model(config).state_dict()
    moved = 0
    for key, value in r0["model"].items():  # parameters and batch-norm statistics
        assert torch.equal(value, r1["model"][key]), key
        moved += not torch.equal(value, initial[key])
    assert moved > 0.9 * len(initial)  # nearly every tensor changed (not num_batches_tracked)
    # both ranks log the mean over the processes; the rate is doubled (linear scaling)
    assert r0["log"] == [{**e, "seconds": r0["log"][i]["seconds"]}
                         for i, e in enumerate(r1["log"])]
    assert [e["lr"] for e in r0["log"]] == pytest.approx(
        [2 * config.lr_at(i) for i in range(3)])
    assert [e["images"] for e in r0["log"]] == [4, 8, 12]
    # each rank read its own images: together every one of the 12 images once, in turns
    # of one batch (2 images) per rank and iteration
    assert sorted(r0["read"] + r1["read"]) == list(range(12))
    assert r0["read"] == [0, 1, 4, 5, 8, 9] and r1["read"] == [2, 3, 6, 7, 10, 11]
    assert (tmp_path / "run" / "model.pt").is_file()


def test_the_gpu_config_builds_a_resnet50_fpn_mask_rcnn_that_trains():
    config = get_config("gpu", image_size=64)
    assert (config.backbone, config.batch_size, config.amp) == ("resnet50", 16, True)
    torch.manual_seed(0)
    model = build_model(config)
    assert model.backbone.out_channels == 256
    assert model.backbone.body.layer4[0].conv3.out_channels == 2048  # ResNet-50's C5
    trainable = [p.requires_grad for p in model.backbone.parameters()]
    assert all(trainable)  # from scratch: every stage and its batch norms train
    images, targets = collate_detections(list(shapes_data(config, 0, 2)))
    losses = model(images, targets)
    assert set(losses) == set(LOSS_NAMES)
    assert all(torch.isfinite(v) for v in losses.values())
    # every trainable parameter takes part in the loss: DistributedDataParallel needs no
    # find_unused_parameters (it would fail at the second iteration otherwise)
    sum(losses.values()).backward()
    unused = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not unused, unused


def test_torchrun_runs_the_command_line_on_two_gloo_processes(tmp_path):
    args = ["--config", "tiny", "--out", str(tmp_path), "--iterations", "2", "--seed", "4",
            "--device", "cpu", "--eval-images", "0", "--batch-size", "2", "--threads", "1",
            "--no-progress"]
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node=2", "-m", "lecturepkg.detection.train"]
    # --standalone: the rendezvous picks a free port itself (localhost:0)
    run = run_command(command + args)
    assert run.returncode == 0, run.stderr[-3000:]
    first_line = (tmp_path / "command.txt").read_text().splitlines()[0]
    assert first_line == ("torchrun --nproc_per_node=2 -m lecturepkg.detection.train "
                          + " ".join(args))
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [e["images"] for e in log] == [8]  # 2 processes x 2 images x 2 iterations
    config = get_config("tiny", iterations=2, batch_size=2)
    assert log[0]["lr"] == pytest.approx(2 * config.lr_at(1))  # linear scaling rule
    _, saved = load_weights(tmp_path / "model.pt")
    assert saved == config


def test_a_checkpoint_restores_the_random_generators(tmp_path):
    config = get_config("tiny", **SMALL)
    model = build_model(config)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    random.seed(7), np.random.seed(7), torch.manual_seed(7)
    save_checkpoint(tmp_path / "last.pt", model, optimizer,
                    torch.optim.lr_scheduler.LambdaLR(optimizer, lambda it: 1.0),
                    torch.amp.GradScaler("cpu", enabled=False), iteration=0, config=config,
                    seed=0)

    def draws():
        return (random.random(), float(np.random.standard_normal()), torch.rand(3).tolist())

    expected = draws()
    assert draws() != expected
    load_checkpoint(tmp_path / "last.pt", restore_rng=True)
    assert draws() == expected
    with pytest.raises(ValueError, match="no random generator states"):
        save_weights(tmp_path / "model.pt", model, config, iteration=0, seed=0)
        load_checkpoint(tmp_path / "model.pt", restore_rng=True)


def test_evaluation_and_checkpoint_helpers_refuse_bad_input(tmp_path):
    config = get_config("tiny", **SMALL)
    model = build_model(config)
    with pytest.raises(TypeError, match="model must be an nn.Module"):
        evaluate_detector("model", shapes_data(config, 1, 2))
    with pytest.raises(ValueError, match="dataset must be a non-empty"):
        evaluate_detector(model, [])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="iteration must be >= 0"):
        save_checkpoint(tmp_path / "x.pt", model, optimizer, None, None, iteration=-1,
                        config=config, seed=0)
    with pytest.raises(TypeError, match="config must be a TrainConfig"):
        save_weights(tmp_path / "x.pt", model, "tiny", iteration=0, seed=0)
    torch.save({"format": 0}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a checkpoint of lecturepkg.detection"):
        load_checkpoint(tmp_path / "other.pt")
