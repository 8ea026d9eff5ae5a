"""Reading a folder a student controls, as root: the one walk behind collection, the submission's
fingerprint and every copy into the sandbox (``grading.trusted`` imports it from here).

A symbolic link is never followed (it could name the solutions, another student's work or
``/dev/zero``), and a FIFO, socket or device is never opened (a FIFO blocks its reader forever,
a device may never end). A regular file is checked with ``lstat`` before it is opened, opened with
``O_NOFOLLOW | O_NONBLOCK`` and checked again with ``fstat`` (something swapped in since it was
listed is refused), and its bytes are counted while they stream: a file that grows, or claims one
size and delivers another, cannot fill the grading host's disk. Whatever is not read is a
:class:`Refused` entry, relative path and reason, for the student's feedback and the instructor's
summary. Names are handled as bytes, so a name that is not UTF-8 works.

Every limit is the student's own: a file over what is left of the submission's bytes, a path too long
to copy (the course's folders come before it, and ``PATH_MAX`` is 4096 bytes), a folder nested too deep,
more entries than a submission needs, and any error of one file or folder (one that vanished, one
that cannot be made in the copy) are named entries, never an exception that would stop the class.
The copy into the sandbox leaves out Python's bytecode (``__pycache__`` folders, ``.pyc`` files): the
code that runs is the ``.py`` the feedback shows.
"""
import os
import stat
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20
MAX_SUBMISSION_BYTES = 256 << 20   # one student's files, all together
MAX_PATH_BYTES = 1024              # a path inside a submission (its copy's place adds the course's folders)
MAX_DEPTH = 32                     # folders inside folders of a submission
MAX_ENTRIES = 10_000               # files and folders of a submission
DIRECTORY, FILE = "dir", "file"


def printable(path):
    """A file name for feedback: undecodable bytes shown as ``\\xNN``, never an exception."""
    return os.fsencode(path).decode("utf-8", errors="backslashreplace")


@dataclass(frozen=True)
class Refused:
    """An entry of a student's folder that was not read: ``path`` relative to the folder, and why."""

    path: str
    reason: str

    def __str__(self):
        shown = printable(self.path)
        if len(shown) > 160:   # a path of a thousand bytes: its start and its end name it
            shown = f"{shown[:80]}...{shown[-60:]}"
        return f"{shown} ({self.reason})"


def _kind(mode):
    if stat.S_ISDIR(mode):
        return DIRECTORY
    if stat.S_ISREG(mode):
        return FILE
    if stat.S_ISLNK(mode):
        return "symbolic link"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


def open_regular(name, directory_fd):
    """``name`` in the folder ``directory_fd``, opened read-only; ``OSError`` unless it is a regular
    file (a link is not followed, a FIFO does not block the open)."""
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=directory_fd)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(f"{printable(name)} is not a plain file")
    return os.fdopen(fd, "rb")


@dataclass(frozen=True)
class Entry:
    """One thing below the walked folder. ``kind``: ``"dir"``, ``"file"`` or the kind of a refused
    entry (``"symbolic link"``, ``"FIFO"``, ...); ``size``: as ``lstat`` reported it."""

    relative: str
    kind: str
    size: int
    name: str
    directory_fd: int

    def open(self):
        """Read-only, without following a link planted in its place since it was listed; valid
        only while the walk is at this entry's folder."""
        return open_regular(self.name, self.directory_fd)


def is_bytecode(name):
    """Python's compiled files (a ``__pycache__`` folder, a ``.pyc`` or ``.pyo`` file), which the copy
    into the sandbox leaves out: Python would run them instead of the ``.py`` the student shows."""
    return name == "__pycache__" or name.endswith((".pyc", ".pyo"))


def walk_submission(source, leave_out=None):
    """Yield an :class:`Entry` for everything below ``source``, in name order, never following a
    link (``source`` itself must not be one: then nothing is yielded). A path over
    :data:`MAX_PATH_BYTES`, a folder deeper than :data:`MAX_DEPTH` (not entered), an entry that cannot
    be looked at and the entry past :data:`MAX_ENTRIES` (the walk ends there) come as refused entries,
    their ``kind`` saying why. ``leave_out(name)``: entries left out silently (a folder is not entered)."""
    count = 0
    for directory, subdirectories, filenames, directory_fd in os.fwalk(source, follow_symlinks=False):
        relative_dir = os.path.relpath(directory, source)
        real_subdirectories = []
        for name in sorted([*subdirectories, *filenames]):
            if leave_out is not None and leave_out(name):
                continue
            relative = name if relative_dir == "." else os.path.join(relative_dir, name)
            count += 1
            if count > MAX_ENTRIES:
                yield Entry(relative, f"more than {MAX_ENTRIES} files and folders in the submission: this one and "
                                      "the rest were not read", 0, name, directory_fd)
                return
            try:
                info = os.stat(name, dir_fd=directory_fd, follow_symlinks=False)
            except OSError as error:   # gone since it was listed, or a name the system refuses
                yield Entry(relative, f"not readable: {error.strerror or error}", 0, name, directory_fd)
                continue
            kind = _kind(info.st_mode)
            if len(os.fsencode(relative)) > MAX_PATH_BYTES:
                kind = f"a path longer than {MAX_PATH_BYTES} bytes" + (", not entered" if kind == DIRECTORY else "")
            elif kind == DIRECTORY and relative.count(os.sep) >= MAX_DEPTH:
                kind = f"a folder nested more than {MAX_DEPTH} folders deep, not entered"
            if kind == DIRECTORY:
                real_subdirectories.append(name)
            # fwalk lists a link to a folder among the folders: it is refused like any link
            yield Entry(relative, kind, info.st_size, name, directory_fd)
        subdirectories[:] = real_subdirectories


def copied_sizes(source, max_bytes=MAX_SUBMISSION_BYTES, skip=()):
    """Bytes of each file :func:`copy_submission` would copy from ``source``, as listed (nothing is
    opened): a file larger than what is left of ``max_bytes`` is not counted, since the copy refuses
    it unread (a sparse 100 GB file costs nothing), so one submission counts at most ``max_bytes``."""
    sizes, left = [], max_bytes
    for entry in walk_submission(source):
        if entry.kind == FILE and entry.relative not in skip and entry.size <= left:
            sizes.append(entry.size)
            left -= entry.size
    return sizes


class _Grew(Exception):
    """A file delivered more bytes than were left of the limit."""


def _transfer(source, max_bytes, sink, skip=(), leave_out=None):
    """Walk ``source`` and hand every directory, regular file (streamed) and refusal to ``sink``.

    At most ``max_bytes`` are read in all (plus one byte per file): a file larger than what is left
    is refused without being read, one that grows while read is refused when it passes the limit.
    An error of one entry (reading it, or writing it where ``sink`` puts it) refuses that entry, and
    everything below a folder ``sink`` could not make. ``skip``: relative paths left out silently;
    ``leave_out``: names left out silently (see :func:`walk_submission`). Returns the :class:`Refused` entries.
    """
    refused, left, lost = [], max_bytes, []   # lost: folders not made, with a separator after their path
    for entry in walk_submission(source, leave_out):
        if entry.relative in skip or entry.relative.startswith(tuple(lost)):
            continue
        problem = None if entry.kind in (FILE, DIRECTORY) else entry.kind
        if entry.kind == DIRECTORY:
            try:
                sink.directory(entry.relative)
            except OSError as error:
                problem = f"not copied: {error.strerror or error}"
                lost.append(entry.relative + os.sep)
        elif problem is None and entry.size > left:
            problem = f"{entry.size} bytes, over the limit of {max_bytes} bytes for a submission"
        elif problem is None:
            problem, left = _stream(entry, sink, left, max_bytes)
        if problem:
            refused.append(Refused(entry.relative, problem))
            sink.refused(refused[-1])
    return refused


def _stream(entry, sink, left, max_bytes):
    """Copy one regular file into ``sink``: ``(why it was not copied or None, bytes left)``."""
    try:
        reader = entry.open()
    except OSError as error:
        return f"not readable: {error.strerror or error}", left
    problem = None
    try:
        with reader, sink.file(entry.relative) as write:
            while chunk := reader.read(min(CHUNK, left + 1)):
                left -= len(chunk)
                if left < 0:
                    raise _Grew
                write(chunk)
    except _Grew:
        problem, left = f"grew past the limit of {max_bytes} bytes for a submission while read", 0
    except OSError as error:   # read, or written where the sink puts it
        problem = f"not copied: {error.strerror or error}"
    if problem:
        try:
            sink.discard(entry.relative)
        except OSError:   # never made (a path the system refuses): nothing to remove
            pass
    return problem, left


class _Copy:
    """Sink of :func:`copy_submission`: folders and files under ``destination``, owned by ``owner``."""

    def __init__(self, destination, owner):
        self.destination, self.owner = Path(destination), owner

    def _own(self, path):
        if self.owner is not None:
            os.chown(path, *self.owner, follow_symlinks=False)

    def directory(self, relative):
        (self.destination / relative).mkdir(mode=0o700, exist_ok=True)
        self._own(self.destination / relative)

    @contextmanager
    def file(self, relative):
        target = self.destination / relative
        with open(target, "wb", opener=_private_opener) as writer:
            yield writer.write
        self._own(target)

    def discard(self, relative):
        (self.destination / relative).unlink(missing_ok=True)

    def refused(self, entry):
        pass


def _private_opener(path, flags):
    return os.open(path, flags | os.O_NOFOLLOW | os.O_EXCL, 0o600)


class _Digest:
    """Sink of :func:`fingerprint`: names (bytes), kinds and contents into a hashlib object."""

    def __init__(self, digest):
        self.digest = digest

    def directory(self, relative):
        self.digest.update(os.fsencode(relative) + b"\0dir\0")

    @contextmanager
    def file(self, relative):
        self.digest.update(os.fsencode(relative) + b"\0file\0")
        yield self.digest.update
        self.digest.update(b"\0")

    def discard(self, relative):
        self.digest.update(b"\0discarded\0")

    def refused(self, entry):
        self.digest.update(os.fsencode(entry.path) + b"\0" + entry.reason.encode() + b"\0")


def copy_submission(source, destination, max_bytes=MAX_SUBMISSION_BYTES, owner=None, skip=(), bytecode=True):
    """Copy the folders and regular files of ``source`` into the existing folder ``destination``
    (private modes; owned by ``owner = (uid, gid)`` when given); returns the :class:`Refused` entries:
    links, FIFOs, sockets, devices, files over ``max_bytes`` (counted while copying), paths too long
    or too deep, entries past the limit, and what could not be read or written.
    ``bytecode=False``: ``__pycache__`` folders and ``.pyc`` files are left out (:func:`is_bytecode`)."""
    return _transfer(Path(source), max_bytes, _Copy(destination, owner), skip,
                     leave_out=None if bytecode else is_bytecode)


def fingerprint(source, digest, max_bytes=MAX_SUBMISSION_BYTES, skip=()):
    """Feed what :func:`copy_submission` would copy and refuse into ``digest`` (a hashlib object),
    and return it: the same files give the same digest, a changed byte or name another one."""
    _transfer(Path(source), max_bytes, _Digest(digest), skip)
    return digest


def refused_line(refused, shown=5):
    """One feedback line naming the refused entries (the first ``shown`` of them)."""
    more = f", and {len(refused) - shown} more" if len(refused) > shown else ""
    return ("not copied from your submission (links, FIFOs, devices, files over the size limit and paths too long "
            "or too deep are never read): " + ", ".join(map(str, refused[:shown])) + more)
