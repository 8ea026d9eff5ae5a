"""How an exception raised by student code is read: its type, message, and the student's own line.

NumPy-free and grader-free: the sandbox runs this file beside ``student_side.py`` (as
``policy_errors.py``), so a failing call is described there exactly as ``check_backpropagation``
describes it in the notebook, and the diagnosis reads the same fields on both sides.
"""
import os
import traceback

LIBRARY_MARKERS = (os.sep + "site-packages" + os.sep, os.sep + "numpy" + os.sep, os.sep + "torch" + os.sep)
MAX_TEXT = 600


def raised(error, grader_paths=(), given_dirs=()):
    """``{'type', 'message', 'where', 'inside'}`` of ``error``: ``where`` is ``file:line: code`` of the
    innermost frame that is the student's (not under ``grader_paths``, the numeric libraries or the course's
    given helpers in ``given_dirs``); ``inside`` names the given helper the error arose in, if it did. An
    exception that carries such fields already (``student_fields``: replayed from the sandbox) gives them."""
    if isinstance(getattr(error, "student_fields", None), dict):
        return dict(error.student_fields)
    inside = where = ""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        filename = os.path.abspath(frame.filename)
        if any(filename.startswith(path) for path in grader_paths) or any(m in filename for m in LIBRARY_MARKERS):
            continue
        if any(filename.startswith(directory) for directory in given_dirs):
            inside = inside or f"the given helper {frame.name} ({os.path.basename(filename)}:{frame.lineno})"
            continue
        where = f"{os.path.basename(filename)}:{frame.lineno}: {(frame.line or '').strip()}"
        break
    return {"type": type(error).__name__[:80], "message": str(error).strip()[:MAX_TEXT], "where": where[:MAX_TEXT],
            "inside": inside[:MAX_TEXT]}
