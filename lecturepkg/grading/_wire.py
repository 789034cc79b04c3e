"""Messages between the grader and the student's process (private to the isolated grader).

A message is a pickle preceded by its length (8 bytes, big-endian). Both sides read with
:func:`loads`, a restricted unpickler that builds only plain data: Python's built-in values
(numbers, strings, bytes, tuples, lists, dicts, sets), numpy arrays, dtypes and scalars, and
torch tensors (sent as a numpy array by :class:`_Pickler`). Anything else, above all a
function or class that unpickling would call, is refused, so what the student's process
sends can never run code in the grader.

One exception, in one direction only: a grading test may hand the student's function a small
model to explain (chapter 4). A model built only of the layers in :data:`LAYERS` (an
``nn.Sequential`` of convolutions, linear layers, activations, pooling...) is sent as each
layer's constructor arguments and weights and rebuilt by :func:`module` on the student's
side, which alone reads messages with ``loads(..., modules=True)``; the grader never accepts
one.
"""

from __future__ import annotations

import builtins
import importlib
import io
import pickle
import struct
import sys
from typing import Any, BinaryIO

import numpy as np

#: The largest message either side accepts (a result is a few arrays of a few kB).
MAX_MESSAGE = 64 * 2**20

_HEADER = struct.Struct(">Q")
_NUMPY_MODULES = ("numpy", "numpy._core.numeric", "numpy._core.multiarray", "numpy.core.numeric",
                  "numpy.core.multiarray", "numpy.dtypes")
_NUMPY_NAMES = ("dtype", "ndarray", "_frombuffer", "_reconstruct", "scalar")
_BUILTINS = ("complex", "set", "frozenset", "bytearray", "slice", "range")


class MessageError(Exception):
    """A message that cannot be read: too long, cut short, or not plain data."""


def tensor(array: np.ndarray, dtype: str, requires_grad: bool):
    """Rebuild a torch tensor sent as a numpy array (the only code :func:`loads` may call
    besides numpy's array constructors)."""
    if not isinstance(array, np.ndarray) or not isinstance(dtype, str) or not isinstance(requires_grad, bool):
        raise MessageError("a tensor must be sent as (numpy array, dtype name, requires_grad)")
    import torch

    result = torch.from_numpy(np.array(array, copy=True))
    if dtype == "torch.bfloat16":
        result = result.to(torch.bfloat16)
    if requires_grad and (result.is_floating_point() or result.is_complex()):
        result.requires_grad_()
    return result


def _layer_arguments() -> dict:
    return {
        "Sequential": lambda m: {},
        "Conv2d": lambda m: dict(in_channels=m.in_channels, out_channels=m.out_channels,
                                 kernel_size=m.kernel_size, stride=m.stride, padding=m.padding,
                                 dilation=m.dilation, groups=m.groups, bias=m.bias is not None),
        "Linear": lambda m: dict(in_features=m.in_features, out_features=m.out_features, bias=m.bias is not None),
        "BatchNorm2d": lambda m: dict(num_features=m.num_features, eps=m.eps, momentum=m.momentum),
        "ReLU": lambda m: {},
        "Tanh": lambda m: {},
        "Sigmoid": lambda m: {},
        "Identity": lambda m: {},
        "Flatten": lambda m: dict(start_dim=m.start_dim, end_dim=m.end_dim),
        "AdaptiveAvgPool2d": lambda m: dict(output_size=m.output_size),
        "MaxPool2d": lambda m: dict(kernel_size=m.kernel_size, stride=m.stride, padding=m.padding),
        "AvgPool2d": lambda m: dict(kernel_size=m.kernel_size, stride=m.stride, padding=m.padding),
    }


#: The ``torch.nn`` layers a model sent to the student's process may be built of (exactly
#: these classes, not subclasses), each with what reads its constructor's arguments.
LAYERS = tuple(_layer_arguments())


def module(name: str, arguments: dict, children: list, state: dict, training: bool):
    """Rebuild a layer sent by :class:`_Pickler`: ``torch.nn.<name>(**arguments)`` (or an
    ``nn.Sequential`` of ``children``, themselves rebuilt by this function), loaded with the
    parameters and buffers ``state``, in training mode if ``training``."""
    import torch

    if name not in LAYERS or not isinstance(arguments, dict) or not isinstance(children, list) \
            or not isinstance(state, dict) or not isinstance(training, bool):
        raise MessageError(f"torch.nn.{name} is not a layer the grader sends")
    if not all(isinstance(c, torch.nn.Module) for c in children) or (children and name != "Sequential"):
        raise MessageError("only an nn.Sequential holds other layers")
    if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise MessageError("a layer's state must map names to tensors")
    layer = torch.nn.Sequential(*children) if name == "Sequential" else getattr(torch.nn, name)(**arguments)
    floating = [t.dtype for t in state.values() if t.is_floating_point()]
    if floating:
        layer.to(floating[0])
    if name != "Sequential":
        layer.load_state_dict(state)
    layer.training = training  # its own flag: the children's came with them
    return layer


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, modules: bool = False):
        super().__init__(file)
        self.modules = modules

    def find_class(self, module: str, name: str):
        if module == __name__ and name == "module" and self.modules:
            return globals()["module"]
        if module == "builtins" and name in _BUILTINS:
            return getattr(builtins, name)
        if module in _NUMPY_MODULES and (name in _NUMPY_NAMES or (module == "numpy.dtypes" and name.endswith("DType"))):
            return getattr(importlib.import_module(module), name)
        if module == __name__ and name == "tensor":
            return tensor
        raise MessageError(f"{module}.{name} is not plain data")

    def persistent_load(self, pid):
        raise MessageError("persistent references are not plain data")


class _Pickler(pickle.Pickler):
    """Pickles torch tensors (of any subclass) as numpy arrays, so that :func:`loads` can
    rebuild them without torch's own unpickling."""

    def reducer_override(self, obj):
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(obj, torch.nn.Module):
            name = type(obj).__name__
            if name not in LAYERS or type(obj) is not getattr(torch.nn, name):
                raise pickle.PicklingError(f"{type(obj).__qualname__} is not a layer the grader sends "
                                           f"(only torch.nn's {', '.join(LAYERS)})")
            state = {k: v.detach() for k, v in obj.state_dict(keep_vars=True).items() if "." not in k}
            children = list(obj.children()) if name == "Sequential" else []
            return module, (name, _layer_arguments()[name](obj), children, state, bool(obj.training))
        if torch is not None and isinstance(obj, torch.Tensor):
            data = obj.detach().cpu().resolve_conj().resolve_neg()
            dtype = str(data.dtype)
            if data.dtype == torch.bfloat16:
                data = data.float()
            return tensor, (data.numpy().copy(), dtype, bool(obj.requires_grad))
        return NotImplemented


def dumps(value: Any) -> bytes:
    """``value`` as the bytes of one message body."""
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=5).dump(value)
    return buffer.getvalue()


def loads(data: bytes, *, modules: bool = False) -> Any:
    """The plain data in ``data``; :class:`MessageError` for anything else. With ``modules``
    (the student's process only), the models the grader sends are rebuilt too."""
    try:
        return _Unpickler(io.BytesIO(data), modules).load()
    except MessageError:
        raise
    except Exception as err:  # noqa: BLE001 - whatever broke, the message is unreadable
        raise MessageError(f"{type(err).__name__}: {err}") from None


def write_message(stream: BinaryIO, body: bytes) -> None:
    """Send one message body (from :func:`dumps`) on ``stream``."""
    stream.write(_HEADER.pack(len(body)))
    stream.write(body)
    stream.flush()


def _read_exactly(stream: BinaryIO, n: int) -> bytes | None:
    chunks, missing = [], n
    while missing:
        chunk = stream.read(missing)
        if not chunk:
            return None
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def read_message(stream: BinaryIO, limit: int = MAX_MESSAGE) -> bytes | None:
    """The next message body on ``stream``; ``None`` at the end of the stream."""
    header = _read_exactly(stream, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    if size > limit:
        raise MessageError(f"a message of {size} bytes, more than the {limit} allowed")
    body = _read_exactly(stream, size)
    if body is None:
        raise MessageError("a message cut short")
    return body


def describe_exception(err: BaseException) -> tuple[str, str]:
    """(name of the nearest built-in exception class of ``err``, its text), to send."""
    builtin = next((c for c in type(err).__mro__ if c.__module__ == "builtins"), Exception)
    return builtin.__name__, str(err)[:2000]


def rebuild_exception(described: Any) -> BaseException | None:
    """An exception like the one :func:`describe_exception` described (never raised: it is
    kept as the ``original`` of a failure, for tests that expect an exception type)."""
    if not (isinstance(described, tuple) and len(described) == 2 and all(isinstance(s, str) for s in described)):
        return None
    name, text = described
    cls = getattr(builtins, name, None)
    if not (isinstance(cls, type) and issubclass(cls, BaseException)):
        cls = Exception
    try:
        return cls(text)
    except Exception:  # noqa: BLE001 - a built-in that needs other arguments
        return Exception(text)
