"""The ``weights`` and ``progress`` arguments of the torchvision-compatible builders.

The course's builders take torchvision's keywords so that code written for one runs with the
other, but the package ships no pretrained weights and downloads nothing. ``weights`` must
therefore be ``None``; anything else raises a ``ValueError`` that says how to load
torchvision's ImageNet weights into the course's model instead (the state_dict keys match).
"""

from __future__ import annotations

__all__ = ["check_no_weights"]


def check_no_weights(builder: str, weights, progress) -> None:
    """Raise unless ``weights is None`` and ``progress`` is a bool (which is then unused)."""
    if not isinstance(progress, bool):
        raise TypeError(f"progress must be a bool, got {progress!r}")
    if weights is not None:
        raise ValueError(
            f"weights must be None, got {weights!r}: lecturepkg ships no pretrained weights "
            f"and downloads nothing. To use torchvision's ImageNet weights (with internet "
            f"access, e.g. on Colab), load them into the course's model, whose state_dict "
            f"has the same keys: model = lecturepkg.models.{builder}(); "
            f"model.load_state_dict(torchvision.models.{builder}(weights='DEFAULT')"
            f".state_dict())"
        )
