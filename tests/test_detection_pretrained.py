"""The Mask R-CNN checkpoint the package ships (lecturepkg/detection/checkpoints/shapes-tiny).

Oracles: the recorded command line (``command.txt``), parsed by the training script's own
parser, must give the configuration stored in ``model.pt``; the recorded evaluation
(``eval.json``) is recomputed on a handful of the same held-out images, with the COCO
evaluation that is tested against pycocotools, and must be reached roughly.
"""

from __future__ import annotations

import json
import shlex

import pytest
import torch

from lecturepkg.detection.checkpoint import CHECKPOINTS, load_checkpoint, load_pretrained_shapes
from lecturepkg.detection.configs import get_config
from lecturepkg.detection.train import LOSS_NAMES, build_parser, evaluate_detector, shapes_data

FOLDER = CHECKPOINTS / "shapes-tiny"


@pytest.fixture(autouse=True)
def _threads(one_torch_thread):
    yield


@pytest.fixture(scope="module")
def pretrained():
    return load_pretrained_shapes()


def test_the_folder_holds_weights_command_log_evaluation_and_readme():
    names = {p.name for p in FOLDER.iterdir()}
    assert names == {"model.pt", "command.txt", "log.jsonl", "eval.json", "README.md"}
    assert (FOLDER / "model.pt").stat().st_size < 5 * 2**20


def test_the_recorded_command_gives_the_stored_config(pretrained):
    model, config = pretrained
    lines = (FOLDER / "command.txt").read_text().splitlines()
    words = shlex.split(lines[0])
    assert words[:3] == ["python", "-m", "lecturepkg.detection.train"]
    args = build_parser().parse_args(words[3:])
    overrides = {}
    if args.iterations is not None:
        overrides["iterations"] = args.iterations
    if args.batch_size is not None:
        overrides["batch_size"] = args.batch_size
    assert config == get_config(args.config, **overrides)
    assert any(line.startswith("# torch ") for line in lines)
    assert any(line.startswith("# git commit ") for line in lines)
    state = load_checkpoint(FOLDER / "model.pt")
    assert state["seed"] == args.seed and state["iteration"] == config.iterations
    evaluation = json.loads((FOLDER / "eval.json").read_text())
    assert (evaluation["config"], evaluation["iterations"], evaluation["seed"]) == (
        config.name, config.iterations, args.seed)
    expected_images = config.eval_images if args.eval_images is None else args.eval_images
    assert evaluation["images"] == expected_images


def test_the_log_covers_the_run_and_the_loss_fell(pretrained):
    _, config = pretrained
    log = [json.loads(line) for line in (FOLDER / "log.jsonl").read_text().splitlines()]
    assert [e["iteration"] for e in log] == list(
        range(config.log_every, config.iterations + 1, config.log_every))
    for e in log:
        assert e["loss"] == pytest.approx(sum(e[name] for name in LOSS_NAMES))
    first = sum(e["loss"] for e in log[:5]) / 5
    last = sum(e["loss"] for e in log[-5:]) / 5
    assert last < 0.5 * first
    # the learning rate dropped tenfold at three quarters of the run
    drop = round(0.75 * config.iterations)
    assert [e["lr"] for e in log if e["iteration"] == drop][0] == pytest.approx(config.lr)
    assert log[-1]["lr"] == pytest.approx(0.1 * config.lr)


def test_the_model_reaches_its_recorded_ap_on_held_out_images(pretrained):
    model, config = pretrained
    assert not model.training
    recorded = json.loads((FOLDER / "eval.json").read_text())
    held_out = shapes_data(config, config.eval_seed, 24)  # the first 24 of eval.json's
    with torch.no_grad():
        ours = evaluate_detector(model, held_out)
    for iou_type in ("bbox", "segm"):
        assert ours[iou_type]["AP50"] > recorded[iou_type]["AP50"] - 0.15, iou_type
        assert ours[iou_type]["AP50"] > 0.6, iou_type


def test_an_unknown_checkpoint_name_raises():
    with pytest.raises(ValueError, match="name must be one of the shipped checkpoints"):
        load_pretrained_shapes("shapes-huge")
