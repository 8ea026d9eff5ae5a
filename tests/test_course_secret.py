"""Each course draws its own trusted cases, from a secret that `course build` writes beside its config
(issue 27, item 3): a table of answers made from another course, or from the wheel alone, does not match."""
import stat

import numpy as np
import pytest

from grading.course.assignments import all_assignments
from grading.course.config import write_config
from grading.course.pipeline import CourseError
from grading.course.case_secret import SECRET_NAME, read_course_secret
from grading.trusted.cases import course_cases
from grading.trusted.check_spec import trusted_checks
from grading.trusted.parallel import grade_class

# Cases that draw nothing: the digits runs read the lab's fixed data, the worked point is the lab's own.
SEED_FREE = {("digits_trajectories", "trajectories"), ("digits_accuracies", "accuracies"),
             ("worked_graph_by_hand", "worked-point")}


def _drawn():
    return {(name, case.key): case.arrays() for name, check in trusted_checks().items() for case in check.cases}


def _same(first, second):
    return first.keys() == second.keys() and all(np.array_equal(first[key], second[key]) for key in first)


@pytest.fixture(scope="module")
def two_courses(tmp_path_factory):
    courses = [tmp_path_factory.mktemp(name) for name in ("course_a", "course_b")]
    for course in courses:
        write_config(course, all_assignments())   # course build's first step writes the secret
    return courses


def test_build_writes_an_owner_only_secret_and_keeps_it(two_courses):
    course = two_courses[0]
    path = course / SECRET_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secret = read_course_secret(course)
    write_config(course, all_assignments())          # building again keeps the cases grades were drawn with
    assert read_course_secret(course) == secret
    assert read_course_secret(course) != read_course_secret(two_courses[1])


def test_two_courses_draw_different_cases_and_one_course_the_same_cases(two_courses):
    with course_cases(two_courses[0]):
        first = _drawn()
    with course_cases(two_courses[1]):
        second = _drawn()
    with course_cases(two_courses[0]):
        again = _drawn()
    without_course = _drawn()   # what the wheel alone can draw: the library's fixed seeds
    assert all(_same(first[key], again[key]) for key in first)
    differ = {key for key in first if not _same(first[key], second[key]) and not _same(first[key], without_course[key])}
    assert set(first) - differ == SEED_FREE
    for key in SEED_FREE:   # they really draw nothing: the same everywhere
        assert _same(first[key], second[key]) and _same(first[key], without_course[key])


def test_grading_a_course_without_its_secret_is_refused_before_any_student(tmp_path):
    course = tmp_path / "old_course"
    write_config(course, all_assignments())
    (course / SECRET_NAME).unlink()
    with pytest.raises(CourseError, match="course build"):
        grade_class(course, "backprop_mlp", students=[], progress=False)
