"""The one way this course drives nbgrader: its Python API (``NbGraderAPI``) in this process.

:func:`nbgrader_api` loads the course's ``nbgrader_config.py`` (the same file the plain
``nbgrader`` command reads, so both agree) and runs with the course folder as working
directory. :func:`failure_reason` turns a failed call's captured log into the sentence an
instructor can act on, instead of nbgrader's "Please see the above traceback".
"""
import os
import re
import sys
from contextlib import contextmanager
from pathlib import Path

from .config import CONFIG_NAME  # noqa: F401 (the course folder's nbgrader configuration)

# nbgrader's wrapper exception and its pointer to the log say nothing by themselves.
_WRAPPER = re.compile(r"NbGraderException|Please see the above traceback|see the error above")
_EXCEPTION_LINE = re.compile(r"^\s*(?:[\w.]+\.)?([A-Z]\w*(?:Error|Exception|Interrupt|Exit))\b:?\s*(.*)$")


def _scripts_on_path():
    """The gradebook asks `alembic` (a script of this environment) for its schema version."""
    scripts = os.path.dirname(sys.executable)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([scripts, os.environ.get("PATH", "")])


def open_gradebook(course_dir, name="gradebook.db"):
    """nbgrader's ``Gradebook`` of ``course_dir`` (created when missing), for a ``with`` block."""
    from nbgrader.api import Gradebook

    _scripts_on_path()
    return Gradebook(f"sqlite:///{Path(course_dir).resolve() / name}")


@contextmanager
def nbgrader_api(course_dir, config_name=CONFIG_NAME):
    """``NbGraderAPI`` for ``course_dir`` configured by its ``config_name``, working there."""
    from nbgrader.apps import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    course_dir = Path(course_dir).resolve()
    config = PyFileConfigLoader(config_name, path=str(course_dir)).load_config()
    config.CourseDirectory.root = str(course_dir)
    _scripts_on_path()
    previous = os.getcwd()
    os.chdir(course_dir)  # nbgrader resolves some paths against the working directory
    try:
        yield NbGraderAPI(config=config)
    finally:
        os.chdir(previous)


def full_log(result):
    """Everything a failed API call captured: its log, then the traceback."""
    return "\n".join(part for part in (result.get("log"), result.get("error")) if part)


def failure_reason(result):
    """One line saying why an nbgrader API call failed: the last real exception in its log."""
    text = full_log(result)
    reasons = []
    for line in text.splitlines():
        match = _EXCEPTION_LINE.match(line)
        if match and not _WRAPPER.search(line):
            reasons.append(f"{match.group(1)}: {match.group(2)}".rstrip(": ").strip())
    if reasons:
        return reasons[-1][:300]
    errors = [line.strip() for line in text.splitlines()
              if line.startswith("[ERROR]") and not _WRAPPER.search(line)]
    return (errors[-1][len("[ERROR]"):].strip() if errors else "nbgrader failed without saying why")[:300]
