"""The course's assignments: one per instructor notebook, with the modules it ships and the
test cells its trusted checks score.

An assignment ``<name>`` is the notebook ``notebooks/source/<name>.ipynb``. Its entry is an
:class:`AssignmentRow` that the exercise module of its notebook declares: the row of its one gradient
exercise (``GradientExercise(assignment=...)``, ``grading/exercises/glm.py``), or, for a notebook that asks
for several exercises or for none, a row registered with :func:`register_assignment`
(``grading/exercises/numpy_mlp.py``); :func:`assignment_table` is all of them together. An entry says:

* ``ships``: the ``labs_solutions/`` modules it needs (files or sub-packages, relative to
  ``labs/``); the assignment folder then holds a ``labs/`` package next to the notebook, so
  ``from labs.numpy_mlp import NumpyMLP`` imports the shipped copy;
* ``scores``: ``{trusted check name: {test cell id: CellScope}}`` (a tuple of cell ids gives each
  cell every case). A listed test cell gets its points when every case of its scope matches, and
  with ``all_or_nothing`` else 0 (as nbgrader scores the cell in the kernel), without it ``points *
  fraction of its scope's cases that match``, as its autograded score under trusted grading, whatever
  the in-kernel test printed; cells not listed keep nbgrader's in-kernel score. The scope is what the
  cell's in-kernel test checks (the same kinds of network, the same layers, all or nothing), so an
  honest submission scores the same both ways.
  The checks themselves are described with their exercises (``grading/exercises/``).
* ``checks``: the gradient exercises (``grading/exercises/``) that ``backprop-labs check`` runs in
  the assignment's folder: those the notebook asks the student to write, not every exercise whose
  module is shipped (the GLM ships ``pytorch_mlp.py`` for ``PytorchMLP`` but does not ask for 2.4).
"""
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from backprop_labs.paths import SOLUTIONS_PACKAGE_DIR, SOURCE_NOTEBOOKS_DIR, STUDENT_PACKAGE_DIR
from backprop_labs.stubgen import GENERATED_HEADER, exercise_definitions, solution_regions
from .cell_scope import EVERY_CASE

__all__ = ["AssignmentRow", "register_assignment", "assignment_table", "Assignment", "AssignmentError", "all_assignments",
           "get_assignment", "assignment_in_folder",
           "SOLUTIONS_PACKAGE_DIR", "SOURCE_NOTEBOOKS_DIR", "STUDENT_PACKAGE_DIR", "SHIPPED_PACKAGE"]
SHIPPED_PACKAGE = "labs"  # folder name of the shipped package inside an assignment

@dataclass(frozen=True)
class AssignmentRow:
    """An assignment's entry declared by the exercise module its notebook grades
    (``GradientExercise(assignment=AssignmentRow(...))``, or :func:`register_assignment`):
    ``name`` (the notebook ``notebooks/source/<name>.ipynb``), ``ships`` and ``scores`` as in the table (keyed
    by ``check.name`` of the exercise's :class:`~grading.trusted.check_spec.TrustedCheck` objects, and the
    scopes' cases by ``case.key``, so that no name is written twice); ``checks``: the table's ``checks``, by
    default the declaring exercise alone (a registered row names them)."""

    name: str
    ships: tuple
    scores: dict = field(default_factory=dict)   # {trusted check name: {test cell id: CellScope}}
    checks: tuple = None

    def row(self, exercise=None):
        """The table's entry for this assignment, declared by ``exercise`` (None: registered)."""
        return dict(ships=tuple(self.ships), checks=(exercise.name,) if self.checks is None else tuple(self.checks),
                    scores=dict(self.scores))


# nbgrader scores a test cell all or nothing (an error scores 0) unless the cell's result is a number;
# no test cell of the course gives one, so every scope of the course is all or nothing, CellScope's default
# (tests/test_trusted_cell_scopes.py reads each cell to check it).
_REGISTERED_ROWS = {}   # {name: AssignmentRow} of the assignments that ask for several exercises or none


def register_assignment(row):
    """Declare the row of an assignment that no single gradient exercise declares, because its notebook
    asks for several exercises (``backprop_mlp``) or for none (``worked_graph``): the exercise module that
    owns the notebook calls this, and the row names its ``checks``. Replaces a row of the same name;
    returns ``row``."""
    if row.checks is None:
        raise AssignmentError(f"the registered row of assignment {row.name!r} names no checks: give "
                              "checks=(exercise names, or () for none)")
    _REGISTERED_ROWS[row.name] = row
    return row


def assignment_table():
    """The rows the exercise modules declare (:func:`register_assignment`, ``GradientExercise.assignment``):
    the one table every reader uses. Declaring a name twice is an :class:`AssignmentError`."""
    from grading.gradient_check.registry import registered_exercises

    exercises = registered_exercises()   # imports the exercise modules, which register their rows
    table = {name: row.row() for name, row in _REGISTERED_ROWS.items()}
    for exercise in exercises.values():
        declared = exercise.assignment
        if declared is None:
            continue
        if declared.name in table:
            raise AssignmentError(f"assignment {declared.name!r} is declared twice (by exercise {exercise.name!r} "
                                  "and by register_assignment or another exercise)")
        table[declared.name] = declared.row(exercise)
    return table


PACKAGE_INIT = '''"""The lab modules of assignment {name}.

Edit the functions that raise NotImplementedError in {editable}, then run the notebook
again (restart the kernel, or rely on %autoreload, to pick up your changes).
"""
'''


class AssignmentError(ValueError):
    """An assignment is unknown or its table entry names files that do not exist."""


@dataclass(frozen=True)
class Assignment:
    """One nbgrader assignment: an instructor notebook and the ``labs/`` modules it ships."""

    name: str
    notebook: Path
    shipped: tuple = ()
    trusted_cells: dict = field(default_factory=dict)  # {trusted check name: {test cell id: CellScope}}

    def shipped_files(self):
        """Shipped module paths relative to ``labs/`` (sub-packages expanded), sorted."""
        files = set()
        for entry in self.shipped:
            path = SOLUTIONS_PACKAGE_DIR / entry
            if path.is_dir():
                files.update(p.relative_to(SOLUTIONS_PACKAGE_DIR).as_posix()
                             for p in path.rglob("*.py") if "__pycache__" not in p.parts)
            elif path.is_file():
                files.add(entry)
            else:
                raise AssignmentError(f"assignment {self.name!r} names {entry!r} in 'ships', "
                                      f"but {path} does not exist")
        return sorted(files)

    def edited_modules(self):
        """Shipped modules with an exercise, relative to the assignment folder (``labs/<module>.py``).

        These are the files the student edits: autograde must keep the student's copy.
        """
        return [
            f"{SHIPPED_PACKAGE}/{relative}" for relative in self.shipped_files()
            if solution_regions((SOLUTIONS_PACKAGE_DIR / relative).read_text(encoding="utf-8"), relative)
        ]

    def write_files(self, destination, solutions=False):
        """Copy the notebook and the shipped package into ``destination``; return its paths.

        ``solutions=False`` ships the student versions from ``labs/`` (what students and
        nbgrader's source folder get); ``solutions=True`` ships ``labs_solutions/`` copies,
        for running the instructor notebook in CI. The notebook is the instructor version.
        """
        destination = Path(destination)
        destination.mkdir(parents=True, exist_ok=True)
        written = [destination / self.notebook.name]
        written[0].write_bytes(self.notebook.read_bytes())
        files = self.shipped_files()
        if not files:
            return written
        package = destination / SHIPPED_PACKAGE
        editable = ", ".join(self.edited_modules()) or "no module (read-only code)"
        init_text = PACKAGE_INIT.format(name=self.name, editable=editable)
        texts = {"__init__.py": init_text}
        for relative in files:
            texts[relative] = _shipped_text(relative, solutions)
        for relative, text in texts.items():
            target = package / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            written.append(target)
        return written


def _shipped_text(relative, solutions):
    if solutions:
        return (SOLUTIONS_PACKAGE_DIR / relative).read_text(encoding="utf-8")
    text = (STUDENT_PACKAGE_DIR / relative).read_text(encoding="utf-8")
    # The header tells maintainers to edit labs_solutions/; in a release the student edits this file.
    header = GENERATED_HEADER.format(path=relative)
    return text[len(header):] if text.startswith(header) else text


@lru_cache(maxsize=None)
def released_exercise_modules():
    """``{module path relative to labs/: (released text, exercise definitions)}`` for every lab module that
    holds code to write, as released to students (``labs/``): the trusted checks run its given code, with
    only the student's definitions of the exercises (:func:`~backprop_labs.stubgen.exercise_definitions`)
    taken from the submission."""
    modules = {}
    for path in sorted(SOLUTIONS_PACKAGE_DIR.rglob("*.py")):
        relative = path.relative_to(SOLUTIONS_PACKAGE_DIR).as_posix()
        if "__pycache__" in path.parts:
            continue
        exercises = exercise_definitions(path.read_text(encoding="utf-8"), relative)
        if exercises:
            modules[relative] = (_shipped_text(relative, solutions=False), tuple(exercises))
    return modules


def all_assignments(source_dir=SOURCE_NOTEBOOKS_DIR):
    """Every assignment, in name order: one per ``source_dir/*.ipynb``."""
    table = assignment_table()
    unknown = set(table) - {path.stem for path in Path(source_dir).glob("*.ipynb")}
    if unknown:
        raise AssignmentError(f"the assignments {sorted(unknown)} have no notebook in {source_dir}")
    return [Assignment(path.stem, path, tuple(table.get(path.stem, {}).get("ships", ())),
                       _cell_scopes(table.get(path.stem, {}).get("scores", {})))
            for path in sorted(Path(source_dir).glob("*.ipynb"))]


def _cell_scopes(scores):
    """``{check: {cell: CellScope}}`` from the table's entries (a tuple of cells: every case each)."""
    return {check: dict(cells) if isinstance(cells, dict) else {cell: EVERY_CASE for cell in cells}
            for check, cells in scores.items()}


def get_assignment(name, source_dir=SOURCE_NOTEBOOKS_DIR):
    """The assignment called ``name``; an unknown name raises ``AssignmentError`` listing the known ones."""
    assignments = {assignment.name: assignment for assignment in all_assignments(source_dir)}
    if name not in assignments:
        raise AssignmentError(f"no assignment {name!r}: choose from {sorted(assignments)} "
                              f"(notebooks in {source_dir})")
    return assignments[name]


def assignment_in_folder(folder):
    """The assignment whose release ``folder`` is (the folder that holds its notebook and ``labs/``),
    or None when no single one fits: the assignment whose notebook ``<name>.ipynb`` is in ``folder``,
    else (the notebook renamed, e.g. by a download) the one whose shipped modules are exactly the
    entries of ``folder/labs/``. Reads only the table, so it works in the students' wheel too."""
    folder, table = Path(folder), assignment_table()
    by_notebook = [name for name in table if (folder / f"{name}.ipynb").is_file()]
    if by_notebook:
        return by_notebook[0] if len(by_notebook) == 1 else None
    package = folder / SHIPPED_PACKAGE
    entries = {path.name for path in package.iterdir() if _is_shipped_entry(path)} if package.is_dir() else set()
    by_modules = [name for name, entry in table.items() if entries and set(entry["ships"]) == entries]
    return by_modules[0] if len(by_modules) == 1 else None


def _is_shipped_entry(path):
    """A module or sub-package of a shipped ``labs/`` (what ``ships`` names), not its ``__init__.py``."""
    if path.is_dir():
        return (path / "__init__.py").is_file()
    return path.suffix == ".py" and path.name != "__init__.py"
