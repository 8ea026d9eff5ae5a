"""Autograde one student: nbgrader in a private copy of the course, then the trusted checks.

A job works in ``<course>/.trusted-grading/jobs/<student>/``: a course folder of its own
with the course's config (plus: the notebook kernel runs in the sandbox, see
:mod:`grading.trusted.sandbox.kernel`), a link to ``source/``, a copy of the student's ``submitted/``
folder and its own copy of the gradebook. nbgrader's in-kernel autograde writes there (so
parallel jobs never write the same SQLite file), then the trusted checks run on the
graded folder in the sandbox and their scores replace the in-kernel ones of the mapped
test cells. :func:`merge_student` (run by the coordinator only) then copies the result
into the course: graded folder, gradebook rows, and last a marker that says it is done.
"""
import json
import os
import shutil
import sqlite3
from pathlib import Path

from grading.course.assignments import get_assignment
from grading.course.preprocessors import trusted_record
from grading.course.submissions import folder_digest

from .check_spec import trusted_checks
from .gradebook import annotate_notebook, copy_submission, gradebook_url, write_trusted_scores

WORK_DIR = ".trusted-grading"
MARKER = "trusted_grading.json"
CONFIG_NAME = "nbgrader_config.py"
SANDBOXED_KERNEL = ('\n# Added by backprop-labs grade: the student notebook runs in the sandbox.\n'
                    'c.Execute.kernel_manager_class = "grading.trusted.sandbox.kernel.SandboxedKernelManager"\n')


def work_root(course_dir):
    root = Path(course_dir) / WORK_DIR
    root.mkdir(mode=0o700, exist_ok=True)
    return root


def snapshot_gradebook(course_dir):
    """A consistent copy of the course gradebook that every job starts from (SQLite backup API)."""
    template = work_root(course_dir) / "template.db"
    with sqlite3.connect(Path(course_dir) / "gradebook.db") as source, sqlite3.connect(template) as copy:
        source.backup(copy)
    return template


def graded_folder(course_dir, assignment, student):
    return Path(course_dir) / "autograded" / student / assignment


def submission_fingerprint(course_dir, assignment, student):
    """SHA-256 of the student's submitted files, without the ``timestamp.txt`` that collection
    writes: collecting the same work again is no new submission."""
    return folder_digest(Path(course_dir) / "submitted" / student / assignment)


def is_done(course_dir, assignment, student):
    """Recorded by an earlier run, for the submission as it is now: the marker is written after
    the gradebook commit and names the submission it graded (a new one is graded again)."""
    marker = graded_folder(course_dir, assignment, student) / MARKER
    try:
        recorded = json.loads(marker.read_text()).get("submission")
    except (OSError, ValueError, AttributeError):
        return False
    return recorded == submission_fingerprint(course_dir, assignment, student)


def _prepare_job(course_dir, assignment, student, template):
    job_dir = work_root(course_dir) / "jobs" / student
    shutil.rmtree(job_dir, ignore_errors=True)
    (job_dir / "submitted" / student).mkdir(parents=True)
    shutil.copy2(Path(course_dir) / CONFIG_NAME, job_dir / CONFIG_NAME)
    if os.geteuid() == 0:  # the sandbox needs root; without it nbgrader's usual kernel runs
        with open(job_dir / CONFIG_NAME, "a") as config:
            config.write(SANDBOXED_KERNEL)
    shutil.copy2(template, job_dir / "gradebook.db")
    os.symlink(Path(course_dir).resolve() / "source", job_dir / "source")
    shutil.copytree(Path(course_dir) / "submitted" / student / assignment,
                    job_dir / "submitted" / student / assignment, symlinks=True)
    return job_dir


def _nbgrader_autograde(job_dir, assignment, student):
    """nbgrader's own autograde of one student, in this process: ``{'success', 'log', 'error'}``."""
    from grading.course.nbgrader_api import nbgrader_api

    with nbgrader_api(job_dir) as api:
        return api.autograde(assignment, student, force=True, create=True)


def grade_student(job):
    """Worker entry point: ``job`` and the answer are plain dicts (picklable for Dask).

    Returns ``{'student', 'ok', 'error', 'scores': {cell: [score, max]}, 'checks': {...},
    'job_dir'}``; never raises for a bad submission.
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
        job_dir = _prepare_job(course_dir, assignment, student, job["template"])
        answer["job_dir"] = str(job_dir)
        autograde = _nbgrader_autograde(job_dir, assignment, student)
        graded = job_dir / "autograded" / student / assignment
        if not autograde.get("success") or not (graded / f"{assignment}.ipynb").exists():
            answer["error"] = "nbgrader could not autograde it: " + failure_reason(autograde)
            answer["log"] = full_log(autograde)
            return answer
        cells_by_check = get_assignment(assignment).trusted_cells
        checks = {name: trusted_checks()[name] for name in cells_by_check}
        results = grade_submission(graded, checks, hidden=[course_dir], notebook=graded / f"{assignment}.ipynb")
        scores = write_trusted_scores(gradebook_url(job_dir), assignment, student, assignment, results, cells_by_check)
        annotate_notebook(graded / f"{assignment}.ipynb", results, cells_by_check, scores)
        answer.update(ok=True, scores={cell: list(score) for cell, score in scores.items()},
                      checks={name: result.to_json() for name, result in results.items()})
    except SandboxSetupError as error:
        answer["error"] = f"the sandbox could not start (grading problem, not the student's): {error}"
    except Exception as error:  # one broken submission never stops the class
        answer["error"] = f"{type(error).__name__}: {error}"
    return answer


def merge_student(course_dir, assignment, answer):
    """Coordinator only: graded folder, then gradebook rows, then the done marker."""
    student, job_dir = answer["student"], Path(answer["job_dir"])
    target = graded_folder(course_dir, assignment, student)
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(job_dir / "autograded" / student / assignment, target)
    copy_submission(gradebook_url(job_dir), gradebook_url(course_dir), assignment, student)
    record = json.dumps({"submission": answer["submission"], "scores": answer["scores"],
                         "checks": answer["checks"]}, indent=1)
    # Kept outside autograded/ too: nbgrader's own autograde removes that folder, then refuses
    # (grading.course.preprocessors.KeepTrustedScores) when this record exists.
    for marker in (trusted_record(course_dir, assignment, student), target / MARKER):
        marker.parent.mkdir(parents=True, exist_ok=True)
        partial = marker.with_suffix(".partial")
        partial.write_text(record)
        os.replace(partial, marker)
    shutil.rmtree(job_dir, ignore_errors=True)
