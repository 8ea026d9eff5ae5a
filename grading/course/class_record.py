"""The class's record of one assignment, kept across grading runs: who could not be graded and why,
and the notes of each graded submission.

A run may grade a part of the class (``--student``, or without ``--submissions`` only what is in
``submitted/``), but the grade files it writes describe the whole class: :func:`update_record` puts
this run's outcome for the students it looked at over the earlier record, and every other student
keeps what the earlier runs found. Kept in ``COURSE/.class-record/<assignment>.json``.
"""
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .submissions import id_problem

RECORD_DIR = ".class-record"


@dataclass
class ClassRecord:
    """``problems``: student -> why nothing of their submission could be graded; ``notes``: student ->
    what was noted when their current submission was graded (repairs, files kept only in
    ``submitted/``, ...); ``logs``: student -> nbgrader's full log of a failure behind either."""

    problems: dict = field(default_factory=dict)
    logs: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)


def record_path(course_dir, assignment_name):
    return Path(course_dir) / RECORD_DIR / f"{assignment_name}.json"


def read_record(course_dir, assignment_name):
    """The assignment's :class:`ClassRecord` (empty before the first run)."""
    try:
        data = json.loads(record_path(course_dir, assignment_name).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ClassRecord()
    return ClassRecord(data["problems"], data["logs"], data["notes"])


def write_record(course_dir, assignment_name, record):
    """Replace the record in one step: a killed run leaves the earlier one whole."""
    path = record_path(course_dir, assignment_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(vars(record), indent=1, sort_keys=True), encoding="utf-8")
    os.replace(partial, path)


def update_record(record, run, looked_at, refused_ids=None):
    """``record`` with this run's outcome for the students in ``looked_at``.

    ``run``: the :class:`~.run_record.GradingRun`, its ``problems``, ``logs`` and
    ``notes`` this run's only. A student with a problem now has that problem; one graded now has
    this run's notes; one unchanged since graded keeps the notes of that grading (this run's when
    none were recorded; an earlier problem is gone: the graded submission is back).
    ``refused_ids``: when the submissions folder was collected, the folder names it refused now; an
    id refused earlier and no longer there was renamed.
    """
    for student in looked_at:
        record.problems.pop(student, None)
        if student in run.unchanged and student in record.notes:
            continue   # the notes and log of its grading stand
        record.notes.pop(student, None)
        record.logs.pop(student, None)
        if student in run.problems:
            record.problems[student] = run.problems[student]
        elif run.notes.get(student):
            record.notes[student] = list(run.notes[student])
        if student in run.logs:
            record.logs[student] = str(run.logs[student])
    if refused_ids is not None:
        for student in [s for s in record.problems if id_problem(s) and s not in refused_ids]:
            del record.problems[student]
    return record
