"""The command line grader cannot be fooled, crashed or hung by the student's code.

A hostile-student suite, run through the real command line grader on small generated notebooks
(``tests/grading_notebooks.py``): exiting the process, hooks and threads and processes left
behind that rewrite results.json, ignored signals, swallowed exceptions, patched comparisons and
zeroed oracles, walking the stack and hunting the heap for the answers. Each attack must lose its
points, no other exercise's verdict may change, the exit status and results.json must agree with
the printed table, and no process of the student's may be left (``grading_notebooks.grade``
checks the last two on every run). Independent correct answers, written from the docstrings as a
student would (plain loops, vectorised numpy), must score full marks. Where it is cheap, a
control shows that the attack does work against the in-process ``run_exercise``, so that the
test could fail.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch

from grading_notebooks import HEADER, grade, solved_notebook, write_notebook
from lecturepkg.grading import _wire, cli, run_exercise
from lecturepkg.grading.checking import check_chapter
from lecturepkg.grading.exercises import get_exercise

LINUX = sys.platform.startswith("linux")
# a call limit that a correct call meets even on a busy shared machine, and that still makes
# the hanging attacks' cost small
CALL_LIMIT = 6
FAST = ("--call-timeout", str(CALL_LIMIT), "--quiet")


def src(text: str) -> str:
    return textwrap.dedent(text).strip() + "\n"


# ------------------------------------------------------------------------------------------
# Independent correct answers (written from the docstrings, not from the reference solutions)
# ------------------------------------------------------------------------------------------

LOOPS = {
    "correlate1d": src("""
        def correlate1d(x, w):
            n, k = len(x), len(w)
            if k > n:
                raise ValueError(f"the kernel ({k}) is longer than the signal ({n})")
            out = np.zeros(n - k + 1, dtype=np.result_type(x, w))
            for i in range(n - k + 1):
                total = 0.0
                for j in range(k):
                    total += x[i + j] * w[j]
                out[i] = total
            return out
    """),
    "output_size": src("""
        def output_size(input_size, kernel_size, stride=1, padding=0, dilation=1):
            span = dilation * (kernel_size - 1) + 1
            count, start = 0, 0
            while start + span <= input_size + 2 * padding:  # count the window positions
                count += 1
                start += stride
            return count
    """),
    "max_pool2d": src("""
        def max_pool2d(x, k):
            c, h, w = x.shape
            if k > h or k > w:
                raise ValueError("the window is larger than the map")
            out = np.empty((c, h // k, w // k), dtype=x.dtype)
            for ch in range(c):
                for i in range(h // k):
                    for j in range(w // k):
                        best = x[ch, i * k, j * k]
                        for a in range(k):
                            for b in range(k):
                                best = max(best, x[ch, i * k + a, j * k + b])
                        out[ch, i, j] = best
            return out
    """),
}

VECTORISED = {
    "correlate1d": src("""
        def correlate1d(x, w):
            n, k = x.shape[0], w.shape[0]
            if k > n:
                raise ValueError("kernel longer than signal")
            windows = x[np.arange(n - k + 1)[:, None] + np.arange(k)[None, :]]
            return windows @ w
    """),
    "output_size": src("""
        def output_size(input_size, kernel_size, stride=1, padding=0, dilation=1):
            return (input_size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1
    """),
    "max_pool2d": src("""
        def max_pool2d(x, k):
            c, h, w = x.shape
            if k > min(h, w):
                raise ValueError("window larger than the map")
            blocks = x[:, : h // k * k, : w // k * k].reshape(c, h // k, k, w // k, k)
            return blocks.max(axis=(2, 4))
    """),
}


@pytest.mark.parametrize("answers", [LOOPS, VECTORISED], ids=["loops", "vectorised"])
def test_independent_correct_answers_score_full_marks(answers, tmp_path):
    path = solved_notebook(tmp_path / "student.ipynb", overrides=answers)
    graded = grade(path, *[a for name in answers for a in ("--exercise", name)], "--quiet")
    assert graded.code == 0, graded.out + graded.err
    assert set(graded.table) == set(answers) and all(graded.full(name) for name in answers)


# ------------------------------------------------------------------------------------------
# Attacks inside the student's functions: exit, hang, swallow, raise what stops programs
# ------------------------------------------------------------------------------------------

FUNCTION_ATTACKS = {
    "output_size": src("""
        import os

        def output_size(input_size, kernel_size, stride=1, padding=0, dilation=1):
            os._exit(0)  # "success"
    """),
    "conv2d_multichannel": src("""
        import signal

        def conv2d_multichannel(x, weight, bias):
            signal.signal(signal.SIGALRM, signal.SIG_IGN)
            while True:
                pass
    """),
    "max_pool2d": src("""
        import time

        def max_pool2d(x, k):
            while True:
                try:
                    time.sleep(0.01)
                except BaseException:
                    pass
    """),
    "correlate1d_kernel_grad": src("""
        calls = []

        def correlate1d_kernel_grad(x, grad_output, kernel_size):
            calls.append(1)
            raise KeyboardInterrupt if len(calls) % 2 else SystemExit(0)
    """),
}


def test_functions_that_exit_hang_or_raise_lose_only_their_own_points(tmp_path):
    path = solved_notebook(tmp_path / "student.ipynb", overrides=FUNCTION_ATTACKS)
    graded = grade(path, *FAST)
    assert graded.code == 1
    for name in FUNCTION_ATTACKS:
        assert graded.points(name) == 0, (name, graded.messages(name))
    assert graded.full("correlate1d") and graded.full("conv2d_layer_cost")  # before and after
    exited = graded.messages("output_size")
    assert "your code ended the process (exit status 0) during a call of output_size" in exited[0]
    assert all(m.startswith("not graded: your code ended the process") for m in exited[1:])
    for name in ("conv2d_multichannel", "max_pool2d"):  # stopped at the first timeout
        messages = graded.messages(name)
        assert f"{name} did not finish within {CALL_LIMIT} s" in messages[0]
        assert all(f"the previous call timed out after {CALL_LIMIT} s" in m for m in messages[1:])
    raised = " ".join(graded.messages("correlate1d_kernel_grad"))
    assert "raised KeyboardInterrupt" in raised and "raised SystemExit" in raised


# ------------------------------------------------------------------------------------------
# Looking for the answers: the call stack, the heap, the reference solutions
# ------------------------------------------------------------------------------------------

STACK_WALK = src("""
    import inspect
    import sys

    def correlate1d(x, w):
        want = (len(x) - len(w) + 1,)
        frames = [f.frame for f in inspect.stack()]
        frame = sys._getframe()
        while frame is not None:
            frames.append(frame)
            frame = frame.f_back
        for frame in frames:
            for name, value in frame.f_locals.items():
                if isinstance(value, np.ndarray) and value.shape == want and value is not x:
                    return value.copy()  # the test's expected array, if it can be seen
        return np.zeros(want)
""")

GC_HUNT = src("""
    import gc

    found = []

    def max_pool2d(x, k):
        if not found:  # hunt once, keep what was found
            found.append([obj for obj in gc.get_objects() if callable(obj)
                          and getattr(obj, "__name__", "") == "max_pool2d"
                          and str(getattr(obj, "__module__", "")).startswith("lecturepkg.grading")])
        for reference in found[0]:
            return reference(x, k)  # the reference solution, if it is in this process
        return np.zeros((x.shape[0], x.shape[1] // k, x.shape[2] // k), dtype=x.dtype)
""")

MODULES_SPY = src("""
    import json
    import os
    import sys

    def output_size(input_size, kernel_size, stride=1, padding=0, dilation=1):
        if not os.path.exists("modules.json"):
            with open("modules.json", "w") as f:
                json.dump(sorted(sys.modules), f)
        return (input_size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1
""")

SLOW = src("""
    import time

    def conv2d_multichannel(x, weight, bias):
        time.sleep(2.0)  # well under the 5 s of a call (busy machines), but the exercise has 6 s in all
        return np.zeros((weight.shape[0], x.shape[1] - weight.shape[2] + 1, x.shape[2] - weight.shape[3] + 1))
""")

TRY_IMPORT = src("""
    try:
        import lecturepkg.grading.solutions.ch01
    except ImportError as err:
        print("refused:", err)
    import lecturepkg.grading.tests.ch01.test_correlate1d  # raises: reported as a cell problem
""")


def test_the_stack_the_heap_and_the_grader_modules_hold_no_answers(tmp_path):
    # controls: in the grader's own process the stack walk finds the expected arrays, and the
    # gc hunt finds the reference solution once it is imported
    assert run_exercise("correlate1d", _defined(STACK_WALK, "correlate1d")).points > 0
    from lecturepkg.grading.solutions import ch01

    x = np.random.default_rng(0).normal(size=(2, 4, 6))
    np.testing.assert_array_equal(_defined(GC_HUNT, "max_pool2d")(x, 2), ch01.max_pool2d(x, 2))

    overrides = {"correlate1d": STACK_WALK, "max_pool2d": GC_HUNT, "output_size": MODULES_SPY,
                 "conv2d_multichannel": SLOW}
    path = solved_notebook(tmp_path / "student.ipynb", overrides=overrides, before=(TRY_IMPORT,))
    graded = grade(path, "--call-timeout", "5", "--exercise-timeout", "6",
                   *[a for name in overrides for a in ("--exercise", name)])
    assert graded.code == 1
    honest_zero = run_exercise("correlate1d", _defined("def correlate1d(x, w):\n"
                                                       "    return np.zeros(len(x) - len(w) + 1)\n", "correlate1d"))
    assert graded.points("correlate1d") == honest_zero.points < honest_zero.max_points
    assert graded.points("max_pool2d") == 0
    assert graded.full("output_size")
    modules = json.loads((tmp_path / "modules.json").read_text())
    assert "lecturepkg.grading.sandbox" in modules  # written during a call, in the student's process
    leaked = [m for m in modules if m.startswith(("lecturepkg.grading.solutions", "lecturepkg.grading.tests"))]
    assert not leaked, leaked
    assert "is not available to your code while it is graded" in graded.err
    slow = graded.messages("conv2d_multichannel")
    assert graded.points("conv2d_multichannel") == 0
    assert any("grading conv2d_multichannel took longer than its 6 s limit" in m for m in slow), slow


def _defined(source: str, name: str):
    namespace = {"np": np}
    exec(source, namespace)  # noqa: S102 - the test's own attack, run in-process as a control
    return namespace[name]


# ------------------------------------------------------------------------------------------
# Attacks in the notebook's cells: patched comparisons and oracles, writers left behind
# ------------------------------------------------------------------------------------------

PATCHES = src("""
    import numpy
    import torch.nn.functional as F

    numpy.allclose = numpy.array_equal = lambda *a, **k: True
    numpy.isclose = lambda a, b, *r, **k: numpy.ones(numpy.broadcast(a, b).shape, dtype=bool)
    numpy.testing.assert_allclose = numpy.testing.assert_array_equal = lambda *a, **k: None
    zeros_1d = lambda x, w, *a, **k: torch.zeros(x.shape[0], w.shape[0], x.shape[-1] - w.shape[-1] + 1, dtype=x.dtype)
    F.conv1d = torch.conv1d = zeros_1d
    F.max_pool2d = lambda x, k, *a, **kw: torch.zeros(x.shape[0], x.shape[1] // k, x.shape[2] // k, dtype=x.dtype)
""")
BUILTINS_PATCH = "import builtins\nbuiltins.all = lambda *a, **k: True  # crashed the in-process grader\n"

ZERO_ANSWERS = {
    "correlate1d": src("""
        def correlate1d(x, w):
            if len(w) > len(x):
                raise ValueError("kernel longer than signal")
            return np.zeros(len(x) - len(w) + 1)
    """),
    "output_size": src("""
        def output_size(input_size, kernel_size, stride=1, padding=0, dilation=1):
            return 0
    """),
}


def _writers(results: str, pids: str) -> str:
    """A cell that leaves three writers of a full-marks results.json: an atexit hook, a daemon
    thread, and a process that left the session (double fork, setsid) and waits for the grader
    to end before it writes."""
    return src(f"""
        import atexit
        import json
        import os
        import threading
        import time

        FAKE = json.dumps({{"score": 999, "tests": []}})

        def forge():
            with open({results!r}, "w") as f:
                f.write(FAKE)

        atexit.register(forge)

        def keep_forging():
            while True:
                forge()
                time.sleep(0.02)

        threading.Thread(target=keep_forging, daemon=True).start()
        grader = os.getppid()
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                with open({pids!r}, "a") as f:
                    f.write(f"{{os.getpid()}}\\n")
                while os.path.exists(f"/proc/{{grader}}"):
                    time.sleep(0.01)
                time.sleep(0.2)
                forge()
                os._exit(0)
            os._exit(0)
        os.wait()
    """)


def test_patched_comparisons_and_zeroed_oracles_fool_an_in_process_grader(tmp_path):
    """Control: the same cells and answers, run in the grader's process as the grader once did,
    get marks they do not earn."""
    script = tmp_path / "in_process.py"
    script.write_text(HEADER + "\n" + PATCHES + ZERO_ANSWERS["correlate1d"] + textwrap.dedent("""
        from lecturepkg.grading import run_exercise
        print("points", run_exercise("correlate1d", correlate1d).points)
    """))
    ran = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    honest = run_exercise("correlate1d", _defined(ZERO_ANSWERS["correlate1d"], "correlate1d")).points
    assert f"points {honest}" not in ran.stdout and "points" in ran.stdout, ran.stdout + ran.stderr


@pytest.mark.skipif(not LINUX, reason="the leftover process needs fork and /proc")
def test_patched_comparisons_zeroed_oracles_and_leftover_writers_change_nothing(tmp_path):
    results, pids = tmp_path / "results.json", tmp_path / "pids.txt"
    overrides = {**ZERO_ANSWERS, "max_pool2d": VECTORISED["max_pool2d"]}
    path = solved_notebook(tmp_path / "student.ipynb", overrides=overrides,
                           before=(PATCHES, BUILTINS_PATCH, _writers(str(results), str(pids))))
    graded = grade(path, *FAST, *[a for name in overrides for a in ("--exercise", name)], json_path=results)
    assert graded.code == 1
    for name, source in ZERO_ANSWERS.items():  # exactly what the same answer gets honestly
        honest = run_exercise(name, _defined(source, name))
        assert graded.points(name) == honest.points < honest.max_points, (name, graded.messages(name))
    assert graded.full("max_pool2d")  # a correct answer still passes under the patches
    written = results.read_text()
    time.sleep(1.0)  # past the moment the leftover process would have written
    assert results.read_text() == written and json.loads(written)["score"] == graded.results["score"]
    for pid in map(int, pids.read_text().split()):
        assert not _alive(pid), f"the process {pid} that left the session is still running"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# ------------------------------------------------------------------------------------------
# The notebook itself ends or hangs the process
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell, reason", [
    ("import os\nos._exit(0)", "your notebook could not be run: your code ended the process (exit status 0) "
                               "while code cell 14 was running"),
    ("import signal, time\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    time.sleep(0.01)",
     "running your notebook took longer than 10 s (code cell 14 was running)"),
], ids=["exit", "hang"])
def test_a_notebook_that_ends_or_hangs_its_process_scores_nothing(cell, reason, tmp_path):
    path = solved_notebook(tmp_path / "student.ipynb", after=(cell,))
    graded = grade(path, "--notebook-timeout", "10", "--cell-timeout", "1", "--quiet",
                   "--exercise", "correlate1d", "--exercise", "output_size")
    assert graded.code == 1 and graded.results["score"] == 0
    messages = graded.messages("correlate1d") + graded.messages("output_size")
    assert reason in messages[0], messages[0]
    assert all(reason in m for m in messages)


# ------------------------------------------------------------------------------------------
# Exit status 2 and results.json when the grader cannot grade, or is stopped
# ------------------------------------------------------------------------------------------

def test_could_not_grade_is_status_2_with_a_results_json(tmp_path, capsys):
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{ not json")
    stub = write_notebook(tmp_path / "notes.ipynb", [HEADER, "def correlate1d(x, w):\n    return x\n"])
    cases = [
        ([str(tmp_path / "missing.ipynb")], "does not exist"),
        ([str(broken)], "cannot be read as a notebook"),
        ([str(tmp_path / "notes.txt")], "must be a .ipynb"),
        ([str(stub), "--chapter", "99-nope"], "no exercises for '99-nope'"),
        ([str(stub), "--exercise", "nope"], "no exercise called 'nope'"),
        ([str(stub), "--chapter", "02-typology", "--exercise", "correlate1d"], "not in chapter 02-typology"),
        ([str(stub), "--call-timeout", "-1"], "positive number of seconds"),
        ([], "arguments are required"),
    ]
    for argv, reason in cases:
        out = tmp_path / "results.json"
        out.unlink(missing_ok=True)
        assert cli.main([*argv, "--json", str(out)]) == 2, argv
        written = json.loads(out.read_text())
        assert written["score"] == 0 and written["tests"] == [] and reason in written["output"], (argv, written)
        assert reason in capsys.readouterr().err
    assert not list(tmp_path.glob(".results.json.*"))  # no temporary file left


def test_a_failure_of_the_grader_itself_is_status_2_not_a_grade(tmp_path, monkeypatch, capsys):
    from lecturepkg.grading import isolated

    def broken(self):
        raise OSError("no process can be started here")

    monkeypatch.setattr(isolated.IsolatedGrader, "__enter__", broken)
    path = solved_notebook(tmp_path / "student.ipynb")
    out = tmp_path / "results.json"
    assert cli.main([str(path), "--json", str(out), "--quiet"]) == 2
    written = json.loads(out.read_text())
    assert written["score"] == 0 and "the grader failed: OSError: no process can be started here" in written["output"]
    assert "could not grade" in capsys.readouterr().err


@pytest.mark.skipif(not LINUX, reason="SIGTERM to a process group")
def test_a_grader_stopped_by_sigterm_writes_status_2_and_kills_the_students_processes(tmp_path):
    started = tmp_path / "started"
    spin = src(f"""
        def correlate1d(x, w):
            open({str(started)!r}, "w").close()
            while True:
                pass
    """)
    path = solved_notebook(tmp_path / "student.ipynb", overrides={"correlate1d": spin})
    out = tmp_path / "results.json"
    marker = f"{os.getpid()}-{time.time_ns()}"
    env = {**os.environ, "LECTUREPKG_TEST_MARKER": marker}
    grader = subprocess.Popen([sys.executable, "-m", "lecturepkg.grading", str(path), "--json", str(out),
                               "--quiet", "--call-timeout", "60"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started.exists()
    grader.send_signal(signal.SIGTERM)
    _, err = grader.communicate(timeout=30)
    assert grader.returncode == 2, err
    written = json.loads(out.read_text())
    assert written["score"] == 0 and "interrupted" in written["output"]
    from grading_notebooks import _marked_processes

    assert not _marked_processes(f"LECTUREPKG_TEST_MARKER={marker}")


# ------------------------------------------------------------------------------------------
# What comes back from the student's process is plain data
# ------------------------------------------------------------------------------------------

class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_messages_from_the_students_process_cannot_run_code_in_the_grader():
    value = {"a": np.arange(6.0).reshape(2, 3), "b": (1, 2.5, "x", None, b"y"), "c": np.float32(3),
             "d": torch.arange(4, dtype=torch.float64).requires_grad_(), "e": [np.int64(7), {1, 2}]}
    back = _wire.loads(_wire.dumps(value))
    np.testing.assert_array_equal(back["a"], value["a"])
    assert back["b"] == value["b"] and back["c"].dtype == np.float32 and back["e"][0] == 7
    assert isinstance(back["d"], torch.Tensor) and back["d"].requires_grad and back["d"].dtype == torch.float64
    for hostile in (pickle.dumps(_Evil()), pickle.dumps(np.matrix([[1.0]])), pickle.dumps(get_exercise)):
        with pytest.raises(_wire.MessageError, match="not plain data"):
            _wire.loads(hostile)
    with pytest.raises(_wire.MessageError):
        _wire.loads(b"garbage")


def test_models_reach_the_students_process_and_nothing_else_comes_back_as_one():
    """Chapter 4's tests hand the student's function a small model: an nn.Sequential of the
    whitelisted layers crosses to the student's side with its weights, dtype and mode; the
    grader refuses a model coming back, and a layer outside the list is never sent."""
    from torch import nn

    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(4, 5, 3, stride=2, bias=False), nn.Tanh(), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(5, 3)).double().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p))
        model[1].running_mean.copy_(torch.randn(4))
    body = _wire.dumps(("call", 1, {}, (model, torch.zeros(1)), {}))
    rebuilt = _wire.loads(body, modules=True)[3][0]
    x = torch.randn(2, 3, 12, 12, dtype=torch.float64)
    assert type(rebuilt) is nn.Sequential and not rebuilt.training and not rebuilt[1].training
    assert rebuilt[0].weight.dtype == torch.float64 and torch.equal(rebuilt(x), model(x))
    with pytest.raises(_wire.MessageError, match="not plain data"):
        _wire.loads(body)  # the grader's side: no models

    class Custom(nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(pickle.PicklingError, match="not a layer the grader sends"):
        _wire.dumps(nn.Sequential(Custom()))
    for args in [("Module", {}, [], {}, False), ("Linear", {"in_features": 2, "out_features": 1}, [nn.ReLU()], {}, False),
                 ("Linear", {"in_features": 2, "out_features": 1}, [], {"weight": "x"}, False)]:
        with pytest.raises(_wire.MessageError):
            _wire.module(*args)


# ------------------------------------------------------------------------------------------
# check_chapter: the isolated grader on the current notebook, where it can be found
# ------------------------------------------------------------------------------------------

def test_check_chapter_grades_the_saved_notebook_under_jupyter(tmp_path, monkeypatch, capsys):
    notebook = write_notebook(tmp_path / "exercises.ipynb", [HEADER, LOOPS["correlate1d"], "check_chapter('01-convolution')"])
    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))
    monkeypatch.delenv("LECTUREPKG_STATIC_OUTPUT", raising=False)
    monkeypatch.delenv("LECTUREPKG_GRADER", raising=False)
    kernel = {"correlate1d": lambda x, w: x}  # what the kernel holds is not what is graded
    results = eval("check_chapter('01-convolution')", {"check_chapter": check_chapter, **kernel})
    out = capsys.readouterr().out
    assert "Official grade: the isolated grader graded the notebook's file as last saved" in out
    assert [r.exercise for r in results][:2] == ["correlate1d", "output_size"]
    assert results[0].passed and results[0].points == 8 and sum(r.points for r in results) == 8
    assert "exercises.ipynb — chapter 01-convolution" in out and "8/46" in out


def test_check_chapter_on_colab_grades_the_notebook_colab_sends(tmp_path, monkeypatch, capsys):
    import types

    notebook = write_notebook(tmp_path / "nb.ipynb", [HEADER, VECTORISED["max_pool2d"]])
    message = types.ModuleType("google.colab._message")
    message.blocking_request = lambda kind, timeout_sec=None, **kw: {"ipynb": json.loads(notebook.read_text())}
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setitem(sys.modules, "google.colab._message", message)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.delenv("LECTUREPKG_STATIC_OUTPUT", raising=False)
    results = check_chapter("01-convolution")
    out = capsys.readouterr().out
    assert "the notebook as it is now in Colab" in out
    assert {r.exercise: r.points for r in results}["max_pool2d"] == 8 and sum(r.points for r in results) == 8


def test_check_chapter_grades_in_the_kernel_while_the_book_is_built(tmp_path, monkeypatch, capsys):
    notebook = write_notebook(tmp_path / "exercises.ipynb", [HEADER])
    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))
    monkeypatch.setenv("LECTUREPKG_STATIC_OUTPUT", "1")
    start = time.monotonic()
    results = eval("check_chapter('01-convolution')", {"check_chapter": check_chapter, "correlate1d": lambda x, w: x})
    out = capsys.readouterr().out
    assert "Graded in this kernel (the book is being built)" in out and "official grade comes from" in out
    assert len(results) == 6 and results[0].points == 0
    assert time.monotonic() - start < 30


# ------------------------------------------------------------------------------------------
# Answers worked out in advance from the shipped test files
# ------------------------------------------------------------------------------------------

# A cell replays the seeded inputs of correlate1d's grading tests (they ship in the wheel)
# and computes their answers with numpy while nothing is guarded; the function looks them up.
ANSWER_TABLE = textwrap.dedent("""
    TABLE = {}
    def _remember(x, w):
        TABLE[x.tobytes(), w.tobytes()] = np.correlate(x, w, "valid")
    _rng = np.random.default_rng(101)
    for W, k in [(10, 3), (7, 2), (16, 5), (9, 4), (12, 6)]:
        _remember(_rng.normal(size=W), _rng.normal(size=k))
    _rng = np.random.default_rng(102)
    _remember(_rng.normal(size=6), _rng.normal(size=6))
    _rng = np.random.default_rng(104)
    _remember(_rng.normal(size=11), _rng.normal(size=4))
""")
LOOKUP = textwrap.dedent("""
    def correlate1d(x, w):
        if len(w) > len(x):
            raise ValueError("the kernel is longer than the signal")
        return TABLE.get((x.tobytes(), w.tobytes()), np.zeros(len(x) - len(w) + 1))
""")


def test_input_rng_is_fixed_in_process_and_secret_under_the_isolated_grader():
    from types import SimpleNamespace

    from lecturepkg.grading import runtime

    assert np.array_equal(runtime.input_rng(7).normal(size=3), np.random.default_rng(7).normal(size=3))
    isolated = SimpleNamespace(exercise=get_exercise("correlate1d"), input_secret=12345)
    with runtime.submitted(isolated):
        secret = runtime.input_rng(7).normal(size=3)
        assert np.array_equal(secret, runtime.input_rng(7).normal(size=3))  # stable within a run
    assert not np.array_equal(secret, np.random.default_rng(7).normal(size=3))


def test_answers_precomputed_from_the_shipped_tests_score_only_in_process(tmp_path):
    namespace = {"np": np}
    exec(ANSWER_TABLE + LOOKUP, namespace)
    in_process = run_exercise("correlate1d", namespace["correlate1d"])  # the control
    looked_up = {t.name for t in in_process.tests if t.passed}
    assert {"random signals match torch", "kernel as long as the signal"} <= looked_up

    path = solved_notebook(tmp_path / "student.ipynb", overrides={"correlate1d": LOOKUP},
                           before=(ANSWER_TABLE,))
    graded = grade(path, *FAST, "--exercise", "correlate1d")
    assert graded.code == 1 and graded.points("correlate1d") < in_process.points
    failed = [m for m in graded.messages("correlate1d") if m]
    assert any("wrong values" in m for m in failed), failed
