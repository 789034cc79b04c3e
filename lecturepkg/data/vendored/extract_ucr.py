"""Maintainer script (not imported by the package): re-create ``basicmotions.npz`` and ``gunpoint.npz``.

The UEA & UCR time series classification archive ships with the ``aeon`` package. We do not
depend on aeon; we read its ``.ts`` files straight out of the wheel and save compact arrays::

    pip download aeon==1.6.0 --no-deps -d /tmp/aeonwhl
    python lecturepkg/data/vendored/extract_ucr.py /tmp/aeonwhl/aeon-1.6.0-py3-none-any.whl

The output is byte-for-byte reproducible (fixed zip timestamps), so the sha256 sums recorded
in ``PROVENANCE.md`` and in ``lecturepkg/data/timeseries.py`` can be re-checked.

The ``.ts`` format (sktime/aeon): ``#`` comment lines (the data set's description), ``@key
value`` header lines up to ``@data``, then one case per line: the dimensions separated by
``:``, the values of a dimension separated by ``,``, the class label last.
"""

from __future__ import annotations

import io
import pathlib
import sys
import zipfile

import numpy as np

DATASETS = {"BasicMotions": "basicmotions.npz", "GunPoint": "gunpoint.npz"}
HERE = pathlib.Path(__file__).resolve().parent


def parse_ts(text: str) -> tuple[np.ndarray, np.ndarray, list[str], str]:
    """Parse an equal-length, missing-free ``.ts`` file: x (N, C, L) float32, labels, classes, description."""
    header, description, cases = {}, [], []
    lines = iter(text.splitlines())
    for line in lines:
        line = line.strip()
        if line.startswith("#"):
            description.append(line[1:].strip())
        elif line.lower() == "@data":
            break
        elif line.startswith("@"):
            key, _, value = line[1:].partition(" ")
            header[key.lower()] = value.strip()
    assert header["equallength"] == "true" and header["missing"] == "false", header
    assert header["timestamps"] == "false", header
    classes = header["classlabel"].split()
    assert classes[0] == "true", header["classlabel"]
    classes = classes[1:]
    labels = []
    for line in lines:
        if not line.strip():
            continue
        *dims, label = line.strip().split(":")
        cases.append([[float(v) for v in dim.split(",")] for dim in dims])
        labels.append(classes.index(label))
    x = np.asarray(cases, dtype=np.float64)  # (N, C, L)
    n_dims = int(header.get("dimensions", 1))
    assert x.shape[1:] == (n_dims, int(header["serieslength"])), (x.shape, header)
    assert np.all(np.isfinite(x))
    return x.astype(np.float32), np.asarray(labels, dtype=np.int64), classes, " ".join(description)


def write_npz(path: pathlib.Path, arrays: dict[str, np.ndarray]) -> None:
    """Like ``np.savez_compressed`` but with fixed timestamps, so the bytes are reproducible."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)  # 0-d stays 0-d
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buffer.getvalue(), compresslevel=9)


def main(wheel: str) -> None:
    with zipfile.ZipFile(wheel) as whl:
        for name, out in DATASETS.items():
            parts = {}
            for split in ("TRAIN", "TEST"):
                text = whl.read(f"aeon/datasets/data/{name}/{name}_{split}.ts").decode("utf-8")
                parts[split] = parse_ts(text)
            (x_tr, y_tr, classes, description), (x_te, y_te, classes_te, _) = parts["TRAIN"], parts["TEST"]
            assert classes == classes_te
            write_npz(HERE / out, {
                "x_train": x_tr, "y_train": y_tr, "x_test": x_te, "y_test": y_te,
                "class_names": np.asarray(classes), "description": np.asarray(description),
            })
            print(f"{out}: train {x_tr.shape}, test {x_te.shape}, classes {classes}")


if __name__ == "__main__":
    main(sys.argv[1])
