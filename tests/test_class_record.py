"""The instructor's records never lose a student, a score or a submission (issue 26), on classes that
need no sandboxed run: every student here is refused or cannot be graded, so the grading command
decides everything before a notebook runs.

* a ``--student`` run, or one without ``--submissions``, writes the grade files of the whole class;
* another assignment's folder is refused before anything is written, and a re-collect of the same
  files changes nothing;
* a notebook that cannot be read scores 0, the problem column naming why;
* a student of the course who handed in nothing for this assignment is "not submitted", not ungradable.
"""
import csv
import os
import shutil

import nbformat
import pytest

from grading.cli import main
from grading.course.assignments import get_assignment
from trusted_class import _build_course_folder

# The trusted path (the one with the reported bugs) checks for root before touching a student.
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="trusted grading refuses to start without root")

BACKPROP, GLM = get_assignment("backprop_mlp"), get_assignment("glm")
NOTEBOOK = f"{BACKPROP.name}.ipynb"
TRUNCATED = "backprop_mlp.ipynb is not a notebook: not JSON text"
# student -> the start of the reason the grade files give; none of them reaches a sandboxed run
CLASS = {
    "empty": "backprop_mlp.ipynb is empty (0 bytes)",
    "truncated": TRUNCATED,
    "no_notebook": "no backprop_mlp.ipynb in the submission (it holds my_work.ipynb",
    "glm_notebook": "backprop_mlp.ipynb holds the notebook of assignment glm, not backprop_mlp: not collected",
    "with space": "student id 'with space' refused",
}


def _rows(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """A built course of backprop_mlp (release made, nothing collected), copied by each test."""
    root = tmp_path_factory.mktemp("records")
    release = _build_course_folder(root / "course", BACKPROP)
    return root / "course", release


def _write_class(release, submissions):
    for student in CLASS:
        shutil.copytree(release, submissions / student)
    (submissions / "empty" / NOTEBOOK).write_bytes(b"")
    text = (submissions / "truncated" / NOTEBOOK).read_text(encoding="utf-8")
    (submissions / "truncated" / NOTEBOOK).write_text(text[: len(text) // 2], encoding="utf-8")  # cut mid-save
    (submissions / "no_notebook" / NOTEBOOK).rename(submissions / "no_notebook" / "my_work.ipynb")
    shutil.copy(GLM.notebook, submissions / "glm_notebook" / NOTEBOOK)


@pytest.fixture
def course(released, tmp_path):
    course = tmp_path / "course"
    shutil.copytree(released[0], course, symlinks=True)
    _write_class(released[1], tmp_path / "submissions")
    return course, tmp_path / "submissions"


def _grade(course, *options):
    return main(["grade", str(course), BACKPROP.name, *options])


def _class_rows(course):
    grades = {row["student_id"]: row["problem"] for row in _rows(course / "grades" / f"{BACKPROP.name}.csv")}
    problems = {row["student_id"]: (row["graded"], row["reason"])
                for row in _rows(course / "grades" / f"{BACKPROP.name}-problems.csv")}
    return grades, problems


def _files_of(folder):
    return {path.relative_to(folder).as_posix(): (path.read_bytes(), path.stat().st_mtime_ns)
            for path in sorted(folder.rglob("*")) if path.is_file()}


def test_every_run_writes_the_whole_class_whatever_part_it_grades(course, capsys):
    course, submissions = course
    assert _grade(course, "--submissions", str(submissions)) == 1
    grades, problems = _class_rows(course)
    assert sorted(grades) == sorted(CLASS) and sorted(problems) == sorted(CLASS)
    for student, reason in CLASS.items():
        assert grades[student].startswith(reason), (student, grades[student])
        assert problems[student] == ("no", grades[student])
    files = [(course / "grades" / f"{BACKPROP.name}{end}").read_bytes() for end in (".csv", "-cells.csv",
                                                                                  "-problems.csv")]
    capsys.readouterr()
    for options in (["--student", "empty"], [], ["--submissions", str(submissions), "--student", "truncated"]):
        assert _grade(course, *options) == 1, options   # the class still has students not graded
        assert [(course / "grades" / f"{BACKPROP.name}{end}").read_bytes()
                for end in (".csv", "-cells.csv", "-problems.csv")] == files, options
        out = capsys.readouterr().out
        assert all(f"not graded {student}: " in out for student in CLASS), out


def test_a_renamed_folder_and_a_mended_notebook_leave_the_record(course):
    course, submissions = course
    assert _grade(course, "--submissions", str(submissions)) == 1
    (submissions / "with space").rename(submissions / "with_space")   # renamed as the refusal said
    (submissions / "with_space" / NOTEBOOK).write_bytes(b"")   # (and emptied: nothing here runs a notebook)
    assert _grade(course, "--submissions", str(submissions), "--student", "with_space") == 1
    grades, _ = _class_rows(course)
    assert "with space" not in grades and grades["with_space"].startswith("backprop_mlp.ipynb is empty")
    assert grades["empty"].startswith(CLASS["empty"])   # not looked at in that run: kept


def test_a_notebook_cut_mid_save_scores_0_and_the_problem_column_says_why(course):
    course, submissions = course
    assert _grade(course, "--submissions", str(submissions), "--student", "truncated") == 1
    row = next(row for row in _rows(course / "grades" / f"{BACKPROP.name}.csv") if row["student_id"] == "truncated")
    assert float(row["score"]) == 0.0 and row["problem"].startswith(TRUNCATED)
    assert not (course / "autograded" / "truncated").exists()


def test_a_folder_of_another_assignment_is_refused_before_anything_is_written(course, tmp_path, capsys):
    course, submissions = course
    assert _grade(course, "--submissions", str(submissions)) == 1
    before = _files_of(course / "submitted")
    glm_folder = tmp_path / "glm_submissions"
    for student in ("empty", "truncated", "newcomer"):   # the release of glm as the students handed it in
        (glm_folder / student).mkdir(parents=True)
        shutil.copy(GLM.notebook, glm_folder / student / f"{GLM.name}.ipynb")
    capsys.readouterr()
    assert _grade(course, "--submissions", str(glm_folder)) == 2
    out = capsys.readouterr().out.strip()
    assert out.startswith(f"grade: {glm_folder} holds another assignment's work, not backprop_mlp's (3 folder(s), "
                          "e.g. empty: no backprop_mlp.ipynb, and glm.ipynb is the notebook of assignment glm)")
    assert "nothing was collected" in out and out.count("\n") == 0
    assert _files_of(course / "submitted") == before


def test_one_student_handing_in_another_assignment_keeps_the_submission_collected_before(released, tmp_path):
    from grading.course.submissions import collect_submissions

    course = tmp_path / "course"
    shutil.copytree(released[0], course, symlinks=True)
    submissions = tmp_path / "submissions"
    for student in ("ada", "bob"):
        shutil.copytree(released[1], submissions / student)
    collect_submissions(course, BACKPROP, submissions)
    before = _files_of(course / "submitted" / "ada")
    os.unlink(submissions / "ada" / NOTEBOOK)
    (submissions / "ada" / GLM.name).mkdir()   # glm's work, in a folder named after it
    shutil.copy(GLM.notebook, submissions / "ada" / GLM.name / f"{GLM.name}.ipynb")
    collection = collect_submissions(course, BACKPROP, submissions)
    assert collection.foreign == {"ada": "no backprop_mlp.ipynb, and glm/glm.ipynb is the notebook of assignment glm"}
    assert collection.students == ["bob"]
    assert _files_of(course / "submitted" / "ada") == before


def test_collecting_the_same_files_again_changes_nothing(released, tmp_path):
    from grading.course.submissions import cell_grade_id, collect_submissions, prepare_submission

    course = tmp_path / "course"
    shutil.copytree(released[0], course, symlinks=True)
    folder = tmp_path / "submissions" / "ada"
    shutil.copytree(released[1], folder)
    notebook = nbformat.read(folder / NOTEBOOK, as_version=4)
    copy = next(cell for cell in notebook.cells if cell_grade_id(cell) == "test_2_2_hidden")
    notebook.cells.append(nbformat.from_dict(dict(copy, id="pasted-again")))   # repaired on the submitted copy
    nbformat.write(notebook, folder / NOTEBOOK)
    collect_submissions(course, BACKPROP, folder.parent)
    assert prepare_submission(course, BACKPROP, "ada")[1] == [
        "removed a second copy of graded cell test_2_2_hidden (the first copy is graded)"]
    submitted = _files_of(course / "submitted" / "ada")
    assert collect_submissions(course, BACKPROP, folder.parent).students == ["ada"]
    assert _files_of(course / "submitted" / "ada") == submitted   # same bytes, same times, same submission time
    (folder / "notes.txt").write_text("one more file\n", encoding="utf-8")
    collect_submissions(course, BACKPROP, folder.parent)
    assert (course / "submitted" / "ada" / BACKPROP.name / "notes.txt").is_file()


def test_a_change_that_the_repair_undoes_is_the_same_submission(released, tmp_path):
    """The second copy of a pasted cell is dropped when graded: a student who edits only that copy
    hands in the submission graded before, which stays as it is (formgrader compares its timestamp)."""
    from grading.course.submissions import cell_grade_id, collect_submissions, prepare_submission

    course = tmp_path / "course"
    shutil.copytree(released[0], course, symlinks=True)
    folder = tmp_path / "submissions" / "ada"
    shutil.copytree(released[1], folder)
    notebook = nbformat.read(folder / NOTEBOOK, as_version=4)
    copy = next(cell for cell in notebook.cells if cell_grade_id(cell) == "test_2_2_hidden")
    notebook.cells.append(nbformat.from_dict(dict(copy, id="pasted-again")))
    nbformat.write(notebook, folder / NOTEBOOK)
    collect_submissions(course, BACKPROP, folder.parent)
    assert prepare_submission(course, BACKPROP, "ada")[1]   # repaired in submitted/
    submitted = _files_of(course / "submitted" / "ada")
    notebook.cells[-1].source += "\n# my own line in the pasted copy"
    nbformat.write(notebook, folder / NOTEBOOK)
    assert collect_submissions(course, BACKPROP, folder.parent).students == ["ada"]
    assert _files_of(course / "submitted" / "ada") == submitted   # same bytes, same times, same submission time
    assert not list((course / ".collected").rglob("*.incoming"))
    notebook.cells[0].source += "\n# a real change"
    nbformat.write(notebook, folder / NOTEBOOK)
    collect_submissions(course, BACKPROP, folder.parent)
    after = _files_of(course / "submitted" / "ada")
    assert after[f"{BACKPROP.name}/timestamp.txt"][0] != submitted[f"{BACKPROP.name}/timestamp.txt"][0]
    assert after[f"{BACKPROP.name}/{NOTEBOOK}"][0] == (folder / NOTEBOOK).read_bytes()   # as handed in: grading repairs
    assert prepare_submission(course, BACKPROP, "ada")[1] == [
        "removed a second copy of graded cell test_2_2_hidden (the first copy is graded)"]


def test_a_student_who_submitted_only_another_assignment_is_listed_as_not_submitted(course):
    from nbgrader.api import Gradebook

    from grading.course.pipeline import NOT_SUBMITTED

    course, submissions = course
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        gradebook.add_student("only_glm")   # what grading glm leaves for a student of glm alone
    assert _grade(course, "--submissions", str(submissions)) == 1
    grades, problems = _class_rows(course)
    assert grades["only_glm"] == NOT_SUBMITTED and "only_glm" not in problems
    page = (course / "reports" / f"{BACKPROP.name}.html").read_text(encoding="utf-8")
    assert f"6 students: 0 graded, {len(CLASS)} could not be graded, 1 not submitted" in page
    assert "only_glm" not in page[page.index("id='not-graded'"):page.index("id='not-submitted'")]
    assert "only_glm" in page[page.index("id='not-submitted'"):]


def test_an_unchanged_student_keeps_the_notes_of_its_grading():
    from grading.commands.grading_run import GradingRun
    from grading.course.class_record import ClassRecord, update_record

    kept = "kept only in submitted/ (files over 1.0 MiB are not copied to autograded/ and feedback/): big.npy"
    record = ClassRecord(problems={"bob": "backprop_mlp.ipynb is empty (0 bytes)"}, notes={"ada": [kept]})
    update_record(record, GradingRun(unchanged=["ada"]), {"ada"})   # the note was made when ada was graded
    assert record.notes == {"ada": [kept]} and record.problems == {"bob": "backprop_mlp.ipynb is empty (0 bytes)"}
    update_record(record, GradingRun(graded=["ada", "bob"]), {"ada", "bob"})   # new work, graded again
    assert record == ClassRecord()
