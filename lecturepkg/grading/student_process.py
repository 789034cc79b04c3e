"""The student's side of the isolated grader: the process that runs a student's notebook.

:mod:`lecturepkg.grading.isolated` starts it (``python -c "...; main()"``) in the notebook's
folder, in a session of its own, and talks to it over its standard input and output, one
message at a time (the private ``_wire`` module). It runs nothing but the student's code
and this loop:

* ``("run", cells, cell_timeout)``: run the notebook's code cells in one namespace, sending
  ``("cell", i)`` before cell ``i``; answer ``("ready", problems)``;
* ``("call", id, exercise fields, args, kwargs)``: call the student's function of that
  exercise under the in-process guard (:class:`~lecturepkg.grading.sandbox.Submission`:
  forbidden library calls blocked, inputs changed in place caught) and answer
  ``("result", id, pickled value)`` or ``("failure", id, message, exception)`` with a message
  for the student;
* ``("exit",)``: end.

The reference solutions and the grading tests are never imported here (importing them is
refused), and nothing here compares or scores: the grader does that in its own process, with
values this process never sees. The grader also keeps the time: this process has no timers of
its own, it is killed from outside.
"""

from __future__ import annotations

import importlib.abc
import os
import sys

from lecturepkg.grading import _wire
from lecturepkg.grading.feedback import GradingFailure
from lecturepkg.grading.notebook import Cell, execute_cells, new_namespace
from lecturepkg.grading.sandbox import StudentError, Submission, student_traceback
from lecturepkg.grading.spec import Exercise

#: Packages the student's process never imports (the grader's answers).
WITHHELD = ("lecturepkg.grading.solutions", "lecturepkg.grading.tests")


class _Withheld(importlib.abc.MetaPathFinder):
    """Refuses to import the reference solutions and the grading tests."""

    def find_spec(self, name, path=None, target=None):
        if any(name == p or name.startswith(p + ".") for p in WITHHELD):
            raise ImportError(f"{name} is not available to your code while it is graded")
        return None


def _die_with_parent(parent: int) -> None:
    """Linux: be killed when the grader ends, whatever ends it."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover
        return
    if os.getppid() != parent:  # the grader ended before the line above
        os._exit(1)


class _Channel:
    """The grader's messages on (a copy of) standard input, the replies on (a copy of)
    standard output. Standard input then reads nothing and standard output goes where
    standard error goes, so a ``print`` cannot garble the replies."""

    def __init__(self):
        self._in = os.fdopen(os.dup(0), "rb")
        self._out = os.fdopen(os.dup(1), "wb")
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.dup2(2, 1)

    def receive(self):
        body = _wire.read_message(self._in)
        return None if body is None else _wire.loads(body, modules=True)  # the grader's models too

    def send(self, message) -> None:
        _wire.write_message(self._out, _wire.dumps(message))


def _run(namespace: dict, channel: _Channel, cells, cell_timeout) -> None:
    problems = execute_cells([Cell(*c) for c in cells], namespace, cell_timeout=cell_timeout,
                             on_cell=lambda i: channel.send(("cell", i)))
    channel.send(("ready", problems))


def _call(namespace: dict, fields: dict, args: tuple, kwargs: dict) -> tuple:
    """Call the student's function of the exercise described by ``fields``; return the reply
    (without its id)."""
    exercise = Exercise(**{**fields, "timeout": None})  # the grader keeps the time
    name = exercise.name
    func = namespace.get(name)
    if not callable(func):
        return ("failure", f"no function called {name} was defined: write it (keep its name)", None)
    try:
        result = Submission(func, exercise, block_reference=False)(*args, **kwargs)
    except StudentError as err:
        original = err.original if err.original is not None else err
        return ("failure", str(err), _wire.describe_exception(original))
    except GradingFailure as err:
        return ("failure", str(err), None)
    except BaseException as err:  # noqa: BLE001 - SystemExit, KeyboardInterrupt...: a failed call
        text = f": {err}" if str(err) else ""
        return ("failure", f"{name} raised {type(err).__name__}{text}, which would stop a program; "
                           f"return a value or raise an ordinary exception\n{student_traceback(err)}",
                _wire.describe_exception(err))
    try:
        return ("result", _wire.dumps(result))
    except BaseException as err:  # noqa: BLE001 - e.g. a generator, a lambda, an open file
        return ("failure", f"{name} returned a {type(result).__name__}, which cannot be sent to the grader "
                           f"({type(err).__name__}: {err}); return arrays, tensors, numbers or tuples/lists "
                           "of them", None)


def main() -> None:
    """Serve the grader until it says ``exit`` or goes away."""
    parent = int(os.environ.get("LECTUREPKG_GRADER_PID", os.getppid()))
    _die_with_parent(parent)
    channel = _Channel()
    sys.meta_path.insert(0, _Withheld())
    os.environ.setdefault("MPLBACKEND", "Agg")
    import numpy  # noqa: F401 - imported before the clock of the first call starts

    try:
        import torch  # noqa: F401
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    sys.path.insert(0, os.getcwd())  # the notebook's folder: its own modules import
    namespace: dict = {}
    while True:
        try:
            message = channel.receive()
        except _wire.MessageError:
            os._exit(3)
        if message is None or message[0] == "exit":
            os._exit(0)
        if message[0] == "run":
            _, name, cells, cell_timeout = message
            namespace = new_namespace(name)
            _run(namespace, channel, cells, cell_timeout)
        elif message[0] == "call":
            _, call_id, fields, args, kwargs = message
            reply = _call(namespace, fields, args, kwargs)
            channel.send((reply[0], call_id, *reply[1:]))
