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
* :func:`occlusion`, :func:`occlusion_forward_passes` (``perturbation``): slide a grey
  patch over the image and watch the score (Zeiler & Fergus 2014).
* :func:`top_activating_patches` (``patches``): the input crops that excite one channel
  of a layer most (Zeiler & Fergus 2014).

The argument checks the modules share live in the private module ``_args``.
"""

from lecturepkg.interpret.maps import heatmap, normalize_map

__all__ = [
    # maps
    "heatmap",
    "normalize_map",
]
