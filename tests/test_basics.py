"""Device selection, seeding, the status report, the digits data and the small models."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from packaging.version import Version
from sklearn.datasets import load_digits

from lecturepkg import get_device, seed_everything
from lecturepkg.device import torch_threads
from lecturepkg.counting import count_parameters
from lecturepkg.data import load_digits_split
from lecturepkg.models import DigitsLeNet, LeNet5, MnistConvNet
from lecturepkg.status import environment_report, package_versions


def test_get_device_follows_cuda_availability(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert get_device() == torch.device("cpu")
    with pytest.raises(RuntimeError, match="cuda"):
        get_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert get_device() == torch.device("cuda")
    assert get_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="prefer"):
        get_device("gpu")


def test_seed_everything_makes_every_generator_repeat():
    def draw():
        rng = seed_everything(42)
        return random.random(), np.random.rand(), torch.rand(1).item(), rng.random()

    first, second = draw(), draw()
    assert first == second
    assert seed_everything(1).random() != seed_everything(2).random()
    with pytest.raises(ValueError, match="seed"):
        seed_everything(-1)
    with pytest.raises(TypeError, match="seed"):
        seed_everything(1.5)


def test_status_report_lists_versions_and_device():
    report = environment_report()
    # the installed distribution's version is the one torch reports (up to a local "+cu130"
    # tag, which the distribution's metadata may or may not carry)
    assert Version(report["torch"]).public == Version(torch.__version__).public
    assert report["device"] in ("cpu", "cuda")
    assert package_versions(["surely-not-a-package-xyz"]) == {"surely-not-a-package-xyz": "not installed"}
    with pytest.raises(TypeError, match="packages"):
        package_versions("torch")


def test_digits_split_is_the_real_dataset_stratified_and_seeded():
    d = load_digits_split(test_size=0.25, seed=0)
    raw = load_digits()
    assert d.x_train.shape == (1347, 1, 8, 8) and d.x_test.shape == (450, 1, 8, 8)
    assert d.x_train.dtype == torch.float32 and d.y_train.dtype == torch.int64
    assert float(d.x_train.max()) == 1.0 and float(d.x_train.min()) == 0.0
    # the images are the dataset's, scaled by 1/16 (oracle: sklearn's own arrays)
    all_x = torch.cat([d.x_train, d.x_test]).flatten(1) * 16
    raw_rows = {tuple(r) for r in raw.data.astype(int).tolist()}
    assert all(tuple(r) in raw_rows for r in all_x.round().int().tolist()[:200])
    # stratified: every class keeps its share (to within one image)
    for c in range(10):
        share = (raw.target == c).mean() * 450
        assert abs(int((d.y_test == c).sum()) - share) <= 1
    again = load_digits_split(seed=0)
    assert torch.equal(again.y_test, d.y_test)
    assert not torch.equal(load_digits_split(seed=1).y_test, d.y_test)
    with pytest.raises(ValueError, match="test_size"):
        load_digits_split(test_size=1.5)


@pytest.mark.parametrize("model, shape, params", [
    (MnistConvNet(), (2, 1, 28, 28), 105_506),
    (LeNet5(), (2, 1, 32, 32), 61_706),  # LeCun et al. (1998) layout with 10 outputs
    (DigitsLeNet(), (2, 1, 8, 8), None),
])
def test_models_map_images_to_class_scores(model, shape, params):
    out = model(torch.zeros(shape))
    assert out.shape == (2, 10)
    if params is not None:
        assert count_parameters(model) == params


def test_model_arguments_are_checked():
    with pytest.raises(ValueError, match="num_classes"):
        DigitsLeNet(num_classes=0)
    with pytest.raises(ValueError, match="dropout"):
        DigitsLeNet(dropout=1.0)
    with pytest.raises(TypeError, match="in_channels"):
        LeNet5(in_channels=1.0)


def test_torch_threads_sets_and_restores_the_count():
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError):
        with torch_threads(1):
            raise RuntimeError("boom")
    assert torch.get_num_threads() == before  # restored after an exception too
    with pytest.raises(ValueError, match="n must be >= 1"):
        with torch_threads(0):
            pass


@pytest.mark.parametrize("cores, expected", [(1, 1), (2, 1), (4, 1), (16, None)])
def test_page_threads_uses_one_thread_on_small_cpus_only(monkeypatch, cores, expected):
    from lecturepkg import page_threads

    monkeypatch.setattr("os.cpu_count", lambda: cores)
    with torch_threads(3):  # a known count before, restored after the test
        got = page_threads()
        assert got == torch.get_num_threads() == (expected or 3)
    with pytest.raises(ValueError, match="max_cores must be >= 1"):
        page_threads(max_cores=0)
