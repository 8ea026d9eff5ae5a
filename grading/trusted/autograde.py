"""Autograde one student: nbgrader in a private copy of the course, then the trusted checks.

A job works in ``<course>/.trusted-grading/jobs/<student>/``: a course folder of its own
with the course's config (plus: the notebook kernel runs in the sandbox, see
:mod:`grading.trusted.sandbox.kernel`), a link to ``source/``, a copy of the student's ``submitted/``
folder and its own copy of the gradebook. nbgrader's in-kernel autograde writes there (so
parallel jobs never write the same SQLite file), then the trusted checks run on the
graded folder in the sandbox and their scores replace the in-kernel ones of the mapped
test cells. :func:`merge_student` (run by the coordinator only) then copies the result
into the course: graded folder, gradebook rows, and last a record that says it is done (root-only, under
``.trusted-grading/records/``, signed with the grader's key and checked against the gradebook, see
:mod:`grading.course.trusted_records`).
"""
import hashlib
import os
import shutil
import sqlite3
from pathlib import Path

from grading.course.assignments import get_assignment
from grading.course.config import CONFIG_NAME
from grading.course.leaks import secret_lines, secrets_not_written_in
from grading.course import trusted_records
from grading.course.submission_files import copy_submission, fingerprint, refused_line
from grading.course.submissions import TIMESTAMP, not_collected, unreadable_reason

from .check_spec import trusted_checks, with_torch_allowed
from .gradebook import (add_feedback_note, annotate_notebook, copy_gradebook_rows, ensure_submission_rows,
                        gradebook_scores, gradebook_url, scrub_outputs, write_trusted_scores)

# Added to every job's config: the kernel never receives the hidden tests (the trusted checks score their cells).
HIDDEN_TESTS_KEPT_FROM_KERNEL = ("\n# Added by backprop-labs grade: the hidden tests never reach the kernel.\n"
                                 "c.KeepHiddenTestsFromKernel.enabled = True\n")


class AssignmentNotTrusted(ValueError):
    """An assignment has autograded test cells that no trusted check scores."""


def autograded_cells(notebook_path):
    """Grade ids of the code cells nbgrader scores automatically (``grade: true``) in a notebook."""
    import nbformat

    notebook = nbformat.read(notebook_path, as_version=4)
    return [cell.metadata["nbgrader"]["grade_id"] for cell in notebook.cells
            if cell.cell_type == "code" and cell.get("metadata", {}).get("nbgrader", {}).get("grade")]


def untrusted_cells(notebook_path, cells_by_check):
    """Autograded cells of the notebook that no trusted check scores (their in-kernel score could be forged)."""
    trusted = {cell for cells in cells_by_check.values() for cell in cells}
    return [cell for cell in autograded_cells(notebook_path) if cell not in trusted]


def check_assignment_is_trusted(course_dir, assignment):
    """Raise :class:`AssignmentNotTrusted`, naming the cells, unless every autograded test cell of the
    course's source notebook is scored by a trusted check."""
    notebook = Path(course_dir) / "source" / assignment / f"{assignment}.ipynb"
    if not notebook.is_file():
        notebook = get_assignment(assignment).notebook
    missing = untrusted_cells(notebook, get_assignment(assignment).trusted_cells)
    if missing:
        raise AssignmentNotTrusted(
            f"assignment {assignment} cannot be graded with the trusted checks: its autograded test cells "
            f"{', '.join(missing)} have no trusted check, so their scores would come from the student's own "
            f"kernel, which a submission can tamper with. Add a TrustedCheck for them (grading/exercises/, "
            f"mapped in the assignment's AssignmentRow), or grade in-kernel knowingly (backprop-labs course grade --in-kernel).")


def work_root(course_dir):
    """The course's work folder (:func:`~grading.course.trusted_records.work_folder`: made by this grader,
    or refused)."""
    return trusted_records.work_folder(course_dir)


def snapshot_gradebook(course_dir):
    """A consistent copy of the course gradebook that every job starts from (SQLite backup API)."""
    template = work_root(course_dir) / "template.db"
    with sqlite3.connect(Path(course_dir) / "gradebook.db") as source, sqlite3.connect(template) as copy:
        source.backup(copy)
    return template


def graded_folder(course_dir, assignment, student):
    return Path(course_dir) / "autograded" / student / assignment


def graded_notebook(course_dir, assignment, student):
    """The student's graded notebook in ``autograded/`` (present once a run graded them, unless removed since)."""
    return graded_folder(course_dir, assignment, student) / f"{assignment}.ipynb"


def submission_fingerprint(course_dir, assignment, student):
    """SHA-256 of the student's submitted files (:func:`~grading.course.submission_files.fingerprint`)
    and of what collection refused. The ``timestamp.txt`` that collection writes is left out:
    collecting the same work again is no new submission."""
    folder = Path(course_dir) / "submitted" / student / assignment
    digest = fingerprint(folder, hashlib.sha256(), skip=(TIMESTAMP,))
    digest.update("\n".join(not_collected(course_dir, assignment, student)).encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def record_path(course_dir, assignment, student):
    """Where the record that ``student`` was graded lives: under the root-only work folder, outside
    ``autograded/`` (a notebook kernel run by plain nbgrader writes there). nbgrader's own autograde
    refuses a student with such a record (:class:`grading.course.preprocessors.KeepTrustedScores`)."""
    work_root(course_dir)  # root-only, mode 0700, made by this grader
    return trusted_records.record_path(course_dir, assignment, student)


def _record(course_dir, assignment, student):
    """The student's done record if this grader signed it (:func:`~grading.course.trusted_records.read_record`)."""
    work_root(course_dir)
    return trusted_records.read_record(course_dir, assignment, student)


def is_done(course_dir, assignment, student):
    """Recorded by an earlier run, for the submission as it is now, and still what the gradebook
    says: the record is signed with the grader's key (nothing that runs student code can write one), is
    written after the gradebook commit, names the submission it graded (a new one is graded again) and the
    trusted scores it wrote, one for every cell a trusted check scores (a gradebook changed since, e.g. by
    plain ``nbgrader autograde``, is graded again); and its graded notebook is still in
    ``autograded/`` (an nbgrader autograde that removed it is graded again: the feedback needs it)."""
    if not graded_notebook(course_dir, assignment, student).is_file():
        return False
    record = _record(course_dir, assignment, student)
    if record is None:
        return False
    recorded, scores = record["submission"], record["scores"]
    trusted = {cell for cells in get_assignment(assignment).trusted_cells.values() for cell in cells}
    if set(scores) != trusted or not all(isinstance(score, list) and len(score) == 2 for score in scores.values()):
        return False
    try:
        if recorded != submission_fingerprint(course_dir, assignment, student):
            return False
    except (OSError, ValueError):  # unreadable or too large: grade_student reports it for this student
        return False
    return gradebook_scores(gradebook_url(course_dir), assignment, student, scores) == {
        cell: float(score) for cell, (score, _) in scores.items()}


def recorded_note(course_dir, assignment, student):
    """The note of the student's done record (why nbgrader could not run the notebook), or ``""``."""
    note = (_record(course_dir, assignment, student) or {}).get("note", "")
    return note if isinstance(note, str) else ""


def recorded_checks(course_dir, assignment, student):
    """``{check name: trusted result JSON}`` of the student's done record (``{}`` without one): the
    scores' evidence, with each check's diagnosed causes."""
    checks = (_record(course_dir, assignment, student) or {}).get("checks", {})
    return checks if isinstance(checks, dict) else {}


def _prepare_job(course_dir, assignment, student, template):
    job_dir = work_root(course_dir) / "jobs" / student
    shutil.rmtree(job_dir, ignore_errors=True)
    (job_dir / "submitted" / student).mkdir(parents=True)
    shutil.copy2(Path(course_dir) / CONFIG_NAME, job_dir / CONFIG_NAME)
    with open(job_dir / CONFIG_NAME, "a") as config:
        config.write(HIDDEN_TESTS_KEPT_FROM_KERNEL)   # the kernel is sandboxed by the course's chains
    shutil.copy2(template, job_dir / "gradebook.db")
    os.symlink(Path(course_dir).resolve() / "source", job_dir / "source")
    # Never shutil.copytree: nbgrader (root) would then follow the links it kept.
    submitted = job_dir / "submitted" / student / assignment
    submitted.mkdir(mode=0o700)
    refused = copy_submission(Path(course_dir) / "submitted" / student / assignment, submitted, owner=(0, 0))
    return job_dir, refused


def _nbgrader_autograde(job_dir, assignment, student):
    """nbgrader's own autograde of one student, in this process: ``{'success', 'log', 'error'}``."""
    from grading.course.nbgrader_api import nbgrader_api

    with nbgrader_api(job_dir) as api:
        return api.autograde(assignment, student, force=True, create=True)


UNRUN_FEEDBACK = (". The scores below come from the trusted checks of your modules and answer cells, "
                  "which ran without the notebook; what needed the notebook to run scores 0.")


UNREADABLE_FEEDBACK = ("; the cells below were scored from your labs/ modules, without the notebook (cells "
                       "whose check runs your notebook's answer cells score 0). The notebook shown is the one "
                       "released to you.")


def _unrun_copy(job_dir, assignment, student, notebook=None):
    """The graded folder nbgrader would have made, for a notebook it could not run: the submission,
    the course's own files over it as nbgrader copies them (all but notebooks and the modules the
    student edits), and no outputs in the notebook (nothing ran; old outputs could be forged).
    ``notebook``: the notebook to grade instead of the submitted one (the released one, when the
    submitted one cannot be read)."""
    import nbformat
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.utils import find_all_files

    graded = job_dir / "autograded" / student / assignment
    shutil.rmtree(graded, ignore_errors=True)
    graded.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(job_dir / "submitted" / student / assignment, graded, symlinks=True)  # links were refused
    source = job_dir / "source" / assignment
    edited = set(get_assignment(assignment).edited_modules())
    for path in find_all_files(str(source), CourseDirectory().ignore + ["*.ipynb"]):
        relative = os.path.relpath(path, source)
        if relative not in edited:
            target = graded / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.unlink(missing_ok=True)
            shutil.copy(path, target)
    notebook_path = graded / f"{assignment}.ipynb"
    if notebook is not None:
        notebook_path.unlink(missing_ok=True)
        shutil.copy(notebook, notebook_path)
    parsed = nbformat.read(notebook_path, as_version=4)  # unreadable: not graded, both reasons given
    for cell in parsed.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(parsed, notebook_path)
    return graded


def grade_student(job):
    """Worker entry point: ``job`` and the answer are plain dicts (picklable for Dask).

    Returns ``{'student', 'ok', 'error', 'scores': {cell: [score, max]}, 'checks': {...},
    'job_dir'}``, plus ``'note'`` and ``'log'`` when nbgrader could not run the notebook (the
    trusted scores are then still given); never raises for a bad submission. ``job['notes']``
    (optional): what was repaired before grading, put at the top of the student's feedback.
    ``job['allow_torch']`` (optional): names of NumPy checks allowed to use torch in this run.
    """
    import warnings

    from sqlalchemy.exc import SAWarning

    from grading.course.nbgrader_api import failure_reason, full_log

    from .grade import SandboxSetupError, grade_submission

    warnings.filterwarnings("ignore", category=SAWarning)  # nbgrader 0.9.6's own, harmless

    course_dir, assignment, student = job["course_dir"], job["assignment"], job["student"]
    answer = {"student": student, "ok": False, "error": "", "scores": {}, "checks": {}}
    try:
        answer["submission"] = submission_fingerprint(course_dir, assignment, student)  # before the copy
        job_dir, refused = _prepare_job(course_dir, assignment, student, job["template"])
        answer["job_dir"] = str(job_dir)
        submitted_copy = job_dir / "submitted" / student / assignment
        unreadable = unreadable_reason(submitted_copy / f"{assignment}.ipynb")
        graded = job_dir / "autograded" / student / assignment
        if unreadable:
            # Nothing of the notebook can run, but the modules can: they are scored on the released
            # notebook's cells, and the checks that run the student's answer cells score 0.
            answer["note"] = f"your notebook could not be read: {unreadable}"
            graded = _unrun_copy(job_dir, assignment, student,
                                 notebook=Path(course_dir) / "release" / assignment / f"{assignment}.ipynb")
            ensure_submission_rows(gradebook_url(job_dir), assignment, student, submitted_copy)
            add_feedback_note(graded / f"{assignment}.ipynb", answer["note"] + UNREADABLE_FEEDBACK)
        else:
            autograde = _nbgrader_autograde(job_dir, assignment, student)
        if not unreadable and (not autograde.get("success") or not (graded / f"{assignment}.ipynb").exists()):
            # The notebook's kernel run failed (a module that exits at import, a kernel that dies...):
            # the trusted checks do not need that run, so the student still gets their scores, 0 for
            # what only the kernel run could show, and the reason in the feedback.
            answer["note"] = "nbgrader could not run the notebook: " + failure_reason(autograde)
            answer["log"] = full_log(autograde)
            graded = _unrun_copy(job_dir, assignment, student)
            ensure_submission_rows(gradebook_url(job_dir), assignment, student, submitted_copy)
            add_feedback_note(graded / f"{assignment}.ipynb", answer["note"] + UNRUN_FEEDBACK)
        if job.get("notes"):  # what course.submissions.prepare_submission repaired: the student is told too
            add_feedback_note(graded / f"{assignment}.ipynb", "before grading, " + "; ".join(job["notes"]) + ".")
        cells_by_check = get_assignment(assignment).trusted_cells
        checks = with_torch_allowed({name: trusted_checks()[name] for name in cells_by_check},
                                    job.get("allow_torch", ()))
        results = grade_submission(graded, checks, hidden=[course_dir], notebook=graded / f"{assignment}.ipynb",
                                   scopes=cells_by_check, unreadable=unreadable)
        refused = not_collected(course_dir, assignment, student) + [str(entry) for entry in refused]
        if refused:
            note = refused_line(refused)
            for result in results.values():
                result.lines.insert(0, note)
            # the page shows each cell's own lines, not the check's: the note goes at the top of the page
            add_feedback_note(graded / f"{assignment}.ipynb", note)
        scores = write_trusted_scores(gradebook_url(job_dir), assignment, student, assignment, results, cells_by_check)
        own = job_dir / "submitted" / student / assignment   # what the student wrote may be shown back
        scrub_outputs(graded / f"{assignment}.ipynb",
                      secrets_not_written_in(secret_lines(get_assignment(assignment)), own))
        annotate_notebook(graded / f"{assignment}.ipynb", results, cells_by_check, scores)
        answer.update(ok=True, scores={cell: list(score) for cell, score in scores.items()},
                      checks={name: result.to_json() for name, result in results.items()})
    except SandboxSetupError as error:
        answer["error"] = f"the sandbox could not start (grading problem, not the student's): {error}"
    except Exception as error:  # one broken submission never stops the class
        cause = f"{type(error).__name__}: {error}"
        answer["error"] = f"{answer.pop('note')}; then {cause}" if "note" in answer else cause
    return answer


def merge_student(course_dir, assignment, answer):
    """Coordinator only: graded folder, then gradebook rows, then the done record."""
    student, job_dir = answer["student"], Path(answer["job_dir"])
    target = graded_folder(course_dir, assignment, student)
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(job_dir / "autograded" / student / assignment, target)
    copy_gradebook_rows(gradebook_url(job_dir), gradebook_url(course_dir), assignment, student)
    trusted_records.write_record(course_dir, assignment, student, answer["submission"], answer["scores"],
                                 answer["checks"], answer.get("note", ""))
    shutil.rmtree(job_dir, ignore_errors=True)
