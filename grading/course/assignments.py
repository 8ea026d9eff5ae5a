"""The course's assignments: one per instructor notebook, plus the modules each one ships.

An assignment ``<name>`` is the notebook ``notebooks/source/<name>.ipynb``. When its
exercises live in ``labs_solutions/`` modules, ``SHIPPED_MODULES[name]`` lists them (files
or sub-packages, relative to ``labs/``): the assignment folder then holds a ``labs/``
package next to the notebook, so ``from labs.numpy_mlp import NumpyMLP`` imports the
shipped copy. This table is the one place that says what an assignment ships.
"""
from dataclasses import dataclass
from pathlib import Path

from backprop_labs.paths import REPOSITORY_ROOT
from backprop_labs.stubgen import GENERATED_HEADER, solution_regions

SOURCE_NOTEBOOKS_DIR = REPOSITORY_ROOT / "notebooks" / "source"
STUDENT_PACKAGE_DIR = REPOSITORY_ROOT / "labs"
SOLUTIONS_PACKAGE_DIR = REPOSITORY_ROOT / "labs_solutions"
SHIPPED_PACKAGE = "labs"  # folder name of the shipped package inside an assignment

SHIPPED_MODULES = {
    "backprop_mlp": ("log_linear.py", "numpy_mlp.py", "pytorch_mlp.py"),
    "autodiff": ("autodiff",),
    "worked_graph": ("worked_graph.py",),
    "forward_reverse": ("forward_reverse",),
    "glm": ("glm.py", "glm_plot.py", "pytorch_mlp.py"),
    "advertising": ("advertising.py",),
    "digits": ("digits_lab.py", "numpy_mlp.py", "pytorch_mlp.py"),
}

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
                raise AssignmentError(f"SHIPPED_MODULES[{self.name!r}] names {entry!r}, "
                                      f"but {path} does not exist")
        return sorted(files)

    def edited_modules(self):
        """Shipped modules with an exercise, relative to the assignment folder (``labs/x.py``).

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


def all_assignments(source_dir=SOURCE_NOTEBOOKS_DIR):
    """Every assignment, in name order: one per ``source_dir/*.ipynb``."""
    unknown = set(SHIPPED_MODULES) - {path.stem for path in Path(source_dir).glob("*.ipynb")}
    if unknown:
        raise AssignmentError(f"SHIPPED_MODULES lists {sorted(unknown)} without a notebook in {source_dir}")
    return [Assignment(path.stem, path, tuple(SHIPPED_MODULES.get(path.stem, ())))
            for path in sorted(Path(source_dir).glob("*.ipynb"))]


def get_assignment(name, source_dir=SOURCE_NOTEBOOKS_DIR):
    """The assignment called ``name``; an unknown name raises ``AssignmentError`` listing the known ones."""
    assignments = {assignment.name: assignment for assignment in all_assignments(source_dir)}
    if name not in assignments:
        raise AssignmentError(f"no assignment {name!r}: choose from {sorted(assignments)} "
                              f"(notebooks in {source_dir})")
    return assignments[name]
