"""A class's submissions as a learning-management system or nbgrader's exchange hands them over.

``grade --submissions`` takes, besides a folder of ``<student_id>/`` folders, one of the downloads in
:data:`LAYOUTS` (a zip file, or the folder it unpacks to):

* Canvas ("Download Submissions"): one flat zip, each file named
  ``<name>_<userid>_<submissionid>_<original name>``, with ``_late`` after the name when it came late;
  Canvas appends ``-1``, ``-2`` ... to a file name the student uploaded again;
* Moodle ("Download all submissions"): one folder per student,
  ``<Full Name>_<participant id>_assignsubmission_file_/``, holding the files (older Moodle: the same
  prefix on each file, no folder; an ``_onlinetext_`` folder of the same student joins the files);
* nbgrader's exchange inbox (what ``nbgrader collect`` reads): ``<student_id>+<assignment>+<timestamp>``
  folders, with an optional ``+<random>``, in ``<exchange>/<course>/inbound/``; the latest of a student's
  submissions of this assignment counts, as it does for ``nbgrader collect``.

:func:`stage_download` maps each entry to a student of the roster (the gradebook, see :mod:`.roster`): by
the LMS user id (the roster's ``lms_id`` column), else by name (Canvas writes ``lastfirst``, Moodle the
full name; letters and digits only, accents dropped, case ignored), and writes
``COURSE/.lms-download/<assignment>/<student_id>/``, which collection then copies as any submissions folder.
A zip inside a student's files is unpacked in place (one level: a zip in that zip stays a file); a module
the assignment ships that arrives loose (Canvas has no folders) goes into ``labs/``. Every limit of
:mod:`.submission_files` is the student's own here too: a folder download is read with its safe walk
(links, FIFOs and devices never opened), and a zip member that is a link, or whose path is absolute, climbs
out with ``..``, is too long or too deep, or is past the student's bytes or entries, is refused unread.
What could not be mapped or was refused is named, one line each. Late flags and submission times are
kept in ``COURSE/.lms-download/<assignment>.csv`` (:func:`read_sidecar`).
"""
import csv
import os
import re
import shutil
import stat
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from .submission_files import (CHUNK, DIRECTORY, FILE, MAX_DEPTH, MAX_ENTRIES, MAX_PATH_BYTES, MAX_SUBMISSION_BYTES,
                               open_regular, walk_submission)

STAGING_DIR = ".lms-download"   # COURSE/.lms-download/<assignment>/<student>/ and <assignment>.csv
SIDECAR_COLUMNS = ["student_id", "layout", "lms_user_id", "late", "submitted_at", "entries"]
MAX_DOWNLOAD_MEMBERS = 1_000_000   # members of one download zip read at most (a class, not a bomb of names)


@dataclass(frozen=True)
class Layout:
    """One download layout. ``pattern`` matches the first component of each path in the download
    (a file's name, or the student's folder); its groups: ``user`` (the LMS user id) and ``name``, or
    ``student`` (the id itself); ``original`` (the file's own name, when the prefix is on a file);
    ``late`` (set when marked late); ``time`` (the submission time) and ``assignment``."""

    name: str
    pattern: re.Pattern
    numbered_copies: bool = False   # the LMS appends -1, -2 ... to a name uploaded again
    latest_only: bool = False       # several submissions of a student: only the latest (by ``time``) counts


LAYOUTS = (
    Layout("canvas", re.compile(r"^(?P<name>[^_/]+?)(?P<late>_late)?_(?P<user>\d+)_(?P<submission>\d+)_"
                                r"(?P<original>.+)$"), numbered_copies=True),
    Layout("moodle", re.compile(r"^(?P<name>[^/]+?)_(?P<user>\d+)_assignsubmission_(?:file|onlinetext)_"
                                r"(?P<original>.*)$")),
    Layout("nbgrader exchange", re.compile(r"^(?P<student>[^+/]+)\+(?P<assignment>[^+/]+)\+(?P<time>[^+/]+)"
                                           r"(?:\+[^+/]*)?$"), latest_only=True),
)
MACOS_METADATA = "__MACOSX"   # what macOS's Compress adds to a zip: file attributes, not the student's work
NUMBERED_COPY = re.compile(r"^(?P<stem>.+?)-\d+(?P<suffix>\.[^.]+)$")


@dataclass
class Staged:
    """What :func:`stage_download` did: ``folder`` holds one folder per mapped student; ``layout``
    the layout recognised; ``unmapped``: one line per entry no student could be found for, or left out
    (another assignment's, an older submission); ``notes``: student -> lines for their feedback (late, a
    refused entry); ``records``: student -> the sidecar row."""

    folder: Path
    layout: str
    unmapped: list = field(default_factory=list)
    notes: dict = field(default_factory=dict)
    records: dict = field(default_factory=dict)


# ---------------------------------------------------------------- reading a download, a folder or a zip

@dataclass(frozen=True)
class Item:
    """One entry of a download: ``parts`` of its path, ``kind`` (``"dir"``, ``"file"`` or why it is
    refused), ``size`` as listed, ``time`` (UTC, or None) and ``open()`` for a file."""

    parts: tuple
    kind: str
    size: int
    time: datetime
    open: object


def _member_problem(info):
    """Why the zip member ``info`` is not unpacked (path, link), or ``None``."""
    name = info.filename.replace("\\", "/")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in parts:
        return "a path outside the download (absolute, or climbing out with '..'), not unpacked"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "symbolic link"
    return None


def _zip_items(archive):
    """The :class:`Item` of each member of the open ``archive`` (a ``zipfile.ZipFile``)."""
    for count, info in enumerate(archive.infolist()):
        name = info.filename.replace("\\", "/")
        parts = tuple(part for part in name.split("/") if part not in ("", "."))
        if count >= MAX_DOWNLOAD_MEMBERS:
            yield Item(parts, f"more than {MAX_DOWNLOAD_MEMBERS} members in the zip: the rest were not read",
                       0, None, None)
            return
        if not parts:
            continue
        try:
            time = datetime(*info.date_time, tzinfo=timezone.utc)
        except ValueError:   # a member dated 1980-00-00
            time = None
        kind = _member_problem(info) or (DIRECTORY if info.is_dir() else FILE)
        yield Item(parts, kind, info.file_size, time, lambda info=info: archive.open(info))


def _folder_items(folder):
    """The :class:`Item` of each entry below ``folder``: each top-level folder (a student's, or one
    submission) read by the safe walk of :mod:`.submission_files`, so its limits are that student's own;
    a top-level file opened without following a link; anything else refused."""
    directory_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for name in sorted(os.listdir(directory_fd)):
            info = os.stat(name, dir_fd=directory_fd, follow_symlinks=False)
            if stat.S_ISDIR(info.st_mode):
                yield Item((name,), DIRECTORY, 0, None, None)
                for entry in walk_submission(Path(folder) / name):
                    yield Item((name, *PurePosixPath(entry.relative).parts), entry.kind, entry.size,
                               _file_time(entry.name, entry.directory_fd) if entry.kind == FILE else None,
                               entry.open)
            elif stat.S_ISREG(info.st_mode):
                yield Item((name,), FILE, info.st_size, datetime.fromtimestamp(info.st_mtime, timezone.utc),
                           lambda name=name: open_regular(name, directory_fd))
            else:
                kind = "symbolic link" if stat.S_ISLNK(info.st_mode) else "not a plain file or folder"
                yield Item((name,), kind, 0, None, None)
    finally:
        os.close(directory_fd)


def _file_time(name, directory_fd):
    """The modification time (UTC) of ``name`` in the folder ``directory_fd``, or ``None``."""
    try:
        return datetime.fromtimestamp(os.stat(name, dir_fd=directory_fd, follow_symlinks=False).st_mtime,
                                      timezone.utc)
    except OSError:
        return None


def _download_root(path):
    """The folder of a download to read: ``path``, or its ``inbound/`` (nbgrader's exchange of a course)."""
    path = Path(path)
    inbound = path / "inbound"
    return inbound if inbound.is_dir() and not inbound.is_symlink() else path


def _top_names(path):
    """The first components of the download at ``path`` (a zip file or a folder)."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()[:MAX_DOWNLOAD_MEMBERS]
        return {name.replace("\\", "/").lstrip("/").split("/")[0] for name in names} - {""}
    return {entry.name for entry in os.scandir(_download_root(path))}


def detect_layout(path):
    """The :class:`Layout` that most of the download's first components match (more than half of them:
    a folder of student ids one of which looks like a Canvas name stays a plain folder), or ``None`` (a zip
    that matches none holds ``<student_id>/`` folders; such a folder is a plain submissions folder)."""
    names = _top_names(path)
    counts = [(sum(bool(layout.pattern.match(name)) for name in names), index) for index, layout in enumerate(LAYOUTS)]
    best, index = max(counts, key=lambda pair: (pair[0], -pair[1]))
    return LAYOUTS[index] if best and 2 * best > len(names) else None


def is_download(path):
    """Whether ``path`` is a download to stage (a zip, or a folder in one of :data:`LAYOUTS`) rather than
    a plain folder of ``<student_id>/`` folders."""
    path = Path(path)
    if path.is_file():
        return zipfile.is_zipfile(path)
    return path.is_dir() and detect_layout(path) is not None


def download_bytes(path):
    """What staging the download at ``path`` may write: its files' listed sizes, each first component
    (a student's folder or file) at most :data:`~.submission_files.MAX_SUBMISSION_BYTES` (nothing is opened
    but the zip's directory)."""
    sizes = {}

    def add(items):
        for item in items:
            if item.kind == FILE:
                sizes[item.parts[0]] = min(MAX_SUBMISSION_BYTES, sizes.get(item.parts[0], 0) + item.size)

    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            add(_zip_items(archive))
    else:
        add(_folder_items(_download_root(path)))
    return sum(sizes.values())


# ---------------------------------------------------------------- students

def squashed(name):
    """``name`` as compared across systems: ASCII letters and digits only, lower case."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", ascii_name.lower())


class Roster:
    """The course's students, looked up by LMS user id or by name (``students``: :class:`.roster.Student`)."""

    def __init__(self, students):
        self.by_lms = {s.lms_user_id: s.id for s in students if s.lms_user_id}
        self.by_name = {}
        for s in students:
            for key in {squashed(s.first_name + s.last_name), squashed(s.last_name + s.first_name)} - {""}:
                self.by_name.setdefault(key, set()).add(s.id)
        self.ids = {s.id for s in students}

    def find(self, user, name):
        """``(student id, None)`` or ``(None, why not)`` for the LMS user id ``user`` and ``name``."""
        if user and user in self.by_lms:
            return self.by_lms[user], None
        found = self.by_name.get(squashed(name or ""), set())
        if len(found) == 1:
            return next(iter(found)), None
        if found:
            return None, f"{len(found)} students of the roster are called {name!r} ({', '.join(sorted(found))}): " \
                         "give the roster an lms_id column"
        if not self.ids:
            return None, "the course has no roster: import it first with `backprop-labs course roster COURSE FILE.csv`"
        return None, (f"no student of the roster has LMS id {user!r} or the name {name!r} (add an lms_id column "
                      "to the roster, or the student)")


# ---------------------------------------------------------------- staging

class _Budget:
    """What is left of one student's limits (:mod:`.submission_files`): bytes and entries."""

    def __init__(self):
        self.bytes, self.entries = MAX_SUBMISSION_BYTES, MAX_ENTRIES


def _limit_problem(relative, budget, kind, size):
    """Why the entry at ``relative`` (a POSIX path inside the student's folder) is not written, or ``None``."""
    budget.entries -= 1
    if budget.entries < 0:
        return f"more than {MAX_ENTRIES} files and folders in the submission"
    if len(os.fsencode(relative)) > MAX_PATH_BYTES:
        return f"a path longer than {MAX_PATH_BYTES} bytes"
    if relative.count("/") > MAX_DEPTH:
        return f"a folder nested more than {MAX_DEPTH} folders deep"
    if kind == FILE and size > budget.bytes:
        return f"{size} bytes, over the limit of {MAX_SUBMISSION_BYTES} bytes for a submission"
    return None


def _write(target_root, relative, opener, budget):
    """Stream what ``opener()`` opens into ``target_root/relative`` within the student's bytes; why not,
    or ``None``."""
    target = target_root / relative
    if os.path.lexists(target):
        return "a file of that name is already in the submission"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with opener() as source, open(target, "xb") as sink:
            while chunk := source.read(min(CHUNK, budget.bytes + 1)):
                budget.bytes -= len(chunk)
                if budget.bytes < 0:
                    raise OverflowError
                sink.write(chunk)
    except OverflowError:
        target.unlink(missing_ok=True)
        budget.bytes = 0
        return f"grew past the limit of {MAX_SUBMISSION_BYTES} bytes for a submission while read"
    except (OSError, zipfile.BadZipFile, EOFError, RuntimeError) as error:   # corrupt, encrypted, gone
        target.unlink(missing_ok=True)
        return f"not readable: {getattr(error, 'strerror', None) or error}"
    return None


def _module_places(assignment):
    """``{file name: labs/ path}`` of the modules the assignment ships whose names are unique."""
    from .assignments import SHIPPED_PACKAGE

    places = {}
    for relative in assignment.shipped_files():
        places.setdefault(PurePosixPath(relative).name, []).append(f"{SHIPPED_PACKAGE}/{relative}")
    return {name: paths[0] for name, paths in places.items() if len(paths) == 1}


def _inner_path(layout, match, parts, modules):
    """Where an entry of the download goes inside its student's folder (POSIX), or ``""`` for the folder
    itself: a module the assignment ships, found loose beside the notebook, goes into ``labs/``."""
    if len(parts) > 1 or layout is None:
        relative = "/".join(parts[1:])
    else:
        relative = match.groupdict().get("original") or ""
        numbered = NUMBERED_COPY.match(relative) if layout.numbered_copies else None
        relative = f"{numbered['stem']}{numbered['suffix']}" if numbered else relative
    return modules.get(relative, relative)


def _unpack_nested(student_dir, budget, note):
    """Unpack each zip in ``student_dir`` where it lies (a single folder wrapping everything dropped:
    collection finds the files either way; macOS's ``__MACOSX/`` copies of file attributes left out) and
    remove it; a zip in that zip stays a file."""
    for archive_path in sorted(student_dir.rglob("*.zip")):
        if archive_path.is_symlink() or not archive_path.is_file():
            continue
        shown = archive_path.relative_to(student_dir).as_posix()
        budget.bytes += archive_path.stat().st_size   # its bytes come back: it is unpacked instead
        try:
            with zipfile.ZipFile(archive_path) as archive:
                items = [item for item in _zip_items(archive)
                         if item.kind != DIRECTORY and item.parts[0] != MACOS_METADATA]
                tops = {item.parts[0] for item in items if len(item.parts) > 1}
                wrapped = len(tops) == 1 and all(len(item.parts) > 1 for item in items)
                for item in items:
                    parts = item.parts[1:] if wrapped else item.parts
                    relative = (archive_path.parent.relative_to(student_dir) / "/".join(parts)).as_posix()
                    problem = item.kind if item.kind != FILE else _limit_problem(relative, budget, FILE, item.size)
                    problem = problem or _write(student_dir, relative, item.open, budget)
                    if problem:
                        note(f"{shown}: {'/'.join(item.parts)} not unpacked ({problem})")
        except (zipfile.BadZipFile, OSError) as error:
            note(f"{shown} is not a zip that can be read ({error}): left as it is")
            continue
        archive_path.unlink()


def stage_download(course_dir, assignment, download, students):
    """Write ``COURSE/.lms-download/<assignment>/<student>/`` from the ``download`` (a zip or a folder in
    one of :data:`LAYOUTS`, or a zip of ``<student_id>/`` folders) for the roster ``students``; returns
    :class:`Staged`. What was staged before for this assignment is replaced."""
    download = Path(download)
    layout = detect_layout(download)
    folder = Path(course_dir) / STAGING_DIR / assignment.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    staged = Staged(folder, layout.name if layout else "student folders")
    roster, modules = Roster(students), _module_places(assignment)
    budgets, tops = {}, _top_names(download)   # student -> _Budget
    if zipfile.is_zipfile(download):
        with zipfile.ZipFile(download) as archive:
            _stage_items(_zip_items(archive), tops, layout, assignment, roster, modules, staged, budgets)
    else:
        _stage_items(_folder_items(_download_root(download)), tops, layout, assignment, roster, modules, staged,
                     budgets)
    for student in sorted(budgets):
        _unpack_nested(folder / student, budgets[student], lambda line, s=student: staged.notes.setdefault(s, [])
                       .append(line))
    write_sidecar(course_dir, assignment, staged)
    return staged


def _owner(layout, top, assignment, roster, staged):
    """``(student, match)`` of the first component ``top``, or ``(None, None)`` with the line said."""
    if layout is None:   # a zip of <student_id>/ folders
        return top, None
    match = layout.pattern.match(top)
    if match is None:
        staged.unmapped.append(f"{top}: not named as a {layout.name} download names its entries")
        return None, None
    groups = match.groupdict()
    if groups.get("assignment") not in (None, assignment.name):
        staged.unmapped.append(f"{top}: a submission of assignment {groups['assignment']}, not {assignment.name}")
        return None, None
    if groups.get("student"):
        return groups["student"], match
    student, why = roster.find(groups.get("user"), groups.get("name"))
    if student is None:
        staged.unmapped.append(f"{top}: {why}")
    return student, match


def _stage_items(items, tops, layout, assignment, roster, modules, staged, budgets):
    """Write every item of the download to its student's staged folder (see :func:`stage_download`);
    ``tops``: the download's first components."""
    owners = {top: _owner(layout, top, assignment, roster, staged) for top in sorted(tops)}
    chosen = {}   # student -> (time, first component) of the submission that counts
    for top, (student, match) in owners.items():
        if student and layout is not None and layout.latest_only:
            if student not in chosen or match["time"] > chosen[student][0]:
                chosen[student] = (match["time"], top)
    for top, (student, _) in owners.items():
        if student in chosen and chosen[student][1] != top:
            staged.unmapped.append(f"{top}: an older submission of {student} (the latest, {chosen[student][1]}, "
                                   "is graded)")
    reported = set()
    for item in items:
        top = item.parts[0]
        if top not in owners:   # listed after the download's first components were read
            owners[top] = _owner(layout, top, assignment, roster, staged)
        student, match = owners[top]
        if not student or (student in chosen and chosen[student][1] != top):
            continue
        if layout is None and len(item.parts) == 1 and item.kind != DIRECTORY:
            staged.unmapped.append(f"{top}: a file beside the students' folders, not in one")
            continue
        budget = budgets.setdefault(student, _Budget())
        record = staged.records.setdefault(student, {"student_id": student, "layout": staged.layout,
                                                     "lms_user_id": "", "late": "no", "submitted_at": "",
                                                     "entries": []})
        groups = match.groupdict() if match else {}
        if groups.get("user"):
            record["lms_user_id"] = groups["user"]
        if groups.get("late"):
            record["late"] = "yes"
        if groups.get("time"):
            record["submitted_at"] = groups["time"]
        elif item.time and item.kind == FILE:
            record["submitted_at"] = max(record["submitted_at"], item.time.strftime("%Y-%m-%d %H:%M:%S %Z"))
        if top not in record["entries"]:
            record["entries"].append(top)
        relative = _inner_path(layout, match, item.parts, modules)
        if not relative:
            continue
        if item.kind == DIRECTORY:
            (staged.folder / student / relative).mkdir(parents=True, exist_ok=True)
            continue
        problem = item.kind if item.kind != FILE else _limit_problem(relative, budget, FILE, item.size)
        if problem is None:
            (staged.folder / student).mkdir(exist_ok=True)
            problem = _write(staged.folder / student, relative, item.open, budget)
        if problem and (student, relative) not in reported:
            reported.add((student, relative))
            staged.notes.setdefault(student, []).append(f"{'/'.join(item.parts)} was not read ({problem})")
    for student, record in staged.records.items():
        (staged.folder / student).mkdir(exist_ok=True)
        if record["late"] == "yes":
            staged.notes.setdefault(student, []).insert(0, f"marked late by {staged.layout}")


def sidecar_path(course_dir, assignment_name):
    return Path(course_dir) / STAGING_DIR / f"{assignment_name}.csv"


def write_sidecar(course_dir, assignment, staged):
    """``COURSE/.lms-download/<assignment>.csv``: per student, the layout, LMS user id, late flag,
    submission time (the exchange's, else the newest file time the download carries) and entries."""
    with open(sidecar_path(course_dir, assignment.name), "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, SIDECAR_COLUMNS)
        writer.writeheader()
        for student in sorted(staged.records):
            writer.writerow({**staged.records[student], "entries": " ".join(staged.records[student]["entries"])})


def read_sidecar(course_dir, assignment_name):
    """``{student: row}`` of the sidecar of the last staged download (empty when there was none)."""
    try:
        with open(sidecar_path(course_dir, assignment_name), newline="", encoding="utf-8") as handle:
            return {row["student_id"]: row for row in csv.DictReader(handle)}
    except FileNotFoundError:
        return {}
