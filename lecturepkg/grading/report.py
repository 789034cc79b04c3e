"""Score tables for people (a notebook or a terminal) and for autograders (JSON)."""

from __future__ import annotations

import textwrap

from lecturepkg.grading.runner import ExerciseResult

PASS, FAIL = "✓", "✗"


def _pts(x: float) -> str:
    return f"{x:g}"


def exercise_report(result: ExerciseResult) -> str:
    """Per-test verdicts of one exercise, with what went wrong under each failed test."""
    lines = [f"{result.exercise} ({result.title}): {_pts(result.points)}/{_pts(result.max_points)} points"]
    width = max((len(t.name) for t in result.tests), default=0)
    for t in result.tests:
        mark = PASS if t.passed else FAIL
        lines.append(f"  {mark} {t.name:<{width}}  {_pts(t.points)}/{_pts(t.max_points)}")
        if t.message:
            lines.append(textwrap.indent(t.message, "      "))
    if result.passed:
        lines.append("  All tests pass.")
    return "\n".join(lines)


def score_table(results: list[ExerciseResult]) -> str:
    """One line per exercise and the total, as the command line grader prints it."""
    width = max([len(r.exercise) for r in results] + [len("total")])
    lines = [f"{'exercise':<{width}}  {'tests':>7}  {'points':>9}", "-" * (width + 20)]
    for r in results:
        ok = sum(t.passed for t in r.tests)
        lines.append(f"{r.exercise:<{width}}  {ok:>3}/{len(r.tests):<3}  "
                     f"{_pts(r.points):>4}/{_pts(r.max_points):<4} {PASS if r.passed else FAIL}")
    lines.append("-" * (width + 20))
    total, maximum = sum(r.points for r in results), sum(r.max_points for r in results)
    lines.append(f"{'total':<{width}}  {'':>7}  {_pts(total):>4}/{_pts(maximum):<4}")
    return "\n".join(lines)


def gradescope_json(results: list[ExerciseResult], output: str | None = None) -> dict:
    """Results in the format of Gradescope's autograder ``results.json``; its score is the
    score table's total. ``output`` is a text shown above the tests."""
    tests = [
        {"name": f"{r.exercise}: {t.name}", "score": t.points, "max_score": t.max_points,
         "status": "passed" if t.passed else "failed", "output": t.message}
        for r in results for t in r.tests
    ]
    return {"score": sum(r.points for r in results), **({"output": output} if output else {}), "tests": tests}


def not_graded_json(reason: str) -> dict:
    """``results.json`` when the grader could not grade: score 0, and why."""
    return {"score": 0, "output": f"The grader could not grade this submission: {reason}", "tests": []}
