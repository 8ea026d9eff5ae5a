"""Run student code so that whatever it does becomes a result, never a traceback from the grader."""
import os
import traceback
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

_GRADER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the whole grading package
_GIVEN_DIR = os.path.join(os.path.dirname(_GRADER_DIR), "backprop_labs") + os.sep  # helpers the course gives
_LIBRARY_MARKERS = (os.sep + "site-packages" + os.sep, os.sep + "numpy" + os.sep, os.sep + "torch" + os.sep)


@dataclass(frozen=True)
class StudentError:
    """An exception raised by student code: its type, message and the student's line that raised it."""

    type_name: str
    message: str
    where: str
    inside: str = ""     # the given helper the error arose in, when the student's line called one

    @property
    def not_implemented(self):
        return self.type_name == "NotImplementedError"

    def describe(self):
        where = f" at {self.where}" if self.where else ""
        return f"{self.type_name}: {self.message}{where}"


@dataclass(frozen=True)
class StudentCall:
    """The value a call returned, or the error it raised."""

    value: Any = None
    error: Optional[StudentError] = None

    @property
    def ok(self):
        return self.error is None


def call_student(function, *args):
    """``function(*args)`` with exceptions (and NumPy floating-point warnings) captured."""
    try:
        with np.errstate(all="ignore"):  # overflow shows up as inf/nan in the result, checked later
            return StudentCall(value=function(*args))
    except Exception as error:  # noqa: BLE001 - any student exception becomes a failing result
        where, inside = _student_line(error)
        return StudentCall(error=StudentError(type(error).__name__, str(error).strip(), where, inside))


def _student_line(error):
    """``(where, inside)``: ``file:line: code`` of the innermost frame that is the student's (outside the
    grader, the numeric libraries and the course's given helpers in ``backprop_labs``), and, when the error
    arose deeper, in a given helper, ``function (file:line)`` of that helper."""
    inside = ""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        filename = os.path.abspath(frame.filename)
        if filename.startswith(_GRADER_DIR) or any(marker in filename for marker in _LIBRARY_MARKERS):
            continue
        if filename.startswith(_GIVEN_DIR):
            inside = inside or f"the given helper {frame.name} ({os.path.basename(filename)}:{frame.lineno})"
            continue
        return f"{os.path.basename(filename)}:{frame.lineno}: {(frame.line or '').strip()}", inside
    return "", inside
