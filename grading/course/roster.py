"""The class roster: a CSV of students put into the course's nbgrader gradebook.

``backprop-labs course roster COURSE FILE.csv`` reads one row per student (columns ``id``,
``first_name``, ``last_name``, ``email`` and, optionally, ``lms_id``: the student's user id in the
learning-management system, which maps an LMS download to the student, see :mod:`.lms`) and
creates or updates each student through nbgrader's own ``Gradebook.update_or_create_student``, so
formgrader, the grade files and the exports show names. A row is refused alone, with one line saying
why (no id, an id the course refuses, see :func:`~.submissions.id_problem`, an id or LMS id given twice,
an e-mail address without ``@``); the others are imported.
"""
import csv
from dataclasses import dataclass, field
from pathlib import Path

from .nbgrader_api import open_gradebook
from .submissions import ID_RULE, id_problem, suggested_id

# the roster's columns: what each is called in the gradebook, and the header spellings accepted
ROSTER_COLUMNS = {
    "id": ("id", "student_id", "student id"),
    "first_name": ("first_name", "first name", "first", "given name"),
    "last_name": ("last_name", "last name", "last", "surname", "family name"),
    "email": ("email", "e-mail", "email address"),
    "lms_user_id": ("lms_id", "lms_user_id", "lms user id"),
}
MAX_ROSTER_BYTES = 16 << 20   # a class of ten thousand takes about 1 MB


class RosterError(ValueError):
    """The roster file as a whole cannot be read; the message says why."""


@dataclass(frozen=True)
class Student:
    """One roster row, in the gradebook's terms (``lms_user_id``: empty when the roster has none)."""

    id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    lms_user_id: str = ""


@dataclass
class RosterImport:
    """What an import did: the students created or updated, and one line per refused row."""

    imported: list = field(default_factory=list)
    refused: list = field(default_factory=list)


def _header_map(header):
    """``{gradebook field: column index}`` of the roster's header row."""
    spelled = [(name or "").strip().lower().replace("-", " ").replace("_", " ") for name in header]
    found = {}
    for key, spellings in ROSTER_COLUMNS.items():
        for index, name in enumerate(spelled):
            if name in {spelling.replace("-", " ").replace("_", " ") for spelling in spellings}:
                found.setdefault(key, index)
    return found


def read_roster(path):
    """``(students, refused)`` of the roster CSV at ``path``: the valid rows as :class:`Student`, and
    one line per refused row. ``RosterError`` when the file cannot be read or has no id column."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_ROSTER_BYTES:
            raise RosterError(f"{path} is {path.stat().st_size} bytes, more than a roster needs "
                              f"({MAX_ROSTER_BYTES} at most)")
        text = path.read_text(encoding="utf-8-sig")   # a spreadsheet's export may start with a BOM
    except OSError as error:
        raise RosterError(f"cannot read the roster {path}: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise RosterError(f"the roster {path} is not UTF-8 text ({error.reason} at byte {error.start}): "
                          "save it as CSV UTF-8") from None
    try:
        rows = list(csv.reader(text.splitlines()))
    except csv.Error as error:
        raise RosterError(f"the roster {path} is not a CSV file: {error}") from None
    if not rows:
        raise RosterError(f"the roster {path} is empty: give a header row (id, first_name, last_name, email, "
                          "and optionally lms_id) and one row per student")
    columns = _header_map(rows[0])
    if "id" not in columns:
        raise RosterError(f"the roster {path} has no student id column (its header is {', '.join(rows[0])}): "
                          "name it id (the others: first_name, last_name, email, lms_id)")
    students, refused, first_row, lms_rows = [], [], {}, {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        values = {key: (row[index].strip() if index < len(row) else "") for key, index in columns.items()}
        student = Student(**values)
        problem = None
        if not student.id:
            problem = "no student id"
        elif id_problem(student.id):
            problem = f"student id {student.id!r} refused: {ID_RULE} (e.g. {suggested_id(student.id)!r})"
        elif student.id in first_row:
            problem = f"student id {student.id!r} is already on row {first_row[student.id]}"
        elif student.email and "@" not in student.email:
            problem = f"e-mail address {student.email!r} has no '@'"
        elif student.lms_user_id and student.lms_user_id in lms_rows:
            problem = f"LMS id {student.lms_user_id!r} is already on row {lms_rows[student.lms_user_id]}"
        if problem:
            refused.append(f"row {number} refused: {problem}")
            continue
        first_row[student.id] = number
        if student.lms_user_id:
            lms_rows[student.lms_user_id] = number
        students.append(student)
    return students, refused


def import_roster(course_dir, path):
    """Create or update every valid student of the roster at ``path`` in the course's gradebook;
    returns a :class:`RosterImport`. A student already in the gradebook keeps what the roster leaves
    empty (a roster without e-mail addresses does not erase them)."""
    students, refused = read_roster(path)
    result = RosterImport(refused=refused)
    with open_gradebook(course_dir) as gradebook:
        for student in students:
            fields = {key: value for key, value in vars(student).items() if key != "id" and value}
            gradebook.update_or_create_student(student.id, **fields)
            result.imported.append(student.id)
    return result


def roster_students(course_dir):
    """Every student of the course's gradebook as a :class:`Student` (an empty list before any)."""
    from .pipeline import GRADEBOOK

    if not (Path(course_dir) / GRADEBOOK).is_file():
        return []
    with open_gradebook(course_dir, GRADEBOOK) as gradebook:
        return [Student(s.id, s.first_name or "", s.last_name or "", s.email or "", s.lms_user_id or "")
                for s in gradebook.students]
