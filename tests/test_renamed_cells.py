"""A test cell whose nbgrader grade id the student changed is restored from the course, like a
deleted one, and graded in both modes (in the kernel and with the trusted checks), with its
feedback page and a note that says so."""
import json
import shutil

import nbformat
import pytest

from grading.cli import main
from grading.course.assignments import get_assignment
from grading.course.pipeline import feedback_page
from grading.course.submissions import cell_grade_id
from problem_class import ASSIGNMENT, FULL, cell_scores, csv_rows
from trusted_class import _build_course_folder, make_submission

pytestmark = [pytest.mark.corpus, pytest.mark.slow]

RENAMED, NEW_NAME = "test_2_2_hidden", "my_hidden_test"
NOTE = f"test cell {NEW_NAME!r} is not one of the course's"


def _rename(path, old, new):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if cell_grade_id(cell) == old:
            cell["metadata"]["nbgrader"]["grade_id"] = new
    path.write_text(json.dumps(notebook, indent=1), encoding="utf-8")


@pytest.fixture(scope="module")
def renamed_class(tmp_path_factory, books):
    """A built course (not graded yet) and a class of one student whose test cell was renamed."""
    root = tmp_path_factory.mktemp("renamed_class")
    assignment = get_assignment(ASSIGNMENT)
    release = _build_course_folder(root / "pristine", assignment)
    folder = root / "submissions" / "renamed_test_cell"
    make_submission(release, folder, "honest", assignment)
    _rename(folder / f"{ASSIGNMENT}.ipynb", RENAMED, NEW_NAME)
    return root


@pytest.mark.parametrize("mode", ["trusted", "in_kernel"])
def test_a_renamed_test_cell_is_restored_and_graded(renamed_class, mode, tmp_path, capsys):
    course = tmp_path / "course"
    shutil.copytree(renamed_class / "pristine", course, symlinks=True)
    options = ["--in-kernel"] if mode == "in_kernel" else ["--workers", "1"]
    status = main(["grade", str(course), ASSIGNMENT, "--submissions", str(renamed_class / "submissions"),
                   "--csv", str(tmp_path / "grades.csv"), *options])
    out = capsys.readouterr().out
    assert status == 0, out
    assert cell_scores(tmp_path / "grades-cells.csv") == {"renamed_test_cell": FULL}
    problems = {row["student_id"]: row for row in csv_rows(tmp_path / "grades-problems.csv")}
    assert problems["renamed_test_cell"]["graded"] == "yes"
    assert NOTE in problems["renamed_test_cell"]["reason"] and f"{RENAMED} restored" in problems["renamed_test_cell"]["reason"]
    page = feedback_page(course, get_assignment(ASSIGNMENT), "renamed_test_cell")
    assert page.is_file(), out
    assert RENAMED in page.read_text(encoding="utf-8")
    graded = nbformat.read(course / "autograded" / "renamed_test_cell" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                           as_version=4)
    ids = [cell_grade_id(cell) for cell in graded.cells]
    assert ids.count(RENAMED) == 1 and NEW_NAME not in ids
    if mode == "trusted":  # the student's page says so too
        assert NOTE in graded.cells[0].source and f"{RENAMED} restored" in graded.cells[0].source
