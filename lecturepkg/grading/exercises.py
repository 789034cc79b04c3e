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

_CH02 = "02-typology"
_T02 = "lecturepkg.grading.tests.ch02"
_S02 = "lecturepkg.grading.solutions.ch02"

# Chapter 2. Padding helpers (np.pad, F.pad), np.einsum, np.linalg and the stride tricks
# stay available; what computes a whole convolution, its transpose or its matrix does not.
_AUTOGRAD_ALL = _AUTOGRAD + ("torch.autograd.functional:jacobian", "torch.autograd.functional:vjp",
                             "torch.func:jacrev", "torch.func:jacfwd", "torch.func:vjp")
_CORRELATE_ND = (
    "scipy.signal:correlate", "scipy.signal:convolve", "scipy.signal:fftconvolve",
    "scipy.signal:oaconvolve", "scipy.ndimage:correlate", "scipy.ndimage:convolve",
    "torch.nn.functional:conv3d", "torch:conv3d",
)
_COURSE_CONV = (  # the course's own convolutions (lecturepkg.conv), any dimension
    "lecturepkg.conv.functional:conv1d", "lecturepkg.conv.functional:conv2d",
    "lecturepkg.conv.im2col:conv1d_fast", "lecturepkg.conv.im2col:conv2d_fast",
    "lecturepkg.conv.im2col:conv3d_fast",
    "lecturepkg.conv.nd:convnd", "lecturepkg.conv.nd:conv3d",
    "lecturepkg.conv:conv1d", "lecturepkg.conv:conv2d", "lecturepkg.conv:conv1d_fast",
    "lecturepkg.conv:conv2d_fast", "lecturepkg.conv:conv3d_fast", "lecturepkg.conv:convnd",
    "lecturepkg.conv:conv3d",
)
_TRANSPOSED = (  # library and course transposed convolutions, and their matrices
    "torch.nn.functional:conv_transpose1d", "torch.nn.functional:conv_transpose2d",
    "torch.nn.functional:conv_transpose3d", "torch:conv_transpose1d", "torch:conv_transpose2d",
    "torch:conv_transpose3d", "torch.nn.functional:fold",
    "lecturepkg.conv.transposed:conv_transpose1d", "lecturepkg.conv.transposed:conv_transpose2d",
    "lecturepkg.conv.transposed:conv_transpose3d", "lecturepkg.conv.transposed:conv_matrix",
    "lecturepkg.conv.transposed:conv_transpose_via_matrix",
    "lecturepkg.conv.transposed:conv_transpose_via_conv",
    "lecturepkg.conv:conv_transpose1d", "lecturepkg.conv:conv_transpose2d",
    "lecturepkg.conv:conv_transpose3d", "lecturepkg.conv:conv_matrix",
    "lecturepkg.conv:conv_transpose_via_matrix", "lecturepkg.conv:conv_transpose_via_conv",
)
_ALL_CONV = tuple(dict.fromkeys(_CORRELATE_1D + _CORRELATE_2D + _CORRELATE_ND + _COURSE_CONV))

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
        # ---- chapter 2: a typology of convolutions ----------------------------------------
        Exercise(
            name="conv1d_multichannel", chapter=_CH02, title="1D convolution with stride and dilation",
            tests=f"{_T02}.test_conv1d_multichannel", reference=f"{_S02}:conv1d_multichannel",
            forbidden=_ALL_CONV,
        ),
        Exercise(
            name="im2col", chapter=_CH02, title="im2col: image patches as matrix columns",
            tests=f"{_T02}.test_im2col", reference=f"{_S02}:im2col",
            forbidden=_ALL_CONV + (
                "torch.nn.functional:unfold", "torch:Tensor.unfold",
                "numpy.lib.stride_tricks:sliding_window_view",
                "lecturepkg.conv.im2col:im2col", "lecturepkg.conv:im2col",
            ),
        ),
        Exercise(
            name="conv3d_multichannel", chapter=_CH02, title="3D convolution on volumes and video",
            tests=f"{_T02}.test_conv3d_multichannel", reference=f"{_S02}:conv3d_multichannel",
            forbidden=_ALL_CONV,
        ),
        Exercise(
            name="causal_conv1d", chapter=_CH02, title="Causal (dilated) 1D convolution",
            tests=f"{_T02}.test_causal_conv1d", reference=f"{_S02}:causal_conv1d",
            forbidden=_ALL_CONV + (
                "lecturepkg.conv.causal:causal_conv1d", "lecturepkg.conv.causal:causal_padding",
                "lecturepkg.conv:causal_conv1d", "lecturepkg.conv:causal_padding",
            ),
        ),
        Exercise(
            name="receptive_field", chapter=_CH02, title="Receptive field of a stack of convolutions",
            tests=f"{_T02}.test_receptive_field", reference=f"{_S02}:receptive_field",
            forbidden=_ALL_CONV + _AUTOGRAD_ALL + (
                "lecturepkg.conv.receptive_field:receptive_field",
                "lecturepkg.conv.receptive_field:empirical_receptive_field",
                "lecturepkg.conv:receptive_field", "lecturepkg.conv:empirical_receptive_field",
                "lecturepkg.conv.arithmetic:effective_kernel_size", "lecturepkg.conv:effective_kernel_size",
            ),
        ),
        Exercise(
            name="factorize_kernel", chapter=_CH02, title="Separable kernels: column times row",
            tests=f"{_T02}.test_factorize_kernel", reference=f"{_S02}:factorize_kernel",
            forbidden=(
                "lecturepkg.conv.separable:factorize_kernel", "lecturepkg.conv.separable:rank1_approximation",
                "lecturepkg.conv:factorize_kernel", "lecturepkg.conv:rank1_approximation",
            ),
        ),
        Exercise(
            name="depthwise_conv2d", chapter=_CH02, title="Depthwise convolution with a channel multiplier",
            tests=f"{_T02}.test_depthwise_conv2d", reference=f"{_S02}:depthwise_conv2d",
            forbidden=_ALL_CONV + (
                "lecturepkg.conv.depthwise:depthwise_conv2d", "lecturepkg.conv.depthwise:pointwise_conv2d",
                "lecturepkg.conv.depthwise:depthwise_separable_conv2d",
                "lecturepkg.conv.separable:separable_conv2d",
                "lecturepkg.conv:depthwise_conv2d", "lecturepkg.conv:pointwise_conv2d",
                "lecturepkg.conv:depthwise_separable_conv2d", "lecturepkg.conv:separable_conv2d",
            ),
        ),
        Exercise(
            name="conv_transpose_matrix", chapter=_CH02, title="The matrix K^T of a transposed convolution",
            tests=f"{_T02}.test_conv_transpose_matrix", reference=f"{_S02}:conv_transpose_matrix",
            forbidden=_ALL_CONV + _TRANSPOSED + _AUTOGRAD_ALL,
        ),
        Exercise(
            name="conv_transpose2d", chapter=_CH02, title="Transposed 2D convolution by overlap-add",
            tests=f"{_T02}.test_conv_transpose2d", reference=f"{_S02}:conv_transpose2d",
            forbidden=_ALL_CONV + _TRANSPOSED + _AUTOGRAD_ALL,
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
