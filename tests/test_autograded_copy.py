"""nbgrader's own autograde (the command, formgrader's Autograde button) of a trusted-graded
course is refused before it touches any file; and a graded copy removed all the same (by hand, or
an nbgrader without the refusal) is noticed by the next `backprop-labs grade`, which grades that
student again instead of reporting them unchanged."""
import shutil

import pytest

from grading.cli import main
from grading.course.assignments import get_assignment
from grading.course.nbgrader_api import nbgrader_api
from grading.course.pipeline import cell_scores, feedback_page, run_nbgrader
from problem_class import ASSIGNMENT
from trusted_class import _build_course_folder, graded_files, make_submission

pytestmark = [pytest.mark.corpus, pytest.mark.slow]

STUDENT = "honest"
REFUSAL = f"{STUDENT} was graded with the trusted checks"


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory, books):
    root = tmp_path_factory.mktemp("graded_course")
    assignment = get_assignment(ASSIGNMENT)
    release = _build_course_folder(root / "course", assignment)
    make_submission(release, root / "submissions" / STUDENT, "honest", assignment)
    status = main(["grade", str(root / "course"), ASSIGNMENT, "--submissions", str(root / "submissions"),
                   "--csv", str(root / "grades.csv"), "--workers", "1"])
    assert status == 0
    return root / "course"


def test_nbgrader_autograde_is_refused_before_it_removes_the_graded_copy(graded_course):
    course, assignment = graded_course, get_assignment(ASSIGNMENT)
    files, scores = graded_files(course), cell_scores(course, assignment)[STUDENT]
    assert f"autograded/{STUDENT}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb" in files
    result = run_nbgrader(course, "autograde", ASSIGNMENT, "--student", STUDENT, "--force")   # the command
    assert result.returncode != 0 and REFUSAL in result.stdout + result.stderr
    with nbgrader_api(course) as api:                                       # what formgrader's button calls
        answer = api.autograde(ASSIGNMENT, STUDENT, force=True, create=True)
    assert not answer["success"] and REFUSAL in answer["log"]
    assert graded_files(course) == files
    assert cell_scores(course, assignment)[STUDENT] == scores


def test_a_removed_graded_copy_is_graded_again_not_reported_unchanged(graded_course, capsys):
    course, assignment = graded_course, get_assignment(ASSIGNMENT)
    scores = cell_scores(course, assignment)[STUDENT]
    shutil.rmtree(course / "autograded" / STUDENT / ASSIGNMENT, ignore_errors=True)
    feedback_page(course, assignment, STUDENT).unlink(missing_ok=True)
    capsys.readouterr()
    assert main(["grade", str(course), ASSIGNMENT, "--student", STUDENT, "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "graded 1 with the trusted checks, 0 unchanged" in out, out
    assert (course / "autograded" / STUDENT / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()
    assert feedback_page(course, assignment, STUDENT).is_file()
    assert cell_scores(course, assignment)[STUDENT] == scores
