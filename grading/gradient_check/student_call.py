"""Run student code so that whatever it does becomes a result, never a traceback from the grader."""
import os
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from grading.policy.errors import raised

_GRADER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the whole grading package
_GIVEN_DIR = os.path.join(os.path.dirname(_GRADER_DIR), "backprop_labs") + os.sep  # helpers the course gives


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

    @classmethod
    def from_fields(cls, fields):
        """From :func:`grading.policy.errors.raised`'s dict (made here, or in the sandbox)."""
        return cls(fields["type"], fields["message"], fields["where"], fields["inside"])


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
        return StudentCall(error=StudentError.from_fields(raised(error, (_GRADER_DIR,), (_GIVEN_DIR,))))
