"""Generate the student notebooks ``notebooks/student/`` from ``notebooks/source/``.

A student notebook is its instructor notebook passed through a chain of nbgrader
preprocessors, the same steps ``nbgrader generate_assignment`` applies:

1. :class:`NamedClearSolutions` replaces each ``### BEGIN SOLUTION (Exercise X: ...)`` region
   with ``raise NotImplementedError('Exercise X: ...')``, parsed by ``stubgen`` exactly as for
   ``labs/``, so modules and notebooks show the same stubs;
2. ``ClearHiddenTests`` removes ``### BEGIN HIDDEN TESTS`` regions;
3. ``LockCells`` makes test cells read-only and answer cells undeletable;
4. ``ClearOutput`` drops outputs and execution counts.

nbformat and nbgrader come with the ``course`` extra; this module imports them at load time,
so callers that must work without them import it lazily.
"""
from pathlib import Path

from .light_imports import skip_iri_parser

skip_iri_parser()   # before nbformat: 0.8 s of CPU per command that reads a notebook
import nbformat  # noqa: E402
from nbgrader.preprocessors import ClearHiddenTests, ClearOutput, ClearSolutions, LockCells  # noqa: E402

from .stubgen import FenceError, solution_regions, strip_solutions, sync_generated_files

NOTEBOOK_VERSION = 4
GENERATED_NOTICE = "Generated from notebooks/source/{name} by `backprop-labs generate`: edit that file, not this one."


class NamedClearSolutions(ClearSolutions):
    """nbgrader's ``ClearSolutions`` with named stubs for code cells.

    ``### BEGIN SOLUTION (Exercise 2.1: what to do)`` becomes
    ``raise NotImplementedError('Exercise 2.1: what to do')`` at the fence's indentation.
    Markdown answers keep nbgrader's text stub. Configure it in place of ``ClearSolutions``
    (see ``grading.course.config``) so that nbgrader's release matches the committed
    student notebook.
    """

    def _replace_solution_region(self, cell, language):
        if cell.cell_type != "code":
            return super()._replace_solution_region(cell, language)
        source_name = f"cell {cell.get('id', '?')}"
        regions = solution_regions(cell.source, source_name)
        if not regions:
            return False
        for first, _, name, _ in regions:
            if not name:
                raise FenceError(
                    f"{source_name}, line {first + 1}: name the exercise, e.g. "
                    "'### BEGIN SOLUTION (Exercise 2.1: write the bias gradient)'"
                )
        stripped = strip_solutions(cell.source, source_name, stub=lambda name: f"raise NotImplementedError({name!r})")
        cell.source = stripped if cell.source.endswith("\n") else stripped.rstrip("\n")
        return True


STUDENT_PREPROCESSORS = (NamedClearSolutions, ClearHiddenTests, LockCells, ClearOutput)


def student_notebook(source_notebook, name="<notebook>"):
    """The student version of an instructor notebook (a new ``NotebookNode``)."""
    notebook = nbformat.from_dict(source_notebook)
    resources = {}
    for preprocessor_class in STUDENT_PREPROCESSORS:
        try:
            notebook, resources = preprocessor_class().preprocess(notebook, resources)
        except (RuntimeError, ValueError) as error:
            raise FenceError(f"{name}: {preprocessor_class.__name__}: {error}") from error
    notebook.metadata["backprop_labs"] = {"generated": GENERATED_NOTICE.format(name=name)}
    return notebook


def read_notebook(path):
    """Read and validate a notebook; a malformed file raises ``ValueError`` naming it."""
    try:
        notebook = nbformat.read(str(path), as_version=NOTEBOOK_VERSION)
        nbformat.validate(notebook)
    except Exception as error:  # nbformat raises several unrelated types for bad JSON or schema
        raise ValueError(f"{path}: not a valid notebook: {error}") from error
    return notebook


def generate_student_notebooks(source_dir, student_dir, check=False):
    """Write ``student_dir/<name>.ipynb`` for each ``source_dir/<name>.ipynb``; return changed names.

    Same contract as ``stubgen.generate_student_package``: with ``check=True`` nothing is
    written and the list names the notebooks that are missing, different or stale.
    """
    expected = {
        source.name: nbformat.writes(student_notebook(read_notebook(source), source.name)) + "\n"
        for source in sorted(Path(source_dir).glob("*.ipynb"))
    }
    return sync_generated_files(expected, student_dir, "*.ipynb", check)
