"""The course pipeline as small steps, each a function over an nbgrader course folder.

    build:  write_config -> copy_source -> generate_release          (build_course runs all three)
    grade:  collect_submissions -> prepare_submission -> autograde -> trim_graded_copy -> generate_feedback
            -> export_grades
            (``grading.commands.grading_run.grade_assignment`` runs them, with trusted grading)

Every step takes the course folder first and can be called on its own. nbgrader is driven
through its Python API in this process (:mod:`.nbgrader_api`), so its kernel ``python3`` is
this interpreter; :func:`run_nbgrader` runs the plain ``nbgrader`` command, for comparisons.
"""
import csv
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

from backprop_labs.stubgen import generate_student_package

from .assignments import SHIPPED_PACKAGE, SOLUTIONS_PACKAGE_DIR, STUDENT_PACKAGE_DIR, all_assignments
from .config import DEFAULT_TIMEOUT, write_config
from .leaks import find_leaks, secret_lines
from .nbgrader_api import failure_reason, full_log, nbgrader_api
from .run_record import GradingRun

GRADEBOOK = "gradebook.db"
# autograded/ and feedback/ keep a submitted file that is neither a notebook nor one of the
# assignment's modules only up to this size: a 100 MB file is kept once, in submitted/.
KEPT_FILE_BYTES = 1 << 20
# The problem of a student of the gradebook (another assignment's) who handed in nothing for this one:
# not a submission that could not be graded.
NOT_SUBMITTED = "not submitted"
EXPORT_COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
                  "raw_score", "late_submission_penalty", "score", "max_score", "problem"]


class CourseError(RuntimeError):
    """A course step could not do its job; the message says which and why."""


def run_nbgrader(course_dir, *arguments, timeout=None):
    """The plain ``nbgrader <arguments>`` command in ``course_dir`` (for comparisons and benchmarks)."""
    command = [sys.executable, "-m", "nbgrader", *arguments]
    # nbgrader runs `alembic` found on PATH: put this environment's scripts first.
    scripts = os.path.dirname(sys.executable)
    environment = dict(os.environ, PATH=os.pathsep.join([scripts, os.environ.get("PATH", "")]))
    return subprocess.run(command, cwd=course_dir, capture_output=True, text=True, timeout=timeout,
                          env=environment)


def check_student_package(assignments):
    """Refuse to ship a stale ``labs/`` module: the assignments ship the student versions from it."""
    shipped = {relative for assignment in assignments for relative in assignment.shipped_files()}
    stale = sorted(set(generate_student_package(SOLUTIONS_PACKAGE_DIR, STUDENT_PACKAGE_DIR, check=True)) & shipped)
    if stale:
        raise CourseError(f"labs/ is out of date ({', '.join(stale)}): run `backprop-labs generate` first")


def copy_source(course_dir, assignment):
    """Step 2: ``source/<assignment>/``: the instructor notebook and the STUDENT modules.

    nbgrader copies every non-notebook file of ``source/`` into ``release/`` and, at
    autograde, into each graded folder (then into ``feedback/``); keeping only student
    versions here means no solution module can reach a student by any of those copies.
    """
    target = Path(course_dir) / "source" / assignment.name
    if target.exists():
        shutil.rmtree(target)
    return assignment.write_files(target, solutions=False)


def generate_release(course_dir, assignment):
    """Step 3: ``nbgrader generate_assignment``, then check ``release/`` holds no secret line."""
    with nbgrader_api(course_dir) as api:
        result = api.generate_assignment(assignment.name, force=True, create=True)
    if not result["success"]:
        raise CourseError(f"nbgrader could not generate the release of {assignment.name} in {course_dir}: "
                          f"{failure_reason(result)}")
    release = Path(course_dir) / "release" / assignment.name
    leaks = find_leaks(release, secret_lines(assignment))
    if leaks:
        raise CourseError("the release shows solution or hidden-test lines: " +
                          "; ".join(f"{path}: {line!r}" for path, line in leaks[:5]))
    return release


def build_course(course_dir, assignments=None, timeout=DEFAULT_TIMEOUT, parameters=None):
    """Steps 1-3 for every assignment (default: all notebooks); return the assignments built."""
    assignments = all_assignments() if assignments is None else list(assignments)
    check_student_package(assignments)
    write_config(course_dir, all_assignments(), timeout=timeout, parameters=parameters)
    for assignment in assignments:
        copy_source(course_dir, assignment)
        generate_release(course_dir, assignment)
    return assignments


def log_path(course_dir, assignment_name, student):
    """Where nbgrader's full log of a failed step for one student is kept."""
    return Path(course_dir) / "logs" / assignment_name / f"{student}.log"


def keep_log(course_dir, assignment_name, student, text):
    """Keep ``text``, nbgrader's full log of a failed step for ``student``; return its path."""
    path = log_path(course_dir, assignment_name, student)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _keep_log(course_dir, assignment, student, result):
    return keep_log(course_dir, assignment.name, student, full_log(result))


def autograde(course_dir, assignment, students, run=None):
    """Plain nbgrader autograde (scores from the student's own kernel), one student at a time; returns
    ``run`` (default: a new :class:`~.run_record.GradingRun`) with the students graded added to its
    ``graded`` and the others to its ``problems``.

    One bad submission does not stop the others; each failure gets a one-line reason and
    nbgrader's full log in ``logs/<assignment>/<student>.log`` (its path in ``run.logs``).
    """
    from sqlalchemy.exc import SAWarning

    run = GradingRun() if run is None else run
    with nbgrader_api(course_dir) as api, warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)  # nbgrader 0.9.6's own, harmless
        for student in students:
            result = api.autograde(assignment.name, student, force=True, create=True)
            graded = Path(course_dir) / "autograded" / student / assignment.name / f"{assignment.name}.ipynb"
            if result["success"] and graded.exists():
                run.graded.append(student)
            else:
                run.problems[student] = failure_reason(result)
                run.logs[student] = _keep_log(course_dir, assignment, student, result)
    return run


def _readable_size(size):
    return f"{size / (1 << 20):.1f} MiB" if size >= 1 << 20 else f"{size / 1024:.1f} KiB"


def _large_files(folder, assignment, limit):
    """``[(relative path, size)]`` of the files under ``folder`` over ``limit`` bytes that are neither a
    notebook nor a module the assignment ships: what grading keeps in ``submitted/`` only. Links are
    neither followed nor counted."""
    kept = {f"{SHIPPED_PACKAGE}/{relative}" for relative in [*assignment.shipped_files(), "__init__.py"]}
    found = []
    for parent, _, names in os.walk(folder):  # links are not followed
        for name in names:
            path = Path(parent, name)
            relative = path.relative_to(folder).as_posix()
            size = path.lstat().st_size
            if size > limit and path.suffix != ".ipynb" and relative not in kept and not path.is_symlink():
                found.append((relative, size))
    return sorted(found)


def _kept_only_note(files, limit):
    if not files:
        return ""
    return (f"kept only in submitted/ (files over {_readable_size(limit)} are not copied to autograded/ "
            f"and feedback/): {', '.join(f'{relative} ({_readable_size(size)})' for relative, size in files)}")


def trim_graded_copy(course_dir, assignment, student, limit=KEPT_FILE_BYTES):
    """Remove from the student's ``autograded/`` folder, once graded, every file over ``limit``
    bytes that is neither a notebook nor a module the assignment ships; feedback, which copies
    that folder, never gets them, and ``submitted/`` keeps the originals. Returns a note naming
    them (``""`` when none)."""
    graded = Path(course_dir) / "autograded" / student / assignment.name
    removed = _large_files(graded, assignment, limit)
    for relative, _ in removed:
        (graded / relative).unlink()
    return _kept_only_note(removed, limit)


def kept_only_in_submitted(course_dir, assignment, student, limit=KEPT_FILE_BYTES):
    """The note of :func:`trim_graded_copy` for the student's submission as ``submitted/`` holds it:
    the same on every run, whether or not this run trimmed the graded copy (``""`` when none)."""
    return _kept_only_note(_large_files(Path(course_dir) / "submitted" / student / assignment.name, assignment,
                                        limit), limit)


def generate_feedback(course_dir, assignment, students=None):
    """One HTML page per graded student (default: every student with an autograded folder),
    hidden tests removed. Returns ``{student: reason}`` for pages nbgrader could not write."""
    graded_root = Path(course_dir) / "autograded"
    if students is None:
        students = sorted(path.parent.name for path in graded_root.glob(f"*/{assignment.name}"))
    failed = {}
    with nbgrader_api(course_dir) as api:
        for student in students:
            if not (graded_root / student / assignment.name).is_dir():
                continue
            result = api.generate_feedback(assignment.name, student, force=True)
            if not result["success"]:
                failed[student] = "feedback: " + failure_reason(result)
                _keep_log(course_dir, assignment, student, result)
    return failed


def feedback_page(course_dir, assignment, student):
    return Path(course_dir) / "feedback" / student / assignment.name / f"{assignment.name}.html"


def cell_scores(course_dir, assignment):
    """``{student: {test cell id: (score, max_score)}}`` from the gradebook, for graded cells."""
    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(f"sqlite:///{Path(course_dir).resolve() / GRADEBOOK}") as gradebook:
        for submission in gradebook.assignment_submissions(assignment.name):
            cells = {}
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    cells[grade.name] = (grade.score, grade.max_score)
            scores[submission.student.id] = cells
    return scores


def export_paths(csv_path):
    """``(grades, per-cell grades, problems)`` CSV paths: ``X.csv``, ``X-cells.csv``, ``X-problems.csv``."""
    csv_path = Path(csv_path).resolve()
    return csv_path, csv_path.with_name(csv_path.stem + "-cells.csv"), csv_path.with_name(csv_path.stem + "-problems.csv")


def export_grades(course_dir, assignment, csv_path, problems=None):
    """The grade CSV at ``csv_path`` (nbgrader's export columns plus ``problem``) and a per-cell
    CSV next to it (``*-cells.csv``); returns both paths.

    Every student in the gradebook and every student of ``problems`` (``{student: reason}``)
    has a row: a student with a problem scores 0 on every cell, with the reason; one with no
    submission of this assignment scores 0 as :data:`NOT_SUBMITTED`.
    """
    from nbgrader.api import Gradebook, MissingEntry

    problems = dict(problems or {})
    grades_path, cells_path, _ = export_paths(csv_path)
    grades_path.parent.mkdir(parents=True, exist_ok=True)
    with Gradebook(f"sqlite:///{Path(course_dir).resolve() / GRADEBOOK}") as gradebook:
        source = gradebook.find_assignment(assignment.name)
        cells = [(cell.name, cell.max_score) for notebook in source.notebooks for cell in notebook.grade_cells]
        max_score = sum(points for _, points in cells)
        people = {student.id: student for student in gradebook.students}   # names from `course roster`
        students = sorted(set(people) | set(problems))
        rows, cell_rows = [], []
        for student in students:
            row = dict.fromkeys(EXPORT_COLUMNS, "")
            row.update(assignment=assignment.name, duedate=source.duedate or "", student_id=student,
                       raw_score=0.0, late_submission_penalty=0.0, score=0.0, max_score=max_score)
            if student in people:   # a student not graded is named too
                row.update(last_name=people[student].last_name or "", first_name=people[student].first_name or "",
                           email=people[student].email or "")
            scored = {}
            try:
                if student in problems:
                    raise MissingEntry()
                submission = gradebook.find_submission(assignment.name, student)
                person = submission.student
                row.update(timestamp=submission.timestamp or "", last_name=person.last_name or "",
                           first_name=person.first_name or "", email=person.email or "",
                           raw_score=submission.score, late_submission_penalty=submission.late_submission_penalty,
                           score=max(0.0, submission.score - submission.late_submission_penalty))
                scored = {grade.name: grade.score for notebook in submission.notebooks for grade in notebook.grades}
            except MissingEntry:
                row["problem"] = problems.get(student, NOT_SUBMITTED)
            rows.append(row)
            cell_rows += [[assignment.name, student, name, scored.get(name, 0.0), points] for name, points in cells]
    with open(grades_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, EXPORT_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    with open(cells_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["assignment", "student_id", "cell", "score", "max_score"])
        writer.writerows(cell_rows)
    return grades_path, cells_path
