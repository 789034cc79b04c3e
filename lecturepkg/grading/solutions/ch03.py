"""Reference solutions of the chapter 3 exercises, "Building blocks and famous
architectures".

Each function is the solution of the exercise of the same name in
``book/03-architectures/exercises.md``, with the same signature and the same docstring
as the stub there. They use plain Python, numpy, and (for the residual block only)
PyTorch's convolution, never the modules that would do the work (``torchvision.models``,
the course's ``lecturepkg.blocks`` and ``lecturepkg.models``,
``torch.nn.functional.batch_norm``, ``lecturepkg.counting``, ...): those are the answers
the exercises ask for. Each function is self-contained, so that it can be pasted into
the exercises notebook as it stands.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "vgg_features_cost",
    "conv1x1",
    "depth_concat",
    "inception_cost",
    "basic_block_forward",
    "highway_forward",
    "center_crop",
    "batch_norm_train",
]


def vgg_features_cost(cfg, in_channels=3, input_size=224, batch_norm=False):
    """Output shape and parameter count of the convolutional part of a VGG network, read
    from its configuration list.

    VGG describes a network as data (Simonyan & Zisserman 2015, Table 1; torchvision's
    ``cfgs``): each entry of ``cfg`` is either an int ``v``, a 3 x 3 convolution to
    ``v`` channels with stride 1, padding 1 and a bias, followed (if ``batch_norm``) by
    a batch norm layer and then a ReLU; or the string ``"M"``, a 2 x 2 max pooling with
    stride 2 that halves the height and width, rounding down. VGG-16 is ``[64, 64, "M",
    128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]``.

    Parameters
    ----------
    cfg : list of int or "M"
        The layers, first layer first.
    in_channels : int
        Channels of the input image (3 for RGB).
    input_size : int or tuple (H, W)
        The input's height and width (an int: a square image).
    batch_norm : bool
        Whether every convolution is followed by a batch norm layer, whose learnable
        scale and shift count as parameters (its running statistics do not: they are
        buffers, not parameters).

    Returns
    -------
    tuple (out_shape, params)
        ``out_shape`` the shape ``(C, H, W)`` of the output of the last layer and
        ``params`` the number of learnable parameters, all Python ints.

    Raises
    ------
    ValueError
        If an entry is neither a positive int nor ``"M"``, if the input size is not
        positive, or if a max pooling gets a map smaller than 2 x 2 (it would vanish).

    Example: VGG-16 on a 224 x 224 RGB image ends with a ``(512, 7, 7)`` map and has
    14,714,688 parameters before its classifier.
    """
    H, W = (input_size, input_size) if isinstance(input_size, int) else input_size
    if H < 1 or W < 1:
        raise ValueError(f"input_size must be positive, got {input_size!r}")
    C, params = in_channels, 0
    for entry in cfg:
        if entry == "M":
            if H < 2 or W < 2:
                raise ValueError(f"max pooling a {H} x {W} map leaves nothing")
            H, W = H // 2, W // 2
        elif isinstance(entry, int) and not isinstance(entry, bool) and entry > 0:
            params += entry * (C * 3 * 3 + 1)  # weights and one bias per filter
            if batch_norm:
                params += 2 * entry  # scale and shift per channel
            C = entry  # padding 1 keeps H and W
        else:
            raise ValueError(f"cfg entries must be positive ints or 'M', got {entry!r}")
    return (int(C), int(H), int(W)), int(params)


def conv1x1(x, weight, bias):
    """A 1 x 1 convolution, computed as one matrix product over the channels.

    At every pixel ``(i, j)`` of every image ``n`` a 1 x 1 convolution applies the same
    linear map to the vector of channels: ``y[n, :, i, j] = W @ x[n, :, i, j] + bias``,
    with ``W = weight[:, :, 0, 0]`` of shape (D, C). Gathering all the pixels of the
    batch as the columns (or rows) of one matrix computes them all at once.

    Parameters
    ----------
    x : np.ndarray, shape (N, C, H, W), float
    weight : np.ndarray, shape (D, C, 1, 1), float
        PyTorch's layout for a ``nn.Conv2d(C, D, kernel_size=1)``.
    bias : np.ndarray, shape (D,), float

    Returns
    -------
    np.ndarray, shape (N, D, H, W)
        The dtype of ``x``, ``weight`` and ``bias`` combined (float64 in, float64 out).

    Raises
    ------
    ValueError
        If ``weight`` is not of shape (D, C, 1, 1) with the C channels of ``x``, or
        ``bias`` not of shape (D,).
    """
    N, C, H, W = x.shape
    if weight.ndim != 4 or weight.shape[1:] != (C, 1, 1):
        raise ValueError(f"weight must have shape (D, {C}, 1, 1), got {weight.shape}")
    D = weight.shape[0]
    if bias.shape != (D,):
        raise ValueError(f"bias must have shape ({D},), got {bias.shape}")
    pixels = x.transpose(0, 2, 3, 1).reshape(-1, C)  # (N * H * W, C): one row per pixel
    y = pixels @ weight[:, :, 0, 0].T + bias  # (N * H * W, D)
    return y.reshape(N, H, W, D).transpose(0, 3, 1, 2)  # (N, D, H, W)


def depth_concat(tensors):
    """Concatenate feature maps of different heights and widths along the channels
    (depth), after zero-padding each to the largest height and width, centred.

    This is ``DepthConcat`` as Torch7's ``nn.DepthConcat`` does it, the module that
    Torch implementations of GoogLeNet used: a map of height ``H_i`` in an output of
    height ``H_max`` gets ``(H_max - H_i) // 2`` rows of zeros on top and the rest at
    the bottom, and likewise for the width (left, then right). The maps follow each
    other in the order of the list.

    Parameters
    ----------
    tensors : list of np.ndarray, each of shape (N, C_i, H_i, W_i)
        At least one; all with the same batch size N.

    Returns
    -------
    np.ndarray, shape (N, C_1 + C_2 + ..., max H_i, max W_i)
        The dtype the inputs' dtypes combine to.

    Raises
    ------
    ValueError
        If the list is empty, an array is not 4-dimensional, or the batch sizes differ.

    Example: maps of shapes (1, 2, 14, 14) and (1, 3, 16, 16) give (1, 5, 16, 16); the
    first one sits at rows and columns 1 to 14 with a border of zeros around it.
    """
    if len(tensors) == 0:
        raise ValueError("tensors must hold at least one array")
    if any(np.ndim(t) != 4 for t in tensors):
        raise ValueError(f"every array must be (N, C, H, W), got shapes {[np.shape(t) for t in tensors]}")
    N = tensors[0].shape[0]
    if any(t.shape[0] != N for t in tensors):
        raise ValueError(f"the batch sizes differ: {[t.shape[0] for t in tensors]}")
    H = max(t.shape[2] for t in tensors)
    W = max(t.shape[3] for t in tensors)
    out = np.zeros((N, sum(t.shape[1] for t in tensors), H, W), dtype=np.result_type(*tensors))
    c = 0
    for t in tensors:
        _, C_i, H_i, W_i = t.shape
        top, left = (H - H_i) // 2, (W - W_i) // 2
        out[:, c:c + C_i, top:top + H_i, left:left + W_i] = t
        c += C_i
    return out


def inception_cost(in_channels, size, ch1x1, ch3x3, ch5x5, ch3x3red=None, ch5x5red=None,
                   pool_proj=None):
    """Output channels and multiplications of an inception module (Szegedy et al. 2015).

    Four branches run side by side on an input of ``in_channels`` maps of size H x W,
    all keeping H and W ("same" padding, stride 1), and their outputs are concatenated:

    * a 1 x 1 convolution to ``ch1x1`` maps;
    * a 3 x 3 convolution to ``ch3x3`` maps, after a 1 x 1 reduction to ``ch3x3red``
      maps unless ``ch3x3red`` is None (the naive module convolves the input directly);
    * a 5 x 5 convolution to ``ch5x5`` maps, after a 1 x 1 reduction to ``ch5x5red``
      maps unless ``ch5x5red`` is None;
    * a 3 x 3 max pooling (stride 1), followed by a 1 x 1 convolution to ``pool_proj``
      maps unless ``pool_proj`` is None (then the pooled input's ``in_channels`` maps
      are passed on as they are).

    A convolution from C_in to C_out maps with a k x k kernel on H x W outputs costs
    ``H * W * C_in * C_out * k * k`` multiplications; pooling and biases cost none. A
    branch with 0 output maps is left out, its reduction included.

    Parameters
    ----------
    in_channels : int
    size : int or tuple (H, W)
        The input's height and width (an int: square maps).
    ch1x1, ch3x3, ch5x5 : int
    ch3x3red, ch5x5red, pool_proj : int or None

    Returns
    -------
    tuple (out_channels, multiplications)
        Both Python ints.

    Raises
    ------
    ValueError
        If a number of channels is negative or the size is not positive.

    Example: the lecture notes' 5 x 5 branch alone on a 28 x 28 x 192 input,
    ``inception_cost(192, 28, 0, 0, 32, pool_proj=0)``, costs 120,422,400
    multiplications, and 12,443,648 with a 16-map reduction (``ch5x5red=16``).
    """
    H, W = (size, size) if isinstance(size, int) else size
    if H < 1 or W < 1:
        raise ValueError(f"size must be positive, got {size!r}")
    channels = [in_channels, ch1x1, ch3x3, ch5x5, ch3x3red, ch5x5red, pool_proj]
    if any(c is not None and c < 0 for c in channels):
        raise ValueError(f"numbers of channels must be >= 0, got {channels}")

    def conv(c_in, c_out, k):  # multiplications of one "same" convolution
        return H * W * c_in * c_out * k * k

    mults = conv(in_channels, ch1x1, 1)
    for red, out, k in [(ch3x3red, ch3x3, 3), (ch5x5red, ch5x5, 5)]:
        if out == 0:  # no branch, no reduction either
            continue
        if red is None:
            mults += conv(in_channels, out, k)
        else:
            mults += conv(in_channels, red, 1) + conv(red, out, k)
    if pool_proj is None:
        pooled = in_channels
    else:
        pooled = pool_proj
        mults += conv(in_channels, pool_proj, 1)
    return int(ch1x1 + ch3x3 + ch5x5 + pooled), int(mults)


def basic_block_forward(x, params, stride=1, eps=1e-5):
    """The forward pass of a ResNet basic block in evaluation mode (He et al. 2016),
    with a projection shortcut when ``params`` has one.

    ``out = relu(F(x) + shortcut(x))`` with ``F(x) = bn2(conv2(relu(bn1(conv1(x)))))``:
    ``conv1`` is 3 x 3 with stride ``stride`` and padding 1, ``conv2`` 3 x 3 with stride
    1 and padding 1, both without bias. The shortcut is the identity, or, when
    ``params`` has the keys ``"downsample.0.weight"`` and ``"downsample.1.*"``, the
    projection ``W_s x`` of the paper's equation (2): a 1 x 1 convolution with stride
    ``stride`` and no bias, followed by a batch norm. Every batch norm uses its running
    statistics (evaluation mode), per channel:
    ``bn(z) = (z - running_mean) / sqrt(running_var + eps) * weight + bias``.

    Parameters
    ----------
    x : torch.Tensor, shape (N, C, H, W), float64
    params : dict of str to torch.Tensor
        The block's weights, with the keys of torchvision's ``BasicBlock.state_dict()``:
        ``conv1.weight`` (P, C, 3, 3), ``bn1.weight``, ``bn1.bias``,
        ``bn1.running_mean``, ``bn1.running_var`` (each (P,)), ``conv2.weight`` (P, P,
        3, 3), ``bn2.*`` likewise, and optionally ``downsample.0.weight`` (P, C, 1, 1)
        and ``downsample.1.*``. Other keys (``num_batches_tracked``) are ignored.
    stride : int
        The stride of ``conv1`` and of the projection.
    eps : float
        The batch norm's epsilon.

    Returns
    -------
    torch.Tensor, shape (N, P, (H - 1) // stride + 1, (W - 1) // stride + 1)
        float64.

    Raises
    ------
    ValueError
        If there is no projection but ``F(x)`` and ``x`` have different shapes (a stride
        or a change of channels needs the projection).
    """
    import torch.nn.functional as F

    def bn(z, prefix):
        scale = params[f"{prefix}.weight"] / (params[f"{prefix}.running_var"] + eps).sqrt()
        shift = params[f"{prefix}.bias"] - params[f"{prefix}.running_mean"] * scale
        return z * scale[None, :, None, None] + shift[None, :, None, None]

    out = F.relu(bn(F.conv2d(x, params["conv1.weight"], stride=stride, padding=1), "bn1"))
    out = bn(F.conv2d(out, params["conv2.weight"], padding=1), "bn2")  # (N, P, H', W')
    if "downsample.0.weight" in params:
        shortcut = bn(F.conv2d(x, params["downsample.0.weight"], stride=stride), "downsample.1")
    elif out.shape == x.shape:
        shortcut = x
    else:
        raise ValueError(f"the residual has shape {tuple(out.shape)} but x {tuple(x.shape)}: "
                         "this block needs a projection shortcut (downsample.*)")
    return F.relu(out + shortcut)


def highway_forward(x, weight_h, bias_h, weight_t, bias_t):
    """The forward pass of a dense highway layer (Srivastava, Greff & Schmidhuber 2015).

    ``y = H(x) * T(x) + x * (1 - T(x))``, elementwise, with the transform ``H(x) =
    relu(x @ weight_h.T + bias_h)`` and the transform gate ``T(x) = sigmoid(x @
    weight_t.T + bias_t)``: where the gate is closed (T = 0) the layer carries its input
    through unchanged, where it is open (T = 1) it outputs H(x). The weights have the
    layout of ``torch.nn.Linear`` (output features first).

    Parameters
    ----------
    x : np.ndarray, shape (N, F), float
    weight_h, weight_t : np.ndarray, shape (F, F), float
    bias_h, bias_t : np.ndarray, shape (F,), float

    Returns
    -------
    np.ndarray, shape (N, F)
        float64 when the inputs are float64.

    Raises
    ------
    ValueError
        If a weight is not (F, F) or a bias not (F,) for the F features of ``x``: the
        carry term needs the output to have the input's size.
    """
    N, F = x.shape
    for name, array, shape in [("weight_h", weight_h, (F, F)), ("weight_t", weight_t, (F, F)),
                               ("bias_h", bias_h, (F,)), ("bias_t", bias_t, (F,))]:
        if array.shape != shape:
            raise ValueError(f"{name} must have shape {shape}, got {array.shape}")
    h = np.maximum(x @ weight_h.T + bias_h, 0.0)  # (N, F): the transform
    t = 1.0 / (1.0 + np.exp(-(x @ weight_t.T + bias_t)))  # (N, F): the transform gate
    return h * t + x * (1.0 - t)


def center_crop(x, size):
    """Cut the centre of size ``size`` out of a batch of feature maps, as U-Net does
    before it concatenates an encoder map with the smaller decoder map (Ronneberger et
    al. 2015).

    The crop starts ``(H - h) // 2`` rows from the top and ``(W - w) // 2`` columns from
    the left; when the difference is odd, the extra row (column) is dropped at the
    bottom (right), the mirror image of ``depth_concat``'s padding.

    Parameters
    ----------
    x : np.ndarray, shape (N, C, H, W)
    size : int or tuple (h, w)
        The height and width to keep (an int: a square).

    Returns
    -------
    np.ndarray, shape (N, C, h, w)
        The same dtype as ``x``.

    Raises
    ------
    ValueError
        If ``h`` or ``w`` is smaller than 1 or larger than the map.

    Example: U-Net crops the 64 x 64 map of its fourth level to 56 x 56, dropping 4 rows
    and columns on each side.
    """
    h, w = (size, size) if isinstance(size, int) else size
    N, C, H, W = x.shape
    if not (1 <= h <= H and 1 <= w <= W):
        raise ValueError(f"size must be between 1 and the map's {H} x {W}, got {h} x {w}")
    top, left = (H - h) // 2, (W - w) // 2
    return x[:, :, top:top + h, left:left + w].copy()


def batch_norm_train(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
    """Batch normalisation in training mode (Ioffe & Szegedy 2015), as
    ``torch.nn.BatchNorm2d`` (or ``BatchNorm1d``) computes it when ``model.train()``.

    Per channel c, the batch's mean and *biased* variance (dividing by m, the number of
    values of channel c in the batch: N for an (N, C) input, N * H * W for (N, C, H, W))
    normalise it: ``y = (x - mean) / sqrt(var + eps) * gamma[c] + beta[c]``. The running
    statistics move towards the batch's, ``new = (1 - momentum) * old + momentum *
    batch``, where the running variance uses the *unbiased* variance (dividing by
    m - 1), as PyTorch does.

    Parameters
    ----------
    x : np.ndarray, shape (N, C) or (N, C, H, W), float
    gamma, beta : np.ndarray, shape (C,), float
        The learnable scale and shift.
    running_mean, running_var : np.ndarray, shape (C,), float
        The running statistics before this batch; leave them unchanged (return new
        ones).
    momentum : float
        The weight of the batch's statistics in the update.
    eps : float
        Added to the variance under the square root.

    Returns
    -------
    tuple (y, new_running_mean, new_running_var)
        ``y`` of the shape of ``x``; the new statistics of shape (C,).

    Raises
    ------
    ValueError
        If ``x`` is not 2- or 4-dimensional, a parameter does not have the C channels of
        ``x``, or a channel has only one value in the batch (no variance to estimate).
    """
    if x.ndim not in (2, 4):
        raise ValueError(f"x must be (N, C) or (N, C, H, W), got shape {x.shape}")
    C = x.shape[1]
    for name, array in [("gamma", gamma), ("beta", beta), ("running_mean", running_mean),
                        ("running_var", running_var)]:
        if array.shape != (C,):
            raise ValueError(f"{name} must have shape ({C},), got {array.shape}")
    axes = (0,) if x.ndim == 2 else (0, 2, 3)  # every axis but the channels
    m = x.size // C
    if m < 2:
        raise ValueError(f"each channel needs more than one value in the batch, got {m}")
    shape = (1, C) + (1,) * (x.ndim - 2)  # broadcasts a (C,) vector over x
    mean = x.mean(axis=axes)
    var = x.var(axis=axes)  # biased: divides by m
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    y = y * gamma.reshape(shape) + beta.reshape(shape)
    new_mean = (1 - momentum) * running_mean + momentum * mean
    new_var = (1 - momentum) * running_var + momentum * var * m / (m - 1)  # unbiased
    return y, new_mean, new_var
