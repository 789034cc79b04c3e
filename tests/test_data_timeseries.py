"""The vendored UEA/UCR time series: checksums, shapes and class counts as the archive gives
them, a corrupted copy refused, and clear errors for bad arguments."""

from __future__ import annotations

import hashlib
import pathlib
import re
import shutil

import numpy as np
import pytest
import torch

from lecturepkg.data._vendored import VENDORED_DIR, sha256_of, verified_path
from lecturepkg.data.timeseries import TIMESERIES_FILES, TimeSeriesData, load_timeseries

PROVENANCE = VENDORED_DIR / "PROVENANCE.md"

# The archive's published summary (timeseriesclassification.com; Bagnall et al. 2018,
# Dau et al. 2019): train size, test size, dimensions, length, classes.
ARCHIVE = {
    "BasicMotions": (40, 40, 6, 100, 4),
    "GunPoint": (50, 150, 1, 150, 2),
}
# Cases per class, counted in the .ts files of the aeon 1.6.0 wheel (label order of @classLabel).
CLASS_COUNTS = {
    "BasicMotions": ([10, 10, 10, 10], [10, 10, 10, 10]),
    "GunPoint": ([24, 26], [76, 74]),
}


@pytest.mark.parametrize("name", sorted(TIMESERIES_FILES))
def test_vendored_file_matches_its_recorded_checksum(name):
    filename, expected = TIMESERIES_FILES[name]
    data = (VENDORED_DIR / filename).read_bytes()
    assert hashlib.sha256(data).hexdigest() == expected  # hashlib, not the code under test
    assert sha256_of(VENDORED_DIR / filename) == expected


@pytest.mark.parametrize("name", sorted(TIMESERIES_FILES))
def test_provenance_records_the_same_checksum(name):
    filename, expected = TIMESERIES_FILES[name]
    rows = [line for line in PROVENANCE.read_text().splitlines() if line.startswith(f"| `{filename}`")]
    assert len(rows) == 1, f"PROVENANCE.md must have one table row for {filename}"
    assert expected in rows[0]
    size = int(re.search(r"\| ([\d,]+) \|", rows[0]).group(1).replace(",", ""))
    assert size == (VENDORED_DIR / filename).stat().st_size


@pytest.mark.parametrize("name", sorted(ARCHIVE))
def test_shapes_dtypes_and_sizes_match_the_archive(name):
    d = load_timeseries(name)
    n_train, n_test, dims, length, classes = ARCHIVE[name]
    assert isinstance(d, TimeSeriesData) and d.name == name
    assert d.x_train.shape == (n_train, dims, length) and d.x_test.shape == (n_test, dims, length)
    assert d.x_train.dtype == d.x_test.dtype == torch.float32
    assert d.y_train.dtype == d.y_test.dtype == torch.int64
    assert d.y_train.shape == (n_train,) and d.y_test.shape == (n_test,)
    assert (d.num_classes, d.in_channels, d.length) == (classes, dims, length)
    assert torch.isfinite(d.x_train).all() and torch.isfinite(d.x_test).all()
    assert isinstance(d.description, str)  # the .ts header's description travels with the data
    start = {"BasicMotions": "The data was generated", "GunPoint": "This dataset involves"}[name]
    assert d.description.startswith(start)


@pytest.mark.parametrize("name", sorted(CLASS_COUNTS))
def test_class_counts_as_in_the_archive_split(name):
    d = load_timeseries(name)
    train, test = CLASS_COUNTS[name]
    assert torch.bincount(d.y_train, minlength=d.num_classes).tolist() == train
    assert torch.bincount(d.y_test, minlength=d.num_classes).tolist() == test


def test_class_names_follow_the_header():
    assert load_timeseries("BasicMotions").class_names == ("Standing", "Running", "Walking", "Badminton")
    assert load_timeseries("GunPoint").class_names == ("1", "2")


def test_gunpoint_is_z_normalized_per_series():
    d = load_timeseries("GunPoint")
    x = torch.cat([d.x_train, d.x_test]).double()[:, 0]  # (200, 150)
    torch.testing.assert_close(x.mean(dim=1), torch.zeros(200, dtype=torch.float64), atol=1e-5, rtol=0)
    # the archive normalizes with the population (1/n) or sample (1/(n-1)) deviation: allow both
    std = x.std(dim=1, correction=0)
    assert torch.all((std - 1).abs() < 4e-3)


def test_train_and_test_cases_differ():
    for name in ARCHIVE:
        d = load_timeseries(name)
        flat_train = {tuple(np.round(r, 5)) for r in d.x_train.flatten(1).numpy()}
        assert not any(tuple(np.round(r, 5)) in flat_train for r in d.x_test.flatten(1).numpy())


def test_a_good_copy_elsewhere_loads_identically(tmp_path):
    filename, _ = TIMESERIES_FILES["GunPoint"]
    shutil.copy(VENDORED_DIR / filename, tmp_path / filename)
    a, b = load_timeseries("GunPoint"), load_timeseries("GunPoint", data_dir=tmp_path)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)


@pytest.mark.parametrize("name", sorted(TIMESERIES_FILES))
def test_a_corrupted_copy_is_refused(tmp_path, name):
    filename, expected = TIMESERIES_FILES[name]
    data = bytearray((VENDORED_DIR / filename).read_bytes())
    data[len(data) // 2] ^= 0x01  # flip one bit
    (tmp_path / filename).write_bytes(bytes(data))
    with pytest.raises(ValueError, match="checksum mismatch") as err:
        load_timeseries(name, data_dir=tmp_path)
    assert expected in str(err.value) and filename in str(err.value)


def test_a_truncated_copy_is_refused(tmp_path):
    filename, _ = TIMESERIES_FILES["BasicMotions"]
    (tmp_path / filename).write_bytes((VENDORED_DIR / filename).read_bytes()[:1000])
    with pytest.raises(ValueError, match="checksum mismatch"):
        load_timeseries("BasicMotions", data_dir=tmp_path)


def test_a_missing_file_names_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="data_dir"):
        load_timeseries("GunPoint", data_dir=tmp_path)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="name must be one of"):
        load_timeseries("gunpoint")
    with pytest.raises(TypeError, match="name"):
        load_timeseries(3)
    with pytest.raises(TypeError, match="data_dir"):
        load_timeseries("GunPoint", data_dir=3)


def test_verified_path_checks_what_it_is_given(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc")
    digest = hashlib.sha256(b"abc").hexdigest()
    assert verified_path("f.bin", digest, tmp_path) == pathlib.Path(tmp_path) / "f.bin"
    with pytest.raises(ValueError, match="checksum mismatch"):
        verified_path("f.bin", "0" * 64, tmp_path)
