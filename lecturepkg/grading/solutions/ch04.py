"""Reference solutions of the chapter 4 exercises, "What does the network look at?".

Each function is the solution of the exercise of the same name in
``book/04-interpretability/exercises.md``, with the same signature and the same docstring
as the stub there. They use plain Python, numpy and PyTorch (autograd for the saliency
map, forward passes for occlusion and deletion), never the libraries that would do the
work (captum, pytorch-grad-cam, lime, scikit-learn's linear models, the course's
``lecturepkg.interpret``): those are the answers the exercises ask for. Each function is
self-contained, so that it can be pasted into the exercises notebook as it stands.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "saliency_map",
    "class_activation_map",
    "grad_cam",
    "occlusion_map",
    "lime_fit",
    "pointing_game",
    "deletion_curve",
]


def saliency_map(model, inputs, target):
    """The saliency map of Simonyan, Vedaldi & Zisserman (2014), one per image.

    The class score ``S_c`` is the model's output for class ``c``, before any softmax.
    Its gradient with respect to the input image, ``w = dS_c / dx`` at the image, says
    how much a small change of each pixel of each channel would change the score. The
    map keeps, at every pixel, the largest absolute value over the channels:
    ``M[i, j] = max_k |w[k, i, j]|``. Each image's map is the gradient of its own
    class's score.

    Parameters
    ----------
    model : torch.nn.Module
        In evaluation mode; maps a batch (N, C, H, W) to scores (N, num_classes).
    inputs : torch.Tensor, shape (N, C, H, W), float
        The images; leave them unchanged.
    target : int or torch.Tensor of shape (N,)
        The class of every image (an int), or one class per image.

    Returns
    -------
    torch.Tensor, shape (N, H, W)
        The dtype of ``inputs``; a plain tensor that needs no gradient.

    Raises
    ------
    ValueError
        If ``inputs`` is not 4-dimensional, a target tensor does not hold one class per
        image, or a class is not between 0 and num_classes - 1.
    """
    import torch

    if inputs.ndim != 4:
        raise ValueError(f"inputs must be (N, C, H, W), got shape {tuple(inputs.shape)}")
    N = inputs.shape[0]
    x = inputs.detach().clone().requires_grad_(True)
    scores = model(x)  # (N, num_classes)
    classes = torch.as_tensor(target).long()
    if classes.ndim == 0:
        classes = classes.expand(N)
    if classes.shape != (N,):
        raise ValueError(f"target must be an int or hold {N} classes, got shape {tuple(classes.shape)}")
    if classes.min() < 0 or classes.max() >= scores.shape[1]:
        raise ValueError(f"target classes must be in [0, {scores.shape[1] - 1}], got {classes.tolist()}")
    chosen = scores.gather(1, classes[:, None]).sum()  # the images do not interact: one backward pass
    (gradient,) = torch.autograd.grad(chosen, x)  # (N, C, H, W)
    return gradient.abs().amax(dim=1).detach()  # (N, H, W)


def class_activation_map(features, fc_weight, target, normalize=False):
    """The class activation map (CAM) of Zhou et al. (2016) of a network that ends in
    global average pooling and one linear layer.

    Such a network scores class ``c`` as ``S_c = sum_k W[c, k] * mean_ij f_k(i, j) +
    b_c``, where ``f_k`` are the K maps of its last convolutional layer. Moving the
    average out of the sum gives the map ``M_c(i, j) = sum_k W[c, k] * f_k(i, j)``,
    whose average over the positions is the score (less the bias): it shows where the
    evidence for class ``c`` lies. With ``normalize``, each image's map is rescaled to
    [0, 1] for display: ``(M - min M) / (max M - min M)``, and a constant map becomes
    all zeros.

    Parameters
    ----------
    features : np.ndarray, shape (N, K, h, w), float
        The last convolutional maps of N images.
    fc_weight : np.ndarray, shape (num_classes, K), float
        The weight of the linear layer after the global average pooling.
    target : int or np.ndarray of shape (N,), int
        The class of every image (an int), or one class per image.
    normalize : bool
        Whether to rescale each image's map to [0, 1].

    Returns
    -------
    np.ndarray, shape (N, h, w), float

    Raises
    ------
    ValueError
        If ``features`` is not 4-dimensional, ``fc_weight`` is not (num_classes, K) for
        the K maps of ``features``, a target array does not hold one class per image, or
        a class is not between 0 and num_classes - 1.
    """
    if features.ndim != 4:
        raise ValueError(f"features must be (N, K, h, w), got shape {features.shape}")
    N, K = features.shape[:2]
    if fc_weight.ndim != 2 or fc_weight.shape[1] != K:
        raise ValueError(f"fc_weight must be (num_classes, {K}), got shape {fc_weight.shape}")
    classes = np.broadcast_to(np.asarray(target), (N,)) if np.ndim(target) == 0 else np.asarray(target)
    if classes.shape != (N,):
        raise ValueError(f"target must be an int or hold {N} classes, got shape {classes.shape}")
    if classes.min() < 0 or classes.max() >= fc_weight.shape[0]:
        raise ValueError(f"target classes must be in [0, {fc_weight.shape[0] - 1}], got {classes.tolist()}")
    weights = fc_weight[classes]  # (N, K): each image's class weights
    cam = np.einsum("nk,nkij->nij", weights, features)  # (N, h, w)
    if normalize:
        low = cam.min(axis=(1, 2), keepdims=True)
        span = cam.max(axis=(1, 2), keepdims=True) - low
        cam = np.where(span > 0, (cam - low) / np.where(span > 0, span, 1.0), 0.0)
    return cam


def grad_cam(activations, gradients, relu=True):
    """Grad-CAM (Selvaraju et al. 2017) from a layer's activations and the gradient of a
    class score with respect to them.

    Each of the layer's K maps gets a weight, the average of the score's gradient over
    the map's positions: ``alpha_k = mean_ij dS_c / dA_k(i, j)``. The map is the
    weighted sum of the activations, of which only the positive part is kept:
    ``L = relu(sum_k alpha_k A_k)``. For a network that ends in global average pooling
    and a linear layer, ``alpha_k = W[c, k] / (h w)``, and Grad-CAM is CAM up to that
    factor and the ReLU.

    Parameters
    ----------
    activations : np.ndarray, shape (N, K, h, w), float
        The layer's output for N images.
    gradients : np.ndarray, shape (N, K, h, w), float
        The gradient of each image's class score with respect to ``activations``.
    relu : bool
        Whether to keep only the positive part of the map (the paper does).

    Returns
    -------
    tuple (weights, cam)
        ``weights`` of shape (N, K), the alphas, and ``cam`` of shape (N, h, w).

    Raises
    ------
    ValueError
        If ``activations`` is not 4-dimensional or ``gradients`` has another shape.
    """
    if activations.ndim != 4:
        raise ValueError(f"activations must be (N, K, h, w), got shape {activations.shape}")
    if gradients.shape != activations.shape:
        raise ValueError(f"gradients must have the shape of activations {activations.shape}, "
                         f"got {gradients.shape}")
    weights = gradients.mean(axis=(2, 3))  # (N, K): global average pooling of the gradients
    cam = np.einsum("nk,nkij->nij", weights, activations)  # (N, h, w)
    if relu:
        cam = np.maximum(cam, 0.0)
    return weights, cam


def occlusion_map(model, inputs, target, window, stride=1, baseline=0.0):
    """The occlusion map of Zeiler & Fergus (2014): how much the class score drops when
    a patch of the image is covered, averaged over the patches that cover each pixel.

    A window of ``window`` pixels slides over the image with steps of ``stride``,
    starting at the top left corner, until it has reached the last row and column:
    ``ceil((H - kh) / sh) + 1`` rows of positions, the last window cut off at the
    border when the steps do not end exactly there (and likewise for the columns). At
    each position the window's pixels, on every channel, are set to ``baseline`` and
    the model scores the occluded image; the drop is ``S_c(image) - S_c(occluded
    image)``, with ``S_c`` the model's output for the target class (before any
    softmax). A pixel's value in the map is the average of the drops of the windows
    that cover it. This is what captum's ``Occlusion`` computes with a window spanning
    all channels; like captum, the stride may not exceed the window, which would leave
    pixels that no window covers.

    Parameters
    ----------
    model : torch.nn.Module
        In evaluation mode; maps a batch (N, C, H, W) to scores (N, num_classes).
    inputs : torch.Tensor, shape (N, C, H, W), float
        The images; leave them unchanged.
    target : int or torch.Tensor of shape (N,)
        The class of every image (an int), or one class per image.
    window : int or tuple (kh, kw)
        The patch's height and width (an int: a square).
    stride : int or tuple (sh, sw)
        The steps between positions of the patch (an int: the same both ways).
    baseline : float
        The value the covered pixels take.

    Returns
    -------
    torch.Tensor, shape (N, H, W)
        The dtype of ``inputs``.

    Raises
    ------
    ValueError
        If ``inputs`` is not 4-dimensional, the window is smaller than 1 x 1 or larger
        than the image, or a stride is smaller than 1 or larger than the window.
    """
    import math

    import torch

    if inputs.ndim != 4:
        raise ValueError(f"inputs must be (N, C, H, W), got shape {tuple(inputs.shape)}")
    N, C, H, W = inputs.shape
    kh, kw = (window, window) if isinstance(window, int) else window
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    if not (1 <= kh <= H and 1 <= kw <= W):
        raise ValueError(f"window must fit in the {H} x {W} image, got {kh} x {kw}")
    if not (1 <= sh <= kh and 1 <= sw <= kw):
        raise ValueError(f"stride must be between 1 and the window {(kh, kw)}, got {(sh, sw)}")
    classes = torch.as_tensor(target).long().expand(N)  # (N,)
    rows = torch.arange(N)
    total = torch.zeros(N, H, W, dtype=inputs.dtype)
    count = torch.zeros(H, W, dtype=inputs.dtype)
    with torch.no_grad():
        reference = model(inputs)[rows, classes]  # (N,)
        for i in range(math.ceil((H - kh) / sh) + 1):
            for j in range(math.ceil((W - kw) / sw) + 1):
                top, left = i * sh, j * sw  # slicing cuts the last window off at the border
                occluded = inputs.clone()
                occluded[:, :, top:top + kh, left:left + kw] = baseline
                drop = reference - model(occluded)[rows, classes]  # (N,)
                total[:, top:top + kh, left:left + kw] += drop[:, None, None]
                count[top:top + kh, left:left + kw] += 1
    return total / count  # every pixel is covered: the stride is at most the window


def lime_fit(perturbations, scores, distances, kernel_width=0.25, alpha=1.0):
    """The weighted linear model at the heart of LIME (Ribeiro, Singh & Guestrin 2016).

    LIME switches the M superpixels of an image on and off at random (each row ``z`` of
    ``perturbations`` is one such sample, 1 for a superpixel kept), scores each
    perturbed image with the model, and fits a linear model ``g(z) = intercept + coef .
    z`` to the scores, giving each sample a weight that decreases with its distance
    ``d`` to the whole image, the exponential kernel of the ``lime`` package:
    ``pi = sqrt(exp(-d**2 / kernel_width**2))``. The fit is a ridge regression, as in
    the ``lime`` package: it minimises
    ``sum_i pi_i (y_i - intercept - coef . z_i)**2 + alpha * |coef|**2``, where the
    intercept is not penalised.

    Parameters
    ----------
    perturbations : np.ndarray, shape (S, M), 0 or 1
        One row per sample, one column per superpixel.
    scores : np.ndarray, shape (S,), float
        The model's score of each perturbed image.
    distances : np.ndarray, shape (S,), float
        The distance of each sample to the unperturbed image.
    kernel_width : float
        The width of the exponential kernel.
    alpha : float
        The ridge penalty (0: weighted least squares).

    Returns
    -------
    tuple (coef, intercept)
        ``coef`` an np.ndarray of shape (M,), one weight per superpixel, ``intercept`` a
        float.

    Raises
    ------
    ValueError
        If ``perturbations`` is not 2-dimensional, ``scores`` or ``distances`` does not
        have one value per sample, ``kernel_width`` is not positive or ``alpha`` is
        negative.
    """
    Z = np.asarray(perturbations, dtype=np.float64)
    if Z.ndim != 2:
        raise ValueError(f"perturbations must be (S, M), got shape {Z.shape}")
    S, M = Z.shape
    if np.shape(scores) != (S,) or np.shape(distances) != (S,):
        raise ValueError(f"scores and distances must have shape ({S},), got {np.shape(scores)} "
                         f"and {np.shape(distances)}")
    if not kernel_width > 0 or alpha < 0:
        raise ValueError(f"kernel_width must be > 0 and alpha >= 0, got {kernel_width} and {alpha}")
    pi = np.sqrt(np.exp(-np.asarray(distances) ** 2 / kernel_width ** 2))  # (S,)
    z_mean = pi @ Z / pi.sum()  # (M,): weighted means, so the intercept is not penalised
    y_mean = pi @ scores / pi.sum()
    Zc, yc = Z - z_mean, scores - y_mean
    gram = Zc.T @ (pi[:, None] * Zc) + alpha * np.eye(M)  # (M, M)
    coef = np.linalg.lstsq(gram, Zc.T @ (pi * yc), rcond=None)[0]
    return coef, float(y_mean - z_mean @ coef)


def pointing_game(maps, masks, tolerance=0):
    """The pointing game of Zhang et al. (2018): does each map's maximum point at the
    object?

    Each map points at one pixel, its maximum (the first one, in the order of
    ``np.argmax`` on the flattened map, when several pixels tie). That is a hit if some
    pixel of the object's mask lies within a Euclidean distance of ``tolerance`` pixels
    of it (with ``tolerance=0``: the pixel itself is in the mask). The paper allows 15
    pixels on ImageNet-sized images.

    Parameters
    ----------
    maps : np.ndarray, shape (N, H, W), float
        One attribution map per image.
    masks : np.ndarray, shape (N, H, W), bool
        The object's pixels in each image.
    tolerance : float
        The largest distance, in pixels, between the maximum and the object.

    Returns
    -------
    np.ndarray, shape (N,), bool
        Whether each map hits its object; their mean is the pointing accuracy.

    Raises
    ------
    ValueError
        If ``maps`` is not 3-dimensional, ``masks`` does not have its shape, a mask is
        empty (there is nothing to point at), or ``tolerance`` is negative.
    """
    if maps.ndim != 3 or masks.shape != maps.shape:
        raise ValueError(f"maps must be (N, H, W) and masks of the same shape, got {maps.shape} and "
                         f"{masks.shape}")
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    masks = masks.astype(bool)
    if not masks.any(axis=(1, 2)).all():
        raise ValueError("every mask needs at least one pixel of the object")
    N, H, W = maps.shape
    hits = np.zeros(N, dtype=bool)
    for n in range(N):
        i, j = np.unravel_index(np.argmax(maps[n]), (H, W))  # the first maximum
        rows, cols = np.nonzero(masks[n])  # the object's pixels
        hits[n] = np.min((rows - i) ** 2 + (cols - j) ** 2) <= tolerance ** 2
    return hits


def deletion_curve(model, inputs, target, maps, pixels_per_step=1, baseline=0.0):
    """The deletion curve of Petsiuk, Das & Saenko (2018) and its area: how fast the
    class probability falls when the pixels a map ranks first are removed first.

    The pixels of each image are ranked by decreasing map value (ties: the lower index
    of the flattened map first). Step ``k`` (from 0 to ``n = ceil(H * W /
    pixels_per_step)``) removes the first ``min(k * pixels_per_step, H * W)`` pixels of
    that order, setting them to ``baseline`` on every channel, and records the
    probability of the target class, the softmax of the model's scores. The area under
    the curve is taken with the trapezoid rule on steps of width ``1 / n``, from 0 to
    1: ``(sum(curve) - curve[0] / 2 - curve[n] / 2) / n``. A map that finds the
    evidence gives a curve that falls early, and a small area.

    Parameters
    ----------
    model : torch.nn.Module
        In evaluation mode; maps a batch (N, C, H, W) to scores (N, num_classes).
    inputs : torch.Tensor, shape (N, C, H, W), float
        The images; leave them unchanged.
    target : int or torch.Tensor of shape (N,)
        The class of every image (an int), or one class per image.
    maps : torch.Tensor, shape (N, H, W)
        The attribution map of each image.
    pixels_per_step : int
        How many pixels each step removes.
    baseline : float
        The value removed pixels take.

    Returns
    -------
    tuple (curve, auc)
        ``curve`` a torch.Tensor of shape (N, n + 1), the probabilities after 0, 1, ...,
        n steps, and ``auc`` a torch.Tensor of shape (N,), the areas; both of the dtype
        of ``inputs``.

    Raises
    ------
    ValueError
        If ``inputs`` is not 4-dimensional, ``maps`` is not (N, H, W) for its N images
        of H x W pixels, or ``pixels_per_step`` is smaller than 1.
    """
    import math

    import torch

    if inputs.ndim != 4:
        raise ValueError(f"inputs must be (N, C, H, W), got shape {tuple(inputs.shape)}")
    N, C, H, W = inputs.shape
    if tuple(maps.shape) != (N, H, W):
        raise ValueError(f"maps must have shape {(N, H, W)}, got {tuple(maps.shape)}")
    if pixels_per_step < 1:
        raise ValueError(f"pixels_per_step must be at least 1, got {pixels_per_step}")
    classes = torch.as_tensor(target).long().expand(N)  # (N,)
    order = torch.argsort(-maps.reshape(N, H * W), dim=1, stable=True)  # (N, H*W): most important first
    n = math.ceil(H * W / pixels_per_step)
    x = inputs.detach().clone().reshape(N, C, H * W)
    curve = torch.zeros(N, n + 1, dtype=inputs.dtype)
    with torch.no_grad():
        for k in range(n + 1):
            if k > 0:  # remove the next pixels of each image's order
                batch = order[:, (k - 1) * pixels_per_step:k * pixels_per_step]  # (N, p)
                x.scatter_(2, batch[:, None, :].expand(N, C, -1), baseline)
            probabilities = torch.softmax(model(x.reshape(N, C, H, W)), dim=1)
            curve[:, k] = probabilities[torch.arange(N), classes]
    auc = (curve.sum(dim=1) - curve[:, 0] / 2 - curve[:, -1] / 2) / n
    return curve, auc
