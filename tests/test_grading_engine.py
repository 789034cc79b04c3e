"""The grading engine: verdicts and points, timeouts, forbidden library calls, inputs changed
in place, the student's own traceback, check() in its three forms, and the command line
grader's table, exit status and JSON."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import nbformat
import numpy as np
import pytest

from lecturepkg.grading import check, run_exercise
from lecturepkg.grading.checking import FEEDBACK_NOTE
from lecturepkg.grading.exercises import EXERCISES
from lecturepkg.grading.spec import Exercise

TOY = Exercise(name="toy_double", chapter="toy", title="Toy", tests="toy_exercise",
               reference="toy_exercise:reference", forbidden=("numpy:correlate", "numpy:convolve"),
               timeout=0.5)


def verdicts(func):
    result = run_exercise(TOY, func)
    return {t.name: t for t in result.tests}, result


def test_correct_function_gets_all_points():
    tests, result = verdicts(lambda x: x * 2)
    assert result.passed and result.points == result.max_points == 3
    assert tests["doubles values"].max_points == 2 and tests["doubles values"].message == ""


def test_wrong_values_are_described():
    tests, result = verdicts(lambda x: x * 3)
    assert not result.passed and result.points == 0
    message = tests["doubles values"].message
    assert "wrong values" in message and "first differing index (1,): expected 2, got 3" in message


def test_infinite_loop_is_stopped_with_a_clear_message():
    def spins(x):
        while True:
            pass

    start = time.perf_counter()
    tests, _ = verdicts(spins)
    assert time.perf_counter() - start < 5
    assert all("did not finish within 0.5 s" in t.message for t in tests.values())


def test_forbidden_library_call_is_blocked_under_any_name():
    from numpy import correlate as corr  # a student who imported it by name

    def via_module(x):
        return np.correlate(x.ravel(), [2.0], "valid").reshape(x.shape)

    def via_name(x):
        return corr(x.ravel(), [2.0], "valid").reshape(x.shape)

    for func in (via_module, via_name):
        tests, _ = verdicts(func)
        message = tests["doubles values"].message
        assert "numpy.correlate is not available while 'toy_double' is graded" in message
        assert "Traceback (your code)" in message
    assert np.correlate is not None and np.correlate([1.0], [2.0])[0] == 2.0  # restored
    assert corr([1.0], [2.0])[0] == 2.0


def test_changing_the_input_in_place_is_caught():
    def in_place(x):
        x *= 2
        return x

    tests, _ = verdicts(in_place)
    assert "changed its argument 'x' in place" in tests["keeps shape"].message


def test_changing_an_array_inside_a_list_or_dict_argument_is_caught():
    """A list of arrays (depth_concat) or a dict of tensors (a block's state dict) is compared
    element by element after the call: writing into one of its arrays is caught, and so is a
    new list or dict (``==`` on arrays would not say)."""
    import torch

    from lecturepkg.grading.sandbox import Submission

    spec = Exercise(name="pair", chapter="toy", title="Toy", tests="toy_exercise", reference="toy_exercise:reference")

    def writes_list(maps):
        maps[1][0] = 7.0
        return 0

    def writes_dict(params):
        params["w"].mul_(2)
        return 0

    def replaces_item(maps):
        maps[0] = maps[0] + 0
        return 0

    for func, argument in [(writes_list, [np.zeros(3), np.zeros(2)]),
                           (writes_dict, {"w": torch.ones(2, 2), "n": 3})]:
        with pytest.raises(AssertionError, match="changed its argument .* in place.*copy an array or tensor"):
            Submission(func, spec)(argument)
    assert Submission(replaces_item, spec)([np.zeros(3)]) == 0  # same values: unchanged
    assert Submission(lambda maps: 0, spec)([np.zeros(3), (np.ones(2), "a")]) == 0


def test_check_chapter_results_are_not_echoed_by_a_notebook(monkeypatch, capsys):
    """The score table is printed; the list check_chapter returns shows nothing more when it
    is the value of a notebook's last line (IPython's display formatter)."""
    from IPython.core.interactiveshell import InteractiveShell

    from lecturepkg.grading.checking import check_chapter

    monkeypatch.setitem(EXERCISES, "toy_double", TOY)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    results = check_chapter("toy")
    capsys.readouterr()
    assert isinstance(results, list) and [r.exercise for r in results] == ["toy_double"]
    formatter = InteractiveShell.instance().display_formatter
    assert formatter.format(results) == ({}, {})
    assert formatter.format(list(results))[0]  # a plain list would be shown


def test_student_exception_shows_the_students_lines_only():
    def helper(x):
        return x / 0 if isinstance(x, int) else x[10, 10]

    def buggy(x):
        return helper(x)

    tests, _ = verdicts(buggy)
    message = tests["keeps shape"].message
    assert "toy_double raised IndexError" in message
    assert "in buggy" in message and "in helper" in message and "x[10, 10]" in message
    assert "lecturepkg/grading" not in message and "_pytest" not in message


def test_missing_function_and_unimplemented_stub():
    tests, _ = verdicts(None)
    assert all("no function called toy_double" in t.message for t in tests.values())

    def stub(x):
        raise NotImplementedError("toy_double: write your solution here")

    tests, _ = verdicts(stub)
    assert all("is not written yet" in t.message for t in tests.values())


def test_wrong_signature_is_explained():
    tests, _ = verdicts(lambda x, y: x)
    assert "cannot be called as the exercise requires" in tests["keeps shape"].message


def test_check_prints_verdicts_in_all_three_forms(monkeypatch, capsys):
    monkeypatch.setitem(EXERCISES, "toy_double", TOY)

    def toy_double(x):
        return x + x

    check("toy_double", toy_double)
    first = capsys.readouterr().out
    assert "toy_double (Toy): 3/3 points" in first and "✓ doubles values" in first
    assert first.rstrip().splitlines()[-1] == FEEDBACK_NOTE  # the official grade is the CLI's
    assert "official grade comes from the isolated command line grader" in FEEDBACK_NOTE
    check(toy_double)
    assert capsys.readouterr().out == first
    globals()["toy_double"] = lambda x: x  # check("name") looks the function up in the caller
    try:
        check("toy_double")
    finally:
        del globals()["toy_double"]
    out = capsys.readouterr().out
    assert "0/3 points" in out and "✗ doubles values" in out and "expected" in out


def test_check_rejects_unknown_names_and_bad_timeouts(monkeypatch):
    with pytest.raises(ValueError, match="name: no exercise called 'nope'"):
        check("nope", lambda x: x)
    monkeypatch.setitem(EXERCISES, "toy_double", TOY)
    with pytest.raises(ValueError, match="timeout"):
        check("toy_double", lambda x: x, timeout=-1)
    with pytest.raises(TypeError, match="func"):
        check("toy_double", 3)


def _notebook(path, body):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell('import sys\nif "google.colab" in sys.modules:\n    %pip install -q lecturepkg'),
        nbformat.v4.new_code_cell("import numpy as np\nfrom lecturepkg.grading import check"),
        nbformat.v4.new_code_cell(body),
        nbformat.v4.new_code_cell('check("correlate1d", correlate1d)'),
        nbformat.v4.new_code_cell("1 / 0  # a broken cell does not stop grading"),
    ]
    nbformat.write(nb, path)


def test_command_line_grader_scores_a_notebook(tmp_path):
    from lecturepkg.grading.solutions import ch01

    import inspect

    good, bad = tmp_path / "good.ipynb", tmp_path / "bad.ipynb"
    _notebook(good, inspect.getsource(ch01.correlate1d))
    _notebook(bad, "def correlate1d(x, w):\n    return np.convolve(x, w, 'valid')\n")
    cmd = [sys.executable, "-m", "lecturepkg.grading", "--chapter", "01-convolution", "--quiet"]
    run = lambda path, *extra: subprocess.run([*cmd, str(path), *extra], capture_output=True, text=True)
    out_json = tmp_path / "results.json"
    ran = run(bad, "--json", str(out_json))
    assert ran.returncode == 1, ran.stderr
    assert "code cell 5 raised ZeroDivisionError" in ran.stderr
    table = ran.stdout
    assert "correlate1d" in table and "total" in table and "output_size" in table
    results = json.loads(out_json.read_text())
    names = [t["name"] for t in results["tests"]]
    assert any(n.startswith("correlate1d:") for n in names)
    blocked = [t for t in results["tests"] if t["name"].startswith("correlate1d:")]
    assert all(t["score"] == 0 for t in blocked)
    assert any("numpy.convolve is not available" in t["output"] for t in blocked)
    assert results["score"] == 0
    good_run = run(good, "--json", str(out_json))
    scored = json.loads(out_json.read_text())
    c1 = [t for t in scored["tests"] if t["name"].startswith("correlate1d:")]
    assert c1 and all(t["score"] == t["max_score"] for t in c1)
    assert good_run.returncode == 1  # the other exercises are still missing
    assert run(tmp_path / "missing.ipynb").returncode == 2


def test_a_notebook_namespace_with_none_globals_is_graded():
    """Notebooks and __main__ scripts have globals such as __package__ = None."""
    namespace = {"__name__": "__main__", "__package__": None, "__spec__": None, "nothing": None}
    exec("import numpy as np\ndef toy_double(x):\n    return np.multiply(x, 2)\n", namespace)
    _, result = verdicts(namespace["toy_double"])
    assert result.passed, [t.message for t in result.tests]
    assert namespace["__package__"] is None and namespace["nothing"] is None


def test_check_chapter_grades_the_callers_namespace_and_prints_the_score_table(monkeypatch, capsys):
    """Without a notebook file (no Jupyter, no Colab) check_chapter grades in the kernel, and
    says so; tests/test_grading_isolation.py covers the isolated path."""
    monkeypatch.setitem(EXERCISES, "toy_double", TOY)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    notebook = {"__name__": "__main__"}
    exec("from lecturepkg.grading import check_chapter\n"
         "def toy_double(x):\n    return x * 2\n"
         "results = check_chapter('toy')\n", notebook)
    table = capsys.readouterr().out
    assert [r.exercise for r in notebook["results"]] == ["toy_double"]
    assert notebook["results"][0].passed
    assert "chapter toy" in table and "toy_double" in table and "3/3" in table and "total" in table
    assert "Graded in this kernel (no notebook file found" in table and FEEDBACK_NOTE in table
    exec("def toy_double(x):\n    return x * 3\nresults = check_chapter('toy', quiet=False)\n", notebook)
    report = capsys.readouterr().out
    assert not notebook["results"][0].passed and "wrong values" in report and "0/3" in report
    exec("del toy_double\nresults = check_chapter('toy')\n", notebook)
    assert notebook["results"][0].points == 0  # a missing function scores nothing, no crash
    capsys.readouterr()
    with pytest.raises(ValueError, match="chapter: no exercises for 'nope'"):
        exec("check_chapter('nope')", notebook)


def test_check_chapter_does_nothing_under_the_command_line_grader(monkeypatch, capsys):
    from lecturepkg.grading.checking import GRADER_ENV, check_chapter

    monkeypatch.setitem(EXERCISES, "toy_double", TOY)
    monkeypatch.setenv(GRADER_ENV, "1")
    assert check_chapter("toy") is None and capsys.readouterr().out == ""


def test_expect_raises_passes_the_graders_own_failures_through():
    from lecturepkg.grading.feedback import GradingFailure, expect_raises
    from lecturepkg.grading.sandbox import StudentError

    def timed_out(*args):
        raise GradingFailure("not graded: the previous call timed out after 10 s")

    with pytest.raises(GradingFailure, match="^not graded: the previous call timed out"):
        expect_raises(ValueError, timed_out, 1)

    def wrong_error(*args):
        raise StudentError("f raised TypeError: t", TypeError("t"))

    with pytest.raises(GradingFailure, match="should raise ValueError, but raised TypeError: t"):
        expect_raises(ValueError, wrong_error, 1)


def test_a_library_not_imported_yet_has_its_import_refused_and_a_missing_one_blocks_nothing():
    """captum, pytorch-grad-cam and lime are not imported just to block them (seconds): while
    the call runs, importing them is refused, and afterwards they import as usual. A library
    that is not installed (captum on Colab) has nothing to block."""
    import textwrap

    code = textwrap.dedent("""
        import sys
        from lecturepkg.grading import run_exercise
        from lecturepkg.grading._guard import resolve

        def saliency_map(model, inputs, target):
            from captum.attr import Saliency
            return Saliency(model).attribute(inputs, target=target).abs().amax(dim=1)

        result = run_exercise("saliency_map", saliency_map)
        assert result.points == 0, result.points
        assert all("importing captum is not available while 'saliency_map' is graded" in t.message
                   for t in result.tests), [t.message for t in result.tests]
        assert not any(m == "captum" or m.startswith("captum.") for m in sys.modules)
        assert not any(m == "lime" or m.startswith("lime.") for m in sys.modules)
        import captum.attr  # the import works again after the call
        assert resolve("no_such_library_for_lecturepkg:*") == []
        print("ok")
        """)
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert ran.stdout.strip().endswith("ok"), ran.stderr[-3000:]
