"""The grader's side of the isolated grader: the student's code runs in a process of its own.

The command line grader (:mod:`lecturepkg.grading.cli`) gives a student's notebook to an
:class:`IsolatedGrader`. It starts a child Python process (:mod:`~lecturepkg.grading.student_process`)
in the notebook's folder and in a session of its own, which runs the notebook's code cells.
The grading tests run here, with pytest, as ``check`` runs them; but the ``submission`` they
call is a :class:`RemoteSubmission`, which sends the arguments to the child, lets it call the
student's function there and brings the result back as plain data (``_wire``: arrays, tensors,
numbers, nothing that could run code here). The expected values, the oracles (torch, numpy)
and the comparisons stay in this process, where the student's code cannot see or patch them.

Time is kept here, from outside: each call has the exercise's limit (``Exercise.timeout``, or
``Limits.call``), each whole exercise and running the notebook have limits too. When a
limit passes, or the child exits, crashes or sends something unreadable, the child and every
process it started are killed (the private ``_processes`` module), the call fails with the
reason, the exercise's remaining tests fail at once ("not graded: ..."), and the next exercise
is graded in a fresh child that runs the notebook again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pathlib
import queue
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Callable

import lecturepkg
from lecturepkg.grading import _processes, _wire
from lecturepkg.grading.feedback import GradingFailure
from lecturepkg.grading.notebook import GRADER_ENV, Cell
from lecturepkg.grading.runner import ExerciseResult, prepare, run_tests
from lecturepkg.grading.sandbox import StudentError
from lecturepkg.grading.spec import Exercise

_BOOTSTRAP = ("import sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
              "from lecturepkg.grading.student_process import main; main()")
_MESSAGE_LIMIT = 4000  # characters of a message from the student's process kept in a report


@dataclass(frozen=True)
class Limits:
    """Time limits of the isolated grader, in seconds.

    Attributes
    ----------
    call:
        One call of the student's function; ``None``: each exercise's own ``timeout``.
    exercise:
        All the tests of one exercise together.
    notebook:
        Starting the student's process and running the notebook's code cells.
    cell:
        One code cell (interrupted inside the student's process where signals allow; the
        notebook's limit holds in every case).
    """

    call: float | None = None
    exercise: float = 120.0
    notebook: float = 300.0
    cell: float = 120.0

    def __post_init__(self):
        for name in ("call", "exercise", "notebook", "cell"):
            value = getattr(self, name)
            if value is None and name == "call":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name}: a time limit must be a positive number of seconds, got {value!r}")


class ProcessLost(Exception):
    """The student's process is gone or unusable; the message says why, for the student."""


class _TimedOut(ProcessLost):
    pass


class StudentProcess:
    """One child process running the student's notebook, and the two threads that carry
    its messages (so that waiting for it always has a deadline)."""

    def __init__(self, folder: pathlib.Path):
        self._log = tempfile.TemporaryFile()
        package_root = str(pathlib.Path(lecturepkg.__file__).resolve().parent.parent)
        env = {**os.environ, GRADER_ENV: "1", "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1",
               "LECTUREPKG_GRADER_PID": str(os.getpid()),
               "PYTHONPATH": os.pathsep.join([package_root] + [p for p in [os.environ.get("PYTHONPATH")] if p])}
        self.process = subprocess.Popen([sys.executable, "-c", _BOOTSTRAP], cwd=folder, env=env,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
                                        **_processes.popen_options())
        self._inbox: queue.Queue = queue.Queue()
        self._outbox: queue.Queue = queue.Queue()
        self._next_id = 0
        self.status: int | None = None
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._write, daemon=True).start()

    # Each thread closes its own pipe when it ends: closing it from another thread would wait
    # for a read or write that a process left behind can keep blocked.

    def _read(self) -> None:
        stream = self.process.stdout
        try:
            while True:
                body = _wire.read_message(stream)
                self._inbox.put(("end", None) if body is None else ("message", body))
                if body is None:
                    break
        except (_wire.MessageError, OSError, ValueError) as err:
            self._inbox.put(("garbled", str(err)))
        with contextlib.suppress(OSError):
            stream.close()

    def _write(self) -> None:
        stream = self.process.stdin
        while True:
            body = self._outbox.get()
            if body is None:
                break
            try:
                _wire.write_message(stream, body)
            except (OSError, ValueError):  # the child is gone or closed its input
                break
        with contextlib.suppress(OSError, ValueError):
            stream.close()

    def send(self, message: tuple) -> None:
        self._outbox.put(_wire.dumps(message))

    def receive(self, deadline: float, what: str) -> tuple:
        """The next message, before ``deadline`` (``time.monotonic()``); raises
        :class:`ProcessLost` (a timeout is one too) with the reason otherwise."""
        try:
            kind, body = self._inbox.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise _TimedOut(what) from None
        if kind == "end":
            try:
                status = self.process.wait(timeout=1)
            except subprocess.TimeoutExpired:  # alive, but it closed its end of the pipe
                status = None
            self.kill()
            if status is None:
                raise ProcessLost(f"your code closed the process's connection to the grader {what}")
            raise ProcessLost(_ended(status, what))
        if kind == "garbled":
            raise ProcessLost(f"the process running your code sent the grader something it cannot read "
                              f"({body}) {what}")
        try:
            message = _wire.loads(body)
        except _wire.MessageError as err:
            raise ProcessLost(f"the process running your code sent the grader something it cannot read "
                              f"({err}) {what}") from None
        if not (isinstance(message, tuple) and message and isinstance(message[0], str)):
            raise ProcessLost(f"the process running your code sent the grader an unexpected message {what}")
        return message

    def run_notebook(self, name: str, cells: list[Cell], limits: Limits, deadline: float) -> list[str]:
        """Run the cells in the child; return the problems of the cells that failed."""
        self.send(("run", name, [(c.filename, c.source) for c in cells], limits.cell))
        cell = 0
        while True:
            where = f"while code cell {cell} was running" if cell else "while it was starting"
            try:
                message = self.receive(deadline, where)
            except _TimedOut:
                raise _TimedOut(f"running your notebook took longer than {limits.notebook:g} s ({where.removeprefix('while ')})") from None
            if message[0] == "cell" and len(message) == 2 and isinstance(message[1], int):
                cell = message[1]
            elif message[0] == "ready" and len(message) == 2 and isinstance(message[1], list):
                return [str(p)[:_MESSAGE_LIMIT] for p in message[1]]
            else:
                raise ProcessLost(f"the process running your code sent the grader an unexpected message {where}")

    def call(self, exercise: Exercise, args: tuple, kwargs: dict, deadline: float):
        """Call the student's function of ``exercise`` in the child; its result, or the
        failure for the student (:class:`~lecturepkg.grading.feedback.GradingFailure`)."""
        self._next_id += 1
        call_id = self._next_id
        self.send(("call", call_id, dataclasses.asdict(exercise), tuple(args), dict(kwargs)))
        message = self.receive(deadline, f"during a call of {exercise.name}")
        if len(message) < 2 or message[1] != call_id:
            raise ProcessLost(f"the process running your code answered a call the grader did not make "
                              f"(during a call of {exercise.name})")
        if message[0] == "result" and len(message) == 3 and isinstance(message[2], bytes):
            try:
                return _wire.loads(message[2])
            except _wire.MessageError as err:
                raise GradingFailure(f"{exercise.name} returned something the grader cannot receive ({err}); "
                                     "return arrays, tensors, numbers or tuples/lists of them") from None
        if message[0] == "failure" and len(message) == 4 and isinstance(message[2], str):
            text = message[2][:_MESSAGE_LIMIT]
            original = _wire.rebuild_exception(message[3])
            raise StudentError(text, original) if original is not None else GradingFailure(text)
        raise ProcessLost(f"the process running your code sent the grader an unexpected message "
                          f"(during a call of {exercise.name})")

    def kill(self) -> None:
        """Kill the child and its process group (descendants that left the group are swept
        by the caller's ``_processes.Adoption``)."""
        if self.status is None:
            self.status = _processes.kill_group(self.process)
        self._outbox.put(None)

    def output(self, limit: int = 20_000) -> str:
        """The last ``limit`` characters the child printed (call after :meth:`kill`)."""
        self._log.seek(0, os.SEEK_END)
        size = self._log.tell()
        self._log.seek(max(0, size - limit))
        text = self._log.read().decode("utf-8", "replace")
        self._log.close()
        return text


def _ended(status: int, what: str) -> str:
    if status >= 0:
        return f"your code ended the process (exit status {status}) {what}"
    name = _processes.signal_name(status)
    hint = " (a crash in compiled code?)" if name in ("SIGSEGV", "SIGBUS", "SIGABRT", "SIGILL") else ""
    return f"the process running your code was killed by {name}{hint} {what}"


class RemoteSubmission:
    """What the grading tests call under the command line grader: each call runs the
    student's function in the student's process, within the time limits.

    After the first lost call (a timeout, the process ended), every later call fails at once
    with ``not graded: ...``: an exercise stops at its first timeout.
    """

    def __init__(self, grader: "IsolatedGrader", exercise: Exercise):
        self.exercise = exercise
        self._grader = grader
        self.input_secret = grader.input_secret
        self._deadline = time.monotonic() + grader.limits.exercise
        self.stopped: str | None = grader.fatal and f"not graded: {grader.fatal}"

    def __call__(self, *args, **kwargs):
        if self.stopped:
            raise GradingFailure(self.stopped)
        name, limits = self.exercise.name, self._grader.limits
        limit = limits.call if limits.call is not None else self.exercise.timeout
        now = time.monotonic()
        if now >= self._deadline:
            return self._stop(f"grading {name} took longer than its {limits.exercise:g} s limit",
                              f"not graded: grading {name} took longer than its {limits.exercise:g} s limit")
        child = self._grader.child()
        if child is None:  # the notebook cannot run
            self.stopped = f"not graded: {self._grader.fatal}"
            raise GradingFailure(self._grader.fatal)
        by_call = now + limit
        try:
            return child.call(self.exercise, args, kwargs, min(by_call, self._deadline))
        except _TimedOut:
            if time.monotonic() >= self._deadline and self._deadline < by_call:
                return self._stop(f"grading {name} took longer than its {limits.exercise:g} s limit",
                                  f"not graded: grading {name} took longer than its {limits.exercise:g} s limit")
            return self._stop(f"{name} did not finish within {limit:g} s (an infinite loop, or far too slow?)",
                              f"not graded: the previous call timed out after {limit:g} s")
        except ProcessLost as err:
            return self._stop(str(err), f"not graded: {err}")

    def _stop(self, reason: str, later: str):
        self._grader.discard_child()
        self.stopped = later
        raise GradingFailure(reason)


class IsolatedGrader:
    """Grades a notebook's exercises one by one, each in the student's process.

    Use it as a context manager: leaving it kills the student's processes and everything
    they started, so that nothing of the student's runs once grading is over.
    """

    def __init__(self, path: pathlib.Path, cells: list[Cell], limits: Limits = Limits(),
                 on_problem: Callable[[str], None] | None = None,
                 on_output: Callable[[str], None] | None = None):
        self.path = pathlib.Path(path).resolve()
        self.cells = cells
        self.limits = limits
        self.fatal: str | None = None  # why the notebook cannot run at all
        self._on_problem = on_problem
        self._on_output = on_output
        self._child: StudentProcess | None = None
        self._adoption: _processes.Adoption | None = None
        self._context = None
        self.children_started = 0
        #: Mixed into the seeds of the grading tests' random inputs for this run only
        #: (:func:`lecturepkg.grading.runtime.input_rng`); never sent to the student's process.
        self.input_secret = secrets.randbits(64)

    def __enter__(self) -> "IsolatedGrader":
        self._context = _processes.adopting()
        self._adoption = self._context.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.discard_child()
        self._context.__exit__(*exc)

    def child(self) -> StudentProcess | None:
        """The running child, started (and the notebook run in it) if need be; ``None`` if
        the notebook cannot run (its ``fatal`` attribute says why)."""
        if self._child is not None or self.fatal:
            return self._child
        child = StudentProcess(self.path.parent)
        self._child = child
        self.children_started += 1
        try:
            problems = child.run_notebook(self.path.name, self.cells, self.limits,
                                          time.monotonic() + self.limits.notebook)
        except ProcessLost as err:
            self.fatal = f"your notebook could not be run: {err}"
            self.discard_child()
            return None
        if self.children_started == 1 and self._on_problem is not None:
            for problem in problems:
                self._on_problem(problem)
        return child

    def discard_child(self) -> None:
        """Kill the child and everything it started."""
        child, self._child = self._child, None
        if child is None:
            return
        child.kill()
        if self._adoption is not None:
            self._adoption.sweep()
        output = child.output()
        if output.strip() and self._on_output is not None:
            self._on_output(output)

    def grade(self, exercise: Exercise) -> ExerciseResult:
        """Run the grading tests of ``exercise`` against the student's function."""
        self.child()  # the notebook runs first: the exercise's clock starts once it has run
        submission = RemoteSubmission(self, exercise)
        result = run_tests(exercise, submission)
        if submission.stopped:
            self.discard_child()
        return result

    def grade_all(self, exercises: list[Exercise],
                  on_result: Callable[[ExerciseResult], None] | None = None) -> list[ExerciseResult]:
        """Grade ``exercises`` in order (their tests are imported before the student's
        process starts)."""
        prepare(exercises)
        results = []
        for exercise in exercises:
            results.append(self.grade(exercise))
            if on_result is not None:
                on_result(results[-1])
        return results
