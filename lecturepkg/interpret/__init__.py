"""Which pixels does the network look at? Attribution methods, one concept per module.

Every method takes ``(model, inputs, target, ...)`` with captum's argument names, so that
the course's function and captum's class can be swapped and compared: ``inputs`` is a
float tensor ``(N, C, H, W)``, ``target`` an int or a ``(N,)`` tensor of class indices.
Call ``model.eval()`` first (the methods do not change the model's mode, like captum).

* :func:`heatmap`, :func:`normalize_map` (``maps``): from attributions ``(N, C, H, W)`` to
  one map per image ``(N, H, W)``, scaled per image.
* :func:`saliency`, :func:`smoothgrad`, :func:`integrated_gradients` (``gradients``): the
  gradient of the class score (Simonyan et al. 2014), averaged over noisy copies
  (Smilkov et al. 2017), integrated along a path from a baseline (Sundararajan et al. 2017).
* :func:`occlusion`, :func:`occlusion_forward_passes`, :func:`occlusion_window_counts`
  (``perturbation``): slide a grey patch over the image and watch the score (Zeiler &
  Fergus 2014), and what it costs in forward passes.
* :func:`top_activating_patches`, :class:`TopPatches`, :func:`layer_receptive_field`
  (``patches``): the input crops that excite one channel of a layer most (Zeiler &
  Fergus 2014).
* :func:`cam`, :func:`grad_cam` (``class_activation``): class activation maps, from a
  GAP network's last feature maps and class weights (Zhou et al. 2016) or from any
  convolutional layer and its gradients (Selvaraju et al. 2017).
* :func:`lime_image`, :func:`superpixels`, :class:`LimeResult` (``lime_explainer``): a
  weighted linear model of the class score on superpixels (Ribeiro et al. 2016).
* :func:`pointing_game`, :func:`mass_inside`, :func:`chance_level`,
  :func:`deletion_curve`, :func:`insertion_curve`, :func:`curve_auc`,
  :func:`randomization_check`, :func:`spearman` (``evaluate``): is a map right? Against
  the object's mask, against the model (Petsiuk et al. 2018), against a randomised model
  (Adebayo et al. 2018).

The argument checks the modules share live in the private module ``_args``.
"""

from lecturepkg.interpret.class_activation import cam, grad_cam
from lecturepkg.interpret.evaluate import (
    PixelCurve,
    RandomizationResult,
    chance_level,
    curve_auc,
    deletion_curve,
    insertion_curve,
    mass_inside,
    pointing_game,
    randomization_check,
    spearman,
)
from lecturepkg.interpret.gradients import integrated_gradients, saliency, smoothgrad
from lecturepkg.interpret.lime_explainer import LimeResult, lime_image, superpixels
from lecturepkg.interpret.maps import heatmap, normalize_map
from lecturepkg.interpret.patches import (
    TopPatches,
    layer_receptive_field,
    top_activating_patches,
)
from lecturepkg.interpret.perturbation import (
    occlusion,
    occlusion_forward_passes,
    occlusion_window_counts,
)

__all__ = [
    # maps
    "heatmap",
    "normalize_map",
    # class_activation
    "cam",
    "grad_cam",
    # lime_explainer
    "lime_image",
    "superpixels",
    "LimeResult",
    # gradients
    "saliency",
    "smoothgrad",
    "integrated_gradients",
    # perturbation
    "occlusion",
    "occlusion_forward_passes",
    "occlusion_window_counts",
    # patches
    "top_activating_patches",
    "layer_receptive_field",
    "TopPatches",
    # evaluate
    "pointing_game",
    "mass_inside",
    "chance_level",
    "deletion_curve",
    "insertion_curve",
    "curve_auc",
    "PixelCurve",
    "randomization_check",
    "RandomizationResult",
    "spearman",
]
