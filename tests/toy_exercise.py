"""A toy exercise for testing the grading engine itself (not collected by pytest: the
runner passes this file explicitly). The student writes ``toy_double(x)`` returning 2 * x."""

import numpy as np
import pytest

from lecturepkg.grading.feedback import expect_array
from lecturepkg.grading.tests.conftest import submission  # noqa: F401 - the fixture

EXERCISE = "toy_double"


def reference(x):
    return 2 * x


@pytest.mark.points(2)
def test_doubles_values():
    x = np.arange(5.0)
    expect_array(submission_fn()(x), 2 * np.arange(5.0))


def test_keeps_shape(submission):  # noqa: F811
    expect_array(submission(np.ones((2, 3))), np.full((2, 3), 2.0))


def submission_fn():
    from lecturepkg.grading import runtime

    return runtime.submission_for(EXERCISE)
