"""The grading of every exercise is honest: each grading test fails on the notebook's
unsolved stub, the reference solution passes them all, and every plausible wrong answer
(tests/grading_mutants.py) is caught by at least one test. The command line grader gives the
same verdicts as check() / run_exercise on the same functions, although it runs the student's
code in a separate process (tests/test_grading_isolation.py attacks that process)."""

from __future__ import annotations

import pathlib

import pytest

from grading_mutants import MUTANTS
from grading_notebooks import grade, solve_exercises_page
from lecturepkg.grading import EXERCISES, chapter_exercises, run_exercise
from lecturepkg.grading.notebook import execute_submission
from notebook_files import BOOK

CHAPTERS = sorted({e.chapter for e in EXERCISES.values()})
ALL = [e for c in CHAPTERS for e in chapter_exercises(c)]
IDS = [e.name for e in ALL]


def _notebook(chapter: str) -> pathlib.Path:
    return BOOK / chapter / "exercises.ipynb"


@pytest.fixture(scope="module")
def stubs() -> dict:
    """The functions as the exercises notebooks define them, unsolved."""
    namespace = {}
    for chapter in CHAPTERS:
        found, problems = execute_submission(_notebook(chapter))
        assert not problems, problems
        namespace.update(found)
    return namespace


def test_every_chapter_with_exercises_has_a_notebook_and_its_exercises():
    for chapter in CHAPTERS:
        assert _notebook(chapter).exists()
    assert len(chapter_exercises("01-convolution")) == 6
    assert len(chapter_exercises("02-typology")) == 9
    assert len(chapter_exercises("03-architectures")) == 8
    assert len(chapter_exercises("04-interpretability")) == 7
    assert len(chapter_exercises("05-mask-rcnn")) == 7


@pytest.mark.parametrize("exercise", ALL, ids=IDS)
def test_every_grading_test_fails_on_the_stub(exercise, stubs):
    assert callable(stubs.get(exercise.name)), f"the notebook defines no stub {exercise.name}"
    result = run_exercise(exercise, stubs[exercise.name])
    assert len(result.tests) >= 3, "an exercise needs several tests"
    passing = [t.name for t in result.tests if t.passed]
    assert not passing, f"these tests pass on the unsolved stub: {passing}"
    assert all(t.message for t in result.tests)


@pytest.mark.parametrize("exercise", ALL, ids=IDS)
def test_the_reference_solution_passes_every_test(exercise):
    result = run_exercise(exercise, exercise.reference_function())
    failing = {t.name: t.message for t in result.tests if not t.passed}
    assert not failing, failing
    assert result.points == result.max_points > 0


@pytest.mark.parametrize("exercise", ALL, ids=IDS)
def test_every_mutant_is_caught(exercise):
    mutants = MUTANTS.get(exercise.name, [])
    assert len(mutants) >= 2, f"{exercise.name} needs at least two plausible wrong answers"
    for mutant in mutants:
        result = run_exercise(exercise, mutant)
        caught = [t.name for t in result.tests if not t.passed]
        assert caught, f"mutant {mutant.__name__} ({(mutant.__doc__ or '').strip()}) passes every test"


def test_mutants_cover_exactly_the_exercises():
    assert set(MUTANTS) == set(EXERCISES)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_command_line_grader_agrees_with_run_exercise(chapter, stubs, tmp_path):
    graded = grade(_notebook(chapter), "--quiet", json_path=tmp_path / "stub.json")
    assert graded.code == 1 and graded.results["score"] == 0
    assert "total" in graded.out
    in_process = {f"{e.name}: {t.name}": t.passed
                  for e in chapter_exercises(chapter) for t in run_exercise(e, stubs[e.name]).tests}
    assert {t["name"]: t["status"] == "passed" for t in graded.results["tests"]} == in_process

    solved = solve_exercises_page(_notebook(chapter), chapter, tmp_path / chapter / "exercises.ipynb")
    graded = grade(solved, "--quiet", json_path=tmp_path / "solved.json")
    assert graded.code == 0, graded.out + graded.err
    assert graded.results["score"] == sum(t["max_score"] for t in graded.results["tests"]) > 0
