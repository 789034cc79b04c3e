"""Graded exercises: pytest tests shipped with the package, run three ways.

* ``check("correlate1d", correlate1d)`` in a notebook prints per-test verdicts and points;
* ``python -m lecturepkg.grading exercises.ipynb`` grades a whole notebook (or ``.py``) and
  prints a score table, exiting non-zero unless everything passes (``--json`` writes a
  Gradescope-style ``results.json``);
* ``pytest lecturepkg/grading/tests`` runs the same tests against the reference solutions.
"""

from lecturepkg.grading.check import check
from lecturepkg.grading.exercises import EXERCISES, chapter_exercises, get_exercise
from lecturepkg.grading.runner import ExerciseResult, TestResult, run_exercise

__all__ = ["check", "run_exercise", "EXERCISES", "chapter_exercises", "get_exercise",
           "ExerciseResult", "TestResult"]
