"""The registry of graded exercises, chapter by chapter."""

from __future__ import annotations

from lecturepkg.grading.spec import Exercise

_CH01 = "01-convolution"
_T01 = "lecturepkg.grading.tests.ch01"
_S01 = "lecturepkg.grading.solutions.ch01"

# Library functions that would compute a convolution or a pooling for the student.
_CORRELATE_1D = (
    "numpy:correlate", "numpy:convolve",
    "scipy.signal:correlate", "scipy.signal:convolve", "scipy.signal:fftconvolve",
    "scipy.signal:oaconvolve", "scipy.ndimage:correlate1d", "scipy.ndimage:convolve1d",
    "scipy.ndimage:correlate", "scipy.ndimage:convolve",
    "torch.nn.functional:conv1d", "torch:conv1d",
    "lecturepkg.conv.functional:conv1d", "lecturepkg.conv:conv1d",
)
_CORRELATE_2D = (
    "scipy.signal:correlate", "scipy.signal:convolve", "scipy.signal:correlate2d",
    "scipy.signal:convolve2d", "scipy.signal:fftconvolve", "scipy.signal:oaconvolve",
    "scipy.ndimage:correlate", "scipy.ndimage:convolve",
    "torch.nn.functional:conv2d", "torch:conv2d",
    "lecturepkg.conv.functional:conv2d", "lecturepkg.conv:conv2d",
)
_AUTOGRAD = ("torch.autograd:grad", "torch.autograd:backward", "torch:Tensor.backward")

EXERCISES: dict[str, Exercise] = {
    e.name: e
    for e in [
        Exercise(
            name="correlate1d", chapter=_CH01, title="1D valid cross-correlation",
            tests=f"{_T01}.test_correlate1d", reference=f"{_S01}:correlate1d",
            forbidden=_CORRELATE_1D,
        ),
        Exercise(
            name="output_size", chapter=_CH01, title="Output size with padding, stride, dilation",
            tests=f"{_T01}.test_output_size", reference=f"{_S01}:output_size",
            forbidden=("lecturepkg.conv.arithmetic:conv_output_size", "lecturepkg.conv:conv_output_size"),
        ),
        Exercise(
            name="conv2d_multichannel", chapter=_CH01, title="Multichannel 2D convolution with bias",
            tests=f"{_T01}.test_conv2d_multichannel", reference=f"{_S01}:conv2d_multichannel",
            forbidden=_CORRELATE_2D,
        ),
        Exercise(
            name="max_pool2d", chapter=_CH01, title="2D max pooling",
            tests=f"{_T01}.test_max_pool2d", reference=f"{_S01}:max_pool2d",
            forbidden=(
                "torch.nn.functional:max_pool2d", "torch.nn.functional:max_pool2d_with_indices",
                "torch:max_pool2d", "skimage.measure:block_reduce",
                "lecturepkg.conv.functional:max_pool2d", "lecturepkg.conv:max_pool2d",
            ),
        ),
        Exercise(
            name="correlate1d_kernel_grad", chapter=_CH01, title="Gradient of a 1D convolution w.r.t. its kernel",
            tests=f"{_T01}.test_correlate1d_kernel_grad", reference=f"{_S01}:correlate1d_kernel_grad",
            forbidden=_CORRELATE_1D + _AUTOGRAD + (
                "lecturepkg.conv.functional:conv1d_backward", "lecturepkg.conv:conv1d_backward",
            ),
        ),
        Exercise(
            name="conv2d_layer_cost", chapter=_CH01, title="Parameters and MACs of a conv layer",
            tests=f"{_T01}.test_conv2d_layer_cost", reference=f"{_S01}:conv2d_layer_cost",
            forbidden=(
                "lecturepkg.counting:count_parameters", "lecturepkg.counting:count_macs",
                "lecturepkg.counting:layer_stats", "lecturepkg.counting:summary",
            ),
        ),
    ]
}


def get_exercise(name: str) -> Exercise:
    """The exercise called ``name``; a clear error lists the known names otherwise."""
    if not isinstance(name, str):
        raise TypeError(f"name must be the exercise's name (a str), got {type(name).__name__}")
    try:
        return EXERCISES[name]
    except KeyError:
        raise ValueError(f"name: no exercise called {name!r}; known: {', '.join(EXERCISES)}") from None


def chapter_exercises(chapter: str) -> list[Exercise]:
    """The exercises of one chapter, in the order of its exercises notebook."""
    found = [e for e in EXERCISES.values() if e.chapter == chapter]
    if not found:
        chapters = sorted({e.chapter for e in EXERCISES.values()})
        raise ValueError(f"chapter: no exercises for {chapter!r}; known: {', '.join(chapters)}")
    return found
