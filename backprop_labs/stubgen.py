"""Generate the student package ``labs/`` from ``labs_solutions/``.

Every region fenced by ``### BEGIN SOLUTION (Exercise X: what to do)`` and
``### END SOLUTION`` is replaced by ``raise NotImplementedError("Exercise X: what to do")``
at the fence's indentation; every other line is copied. A region holding only comments (the
answer to "comment this block") becomes the comment ``# Exercise X: what to do``, so the
code around it still runs. Keep the scaffolding outside the region (the call that
prepares the inputs, the list to fill, the ``return``): the stub then replaces only the
lines the student writes. The markers are nbgrader's, so
the same sources serve notebooks; the text in brackets names the exercise for the stub.
"""
import re
from pathlib import Path

BEGIN_MARKER = "### BEGIN SOLUTION"
END_MARKER = "### END SOLUTION"
EXERCISE_NAME = re.compile(r"###\s*BEGIN SOLUTION\s*\((?P<name>[^)]+)\)\s*$")
GENERATED_HEADER = (
    "# Generated from labs_solutions/{path} by `backprop-labs generate`: edit that file, not this one.\n"
)


class FenceError(ValueError):
    """A solution fence is malformed: unmatched, nested, unnamed or at module level."""


def solution_regions(text, source="<text>"):
    """Solution regions of ``text`` as ``(first_line, last_line, exercise_name, indent)``.

    Line numbers are 0-based and point at the BEGIN and END markers themselves.
    """
    regions = []
    open_region = None
    for number, line in enumerate(text.splitlines()):
        stripped = line.strip()
        if stripped.startswith(BEGIN_MARKER):
            if open_region is not None:
                raise FenceError(f"{source}:{number + 1}: BEGIN SOLUTION inside another solution region")
            match = EXERCISE_NAME.search(stripped)
            name = match.group("name").strip() if match else None
            open_region = (number, name, line[: len(line) - len(line.lstrip())])
        elif stripped.startswith(END_MARKER):
            if open_region is None:
                raise FenceError(f"{source}:{number + 1}: END SOLUTION without a BEGIN SOLUTION")
            first, name, indent = open_region
            regions.append((first, number, name, indent))
            open_region = None
    if open_region is not None:
        raise FenceError(f"{source}:{open_region[0] + 1}: BEGIN SOLUTION is never closed")
    return regions


def strip_solutions(text, source="<text>", stub=None):
    """``text`` with each solution region replaced by a stub line.

    ``stub(name)`` gives the statement for a region of exercise ``name``; the default
    raises ``NotImplementedError(name)``. Regions in Python modules must be named and
    indented (inside a function): a module-level ``raise`` would stop the import.
    """
    lines = text.splitlines(keepends=True)
    output = []
    position = 0
    for first, last, name, indent in solution_regions(text, source):
        if stub is None:
            if not name:
                raise FenceError(
                    f"{source}:{first + 1}: name the exercise, e.g. "
                    f"'{BEGIN_MARKER} (Exercise 2.2: implement backpropagation)'"
                )
            if not indent:
                raise FenceError(f"{source}:{first + 1}: a solution region must sit inside a function")
        output.extend(lines[position:first])
        if stub is not None:
            replacement = stub(name)
        elif only_comments(lines[first + 1:last]):
            replacement = f"# {name}"
        else:
            replacement = f"raise NotImplementedError({name!r})"
        output.append(f"{indent}{replacement}\n")
        position = last + 1
    output.extend(lines[position:])
    return "".join(output)


def only_comments(lines):
    """Whether a region's ``lines`` hold only comments (the answer to "comment this block"): its stub is a
    comment, and the code around it stays the given code."""
    return all(line.strip().startswith("#") or not line.strip() for line in lines)


def exercise_definitions(solution_text, source="<text>"):
    """Qualified names (``function`` or ``Class.method``) of the module-level functions and the methods of
    module-level classes that hold a region of code to write: in the student module their body is the
    student's, everything else is given code. A region directly in a class body names the class."""
    import ast

    lines = solution_text.splitlines()
    units = []
    for node in ast.parse(solution_text, source).body:
        if isinstance(node, ast.ClassDef):
            units += [(f"{node.name}.{item.name}", item) for item in node.body
                      if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            units.append((node.name, node))
    found = set()
    for first, last, _, _ in solution_regions(solution_text, source):
        if only_comments(lines[first + 1:last]):
            continue
        holders = [name for name, node in units if node.lineno <= first + 1 <= node.end_lineno]
        if not holders:
            raise FenceError(f"{source}:{first + 1}: a solution region must sit inside a function")
        found.add(max(holders, key=lambda name: name.count(".")))   # the method rather than its class
    return sorted(found)


def student_module(solution_text, relative_path):
    """The generated student version of one solution module."""
    if re.search(r"^\s*(from|import)\s+labs_solutions\b", solution_text, re.MULTILINE):
        raise FenceError(
            f"{relative_path}: import sibling exercise modules relatively (from .module import ...), "
            "so that the student package imports its own copies"
        )
    return GENERATED_HEADER.format(path=relative_path) + strip_solutions(solution_text, relative_path)


def generate_student_package(solutions_dir, student_dir, check=False):
    """Write ``student_dir`` from ``solutions_dir``; return the relative paths that changed.

    With ``check=True`` nothing is written: the returned list names the files that differ
    from what would be generated (missing, different or stale), so CI can fail on it.
    """
    solutions_dir, student_dir = Path(solutions_dir), Path(student_dir)
    expected = {}
    for source in sorted(solutions_dir.rglob("*.py")):
        if "__pycache__" in source.parts:
            continue
        relative = source.relative_to(solutions_dir).as_posix()
        expected[relative] = student_module(source.read_text(encoding="utf-8"), relative)

    return sync_generated_files(expected, student_dir, "*.py", check)


def sync_generated_files(expected, target_dir, pattern, check=False):
    """Make ``target_dir`` hold exactly ``expected`` (relative path -> text) among files matching ``pattern``.

    Returns the relative paths that differ (missing, different or stale); with ``check=True``
    nothing is written, so CI can fail on the list.
    """
    target_dir = Path(target_dir)
    existing = {
        path.relative_to(target_dir).as_posix()
        for path in target_dir.rglob(pattern)
        # caches and editor folders (__pycache__, .ipynb_checkpoints) are not generated files
        if not any(part == "__pycache__" or part.startswith(".") for part in path.relative_to(target_dir).parts)
    } if target_dir.exists() else set()

    changed = []
    for relative, text in expected.items():
        target = target_dir / relative
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            changed.append(relative)
            if not check:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
    for stale in sorted(existing - set(expected)):
        changed.append(stale)
        if not check:
            (target_dir / stale).unlink()
    return changed
