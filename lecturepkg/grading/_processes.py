"""Ending the student's process and every process it started (private to the isolated grader).

The student's process starts in a session and process group of its own, so one signal to the
group ends it and whatever it started without leaving the group. A process that left it
(``os.setsid`` after a double fork) is found on Linux: while :func:`adopting` is active this
process is a *child subreaper* (``prctl(PR_SET_CHILD_SUBREAPER)``), so such a process, once its
parent has died, becomes a child of the grader, and :func:`sweep` kills every descendant of
the grader that was not there before. Elsewhere only the process group is ended.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

_PR_SET_DUMPABLE, _PR_GET_DUMPABLE = 4, 3
_PR_SET_CHILD_SUBREAPER, _PR_GET_CHILD_SUBREAPER = 36, 37
_LINUX = sys.platform.startswith("linux") and os.path.isdir("/proc/self")


def _prctl():
    if not _LINUX:
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl
    except (OSError, AttributeError):  # pragma: no cover - no libc with prctl
        return None


def _get_subreaper(prctl) -> int:
    import ctypes

    value = ctypes.c_int(0)
    if prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(value), 0, 0, 0) != 0:
        return 0
    return value.value


def _parents() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state letter) of every process (Linux ``/proc``)."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode("ascii", "replace")
        except OSError:  # the process ended meanwhile
            continue
        fields = stat[stat.rfind(")") + 2:].split()  # after "pid (comm) "
        if len(fields) >= 2:
            table[int(entry)] = (int(fields[1]), fields[0])
    return table


def descendants(pid: int, table: dict[int, tuple[int, str]] | None = None) -> set[int]:
    """Every living process whose chain of parents reaches ``pid`` (Linux; empty elsewhere)."""
    if not _LINUX:
        return set()
    table = _parents() if table is None else table
    children: dict[int, list[int]] = {}
    for child, (parent, _) in table.items():
        children.setdefault(parent, []).append(child)
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


class Adoption:
    """What :func:`adopting` knows: the descendants this process had before grading began,
    which :func:`sweep` leaves alone."""

    def __init__(self, active: bool):
        self.active = active
        self.before = descendants(os.getpid()) if active else set()

    def sweep(self, rounds: int = 200) -> int:
        """Kill every descendant of this process that was not there before; return how
        many. Repeats until none is left, since a dying process's children are adopted."""
        if not self.active:
            return 0
        me, killed = os.getpid(), set()
        for _ in range(rounds):
            table = _parents()
            living = {p for p in descendants(me, table) - self.before if table[p][1] != "Z"}
            for pid in living:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            killed |= living
            for pid, (parent, _) in table.items():  # reap the ones that are our children now
                if parent == me and pid not in self.before:
                    with contextlib.suppress(OSError):
                        os.waitpid(pid, os.WNOHANG)
            if not living:
                break
            time.sleep(0.01)
        return len(killed)


@contextlib.contextmanager
def adopting():
    """Make this process adopt the orphaned descendants of the processes it starts (Linux),
    and keep its memory from other processes of the same user (``PR_SET_DUMPABLE`` 0: no
    ``/proc/<pid>/mem``, no ``ptrace`` without privileges); undo both afterwards. Yields an
    :class:`Adoption`; its :meth:`~Adoption.sweep` kills what is left."""
    prctl = _prctl()
    if prctl is None:
        yield Adoption(False)
        return
    was_subreaper = _get_subreaper(prctl)
    was_dumpable = prctl(_PR_GET_DUMPABLE, 0, 0, 0, 0)
    active = prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    adoption = Adoption(active)
    try:
        yield adoption
    finally:
        adoption.sweep()
        if active and not was_subreaper:
            prctl(_PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
        if was_dumpable > 0:
            prctl(_PR_SET_DUMPABLE, was_dumpable, 0, 0, 0)


def popen_options() -> dict:
    """Popen arguments that give the child a process group (and session) of its own."""
    if os.name == "posix":
        return {"start_new_session": True}
    return {"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}  # pragma: no cover


def kill_group(process: subprocess.Popen) -> int | None:
    """Kill ``process`` and its process group, wait for it, and return its exit status."""
    if os.name == "posix":
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)  # its group id is its pid (new session)
    with contextlib.suppress(OSError):
        process.kill()
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:  # pragma: no cover - a process that SIGKILL cannot end
        return None


def signal_name(status: int) -> str:
    """``-9`` -> ``"SIGKILL"``."""
    try:
        return signal.Signals(-status).name
    except ValueError:
        return f"signal {-status}"
