"""Students' submissions before anything runs: their ids, collection, and the notebook checks.

A student id is a folder name and a gradebook key; it may hold ASCII letters, digits, ``_``,
``.`` and ``-`` and must not start with ``.`` or ``-``. Any other id (a space, an accent) is
refused for that student alone, with a suggested name (:func:`id_problem`).

:func:`collect_submissions` refuses, before writing anything, a folder that holds another
assignment's work (:func:`foreign_work`), so ``submitted/`` never holds one assignment's notebook
under another's name, and leaves a submission collected before untouched when its files did not change.

:func:`prepare_submission` looks at a submitted notebook before nbgrader does and returns
the reason it cannot be graded (another assignment's notebook, no notebook, an empty or
unreadable one), or repairs what nbgrader 0.9.6 cannot grade although the work is there: a
graded cell copied twice (the first copy is kept), duplicated cell ids, a graded cell whose grade id
is not the course's (nbgrader stops with ``KeyError: 'grade_id'``: a renamed test cell is removed, so
nbgrader restores the course's as it does a deleted one), a graded cell whose
nbgrader metadata was edited (``"grade": false`` on a test cell makes nbgrader stop with
"Inconsistent checksums": the course's metadata is put back), and saved outputs too large to
be worth carrying (a 128 MB picture: grading runs the notebook again, so they are dropped).
"""
import hashlib
import json
import os
import re
import shutil
import stat
import unicodedata
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import nbformat

from .submission_files import MAX_SUBMISSION_BYTES, copy_submission, fingerprint

STUDENT_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
ID_RULE = "a student id may hold ASCII letters, digits, '_', '.' and '-' only, and must not start with '.' or '-'"
TIMESTAMP = "timestamp.txt"
NOT_COLLECTED_DIR = ".not-collected"  # <course>/.not-collected/<assignment>/<student>.txt
COLLECTED_DIR = ".collected"          # <course>/.collected/<assignment>/<student>.sha256: the files last collected
GRADING_METADATA = ("grade", "solution", "locked", "points", "task")  # what nbgrader's checksum covers
MAX_SAVED_OUTPUT_BYTES = 8 << 20   # one saved output of a submitted notebook (JSON text)


def suggested_id(name):
    """``name`` spelled with the allowed characters: accents dropped, anything else as ``_``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", ascii_name).lstrip(".-") or "student"


def id_problem(name):
    """Why ``name`` cannot be a student id, or ``None`` when it can."""
    if STUDENT_ID.match(name):
        return None
    return f"student id {name!r} refused: {ID_RULE} (rename the folder, e.g. to {suggested_id(name)!r})"


def folder_digest(folder):
    """SHA-256 of the files under ``folder`` (:func:`~.submission_files.fingerprint`), without the
    top-level ``timestamp.txt``: the same work collected again has the same digest."""
    return fingerprint(folder, hashlib.sha256(), skip=(TIMESTAMP,)).hexdigest()


def _not_collected_path(course_dir, assignment_name, student):
    return Path(course_dir) / NOT_COLLECTED_DIR / assignment_name / f"{student}.txt"


def _collected_path(course_dir, assignment_name, student):
    return Path(course_dir) / COLLECTED_DIR / assignment_name / f"{student}.sha256"


def not_collected(course_dir, assignment_name, student):
    """What the last collection of ``student``'s folder refused, one ``"path (reason)"`` each."""
    try:
        text = _not_collected_path(course_dir, assignment_name, student).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return text.splitlines()


@dataclass
class Collection:
    """What collection did: the ids copied into ``submitted/`` (or left there, unchanged), the folders
    refused with why (a bad id), the folders not collected because they hold another assignment's work
    (``foreign``, with why), and per student the entries of their folder that were not copied
    (:class:`~.submission_files.Refused`, or its line as kept)."""

    students: list = field(default_factory=list)
    refused: dict = field(default_factory=dict)
    foreign: dict = field(default_factory=dict)
    not_copied: dict = field(default_factory=dict)


def student_files(folder, assignment):
    """Where a student's folder keeps the assignment's files: itself, or its sub-folder named after it."""
    own_folder = folder / assignment.name
    return own_folder if own_folder.is_dir() and not own_folder.is_symlink() else folder


def collect_submissions(course_dir, assignment, submissions_dir, assignments=None):
    """Copy ``submissions_dir/<student>/`` into ``submitted/<student>/<assignment>/``.

    A student's folder holds the assignment's files (or one sub-folder named after the
    assignment that does). The copy is :func:`~.submission_files.copy_submission`: links, FIFOs,
    sockets, devices and files over the size limit are not copied, and named (kept for the
    student's feedback, see :func:`not_collected`). A folder whose name is not a valid id
    is refused, alone. A folder holding the work of another of ``assignments`` (default: all,
    :func:`foreign_work`) is not collected: what ``submitted/`` holds of that student stays as it
    is; when no folder holds this assignment's work and some hold another's, the whole folder is
    another assignment's: ``CourseError``, before anything is written. ``timestamp.txt`` (nbgrader's
    submission time) is always the collection's: a student's own copy is ignored (it could claim any
    time). Files that did not change since the last collection are not collected again: their
    copy (repaired by :func:`prepare_submission`) and its time stay as they are. An error while reading
    or copying one student's folder refuses that student alone, with the reason.
    """
    from .assignments import all_assignments
    from .pipeline import CourseError  # imported here: the pipeline pulls in nbgrader

    assignments = all_assignments() if assignments is None else assignments
    collection, to_copy = Collection(), []
    for folder in sorted(Path(submissions_dir).iterdir()):
        if not folder.is_dir() or folder.is_symlink():
            continue
        problem = id_problem(folder.name)
        if problem:
            collection.refused[folder.name] = problem
            continue
        try:
            foreign = foreign_work(folder, assignment, assignments)
        except OSError as error:
            collection.refused[folder.name] = f"the submission could not be read: {error.strerror or error}"
            continue
        if foreign:
            collection.foreign[folder.name] = foreign
        else:
            to_copy.append(folder)
    if collection.foreign and not to_copy:
        student, reason = next(iter(collection.foreign.items()))
        raise CourseError(f"{submissions_dir} holds another assignment's work, not {assignment.name}'s "
                          f"({len(collection.foreign)} folder(s), e.g. {student}: {reason}): nothing was collected; "
                          f"give the folder of the {assignment.name} submissions")
    for folder in to_copy:
        try:
            _collect_student(course_dir, assignment, folder, collection)
        except OSError as error:   # one student's folder never stops the class's collection
            # submitted/ holds a whole submission, the earlier one or the new one: kept, and compared again
            _collected_path(course_dir, assignment.name, folder.name).unlink(missing_ok=True)
            if folder.name in collection.students:
                collection.students.remove(folder.name)
            collection.refused[folder.name] = f"the submission could not be collected: {error.strerror or error}"
    return collection


def _collect_student(course_dir, assignment, folder, collection):
    """Collect one valid student's folder (see :func:`collect_submissions`) into ``collection``.

    The files are copied beside ``submitted/`` first: when they are the submission collected before
    (byte for byte, or once repaired as :func:`repair_notebook` repairs that one), ``submitted/`` is
    left as it is, files, times and ``timestamp.txt``: formgrader and the done records still see
    the submission they graded."""
    files, student = student_files(folder, assignment), folder.name
    target = Path(course_dir) / "submitted" / student / assignment.name
    digest_path = _collected_path(course_dir, assignment.name, student)
    digest = folder_digest(files)
    collection.students.append(student)
    if target.is_dir() and digest_path.is_file() and digest_path.read_text(encoding="utf-8") == digest:
        kept = not_collected(course_dir, assignment.name, student)
        if kept:
            collection.not_copied[student] = kept
        return
    incoming = digest_path.with_suffix(".incoming")   # what a killed collection left is replaced
    shutil.rmtree(incoming, ignore_errors=True)
    incoming.mkdir(parents=True)
    try:
        not_copied = copy_submission(files, incoming, skip=(TIMESTAMP,))
        if not (target.is_dir() and _same_submission(incoming, target, assignment)):
            stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f %Z")
            (incoming / TIMESTAMP).write_text(stamp, encoding="utf-8")
            _replace_folder(target, incoming, digest_path.with_suffix(".previous"))
    finally:
        shutil.rmtree(incoming, ignore_errors=True)
    record = _not_collected_path(course_dir, assignment.name, student)
    if not_copied:
        collection.not_copied[student] = not_copied
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text("".join(f"{entry}\n" for entry in not_copied), encoding="utf-8")
    else:
        record.unlink(missing_ok=True)
    digest_path.parent.mkdir(parents=True, exist_ok=True)
    digest_path.write_text(digest, encoding="utf-8")


def _replace_folder(target, new, previous):
    """Put the folder ``new`` at ``target``; the folder there before is moved to ``previous`` first and
    put back if the move fails, so ``target`` is never a partial copy."""
    shutil.rmtree(previous, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        os.replace(target, previous)
    try:
        os.replace(new, target)
    except OSError:
        if previous.exists():
            os.replace(previous, target)
        raise
    shutil.rmtree(previous, ignore_errors=True)


def _same_submission(incoming, target, assignment):
    """Whether the freshly copied folder ``incoming`` holds the submission ``target`` holds: the same
    files, or the same once its notebook is repaired as the one in ``target`` was (a cell pasted twice
    is dropped when graded, so the submitted copy differs from what the student handed in)."""
    collected = folder_digest(target)
    if folder_digest(incoming) == collected:
        return True
    notebook = incoming / f"{assignment.name}.ipynb"
    if not notebook.is_file() or notebook.is_symlink():
        return False
    as_handed_in = notebook.read_bytes()
    try:
        repair_notebook(notebook, assignment)
        return folder_digest(incoming) == collected
    finally:   # submitted/ gets the notebook as handed in: grading repairs it and notes what it did
        notebook.write_bytes(as_handed_in)


def foreign_work(folder, assignment, assignments):
    """Why the student's ``folder`` holds the work of another of ``assignments``, or ``None``: its
    notebook named after ``assignment`` holds another assignment's graded cells and none of its own,
    or it has no such notebook and one named after another assignment (beside its files, or in a
    sub-folder of that name) holds that assignment's graded cells and none of this one's."""
    files = student_files(folder, assignment)
    own = files / f"{assignment.name}.ipynb"
    if os.path.lexists(own):
        found = _graded_ids_in(own)
        return None if found is None else _assignment_mismatch(own.name, found, assignment, assignments)
    expected = set(graded_cell_ids(assignment.notebook))
    for other in assignments:
        sub_folder = folder / other.name
        places = [files] + ([sub_folder] if sub_folder.is_dir() and not sub_folder.is_symlink() else [])
        for place in places if other.name != assignment.name else ():
            found = _graded_ids_in(place / f"{other.name}.ipynb")
            if found and not found & expected and found & set(graded_cell_ids(other.notebook)):
                where = (place / f"{other.name}.ipynb").relative_to(folder).as_posix()
                return f"no {own.name}, and {where} is the notebook of assignment {other.name}"
    return None


def _graded_ids_in(path):
    """The graded cell ids of the notebook at ``path`` in a student's folder, or ``None`` when it is
    not a plain file (a link is not followed, a FIFO or device not read), too large, or unreadable."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        raw = handle.read(MAX_SUBMISSION_BYTES + 1)
    if len(raw) > MAX_SUBMISSION_BYTES:
        return None
    reason, _, notebook = _parse_notebook(raw, Path(path).name)
    return None if reason else {cell_grade_id(cell) for cell in notebook.cells} - {None}


def submitted_ids(course_dir, assignment):
    """Every folder name under ``submitted/`` that holds this assignment, valid id or not."""
    return sorted(path.parent.name for path in (Path(course_dir) / "submitted").glob(f"*/{assignment.name}")
                  if path.is_dir())


def cell_grade_id(cell):
    """The nbgrader grade id of a notebook cell (dict or NotebookNode), or None."""
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def graded_cell_ids(notebook_path):
    """The nbgrader grade ids of an instructor notebook, in order."""
    return [grade_id for grade_id in map(cell_grade_id, nbformat.read(notebook_path, as_version=4).cells) if grade_id]


def _assignment_mismatch(name, found_ids, assignment, assignments):
    """Why the notebook file ``name`` with the graded cells ``found_ids`` is another assignment's
    work: none of ``assignment``'s graded cells, some of another's; ``None`` otherwise."""
    if found_ids & set(graded_cell_ids(assignment.notebook)):
        return None
    for other in assignments:
        if other.name != assignment.name and found_ids & set(graded_cell_ids(other.notebook)):
            return f"{name} holds the notebook of assignment {other.name}, not {assignment.name}"
    return None


def _parse_notebook(raw, name):
    """``(reason, data, notebook)``: why the bytes ``raw`` of the notebook file ``name`` cannot be
    read (``None`` when they can), its JSON and its nbformat notebook."""
    if not raw.strip():
        return f"{name} is empty ({len(raw)} bytes)", None, None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        return f"{name} is not a notebook: not JSON text ({error})", None, None
    except RecursionError:  # a crafted file nested deeper than any notebook: it would stop the whole class
        return f"{name} is not a notebook: its JSON is nested too deeply to read", None, None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        return f"{name} is not a notebook: no list of cells", None, None
    try:
        with warnings.catch_warnings():  # nbformat warns about the duplicated ids prepare_submission repairs
            warnings.simplefilter("ignore")
            notebook = nbformat.reads(raw.decode("utf-8"), as_version=4)
    except Exception as error:  # nbformat raises several types for a malformed notebook
        return f"{name} is not a notebook nbformat can read ({type(error).__name__}: {error})", None, None
    return None, data, notebook


def _read_notebook(path):
    """:func:`_parse_notebook` of the file at ``path``."""
    return _parse_notebook(path.read_bytes(), path.name)


def unreadable_reason(path):
    """Why the notebook file at ``path`` cannot be read (empty, not JSON, not a notebook), or ``None``."""
    return _read_notebook(Path(path))[0]


def prepare_submission(course_dir, assignment, student, assignments=()):
    """Check and repair ``submitted/<student>/<assignment>/<assignment>.ipynb`` in place.

    Returns ``(problem, notes)``: ``problem`` is why nothing of this submission can be graded
    (``None`` when it can): no notebook, an empty or unreadable one (the README's rule: it scores 0,
    with the reason), or another of ``assignments``' notebook; ``notes`` what was repaired.
    Idempotent: a repaired notebook is left as it is on the next run, so its fingerprint does not change.
    """
    folder = Path(course_dir) / "submitted" / student / assignment.name
    path = folder / f"{assignment.name}.ipynb"
    if not path.is_file():
        refused = [line for line in not_collected(course_dir, assignment.name, student)
                   if line.startswith(f"{path.name} (")]
        if refused:   # over the size limit, say: the reason is the student's own, not a missing notebook
            return f"{path.name} was not collected: {refused[0][len(path.name) + 2:-1]}", []
        others = sorted(p.name for p in folder.glob("*.ipynb"))
        hint = f" (it holds {', '.join(others)}: rename the notebook if it is this assignment's)" if others else ""
        return f"no {path.name} in the submission{hint}", []
    return repair_notebook(path, assignment, assignments)


def repair_notebook(path, assignment, assignments=()):
    """:func:`prepare_submission` of ``assignment``'s notebook file at ``path``: ``(problem, notes)``,
    the repaired notebook written in place."""
    reason, data, notebook = _read_notebook(path)
    if reason:
        return reason, []
    found = {cell_grade_id(cell) for cell in notebook.cells} - {None}
    mismatch = _assignment_mismatch(path.name, found, assignment, assignments)
    if mismatch:
        return mismatch, []
    for index, (cell, raw_cell) in enumerate(zip(notebook.cells, data["cells"])):
        if isinstance(raw_cell, dict) and "id" not in raw_cell and "id" in cell:
            # nbformat's upgrade draws random ids: the repaired copy must be the same on every run,
            # or an unchanged submission would look new.
            cell.id = f"cell-{index}"
    notes = _keep_first_copies(notebook)
    course_cells = {cell_grade_id(cell): cell for cell in nbformat.read(assignment.notebook, as_version=4).cells
                    if cell_grade_id(cell)}
    notes += _restore_renamed_cells(notebook, course_cells)
    notes += _restore_grading_metadata(notebook, course_cells)
    notes += _drop_large_outputs(notebook)
    if notes:
        nbformat.write(notebook, path)
    return None, notes


def _is_graded(metadata):
    return any(metadata.get(key) for key in ("grade", "solution", "task"))


def _restore_renamed_cells(notebook, course_cells):
    """Repair the graded cells that are not the course's (a grade id the student changed or removed):
    nbgrader 0.9.6 stops with ``KeyError: 'grade_id'`` on any of them. An answer cell whose cell id is
    that of a course answer cell missing from the notebook gets that cell's grade id back (the student's
    code is their answer); a test cell is removed, so that nbgrader puts the course's back, as it does
    for a deleted one (``add_missing_cells``); any other keeps its code as an ordinary cell. Returns
    what was done. ``course_cells``: ``{grade id: cell}`` of the instructor notebook."""
    present = {cell_grade_id(cell) for cell in notebook.cells}
    missing_by_cell_id = {cell.get("id"): grade_id for grade_id, cell in course_cells.items()
                          if grade_id not in present and cell.metadata["nbgrader"].get("solution")}
    kept, notes, removed = [], [], []
    for cell in notebook.cells:
        metadata = cell.get("metadata", {}).get("nbgrader")
        grade_id = cell_grade_id(cell)
        if not isinstance(metadata, dict) or grade_id in course_cells or not (_is_graded(metadata) or grade_id):
            kept.append(cell)
            continue
        name = f"{grade_id!r}" if grade_id else "without a grade id"
        answer = missing_by_cell_id.pop(cell.get("id"), None) if metadata.get("solution") else None
        if answer:
            metadata["grade_id"] = answer
            notes.append(f"answer cell {name} is not one of the course's: it is the course's {answer} "
                         "(same cell id), whose grade id was put back")
            kept.append(cell)
        elif metadata.get("grade") and not metadata.get("solution"):
            removed.append(name)
        else:
            del cell.metadata["nbgrader"]
            notes.append(f"cell {name} is not one of the course's graded cells: it runs as an ordinary cell")
            kept.append(cell)
    notebook.cells = kept
    if removed:
        kept_ids = {cell_grade_id(cell) for cell in kept}
        restored = [grade_id for grade_id, cell in course_cells.items()
                    if grade_id not in kept_ids and cell.metadata["nbgrader"].get("grade")]
        done = (f"it was removed and the course's {', '.join(restored)} restored" if restored
                else "it was removed (the notebook holds every test cell of the course)")
        notes += [f"test cell {name} is not one of the course's (its grade id was changed): {done}" for name in removed]
    return notes


def _restore_grading_metadata(notebook, course_cells):
    """Put back the course's nbgrader flags of every graded cell whose flags the student changed.
    ``course_cells``: ``{grade id: cell}`` of the instructor notebook."""
    course = {grade_id: cell.metadata["nbgrader"] for grade_id, cell in course_cells.items()}
    notes = []
    for cell in notebook.cells:
        original = course.get(cell_grade_id(cell))
        if original is None:
            continue
        metadata = cell.metadata["nbgrader"]
        changed = [f"{key}: {json.dumps(metadata.get(key))}" for key in GRADING_METADATA
                   if metadata.get(key) != original.get(key)]
        if changed:
            for key in GRADING_METADATA:
                metadata.pop(key, None)
                if key in original:
                    metadata[key] = original[key]
            notes.append(f"cell {cell_grade_id(cell)} had its grading metadata changed ({', '.join(changed)}): "
                         "the course's was put back")
    return notes


def _drop_large_outputs(notebook):
    """Remove saved outputs over :data:`MAX_SAVED_OUTPUT_BYTES` (grading runs every cell again)."""
    notes = []
    for index, cell in enumerate(notebook.cells):
        kept = []
        for output in cell.get("outputs", []):
            size = len(json.dumps(output))
            if size > MAX_SAVED_OUTPUT_BYTES:
                notes.append(f"removed a saved output of {size / (1 << 20):.0f} MiB from cell "
                             f"{cell_grade_id(cell) or index + 1} (saved outputs over "
                             f"{MAX_SAVED_OUTPUT_BYTES >> 20} MiB are not kept; grading runs the notebook again)")
            else:
                kept.append(output)
        if "outputs" in cell:
            cell.outputs = kept
    return notes


def _keep_first_copies(notebook):
    """Drop later copies of graded cells and give duplicated cell ids new ones; what was done."""
    seen, kept, dropped = set(), [], []
    for cell in notebook.cells:
        grade_id = cell_grade_id(cell)
        if grade_id and grade_id in seen:
            dropped.append(grade_id)
            continue
        seen.add(grade_id)
        kept.append(cell)
    notes = [f"removed a second copy of graded cell {grade_id} (the first copy is graded)" for grade_id in dropped]
    ids, renamed = set(), 0
    for index, cell in enumerate(kept):
        if "id" in cell and cell.id in ids:
            cell.id = f"{cell.id[:50]}-copy{index}"  # nbformat allows 64 characters
            renamed += 1
        ids.add(cell.get("id"))
    if renamed:
        notes.append(f"gave {renamed} cell(s) with a duplicated id a new id")
    notebook.cells = kept
    return notes
