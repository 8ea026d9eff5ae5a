"""Where the labs find their data, and reading a data file safely.

The data directory is, in order of precedence: the ``data_dir`` argument, the
``BACKPROP_LABS_DATA`` environment variable, then the ``data/`` folder of this
repository, which ships the books corpus and the Advertising data. Inside it the layout
mirrors the course's shared data folder: ``sentiment/books/{positive,negative}.review``
and ``advertising/advertising.csv``. Each file may be stored plain or gzipped (the same
name with ``.gz``); the plain one is read when both exist.

A data directory may hold a ``SHA256SUMS`` file (``sha256sum`` format, paths relative to
the directory). A file it lists is checked against its sum when read; a file it does not
list, or a directory without one, is read unchecked. The repository's ``data/SHA256SUMS``
lists every file it ships.
"""
import gzip
import hashlib
import io
import os
import re
import zlib
from pathlib import Path

DATA_DIR_VARIABLE = "BACKPROP_LABS_DATA"
REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS_PACKAGE_DIR = REPOSITORY_ROOT / "labs_solutions"        # the single source of truth
STUDENT_PACKAGE_DIR = REPOSITORY_ROOT / "labs"                     # generated from it
SOURCE_NOTEBOOKS_DIR = REPOSITORY_ROOT / "notebooks" / "source"    # instructor notebooks
STUDENT_NOTEBOOKS_DIR = REPOSITORY_ROOT / "notebooks" / "student"  # generated from them
DEFAULT_DATA_DIR = REPOSITORY_ROOT / "data"
SUMS_FILE = "SHA256SUMS"
_SUMS_LINE = re.compile(r"^([0-9a-fA-F]{64}) [ *](.+)$")


class MissingDataError(FileNotFoundError):
    """A data file the lab needs is not where the data directory setting points."""


class CorruptDataError(MissingDataError, ValueError):
    """A data file is there but unusable: its checksum does not match, its gzip stream is
    damaged or truncated, or a line does not have the expected format.

    A :class:`MissingDataError` (no usable copy of the file is available, and the command
    line tools report both the same way) and a ``ValueError`` (the content is wrong). The
    message names the file, and the line when one is at fault.
    """


def data_directory(data_dir=None):
    """The data directory chosen by argument, environment variable or default."""
    if data_dir is not None:
        return Path(data_dir).expanduser().resolve()
    from_environment = os.environ.get(DATA_DIR_VARIABLE)
    if from_environment:
        return Path(from_environment).expanduser().resolve()
    return DEFAULT_DATA_DIR


def require_data_file(relative_path, what, how_to_get, data_dir=None):
    """Path of a data file, plain or gzipped (``relative_path`` + ``.gz``), or a
    ``MissingDataError`` that says what is missing and where to put it."""
    directory = data_directory(data_dir)
    path = directory / relative_path
    if path.is_file():
        return path
    gzipped = path.with_name(path.name + ".gz")
    if gzipped.is_file():
        return gzipped
    shipped = ""
    if directory == DEFAULT_DATA_DIR:
        shipped = (f"The repository ships it as data/{relative_path}.gz: restore it with "
                   f"`git checkout -- data/` in your clone.\n")
    raise MissingDataError(
        f"{what} not found: no file at {path} (nor {gzipped.name}).\n"
        f"{shipped}{how_to_get}\n"
        f"Put it at <data dir>/{relative_path} (or gzipped, with .gz), where <data dir> is the "
        f"--data-dir argument, the {DATA_DIR_VARIABLE} environment variable, or {DEFAULT_DATA_DIR} "
        f"by default (now: {directory})."
    )


def read_data_file(relative_path, what, how_to_get, data_dir=None):
    """``(path, content)``: the file's path and its bytes, decompressed if it is gzipped.

    The file is found as by :func:`require_data_file`. When the data directory's
    ``SHA256SUMS`` lists the file (under the name it is stored as), its sum must match; a
    mismatch, or a gzip stream that is damaged or truncated, raises :class:`CorruptDataError`
    naming the file.
    """
    path = require_data_file(relative_path, what, how_to_get, data_dir)
    raw = path.read_bytes()
    verify_checksum(path, raw, data_directory(data_dir))
    if path.suffix != ".gz":
        return path, raw
    try:
        return path, gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:  # BadGzipFile is an OSError; truncation an EOFError
        raise CorruptDataError(f"{path}: damaged gzip file ({error}); {what} cannot be read") from None


def text_lines(content, newline=None):
    """The lines of UTF-8 ``content`` as ``open(..., newline=newline)`` gives them (by default
    universal newlines; ``newline=''`` for the csv module). An invalid byte becomes U+FFFD
    instead of stopping the read."""
    return io.TextIOWrapper(io.BytesIO(content), encoding="utf-8", errors="replace", newline=newline)


def verify_checksum(path, content, directory):
    """Raise :class:`CorruptDataError` if ``directory/SHA256SUMS`` lists ``path`` with another sum."""
    sums = known_sums(directory)
    try:
        name = path.relative_to(directory).as_posix()
    except ValueError:
        return
    expected = sums.get(name)
    if expected is None:
        return
    actual = hashlib.sha256(content).hexdigest()
    if actual != expected:
        raise CorruptDataError(
            f"{path}: checksum mismatch: its SHA-256 is {actual}, but {directory / SUMS_FILE} "
            f"lists {expected} for {name}. The file is damaged or is not the published version: "
            f"restore it (in a clone of the repository: `git checkout -- data/`), or remove its line "
            f"from {SUMS_FILE} if you replaced it on purpose."
        )


def known_sums(directory):
    """``{relative path: sha256 hex}`` from ``directory/SHA256SUMS``; empty if there is none."""
    sums_path = Path(directory) / SUMS_FILE
    try:
        text = sums_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    sums = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        match = _SUMS_LINE.match(line)
        if match is None:
            raise CorruptDataError(
                f"{sums_path}:{number}: expected '<64 hex digits>  <path>' (sha256sum format), got {line!r}"
            )
        sums[match.group(2)] = match.group(1).lower()
    return sums
