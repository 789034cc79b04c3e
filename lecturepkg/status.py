"""What the book was built with: package versions and the compute device.

Used by the book's status page so that a reader can see exactly which environment produced
every number in the book.
"""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata

import torch

#: The distributions whose versions the status page reports.
PACKAGES = (
    "lecturepkg", "torch", "torchvision", "numpy", "scipy", "scikit-learn", "scikit-image",
    "matplotlib", "ipywidgets", "tqdm", "jupyter-book", "myst-nb", "sphinx",
    "sphinx-book-theme", "jupytext", "nbval", "pytest", "hypothesis",
)


def package_versions(packages=PACKAGES) -> dict[str, str]:
    """Installed version of each distribution name (``"not installed"`` when absent)."""
    if isinstance(packages, str) or not all(isinstance(p, str) for p in packages):
        raise TypeError("packages must be an iterable of distribution names (str)")
    versions = {}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def device_report() -> dict[str, str]:
    """The compute device a notebook picks with :func:`lecturepkg.get_device`, described."""
    report = {
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "cpu": platform.processor() or platform.machine(),
        "cpu cores": str(os.cpu_count()),
        "torch threads": str(torch.get_num_threads()),
    }
    if torch.cuda.is_available():
        report["gpu"] = torch.cuda.get_device_name(0)
        report["cuda"] = str(torch.version.cuda)
    return report


def environment_report() -> dict[str, str]:
    """Python, platform, device and package versions in one flat dict."""
    report = {"python": sys.version.split()[0], "platform": platform.platform()}
    report.update(device_report())
    report.update(package_versions())
    return report
