"""The instructor's records never lose a student, a score or a submission (issue 26), on classes that
need no sandboxed run: a student here is refused or cannot be graded, so the grading command decides
before a notebook runs, or (the model of instructor command sequences, at the end) is graded by a
stand-in for the per-student job.

* a ``--student`` run, or one without ``--submissions``, writes the grade files of the whole class;
* another assignment's folder is refused before anything is written, and a re-collect of the same
  files changes nothing;
* a notebook that cannot be read scores 0, the problem column naming why;
* a student of the course who handed in nothing for this assignment is "not submitted", not ungradable;
* random sequences of the instructor's commands keep every student, score, note and submitted file.
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


PASTED_TWICE = "removed a second copy of graded cell test_2_2_hidden (the first copy is graded)"


def _collected_with_a_pasted_cell(released, tmp_path):
    """ada's release with test_2_2_hidden pasted twice, collected and repaired (as grading does):
    ``(course, her folder, her notebook, what submitted/ holds)``."""
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
    assert prepare_submission(course, BACKPROP, "ada")[1] == [PASTED_TWICE]
    return course, folder, notebook, _files_of(course / "submitted" / "ada")


def test_collecting_the_same_files_again_changes_nothing(released, tmp_path):
    from grading.course.submissions import collect_submissions

    course, folder, _, submitted = _collected_with_a_pasted_cell(released, tmp_path)
    assert collect_submissions(course, BACKPROP, folder.parent).students == ["ada"]
    assert _files_of(course / "submitted" / "ada") == submitted   # same bytes, same times, same submission time
    (folder / "notes.txt").write_text("one more file\n", encoding="utf-8")
    collect_submissions(course, BACKPROP, folder.parent)
    assert (course / "submitted" / "ada" / BACKPROP.name / "notes.txt").is_file()


def test_a_change_that_the_repair_undoes_is_the_same_submission(released, tmp_path):
    """The second copy of a pasted cell is dropped when graded: a student who edits only that copy
    hands in the submission graded before, which stays as it is (formgrader compares its timestamp)."""
    from grading.course.submissions import collect_submissions, prepare_submission

    course, folder, notebook, submitted = _collected_with_a_pasted_cell(released, tmp_path)
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
    assert prepare_submission(course, BACKPROP, "ada")[1] == [PASTED_TWICE]


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
    from grading.course.run_record import GradingRun
    from grading.course.class_record import ClassRecord, update_record

    kept = "kept only in submitted/ (files over 1.0 MiB are not copied to autograded/ and feedback/): big.npy"
    record = ClassRecord(problems={"bob": "backprop_mlp.ipynb is empty (0 bytes)"}, notes={"ada": [kept]})
    update_record(record, GradingRun(unchanged=["ada"]), {"ada"})   # the note was made when ada was graded
    assert record.notes == {"ada": [kept]} and record.problems == {"bob": "backprop_mlp.ipynb is empty (0 bytes)"}
    update_record(record, GradingRun(graded=["ada", "bob"]), {"ada", "bob"})   # new work, graded again
    assert record == ClassRecord()


# ---- A model of the instructor's command sequences ------------------------------------------------------
# Random sequences (seeded) of collect, grade (whole class, --student, without --submissions), a new
# submission, a run killed before it writes the grade files, and nbgrader's own autograde (what formgrader's
# button runs), on a class of three: ada (who also hands in a 2 MiB file), bob, and broken (a notebook cut
# mid-save, never graded). After every step the course is compared with a model that only remembers which
# version of each student's work was handed in, collected and graded. The per-student job is replaced by one
# that needs no kernel or sandbox: the graded copy and gradebook rows of a notebook nbgrader could not run
# (the trusted path's own functions), with scores that follow the version written in the answer cell; the
# rest (collection, records, merge, feedback, grade files) is the real command.
MODEL_STUDENTS = ("ada", "bob", "broken")
STEPS = 8
LARGE_FILE = "weights.npy"
KEPT_ONLY = f"kept only in submitted/ (files over 1.0 MiB are not copied to autograded/ and feedback/): {LARGE_FILE}"


def _test_cells():
    from grading.trusted.autograde import autograded_cells

    points = {cell.metadata["nbgrader"]["grade_id"]: cell.metadata["nbgrader"]["points"]
              for cell in nbformat.read(BACKPROP.notebook, as_version=4).cells
              if cell.metadata.get("nbgrader", {}).get("grade")}
    return [(cell, float(points[cell])) for cell in autograded_cells(BACKPROP.notebook)]


def _version_scores(version):
    """``{cell: (score, points)}`` the stand-in grader gives the work of ``version``: every version scores differently."""
    return {cell: (points if (version >> index) & 1 else 0.0, points) for index, (cell, points) in enumerate(_test_cells())}


def _version_of(notebook):
    from grading.course.submissions import cell_grade_id

    answer = next(cell for cell in nbformat.read(notebook, as_version=4).cells if cell_grade_id(cell) == "ex2_1_answer")
    return int(answer.source.rsplit("# version ", 1)[1])


def _stand_in_job(job):
    """``grade_student`` without nbgrader's kernel and the sandbox (see above); the answer is the real one's."""
    from nbgrader.api import Gradebook

    from grading.trusted import autograde

    course_dir, assignment, student = job["course_dir"], job["assignment"], job["student"]
    answer = {"student": student, "ok": True, "error": "", "checks": {},
              "submission": autograde.submission_fingerprint(course_dir, assignment, student)}
    job_dir, _ = autograde._prepare_job(course_dir, assignment, student, job["template"])
    answer["job_dir"] = str(job_dir)
    graded = autograde._unrun_copy(job_dir, assignment, student)
    autograde.ensure_submission_rows(autograde.gradebook_url(job_dir), assignment, student,
                                     job_dir / "submitted" / student / assignment)
    scores = _version_scores(_version_of(graded / f"{assignment}.ipynb"))
    with Gradebook(autograde.gradebook_url(job_dir)) as gradebook:
        for cell, (score, _) in scores.items():
            gradebook.find_grade(cell, assignment, assignment, student).auto_score = score
        gradebook.db.commit()
    answer["scores"] = {cell: list(score) for cell, score in scores.items()}
    return answer


class KilledRun(BaseException):
    """Stands for kill -9 after the students were merged, before the grade files were written."""


class InstructorModel:
    """What the course must show, from what was handed in (``handed_in``), collected into ``submitted/``
    (``collected``, with its ``timestamp.txt``) and graded (``graded``: the version whose scores stand;
    ``in_files``: as the grade files last written say)."""

    def __init__(self, course, submissions, release, rng):
        self.course, self.submissions, self.release, self.rng = course, submissions, release, rng
        self.handed_in, self.collected, self.stamps, self.graded, self.in_files = {}, {}, {}, {}, None
        self.next_version = 1
        for student in MODEL_STUDENTS:
            self.hand_in(student)

    # -- the students --------------------------------------------------------------------------------
    def hand_in(self, student, same_work=False):
        """A new version of ``student``'s work; ``same_work``: bob edits only the copy of the test cell he
        pasted twice, which grading drops: the same submission."""
        from grading.course.submissions import cell_grade_id

        folder = self.submissions / student
        if same_work:
            notebook = nbformat.read(folder / NOTEBOOK, as_version=4)
            notebook.cells[-1].source += "\n# an edit of the pasted copy"
            nbformat.write(notebook, folder / NOTEBOOK)
            self.handed_in[student] = (self.handed_in[student][0], _files_of(folder))
            return
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(self.release, folder)
        version, self.next_version = self.next_version, self.next_version + 1
        notebook = nbformat.read(folder / NOTEBOOK, as_version=4)
        for cell in notebook.cells:
            if cell_grade_id(cell) == "ex2_1_answer":
                cell.source += f"\n# version {version}"
        if student == "bob":
            pasted = next(cell for cell in notebook.cells if cell_grade_id(cell) == "test_2_2_hidden")
            notebook.cells.append(nbformat.from_dict(dict(pasted, id="pasted-again")))
        nbformat.write(notebook, folder / NOTEBOOK)
        (folder / "notes.txt").write_text(f"my notes for version {version}\n", encoding="utf-8")
        if student == "ada":
            (folder / LARGE_FILE).write_bytes(version.to_bytes(2, "little") * (1 << 20))   # 2 MiB
        if student == "broken":
            text = (folder / NOTEBOOK).read_text(encoding="utf-8")
            (folder / NOTEBOOK).write_text(text[: len(text) // 2], encoding="utf-8")
        self.handed_in[student] = (version, _files_of(folder))

    # -- the instructor's commands -------------------------------------------------------------------
    def collect(self):
        from grading.course.submissions import collect_submissions

        collect_submissions(self.course, BACKPROP, self.submissions)
        self._collected_all()

    def _collected_all(self):
        for student, (version, _) in self.handed_in.items():
            if self.collected.get(student) != version:
                self.collected[student] = version
                self.stamps.pop(student, None)   # a new submission: a new time, read after the step

    def grade(self, *options, killed=False):
        if "--submissions" in options:
            self._collected_all()
        chosen = [options[i + 1] for i, option in enumerate(options) if option == "--student"]
        for student in chosen or list(self.collected):
            if student in self.collected and student != "broken":
                self.graded[student] = self.collected[student]
        status = _grade(self.course, *options, "--workers", "1")
        assert status in (0, 1), (options, status)
        if not killed:
            self.in_files = dict(self.graded)

    # -- what must hold after every step -------------------------------------------------------------
    def check(self, step):
        submitted = self.course / "submitted"
        for student, version in self.collected.items():   # nothing of submitted/ lost or changed
            folder = submitted / student / BACKPROP.name
            files = {name: data for name, (data, _) in _files_of(folder).items()}
            stamp = files.pop("timestamp.txt")
            handed_in = {name: data for name, (data, _) in self.handed_in[student][1].items()}
            if student != "broken":   # bob's notebook is repaired when graded: its version tells
                assert _version_of(folder / NOTEBOOK) == version, (step, student)
                files.pop(NOTEBOOK), handed_in.pop(NOTEBOOK)
            if self.handed_in[student][0] == version:
                assert files == handed_in, (step, student)
            self.stamps.setdefault(student, stamp)
            assert stamp == self.stamps[student], (step, student)   # the same submission keeps its files and time
        if self.in_files is None:
            return
        grades = {row["student_id"]: row for row in _rows(self.course / "grades" / f"{BACKPROP.name}.csv")}
        notes = {row["student_id"]: row for row in _rows(self.course / "grades" / f"{BACKPROP.name}-problems.csv")}
        assert set(grades) == set(self.collected), step       # no student lost, none made up
        for student, row in grades.items():
            version = self.in_files.get(student)
            if student == "broken":
                assert float(row["score"]) == 0.0 and row["problem"].startswith(TRUNCATED), (step, row)
            elif version is None:
                assert float(row["score"]) == 0.0 and row["problem"].startswith("submitted, not graded yet"), step
            else:
                assert float(row["score"]) == sum(score for score, _ in _version_scores(version).values()), step
                assert row["problem"] == "", (step, row)
        if self.in_files.get("ada") is not None:   # the note stays on every run
            assert notes["ada"]["graded"] == "yes" and notes["ada"]["reason"].startswith(KEPT_ONLY), (step, notes)
        from grading.course.nbgrader_api import nbgrader_api

        with nbgrader_api(self.course) as api:   # formgrader: graded and unchanged is graded, with its score
            autograded = api.get_autograded_students(BACKPROP.name)
        for student, version in self.graded.items():
            if version == self.collected[student]:
                assert student in autograded, (step, student)


def _nbgrader_autograde_refused(model, student):
    """What formgrader's Autograde button runs, for a student graded with the trusted checks."""
    from grading.course.nbgrader_api import nbgrader_api

    graded = model.course / "autograded" / student / BACKPROP.name
    before = _files_of(graded)
    with nbgrader_api(model.course) as api:
        result = api.autograde(BACKPROP.name, student, force=True, create=True)
    assert not result["success"] and f"{student} was graded with the trusted checks" in result["log"]
    assert _files_of(graded) == before


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_instructor_sequences_keep_every_student_score_and_file(released, tmp_path, monkeypatch, seed):
    import random

    from grading.commands import grading_run

    monkeypatch.setattr("grading.trusted.parallel.grade_student", _stand_in_job)
    course = tmp_path / "course"
    shutil.copytree(released[0], course, symlinks=True)
    rng = random.Random(seed)
    model = InstructorModel(course, tmp_path / "submissions", released[1], rng)
    submissions = str(model.submissions)

    def killed(*args):
        raise KilledRun()

    steps = {
        "collect": model.collect,
        "grade the class": lambda: model.grade("--submissions", submissions),
        "grade one student": lambda: model.grade("--submissions", submissions, "--student", rng.choice(MODEL_STUDENTS)),
        "grade again, nothing collected": lambda: model.grade(*rng.choice([[], ["--student", "bob"]])),
        "a new submission": lambda: model.hand_in(rng.choice(MODEL_STUDENTS[:2])),
        "bob edits his pasted copy": lambda: model.hand_in("bob", same_work=True),
    }
    history = []
    for _ in range(STEPS):
        name = rng.choice([*steps, "killed run", "nbgrader autograde"])
        if name == "nbgrader autograde" and not model.graded:
            name = "grade the class"
        history.append(name)
        if name == "killed run":   # after the students were merged: once their feedback is written, or before
            where = rng.choice(["write_record", "generate_feedback"])
            history[-1] += f" ({where})"
            with monkeypatch.context() as patch:
                patch.setattr(grading_run, where, killed)
                with pytest.raises(KilledRun):
                    model.grade("--submissions", submissions, killed=True)
        elif name == "nbgrader autograde":
            _nbgrader_autograde_refused(model, rng.choice(sorted(model.graded)))
        else:
            steps[name]()
        model.check(history)
