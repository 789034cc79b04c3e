"""Graded exercises: pytest tests shipped with the package, run three ways.

* ``check("correlate1d", correlate1d)`` in a notebook prints per-test verdicts and points, in
  the notebook's own kernel: quick feedback;
* ``python -m lecturepkg.grading exercises.ipynb`` grades a whole notebook (or ``.py``), the
  official grade: the student's code runs in a separate process
  (:mod:`lecturepkg.grading.isolated`), the tests and their expected values in the grader's;
  it prints a score table and exits 0 (all passed), 1 (some failed) or 2 (could not grade);
  ``--json`` writes a Gradescope-style ``results.json``. ``check_chapter("01-convolution")`` in
  a notebook's last cell runs it on the notebook itself where it can (Colab, Jupyter);
* ``pytest lecturepkg/grading/tests`` runs the same tests against the reference solutions.
"""

from lecturepkg.grading.checking import check, check_chapter, grade_namespace
from lecturepkg.grading.exercises import EXERCISES, chapter_exercises, get_exercise
from lecturepkg.grading.runner import ExerciseResult, TestResult, run_exercise

__all__ = ["check", "check_chapter", "grade_namespace", "run_exercise", "EXERCISES", "chapter_exercises", "get_exercise",
           "ExerciseResult", "TestResult"]
