"""Grades out: the CSV each gradebook imports, written from the grade file ``grade`` wrote.

``backprop-labs course export COURSE ASSIGNMENT --format canvas|moodle|nbgrader`` reads
``COURSE/grades/ASSIGNMENT.csv`` (every student of the class, 0 with the reason when not graded) and the
roster in the gradebook (names, e-mail, LMS user id: :mod:`.roster`), and writes
``COURSE/grades/ASSIGNMENT-<format>.csv``. A student the target system cannot match (no Canvas id, no
e-mail for Moodle) is named, one line each.
"""
import csv
from pathlib import Path

from .pipeline import EXPORT_COLUMNS, CourseError, export_paths
from .roster import roster_students

# Canvas, "How do I import grades in the Gradebook?" (community.canvaslms.com/t5/Instructor-Guide/
# How-do-I-import-grades-in-the-Gradebook/ta-p/807, as quoted in PrairieLearn/PrairieLearn#4547 and Ohio State's
# guide teaching.resources.osu.edu/.../import-csv-file-carmen-grades): the columns Student ("Last, First"), ID
# (Canvas's user id), SIS User ID, SIS Login ID and Section come first, then one column per assignment named as
# in Canvas; the row under the header, "Points Possible", gives each assignment's points (Canvas's own export
# writes it, and its import reads it).
CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_POINTS_ROW = "Points Possible"
# Moodle, Grades > Import > CSV file (docs.moodle.org/en/Import_grades; grade/import/csv in Moodle's source):
# any columns, the user matched by a column chosen under "Identify user by" ("Email address" maps to the
# user's email field), the grade column mapped to a grade item.
MOODLE_COLUMNS = ["First name", "Last name", "Email address"]
# nbgrader export (nbgrader/plugins/export.py, CsvExportPlugin): these columns, one row per student.
NBGRADER_COLUMNS = [column for column in EXPORT_COLUMNS if column != "problem"]
FORMATS = ("canvas", "moodle", "nbgrader")


def _grade_rows(course_dir, assignment, csv_path):
    grades_path = export_paths(csv_path or Path(course_dir) / "grades" / f"{assignment.name}.csv")[0]
    if not grades_path.is_file():
        raise CourseError(f"no grade file {grades_path}: run `backprop-labs grade {course_dir} {assignment.name}` "
                          "first")
    with open(grades_path, newline="", encoding="utf-8") as handle:
        return grades_path, list(csv.DictReader(handle))


def _score(value):
    """A score as the gradebooks read it: ``7``, ``6.5``."""
    return f"{float(value or 0):g}"


def export_for_lms(course_dir, assignment, format_name, csv_path=None, out=None):
    """Write the ``format_name`` CSV (one of :data:`FORMATS`) of ``assignment``; returns ``(path, lines)``:
    the file and one line per student the target system will not be able to match."""
    if format_name not in FORMATS:
        raise CourseError(f"unknown export format {format_name!r}: one of {', '.join(FORMATS)}")
    grades_path, rows = _grade_rows(course_dir, assignment, csv_path)
    people = {student.id: student for student in roster_students(course_dir)}
    out = Path(out or grades_path.with_name(f"{grades_path.stem}-{format_name}.csv"))
    out.parent.mkdir(parents=True, exist_ok=True)
    max_score = _score(rows[0]["max_score"]) if rows else "0"
    lines = []
    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        if format_name == "nbgrader":
            writer.writerow(NBGRADER_COLUMNS)
            writer.writerows([row[column] for column in NBGRADER_COLUMNS] for row in rows)
            return out, lines
        if format_name == "canvas":
            writer.writerow(CANVAS_COLUMNS + [assignment.name])
            writer.writerow([CANVAS_POINTS_ROW, "", "", "", "", max_score])
        else:
            writer.writerow(MOODLE_COLUMNS + [assignment.name])
        for row in rows:
            person = people.get(row["student_id"])
            first, last = row["first_name"], row["last_name"]
            if format_name == "canvas":
                lms_id = person.lms_user_id if person else ""
                if not lms_id:
                    lines.append(f"{row['student_id']}: no Canvas user id in the roster (lms_id): Canvas matches "
                                 "this row by name only")
                name = f"{last}, {first}" if last or first else row["student_id"]
                writer.writerow([name, lms_id, "", "", "", _score(row["score"])])
            else:
                if not row["email"]:
                    lines.append(f"{row['student_id']}: no e-mail address in the roster: Moodle cannot match this "
                                 "row by Email address")
                writer.writerow([first, last, row["email"], _score(row["score"])])
    return out, lines
