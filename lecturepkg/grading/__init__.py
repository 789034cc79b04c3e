"""Graded exercises: pytest tests shipped with the package, run three ways.

* ``check("correlate1d", correlate1d)`` in a notebook prints per-test verdicts and points,
  and ``check_chapter("01-convolution")`` in the notebook's last cell grades the whole
  chapter in the running kernel and prints the command line grader's score table;
* ``python -m lecturepkg.grading exercises.ipynb`` grades a whole notebook (or ``.py``) and
  prints a score table, exiting non-zero unless everything passes (``--json`` writes a
  Gradescope-style ``results.json``);
* ``pytest lecturepkg/grading/tests`` runs the same tests against the reference solutions.
"""

from lecturepkg.grading.check import check, check_chapter, grade_namespace
from lecturepkg.grading.exercises import EXERCISES, chapter_exercises, get_exercise
from lecturepkg.grading.runner import ExerciseResult, TestResult, run_exercise

__all__ = ["check", "check_chapter", "grade_namespace", "run_exercise", "EXERCISES", "chapter_exercises", "get_exercise",
           "ExerciseResult", "TestResult"]
