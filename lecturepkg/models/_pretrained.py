"""The ``weights`` and ``progress`` arguments of the torchvision-compatible builders.

The course's builders take torchvision's keywords so that code written for one runs with the
other, but the package ships no pretrained weights and downloads nothing. ``weights`` must
therefore be ``None``; anything else raises a ``ValueError`` that says how to load
torchvision's weights into the course's model instead (the state_dict keys match).
The detection builders (:mod:`lecturepkg.detection.mask_rcnn`) use it too.
"""

from __future__ import annotations

__all__ = ["check_no_weights"]


def check_no_weights(builder: str, weights, progress, *, name: str = "weights",
                     recipe: str | None = None) -> None:
    """Raise unless ``weights is None`` and ``progress`` is a bool (which is then unused).

    ``name`` is the argument's name in the message (``"weights_backbone"`` for a detection
    model's backbone) and ``recipe`` the sentence that says how to get weights instead; by
    default the code that loads torchvision's into a classification builder's model.
    """
    if not isinstance(progress, bool):
        raise TypeError(f"progress must be a bool, got {progress!r}")
    if weights is not None:
        if recipe is None:
            recipe = (f"To use torchvision's ImageNet weights (with internet access, e.g. on "
                      f"Colab), load them into the course's model, whose state_dict has the "
                      f"same keys: model = lecturepkg.models.{builder}(); "
                      f"model.load_state_dict(torchvision.models.{builder}(weights='DEFAULT')"
                      f".state_dict())")
        raise ValueError(f"{name} must be None, got {weights!r}: lecturepkg ships no "
                         f"pretrained weights and downloads nothing. {recipe}")
