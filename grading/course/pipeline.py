"""The course pipeline as small steps, each a function over an nbgrader course folder.

    build:  write_config -> copy_source -> generate_release          (build_course runs all three)
    grade:  collect_submissions -> autograde -> generate_feedback -> export_grades

Every step takes the course folder first and can be called on its own (a later step may be
swapped, e.g. autograde by a sandboxed one). nbgrader runs as a subprocess of this Python
(``python -m nbgrader`` in the course folder), so its kernel ``python3`` is this interpreter.
"""
import csv
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from backprop_labs.stubgen import generate_student_package

from .assignments import SOLUTIONS_PACKAGE_DIR, STUDENT_PACKAGE_DIR, all_assignments
from .config import DEFAULT_TIMEOUT, write_config
from .leaks import find_leaks, secret_lines

STUDENT_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
GRADEBOOK = "gradebook.db"


class CourseError(RuntimeError):
    """A course step could not do its job; the message says which and why."""


def run_nbgrader(course_dir, *arguments, timeout=None):
    """Run ``nbgrader <arguments>`` in ``course_dir``; return the ``CompletedProcess`` (output as text)."""
    command = [sys.executable, "-m", "nbgrader", *arguments]
    # nbgrader runs `alembic` found on PATH: put this environment's scripts first.
    scripts = os.path.dirname(sys.executable)
    environment = dict(os.environ, PATH=os.pathsep.join([scripts, os.environ.get("PATH", "")]))
    return subprocess.run(command, cwd=course_dir, capture_output=True, text=True, timeout=timeout,
                          env=environment)


def _nbgrader_or_fail(course_dir, *arguments):
    result = run_nbgrader(course_dir, *arguments)
    if result.returncode != 0:
        log = (result.stdout + result.stderr).strip().splitlines()
        raise CourseError(f"`nbgrader {' '.join(arguments)}` failed in {course_dir} "
                          f"(exit {result.returncode}):\n" + "\n".join(log[-30:]))
    return result


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
    _nbgrader_or_fail(course_dir, "generate_assignment", assignment.name, "--force")
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


def _without_symlinks(directory, names):
    return [name for name in names if os.path.islink(os.path.join(directory, name))]


def collect_submissions(course_dir, assignment, submissions_dir):
    """Step 4: copy ``submissions_dir/<student>/`` into ``submitted/<student>/<assignment>/``.

    A student's folder holds the assignment's files (or one sub-folder named after the
    assignment that does). Symbolic links are skipped; student ids must be plain names.
    Returns the student ids collected; raises ``CourseError`` naming any bad folder name.
    """
    students = []
    for folder in sorted(Path(submissions_dir).iterdir()):
        if not folder.is_dir() or folder.is_symlink():
            continue
        if not STUDENT_ID.match(folder.name):
            raise CourseError(f"{folder}: a student id may hold letters, digits, '_', '.' and '-' only")
        files = folder / assignment.name if (folder / assignment.name).is_dir() else folder
        target = Path(course_dir) / "submitted" / folder.name / assignment.name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(files, target, ignore=_without_symlinks)
        if not (target / "timestamp.txt").exists():
            stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f %Z")
            (target / "timestamp.txt").write_text(stamp, encoding="utf-8")
        students.append(folder.name)
    return students


@dataclass
class AutogradeRun:
    """What ``autograde`` did: students graded, students nbgrader could not grade, its log (also saved)."""

    graded: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    log: str = ""
    log_path: Path = None


def autograde(course_dir, assignment, students=None):
    """Step 5: ``nbgrader autograde`` for every submitted student (or ``students``).

    One bad submission (e.g. a malformed notebook) does not stop the others: nbgrader
    grades the rest and exits non-zero; the students without a graded folder are listed
    in ``failed``.
    """
    submitted = Path(course_dir) / "submitted"
    selections = [[]] if students is None else [["--student", student] for student in students]
    if students is None:
        students = sorted(path.parent.name for path in submitted.glob(f"*/{assignment.name}"))
    run = AutogradeRun()
    for selection in selections:
        result = run_nbgrader(course_dir, "autograde", assignment.name, "--force", "--create", *selection)
        run.log += result.stdout + result.stderr
    graded_dir = Path(course_dir) / "autograded"
    for student in students:
        graded = (graded_dir / student / assignment.name / f"{assignment.name}.ipynb").exists()
        (run.graded if graded else run.failed).append(student)
    run.log_path = Path(course_dir) / "logs" / f"autograde-{assignment.name}.log"
    run.log_path.parent.mkdir(exist_ok=True)
    run.log_path.write_text(run.log, encoding="utf-8")
    return run


def generate_feedback(course_dir, assignment):
    """Step 6: ``nbgrader generate_feedback``: one HTML page per graded student, hidden tests removed."""
    _nbgrader_or_fail(course_dir, "generate_feedback", assignment.name, "--force")
    return Path(course_dir) / "feedback"


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


def export_grades(course_dir, assignment, csv_path):
    """Step 7: nbgrader's grade CSV at ``csv_path`` and a per-cell CSV next to it (``*-cells.csv``).

    Returns both paths.
    """
    csv_path = Path(csv_path).resolve()
    _nbgrader_or_fail(course_dir, "export", "--to", str(csv_path), "--assignment", assignment.name)
    cells_path = csv_path.with_name(csv_path.stem + "-cells.csv")
    with open(cells_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["assignment", "student_id", "cell", "score", "max_score"])
        for student, cells in sorted(cell_scores(course_dir, assignment).items()):
            for cell, (score, max_score) in sorted(cells.items()):
                writer.writerow([assignment.name, student, cell, score, max_score])
    return csv_path, cells_path
