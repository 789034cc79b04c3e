"""The registry of graded exercises, chapter by chapter."""

from __future__ import annotations

import re

import numpy as np

from lecturepkg.grading._guard import ESCAPE_HATCHES
from lecturepkg.grading.spec import Exercise

_CH01 = "01-convolution"
_T01 = "lecturepkg.grading.tests.ch01"
_S01 = "lecturepkg.grading.solutions.ch01"
_CH02 = "02-typology"
_T02 = "lecturepkg.grading.tests.ch02"
_S02 = "lecturepkg.grading.solutions.ch02"
_CH03 = "03-architectures"
_T03 = "lecturepkg.grading.tests.ch03"
_S03 = "lecturepkg.grading.solutions.ch03"
_CH04 = "04-interpretability"
_T04 = "lecturepkg.grading.tests.ch04"
_S04 = "lecturepkg.grading.solutions.ch04"
_CH05 = "05-mask-rcnn"
_T05 = "lecturepkg.grading.tests.ch05"
_S05 = "lecturepkg.grading.solutions.ch05"

# ---- what the exercises forbid ---------------------------------------------------------
# Library functions (``"module:attr"``; ``"package:*"``: every function of a package). The
# compiled cores of numpy's and scipy's correlations are listed too, so that calling them
# directly is caught as well as calling the public names.
_NUMPY_CORE = "numpy._core" if int(np.__version__.split(".")[0]) >= 2 else "numpy.core"
_NUMPY_CORRELATE = (
    "numpy:correlate", "numpy:convolve",
    f"{_NUMPY_CORE}.multiarray:correlate", f"{_NUMPY_CORE}.multiarray:correlate2",
)
_SCIPY_CORRELATE = (
    "scipy.signal:correlate", "scipy.signal:convolve", "scipy.signal:correlate2d",
    "scipy.signal:convolve2d", "scipy.signal:fftconvolve", "scipy.signal:oaconvolve",
    "scipy.signal:lfilter", "scipy.signal:sosfilt", "scipy.signal:upfirdn",
    "scipy.signal._sigtools:_correlateND", "scipy.signal._sigtools:_convolve2d",
    "scipy.signal._sigtools:_linear_filter", "scipy.signal._sosfilt:_sosfilt",
    "scipy.signal._upfirdn_apply:_apply",
    "scipy.ndimage:correlate", "scipy.ndimage:convolve", "scipy.ndimage:correlate1d",
    "scipy.ndimage:convolve1d", "scipy.ndimage._nd_image:correlate",
    "scipy.ndimage._nd_image:correlate1d",
    "scipy.linalg:convolution_matrix",
)
_COURSE_CONV = ("lecturepkg.conv:*",)  # the course's own convolutions, pooling, arithmetic...
_CORRELATE = _NUMPY_CORRELATE + _SCIPY_CORRELATE + _COURSE_CONV
_MAX_FILTER = (
    "scipy.ndimage:maximum_filter", "scipy.ndimage:maximum_filter1d", "scipy.ndimage:rank_filter",
    "scipy.ndimage:percentile_filter", "scipy.ndimage:grey_dilation",
    "scipy.ndimage._nd_image:min_or_max_filter", "scipy.ndimage._nd_image:min_or_max_filter1d",
    "scipy.ndimage._nd_image:rank_filter", "skimage.measure:block_reduce",
)
_SIZE_FORMULAS = (  # what computes an output size for you
    "torch._meta_registrations:pooling_output_shape",
    "torch._meta_registrations:pooling_output_shape_pad_lr",
    "torch._meta_registrations:calc_conv_nd_return_shape",
    "torch.jit._shape_functions:pooling_output_shape",
    "torch.jit._shape_functions:pooling_output_shape_pad_lr",
    "torch.jit._shape_functions:conv_output_size",
)
_WINDOWS = ("numpy.lib.stride_tricks:sliding_window_view", "skimage.util:view_as_windows")

# PyTorch operators, refused at the dispatcher whatever route reaches them. Only operators
# that arrive as themselves are listed: composite ones (aten.conv1d/2d/3d,
# aten.conv_transpose1d/2d/3d, aten._convolution_mode, aten.max_pool2d, ...) are
# decomposed into these before they reach the dispatcher (the tests check both).
CONVOLUTION_OPS = (
    "aten.convolution", "aten._convolution", "aten.convolution_overrideable",
    "aten.convolution_backward", "aten.convolution_backward_overrideable",
    "aten.conv_tbc", "aten._conv_depthwise2d", "aten.conv_depthwise3d",
    "aten._slow_conv2d_forward", "aten._slow_conv2d_backward", "aten.slow_conv3d_forward",
    "aten.slow_conv_dilated2d", "aten.slow_conv_dilated3d",
    "aten.slow_conv_transpose2d", "aten.slow_conv_transpose3d",
    "aten._nnpack_spatial_convolution", "aten.mkldnn_convolution",
    "aten.cudnn_convolution", "aten.cudnn_convolution_transpose", "aten.cudnn_convolution_relu",
    "aten.cudnn_convolution_add_relu", "aten.miopen_convolution", "aten.miopen_convolution_transpose",
    "aten.miopen_depthwise_convolution", "aten.miopen_convolution_relu",
    "aten.miopen_convolution_add_relu", "aten._mps_convolution", "aten._mps_convolution_transpose",
    "aten.mps_convolution_backward", "aten.mps_convolution_transpose_backward",
    "mkldnn._convolution_pointwise", "mkldnn._convolution_pointwise_",
    "mkldnn._convolution_transpose_pointwise", "mkldnn_prepacked.conv2d_run",
    "onednn.qconv1d_pointwise", "onednn.qconv2d_pointwise", "onednn.qconv3d_pointwise",
    "onednn.qconv_pointwise",
    "quantized.conv1d", "quantized.conv1d_relu", "quantized.conv1d_dynamic", "quantized.conv2d",
    "quantized.conv2d_relu", "quantized.conv2d_add", "quantized.conv2d_add_relu",
    "quantized.conv2d_dynamic", "quantized.conv3d", "quantized.conv3d_relu", "quantized.conv3d_dynamic",
    "quantized.conv_transpose1d", "quantized.conv_transpose2d", "quantized.conv_transpose3d",
    "quantized.conv_transpose1d_dynamic", "quantized.conv_transpose2d_dynamic",
    "quantized.conv_transpose3d_dynamic",
    "_quantized.conv2d", "_quantized.conv2d_relu", "_quantized.conv3d", "_quantized.conv3d_relu",
    "_quantized.conv_transpose1d", "_quantized.conv_transpose2d",
    "torchvision.deform_conv2d", "torchvision._deform_conv2d_backward",
)
IM2COL_OPS = ("aten.im2col",)
COL2IM_OPS = ("aten.col2im",)
UNFOLD_OPS = ("aten.unfold", "aten.unfold_copy")
MAX_POOL_OPS = (
    "aten.max_pool2d_with_indices", "aten.max_pool3d_with_indices",
    "aten.adaptive_max_pool2d", "aten.adaptive_max_pool3d",
    "aten.fractional_max_pool2d", "aten.fractional_max_pool3d",
    "aten.mkldnn_max_pool2d", "aten.mkldnn_max_pool3d",
    "aten.quantized_max_pool1d", "aten.quantized_max_pool2d", "aten.quantized_max_pool3d",
    "quantized.max_pool1d", "quantized.max_pool2d",
    "torchvision.roi_pool", "torchvision.ps_roi_pool",
)
AVG_POOL_OPS = ("aten.avg_pool1d", "aten.avg_pool2d", "aten.avg_pool3d")
DETECTION_OPS = (  # torchvision's compiled box operators (roi_pool is a max pooling, above)
    "torchvision.nms", "torchvision.qnms", "torchvision.box_iou_rotated",
    "torchvision.roi_align", "torchvision._roi_align_backward", "torchvision.qroi_align",
    "torchvision.ps_roi_align", "torchvision._ps_roi_align_backward",
)
GRID_SAMPLE_OPS = (
    "aten.grid_sampler_2d", "aten.grid_sampler_3d", "aten._grid_sampler_2d_cpu_fallback",
    "aten.cudnn_grid_sampler",
)
BATCH_NORM_OPS = (
    "aten.native_batch_norm", "aten._native_batch_norm_legit", "aten._native_batch_norm_legit_functional",
    "aten._native_batch_norm_legit_no_training", "aten._batch_norm_with_update",
    "aten._batch_norm_with_update_functional", "aten._batch_norm_no_update",
    "aten.batch_norm_stats", "aten.batch_norm_elemt", "aten.batch_norm_update_stats",
    "aten.batch_norm_gather_stats", "aten.batch_norm_gather_stats_with_counts",
    "aten.cudnn_batch_norm", "aten.miopen_batch_norm", "aten.quantized_batch_norm",
    "quantized.batch_norm", "quantized.batch_norm1d", "quantized.batch_norm2d", "quantized.batch_norm3d",
    "quantized.batch_norm_relu", "quantized.batch_norm1d_relu", "quantized.batch_norm2d_relu",
    "quantized.batch_norm3d_relu", "onednn.qbatch_norm2d",
)

#: Operator groups as the pages and the messages name them, each a tuple of its short
#: name, its page label and its operators.
OP_GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("a convolution: what F.conv1d/2d/3d, F.conv_transpose1d/2d/3d, nn.Conv* layers, "
     "torch.nn.grad and torch.ops.aten.convolution run",
     "PyTorch's convolutions, forward and backward, plain, transposed, grouped or quantized, on "
     "every backend: what `torch.nn.functional.conv1d/2d/3d` and `conv_transpose1d/2d/3d`, "
     "`torch.conv*`, `nn.Conv*` layers, `torch.nn.grad` and `torch.ops.aten.convolution` run",
     CONVOLUTION_OPS),
    ("im2col: what F.unfold and nn.Unfold run",
     "PyTorch's im2col, what `torch.nn.functional.unfold` and `nn.Unfold` run", IM2COL_OPS),
    ("col2im, an overlap-add: what F.fold and nn.Fold run",
     "PyTorch's col2im (an overlap-add), what `torch.nn.functional.fold` and `nn.Fold` run", COL2IM_OPS),
    ("sliding windows: what torch.Tensor.unfold runs",
     "PyTorch's sliding windows, `torch.Tensor.unfold`", UNFOLD_OPS),
    ("max pooling: what F.max_pool1d/2d/3d, adaptive and fractional max pooling and nn.MaxPool* run",
     "PyTorch's max pooling: what `torch.nn.functional.max_pool1d/2d/3d`, `adaptive_max_pool*`, "
     "`fractional_max_pool*` and `nn.MaxPool*` layers run", MAX_POOL_OPS),
    ("average pooling: what F.avg_pool1d/2d/3d and nn.AvgPool* run",
     "PyTorch's average pooling, what `torch.nn.functional.avg_pool1d/2d/3d` and `nn.AvgPool*` run",
     AVG_POOL_OPS),
    ("batch normalisation: what F.batch_norm, F.instance_norm and nn.BatchNorm* run",
     "PyTorch's batch normalisation, what `torch.nn.functional.batch_norm`, `instance_norm` and "
     "`nn.BatchNorm*` layers run", BATCH_NORM_OPS),
    ("torchvision's compiled box operators: what torchvision.ops.nms, batched_nms, roi_align, "
     "ps_roi_align, RoIAlign layers and box_iou_rotated run",
     "torchvision's compiled box operators, what `torchvision.ops.nms`, `batched_nms`, `roi_align`, "
     "`ps_roi_align`, `RoIAlign` layers and `torch.ops.torchvision.*` run", DETECTION_OPS),
    ("bilinear sampling at given points: what F.grid_sample runs",
     "PyTorch's sampling at given points, what `torch.nn.functional.grid_sample` runs", GRID_SAMPLE_OPS),
)

# Chapter 3: the course's own blocks and networks, torchvision's networks, and what counts
# parameters and operations or builds layers that hold them.
_COURSE_NETS = ("lecturepkg.blocks:*", "lecturepkg.models:*")
_COUNTERS = ("lecturepkg.counting:*", "torch.utils.flop_counter:*")
_LAYER_BUILDERS = ("torch.nn.modules.conv:_ConvNd.__init__", "torch.nn.modules.batchnorm:_NormBase.__init__")
_CENTER_CROP = (
    "torchvision.transforms.v2.functional:center_crop", "torchvision.transforms.v2.functional:center_crop_image",
    "torchvision.transforms.v2.functional._geometry:_center_crop_compute_crop_anchor",
    "torchvision.transforms.functional:center_crop",
)

# Chapter 4: the explanation libraries (test oracles, where installed: a package that is not
# installed has nothing to block) and the course's own implementations.
_EXPLAINERS = ("captum:*", "pytorch_grad_cam:*", "lime:*", "lecturepkg.interpret:*")
_LINEAR_MODELS = ("sklearn.linear_model._ridge:*", "sklearn.linear_model._base:*", "sklearn.kernel_ridge:*",
                  "scipy.optimize:lsq_linear")

# Chapter 5: torchvision's detection code (box operators, box coder, anchors, losses) and
# the course's own, and COCO's evaluation (a test oracle, where installed).
_DETECTION = ("torchvision.ops:*", "torchvision.models.detection:*", "lecturepkg.detection:*")
_COCO_EVAL = ("pycocotools:*",)

# What an honest vectorised answer may use, shown on the pages beside the forbidden lists.
_WINDOWS_ALLOWED = ("numpy.lib.stride_tricks.sliding_window_view", "numpy.lib.stride_tricks.as_strided",
                    "torch.Tensor.unfold")
_CONV_ALLOWED = _WINDOWS_ALLOWED + ("torch.nn.functional.unfold", "numpy.pad", "torch.nn.functional.pad",
                                    "numpy.einsum", "matrix products")

EXERCISES: dict[str, Exercise] = {
    e.name: e
    for e in [
        Exercise(
            name="correlate1d", chapter=_CH01, title="1D valid cross-correlation",
            tests=f"{_T01}.test_correlate1d", reference=f"{_S01}:correlate1d",
            forbidden=_CORRELATE, forbidden_ops=CONVOLUTION_OPS, allowed=_CONV_ALLOWED,
        ),
        Exercise(
            # its own test runs F.conv1d on zeros as its oracle: running any convolution,
            # pooling or sliding window to read the size off its shape is forbidden
            name="output_size", chapter=_CH01, title="Output size with padding, stride, dilation",
            tests=f"{_T01}.test_output_size", reference=f"{_S01}:output_size",
            forbidden=_CORRELATE + _MAX_FILTER + _SIZE_FORMULAS + _WINDOWS,
            forbidden_ops=CONVOLUTION_OPS + IM2COL_OPS + COL2IM_OPS + UNFOLD_OPS + MAX_POOL_OPS + AVG_POOL_OPS,
        ),
        Exercise(
            name="conv2d_multichannel", chapter=_CH01, title="Multichannel 2D convolution with bias",
            tests=f"{_T01}.test_conv2d_multichannel", reference=f"{_S01}:conv2d_multichannel",
            forbidden=_CORRELATE, forbidden_ops=CONVOLUTION_OPS, allowed=_CONV_ALLOWED,
        ),
        Exercise(
            name="max_pool2d", chapter=_CH01, title="2D max pooling",
            tests=f"{_T01}.test_max_pool2d", reference=f"{_S01}:max_pool2d",
            forbidden=_MAX_FILTER + _COURSE_CONV, forbidden_ops=MAX_POOL_OPS,
            allowed=_WINDOWS_ALLOWED + ("numpy.ndarray.reshape and max over axes",),
        ),
        Exercise(
            name="correlate1d_kernel_grad", chapter=_CH01, title="Gradient of a 1D convolution w.r.t. its kernel",
            tests=f"{_T01}.test_correlate1d_kernel_grad", reference=f"{_S01}:correlate1d_kernel_grad",
            forbidden=_CORRELATE, forbidden_ops=CONVOLUTION_OPS, forbid_autograd=True,
            allowed=_WINDOWS_ALLOWED + ("numpy.einsum", "matrix products"),
        ),
        Exercise(
            name="conv2d_layer_cost", chapter=_CH01, title="Parameters and MACs of a conv layer",
            tests=f"{_T01}.test_conv2d_layer_cost", reference=f"{_S01}:conv2d_layer_cost",
            forbidden=_COURSE_CONV + _SIZE_FORMULAS + (
                "lecturepkg.counting:*", "torch.utils.flop_counter:conv_flop_count",
                "torch.utils.flop_counter:conv_flop", "torch.utils.flop_counter:conv_backward_flop",
            ),
            forbidden_ops=CONVOLUTION_OPS,
        ),
        # ---- chapter 2: a typology of convolutions ----------------------------------------
        Exercise(
            name="conv1d_multichannel", chapter=_CH02, title="1D convolution with stride and dilation",
            tests=f"{_T02}.test_conv1d_multichannel", reference=f"{_S02}:conv1d_multichannel",
            forbidden=_CORRELATE, forbidden_ops=CONVOLUTION_OPS, allowed=_CONV_ALLOWED,
        ),
        Exercise(
            # the patches' layout is the exercise: F.unfold, F.fold and a convolution with
            # one-hot kernels are out; windows (sliding_window_view, Tensor.unfold) are not
            name="im2col", chapter=_CH02, title="im2col: image patches as matrix columns",
            tests=f"{_T02}.test_im2col", reference=f"{_S02}:im2col",
            forbidden=_CORRELATE, forbidden_ops=CONVOLUTION_OPS + IM2COL_OPS + COL2IM_OPS,
            allowed=_WINDOWS_ALLOWED + ("numpy.ndarray.reshape / transpose",),
        ),
        Exercise(
            name="conv3d_multichannel", chapter=_CH02, title="3D convolution on volumes and video",
            tests=f"{_T02}.test_conv3d_multichannel", reference=f"{_S02}:conv3d_multichannel",
            forbidden=_CORRELATE, forbidden_ops=CONVOLUTION_OPS, allowed=_CONV_ALLOWED,
        ),
        Exercise(
            name="causal_conv1d", chapter=_CH02, title="Causal (dilated) 1D convolution",
            tests=f"{_T02}.test_causal_conv1d", reference=f"{_S02}:causal_conv1d",
            forbidden=_CORRELATE, forbidden_ops=CONVOLUTION_OPS, allowed=_CONV_ALLOWED,
        ),
        Exercise(
            name="receptive_field", chapter=_CH02, title="Receptive field of a stack of convolutions",
            tests=f"{_T02}.test_receptive_field", reference=f"{_S02}:receptive_field",
            forbidden=_CORRELATE, forbidden_ops=CONVOLUTION_OPS, forbid_autograd=True,
        ),
        Exercise(
            name="factorize_kernel", chapter=_CH02, title="Separable kernels: column times row",
            tests=f"{_T02}.test_factorize_kernel", reference=f"{_S02}:factorize_kernel",
            forbidden=_COURSE_CONV, allowed=("numpy.linalg (svd included)",),
        ),
        Exercise(
            name="depthwise_conv2d", chapter=_CH02, title="Depthwise convolution with a channel multiplier",
            tests=f"{_T02}.test_depthwise_conv2d", reference=f"{_S02}:depthwise_conv2d",
            forbidden=_CORRELATE, forbidden_ops=CONVOLUTION_OPS, allowed=_CONV_ALLOWED,
        ),
        Exercise(
            name="conv_transpose_matrix", chapter=_CH02, title="The matrix K^T of a transposed convolution",
            tests=f"{_T02}.test_conv_transpose_matrix", reference=f"{_S02}:conv_transpose_matrix",
            forbidden=_CORRELATE, forbidden_ops=CONVOLUTION_OPS + COL2IM_OPS, forbid_autograd=True,
        ),
        Exercise(
            name="conv_transpose2d", chapter=_CH02, title="Transposed 2D convolution by overlap-add",
            tests=f"{_T02}.test_conv_transpose2d", reference=f"{_S02}:conv_transpose2d",
            forbidden=_CORRELATE, forbidden_ops=CONVOLUTION_OPS + COL2IM_OPS, forbid_autograd=True,
            allowed=("numpy.add.at", "numpy.pad", "numpy.einsum", "matrix products"),
        ),
        # ---- chapter 3: building blocks and famous architectures ----------------------------
        Exercise(
            # running the network (on real or meta tensors) or building its layers to count
            # their parameters is out: the exercise is the bookkeeping
            name="vgg_features_cost", chapter=_CH03, title="Output shape and parameters of a VGG configuration",
            tests=f"{_T03}.test_vgg_features_cost", reference=f"{_S03}:vgg_features_cost",
            forbidden=("torchvision.models.vgg:*",) + _COURSE_NETS + _COUNTERS + _LAYER_BUILDERS + _SIZE_FORMULAS
            + _COURSE_CONV,
            forbidden_ops=CONVOLUTION_OPS + MAX_POOL_OPS,
        ),
        Exercise(
            name="conv1x1", chapter=_CH03, title="A 1x1 convolution as one matrix product",
            tests=f"{_T03}.test_conv1x1", reference=f"{_S03}:conv1x1",
            forbidden=_CORRELATE + _COURSE_NETS, forbidden_ops=CONVOLUTION_OPS,
            allowed=("numpy.einsum", "numpy.tensordot", "matrix products (@)", "torch.nn.functional.linear"),
        ),
        Exercise(
            name="depth_concat", chapter=_CH03, title="DepthConcat: centred zero-padding, then concatenation",
            tests=f"{_T03}.test_depth_concat", reference=f"{_S03}:depth_concat",
            forbidden=_COURSE_NETS,
            allowed=("numpy.pad", "numpy.concatenate", "torch.nn.functional.pad", "torch.cat"),
        ),
        Exercise(
            name="inception_cost", chapter=_CH03, title="Output channels and multiplications of an inception module",
            tests=f"{_T03}.test_inception_cost", reference=f"{_S03}:inception_cost",
            forbidden=("torchvision.models.googlenet:*",) + _COURSE_NETS + _COUNTERS + _COURSE_CONV,
            forbidden_ops=CONVOLUTION_OPS + MAX_POOL_OPS,
        ),
        Exercise(
            # PyTorch's convolutions and batch norm are the bricks; the block is the exercise
            name="basic_block_forward", chapter=_CH03, title="A residual block with a projection shortcut",
            tests=f"{_T03}.test_basic_block_forward", reference=f"{_S03}:basic_block_forward",
            forbidden=("torchvision.models.resnet:*",) + _COURSE_NETS,
            allowed=("torch.nn.functional.conv2d", "torch.nn.functional.batch_norm", "torch.nn.functional.relu",
                     "nn.Conv2d and nn.BatchNorm2d layers"),
        ),
        Exercise(
            name="highway_forward", chapter=_CH03, title="A highway layer",
            tests=f"{_T03}.test_highway_forward", reference=f"{_S03}:highway_forward",
            forbidden=_COURSE_NETS,
            allowed=("matrix products (@)", "torch.sigmoid and torch.nn.functional.linear"),
        ),
        Exercise(
            name="center_crop", chapter=_CH03, title="U-Net's centre crop",
            tests=f"{_T03}.test_center_crop", reference=f"{_S03}:center_crop",
            forbidden=_CENTER_CROP + _COURSE_NETS,
            allowed=("slicing",),
        ),
        Exercise(
            name="batch_norm_train", chapter=_CH03, title="Batch normalisation in training mode",
            tests=f"{_T03}.test_batch_norm_train", reference=f"{_S03}:batch_norm_train",
            forbidden=("torch.nn.functional:batch_norm", "torch.nn.functional:instance_norm") + _COURSE_NETS,
            forbidden_ops=BATCH_NORM_OPS,
            allowed=("numpy.mean", "numpy.var", "torch.var_mean"),
        ),
        # ---- chapter 4: what does the network look at? --------------------------------------
        Exercise(
            # autograd is the tool here: the exercise is which gradient, and what to keep of it
            name="saliency_map", chapter=_CH04, title="A saliency map from the gradient of the class score",
            tests=f"{_T04}.test_saliency_map", reference=f"{_S04}:saliency_map",
            forbidden=_EXPLAINERS,
            allowed=("Tensor.backward (a backward pass)", "torch.func.vjp", "Tensor.abs and amax"),
        ),
        Exercise(
            name="class_activation_map", chapter=_CH04, title="A class activation map (CAM)",
            tests=f"{_T04}.test_class_activation_map", reference=f"{_S04}:class_activation_map",
            forbidden=_EXPLAINERS, allowed=("numpy.einsum", "numpy.tensordot", "matrix products (@)"),
        ),
        Exercise(
            name="grad_cam", chapter=_CH04, title="Grad-CAM's channel weights and map",
            tests=f"{_T04}.test_grad_cam", reference=f"{_S04}:grad_cam",
            forbidden=_EXPLAINERS, allowed=("numpy.mean", "numpy.einsum", "numpy.maximum"),
        ),
        Exercise(
            name="occlusion_map", chapter=_CH04, title="An occlusion map: patch, stride, baseline",
            tests=f"{_T04}.test_occlusion_map", reference=f"{_S04}:occlusion_map",
            forbidden=_EXPLAINERS, forbid_autograd=True,
            allowed=("running the model on occluded copies (one at a time or in a batch)", "slicing"),
        ),
        Exercise(
            name="lime_fit", chapter=_CH04, title="LIME's weighted linear model",
            tests=f"{_T04}.test_lime_fit", reference=f"{_S04}:lime_fit",
            forbidden=_EXPLAINERS + _LINEAR_MODELS,
            allowed=("numpy.linalg.solve", "numpy.linalg.lstsq", "matrix products (@)"),
        ),
        Exercise(
            name="pointing_game", chapter=_CH04, title="The pointing game",
            tests=f"{_T04}.test_pointing_game", reference=f"{_S04}:pointing_game",
            forbidden=_EXPLAINERS, allowed=("numpy.argmax", "numpy.unravel_index", "numpy.nonzero"),
        ),
        Exercise(
            name="deletion_curve", chapter=_CH04, title="The deletion curve and its area",
            tests=f"{_T04}.test_deletion_curve", reference=f"{_S04}:deletion_curve",
            forbidden=_EXPLAINERS, forbid_autograd=True,
            allowed=("torch.argsort (stable=True)", "torch.softmax", "numpy.trapezoid"),
        ),
        # ---- chapter 5: case study, Mask R-CNN ----------------------------------------------
        Exercise(
            name="box_iou", chapter=_CH05, title="Intersection over union of two sets of boxes",
            tests=f"{_T05}.test_box_iou", reference=f"{_S05}:box_iou",
            forbidden=_DETECTION, forbidden_ops=DETECTION_OPS,
            allowed=("torch.maximum", "torch.minimum", "Tensor.clamp", "broadcasting with None axes"),
        ),
        Exercise(
            name="decode_boxes", chapter=_CH05, title="Decoding box regression offsets",
            tests=f"{_T05}.test_decode_boxes", reference=f"{_S05}:decode_boxes",
            forbidden=_DETECTION, forbidden_ops=DETECTION_OPS,
            allowed=("torch.exp", "Tensor.clamp", "torch.stack"),
        ),
        Exercise(
            name="nms", chapter=_CH05, title="Greedy non-maximum suppression",
            tests=f"{_T05}.test_nms", reference=f"{_S05}:nms",
            forbidden=_DETECTION, forbidden_ops=DETECTION_OPS,
            allowed=("torch.argsort", "a Python loop over the boxes"),
        ),
        Exercise(
            # bilinear sampling is the exercise: grid_sample is out, indexing is not
            name="roi_align_single", chapter=_CH05, title="RoIAlign of one region by bilinear sampling",
            tests=f"{_T05}.test_roi_align_single", reference=f"{_S05}:roi_align_single",
            forbidden=_DETECTION, forbidden_ops=DETECTION_OPS + MAX_POOL_OPS + GRID_SAMPLE_OPS,
            allowed=("indexing with integer tensors", "Tensor.floor", "Tensor.mean"),
        ),
        Exercise(
            name="grid_anchors", chapter=_CH05, title="Anchors at every position of a feature map",
            tests=f"{_T05}.test_grid_anchors", reference=f"{_S05}:grid_anchors",
            forbidden=_DETECTION, forbidden_ops=DETECTION_OPS,
            allowed=("torch.meshgrid", "torch.round", "broadcasting with None axes"),
        ),
        Exercise(
            name="mask_loss", chapter=_CH05, title="The mask loss on the true class only",
            tests=f"{_T05}.test_mask_loss", reference=f"{_S05}:mask_loss",
            forbidden=_DETECTION, forbidden_ops=DETECTION_OPS,
            allowed=("torch.nn.functional.binary_cross_entropy_with_logits", "indexing with integer tensors"),
        ),
        Exercise(
            name="average_precision", chapter=_CH05, title="COCO's 101-point average precision",
            tests=f"{_T05}.test_average_precision", reference=f"{_S05}:average_precision",
            forbidden=_DETECTION + _COCO_EVAL, forbidden_ops=DETECTION_OPS,
            allowed=("numpy.argsort (kind='stable')", "numpy.cumsum", "numpy.maximum.accumulate",
                     "numpy.searchsorted"),
        ),
    ]
}


def describe_op(name: str) -> str:
    """``aten.convolution`` -> how a student meets it, for the sandbox's messages."""
    for short, _, ops in OP_GROUPS:
        if name in ops:
            return f"the PyTorch operator {name} ({short})"
    return f"the PyTorch operator {name}"


_AUTOGRAD_TEXT = ("autograd: no backward pass (`Tensor.backward`, `torch.autograd.grad`, "
                  "`torch.func.grad/vjp/jacrev`, `torch.autograd.functional`) and no forward-mode AD "
                  "(`torch.func.jvp/jacfwd`, `torch.autograd.forward_ad`)")
_LIBRARIES = {"numpy": "NumPy", "scipy": "SciPy", "skimage": "scikit-image", "torch": "PyTorch",
              "lecturepkg": "the course package", "torchvision": "torchvision", "pycocotools": "pycocotools"}


class ForbiddenList:
    """What an exercise's grader makes unavailable, as its page shows it: Markdown in a
    notebook (``_repr_markdown_``), plain text in a terminal."""

    def __init__(self, exercise: Exercise):
        self.exercise = exercise
        self.markdown = _forbidden_markdown(exercise)

    def _repr_markdown_(self) -> str:
        return self.markdown

    def __str__(self) -> str:
        text = re.sub(r"\n\n *</details>", "", self.markdown)
        text = re.sub(r"\n *<details><summary>.*?</summary>\n\n *", " ", text)
        return text.replace("`", "").replace("**", "")

    __repr__ = __str__


def _target_text(target: str) -> str:
    module, attr = target.split(":")
    if attr == "*":
        return f"every function of `{module}` and its modules"
    return f"`{module}.{attr}`"


def _item(label: str, names: list[str], what: str, indent: str) -> list[str]:
    """A bullet ``label: names``; a long list of names is folded (``<details>``), so that the
    page stays readable and the list exact."""
    if len(names) <= 8:
        return [f"{indent}- {label}: {', '.join(names)}"]
    inner = indent + "  "
    return [f"{indent}- {label}:", f"{inner}<details><summary>{len(names)} {what}</summary>", "",
            f"{inner}{', '.join(names)}", "", f"{inner}</details>"]


def _forbidden_markdown(exercise: Exercise) -> str:
    lines = [f"**Not available while `{exercise.name}` is checked** (calling one fails the test "
             "with a message that names it):", ""]
    by_library: dict[str, list[str]] = {}
    for target in exercise.forbidden:
        by_library.setdefault(target.split(".")[0].split(":")[0], []).append(_target_text(target))
    for library, names in by_library.items():
        lines += _item(_LIBRARIES.get(library, library), names, "functions", "")
    ops = set(exercise.forbidden_ops)
    if ops:
        lines.append("- PyTorch operators, refused at PyTorch's dispatcher whatever route reaches them "
                     "(`torch.nn.functional`, `torch.*`, `nn` layers, `torch.ops.aten`, `torch._C`):")
        for _, label, group in OP_GROUPS:
            listed = [op for op in group if op in ops]
            if listed:
                lines += _item(label, [f"`{op}`" for op in listed], "operators", "  ")
                ops -= set(listed)
        if ops:  # not in a named group
            lines.append("  - " + ", ".join(f"`{op}`" for op in sorted(ops)))
        hatches = ", ".join(f"`{t.replace(':', '.')}`" for t in ESCAPE_HATCHES)
        lines.append(f"  - and switching that check off: {hatches}, popping the grader's dispatch mode")
    if exercise.forbid_autograd:
        lines.append(f"- {_AUTOGRAD_TEXT}")
    if exercise.allowed:
        lines += ["", "Allowed: " + ", ".join(f"`{a}`" if " " not in a else a for a in exercise.allowed)
                  + ", and the rest of NumPy."]
    return "\n".join(lines)


def forbidden_list(name: str) -> ForbiddenList:
    """What the grader of exercise ``name`` makes unavailable while it runs the student's
    function, generated from the registry: each exercise page shows it above the stub
    (``forbidden_list("im2col")`` in a cell), so that a page always says exactly what its
    grader forbids."""
    return ForbiddenList(get_exercise(name))


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
