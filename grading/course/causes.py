"""The diagnosed causes of a class, one CSV per assignment: ``X-causes.csv`` next to ``X.csv``.

One row per student, exercise (trusted check) and cause: the cause's stable key, its
student-facing sentence and the cases it explains. ``backprop-labs grade`` writes it from the
trusted results of every graded student; :mod:`.class_report` reads it. Plain CSV, so reading it
needs neither root nor the trusted grading code.
"""
import csv
from pathlib import Path

CAUSE_COLUMNS = ["assignment", "student_id", "exercise", "exercise_title", "cause", "sentence", "cases"]


def causes_path(csv_path):
    """``X-causes.csv`` for the grade file ``X.csv``."""
    csv_path = Path(csv_path).resolve()
    return csv_path.with_name(csv_path.stem + "-causes.csv")


def cause_rows(assignment, student, checks):
    """The rows of one student from ``checks`` (``{check name: trusted result JSON}``, whose
    ``causes`` is ``{cause: {'sentence', 'cases'}}``)."""
    rows = []
    for name, result in checks.items():
        for cause, found in (result.get("causes") or {}).items():
            rows.append({"assignment": assignment, "student_id": student, "exercise": name,
                         "exercise_title": result.get("title", name), "cause": cause,
                         "sentence": found.get("sentence", ""), "cases": " ".join(found.get("cases", []))})
    return rows


def write_causes(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, CAUSE_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def read_causes(path):
    """The rows of a causes CSV as dicts; ``None`` when there is none (e.g. graded in-kernel)."""
    path = Path(path)
    if not path.is_file():
        return None
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))
