"""Moving files across the sandbox boundary without following the student's links.

Everything here runs as root on folders a student controls. A symbolic link is never
followed (it could name the solutions, another student's work or ``/dev/zero``), a device,
FIFO or socket is never opened, and every copy is counted while it streams, so a file that
grows (or claims one size and delivers another) cannot fill the grading host's disk.
"""
import os
import stat
from pathlib import Path

CHUNK = 1 << 20


class SubmissionTooLarge(ValueError):
    """The submission folder holds more bytes than a sandbox run accepts."""


def _kind(mode):
    if stat.S_ISLNK(mode):
        return "symbolic link"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


def walk_submission(source):
    """Yield ``(relative path, kind, opener)`` for everything below ``source``, never following a link.

    ``kind`` is ``"dir"``, ``"file"`` or why the entry is refused (``"symbolic link"``,
    ``"FIFO"``, ...); ``opener()`` (files only) opens the file read-only without following a
    link planted in its place since it was listed, and checks it is still a regular file.
    Relative paths are ``str`` (undecodable bytes kept with ``surrogateescape``).
    """
    for directory, subdirectories, filenames, directory_fd in os.fwalk(source, follow_symlinks=False):
        relative_dir = Path(directory).relative_to(source)
        real_subdirectories = []
        for name in sorted([*subdirectories, *filenames]):
            info = os.stat(name, dir_fd=directory_fd, follow_symlinks=False)
            if stat.S_ISDIR(info.st_mode):
                real_subdirectories.append(name)
                yield relative_dir / name, "dir", None
            elif stat.S_ISREG(info.st_mode):
                yield relative_dir / name, "file", lambda name=name, fd=directory_fd: _open_regular(name, fd)
            else:  # a link to a folder is listed among the folders by fwalk: refused here too
                yield relative_dir / name, _kind(info.st_mode), None
        subdirectories[:] = real_subdirectories


def _open_regular(name, directory_fd):
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=directory_fd)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(f"{name} changed into a special file while being copied")
    return os.fdopen(fd, "rb")


def copy_submission(source, destination, owner, max_bytes):
    """Copy the regular files and folders of ``source`` into ``destination``, owned by ``owner``.

    Links, devices, FIFOs and sockets are not copied; returns them as ``["name (kind)", ...]``
    for the feedback. Raises :class:`SubmissionTooLarge` as soon as more than ``max_bytes``
    have been read, counting while copying (never trusting a size the file reports).
    """
    source, destination = Path(source), Path(destination)
    skipped, total = [], 0
    for relative, kind, opener in walk_submission(source):
        target = destination / relative
        if kind == "dir":
            target.mkdir(mode=0o700, exist_ok=True)
        elif kind == "file":
            with opener() as reader, open(target, "wb", opener=_private_opener) as writer:
                while chunk := reader.read(CHUNK):
                    total += len(chunk)
                    if total > max_bytes:
                        raise SubmissionTooLarge(f"the submission holds more than {max_bytes} bytes")
                    writer.write(chunk)
        else:
            skipped.append(f"{printable(relative)} ({kind})")
            continue
        os.chown(target, *owner, follow_symlinks=False)
    return skipped


def _private_opener(path, flags):
    return os.open(path, flags | os.O_NOFOLLOW | os.O_EXCL, 0o600)


def printable(path):
    """A file name for feedback: undecodable bytes shown as ``\\xNN``, never an exception."""
    return os.fsencode(path).decode("utf-8", errors="backslashreplace")


def fingerprint(source, digest, max_bytes, skip=()):
    """Feed the relative names (bytes) and contents of ``source``'s regular files into ``digest``;
    links and special files count by name and kind only; ``skip``: relative paths left out.
    Reads at most ``max_bytes``."""
    total = 0
    for relative, kind, opener in walk_submission(Path(source)):
        if str(relative) in skip:
            continue
        digest.update(os.fsencode(relative) + b"\0" + kind.encode() + b"\0")
        if kind != "file":
            continue
        with opener() as reader:
            while chunk := reader.read(CHUNK):
                total += len(chunk)
                if total > max_bytes:
                    raise SubmissionTooLarge(f"the submission holds more than {max_bytes} bytes")
                digest.update(chunk)
        digest.update(b"\0")
    return digest


def read_back(directory, name, max_bytes):
    """Bytes of the regular file ``directory/name`` written by the student side, or ``None``.

    Opened with ``O_NOFOLLOW`` relative to a directory descriptor, so a symlink planted in
    place of the result (pointing at the gradebook, say) is refused, not read as root.
    Raises ``ValueError`` naming the problem if the file is not a plain file or too big.
    """
    try:
        directory_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:  # ELOOP: the folder itself was replaced by a symlink
        raise ValueError(f"{Path(directory).name}/ is not a plain folder ({error.strerror})") from None
    try:
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=directory_fd)
        except FileNotFoundError:
            return None
        except OSError as error:
            raise ValueError(f"{name} is not a plain file ({error.strerror})") from None
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise ValueError(f"{name} is not a plain file")
            if info.st_size > max_bytes:
                raise ValueError(f"{name} holds {info.st_size} bytes, more than the {max_bytes} accepted")
            return handle.read(max_bytes + 1)[:max_bytes]
    finally:
        os.close(directory_fd)
