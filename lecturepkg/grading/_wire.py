"""Messages between the grader and the student's process (private to the isolated grader).

A message is a pickle preceded by its length (8 bytes, big-endian). Both sides read with
:func:`loads`, a restricted unpickler that builds only plain data: Python's built-in values
(numbers, strings, bytes, tuples, lists, dicts, sets), numpy arrays, dtypes and scalars, and
torch tensors (sent as a numpy array by :class:`_Pickler`). Anything else, above all a
function or class that unpickling would call, is refused, so what the student's process
sends can never run code in the grader.
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


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
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


def loads(data: bytes) -> Any:
    """The plain data in ``data``; :class:`MessageError` for anything else."""
    try:
        return _Unpickler(io.BytesIO(data)).load()
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
