"""The secret each course's trusted cases are drawn from (:func:`grading.trusted.cases.case_seed`).

``course build`` writes it once beside ``nbgrader_config.py``, readable by its owner only; it never goes
into ``release/`` nor into the students' wheel, so a table of answers made from another course, or from
the wheel, does not match this course's cases.
"""
import os
import secrets
from pathlib import Path

SECRET_NAME = ".trusted-cases-secret"   # in the course folder, beside nbgrader_config.py


class MissingCourseSecret(RuntimeError):
    """The course folder has no secret of its trusted cases (built before secrets existed, or damaged)."""


def create_course_secret(course_dir):
    """Write ``course_dir/SECRET_NAME`` (128 random bits, owner-only) unless it exists; its path.

    An existing secret is kept, so building a course again keeps the cases its grades were drawn with."""
    path = Path(course_dir) / SECRET_NAME
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(f"{secrets.randbits(128):032x}\n")
    return path


def read_course_secret(course_dir):
    """The course's secret as an int; :class:`MissingCourseSecret` names what to do when it is absent."""
    path = Path(course_dir) / SECRET_NAME
    try:
        return int(path.read_text(encoding="ascii").strip(), 16)
    except (OSError, ValueError) as error:
        raise MissingCourseSecret(
            f"{path} is missing or unreadable ({error}): run `backprop-labs course build {course_dir}` again "
            "(it keeps the course's assignments and adds the secret its trusted cases are drawn from)") from error
