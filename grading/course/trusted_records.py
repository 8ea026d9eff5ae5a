"""The records of trusted grading: its work folder in the course and the signed record of each graded student.

``backprop-labs grade`` keeps its work in ``COURSE/.trusted-grading/`` (root only, made by this module with
a marker file) and, once a student's trusted scores are in the gradebook, a done record in
``records/<assignment>/<student>.json``: the submission's fingerprint, the scores, the checks' evidence and
the note, signed with an HMAC-SHA256 over all of them and the assignment and student. The key is the
grader's own (:func:`record_key`: a file in the grader's config folder, outside every course, mode 0600,
made on first use), so a record is trusted only when its signature verifies: code that can write the
course folder but not read the key (a sandboxed kernel cannot even see the course) cannot make a record
that passes, nor turn one student's record into another's.

What this does not stop: code that runs as root outside the sandbox, which is what a plain ``nbgrader
autograde`` run as root does with every student's notebook. Such code can read the key (and rewrite the
gradebook); run plain nbgrader on a course graded with the trusted checks as another user, or not at all.
"""
import hashlib
import hmac
import json
import os
import secrets
import stat
from pathlib import Path

WORK_DIR = ".trusted-grading"
WORK_MARKER = "made-by-backprop-labs-grade"   # in the work folder: made by this module, nothing else
RECORDS = Path(WORK_DIR) / "records"          # <course>/.trusted-grading/records/<assignment>/<student>.json
CONFIG_VARIABLE = "BACKPROP_LABS_CONFIG_DIR"  # the grader's config folder (default ~/.config/backprop-labs)
KEY_FILE = "record-key"


class RecordsError(RuntimeError):
    """The work folder or the grader's key is not what this module made: grading refuses to trust it."""


def config_dir():
    """The grader's config folder: ``$BACKPROP_LABS_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/backprop-labs``,
    else ``~/.config/backprop-labs``."""
    chosen = os.environ.get(CONFIG_VARIABLE)
    if chosen:
        return Path(chosen)
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "backprop-labs"


def _not_private(info):
    """Why a file or folder (its lstat ``info``) could be known to someone else, or None: it is this user's
    and closed to everyone else."""
    if info.st_uid != os.geteuid():
        return f"it belongs to user {info.st_uid}, not to this user ({os.geteuid()})"
    if stat.S_IMODE(info.st_mode) & 0o077:
        return f"others can read or write it (mode {stat.S_IMODE(info.st_mode):o})"
    return None


def record_key(create=False):
    """The grader's HMAC key (bytes), or None when there is none yet and ``create`` is false. Made on first
    use (``create=True``) with mode 0600 in a 0700 folder; a key file that is a link, not this user's or
    readable by others is refused (:class:`RecordsError`): someone else could know it."""
    folder = config_dir()
    path = folder / KEY_FILE
    if create and not path.exists():
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = folder / f".{KEY_FILE}.{secrets.token_hex(8)}"
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(partial, path)   # never replaces a key another grading run made meanwhile
        except FileExistsError:
            pass
        finally:
            partial.unlink()
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise RecordsError(f"the grader's record key {path} cannot be read: {error.strerror or error}") from None
    with os.fdopen(descriptor) as handle:
        info = os.fstat(handle.fileno())
        why = "it is not a plain file" if not stat.S_ISREG(info.st_mode) else _not_private(info)
        if why:
            raise RecordsError(f"the grader's record key {path} is refused: {why}; someone else may know it. "
                               f"Remove it (every student is then graded again) and run again.")
        key = handle.read().strip().encode()
    if len(key) < 32:
        raise RecordsError(f"the grader's record key {path} is too short to be one this grader made")
    return key


def work_folder(course_dir, create=True):
    """``COURSE/.trusted-grading``, made (mode 0700, with its marker) when missing and ``create``. One that
    this module did not make (no marker, a link, another owner, open to others) is refused with
    :class:`RecordsError` naming it: it may hold forged records."""
    folder = Path(course_dir) / WORK_DIR
    try:
        info = os.lstat(folder)
    except FileNotFoundError:
        if not create:
            return folder
        folder.mkdir(mode=0o700)
        os.chmod(folder, 0o700)   # whatever the umask
        (folder / WORK_MARKER).write_text("made by backprop-labs grade; its records are signed with the grader's "
                                          "key\n", encoding="utf-8")
        return folder
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        why = "it is not a folder"
    else:
        why = _not_private(info) or (None if (folder / WORK_MARKER).is_file() else f"it has no {WORK_MARKER} file")
    if why:
        raise RecordsError(f"{folder} was not made by backprop-labs grade ({why}): it may hold forged records of "
                           f"who was graded. Move it out of the course (every student is then graded again) and "
                           f"run again.")
    return folder


def record_path(course_dir, assignment, student):
    """Where the done record of ``student`` lives (not checked: see :func:`read_record`)."""
    return Path(course_dir) / RECORDS / str(assignment) / f"{student}.json"


def _signature(key, assignment, student, fields):
    message = json.dumps({"assignment": assignment, "student": student, **fields}, sort_keys=True,
                         separators=(",", ":"), ensure_ascii=True)
    return hmac.new(key, message.encode("ascii"), hashlib.sha256).hexdigest()


SIGNED = ("submission", "scores", "checks", "note")


def write_record(course_dir, assignment, student, submission, scores, checks, note=""):
    """Write the signed done record in one step (a killed run leaves the earlier one or none)."""
    fields = {"submission": submission, "scores": scores, "checks": checks, "note": note}
    fields = json.loads(json.dumps(fields))   # what reading it back gives, so the signature verifies
    path = record_path(course_dir, assignment, student)
    work_folder(course_dir)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps({**fields, "signature": _signature(record_key(create=True), assignment, student,
                                                                     fields)}, indent=1))
    os.replace(partial, path)


def read_record(course_dir, assignment, student):
    """The done record of ``student`` as written by :func:`write_record` (``{'submission', 'scores', 'checks',
    'note'}``), or None: missing, unreadable, malformed, without scores, or not signed with this grader's key
    for this assignment and student (written by anything else, or copied from another student)."""
    key = record_key()
    if key is None:
        return None
    try:
        record = json.loads(record_path(course_dir, assignment, student).read_text())
        fields = {name: record[name] for name in SIGNED}
        signature = record["signature"]
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None
    if not isinstance(signature, str) or not isinstance(fields["scores"], dict) or not fields["scores"]:
        return None
    if not hmac.compare_digest(signature, _signature(key, assignment, student, fields)):
        return None
    return fields
