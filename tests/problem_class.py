"""A class with the problems a real one has, for the grading command's tests.

``write_problem_class(release, submissions)`` writes one folder per student into
``submissions`` from the released files of backprop_mlp; ``EXPECTED`` is each student's
score per test cell (``None``: not graded, with the reason matching ``REASONS``; a notebook that
cannot be read is such a reason). The students of ``NOT_RUN`` are graded although nbgrader cannot run
their notebook (trusted scores only).
"""
import csv
import json
import shutil

import nbformat

from backprop_labs.paths import REPOSITORY_ROOT
from grading.course.submissions import cell_grade_id
from trusted_class import make_submission

ASSIGNMENT = "backprop_mlp"
CELLS = ["test_2_1_input_gradient", "test_2_2_tangent", "test_2_2_output_layer", "test_2_2_all_layers",
         "test_2_2_hidden", "test_2_4_log_forward", "test_2_4_hidden"]
FULL = [1, 1, 1, 2, 2, 2, 1]
EXPECTED = {
    "honest": FULL,
    "partly_right": [0, 1, 1, 2, 2, 2, 1],    # modules right, answer cell 2.1 left as the stub
    "stub": [0, 0, 0, 0, 0, 0, 0],
    "duplicated_cells": FULL,                 # graded on the first copy of each cell
    "reordered_deleted": FULL,                # deleted test cell put back, moved cells found by id
    # numpy_mlp.py ends the process at import: its checks (backpropagation, and the tangent's on its NumpyMLP) score 0
    "exits_at_import": [1, 0, 0, 0, 0, 2, 1],
    "kernel_exits": FULL,                     # modules right; an ungraded cell ends the notebook's kernel
    "empty_file": None,                       # a notebook that cannot be read scores 0, with why
    "not_a_notebook": None,
    "wrong_assignment": None,
    "no_notebook": None,
    "José García": None,
    "with space": None,
}
REASONS = {
    "wrong_assignment": "backprop_mlp.ipynb holds the notebook of assignment glm, not backprop_mlp",
    "no_notebook": "no backprop_mlp.ipynb in the submission (it holds my_work.ipynb",
    "empty_file": "backprop_mlp.ipynb is empty (0 bytes)",
    "not_a_notebook": "backprop_mlp.ipynb is not a notebook: not JSON text",
    "José García": "student id 'José García' refused",
    "with space": "student id 'with space' refused",
}

# The honest student also hands in a large file (kept only in submitted/) and a small one (kept everywhere).
LARGE_FILE, LARGE_BYTES = "recordings/training_run.npy", 3 << 20
SMALL_FILE = "notes.txt"
NOT_RUN = {student: "nbgrader could not run the notebook: " for student in ("exits_at_import", "kernel_exits")}
EXIT_NOW = "import os\nos._exit(0)\n"


def _edit(path, change):
    notebook = nbformat.read(path, as_version=4)
    change(notebook)
    # json, not nbformat.write: nbformat would already repair the duplicated cell ids
    path.write_text(json.dumps(notebook, indent=1), encoding="utf-8")


def _duplicate(notebook):
    cells = notebook.cells
    answer = next(i for i, cell in enumerate(cells) if cell_grade_id(cell) == "ex2_1_answer")
    test = next(i for i, cell in enumerate(cells) if cell_grade_id(cell) == "test_2_2_output_layer")
    # a student copies the answer cell (keeping its id) and pastes a test cell twice at the end
    cells.insert(answer + 1, nbformat.from_dict(json.loads(json.dumps(cells[answer]))))
    cells += [nbformat.from_dict(json.loads(json.dumps(cells[test + 1]))) for _ in range(2)]


def _reorder_and_delete(notebook):
    cells = [cell for cell in notebook.cells if cell_grade_id(cell) != "test_2_2_all_layers"]
    moved = next(i for i, cell in enumerate(cells) if cell_grade_id(cell) == "test_2_4_hidden")
    cells.append(cells.pop(moved))                      # a test cell moved to the end
    cells[0], cells[1] = cells[1], cells[0]              # two leading cells swapped
    notebook.cells = cells


def write_problem_class(release, submissions):
    """The class of ``EXPECTED`` in ``submissions`` (one folder per student)."""
    from grading.course.assignments import get_assignment

    assignment = get_assignment(ASSIGNMENT)
    notebook = f"{ASSIGNMENT}.ipynb"
    for student in EXPECTED:
        folder = submissions / student
        kind = "stub" if student == "stub" else "honest"
        make_submission(release, folder, kind, assignment)
        if student == "honest":
            (folder / LARGE_FILE).parent.mkdir()
            (folder / LARGE_FILE).write_bytes(b"\0" * LARGE_BYTES)
            (folder / SMALL_FILE).write_text("my notes\n", encoding="utf-8")
        elif student == "partly_right":
            stub = nbformat.read(release / notebook, as_version=4)
            answer = next(cell for cell in stub.cells if cell_grade_id(cell) == "ex2_1_answer")
            _edit(folder / notebook, lambda nb: [cell.update(source=answer.source) for cell in nb.cells
                                                 if cell_grade_id(cell) == "ex2_1_answer"])
        elif student == "duplicated_cells":
            _edit(folder / notebook, _duplicate)
        elif student == "reordered_deleted":
            _edit(folder / notebook, _reorder_and_delete)
        elif student == "exits_at_import":
            module = folder / "labs" / "numpy_mlp.py"
            module.write_text(EXIT_NOW + module.read_text(encoding="utf-8"), encoding="utf-8")
        elif student == "kernel_exits":
            _edit(folder / notebook, lambda nb: nb.cells.append(nbformat.v4.new_code_cell(EXIT_NOW)))
        elif student == "empty_file":
            (folder / notebook).write_bytes(b"")
        elif student == "not_a_notebook":
            (folder / notebook).write_text("print('my answers')\n", encoding="utf-8")
        elif student == "wrong_assignment":
            shutil.copy(REPOSITORY_ROOT / "notebooks" / "student" / "glm.ipynb", folder / notebook)
        elif student == "no_notebook":
            (folder / notebook).rename(folder / "my_work.ipynb")
    return submissions


def csv_rows(path):
    """The rows of a grade file as dicts."""
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def cell_scores(path):
    """``{student: [score per cell of CELLS]}`` from a ``-cells.csv`` grade file."""
    scores = {}
    for row in csv_rows(path):
        scores.setdefault(row["student_id"], {})[row["cell"]] = float(row["score"])
    return {student: [by_cell[cell] for cell in CELLS] for student, by_cell in scores.items()}
