"""Where the labs look for downloaded data.

The data directory is, in order of precedence: the ``data_dir`` argument, the
``BACKPROP_LABS_DATA`` environment variable, then the ``data/`` folder of this
repository. Inside it the layout mirrors the course's shared data folder:
``sentiment/books/{positive,negative}.review`` and ``advertising/advertising.csv``.
"""
import os
from pathlib import Path

DATA_DIR_VARIABLE = "BACKPROP_LABS_DATA"
REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS_PACKAGE_DIR = REPOSITORY_ROOT / "labs_solutions"        # the single source of truth
STUDENT_PACKAGE_DIR = REPOSITORY_ROOT / "labs"                     # generated from it
SOURCE_NOTEBOOKS_DIR = REPOSITORY_ROOT / "notebooks" / "source"    # instructor notebooks
STUDENT_NOTEBOOKS_DIR = REPOSITORY_ROOT / "notebooks" / "student"  # generated from them


class MissingDataError(FileNotFoundError):
    """A data file the lab needs is not where the data directory setting points."""


def data_directory(data_dir=None):
    """The data directory chosen by argument, environment variable or default."""
    if data_dir is not None:
        return Path(data_dir).expanduser().resolve()
    from_environment = os.environ.get(DATA_DIR_VARIABLE)
    if from_environment:
        return Path(from_environment).expanduser().resolve()
    return REPOSITORY_ROOT / "data"


def require_data_file(relative_path, what, how_to_get, data_dir=None):
    """Path of a data file, or a ``MissingDataError`` that says what is missing and where to put it."""
    directory = data_directory(data_dir)
    path = directory / relative_path
    if not path.is_file():
        raise MissingDataError(
            f"{what} not found: no file at {path}.\n"
            f"{how_to_get}\n"
            f"Put it at <data dir>/{relative_path}, where <data dir> is the --data-dir argument, "
            f"the {DATA_DIR_VARIABLE} environment variable, or {REPOSITORY_ROOT / 'data'} by default "
            f"(now: {directory})."
        )
    return path
