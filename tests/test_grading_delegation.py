"""Delegation is stopped where every route ends, and honest answers still get full marks.

For every exercise, each way a student could hand the work to a library (the public names,
PyTorch's operators through ``torch.ops.aten``, ``torch._C``, ``nn`` layers, ``torch.nn.grad``,
autograd, threads, numpy's and scipy's compiled cores, the course's own ``lecturepkg.conv``)
is written as a student would write it, in a fresh namespace, and must lose every point with
a message naming what is not available. Independent correct answers, written with loops and
vectorised with the tools each page allows, must score full marks. The registry's operator
lists are checked against PyTorch's own operator table, and each exercise page must show
the list its grader enforces.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import threading

import nbformat
import numpy as np
import pytest
import torch

from lecturepkg.grading import EXERCISES, run_exercise
from lecturepkg.grading.exercises import (BATCH_NORM_OPS, CONVOLUTION_OPS, MAX_POOL_OPS, OP_GROUPS,
                                          describe_op, forbidden_list)
from notebook_files import BOOK

HEADER = """
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
"""


def student_function(name: str, source: str):
    """``source`` run as a notebook cell in a fresh namespace; its function ``name``."""
    namespace: dict = {"__name__": "__main__"}
    exec(compile(HEADER + textwrap.dedent(source), f"<student {name}>", "exec"), namespace)
    return namespace[name]


# ----------------------------------------------------------------------------------------
# Delegation routes: exercise -> {route: (source defining the function, fragment of the
# message naming what is unavailable)}. ``T(a)`` turns an array into a tensor.
# ----------------------------------------------------------------------------------------

T = "T = torch.from_numpy\n"
CONV = "a convolution"  # every convolution operator's message says so (describe_op)

# 1D valid correlation of one signal with one kernel, as (x, w) -> array, by route.
CORRELATE_1D = {
    "F.conv1d": ("F.conv1d(T(x).view(1, 1, -1), T(w).view(1, 1, -1)).view(-1).numpy()", CONV),
    "torch.conv1d": ("torch.conv1d(T(x).view(1, 1, -1), T(w).view(1, 1, -1)).view(-1).numpy()", CONV),
    "F.conv2d with one row": ("F.conv2d(T(x).view(1, 1, 1, -1), T(w).view(1, 1, 1, -1)).view(-1).numpy()", CONV),
    "torch.ops.aten.convolution": (
        "torch.ops.aten.convolution(T(x).view(1, 1, -1), T(w).view(1, 1, -1), None, [1], [0], [1], False, [0], 1)"
        ".view(-1).numpy()", "aten.convolution"),
    "torch.ops.aten.convolution transposed=True": (
        "torch.ops.aten.convolution.default(T(x).view(1, 1, -1), T(w).flip(0).view(1, 1, -1), None, [1], "
        "[len(w) - 1], [1], True, [0], 1).view(-1).numpy()", "aten.convolution"),
    "torch.ops.aten._convolution": (
        "torch.ops.aten._convolution(T(x).view(1, 1, -1), T(w).view(1, 1, -1), None, [1], [0], [1], False, [0], 1,"
        " False, False, False, False).view(-1).numpy()", "aten._convolution"),
    "torch._C._VariableFunctions.conv2d": (
        "torch._C._VariableFunctions.conv2d(T(x).view(1, 1, 1, -1), T(w).view(1, 1, 1, -1)).view(-1).numpy()", CONV),
    "torch._C._nn.slow_conv_dilated2d": (
        "torch._C._nn.slow_conv_dilated2d(T(x).view(1, 1, 1, -1), T(w).view(1, 1, 1, -1), [1, len(w)])"
        ".view(-1).numpy()", "aten.slow_conv_dilated2d"),
    "torch.conv_tbc": (
        "torch.conv_tbc(T(x).view(-1, 1, 1), T(w).view(-1, 1, 1), torch.zeros(1, dtype=T(x).dtype), 0)"
        ".view(-1).numpy()", "aten.conv_tbc"),
    "torch.nn.grad.conv1d_weight": (
        "torch.nn.grad.conv1d_weight(T(x).view(1, 1, -1), (1, 1, len(x) - len(w) + 1), T(w).view(1, 1, -1))"
        ".view(-1).numpy()", "aten.convolution_backward"),
    "nn.Conv1d layer": (
        "(lambda m: (m.weight.data.copy_(T(w).view(1, 1, -1)), m(T(x).view(1, 1, -1)))[1])"
        "(nn.Conv1d(1, 1, len(w), bias=False).double()).detach().view(-1).numpy()", CONV),
    "F.conv1d in a thread": (
        "__import__('concurrent.futures').futures.ThreadPoolExecutor(1).submit("
        "lambda: F.conv1d(T(x).view(1, 1, -1), T(w).view(1, 1, -1)).view(-1).numpy()).result()", CONV),
    "F.conv1d in torch.jit.fork": (
        "torch.jit.wait(torch.jit.fork(F.conv1d, T(x).view(1, 1, -1), T(w).view(1, 1, -1))).view(-1).numpy()", CONV),
    "np.correlate": ("np.correlate(x, w, 'valid')", "numpy.correlate"),
    "np.convolve": ("np.convolve(x, w[::-1], 'valid')", "numpy.convolve"),
    "numpy's compiled correlate2": ("np._core.multiarray.correlate2(x, w, 0)", "numpy._core.multiarray.correlate2"),
    "numpy's compiled correlate": ("np._core._multiarray_umath.correlate(x, w, 0)",
                                   "numpy._core.multiarray.correlate"),
    "np.polymul": ("np.polymul(x, w[::-1])[len(w) - 1:len(x)]", "numpy.convolve"),
    "scipy.signal.correlate": ("__import__('scipy.signal').signal.correlate(x, w, 'valid')",
                               "scipy.signal.correlate"),
    "scipy.signal._signaltools.correlate": (
        "__import__('scipy.signal._signaltools').signal._signaltools.correlate(x, w, 'valid', 'direct')",
        "scipy.signal.correlate"),
    "scipy's compiled _correlateND": (
        "__import__('scipy.signal._sigtools').signal._sigtools._correlateND(x, w, np.zeros(len(x) - len(w) + 1), 0)",
        "scipy.signal._sigtools._correlateND"),
    "scipy.signal.lfilter": ("__import__('scipy.signal').signal.lfilter(w[::-1], [1.0], x)[len(w) - 1:]",
                             "scipy.signal.lfilter"),
    "scipy.ndimage.correlate1d": (
        "__import__('scipy.ndimage').ndimage.correlate1d(x, w, mode='constant', origin=-((len(w) - 1) // 2))"
        "[:len(x) - len(w) + 1]", "scipy.ndimage.correlate1d"),
    "scipy.linalg.convolution_matrix": (
        "__import__('scipy.linalg').linalg.convolution_matrix(w[::-1], len(x), 'valid') @ x",
        "scipy.linalg.convolution_matrix"),
    "lecturepkg.conv.conv1d": ("__import__('lecturepkg.conv').conv.conv1d(x[None, None], w[None, None])[0, 0]",
                               "lecturepkg.conv"),
    "lecturepkg.conv.unfold.conv1d_fast": (
        "__import__('importlib').import_module('lecturepkg.conv.unfold').conv1d_fast(x[None, None], w[None, None])"
        "[0, 0]",
        "lecturepkg.conv"),
}


def _routes_from(table: dict, name: str, params: str, prologue: str, expression: str) -> dict:
    """One route per entry of ``table``: the function ``name(params)`` runs ``prologue``
    then returns ``expression`` with ``{route}`` replaced by the entry's expression."""
    routes = {}
    for route, (code, fragment) in table.items():
        body = prologue + "return " + expression.replace("{route}", code)
        routes[route] = (f"{T}def {name}({params}):\n" + textwrap.indent(body, "    "), fragment)
    return routes


def _imports(name: str, params: str, call: str, fragment: str, module: str, attr: str) -> dict:
    """The same function reached through ``from module import attr``, a default argument
    and a closure."""
    return {
        f"from {module} import {attr}": (
            f"from {module} import {attr}\n{T}def {name}({params}):\n    return {call.format(f=attr)}\n", fragment),
        f"{module}.{attr} as a default argument": (
            f"import {module}\n{T}def {name}({params}, _f={module}.{attr}):\n    return {call.format(f='_f')}\n",
            fragment),
        f"{module}.{attr} in a closure": (
            f"import {module}\n{T}def make(f):\n    def {name}({params}):\n        return {call.format(f='f')}\n"
            f"    return {name}\n{name} = make({module}.{attr})\n", fragment),
    }


ROUTES: dict[str, dict[str, tuple[str, str]]] = {}

ROUTES["correlate1d"] = {
    **_routes_from(CORRELATE_1D, "correlate1d", "x, w", "", "{route}"),
    **_imports("correlate1d", "x, w", "{f}(x, w, 'valid')", "numpy.correlate", "numpy", "correlate"),
    **_imports("correlate1d", "x, w", "{f}(x, w, 0)", "numpy._core.multiarray.correlate2",
               "numpy._core.multiarray", "correlate2"),
    **_imports("correlate1d", "x, w", "{f}(T(x).view(1, 1, -1), T(w).view(1, 1, -1)).view(-1).numpy()", CONV,
               "torch.nn.functional", "conv1d"),
    "lecturepkg.models alias of a course function": (
        "import lecturepkg.models.tcn as tcn\n"
        "def correlate1d(x, w):\n    tcn.causal_padding(len(w))\n    return x[:len(x) - len(w) + 1]\n",
        "lecturepkg.conv"),
}

ROUTES["correlate1d_kernel_grad"] = {
    # dL/dw_j = sum_i g_i x_{i+j}: the correlation of x with the upstream gradient
    **_routes_from({k: v for k, v in CORRELATE_1D.items() if k in (
        "F.conv1d", "torch.ops.aten.convolution", "torch._C._VariableFunctions.conv2d", "np.correlate",
        "numpy's compiled correlate2", "scipy.signal.correlate", "scipy.ndimage.correlate1d",
        "lecturepkg.conv.conv1d")},
        "correlate1d_kernel_grad", "x, grad_output, kernel_size", "w = grad_output\n", "{route}"),
    "Tensor.backward": ("""
        def correlate1d_kernel_grad(x, grad_output, kernel_size):
            x, g = torch.from_numpy(x), torch.from_numpy(grad_output)
            w = torch.zeros(kernel_size, dtype=x.dtype, requires_grad=True)
            y = torch.stack([(x[i:i + kernel_size] * w).sum() for i in range(len(g))])
            (y * g).sum().backward()
            return w.grad.numpy()
        """, "autograd"),
    "torch.autograd.grad": ("""
        def correlate1d_kernel_grad(x, grad_output, kernel_size):
            x, g = torch.from_numpy(x), torch.from_numpy(grad_output)
            w = torch.zeros(kernel_size, dtype=x.dtype, requires_grad=True)
            y = torch.stack([(x[i:i + kernel_size] * w).sum() for i in range(len(g))])
            return torch.autograd.grad(y, w, g)[0].numpy()
        """, "autograd"),
    "autograd through F.conv1d": ("""
        def correlate1d_kernel_grad(x, grad_output, kernel_size):
            w = torch.zeros(1, 1, kernel_size, dtype=torch.float64, requires_grad=True)
            F.conv1d(torch.from_numpy(x).view(1, 1, -1), w).view(-1).backward(torch.from_numpy(grad_output))
            return w.grad.view(-1).numpy()
        """, CONV),
    "torch.func.grad": ("""
        def correlate1d_kernel_grad(x, grad_output, kernel_size):
            x, g = torch.from_numpy(x), torch.from_numpy(grad_output)
            loss = lambda w: sum(g[i] * (x[i:i + kernel_size] * w).sum() for i in range(len(g)))
            return torch.func.grad(loss)(torch.zeros(kernel_size, dtype=x.dtype)).numpy()
        """, "autograd"),
    "torch.func.jacrev": ("""
        def correlate1d_kernel_grad(x, grad_output, kernel_size):
            x, g = torch.from_numpy(x), torch.from_numpy(grad_output)
            y = lambda w: torch.stack([(x[i:i + kernel_size] * w).sum() for i in range(len(g))])
            return (g @ torch.func.jacrev(y)(torch.zeros(kernel_size, dtype=x.dtype))).numpy()
        """, "autograd"),
    "torch.func.jacfwd (forward mode)": ("""
        def correlate1d_kernel_grad(x, grad_output, kernel_size):
            x, g = torch.from_numpy(x), torch.from_numpy(grad_output)
            y = lambda w: torch.stack([(x[i:i + kernel_size] * w).sum() for i in range(len(g))])
            return (g @ torch.func.jacfwd(y)(torch.zeros(kernel_size, dtype=x.dtype))).numpy()
        """, "autograd"),
    "torch.autograd.forward_ad": ("""
        import torch.autograd.forward_ad as fwAD
        def correlate1d_kernel_grad(x, grad_output, kernel_size):
            x, g = torch.from_numpy(x), torch.from_numpy(grad_output)
            out = []
            with fwAD.dual_level():
                for j in range(kernel_size):
                    w = fwAD.make_dual(torch.zeros(kernel_size, dtype=x.dtype), torch.eye(kernel_size, dtype=x.dtype)[j])
                    loss = sum(g[i] * (x[i:i + kernel_size] * w).sum() for i in range(len(g)))
                    out.append(float(fwAD.unpack_dual(loss).tangent))
            return np.array(out)
        """, "autograd"),
    "torch._C._enter_dual_level": ("""
        def correlate1d_kernel_grad(x, grad_output, kernel_size):
            torch._C._enter_dual_level()
            return np.zeros(kernel_size)
        """, "autograd"),
    "torch.autograd.functional.jacobian": ("""
        def correlate1d_kernel_grad(x, grad_output, kernel_size):
            x, g = torch.from_numpy(x), torch.from_numpy(grad_output)
            y = lambda w: torch.stack([(x[i:i + kernel_size] * w).sum() for i in range(len(g))])
            return (g @ torch.autograd.functional.jacobian(y, torch.zeros(kernel_size, dtype=x.dtype))).numpy()
        """, "autograd"),
    "the autograd engine directly": ("""
        def correlate1d_kernel_grad(x, grad_output, kernel_size):
            x, g = torch.from_numpy(x), torch.from_numpy(grad_output)
            w = torch.zeros(kernel_size, dtype=x.dtype, requires_grad=True)
            y = torch.stack([(x[i:i + kernel_size] * w).sum() for i in range(len(g))])
            return torch.autograd.Variable._execution_engine.run_backward(
                (y,), (g,), False, False, (w,), False, False)[0].numpy()
        """, "autograd"),
    "torch.ops.aten.convolution_backward": ("""
        def correlate1d_kernel_grad(x, grad_output, kernel_size):
            x, g = torch.from_numpy(x).view(1, 1, -1), torch.from_numpy(grad_output).view(1, 1, -1)
            w = torch.zeros(1, 1, kernel_size, dtype=x.dtype)
            return torch.ops.aten.convolution_backward(g, x, w, None, [1], [0], [1], False, [0], 1,
                                                       [False, True, False])[1].view(-1).numpy()
        """, "aten.convolution_backward"),
    "torch.nn.grad.conv1d_weight": ("""
        def correlate1d_kernel_grad(x, grad_output, kernel_size):
            return torch.nn.grad.conv1d_weight(torch.from_numpy(x).view(1, 1, -1), (1, 1, kernel_size),
                                               torch.from_numpy(grad_output).view(1, 1, -1)).view(-1).numpy()
        """, "aten.convolution_backward"),
    "lecturepkg.conv.conv1d_backward": ("""
        from lecturepkg.conv import conv1d_backward
        def correlate1d_kernel_grad(x, grad_output, kernel_size):
            return conv1d_backward(grad_output[None, None], x[None, None], np.zeros((1, 1, kernel_size)))[1][0, 0]
        """, "lecturepkg.conv"),
}

ROUTES["output_size"] = {
    "F.conv1d on zeros (the test's own oracle)": ("""
        def output_size(input_size, kernel_size, stride=1, padding=0, dilation=1):
            return F.conv1d(torch.zeros(1, 1, input_size), torch.zeros(1, 1, kernel_size), stride=stride,
                            padding=padding, dilation=dilation).shape[-1]
        """, CONV),
    "F.conv1d on meta tensors": ("""
        def output_size(input_size, kernel_size, stride=1, padding=0, dilation=1):
            return F.conv1d(torch.zeros(1, 1, input_size, device="meta"), torch.zeros(1, 1, kernel_size, device="meta"),
                            stride=stride, padding=padding, dilation=dilation).shape[-1]
        """, CONV),
    "nn.Conv1d on zeros": ("""
        def output_size(input_size, kernel_size, stride=1, padding=0, dilation=1):
            layer = nn.Conv1d(1, 1, kernel_size, stride=stride, padding=padding, dilation=dilation)
            return layer(torch.zeros(1, 1, input_size)).shape[-1]
        """, CONV),
    "torch.ops.aten.convolution on zeros": ("""
        def output_size(input_size, kernel_size, stride=1, padding=0, dilation=1):
            return torch.ops.aten.convolution(torch.zeros(1, 1, input_size), torch.zeros(1, 1, kernel_size), None,
                                              [stride], [padding], [dilation], False, [0], 1).shape[-1]
        """, "aten.convolution"),
    "F.max_pool1d on zeros": ("""
        def output_size(input_size, kernel_size, stride=1, padding=0, dilation=1):
            x = F.pad(torch.zeros(1, 1, input_size), (padding, padding))
            return F.max_pool1d(x, kernel_size, stride=stride, dilation=dilation).shape[-1]
        """, "aten.max_pool2d_with_indices"),
    "F.avg_pool1d on a dilated span": ("""
        def output_size(input_size, kernel_size, stride=1, padding=0, dilation=1):
            x = F.pad(torch.zeros(1, 1, input_size), (padding, padding))
            return F.avg_pool1d(x, dilation * (kernel_size - 1) + 1, stride=stride).shape[-1]
        """, "aten.avg_pool"),
    "F.unfold on zeros": ("""
        def output_size(input_size, kernel_size, stride=1, padding=0, dilation=1):
            return F.unfold(torch.zeros(1, 1, 1, input_size), (1, kernel_size), dilation=(1, dilation),
                            padding=(0, padding), stride=(1, stride)).shape[-1]
        """, "aten.im2col"),
    "torch.Tensor.unfold on zeros": ("""
        def output_size(input_size, kernel_size, stride=1, padding=0, dilation=1):
            return torch.zeros(input_size + 2 * padding).unfold(0, dilation * (kernel_size - 1) + 1, stride).shape[0]
        """, "aten.unfold"),
    "sliding_window_view on zeros": ("""
        from numpy.lib.stride_tricks import sliding_window_view
        def output_size(input_size, kernel_size, stride=1, padding=0, dilation=1):
            return len(sliding_window_view(np.zeros(input_size + 2 * padding), dilation * (kernel_size - 1) + 1)[::stride])
        """, "sliding_window_view"),
    "np.convolve on ones": ("""
        def output_size(input_size, kernel_size, stride=1, padding=0, dilation=1):
            return len(np.convolve(np.ones(input_size + 2 * padding), np.ones(dilation * (kernel_size - 1) + 1),
                                   'valid')[::stride])
        """, "numpy.convolve"),
    "lecturepkg.conv.conv_output_size": ("""
        from lecturepkg.conv import conv_output_size
        def output_size(input_size, kernel_size, stride=1, padding=0, dilation=1):
            return conv_output_size(input_size, kernel_size, stride, padding, dilation)
        """, "lecturepkg.conv"),
    "lecturepkg.conv.pool_output_size": ("""
        import lecturepkg.conv.arithmetic as arithmetic
        def output_size(input_size, kernel_size, stride=1, padding=0, dilation=1):
            return arithmetic.pool_output_size(input_size, kernel_size, stride, padding, dilation)
        """, "lecturepkg.conv"),
    "the course's alias in lecturepkg.models.charcnn": ("""
        from lecturepkg.models import charcnn
        def output_size(input_size, kernel_size, stride=1, padding=0, dilation=1):
            return charcnn.conv_output_size(input_size, kernel_size, stride, padding, dilation)
        """, "lecturepkg.conv"),
    "torch's pooling_output_shape": ("""
        import torch._meta_registrations as meta
        def output_size(input_size, kernel_size, stride=1, padding=0, dilation=1):
            return meta.pooling_output_shape(input_size, kernel_size, padding, stride, dilation, False)
        """, "pooling_output_shape"),
    "torch.jit's conv_output_size": ("""
        import torch.jit._shape_functions as shapes
        def output_size(input_size, kernel_size, stride=1, padding=0, dilation=1):
            return shapes.conv_output_size([1, 1, input_size], [1, 1, kernel_size], None, [stride], [padding],
                                           [dilation], 1)[-1]
        """, "conv_output_size"),
}

ROUTES["conv2d_multichannel"] = {
    "F.conv2d": ("""
        def conv2d_multichannel(x, weight, bias):
            return F.conv2d(torch.from_numpy(x)[None], torch.from_numpy(weight), torch.from_numpy(bias))[0].numpy()
        """, CONV),
    "torch.ops.aten.convolution": ("""
        def conv2d_multichannel(x, weight, bias):
            t = torch.from_numpy
            return torch.ops.aten.convolution(t(x)[None], t(weight), t(bias), [1, 1], [0, 0], [1, 1], False,
                                              [0, 0], 1)[0].numpy()
        """, "aten.convolution"),
    "torch.ops.aten.convolution transposed=True": ("""
        def conv2d_multichannel(x, weight, bias):
            t = torch.from_numpy
            h, w = weight.shape[2:]
            return torch.ops.aten.convolution(t(x)[None], t(weight).flip(2, 3).transpose(0, 1), t(bias), [1, 1],
                                              [h - 1, w - 1], [1, 1], True, [0, 0], 1)[0].numpy()
        """, "aten.convolution"),
    "torch._C._VariableFunctions.conv2d": ("""
        def conv2d_multichannel(x, weight, bias):
            t = torch.from_numpy
            return torch._C._VariableFunctions.conv2d(t(x)[None], t(weight), t(bias))[0].numpy()
        """, CONV),
    "torch._C._nn.thnn_conv2d": ("""
        def conv2d_multichannel(x, weight, bias):
            t = torch.from_numpy
            return torch._C._nn.thnn_conv2d(t(x)[None], t(weight), weight.shape[2:], t(bias))[0].numpy()
        """, "aten._slow_conv2d_forward"),
    "torch.mkldnn_convolution": ("""
        def conv2d_multichannel(x, weight, bias):
            t = torch.from_numpy
            return torch.mkldnn_convolution(t(x)[None].float(), t(weight).float(), t(bias).float(), [0, 0], [1, 1],
                                            [1, 1], 1)[0].double().numpy()
        """, "aten.mkldnn_convolution"),
    "nn.Conv2d layer": ("""
        def conv2d_multichannel(x, weight, bias):
            layer = nn.Conv2d(weight.shape[1], weight.shape[0], weight.shape[2:]).double()
            with torch.no_grad():
                layer.weight.copy_(torch.from_numpy(weight))
                layer.bias.copy_(torch.from_numpy(bias))
                return layer(torch.from_numpy(x)[None])[0].numpy()
        """, CONV),
    "torch.nn.grad.conv2d_input": ("""
        def conv2d_multichannel(x, weight, bias):
            t = torch.from_numpy
            C, H, W = x.shape
            D, _, h, w = weight.shape
            out = torch.nn.grad.conv2d_input((1, D, H - h + 1, W - w + 1), t(weight).transpose(0, 1).flip(2, 3),
                                             t(x)[None], padding=(h - 1, w - 1))
            return out[0].numpy() + bias[:, None, None]
        """, "aten.convolution_backward"),
    "scipy.signal.correlate": ("""
        from scipy import signal
        def conv2d_multichannel(x, weight, bias):
            return np.stack([signal.correlate(x, k, 'valid')[0] + b for k, b in zip(weight, bias)])
        """, "scipy.signal.correlate"),
    "scipy.signal.correlate2d": ("""
        import scipy.signal
        def conv2d_multichannel(x, weight, bias):
            return np.stack([sum(scipy.signal.correlate2d(xc, kc, 'valid') for xc, kc in zip(x, k)) + b
                             for k, b in zip(weight, bias)])
        """, "scipy.signal.correlate2d"),
    "scipy's compiled _convolve2d": ("""
        from scipy.signal import _sigtools
        def conv2d_multichannel(x, weight, bias):
            return np.stack([sum(_sigtools._convolve2d(xc, kc, 0, 0, 0, 0) for xc, kc in zip(x, k)) + b
                             for k, b in zip(weight, bias)])
        """, "scipy.signal._sigtools._convolve2d"),
    "scipy.ndimage.correlate": ("""
        import scipy.ndimage as ndi
        def conv2d_multichannel(x, weight, bias):
            return np.stack([ndi.correlate(x, k, mode='constant')[0] + b for k, b in zip(weight, bias)])
        """, "scipy.ndimage.correlate"),
    "scipy's compiled _nd_image.correlate": ("""
        from scipy.ndimage import _nd_image
        def conv2d_multichannel(x, weight, bias):
            out = np.zeros_like(x)
            _nd_image.correlate(x, weight[0], out, 0, 0.0, (0, 0, 0))
            return out
        """, "scipy.ndimage._nd_image.correlate"),
    "lecturepkg.conv.conv2d": ("""
        import lecturepkg.conv as course
        def conv2d_multichannel(x, weight, bias):
            return course.conv2d(x[None], weight, bias)[0]
        """, "lecturepkg.conv"),
    "lecturepkg.conv.conv2d_fast": ("""
        from lecturepkg.conv.unfold import conv2d_fast
        def conv2d_multichannel(x, weight, bias):
            return conv2d_fast(x[None], weight, bias)[0]
        """, "lecturepkg.conv"),
}

ROUTES["max_pool2d"] = {
    "F.max_pool2d": ("""
        def max_pool2d(x, kernel_size):
            return F.max_pool2d(torch.from_numpy(x), kernel_size).numpy()
        """, "aten.max_pool2d_with_indices"),
    "nn.MaxPool2d": ("""
        def max_pool2d(x, kernel_size):
            return nn.MaxPool2d(kernel_size)(torch.from_numpy(x)).numpy()
        """, "max pooling"),
    "torch.ops.aten.max_pool2d_with_indices": ("""
        def max_pool2d(x, kernel_size):
            k = [kernel_size, kernel_size]
            return torch.ops.aten.max_pool2d_with_indices(torch.from_numpy(x), k, k)[0].numpy()
        """, "aten.max_pool2d_with_indices"),
    "torch._C._nn.max_pool2d_with_indices": ("""
        def max_pool2d(x, kernel_size):
            return torch._C._nn.max_pool2d_with_indices(torch.from_numpy(x), kernel_size, kernel_size)[0].numpy()
        """, "aten.max_pool2d_with_indices"),
    "F.adaptive_max_pool2d": ("""
        def max_pool2d(x, kernel_size):
            C, H, W = x.shape
            k = kernel_size
            x = torch.from_numpy(x)[:, :H // k * k, :W // k * k]
            return F.adaptive_max_pool2d(x, (H // k, W // k)).numpy()
        """, "aten.adaptive_max_pool2d"),
    "skimage.measure.block_reduce": ("""
        from skimage.measure import block_reduce
        def max_pool2d(x, kernel_size):
            C, H, W = x.shape
            k = kernel_size
            return block_reduce(x[:, :H // k * k, :W // k * k], (1, k, k), np.max)
        """, "skimage.measure.block_reduce"),
    "scipy.ndimage.maximum_filter": ("""
        from scipy import ndimage
        def max_pool2d(x, kernel_size):
            k = kernel_size
            C, H, W = x.shape
            m = ndimage.maximum_filter(x, size=(1, k, k), origin=(0, -(k // 2), -(k // 2)))
            return m[:, :H // k * k:k, :W // k * k:k]
        """, "scipy.ndimage.maximum_filter"),
    "scipy.ndimage.grey_dilation": ("""
        from scipy import ndimage
        def max_pool2d(x, kernel_size):
            k = kernel_size
            C, H, W = x.shape
            m = ndimage.grey_dilation(x, size=(1, k, k))
            return m[:, :H // k * k:k, :W // k * k:k]
        """, "scipy.ndimage.grey_dilation"),
    "lecturepkg.conv.max_pool2d": ("""
        from lecturepkg.conv import max_pool2d as course_pool
        def max_pool2d(x, kernel_size):
            return course_pool(x[None], kernel_size)[0]
        """, "lecturepkg.conv"),
}

ROUTES["conv2d_layer_cost"] = {
    "running nn.Conv2d and counting": ("""
        def conv2d_layer_cost(in_channels, out_channels, kernel_size, input_size, stride=1, padding=0, bias=True):
            layer = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=bias)
            out = layer(torch.zeros(1, in_channels, input_size, input_size))
            params = sum(p.numel() for p in layer.parameters())
            return params, layer.weight.numel() * out.shape[-1] * out.shape[-2]
        """, CONV),
    "lecturepkg.counting": ("""
        from lecturepkg.counting import count_macs, count_parameters
        def conv2d_layer_cost(in_channels, out_channels, kernel_size, input_size, stride=1, padding=0, bias=True):
            layer = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=bias)
            return count_parameters(layer), count_macs(layer, (in_channels, input_size, input_size))
        """, "lecturepkg.counting"),
    "torch.utils.flop_counter.conv_flop_count": ("""
        from torch.utils.flop_counter import conv_flop_count
        def conv2d_layer_cost(in_channels, out_channels, kernel_size, input_size, stride=1, padding=0, bias=True):
            n = (input_size + 2 * padding - kernel_size) // stride + 1
            params = out_channels * (in_channels * kernel_size ** 2 + bias)
            return params, conv_flop_count([1, in_channels, input_size, input_size],
                                           [out_channels, in_channels, kernel_size, kernel_size], [1, out_channels, n, n]) // 2
        """, "conv_flop_count"),
    "lecturepkg.conv.conv_output_size": ("""
        from lecturepkg.conv import conv_output_size
        def conv2d_layer_cost(in_channels, out_channels, kernel_size, input_size, stride=1, padding=0, bias=True):
            n = conv_output_size(input_size, kernel_size, stride, padding)
            return out_channels * (in_channels * kernel_size ** 2 + bias), out_channels * in_channels * kernel_size ** 2 * n * n
        """, "lecturepkg.conv"),
}

ROUTES["conv1d_multichannel"] = {
    "F.conv1d": ("""
        def conv1d_multichannel(x, weight, bias, stride=1, dilation=1):
            t = torch.from_numpy
            return F.conv1d(t(x)[None], t(weight), t(bias), stride=stride, dilation=dilation)[0].numpy()
        """, CONV),
    "torch.ops.aten.convolution": ("""
        def conv1d_multichannel(x, weight, bias, stride=1, dilation=1):
            t = torch.from_numpy
            return torch.ops.aten.convolution(t(x)[None], t(weight), t(bias), [stride], [0], [dilation], False, [0],
                                              1)[0].numpy()
        """, "aten.convolution"),
    "nn.Conv1d layer": ("""
        def conv1d_multichannel(x, weight, bias, stride=1, dilation=1):
            layer = nn.Conv1d(weight.shape[1], weight.shape[0], weight.shape[2], stride=stride, dilation=dilation).double()
            layer.weight.data, layer.bias.data = torch.from_numpy(weight), torch.from_numpy(bias)
            return layer(torch.from_numpy(x)[None])[0].detach().numpy()
        """, CONV),
    "scipy.signal.correlate per channel": ("""
        from scipy.signal import correlate
        def conv1d_multichannel(x, weight, bias, stride=1, dilation=1):
            return np.stack([correlate(x, k, 'valid')[0][::stride] + b for k, b in zip(weight, bias)])
        """, "scipy.signal.correlate"),
    "np.correlate per channel": ("""
        def conv1d_multichannel(x, weight, bias, stride=1, dilation=1):
            return np.stack([sum(np.correlate(xc, kc) for xc, kc in zip(x, k))[::stride] + b
                             for k, b in zip(weight, bias)])
        """, "numpy.correlate"),
    "scipy.signal.upfirdn": ("""
        from scipy.signal import upfirdn
        def conv1d_multichannel(x, weight, bias, stride=1, dilation=1):
            k = weight.shape[2]
            return np.stack([sum(upfirdn(kc[::-1], xc)[k - 1:len(xc)] for xc, kc in zip(x, ks))[::stride] + b
                             for ks, b in zip(weight, bias)])
        """, "scipy.signal.upfirdn"),
    "lecturepkg.conv.conv1d": ("""
        import lecturepkg.conv
        def conv1d_multichannel(x, weight, bias, stride=1, dilation=1):
            return lecturepkg.conv.conv1d(x[None], weight, bias, stride=stride, dilation=dilation)[0]
        """, "lecturepkg.conv"),
}

ROUTES["im2col"] = {
    "F.unfold (the test's own oracle)": ("""
        def im2col(x, kernel_size, stride=1):
            return F.unfold(torch.from_numpy(x)[None], kernel_size, stride=stride)[0].numpy()
        """, "aten.im2col"),
    "torch._C._nn.im2col": ("""
        def im2col(x, kernel_size, stride=1):
            k = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
            return torch._C._nn.im2col(torch.from_numpy(x)[None], k, (1, 1), (0, 0), (stride, stride))[0].numpy()
        """, "aten.im2col"),
    "nn.Unfold": ("""
        def im2col(x, kernel_size, stride=1):
            return nn.Unfold(kernel_size, stride=stride)(torch.from_numpy(x)[None])[0].numpy()
        """, "aten.im2col"),
    "torch.ops.aten.im2col": ("""
        def im2col(x, kernel_size, stride=1):
            k = [kernel_size] * 2 if isinstance(kernel_size, int) else list(kernel_size)
            return torch.ops.aten.im2col(torch.from_numpy(x)[None], k, [1, 1], [0, 0], [stride, stride])[0].numpy()
        """, "aten.im2col"),
    "F.conv2d with one-hot kernels": ("""
        def im2col(x, kernel_size, stride=1):
            kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
            C = x.shape[0]
            eye = torch.eye(C * kh * kw, dtype=torch.from_numpy(x).dtype).view(C * kh * kw, C, kh, kw)
            return F.conv2d(torch.from_numpy(x)[None], eye, stride=stride)[0].reshape(C * kh * kw, -1).numpy()
        """, CONV),
    "lecturepkg.conv.unfold": ("""
        from lecturepkg.conv import im2col as course_im2col
        def im2col(x, kernel_size, stride=1):
            return course_im2col(x[None], kernel_size, stride=stride)[0]
        """, "lecturepkg.conv"),
}

ROUTES["conv3d_multichannel"] = {
    "F.conv3d": ("""
        def conv3d_multichannel(x, weight, bias, stride=1):
            t = torch.from_numpy
            return F.conv3d(t(x)[None], t(weight), t(bias), stride=stride)[0].numpy()
        """, CONV),
    "torch._C._nn.slow_conv3d": ("""
        def conv3d_multichannel(x, weight, bias, stride=1):
            t = torch.from_numpy
            s = (stride,) * 3 if isinstance(stride, int) else tuple(stride)
            return torch._C._nn.slow_conv3d(t(x)[None], t(weight), weight.shape[2:], t(bias), s)[0].numpy()
        """, "aten.slow_conv3d_forward"),
    "nn.Conv3d layer": ("""
        def conv3d_multichannel(x, weight, bias, stride=1):
            layer = nn.Conv3d(weight.shape[1], weight.shape[0], weight.shape[2:], stride=stride).double()
            layer.weight.data, layer.bias.data = torch.from_numpy(weight), torch.from_numpy(bias)
            return layer(torch.from_numpy(x)[None])[0].detach().numpy()
        """, CONV),
    "scipy.signal.fftconvolve": ("""
        from scipy.signal import fftconvolve
        def conv3d_multichannel(x, weight, bias, stride=1):
            s = (stride,) * 3 if isinstance(stride, int) else tuple(stride)
            return np.stack([fftconvolve(x, k[:, ::-1, ::-1, ::-1], 'valid')[0][::s[0], ::s[1], ::s[2]] + b
                             for k, b in zip(weight, bias)])
        """, "scipy.signal.fftconvolve"),
    "lecturepkg.conv.conv3d": ("""
        from lecturepkg import conv
        def conv3d_multichannel(x, weight, bias, stride=1):
            return conv.conv3d(x[None], weight, bias, stride=stride)[0]
        """, "lecturepkg.conv"),
}

ROUTES["causal_conv1d"] = {
    "F.pad then F.conv1d": ("""
        def causal_conv1d(x, weight, dilation=1):
            k = weight.shape[2]
            xp = F.pad(torch.from_numpy(x)[None], (dilation * (k - 1), 0))
            return F.conv1d(xp, torch.from_numpy(weight), dilation=dilation)[0].numpy()
        """, CONV),
    "nn.Conv1d with padding": ("""
        def causal_conv1d(x, weight, dilation=1):
            k = weight.shape[2]
            layer = nn.Conv1d(weight.shape[1], weight.shape[0], k, padding=dilation * (k - 1), dilation=dilation,
                              bias=False).double()
            layer.weight.data = torch.from_numpy(weight)
            return layer(torch.from_numpy(x)[None])[0, :, :x.shape[1]].detach().numpy()
        """, CONV),
    "scipy.signal.lfilter": ("""
        from scipy.signal import lfilter
        def causal_conv1d(x, weight, dilation=1):
            D, C, k = weight.shape
            out = np.zeros((D, x.shape[1]))
            for d in range(D):
                for c in range(C):
                    b = np.zeros(dilation * (k - 1) + 1)
                    b[::dilation] = weight[d, c, ::-1]
                    out[d] += lfilter(b, [1.0], x[c])
            return out
        """, "scipy.signal.lfilter"),
    "np.convolve": ("""
        def causal_conv1d(x, weight, dilation=1):
            D, C, k = weight.shape
            out = np.zeros((D, x.shape[1]))
            for d in range(D):
                for c in range(C):
                    b = np.zeros(dilation * (k - 1) + 1)
                    b[::dilation] = weight[d, c, ::-1]
                    out[d] += np.convolve(x[c], b)[:x.shape[1]]
            return out
        """, "numpy.convolve"),
    "lecturepkg.conv.causal_conv1d": ("""
        from lecturepkg.conv import causal_conv1d as course
        def causal_conv1d(x, weight, dilation=1):
            return course(x[None], weight, dilation=dilation)[0]
        """, "lecturepkg.conv"),
}

_CONV_STACK = """
        def receptive_field(layers):
            x = torch.zeros(1, 1, 400, dtype=torch.float64, requires_grad=True)
            y = x
            for k, s, d in layers:
                y = {conv}
            y[0, 0, 0].backward()
            touched = np.flatnonzero(x.grad[0, 0].numpy())
            return int(touched[-1] - touched[0] + 1)
"""
ROUTES["receptive_field"] = {
    "autograd through F.conv1d (the test's own oracle)": (
        _CONV_STACK.format(conv="F.conv1d(y, torch.ones(1, 1, k, dtype=torch.float64), stride=s, dilation=d)"), CONV),
    "autograd through a hand-written stack": (_CONV_STACK.format(
        conv="torch.stack([y[..., i * s:i * s + d * (k - 1) + 1:d].sum(-1) for i in range((y.shape[-1] - d * (k - 1) - 1) // s + 1)], -1)"),
        "autograd"),
    "torch.func.jacrev of a hand-written stack": ("""
        def receptive_field(layers):
            def stack(x):
                for k, s, d in layers:
                    x = torch.stack([x[i * s:i * s + d * (k - 1) + 1:d].sum() for i in range((len(x) - d * (k - 1) - 1) // s + 1)])
                return x[0]
            g = torch.func.jacrev(stack)(torch.zeros(100, dtype=torch.float64))
            touched = np.flatnonzero(g.numpy())
            return int(touched[-1] - touched[0] + 1)
        """, "autograd"),
    "np.convolve of an impulse": ("""
        def receptive_field(layers):
            span = np.ones(1)
            jump = 1
            for k, s, d in layers:
                kernel = np.zeros(jump * d * (k - 1) + 1)
                kernel[::jump * d] = 1
                span = np.convolve(span, kernel)
                jump *= s
            return len(span)
        """, "numpy.convolve"),
    "lecturepkg.conv.receptive_fields": ("""
        import lecturepkg.conv as course
        def receptive_field(layers):
            return course.receptive_field(layers)[-1].size
        """, "lecturepkg.conv"),
    "the course's alias in lecturepkg.models.tcn": ("""
        from lecturepkg.models import tcn
        def receptive_field(layers):
            return tcn.receptive_field(layers)[-1].size
        """, "lecturepkg.conv"),
}

ROUTES["factorize_kernel"] = {
    "lecturepkg.conv.factorize_kernel": ("""
        from lecturepkg.conv import factorize_kernel as course
        def factorize_kernel(kernel):
            return course(kernel)
        """, "lecturepkg.conv"),
    "lecturepkg.conv.separable.rank1_approximation": ("""
        from lecturepkg.conv import separable
        def factorize_kernel(kernel):
            return separable.rank1_approximation(kernel)
        """, "lecturepkg.conv"),
}

ROUTES["depthwise_conv2d"] = {
    "F.conv2d with groups": ("""
        def depthwise_conv2d(x, weight, bias, padding=0):
            t = torch.from_numpy
            return F.conv2d(t(x)[None], t(weight), t(bias), padding=padding, groups=x.shape[0])[0].numpy()
        """, CONV),
    "torch._C._nn._conv_depthwise2d": ("""
        def depthwise_conv2d(x, weight, bias, padding=0):
            t = torch.from_numpy
            return torch._C._nn._conv_depthwise2d(t(x)[None], t(weight), weight.shape[2:], t(bias), (1, 1),
                                                  (padding, padding), (1, 1))[0].numpy()
        """, "aten._conv_depthwise2d"),
    "nn.Conv2d with groups": ("""
        def depthwise_conv2d(x, weight, bias, padding=0):
            C = x.shape[0]
            layer = nn.Conv2d(C, weight.shape[0], weight.shape[2:], padding=padding, groups=C).double()
            layer.weight.data, layer.bias.data = torch.from_numpy(weight), torch.from_numpy(bias)
            return layer(torch.from_numpy(x)[None])[0].detach().numpy()
        """, CONV),
    "scipy.signal.correlate2d per channel": ("""
        from scipy.signal import correlate2d
        def depthwise_conv2d(x, weight, bias, padding=0):
            m = weight.shape[0] // x.shape[0]
            xp = np.pad(x, ((0, 0), (padding, padding), (padding, padding)))
            return np.stack([correlate2d(xp[o // m], weight[o, 0], 'valid') + bias[o] for o in range(weight.shape[0])])
        """, "scipy.signal.correlate2d"),
    "lecturepkg.conv.depthwise_conv2d": ("""
        from lecturepkg.conv.depthwise import depthwise_conv2d as course
        def depthwise_conv2d(x, weight, bias, padding=0):
            return course(x[None], weight, bias, padding=padding)[0]
        """, "lecturepkg.conv"),
}

ROUTES["conv_transpose_matrix"] = {
    "F.conv_transpose1d of unit vectors (the test's own oracle)": ("""
        def conv_transpose_matrix(weight, input_size, stride=1, padding=0):
            unit = torch.eye(input_size, dtype=torch.float64).view(input_size, 1, input_size)
            return F.conv_transpose1d(unit, torch.from_numpy(weight).view(1, 1, -1), stride=stride,
                                      padding=padding)[:, 0].T.numpy()
        """, CONV),
    "torch.ops.aten.convolution transposed=True": ("""
        def conv_transpose_matrix(weight, input_size, stride=1, padding=0):
            unit = torch.eye(input_size, dtype=torch.float64).view(input_size, 1, input_size)
            return torch.ops.aten.convolution(unit, torch.from_numpy(weight).view(1, 1, -1), None, [stride], [padding],
                                              [1], True, [0], 1)[:, 0].T.numpy()
        """, "aten.convolution"),
    "autograd of a hand-written convolution": ("""
        def conv_transpose_matrix(weight, input_size, stride=1, padding=0):
            k = len(weight)
            n_out = (input_size - 1) * stride - 2 * padding + k
            z = torch.zeros(n_out + 2 * padding, dtype=torch.float64, requires_grad=True)
            w = torch.from_numpy(weight)
            y = torch.stack([(z[i * stride:i * stride + k] * w).sum() for i in range(input_size)])
            rows = [torch.autograd.grad(y[i], z, retain_graph=True)[0] for i in range(input_size)]
            return torch.stack(rows).T[padding:padding + n_out].numpy()
        """, "autograd"),
    "torch.func.jacfwd of a hand-written convolution": ("""
        def conv_transpose_matrix(weight, input_size, stride=1, padding=0):
            k = len(weight)
            n_out = (input_size - 1) * stride - 2 * padding + k
            w = torch.from_numpy(weight)
            conv = lambda z: torch.stack([(z[i * stride:i * stride + k] * w).sum() for i in range(input_size)])
            K = torch.func.jacfwd(conv)(torch.zeros(n_out + 2 * padding, dtype=torch.float64))
            return K.T[padding:padding + n_out].numpy()
        """, "autograd"),
    "F.fold of the kernel": ("""
        def conv_transpose_matrix(weight, input_size, stride=1, padding=0):
            k = len(weight)
            n_out = (input_size - 1) * stride - 2 * padding + k
            cols = torch.from_numpy(weight)[:, None, None] * torch.eye(input_size, dtype=torch.float64)[None]
            return F.fold(cols.reshape(k, input_size * input_size), (1, n_out * input_size), (1, k)).numpy()
        """, "aten.col2im"),
    "scipy.linalg.convolution_matrix": ("""
        from scipy.linalg import convolution_matrix
        def conv_transpose_matrix(weight, input_size, stride=1, padding=0):
            M = convolution_matrix(weight, input_size, 'full')
            return M[padding:M.shape[0] - padding]
        """, "scipy.linalg.convolution_matrix"),
    "lecturepkg.conv.conv_matrix": ("""
        from lecturepkg.conv import conv_matrix
        def conv_transpose_matrix(weight, input_size, stride=1, padding=0):
            output_size = (input_size - 1) * stride - 2 * padding + len(weight)
            return conv_matrix(output_size, weight[None, None], stride=stride, padding=padding).T
        """, "lecturepkg.conv"),
}

ROUTES["conv_transpose2d"] = {
    "F.conv_transpose2d (the test's own oracle)": ("""
        def conv_transpose2d(x, weight, stride=1, padding=0):
            t = torch.from_numpy
            return F.conv_transpose2d(t(x)[None], t(weight), stride=stride, padding=padding)[0].numpy()
        """, CONV),
    "nn.ConvTranspose2d": ("""
        def conv_transpose2d(x, weight, stride=1, padding=0):
            layer = nn.ConvTranspose2d(weight.shape[0], weight.shape[1], weight.shape[2:], stride=stride,
                                       padding=padding, bias=False).double()
            layer.weight.data = torch.from_numpy(weight)
            return layer(torch.from_numpy(x)[None])[0].detach().numpy()
        """, CONV),
    "torch._C._nn.slow_conv_transpose2d": ("""
        def conv_transpose2d(x, weight, stride=1, padding=0):
            t = torch.from_numpy
            return torch._C._nn.slow_conv_transpose2d(t(x)[None], t(weight), weight.shape[2:], None, stride,
                                                      padding)[0].numpy()
        """, "aten.slow_conv_transpose2d"),
    "the gradient of F.conv2d (autograd)": ("""
        def conv_transpose2d(x, weight, stride=1, padding=0):
            C, H, W = x.shape
            _, D, kh, kw = weight.shape
            Ho, Wo = (H - 1) * stride - 2 * padding + kh, (W - 1) * stride - 2 * padding + kw
            z = torch.zeros(1, D, Ho, Wo, dtype=torch.float64, requires_grad=True)
            y = F.conv2d(z, torch.from_numpy(weight), stride=stride, padding=padding)
            y.backward(torch.from_numpy(x)[None])
            return z.grad[0].numpy()
        """, CONV),
    "torch.nn.grad.conv2d_input": ("""
        def conv_transpose2d(x, weight, stride=1, padding=0):
            C, H, W = x.shape
            _, D, kh, kw = weight.shape
            Ho, Wo = (H - 1) * stride - 2 * padding + kh, (W - 1) * stride - 2 * padding + kw
            return torch.nn.grad.conv2d_input((1, D, Ho, Wo), torch.from_numpy(weight), torch.from_numpy(x)[None],
                                              stride=stride, padding=padding)[0].numpy()
        """, "aten.convolution_backward"),
    "F.fold (overlap-add)": ("""
        def conv_transpose2d(x, weight, stride=1, padding=0):
            C, H, W = x.shape
            _, D, kh, kw = weight.shape
            Ho, Wo = (H - 1) * stride - 2 * padding + kh, (W - 1) * stride - 2 * padding + kw
            cols = np.einsum('chw,cduv->duvhw', x, weight).reshape(1, D * kh * kw, H * W)
            return F.fold(torch.from_numpy(cols), (Ho, Wo), (kh, kw), stride=stride, padding=padding)[0].numpy()
        """, "aten.col2im"),
    "scipy.signal.convolve2d (full)": ("""
        from scipy.signal import convolve2d
        def conv_transpose2d(x, weight, stride=1, padding=0):
            up = np.zeros((x.shape[0], (x.shape[1] - 1) * stride + 1, (x.shape[2] - 1) * stride + 1))
            up[:, ::stride, ::stride] = x
            out = np.stack([sum(convolve2d(up[c], weight[c, o]) for c in range(x.shape[0]))
                            for o in range(weight.shape[1])])
            return out[:, padding:out.shape[1] - padding, padding:out.shape[2] - padding]
        """, "scipy.signal.convolve2d"),
    "lecturepkg.conv.conv_transpose2d": ("""
        import lecturepkg.conv.transposed as course
        def conv_transpose2d(x, weight, stride=1, padding=0):
            return course.conv_transpose2d(x[None], weight, stride=stride, padding=padding)[0]
        """, "lecturepkg.conv"),
}

# ---- chapter 3 ---------------------------------------------------------------------------

ROUTES["vgg_features_cost"] = {
    "torchvision's make_layers on meta tensors (the test's own oracle)": ("""
        from torchvision.models import vgg
        def vgg_features_cost(cfg, in_channels=3, input_size=224, batch_norm=False):
            H, W = (input_size, input_size) if isinstance(input_size, int) else input_size
            with torch.device("meta"):
                features = vgg.make_layers(cfg, batch_norm=batch_norm)
                out = features(torch.zeros(1, 3, H, W))
            return tuple(out.shape[1:]), sum(p.numel() for p in features.parameters())
        """, "torchvision.models.vgg"),
    "the course's VGG builder, counted by lecturepkg.counting": ("""
        from lecturepkg.models import vggs
        from lecturepkg.counting import count_parameters
        def vgg_features_cost(cfg, in_channels=3, input_size=224, batch_norm=False):
            H, W = (input_size, input_size) if isinstance(input_size, int) else input_size
            features = vggs.make_layers(cfg, batch_norm=batch_norm)
            return tuple(features(torch.zeros(1, 3, H, W)).shape[1:]), count_parameters(features)
        """, "lecturepkg.models"),
    "nn.Conv2d layers built to count their parameters": ("""
        def vgg_features_cost(cfg, in_channels=3, input_size=224, batch_norm=False):
            H, W = (input_size, input_size) if isinstance(input_size, int) else input_size
            C, params = in_channels, 0
            for v in cfg:
                if v == "M":
                    H, W = H // 2, W // 2
                else:
                    layers = [nn.Conv2d(C, v, 3, padding=1)] + ([nn.BatchNorm2d(v)] if batch_norm else [])
                    params += sum(p.numel() for layer in layers for p in layer.parameters())
                    C = v
            return (C, H, W), params
        """, "torch.nn.modules.conv._ConvNd.__init__"),
    "F.conv2d and F.max_pool2d on meta tensors for the shape": ("""
        def vgg_features_cost(cfg, in_channels=3, input_size=224, batch_norm=False):
            H, W = (input_size, input_size) if isinstance(input_size, int) else input_size
            x, params = torch.zeros(1, in_channels, H, W, device="meta"), 0
            for v in cfg:
                if v == "M":
                    x = F.max_pool2d(x, 2)
                else:
                    x = F.conv2d(x, torch.zeros(v, x.shape[1], 3, 3, device="meta"), padding=1)
                    params += v * (9 * x.shape[1] + 1) + (2 * v if batch_norm else 0)
            return tuple(x.shape[1:]), params
        """, CONV),
}

ROUTES["conv1x1"] = {
    "F.conv2d": ("""
        def conv1x1(x, weight, bias):
            t = torch.from_numpy
            return F.conv2d(t(x), t(weight), t(bias)).numpy()
        """, CONV),
    "nn.Conv2d layer": ("""
        def conv1x1(x, weight, bias):
            layer = nn.Conv2d(weight.shape[1], weight.shape[0], weight.shape[2:]).to(torch.from_numpy(x).dtype)
            layer.weight.data, layer.bias.data = torch.from_numpy(weight), torch.from_numpy(bias)
            return layer(torch.from_numpy(x)).detach().numpy()
        """, CONV),
    "lecturepkg.conv.conv2d": ("""
        from lecturepkg.conv import conv2d
        def conv1x1(x, weight, bias):
            return conv2d(x, weight, bias)
        """, "lecturepkg.conv"),
}

ROUTES["depth_concat"] = {
    "lecturepkg.blocks.depth_concat": ("""
        from lecturepkg.blocks import depth_concat as course
        def depth_concat(tensors):
            return course([torch.from_numpy(t) for t in tensors]).numpy()
        """, "lecturepkg.blocks"),
    "lecturepkg.blocks.DepthConcat of identity branches": ("""
        import lecturepkg.blocks
        def depth_concat(tensors):
            branches = [nn.Identity() for _ in tensors]
            module = lecturepkg.blocks.DepthConcat(branches)
            return module(torch.from_numpy(tensors[0])).numpy()
        """, "lecturepkg.blocks"),
}

ROUTES["inception_cost"] = {
    "FlopCounterMode on meta tensors (the test's own oracle)": ("""
        from torch.utils.flop_counter import FlopCounterMode
        def inception_cost(in_channels, size, ch1x1, ch3x3, ch5x5, ch3x3red=None, ch5x5red=None, pool_proj=None):
            H, W = (size, size) if isinstance(size, int) else size
            with torch.device("meta"), FlopCounterMode(display=False) as counter:
                x = torch.zeros(1, in_channels, H, W)
                y = F.conv2d(x, torch.zeros(ch5x5, in_channels, 5, 5), padding=2)
            return y.shape[1], counter.get_total_flops() // 2
        """, "torch.utils.flop_counter"),
    "lecturepkg.counting.count_macs of the course's Inception": ("""
        from lecturepkg.counting import count_macs
        from lecturepkg.blocks import Inception
        def inception_cost(in_channels, size, ch1x1, ch3x3, ch5x5, ch3x3red=None, ch5x5red=None, pool_proj=None):
            H, W = (size, size) if isinstance(size, int) else size
            module = Inception(in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj)
            return ch1x1 + ch3x3 + ch5x5 + pool_proj, count_macs(module, (in_channels, H, W))
        """, "lecturepkg"),
    "torchvision's GoogLeNet Inception": ("""
        from torchvision.models.googlenet import Inception
        def inception_cost(in_channels, size, ch1x1, ch3x3, ch5x5, ch3x3red=None, ch5x5red=None, pool_proj=None):
            module = Inception(in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj)
            return ch1x1 + ch3x3 + ch5x5 + pool_proj, 0
        """, "torchvision.models.googlenet"),
    "running the convolutions and counting by hand": ("""
        def inception_cost(in_channels, size, ch1x1, ch3x3, ch5x5, ch3x3red=None, ch5x5red=None, pool_proj=None):
            H, W = (size, size) if isinstance(size, int) else size
            x = torch.zeros(1, in_channels, H, W, device="meta")
            y = F.conv2d(x, torch.zeros(ch5x5, in_channels, 5, 5, device="meta"), padding=2)
            return y.shape[1], y[0].numel() * in_channels * 25
        """, CONV),
}

ROUTES["basic_block_forward"] = {
    "torchvision's BasicBlock (the test's own oracle)": ("""
        from torchvision.models.resnet import BasicBlock
        def basic_block_forward(x, params, stride=1, eps=1e-5):
            planes, inplanes = params["conv1.weight"].shape[:2]
            down = None
            if "downsample.0.weight" in params:
                down = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes))
            block = BasicBlock(inplanes, planes, stride=stride, downsample=down).double().eval()
            block.load_state_dict(params)
            with torch.no_grad():
                return block(x)
        """, "torchvision.models.resnet"),
    "lecturepkg.blocks.BasicBlock": ("""
        import lecturepkg.blocks as blocks
        def basic_block_forward(x, params, stride=1, eps=1e-5):
            planes, inplanes = params["conv1.weight"].shape[:2]
            down = None
            if "downsample.0.weight" in params:
                down = blocks.projection_shortcut(inplanes, planes, stride)
            block = blocks.BasicBlock(inplanes, planes, stride=stride, downsample=down).double().eval()
            block.load_state_dict(params)
            with torch.no_grad():
                return block(x)
        """, "lecturepkg.blocks"),
    "torchvision's resnet18, one block swapped in": ("""
        import torchvision
        def basic_block_forward(x, params, stride=1, eps=1e-5):
            net = torchvision.models.resnet18()
            return net.layer1[0](x)
        """, "torchvision.models.resnet"),
}

ROUTES["highway_forward"] = {
    "lecturepkg.blocks.Highway": ("""
        from lecturepkg.blocks import Highway
        def highway_forward(x, weight_h, bias_h, weight_t, bias_t):
            layer = Highway(x.shape[1]).double()
            t = torch.from_numpy
            with torch.no_grad():
                layer.transform.weight.copy_(t(weight_h))
                layer.transform.bias.copy_(t(bias_h))
                layer.gate.weight.copy_(t(weight_t))
                layer.gate.bias.copy_(t(bias_t))
                return layer(t(x)).numpy()
        """, "lecturepkg.blocks"),
    "lecturepkg.blocks.highway.Highway.forward on a stand-in": ("""
        import types
        from lecturepkg.blocks import highway
        def highway_forward(x, weight_h, bias_h, weight_t, bias_t):
            t = torch.from_numpy
            me = types.SimpleNamespace(features=x.shape[1],
                                       transform=lambda z: z @ t(weight_h).T + t(bias_h),
                                       gate=lambda z: z @ t(weight_t).T + t(bias_t))
            return highway.Highway.forward(me, t(x)).numpy()
        """, "lecturepkg.blocks"),
}

ROUTES["center_crop"] = {
    "the course's U-Net center_crop": ("""
        from lecturepkg.models.unets import center_crop as course
        def center_crop(x, size):
            return course(torch.from_numpy(x), size).numpy()
        """, "lecturepkg.models"),
    "torchvision.transforms.v2.functional.center_crop": ("""
        import torchvision.transforms.v2.functional as TF
        def center_crop(x, size):
            h, w = (size, size) if isinstance(size, int) else size
            return TF.center_crop(torch.from_numpy(x), [h, w]).numpy()
        """, "center_crop"),
    "torchvision.transforms.v2.CenterCrop": ("""
        from torchvision.transforms import v2
        def center_crop(x, size):
            return v2.CenterCrop(size)(torch.from_numpy(x)).numpy()
        """, "center_crop"),
    "torchvision.transforms.functional.center_crop (v1)": ("""
        import torchvision.transforms.functional as TF
        def center_crop(x, size):
            return TF.center_crop(torch.from_numpy(x), size).numpy()
        """, "center_crop"),
}

ROUTES["batch_norm_train"] = {
    "F.batch_norm (the test's own oracle)": ("""
        def batch_norm_train(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
            t = lambda a: torch.from_numpy(a.copy())
            mean, var = t(running_mean), t(running_var)
            y = F.batch_norm(t(x), mean, var, t(gamma), t(beta), training=True, momentum=momentum, eps=eps)
            return y.numpy(), mean.numpy(), var.numpy()
        """, "torch.nn.functional.batch_norm"),
    "nn.BatchNorm2d layer": ("""
        def batch_norm_train(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
            layer = nn.BatchNorm2d(x.shape[1], eps=eps, momentum=momentum).double().train()
            with torch.no_grad():
                for name, a in [("weight", gamma), ("bias", beta), ("running_mean", running_mean),
                                ("running_var", running_var)]:
                    getattr(layer, name).copy_(torch.from_numpy(a))
                y = layer(torch.from_numpy(x))
            return y.numpy(), layer.running_mean.numpy(), layer.running_var.numpy()
        """, "batch_norm"),
    "torch.batch_norm (the C++ function)": ("""
        def batch_norm_train(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
            t = lambda a: torch.from_numpy(a.copy())
            mean, var = t(running_mean), t(running_var)
            y = torch.batch_norm(t(x), t(gamma), t(beta), mean, var, True, momentum, eps, False)
            return y.numpy(), mean.numpy(), var.numpy()
        """, "batch normalisation"),
    "torch.ops.aten.native_batch_norm": ("""
        def batch_norm_train(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
            t = lambda a: torch.from_numpy(a.copy())
            mean, var = t(running_mean), t(running_var)
            y = torch.ops.aten.native_batch_norm(t(x), t(gamma), t(beta), mean, var, True, momentum, eps)[0]
            return y.numpy(), mean.numpy(), var.numpy()
        """, "aten.native_batch_norm"),
    "F.instance_norm on the batch seen as one sample": ("""
        def batch_norm_train(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
            t = lambda a: torch.from_numpy(a.copy())
            z = t(x).transpose(0, 1).reshape(1, x.shape[1], -1)
            y = F.instance_norm(z, weight=t(gamma), bias=t(beta), eps=eps)
            y = y.reshape(x.shape[1], x.shape[0], *x.shape[2:]).transpose(0, 1)
            return y.numpy(), running_mean, running_var
        """, "torch.nn.functional.instance_norm"),
    "lecturepkg.blocks.ConvBNReLU's batch norm": ("""
        from lecturepkg.blocks import ConvBNReLU
        def batch_norm_train(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
            bn = ConvBNReLU(x.shape[1], x.shape[1], 1, eps=eps).bn.double().train()
            y = bn(torch.from_numpy(x))
            return y.detach().numpy(), bn.running_mean.numpy(), bn.running_var.numpy()
        """, "lecturepkg.blocks"),
}

# ---- chapter 4 ---------------------------------------------------------------------------
# captum, pytorch-grad-cam and lime are refused whether the notebook imported them before the
# call (their functions are blocked) or the function imports them (the import is refused).

ROUTES["saliency_map"] = {
    "captum's Saliency": ("""
        from captum.attr import Saliency
        def saliency_map(model, inputs, target):
            return Saliency(model).attribute(inputs, target=target).amax(dim=1)
        """, "captum"),
    "captum imported inside the function": ("""
        def saliency_map(model, inputs, target):
            import captum.attr
            return captum.attr.Saliency(model).attribute(inputs, target=target).amax(dim=1)
        """, "captum"),
    "the course's saliency and heatmap": ("""
        from lecturepkg.interpret import heatmap, saliency
        def saliency_map(model, inputs, target):
            return heatmap(saliency(model, inputs, target), reduce="max_abs")
        """, "lecturepkg.interpret"),
}

ROUTES["class_activation_map"] = {
    "captum's LayerGradCam on a GAP head": ("""
        from captum.attr import LayerGradCam
        def class_activation_map(features, fc_weight, target, normalize=False):
            head = nn.Sequential(nn.Identity(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                 nn.Linear(fc_weight.shape[1], fc_weight.shape[0], bias=False)).double()
            head[3].weight.data = torch.from_numpy(fc_weight)
            f = torch.from_numpy(features)
            cam = LayerGradCam(head, head[0]).attribute(f, target=torch.as_tensor(target).expand(len(f)),
                                                        relu_attributions=False)
            return cam[:, 0].detach().numpy() * features.shape[2] * features.shape[3]
        """, "captum"),
    "pytorch-grad-cam's GradCAM weights": ("""
        def class_activation_map(features, fc_weight, target, normalize=False):
            from pytorch_grad_cam import GradCAM
            n, k, h, w = features.shape
            rows = fc_weight[np.broadcast_to(target, (n,))]  # (N, K): the class's weights
            grads = np.broadcast_to(rows[:, :, None, None] / (h * w), features.shape)
            weights = GradCAM.get_cam_weights(None, None, None, None, features, grads)
            return np.einsum("nk,nkhw->nhw", weights * h * w, features)  # = CAM
        """, "pytorch_grad_cam"),
    "the course's cam on a GAP network": ("""
        from lecturepkg.interpret import cam
        def class_activation_map(features, fc_weight, target, normalize=False):
            net = nn.Sequential(nn.Identity(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                nn.Linear(fc_weight.shape[1], fc_weight.shape[0])).double()
            return cam(net, torch.from_numpy(features), target, net[0], upsample=False).numpy()
        """, "lecturepkg.interpret"),
}

ROUTES["grad_cam"] = {
    "captum's LayerGradCam": ("""
        from captum.attr import LayerGradCam
        def grad_cam(activations, gradients, relu=True):
            layer = nn.Identity()
            return LayerGradCam(layer, layer).attribute(torch.from_numpy(activations), target=0)
        """, "captum"),
    "pytorch-grad-cam's BaseCAM.get_cam_image": ("""
        import pytorch_grad_cam
        from pytorch_grad_cam import GradCAM
        def grad_cam(activations, gradients, relu=True):
            weights = GradCAM.get_cam_weights(None, None, None, None, activations, gradients)
            cam = (weights[:, :, None, None] * activations).sum(axis=1)
            return weights, np.maximum(cam, 0) if relu else cam
        """, "pytorch_grad_cam"),
    "the course's grad_cam": ("""
        import lecturepkg.interpret.class_activation as course
        def grad_cam(activations, gradients, relu=True):
            return course.grad_cam(nn.Identity(), torch.from_numpy(activations), 0, nn.Identity())
        """, "lecturepkg.interpret"),
}

ROUTES["occlusion_map"] = {
    "captum's Occlusion": ("""
        from captum.attr import Occlusion
        def occlusion_map(model, inputs, target, window, stride=1, baseline=0.0):
            kh, kw = (window, window) if isinstance(window, int) else window
            sh, sw = (stride, stride) if isinstance(stride, int) else stride
            C = inputs.shape[1]
            return Occlusion(model).attribute(inputs, sliding_window_shapes=(C, kh, kw), strides=(C, sh, sw),
                                              target=target, baselines=baseline)[:, 0]
        """, "captum"),
    "captum imported inside the function": ("""
        def occlusion_map(model, inputs, target, window, stride=1, baseline=0.0):
            from captum.attr import FeatureAblation
            return FeatureAblation(model).attribute(inputs, target=target)[:, 0]
        """, "captum"),
    "the course's occlusion": ("""
        from lecturepkg.interpret import occlusion
        def occlusion_map(model, inputs, target, window, stride=1, baseline=0.0):
            return occlusion(model, inputs, target, window, strides=stride, baselines=baseline)[:, 0]
        """, "lecturepkg.interpret"),
    "a gradient instead of occluding": ("""
        def occlusion_map(model, inputs, target, window, stride=1, baseline=0.0):
            x = inputs.clone().requires_grad_(True)
            model(x)[:, target].sum().backward()
            return (x.grad * (x - baseline)).sum(dim=1).detach()
        """, "autograd"),
}

ROUTES["lime_fit"] = {
    "scikit-learn's Ridge with sample weights": ("""
        from sklearn.linear_model import Ridge
        def lime_fit(perturbations, scores, distances, kernel_width=0.25, alpha=1.0):
            w = np.sqrt(np.exp(-distances ** 2 / kernel_width ** 2))
            model = Ridge(alpha=alpha).fit(perturbations, scores, sample_weight=w)
            return model.coef_, float(model.intercept_)
        """, "sklearn.linear_model._ridge"),
    "scikit-learn's ridge_regression": ("""
        from sklearn.linear_model import ridge_regression
        def lime_fit(perturbations, scores, distances, kernel_width=0.25, alpha=1.0):
            w = np.sqrt(np.exp(-distances ** 2 / kernel_width ** 2))
            coef, intercept = ridge_regression(perturbations, scores, alpha, sample_weight=w, return_intercept=True)
            return coef, float(intercept)
        """, "sklearn.linear_model._ridge"),
    "scikit-learn's LinearRegression": ("""
        from sklearn.linear_model import LinearRegression
        def lime_fit(perturbations, scores, distances, kernel_width=0.25, alpha=1.0):
            w = np.sqrt(np.exp(-distances ** 2 / kernel_width ** 2))
            model = LinearRegression().fit(perturbations, scores, sample_weight=w)
            return model.coef_, float(model.intercept_)
        """, "sklearn.linear_model._base"),
    "lime's LimeBase": ("""
        def lime_fit(perturbations, scores, distances, kernel_width=0.25, alpha=1.0):
            from lime.lime_base import LimeBase
            kernel = lambda d: np.sqrt(np.exp(-d ** 2 / kernel_width ** 2))
            base = LimeBase(kernel)
            data = np.vstack([np.ones(perturbations.shape[1]), perturbations])
            intercept, exp, _, _ = base.explain_instance_with_data(data, scores[:, None], distances, 0, 10)
            return np.array([c for _, c in sorted(exp)]), float(intercept)
        """, "lime"),
}

ROUTES["pointing_game"] = {
    "the course's pointing_game": ("""
        from lecturepkg.interpret import pointing_game as course
        def pointing_game(maps, masks, tolerance=0):
            return course(torch.from_numpy(maps), torch.from_numpy(masks), tolerance=tolerance).numpy() == 1
        """, "lecturepkg.interpret"),
    "the course's evaluate module as a default argument": ("""
        import lecturepkg.interpret.evaluate as evaluate
        def pointing_game(maps, masks, tolerance=0, _course=evaluate.pointing_game):
            return _course(torch.from_numpy(maps), torch.from_numpy(masks), tolerance=tolerance).numpy() == 1
        """, "lecturepkg.interpret"),
}

ROUTES["deletion_curve"] = {
    "the course's deletion_curve and curve_auc": ("""
        from lecturepkg.interpret import curve_auc
        from lecturepkg.interpret import deletion_curve as course
        def deletion_curve(model, inputs, target, maps, pixels_per_step=1, baseline=0.0):
            H, W = inputs.shape[2:]
            curve = course(model, inputs, target, maps, steps=-(-H * W // pixels_per_step), baselines=baseline)
            return curve.scores, curve_auc(curve)
        """, "lecturepkg.interpret"),
    "the course's evaluate module in a closure": ("""
        import lecturepkg.interpret.evaluate as evaluate
        def make(course):
            def deletion_curve(model, inputs, target, maps, pixels_per_step=1, baseline=0.0):
                curve = course(model, inputs, target, maps, baselines=baseline)
                return curve.scores, evaluate.curve_auc(curve)
            return deletion_curve
        deletion_curve = make(evaluate.deletion_curve)
        """, "lecturepkg.interpret"),
}

# ---- chapter 5 ---------------------------------------------------------------------------
# torchvision's box operators, box coder, anchors and losses, the course's lecturepkg.detection
# and pycocotools are refused, by their Python functions and by torchvision's compiled operators.

ROUTES["box_iou"] = {
    "torchvision.ops.box_iou": ("""
        from torchvision.ops import box_iou as torchvision_box_iou
        def box_iou(boxes1, boxes2):
            return torchvision_box_iou(boxes1, boxes2)
        """, "torchvision.ops"),
    "torchvision's _box_inter_union": ("""
        import torchvision.ops.boxes
        def box_iou(boxes1, boxes2):
            inter, union = torchvision.ops.boxes._box_inter_union(boxes1, boxes2)
            return inter / union
        """, "torchvision.ops"),
    "torch.ops.torchvision.box_iou_rotated at angle 0": ("""
        def box_iou(boxes1, boxes2):
            def rotated(b):
                return torch.cat([(b[:, :2] + b[:, 2:]) / 2, b[:, 2:] - b[:, :2], torch.zeros_like(b[:, :1])], dim=1)
            return torch.ops.torchvision.box_iou_rotated(rotated(boxes1), rotated(boxes2))
        """, "torchvision.box_iou_rotated"),
    "the course's box_iou": ("""
        from lecturepkg.detection import box_iou as course
        def box_iou(boxes1, boxes2):
            return course(boxes1, boxes2)
        """, "lecturepkg.detection"),
}

ROUTES["decode_boxes"] = {
    "torchvision's BoxCoder": ("""
        import math
        from torchvision.models.detection._utils import BoxCoder
        def decode_boxes(rel_codes, boxes, weights=(1.0, 1.0, 1.0, 1.0), bbox_xform_clip=math.log(1000.0 / 16)):
            return BoxCoder(weights, bbox_xform_clip).decode_single(rel_codes, boxes)
        """, "torchvision.models.detection"),
    "the course's BoxCoder": ("""
        import math
        import lecturepkg.detection as det
        def decode_boxes(rel_codes, boxes, weights=(1.0, 1.0, 1.0, 1.0), bbox_xform_clip=math.log(1000.0 / 16)):
            return det.BoxCoder(weights, bbox_xform_clip).decode_single(rel_codes, boxes)
        """, "lecturepkg.detection"),
}

ROUTES["nms"] = {
    "torchvision.ops.nms": ("""
        import torchvision
        def nms(boxes, scores, iou_threshold):
            return torchvision.ops.nms(boxes, scores, iou_threshold)
        """, "torchvision.ops"),
    "torchvision.ops.batched_nms with one class": ("""
        from torchvision.ops import batched_nms
        def nms(boxes, scores, iou_threshold):
            return batched_nms(boxes, scores, torch.zeros(len(boxes), dtype=torch.int64), iou_threshold)
        """, "torchvision.ops"),
    "torch.ops.torchvision.nms": ("""
        def nms(boxes, scores, iou_threshold):
            return torch.ops.torchvision.nms(boxes, scores, iou_threshold)
        """, "torchvision.nms"),
    "the course's nms": ("""
        from lecturepkg.detection import nms as course_nms
        def nms(boxes, scores, iou_threshold):
            return course_nms(boxes, scores, iou_threshold)
        """, "lecturepkg.detection"),
}

ROUTES["roi_align_single"] = {
    "torchvision.ops.roi_align": ("""
        from torchvision.ops import roi_align
        def roi_align_single(features, box, output_size, spatial_scale=1.0, sampling_ratio=2, aligned=False):
            return roi_align(features[None], [box[None]], output_size, spatial_scale, sampling_ratio, aligned)[0]
        """, "torchvision.ops"),
    "a RoIAlign layer": ("""
        from torchvision.ops import RoIAlign
        def roi_align_single(features, box, output_size, spatial_scale=1.0, sampling_ratio=2, aligned=False):
            layer = RoIAlign(output_size, spatial_scale, sampling_ratio, aligned)
            return layer(features[None], [box[None]])[0]
        """, "torchvision.ops"),
    "torch.ops.torchvision.roi_align": ("""
        def roi_align_single(features, box, output_size, spatial_scale=1.0, sampling_ratio=2, aligned=False):
            ph, pw = (output_size, output_size) if isinstance(output_size, int) else output_size
            rois = torch.cat([torch.zeros(1, dtype=box.dtype), box])[None]
            return torch.ops.torchvision.roi_align(features[None], rois, spatial_scale, ph, pw, sampling_ratio,
                                                   aligned)[0]
        """, "torchvision.roi_align"),
    "F.grid_sample at the sampling points": ("""
        def roi_align_single(features, box, output_size, spatial_scale=1.0, sampling_ratio=2, aligned=False):
            ph, pw = (output_size, output_size) if isinstance(output_size, int) else output_size
            C, H, W = features.shape
            g = sampling_ratio
            x1, y1, x2, y2 = (box * spatial_scale - (0.5 if aligned else 0.0)).tolist()
            ys = y1 + (torch.arange(ph * g, dtype=features.dtype) + 0.5) * (y2 - y1) / (ph * g)
            xs = x1 + (torch.arange(pw * g, dtype=features.dtype) + 0.5) * (x2 - x1) / (pw * g)
            gy, gx = torch.meshgrid(2 * ys / (H - 1) - 1, 2 * xs / (W - 1) - 1, indexing="ij")
            out = F.grid_sample(features[None], torch.stack([gx, gy], dim=-1)[None], align_corners=True)
            return out[0].reshape(C, ph, g, pw, g).mean(dim=(2, 4))
        """, "aten.grid_sampler_2d"),
    "the course's roi_align": ("""
        import lecturepkg.detection.roi_ops as course
        def roi_align_single(features, box, output_size, spatial_scale=1.0, sampling_ratio=2, aligned=False):
            return course.roi_align(features[None], [box[None]], output_size, spatial_scale, sampling_ratio,
                                    aligned)[0]
        """, "lecturepkg.detection"),
}

ROUTES["grid_anchors"] = {
    "torchvision's AnchorGenerator": ("""
        from torchvision.models.detection.anchor_utils import AnchorGenerator
        def grid_anchors(scales, aspect_ratios, grid_size, stride):
            sy, sx = (stride, stride) if isinstance(stride, int) else stride
            generator = AnchorGenerator((tuple(scales),), (tuple(aspect_ratios),))
            return generator.grid_anchors([list(grid_size)], [[torch.tensor(sy), torch.tensor(sx)]])[0]
        """, "torchvision.models.detection"),
    "the course's AnchorGenerator": ("""
        from lecturepkg.detection import AnchorGenerator
        def grid_anchors(scales, aspect_ratios, grid_size, stride):
            sy, sx = (stride, stride) if isinstance(stride, int) else stride
            generator = AnchorGenerator((tuple(scales),), (tuple(aspect_ratios),))
            return generator.grid_anchors([grid_size], [(sy, sx)])[0]
        """, "lecturepkg.detection"),
}

ROUTES["mask_loss"] = {
    "torchvision's maskrcnn_loss": ("""
        from torchvision.models.detection import roi_heads
        def mask_loss(mask_logits, labels, mask_targets):
            R, M = mask_logits.shape[0], mask_logits.shape[-1]
            boxes = torch.tensor([[-0.5, -0.5, M - 0.5, M - 0.5]], dtype=mask_logits.dtype).repeat(R, 1)
            return roi_heads.maskrcnn_loss(mask_logits, [boxes], [mask_targets], [labels], [torch.arange(R)])
        """, "torchvision.models.detection"),
    "the course's maskrcnn_loss": ("""
        from lecturepkg.detection import maskrcnn_loss
        def mask_loss(mask_logits, labels, mask_targets):
            R, M = mask_logits.shape[0], mask_logits.shape[-1]
            boxes = torch.tensor([[-0.5, -0.5, M - 0.5, M - 0.5]], dtype=mask_logits.dtype).repeat(R, 1)
            return maskrcnn_loss(mask_logits, [boxes], [mask_targets], [labels], [torch.arange(R)])
        """, "lecturepkg.detection"),
}

ROUTES["average_precision"] = {
    "pycocotools' COCOeval": ("""
        def average_precision(scores, is_true_positive, num_gt):
            from pycocotools.coco import COCO
            from pycocotools.cocoeval import COCOeval
            boxes = [[10.0 * i, 0.0, 5.0, 5.0] for i in range(num_gt)]  # one far-apart box per object
            gt = COCO()
            gt.dataset = {"images": [{"id": 1, "width": 10 * num_gt, "height": 10}], "categories": [{"id": 1}],
                          "annotations": [{"id": i + 1, "image_id": 1, "category_id": 1, "bbox": b, "area": 25.0,
                                           "iscrowd": 0} for i, b in enumerate(boxes)]}
            gt.createIndex()
            hits = iter(range(num_gt))
            dets = [{"image_id": 1, "category_id": 1, "score": float(s),
                     "bbox": boxes[next(hits)] if t else [0.0, 100.0, 5.0, 5.0]}
                    for s, t in zip(scores, is_true_positive)]
            evaluation = COCOeval(gt, gt.loadRes(dets), "bbox")
            evaluation.evaluate()
            evaluation.accumulate()
            return float(evaluation.eval["precision"][0, :, 0, 0, -1].mean())
        """, "pycocotools"),
    "the course's interpolated_precision": ("""
        from lecturepkg.detection import interpolated_precision
        def average_precision(scores, is_true_positive, num_gt):
            order = np.argsort(-scores, kind="stable")
            tp = is_true_positive[order]
            precision, _ = interpolated_precision(tp, ~tp, num_gt)
            return float(precision.mean())
        """, "lecturepkg.detection"),
}

# Switching the guard off is refused too (shown once, on correlate1d).
ROUTES["correlate1d"].update({
    "torch._C._DisableTorchDispatch": ("""
        def correlate1d(x, w):
            with torch._C._DisableTorchDispatch():
                return F.conv1d(torch.from_numpy(x).view(1, 1, -1), torch.from_numpy(w).view(1, 1, -1)).view(-1).numpy()
        """, "switch off"),
    "excluding the Python dispatch key": ("""
        def correlate1d(x, w):
            keys = torch._C.DispatchKeySet(torch._C.DispatchKey.Python)
            with torch._C._ExcludeDispatchKeyGuard(keys):
                return F.conv1d(torch.from_numpy(x).view(1, 1, -1), torch.from_numpy(w).view(1, 1, -1)).view(-1).numpy()
        """, "switch off"),
    "popping the dispatch mode": ("""
        from torch.utils._python_dispatch import _pop_mode_temporarily
        def correlate1d(x, w):
            with _pop_mode_temporarily():
                return F.conv1d(torch.from_numpy(x).view(1, 1, -1), torch.from_numpy(w).view(1, 1, -1)).view(-1).numpy()
        """, "switch off"),
    "disabling the current modes": ("""
        from torch.utils._python_dispatch import _disable_current_modes
        def correlate1d(x, w):
            with _disable_current_modes():
                return F.conv1d(torch.from_numpy(x).view(1, 1, -1), torch.from_numpy(w).view(1, 1, -1)).view(-1).numpy()
        """, "switch off"),
    "a thread started with threading.Thread": ("""
        import threading
        def correlate1d(x, w):
            out = {}
            def work():
                try:
                    out["y"] = F.conv1d(torch.from_numpy(x).view(1, 1, -1), torch.from_numpy(w).view(1, 1, -1)).view(-1).numpy()
                except Exception as err:
                    out["err"] = err
            thread = threading.Thread(target=work)
            thread.start()
            thread.join()
            if "err" in out:
                raise out["err"]
            return out["y"]
        """, CONV),
})

ROUTE_CASES = [(exercise, route) for exercise in EXERCISES for route in ROUTES.get(exercise, {})]


def test_every_exercise_has_delegation_routes():
    assert set(ROUTES) == set(EXERCISES)
    for name, routes in ROUTES.items():
        assert len(routes) >= 2, name


@pytest.mark.parametrize("exercise,route", ROUTE_CASES, ids=[f"{e}-{r}" for e, r in ROUTE_CASES])
def test_delegation_route_loses_every_point(exercise, route):
    source, fragment = ROUTES[exercise][route]
    result = run_exercise(exercise, student_function(exercise, source))
    passed = [t.name for t in result.tests if t.passed]
    assert not passed and result.points == 0, f"{route}: these tests pass: {passed}"
    named = [t for t in result.tests if "is not available while" in t.message and fragment in t.message]
    assert named, f"{route}: no message names what is unavailable ({fragment!r}):\n" + \
        "\n".join(t.message.splitlines()[0] for t in result.tests)


# ----------------------------------------------------------------------------------------
# Honest answers: two independent ones per exercise (loops; vectorised where the page
# allows it), written from the docstrings, must get full marks.
# ----------------------------------------------------------------------------------------

HONEST: dict[str, dict[str, str]] = {
    "correlate1d": {
        "loops": """
            def correlate1d(x, w):
                if len(w) > len(x):
                    raise ValueError("the kernel is longer than the signal")
                out = []
                for i in range(len(x) - len(w) + 1):
                    total = 0.0
                    for j in range(len(w)):
                        total += x[i + j] * w[j]
                    out.append(total)
                return np.array(out, dtype=np.result_type(x, w))
            """,
        "sliding_window_view @ w": """
            from numpy.lib.stride_tricks import sliding_window_view
            def correlate1d(x, w):
                if len(w) > len(x):
                    raise ValueError("w does not fit in x")
                return sliding_window_view(x, len(w)) @ w
            """,
        "Tensor.unfold in torch": """
            def correlate1d(x, w):
                if len(w) > len(x):
                    raise ValueError("w does not fit in x")
                print(torch.from_numpy(x))  # printing a tensor steps outside the dispatch modes: allowed
                return (torch.from_numpy(x).unfold(0, len(w), 1) @ torch.from_numpy(w)).numpy()
            """,
    },
    "output_size": {
        "formula": """
            def output_size(input_size, kernel_size, stride=1, padding=0, dilation=1):
                span = dilation * (kernel_size - 1) + 1
                return (input_size + 2 * padding - span) // stride + 1
            """,
        "counting positions": """
            def output_size(input_size, kernel_size, stride=1, padding=0, dilation=1):
                last = input_size + 2 * padding - dilation * (kernel_size - 1) - 1
                return len(range(0, last + 1, stride))
            """,
    },
    "conv2d_multichannel": {
        "loops": """
            def conv2d_multichannel(x, weight, bias):
                C, H, W = x.shape
                D, Cw, h, w = weight.shape
                if Cw != C:
                    raise ValueError("channel mismatch")
                y = np.zeros((D, H - h + 1, W - w + 1), dtype=np.result_type(x, weight, bias))
                for d in range(D):
                    for i in range(H - h + 1):
                        for j in range(W - w + 1):
                            y[d, i, j] = bias[d] + np.sum(weight[d] * x[:, i:i + h, j:j + w])
                return y
            """,
        "sliding_window_view + einsum": """
            from numpy.lib.stride_tricks import sliding_window_view
            def conv2d_multichannel(x, weight, bias):
                if weight.shape[1] != x.shape[0]:
                    raise ValueError("channel mismatch")
                windows = sliding_window_view(x, weight.shape[2:], axis=(1, 2))  # (C, H', W', h, w)
                return np.einsum('cijuv,dcuv->dij', windows, weight) + bias[:, None, None]
            """,
        "F.unfold + a matrix product": """
            def conv2d_multichannel(x, weight, bias):
                if weight.shape[1] != x.shape[0]:
                    raise ValueError("channel mismatch")
                D, C, h, w = weight.shape
                cols = F.unfold(torch.from_numpy(x)[None], (h, w))[0].numpy()
                out = weight.reshape(D, -1) @ cols + bias[:, None]
                return out.reshape(D, x.shape[1] - h + 1, x.shape[2] - w + 1)
            """,
    },
    "max_pool2d": {
        "loops": """
            def max_pool2d(x, kernel_size):
                C, H, W = x.shape
                k = kernel_size
                if k > H or k > W:
                    raise ValueError("window larger than the map")
                y = np.empty((C, H // k, W // k), dtype=x.dtype)
                for c in range(C):
                    for i in range(H // k):
                        for j in range(W // k):
                            y[c, i, j] = x[c, i * k:(i + 1) * k, j * k:(j + 1) * k].max()
                return y
            """,
        "reshape into blocks": """
            def max_pool2d(x, kernel_size):
                C, H, W = x.shape
                k = kernel_size
                if k > H or k > W:
                    raise ValueError("window larger than the map")
                return x[:, :H // k * k, :W // k * k].reshape(C, H // k, k, W // k, k).max(axis=(2, 4))
            """,
        "Tensor.unfold + amax": """
            def max_pool2d(x, kernel_size):
                C, H, W = x.shape
                k = kernel_size
                if k > H or k > W:
                    raise ValueError("window larger than the map")
                return torch.from_numpy(x).unfold(1, k, k).unfold(2, k, k).amax(dim=(-2, -1)).numpy()
            """,
    },
    "correlate1d_kernel_grad": {
        "loops": """
            def correlate1d_kernel_grad(x, grad_output, kernel_size):
                n = len(x) - kernel_size + 1
                if len(grad_output) != n:
                    raise ValueError("grad_output has the wrong length")
                g = np.zeros(kernel_size, dtype=np.result_type(x, grad_output))
                for j in range(kernel_size):
                    for i in range(n):
                        g[j] += grad_output[i] * x[i + j]
                return g
            """,
        "sliding_window_view": """
            from numpy.lib.stride_tricks import sliding_window_view
            def correlate1d_kernel_grad(x, grad_output, kernel_size):
                if len(grad_output) != len(x) - kernel_size + 1:
                    raise ValueError("grad_output has the wrong length")
                return grad_output @ sliding_window_view(x, kernel_size)
            """,
    },
    "conv2d_layer_cost": {
        "formula": """
            def conv2d_layer_cost(in_channels, out_channels, kernel_size, input_size, stride=1, padding=0, bias=True):
                per_filter = in_channels * kernel_size * kernel_size
                params = out_channels * per_filter + (out_channels if bias else 0)
                n = (input_size + 2 * padding - kernel_size) // stride + 1
                return params, out_channels * n * n * per_filter
            """,
        "counting output positions": """
            def conv2d_layer_cost(in_channels, out_channels, kernel_size, input_size, stride=1, padding=0, bias=True):
                positions = sum(1 for start in range(0, input_size + 2 * padding - kernel_size + 1, stride))
                weights = out_channels * in_channels * kernel_size ** 2
                return int(weights + out_channels * bool(bias)), int(weights * positions ** 2)
            """,
    },
    "conv1d_multichannel": {
        "loops": """
            def conv1d_multichannel(x, weight, bias, stride=1, dilation=1):
                C, L = x.shape
                D, Cw, k = weight.shape
                if Cw != C:
                    raise ValueError("channel mismatch")
                span = dilation * (k - 1) + 1
                if span > L:
                    raise ValueError("the dilated kernel is longer than the signal")
                n = (L - span) // stride + 1
                y = np.zeros((D, n), dtype=np.result_type(x, weight, bias))
                for d in range(D):
                    for t in range(n):
                        acc = bias[d]
                        for c in range(C):
                            for j in range(k):
                                acc += weight[d, c, j] * x[c, t * stride + j * dilation]
                        y[d, t] = acc
                return y
            """,
        "sliding_window_view + einsum": """
            from numpy.lib.stride_tricks import sliding_window_view
            def conv1d_multichannel(x, weight, bias, stride=1, dilation=1):
                D, C, k = weight.shape
                if C != x.shape[0]:
                    raise ValueError("channel mismatch")
                span = dilation * (k - 1) + 1
                if span > x.shape[1]:
                    raise ValueError("the dilated kernel is longer than the signal")
                windows = sliding_window_view(x, span, axis=1)[:, ::stride, ::dilation]  # (C, T, k)
                return np.einsum('ctk,dck->dt', windows, weight) + bias[:, None]
            """,
    },
    "im2col": {
        "loops": """
            def im2col(x, kernel_size, stride=1):
                kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
                C, H, W = x.shape
                if kh > H or kw > W:
                    raise ValueError("kernel larger than the image")
                Ho, Wo = (H - kh) // stride + 1, (W - kw) // stride + 1
                cols = np.zeros((C * kh * kw, Ho * Wo), dtype=x.dtype)
                for i in range(Ho):
                    for j in range(Wo):
                        row = 0
                        for c in range(C):
                            for u in range(kh):
                                for v in range(kw):
                                    cols[row, i * Wo + j] = x[c, i * stride + u, j * stride + v]
                                    row += 1
                return cols
            """,
        "sliding_window_view": """
            from numpy.lib.stride_tricks import sliding_window_view
            def im2col(x, kernel_size, stride=1):
                kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
                C, H, W = x.shape
                if kh > H or kw > W:
                    raise ValueError("kernel larger than the image")
                win = sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::stride, ::stride]  # (C, Ho, Wo, kh, kw)
                return win.transpose(0, 3, 4, 1, 2).reshape(C * kh * kw, -1)
            """,
        "Tensor.unfold (once missed by the delegation check)": """
            def im2col(x, kernel_size, stride=1):
                kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
                C, H, W = x.shape
                if kh > H or kw > W:
                    raise ValueError("kernel larger than the image")
                patches = torch.from_numpy(x).unfold(1, kh, stride).unfold(2, kw, stride)  # (C, Ho, Wo, kh, kw)
                return patches.permute(0, 3, 4, 1, 2).reshape(C * kh * kw, -1).numpy()
            """,
        "as_strided": """
            from numpy.lib.stride_tricks import as_strided
            def im2col(x, kernel_size, stride=1):
                kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
                C, H, W = x.shape
                if kh > H or kw > W:
                    raise ValueError("kernel larger than the image")
                Ho, Wo = (H - kh) // stride + 1, (W - kw) // stride + 1
                sc, sh, sw = x.strides
                win = as_strided(x, (C, kh, kw, Ho, Wo), (sc, sh, sw, sh * stride, sw * stride))
                return win.reshape(C * kh * kw, Ho * Wo).copy()
            """,
    },
    "conv3d_multichannel": {
        "loops": """
            def conv3d_multichannel(x, weight, bias, stride=1):
                sd, sh, sw = (stride,) * 3 if isinstance(stride, int) else stride
                C, D, H, W = x.shape
                O, Cw, kd, kh, kw = weight.shape
                if Cw != C:
                    raise ValueError("channel mismatch")
                out = np.zeros((O, (D - kd) // sd + 1, (H - kh) // sh + 1, (W - kw) // sw + 1),
                               dtype=np.result_type(x, weight, bias))
                for o in range(O):
                    for t in range(out.shape[1]):
                        for i in range(out.shape[2]):
                            for j in range(out.shape[3]):
                                patch = x[:, t * sd:t * sd + kd, i * sh:i * sh + kh, j * sw:j * sw + kw]
                                out[o, t, i, j] = np.sum(patch * weight[o]) + bias[o]
                return out
            """,
        "sliding_window_view + einsum": """
            from numpy.lib.stride_tricks import sliding_window_view
            def conv3d_multichannel(x, weight, bias, stride=1):
                sd, sh, sw = (stride,) * 3 if isinstance(stride, int) else stride
                if weight.shape[1] != x.shape[0]:
                    raise ValueError("channel mismatch")
                win = sliding_window_view(x, weight.shape[2:], axis=(1, 2, 3))[:, ::sd, ::sh, ::sw]
                return np.einsum('ctijabe,ocabe->otij', win, weight) + bias[:, None, None, None]
            """,
    },
    "causal_conv1d": {
        "loops": """
            def causal_conv1d(x, weight, dilation=1):
                C, T = x.shape
                D, Cw, k = weight.shape
                if Cw != C:
                    raise ValueError("channel mismatch")
                y = np.zeros((D, T), dtype=np.result_type(x, weight))
                for d in range(D):
                    for t in range(T):
                        for c in range(C):
                            for j in range(k):
                                tau = t - (k - 1 - j) * dilation
                                if tau >= 0:
                                    y[d, t] += weight[d, c, j] * x[c, tau]
                return y
            """,
        "np.pad + sliding_window_view": """
            from numpy.lib.stride_tricks import sliding_window_view
            def causal_conv1d(x, weight, dilation=1):
                D, C, k = weight.shape
                if C != x.shape[0]:
                    raise ValueError("channel mismatch")
                left = dilation * (k - 1)
                xp = np.pad(x, ((0, 0), (left, 0)))
                windows = sliding_window_view(xp, left + 1, axis=1)[:, :, ::dilation]  # (C, T, k)
                return np.einsum('ctk,dck->dt', windows, weight)
            """,
    },
    "receptive_field": {
        "field and jump": """
            def receptive_field(layers):
                field, jump = 1, 1
                for k, s, d in layers:
                    if k < 1 or s < 1 or d < 1:
                        raise ValueError("kernel size, stride and dilation must be at least 1")
                    field += (k - 1) * d * jump
                    jump *= s
                return int(field)
            """,
        "propagating a span down the stack": """
            def receptive_field(layers):
                for k, s, d in layers:
                    if min(k, s, d) < 1:
                        raise ValueError("bad layer")
                lo, hi = 0, 0  # positions of the top output, in the coordinates of each layer's output
                for k, s, d in reversed(layers):
                    lo, hi = lo * s, hi * s + d * (k - 1)
                return hi - lo + 1
            """,
    },
    "factorize_kernel": {
        "svd": """
            def factorize_kernel(kernel):
                kernel = np.asarray(kernel, dtype=np.float64)
                u, s, vt = np.linalg.svd(kernel)
                if len(s) > 1 and s[1] > 1e-9 * max(s[0], 1e-300):
                    raise ValueError("the kernel is not separable")
                return u[:, 0] * s[0], vt[0].copy()
            """,
        "largest entry": """
            def factorize_kernel(kernel):
                k = np.asarray(kernel, dtype=np.float64)
                i, j = np.unravel_index(np.argmax(np.abs(k)), k.shape)
                column, row = k[:, j].copy(), k[i] / k[i, j]
                if not np.allclose(np.outer(column, row), k, rtol=0, atol=1e-9 * np.abs(k).max()):
                    raise ValueError("the kernel is not separable")
                return column, row
            """,
    },
    "depthwise_conv2d": {
        "loops": """
            def depthwise_conv2d(x, weight, bias, padding=0):
                C, H, W = x.shape
                D, one, kh, kw = weight.shape
                if one != 1 or D % C:
                    raise ValueError("not a depthwise weight")
                m = D // C
                xp = np.pad(x, ((0, 0), (padding, padding), (padding, padding)))
                Ho, Wo = xp.shape[1] - kh + 1, xp.shape[2] - kw + 1
                y = np.zeros((D, Ho, Wo), dtype=np.result_type(x, weight, bias))
                for o in range(D):
                    for i in range(Ho):
                        for j in range(Wo):
                            y[o, i, j] = bias[o] + np.sum(weight[o, 0] * xp[o // m, i:i + kh, j:j + kw])
                return y
            """,
        "sliding_window_view + einsum": """
            from numpy.lib.stride_tricks import sliding_window_view
            def depthwise_conv2d(x, weight, bias, padding=0):
                C = x.shape[0]
                D = weight.shape[0]
                if weight.shape[1] != 1 or D % C:
                    raise ValueError("not a depthwise weight")
                xp = np.pad(x, ((0, 0), (padding, padding), (padding, padding)))
                win = sliding_window_view(xp, weight.shape[2:], axis=(1, 2))  # (C, Ho, Wo, kh, kw)
                kernels = weight[:, 0].reshape(C, D // C, *weight.shape[2:])
                return np.einsum('cijuv,cmuv->cmij', win, kernels).reshape(D, *win.shape[1:3]) + bias[:, None, None]
            """,
    },
    "conv_transpose_matrix": {
        "loops": """
            def conv_transpose_matrix(weight, input_size, stride=1, padding=0):
                k = len(weight)
                n_out = (input_size - 1) * stride - 2 * padding + k
                if n_out < 1:
                    raise ValueError("empty output")
                M = np.zeros((n_out, input_size), dtype=np.result_type(weight, np.float64))
                for i in range(input_size):
                    for j in range(k):
                        r = i * stride + j - padding
                        if 0 <= r < n_out:
                            M[r, i] += weight[j]
                return M
            """,
        "fancy indexing": """
            def conv_transpose_matrix(weight, input_size, stride=1, padding=0):
                k = len(weight)
                n_out = (input_size - 1) * stride - 2 * padding + k
                if n_out < 1:
                    raise ValueError("empty output")
                full = np.zeros(((input_size - 1) * stride + k, input_size))
                columns = np.arange(input_size)
                for j, w in enumerate(weight):
                    full[columns * stride + j, columns] += w
                return full[padding:padding + n_out]
            """,
    },
    "conv_transpose2d": {
        "loops": """
            def conv_transpose2d(x, weight, stride=1, padding=0):
                C, H, W = x.shape
                Cw, D, kh, kw = weight.shape
                if Cw != C:
                    raise ValueError("weight.shape[0] must be the input channels")
                full = np.zeros((D, (H - 1) * stride + kh, (W - 1) * stride + kw), dtype=np.result_type(x, weight))
                for c in range(C):
                    for i in range(H):
                        for j in range(W):
                            full[:, i * stride:i * stride + kh, j * stride:j * stride + kw] += x[c, i, j] * weight[c]
                return full[:, padding:full.shape[1] - padding, padding:full.shape[2] - padding]
            """,
        "einsum + np.add.at": """
            def conv_transpose2d(x, weight, stride=1, padding=0):
                C, H, W = x.shape
                if weight.shape[0] != C:
                    raise ValueError("weight.shape[0] must be the input channels")
                _, D, kh, kw = weight.shape
                pieces = np.einsum('chw,cduv->dhwuv', x, weight)
                rows = (np.arange(H)[:, None] * stride + np.arange(kh)[None, :])  # (H, kh)
                cols = (np.arange(W)[:, None] * stride + np.arange(kw)[None, :])  # (W, kw)
                full = np.zeros((D, (H - 1) * stride + kh, (W - 1) * stride + kw), dtype=pieces.dtype)
                np.add.at(full, (slice(None), rows[:, None, :, None], cols[None, :, None, :]), pieces)
                return full[:, padding:full.shape[1] - padding, padding:full.shape[2] - padding]
            """,
    },
    "vgg_features_cost": {
        "loops": """
            def vgg_features_cost(cfg, in_channels=3, input_size=224, batch_norm=False):
                if isinstance(input_size, int):
                    input_size = (input_size, input_size)
                H, W = input_size
                if min(H, W) <= 0:
                    raise ValueError("input_size")
                C, total = in_channels, 0
                for layer in cfg:
                    if isinstance(layer, str) and layer == "M":
                        if min(H, W) < 2:
                            raise ValueError("nothing left to pool")
                        H, W = H // 2, W // 2
                    elif type(layer) is int and layer >= 1:
                        total += layer * C * 9 + layer + (2 * layer if batch_norm else 0)
                        C = layer
                    else:
                        raise ValueError(f"bad layer {layer!r}")
                return (C, H, W), total
            """,
        "math.prod and a list of layers": """
            import math
            def vgg_features_cost(cfg, in_channels=3, input_size=224, batch_norm=False):
                size = [input_size] * 2 if isinstance(input_size, int) else list(input_size)
                if any(s < 1 for s in size):
                    raise ValueError("input_size must be positive")
                shapes, counts = [in_channels], []
                for v in cfg:
                    if v == "M":
                        if any(s < 2 for s in size):
                            raise ValueError("the map vanishes")
                        size = [s // 2 for s in size]
                        continue
                    if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                        raise ValueError(f"bad entry {v!r}")
                    counts.append(math.prod((v, shapes[-1], 3, 3)) + v * (3 if batch_norm else 1))
                    shapes.append(v)
                return (shapes[-1], *size), sum(counts)
            """,
    },
    "conv1x1": {
        "einsum": """
            def conv1x1(x, weight, bias):
                if weight.ndim != 4 or weight.shape[2:] != (1, 1) or weight.shape[1] != x.shape[1]:
                    raise ValueError("weight must be (D, C, 1, 1)")
                if bias.shape != weight.shape[:1]:
                    raise ValueError("bias must be (D,)")
                return np.einsum('dc,nchw->ndhw', weight[:, :, 0, 0], x) + bias[None, :, None, None]
            """,
        "pixels as columns, in torch": """
            def conv1x1(x, weight, bias):
                N, C, H, W = x.shape
                if tuple(weight.shape[1:]) != (C, 1, 1) or bias.shape != (weight.shape[0],):
                    raise ValueError("not a 1x1 weight for these channels")
                X = torch.from_numpy(x).permute(1, 0, 2, 3).reshape(C, -1)  # (C, N*H*W)
                Y = torch.from_numpy(weight).reshape(-1, C) @ X + torch.from_numpy(bias)[:, None]
                return Y.reshape(-1, N, H, W).permute(1, 0, 2, 3).contiguous().numpy()
            """,
    },
    "depth_concat": {
        "np.pad and np.concatenate": """
            def depth_concat(tensors):
                if not tensors or any(t.ndim != 4 for t in tensors):
                    raise ValueError("need 4D arrays")
                if len({t.shape[0] for t in tensors}) != 1:
                    raise ValueError("batch sizes differ")
                H = max(t.shape[2] for t in tensors)
                W = max(t.shape[3] for t in tensors)
                padded = []
                for t in tensors:
                    dh, dw = H - t.shape[2], W - t.shape[3]
                    padded.append(np.pad(t, ((0, 0), (0, 0), (dh // 2, dh - dh // 2), (dw // 2, dw - dw // 2))))
                return np.concatenate(padded, axis=1)
            """,
        "F.pad and torch.cat": """
            def depth_concat(tensors):
                if len(tensors) == 0:
                    raise ValueError("empty")
                ts = [torch.from_numpy(np.asarray(t)) for t in tensors]
                if any(t.dim() != 4 or t.shape[0] != ts[0].shape[0] for t in ts):
                    raise ValueError("shapes")
                H, W = max(t.shape[2] for t in ts), max(t.shape[3] for t in ts)
                dtype = torch.from_numpy(np.zeros(0, np.result_type(*tensors))).dtype
                out = [F.pad(t.to(dtype), ((W - t.shape[3]) // 2, (W - t.shape[3] + 1) // 2,
                                         (H - t.shape[2]) // 2, (H - t.shape[2] + 1) // 2)) for t in ts]
                return torch.cat(out, dim=1).numpy()
            """,
    },
    "inception_cost": {
        "branch by branch": """
            def inception_cost(in_channels, size, ch1x1, ch3x3, ch5x5, ch3x3red=None, ch5x5red=None, pool_proj=None):
                H, W = (size, size) if isinstance(size, int) else size
                if H <= 0 or W <= 0:
                    raise ValueError("size")
                for c in (in_channels, ch1x1, ch3x3, ch5x5, ch3x3red, ch5x5red, pool_proj):
                    if c is not None and c < 0:
                        raise ValueError("negative channels")
                layers = [(in_channels, ch1x1, 1)]  # (in, out, k) of every convolution
                if ch3x3:
                    layers += [(in_channels, ch3x3, 3)] if ch3x3red is None else [(in_channels, ch3x3red, 1), (ch3x3red, ch3x3, 3)]
                if ch5x5:
                    layers += [(in_channels, ch5x5, 5)] if ch5x5red is None else [(in_channels, ch5x5red, 1), (ch5x5red, ch5x5, 5)]
                if pool_proj is not None:
                    layers.append((in_channels, pool_proj, 1))
                out = ch1x1 + ch3x3 + ch5x5 + (in_channels if pool_proj is None else pool_proj)
                return out, sum(H * W * a * b * k * k for a, b, k in layers)
            """,
        "per output value": """
            def inception_cost(in_channels, size, ch1x1, ch3x3, ch5x5, ch3x3red=None, ch5x5red=None, pool_proj=None):
                h, w = (size, size) if isinstance(size, int) else tuple(size)
                if min(h, w) < 1 or min(c for c in (in_channels, ch1x1, ch3x3, ch5x5, ch3x3red, ch5x5red, pool_proj, 0)
                                         if c is not None) < 0:
                    raise ValueError("bad arguments")
                per_pixel = ch1x1 * in_channels  # multiplications for one output position
                for red, out, k in ((ch3x3red, ch3x3, 3), (ch5x5red, ch5x5, 5)):
                    if out > 0:
                        per_pixel += out * in_channels * k ** 2 if red is None else red * in_channels + out * red * k ** 2
                per_pixel += 0 if pool_proj is None else pool_proj * in_channels
                return ch1x1 + ch3x3 + ch5x5 + (pool_proj if pool_proj is not None else in_channels), h * w * per_pixel
            """,
    },
    "basic_block_forward": {
        "F.conv2d and F.batch_norm": """
            def basic_block_forward(x, params, stride=1, eps=1e-5):
                def bn(z, p):
                    return F.batch_norm(z, params[p + ".running_mean"], params[p + ".running_var"],
                                        params[p + ".weight"], params[p + ".bias"], training=False, eps=eps)
                y = torch.relu(bn(F.conv2d(x, params["conv1.weight"], stride=stride, padding=1), "bn1"))
                y = bn(F.conv2d(y, params["conv2.weight"], padding=1), "bn2")
                if "downsample.0.weight" in params:
                    x = bn(F.conv2d(x, params["downsample.0.weight"], stride=stride), "downsample.1")
                elif x.shape != y.shape:
                    raise ValueError("a projection shortcut is needed")
                return torch.relu(y + x)
            """,
        "nn layers loaded from the dict": """
            def basic_block_forward(x, params, stride=1, eps=1e-5):
                planes, inplanes = params["conv1.weight"].shape[:2]
                def layers(prefix, conv, s, pad):
                    c = nn.Conv2d(conv.shape[1], conv.shape[0], conv.shape[2], stride=s, padding=pad, bias=False)
                    b = nn.BatchNorm2d(conv.shape[0], eps=eps)
                    c.weight.data = conv
                    for name in ("weight", "bias", "running_mean", "running_var"):
                        getattr(b, name).data = params[f"{prefix}.{name}"]
                    return nn.Sequential(c, b).double().eval()
                f1 = layers("bn1", params["conv1.weight"], stride, 1)
                f2 = layers("bn2", params["conv2.weight"], 1, 1)
                with torch.no_grad():
                    out = f2(torch.relu(f1(x)))
                    if "downsample.0.weight" in params:
                        shortcut = layers("downsample.1", params["downsample.0.weight"], stride, 0)(x)
                    else:
                        if stride != 1 or inplanes != planes:
                            raise ValueError("needs a projection")
                        shortcut = x
                    return torch.relu(out + shortcut)
            """,
    },
    "highway_forward": {
        "numpy": """
            def highway_forward(x, weight_h, bias_h, weight_t, bias_t):
                n = x.shape[-1]
                if weight_h.shape != (n, n) or weight_t.shape != (n, n) or bias_h.shape != (n,) or bias_t.shape != (n,):
                    raise ValueError("the highway layer must keep the width")
                H = np.maximum(0, np.einsum('nf,gf->ng', x, weight_h) + bias_h)
                T = 0.5 * (1 + np.tanh(0.5 * (x @ weight_t.T + bias_t)))  # the logistic sigmoid
                return x + T * (H - x)
            """,
        "torch": """
            def highway_forward(x, weight_h, bias_h, weight_t, bias_t):
                F_ = x.shape[1]
                for a, s in [(weight_h, (F_, F_)), (weight_t, (F_, F_)), (bias_h, (F_,)), (bias_t, (F_,))]:
                    if a.shape != s:
                        raise ValueError("shape")
                t = torch.from_numpy
                h = F.relu(F.linear(t(x), t(weight_h), t(bias_h)))
                g = torch.sigmoid(F.linear(t(x), t(weight_t), t(bias_t)))
                return torch.lerp(t(x), h, g).numpy()
            """,
    },
    "center_crop": {
        "slicing": """
            def center_crop(x, size):
                h, w = (size, size) if isinstance(size, int) else size
                H, W = x.shape[-2:]
                if h < 1 or w < 1 or h > H or w > W:
                    raise ValueError("size does not fit")
                i, j = (H - h) // 2, (W - w) // 2
                return x[..., i:i + h, j:j + w]
            """,
        "torch.narrow": """
            def center_crop(x, size):
                h, w = (size, size) if isinstance(size, int) else tuple(size)
                if not (0 < h <= x.shape[2] and 0 < w <= x.shape[3]):
                    raise ValueError("bad size")
                t = torch.from_numpy(x)
                t = t.narrow(2, (x.shape[2] - h) // 2, h).narrow(3, (x.shape[3] - w) // 2, w)
                return t.contiguous().numpy()
            """,
    },
    "batch_norm_train": {
        "numpy": """
            def batch_norm_train(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
                if x.ndim == 2:
                    z = x
                elif x.ndim == 4:
                    z = x.transpose(0, 2, 3, 1).reshape(-1, x.shape[1])  # (N*H*W, C)
                else:
                    raise ValueError("x must be 2D or 4D")
                C = z.shape[1]
                if any(a.shape != (C,) for a in (gamma, beta, running_mean, running_var)) or len(z) < 2:
                    raise ValueError("bad shapes")
                mu, var = z.mean(0), z.var(0)
                out = (z - mu) / np.sqrt(var + eps) * gamma + beta
                if x.ndim == 4:
                    N, _, H, W = x.shape
                    out = out.reshape(N, H, W, C).transpose(0, 3, 1, 2)
                m = len(z)
                return (out, running_mean + momentum * (mu - running_mean),
                        running_var + momentum * (var * m / (m - 1) - running_var))
            """,
        "torch.var_mean": """
            def batch_norm_train(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
                if x.ndim not in (2, 4) or x.size // x.shape[1] < 2:
                    raise ValueError("bad x")
                if not all(a.shape == (x.shape[1],) for a in (gamma, beta, running_mean, running_var)):
                    raise ValueError("bad parameters")
                t = torch.from_numpy
                dims = [0] if x.ndim == 2 else [0, 2, 3]
                view = (1, -1) + (1,) * (x.ndim - 2)
                var, mean = torch.var_mean(t(x), dim=dims, correction=0)
                y = (t(x) - mean.view(view)) * torch.rsqrt(var.view(view) + eps) * t(gamma).view(var.view(view).shape) \\
                    + t(beta).view(view)
                unbiased = torch.var(t(x), dim=dims, correction=1)
                new_mean = (1 - momentum) * t(running_mean) + momentum * mean
                new_var = (1 - momentum) * t(running_var) + momentum * unbiased
                return y.numpy(), new_mean.numpy(), new_var.numpy()
            """,
    },
    "saliency_map": {
        "one image at a time, .backward()": """
            def saliency_map(model, inputs, target):
                if inputs.dim() != 4:
                    raise ValueError("inputs must be a batch (N, C, H, W)")
                n = inputs.shape[0]
                targets = [int(target)] * n if isinstance(target, int) else [int(t) for t in target]
                if len(targets) != n:
                    raise ValueError("one class per image")
                maps = []
                for i in range(n):
                    x = inputs[i:i + 1].detach().clone()
                    x.requires_grad = True
                    scores = model(x)
                    if not 0 <= targets[i] < scores.shape[1]:
                        raise ValueError("no such class")
                    scores[0, targets[i]].backward()
                    maps.append(x.grad[0].abs().max(dim=0).values)
                return torch.stack(maps)
            """,
        "one backward pass with one-hot weights": """
            def saliency_map(model, inputs, target):
                if inputs.ndim != 4:
                    raise ValueError("4-D inputs please")
                x = inputs.detach().requires_grad_()
                scores = model(x)
                t = torch.as_tensor(target)
                t = t.repeat(len(x)) if t.ndim == 0 else t
                if t.shape != (len(x),) or (t < 0).any() or (t >= scores.shape[1]).any():
                    raise ValueError("bad target")
                onehot = F.one_hot(t.long(), scores.shape[1]).to(scores.dtype)
                (g,) = torch.autograd.grad(scores, x, grad_outputs=onehot)
                return torch.amax(torch.abs(g), dim=1)
            """,
    },
    "class_activation_map": {
        "loops": """
            def class_activation_map(features, fc_weight, target, normalize=False):
                if features.ndim != 4 or fc_weight.ndim != 2 or fc_weight.shape[1] != features.shape[1]:
                    raise ValueError("shapes")
                N, K, h, w = features.shape
                targets = np.full(N, target) if np.isscalar(target) or np.ndim(target) == 0 else np.asarray(target)
                if targets.shape != (N,) or targets.min() < 0 or targets.max() >= fc_weight.shape[0]:
                    raise ValueError("target")
                out = np.zeros((N, h, w))
                for n in range(N):
                    for k in range(K):
                        out[n] += fc_weight[targets[n], k] * features[n, k]
                    if normalize:
                        lo, hi = out[n].min(), out[n].max()
                        out[n] = (out[n] - lo) / (hi - lo) if hi > lo else 0.0
                return out
            """,
        "a 1 x 1 convolution": """
            def class_activation_map(features, fc_weight, target, normalize=False):
                if features.ndim != 4 or fc_weight.shape[1:] != features.shape[1:2]:
                    raise ValueError("shapes")
                t = torch.as_tensor(target).long().reshape(-1).expand(len(features)) \\
                    if np.ndim(target) == 0 else torch.as_tensor(target).long()
                if t.shape != (len(features),) or not (0 <= int(t.min()) and int(t.max()) < len(fc_weight)):
                    raise ValueError("target")
                maps = F.conv2d(torch.from_numpy(features), torch.from_numpy(fc_weight)[:, :, None, None])
                cam = maps[torch.arange(len(t)), t]
                if normalize:
                    lo = cam.flatten(1).min(1).values[:, None, None]
                    span = cam.flatten(1).max(1).values[:, None, None] - lo
                    cam = torch.where(span > 0, (cam - lo) / span.clamp_min(1e-300), torch.zeros_like(cam))
                return cam.numpy()
            """,
    },
    "grad_cam": {
        "loops": """
            def grad_cam(activations, gradients, relu=True):
                if activations.ndim != 4 or activations.shape != gradients.shape:
                    raise ValueError("shapes")
                N, K, h, w = activations.shape
                weights = np.zeros((N, K))
                cam = np.zeros((N, h, w))
                for n in range(N):
                    for k in range(K):
                        weights[n, k] = gradients[n, k].sum() / (h * w)
                        cam[n] += weights[n, k] * activations[n, k]
                return weights, np.where(cam > 0, cam, 0.0) if relu else cam
            """,
        "torch": """
            def grad_cam(activations, gradients, relu=True):
                if activations.ndim != 4 or gradients.shape != activations.shape:
                    raise ValueError("shapes")
                A, G = torch.from_numpy(activations), torch.from_numpy(gradients)
                alpha = F.adaptive_avg_pool2d(G, 1)
                cam = (alpha * A).sum(dim=1)
                return alpha.flatten(1).numpy(), (F.relu(cam) if relu else cam).numpy()
            """,
    },
    "occlusion_map": {
        "one window at a time": """
            def occlusion_map(model, inputs, target, window, stride=1, baseline=0.0):
                if inputs.ndim != 4:
                    raise ValueError("batch")
                kh, kw = (window, window) if isinstance(window, int) else window
                sh, sw = (stride, stride) if isinstance(stride, int) else stride
                N, C, H, W = inputs.shape
                if kh < 1 or kw < 1 or kh > H or kw > W or sh < 1 or sw < 1 or sh > kh or sw > kw:
                    raise ValueError("window or stride")
                t = torch.as_tensor(target).long()
                t = t.repeat(N) if t.ndim == 0 else t
                with torch.no_grad():
                    base = model(inputs)[torch.arange(N), t]
                    sums = torch.zeros(N, H, W, dtype=inputs.dtype)
                    hits = torch.zeros(H, W, dtype=inputs.dtype)
                    i = 0
                    while True:  # slide until the window has reached the bottom border
                        j = 0
                        while True:
                            x = inputs.clone()
                            x[..., i:i + kh, j:j + kw] = baseline
                            sums[:, i:i + kh, j:j + kw] += (base - model(x)[torch.arange(N), t])[:, None, None]
                            hits[i:i + kh, j:j + kw] += 1
                            if j + kw >= W:
                                break
                            j += sw
                        if i + kh >= H:
                            break
                        i += sh
                return sums / hits
            """,
        "all occluded copies in one batch": """
            def occlusion_map(model, inputs, target, window, stride=1, baseline=0.0):
                if inputs.dim() != 4:
                    raise ValueError("batch")
                N, C, H, W = inputs.shape
                kh, kw = window if isinstance(window, tuple) else (window, window)
                sh, sw = stride if isinstance(stride, tuple) else (stride, stride)
                if not (0 < kh <= H and 0 < kw <= W and 0 < sh <= kh and 0 < sw <= kw):
                    raise ValueError("window or stride")
                tops, lefts = range(0, H - kh + sh, sh), range(0, W - kw + sw, sw)  # the last may overhang
                masks = torch.zeros(len(tops) * len(lefts), H, W, dtype=torch.bool)
                for p, (a, b) in enumerate([(a, b) for a in tops for b in lefts]):
                    masks[p, a:a + kh, b:b + kw] = True
                P = len(masks)
                x = inputs.unsqueeze(0).expand(P, N, C, H, W)
                occluded = torch.where(masks[:, None, None], torch.tensor(baseline, dtype=inputs.dtype), x)
                t = torch.as_tensor(target).long().expand(N)
                with torch.no_grad():
                    scores = model(occluded.reshape(P * N, C, H, W)).reshape(P, N, -1)[:, torch.arange(N), t]
                    drops = model(inputs)[torch.arange(N), t] - scores  # (P, N)
                m = masks.to(inputs.dtype)
                total = torch.einsum("pn,phw->nhw", drops, m)
                count = m.sum(0)
                return torch.where(count > 0, total / count.clamp(min=1), torch.zeros_like(total))
            """,
    },
    "lime_fit": {
        "augmented least squares": """
            def lime_fit(perturbations, scores, distances, kernel_width=0.25, alpha=1.0):
                Z = np.asarray(perturbations, float)
                if Z.ndim != 2 or scores.shape != (len(Z),) or distances.shape != (len(Z),):
                    raise ValueError("shapes")
                if kernel_width <= 0 or alpha < 0:
                    raise ValueError("parameters")
                root = np.exp(-distances ** 2 / kernel_width ** 2) ** 0.25  # sqrt of lime's weight
                M = Z.shape[1]
                A = np.vstack([np.hstack([np.ones((len(Z), 1)), Z]) * root[:, None],
                               np.hstack([np.zeros((M, 1)), np.sqrt(alpha) * np.eye(M)])])
                b = np.concatenate([scores * root, np.zeros(M)])
                theta = np.linalg.lstsq(A, b, rcond=None)[0]
                return theta[1:], float(theta[0])
            """,
        "normal equations with an unpenalised intercept": """
            def lime_fit(perturbations, scores, distances, kernel_width=0.25, alpha=1.0):
                if perturbations.ndim != 2 or len(scores) != len(perturbations) or scores.ndim != 1 \\
                        or distances.shape != scores.shape:
                    raise ValueError("shapes")
                if not (kernel_width > 0 and alpha >= 0):
                    raise ValueError("parameters")
                w = np.sqrt(np.exp(-(distances / kernel_width) ** 2))
                X = np.column_stack([np.ones(len(scores)), perturbations])
                penalty = alpha * np.eye(X.shape[1])
                penalty[0, 0] = 0.0
                theta = np.linalg.solve(X.T @ (w[:, None] * X) + penalty, X.T @ (w * scores))
                return theta[1:], float(theta[0])
            """,
    },
    "pointing_game": {
        "loops over the object's pixels": """
            def pointing_game(maps, masks, tolerance=0):
                if maps.ndim != 3 or maps.shape != masks.shape or tolerance < 0:
                    raise ValueError("bad input")
                out = []
                for m, mask in zip(maps, masks):
                    if not mask.any():
                        raise ValueError("empty mask")
                    k = int(np.argmax(m))
                    i, j = k // m.shape[1], k % m.shape[1]
                    best = min((r - i) ** 2 + (c - j) ** 2 for r, c in zip(*np.nonzero(mask)))
                    out.append(best ** 0.5 <= tolerance)
                return np.array(out, dtype=bool)
            """,
        "a distance grid": """
            def pointing_game(maps, masks, tolerance=0):
                if maps.ndim != 3 or masks.shape != maps.shape:
                    raise ValueError("shapes")
                if tolerance < 0 or not masks.reshape(len(masks), -1).any(axis=1).all():
                    raise ValueError("tolerance or empty mask")
                N, H, W = maps.shape
                rows, cols = np.indices((H, W))
                flat = maps.reshape(N, -1).argmax(axis=1)
                i, j = np.unravel_index(flat, (H, W))
                d2 = (rows[None] - i[:, None, None]) ** 2 + (cols[None] - j[:, None, None]) ** 2
                d2 = np.where(masks.astype(bool), d2, np.inf)
                return d2.reshape(N, -1).min(axis=1) <= tolerance ** 2
            """,
    },
    "deletion_curve": {
        "one step at a time": """
            import math
            def deletion_curve(model, inputs, target, maps, pixels_per_step=1, baseline=0.0):
                if inputs.ndim != 4:
                    raise ValueError("batch")
                N, C, H, W = inputs.shape
                if maps.shape != (N, H, W) or pixels_per_step < 1:
                    raise ValueError("maps or step")
                t = torch.as_tensor(target).long().expand(N)
                order = np.argsort(-maps.reshape(N, -1).numpy(), axis=1, kind="stable")
                n = math.ceil(H * W / pixels_per_step)
                x = inputs.clone()
                points = []
                with torch.no_grad():
                    for k in range(n + 1):
                        for i in range(N):
                            for pixel in order[i, max(k - 1, 0) * pixels_per_step:k * pixels_per_step]:
                                x[i, :, pixel // W, pixel % W] = baseline
                        points.append(torch.softmax(model(x), dim=1)[torch.arange(N), t])
                curve = torch.stack(points, dim=1)
                auc = (curve[:, 1:] + curve[:, :-1]).sum(dim=1) / (2 * n)
                return curve, auc
            """,
        "all steps in one batch": """
            def deletion_curve(model, inputs, target, maps, pixels_per_step=1, baseline=0.0):
                if inputs.dim() != 4 or tuple(maps.shape) != (inputs.shape[0],) + tuple(inputs.shape[2:]):
                    raise ValueError("shapes")
                if pixels_per_step < 1:
                    raise ValueError("pixels_per_step")
                N, C, H, W = inputs.shape
                n = -(-H * W // pixels_per_step)
                rank = torch.argsort(torch.argsort(-maps.reshape(N, -1), dim=1, stable=True), dim=1)
                removed = rank[None] < (torch.arange(n + 1) * pixels_per_step)[:, None, None]  # (n+1, N, HW)
                x = torch.where(removed[:, :, None], torch.tensor(baseline, dtype=inputs.dtype),
                                inputs.reshape(1, N, C, H * W))
                with torch.no_grad():
                    p = torch.softmax(model(x.reshape(-1, C, H, W)), dim=1).reshape(n + 1, N, -1)
                curve = p[:, torch.arange(N), torch.as_tensor(target).long().expand(N)].T
                return curve, torch.trapezoid(curve, dx=1.0 / n, dim=1)
            """,
    },
    "box_iou": {
        "loops over the pairs": """
            def box_iou(boxes1, boxes2):
                if boxes1.dim() != 2 or boxes1.shape[1] != 4 or boxes2.dim() != 2 or boxes2.shape[1] != 4:
                    raise ValueError("boxes must be (N, 4)")
                out = torch.zeros(len(boxes1), len(boxes2), dtype=boxes1.dtype)
                for i, (a1, b1, c1, d1) in enumerate(boxes1.tolist()):
                    for j, (a2, b2, c2, d2) in enumerate(boxes2.tolist()):
                        w = max(0.0, min(c1, c2) - max(a1, a2))
                        h = max(0.0, min(d1, d2) - max(b1, b2))
                        union = (c1 - a1) * (d1 - b1) + (c2 - a2) * (d2 - b2) - w * h
                        out[i, j] = w * h / union
                return out
            """,
        "numpy broadcasting": """
            def box_iou(boxes1, boxes2):
                a, b = boxes1.numpy(), boxes2.numpy()
                if a.ndim != 2 or b.ndim != 2 or a.shape[1] != 4 or b.shape[1] != 4:
                    raise ValueError("shapes")
                w = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
                h = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
                area = lambda z: (z[:, 2] - z[:, 0]) * (z[:, 3] - z[:, 1])
                return torch.from_numpy(w * h / (area(a)[:, None] + area(b)[None, :] - w * h))
            """,
    },
    "decode_boxes": {
        "one box at a time": """
            import math
            def decode_boxes(rel_codes, boxes, weights=(1.0, 1.0, 1.0, 1.0), bbox_xform_clip=math.log(1000.0 / 16)):
                if len(weights) != 4 or boxes.ndim != 2 or boxes.shape[1] != 4 or rel_codes.shape != boxes.shape:
                    raise ValueError("bad input")
                out = torch.empty_like(rel_codes)
                for n, ((x1, y1, x2, y2), (dx, dy, dw, dh)) in enumerate(zip(boxes.tolist(), rel_codes.tolist())):
                    w, h = x2 - x1, y2 - y1
                    cx = x1 + w / 2 + dx / weights[0] * w
                    cy = y1 + h / 2 + dy / weights[1] * h
                    w = w * math.exp(min(dw / weights[2], bbox_xform_clip))
                    h = h * math.exp(min(dh / weights[3], bbox_xform_clip))
                    out[n] = torch.tensor([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dtype=out.dtype)
                return out
            """,
        "centres and sizes as tensors": """
            import math
            def decode_boxes(rel_codes, boxes, weights=(1.0, 1.0, 1.0, 1.0), bbox_xform_clip=math.log(1000.0 / 16)):
                if tuple(boxes.shape) != tuple(rel_codes.shape) or boxes.shape[-1] != 4 or boxes.dim() != 2:
                    raise ValueError("shapes")
                w = torch.as_tensor([float(v) for v in weights], dtype=rel_codes.dtype)
                if w.shape != (4,):
                    raise ValueError("weights")
                d = rel_codes / w
                size = boxes[:, 2:] - boxes[:, :2]
                centre = boxes[:, :2] + size / 2 + d[:, :2] * size
                new_size = size * torch.exp(torch.clamp(d[:, 2:], max=bbox_xform_clip))
                return torch.cat([centre - new_size / 2, centre + new_size / 2], dim=1)
            """,
    },
    "nms": {
        "a list of survivors": """
            def nms(boxes, scores, iou_threshold):
                if boxes.ndim != 2 or boxes.shape[1] != 4 or scores.shape != (boxes.shape[0],):
                    raise ValueError("shapes")
                b = boxes.tolist()
                def iou(p, q):
                    w = max(0.0, min(p[2], q[2]) - max(p[0], q[0]))
                    h = max(0.0, min(p[3], q[3]) - max(p[1], q[1]))
                    return w * h / ((p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - w * h)
                remaining = sorted(range(len(b)), key=lambda i: -float(scores[i]))
                keep = []
                while remaining:
                    best = remaining.pop(0)
                    keep.append(best)
                    remaining = [i for i in remaining if iou(b[best], b[i]) <= iou_threshold]
                return torch.tensor(keep, dtype=torch.long)
            """,
        "an IoU matrix": """
            def nms(boxes, scores, iou_threshold):
                if boxes.dim() != 2 or boxes.size(1) != 4 or scores.dim() != 1 or scores.size(0) != boxes.size(0):
                    raise ValueError("shapes")
                lt = torch.max(boxes[:, None, :2], boxes[None, :, :2])
                rb = torch.min(boxes[:, None, 2:], boxes[None, :, 2:])
                inter = (rb - lt).clamp(min=0).prod(dim=2)
                area = (boxes[:, 2:] - boxes[:, :2]).prod(dim=1)
                iou = inter / (area[:, None] + area[None, :] - inter)
                order = scores.argsort(descending=True)
                alive = torch.ones(len(boxes), dtype=torch.bool)
                keep = []
                for i in order:
                    if alive[i]:
                        keep.append(int(i))
                        alive &= ~(iou[i] > iou_threshold)
                return torch.as_tensor(keep, dtype=torch.int64)
            """,
    },
    "roi_align_single": {
        "loops over the bins and points": """
            def roi_align_single(features, box, output_size, spatial_scale=1.0, sampling_ratio=2, aligned=False):
                if features.dim() != 3 or box.shape != (4,):
                    raise ValueError("features (C, H, W) and a box of 4 numbers")
                ph, pw = (output_size, output_size) if isinstance(output_size, int) else output_size
                if ph < 1 or pw < 1 or sampling_ratio < 1:
                    raise ValueError("sizes")
                C, H, W = features.shape
                off = 0.5 if aligned else 0.0
                x1, y1, x2, y2 = [float(v) * spatial_scale - off for v in box]
                rw, rh = x2 - x1, y2 - y1
                if not aligned:
                    rw, rh = max(rw, 1.0), max(rh, 1.0)
                bw, bh, g = rw / pw, rh / ph, sampling_ratio
                def sample(y, x):
                    if y < -1.0 or y > H or x < -1.0 or x > W:
                        return torch.zeros(C, dtype=features.dtype)
                    y, x = max(y, 0.0), max(x, 0.0)
                    y0, x0 = int(y), int(x)
                    if y0 >= H - 1:
                        y0 = y1_ = H - 1
                        y = float(y0)
                    else:
                        y1_ = y0 + 1
                    if x0 >= W - 1:
                        x0 = x1_ = W - 1
                        x = float(x0)
                    else:
                        x1_ = x0 + 1
                    ly, lx = y - y0, x - x0
                    return ((1 - ly) * (1 - lx) * features[:, y0, x0] + (1 - ly) * lx * features[:, y0, x1_]
                            + ly * (1 - lx) * features[:, y1_, x0] + ly * lx * features[:, y1_, x1_])
                out = torch.zeros(C, ph, pw, dtype=features.dtype)
                for i in range(ph):
                    for j in range(pw):
                        total = torch.zeros(C, dtype=features.dtype)
                        for a in range(g):
                            for b in range(g):
                                total += sample(y1 + i * bh + (a + 0.5) * bh / g, x1 + j * bw + (b + 0.5) * bw / g)
                        out[:, i, j] = total / (g * g)
                return out
            """,
        "interpolation as matrices": """
            def roi_align_single(features, box, output_size, spatial_scale=1.0, sampling_ratio=2, aligned=False):
                if features.ndim != 3 or box.numel() != 4 or box.ndim != 1:
                    raise ValueError("bad features or box")
                ph, pw = (output_size,) * 2 if isinstance(output_size, int) else tuple(output_size)
                if min(ph, pw, sampling_ratio) < 1:
                    raise ValueError("bad sizes")
                C, H, W = features.shape
                g = sampling_ratio
                start = box[:2].double() * spatial_scale - (0.5 if aligned else 0.0)
                size = box[2:].double() * spatial_scale - (0.5 if aligned else 0.0) - start
                if not aligned:
                    size = size.clamp(min=1.0)
                def weights(first, length, bins, n):
                    # (bins * g, n): the interpolation weights of each sampling point on the n pixels
                    c = first + (torch.arange(bins * g, dtype=torch.float64) + 0.5) * length / (bins * g)
                    inside = ((c >= -1) & (c <= n)).double()
                    c = c.clamp(0, n - 1)
                    low = c.floor().clamp(max=n - 1).long()
                    frac = c - low
                    m = torch.zeros(bins * g, n, dtype=torch.float64)
                    m[torch.arange(bins * g), low] += (1 - frac) * inside
                    m[torch.arange(bins * g), (low + 1).clamp(max=n - 1)] += frac * inside
                    return m.reshape(bins, g, n).mean(dim=1)  # (bins, n): the average over a bin's points
                wy = weights(start[1], size[1], ph, H)
                wx = weights(start[0], size[0], pw, W)
                return torch.einsum("ph,chw,qw->cpq", wy, features.double(), wx).to(features.dtype)
            """,
    },
    "grid_anchors": {
        "loops": """
            import math
            def grid_anchors(scales, aspect_ratios, grid_size, stride):
                H, W = grid_size
                sy, sx = (stride, stride) if isinstance(stride, int) else stride
                if not scales or not aspect_ratios or min(scales) <= 0 or min(aspect_ratios) <= 0 or \\
                        min(H, W, sy, sx) < 1:
                    raise ValueError("bad arguments")
                cell = []
                for r in aspect_ratios:
                    root = torch.sqrt(torch.tensor(r, dtype=torch.float32))
                    for s in scales:
                        s = torch.tensor(s, dtype=torch.float32)
                        w, h = s / root, s * root
                        cell.append(torch.round(torch.stack([-w, -h, w, h]) / 2))
                rows = []
                for i in range(H):
                    for j in range(W):
                        for a in cell:
                            rows.append(a + torch.tensor([j * sx, i * sy, j * sx, i * sy], dtype=torch.float32))
                return torch.stack(rows)
            """,
        "broadcasting": """
            def grid_anchors(scales, aspect_ratios, grid_size, stride):
                s = torch.tensor(list(scales), dtype=torch.float32)
                r = torch.tensor(list(aspect_ratios), dtype=torch.float32)
                stride = (stride, stride) if isinstance(stride, int) else tuple(stride)
                if s.numel() == 0 or r.numel() == 0 or bool((s <= 0).any() | (r <= 0).any()) or \\
                        min(*grid_size, *stride) < 1:
                    raise ValueError("bad arguments")
                h = (r.sqrt()[:, None] * s).flatten()
                w = ((1 / r.sqrt())[:, None] * s).flatten()
                cell = (torch.stack([-w, -h, w, h], dim=1) / 2).round()  # (k, 4)
                ys = torch.arange(grid_size[0], dtype=torch.float32) * stride[0]
                xs = torch.arange(grid_size[1], dtype=torch.float32) * stride[1]
                shift = torch.stack([xs[None, :].expand(len(ys), -1), ys[:, None].expand(-1, len(xs))], dim=-1)
                shift = shift.reshape(-1, 2).repeat(1, 2)  # (H * W, 4): x, y, x, y
                return (shift[:, None] + cell[None]).reshape(-1, 4)
            """,
    },
    "mask_loss": {
        "binary_cross_entropy_with_logits": """
            def mask_loss(mask_logits, labels, mask_targets):
                if mask_logits.ndim != 4 or labels.shape != mask_logits.shape[:1]:
                    raise ValueError("shapes")
                if mask_targets.shape != (mask_logits.shape[0], *mask_logits.shape[2:]):
                    raise ValueError("targets")
                if labels.numel() == 0:
                    return mask_logits.sum() * 0
                if labels.min() < 0 or labels.max() >= mask_logits.shape[1]:
                    raise ValueError("labels")
                chosen = mask_logits[torch.arange(len(labels)), labels]
                return F.binary_cross_entropy_with_logits(chosen, mask_targets.to(chosen.dtype))
            """,
        "a loop over the regions, log-sigmoid": """
            def mask_loss(mask_logits, labels, mask_targets):
                R, K, M, M2 = mask_logits.shape  # a ValueError unless 4-dimensional
                if tuple(labels.shape) != (R,) or tuple(mask_targets.shape) != (R, M, M2):
                    raise ValueError("shapes")
                total = mask_logits.sum() * 0
                for r in range(R):
                    k = int(labels[r])
                    if not 0 <= k < K:
                        raise ValueError("label out of range")
                    x, t = mask_logits[r, k], mask_targets[r].to(mask_logits.dtype)
                    total = total - (t * F.logsigmoid(x) + (1 - t) * F.logsigmoid(-x)).sum()
                return total / max(R * M * M2, 1)
            """,
    },
    "average_precision": {
        "envelope and searchsorted": """
            def average_precision(scores, is_true_positive, num_gt):
                scores, tp = np.asarray(scores, dtype=float), np.asarray(is_true_positive, dtype=bool)
                if scores.ndim != 1 or tp.shape != scores.shape or num_gt < 1 or tp.sum() > num_gt:
                    raise ValueError("bad input")
                if scores.size == 0:
                    return 0.0
                tp = tp[np.argsort(-scores, kind="stable")]
                hits = np.cumsum(tp)
                recall = hits / num_gt
                precision = hits / np.arange(1, tp.size + 1)
                for i in range(tp.size - 2, -1, -1):
                    precision[i] = max(precision[i], precision[i + 1])
                q = np.zeros(101)
                idx = np.searchsorted(recall, np.linspace(0, 1, 101), side="left")
                q[idx < tp.size] = precision[idx[idx < tp.size]]
                return float(q.mean())
            """,
        "a loop over the recall points": """
            def average_precision(scores, is_true_positive, num_gt):
                if np.ndim(scores) != 1 or np.shape(is_true_positive) != np.shape(scores):
                    raise ValueError("shapes")
                if num_gt < 1 or np.sum(is_true_positive) > num_gt:
                    raise ValueError("num_gt")
                ranked = sorted(zip(scores, is_true_positive), key=lambda pair: -pair[0])
                curve, hits = [], 0
                for k, (_, hit) in enumerate(ranked, start=1):
                    hits += bool(hit)
                    curve.append((hits / num_gt, hits / k))
                total = 0.0
                for r in np.linspace(0, 1, 101):
                    total += max((p for rec, p in curve if rec >= r), default=0.0)
                return total / 101
            """,
    },
}

HONEST_CASES = [(exercise, style) for exercise in EXERCISES for style in HONEST.get(exercise, {})]


def test_every_exercise_has_two_honest_answers():
    assert set(HONEST) == set(EXERCISES)
    for name, styles in HONEST.items():
        assert len(styles) >= 2, name


@pytest.mark.parametrize("exercise,style", HONEST_CASES, ids=[f"{e}-{s}" for e, s in HONEST_CASES])
def test_honest_answer_gets_full_marks(exercise, style):
    result = run_exercise(exercise, student_function(exercise, HONEST[exercise][style]))
    failing = {t.name: t.message for t in result.tests if not t.passed}
    assert not failing, failing
    assert result.points == result.max_points > 0


# ----------------------------------------------------------------------------------------
# The registry against PyTorch's operator table, the guard's bookkeeping, the pages
# ----------------------------------------------------------------------------------------

def _overloads() -> dict[str, list[str]]:
    import torchvision  # noqa: F401 - registers torchvision's operators

    found: dict[str, list[str]] = {}
    for full in torch._C._dispatch_get_all_op_names():
        found.setdefault(full.split(".")[0].replace("::", "."), []).append(full)
    return found


def _arrives(overloads: list[str]) -> bool:
    """Whether some overload reaches the dispatch mode as itself (is not only a composite of
    other operators, decomposed before the mode sees it)."""
    return not all(torch._C._dispatch_has_kernel_for_dispatch_key(o, "CompositeImplicitAutograd")
                   for o in overloads)


def test_every_forbidden_operator_exists_and_reaches_the_dispatch_mode():
    table = _overloads()
    for exercise in EXERCISES.values():
        assert len(set(exercise.forbidden_ops)) == len(exercise.forbidden_ops), exercise.name
        for op in exercise.forbidden_ops:
            assert op in table, f"{exercise.name}: PyTorch has no operator {op}"
            assert _arrives(table[op]), f"{exercise.name}: {op} is a composite: it never reaches the dispatch mode"
    for _, _, group in OP_GROUPS:
        assert describe_op(group[0]).startswith(f"the PyTorch operator {group[0]} (")


def test_every_convolution_and_max_pooling_operator_of_pytorch_is_listed():
    """A new convolution, max-pooling or batch-norm operator in a later PyTorch fails this
    test until it is added to the registry (or to the exceptions below, which compute none)."""
    not_computing = re.compile(r"prepack|unpack|reorder|convert|_weight$|dilation$|groups$|padding$|stride$|"
                               r"transpose$|output_padding$|_backward$|_backward_|double_backward|conv_tbc_backward")
    table = _overloads()
    for op, overloads in table.items():
        name = op.split(".", 1)[1]
        if not _arrives(overloads) or not_computing.search(name):
            continue
        if re.search(r"conv(olution)?(\d|_|$)|qconv", name) and "convert" not in name:
            assert op in CONVOLUTION_OPS, f"{op} computes a convolution but is not in CONVOLUTION_OPS"
        if re.search(r"max_pool|roi_pool", name):
            assert op in MAX_POOL_OPS, f"{op} computes a max pooling but is not in MAX_POOL_OPS"
        if "batch_norm" in name:
            assert op in BATCH_NORM_OPS, f"{op} computes a batch norm but is not in BATCH_NORM_OPS"


def test_composite_routes_reach_the_listed_operators():
    """aten.conv1d/2d/3d, conv_transpose and _convolution_mode are not listed: they arrive as
    aten.convolution, which is."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Record(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.seen = set()

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.seen.add(func._schema.name.replace("::", "."))
            return func(*args, **(kwargs or {}))

    x, w = torch.randn(1, 1, 2, 8), torch.randn(1, 1, 2, 3)
    for call in [lambda: torch.ops.aten.conv2d(x, w), lambda: torch.conv_transpose2d(x, w),
                 lambda: torch.ops.aten._convolution_mode(x, w, None, [1, 1], "same", [1, 1], 1),
                 lambda: torch.nn.functional.conv1d(x[0], w[0])]:
        with Record() as record:
            call()
        assert record.seen & set(CONVOLUTION_OPS) == {"aten.convolution"}, record.seen


def test_the_guard_restores_everything_after_a_call():
    import scipy.signal

    import lecturepkg.conv as course

    before = (course.conv1d.__code__, np.correlate._implementation.__code__, np._core.multiarray.correlate2,
              scipy.signal._sigtools._correlateND, threading.Thread._bootstrap_inner,
              torch._C._DisableTorchDispatch, torch._C._len_torch_dispatch_stack())
    source = ROUTES["correlate1d"]["np.correlate"][0]
    run_exercise("correlate1d", student_function("correlate1d", source))
    after = (course.conv1d.__code__, np.correlate._implementation.__code__, np._core.multiarray.correlate2,
             scipy.signal._sigtools._correlateND, threading.Thread._bootstrap_inner,
             torch._C._DisableTorchDispatch, torch._C._len_torch_dispatch_stack())
    assert all(a is b or a == b for a, b in zip(before, after))
    assert np.allclose(np.correlate([1.0, 2.0, 3.0], [1.0, 1.0]), [3.0, 5.0])
    assert torch.nn.functional.conv1d(torch.ones(1, 1, 3), torch.ones(1, 1, 2)).tolist() == [[[2.0, 2.0]]]


def test_a_tampered_dispatch_mode_stack_fails_the_call():
    source = """
        from torch.utils._python_dispatch import TorchDispatchMode
        class Mine(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                return func(*args, **(kwargs or {}))
        def correlate1d(x, w):
            Mine().__enter__()  # left on the stack above the grader's mode
            return np.array([np.dot(x[i:i + len(w)], w) for i in range(len(x) - len(w) + 1)])
        """
    result = run_exercise("correlate1d", student_function("correlate1d", source))
    assert result.points == 0
    assert "changed PyTorch's dispatch modes" in result.tests[0].message
    assert torch._C._len_torch_dispatch_stack() == 0  # the stack is back as it was before the call


def test_the_reference_solutions_are_never_imported_without_block_reference():
    code = textwrap.dedent("""
        import sys
        import numpy as np
        from lecturepkg.grading.exercises import EXERCISES
        from lecturepkg.grading.sandbox import Submission
        for exercise in EXERCISES.values():
            try:
                Submission(lambda *a, **k: 0, exercise, block_reference=False)(np.zeros(3), np.zeros(2))
            except Exception:
                pass
        loaded = [m for m in sys.modules if m.startswith("lecturepkg.grading.solutions")]
        assert not loaded, loaded
        print("ok")
        """)
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert ran.stdout.strip() == "ok", ran.stderr[-2000:]


# ---- the pages ------------------------------------------------------------------------

def _sections(chapter: str, suffix: str) -> dict[str, str]:
    """Exercise name -> the text of its section (from its heading to the next one)."""
    text = (BOOK / chapter / f"exercises{suffix}").read_text()
    if suffix == ".ipynb":
        nb = nbformat.reads(text, as_version=4)
        text = "\n".join(c.source for c in nb.cells)
    found = {}
    for section in re.split(r"^## ", text, flags=re.M)[1:]:
        for name, exercise in EXERCISES.items():
            if exercise.chapter == chapter and re.search(rf"^def {name}\(", section, re.M):
                found[name] = section
    return found


@pytest.mark.parametrize("suffix", [".md", ".ipynb"])
def test_every_exercise_section_shows_the_list_its_grader_enforces(suffix):
    for chapter in sorted({e.chapter for e in EXERCISES.values()}):
        sections = _sections(chapter, suffix)
        names = {n for n, e in EXERCISES.items() if e.chapter == chapter}
        assert set(sections) == names, f"{chapter}: sections for {sorted(sections)}"
        for name, section in sections.items():
            cell = f'forbidden_list("{name}")'
            assert section.count(cell) == 1, f"{chapter}/exercises{suffix}: the section of {name} lacks {cell}"
            assert section.index(cell) < section.index(f"def {name}("), f"{name}: show the list above the stub"
            assert "forbidden_list(" not in section.replace(cell, ""), f"{name}: another exercise's list"


def test_the_listing_names_everything_the_grader_forbids():
    for name, exercise in EXERCISES.items():
        shown = forbidden_list(name).markdown
        for target in exercise.forbidden:
            module, attr = target.split(":")
            assert (f"`{module}.{attr}`" if attr != "*" else f"`{module}`") in shown, (name, target)
        for op in exercise.forbidden_ops:
            assert f"`{op}`" in shown, (name, op)
        assert ("autograd" in shown) == exercise.forbid_autograd, name
        for allowed in exercise.allowed:
            assert allowed in shown, (name, allowed)
        assert str(forbidden_list(name)).startswith(f"Not available while {name} is checked")
    assert "`torch.Tensor.unfold`" in forbidden_list("im2col").markdown.split("Allowed:")[1]
    assert "`aten.unfold`" not in forbidden_list("im2col").markdown
