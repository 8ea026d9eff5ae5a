"""The import directions that ARCHITECTURE.md promises, read from the source (static imports).

A failure names the module and the import that points the wrong way.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("backprop_labs", "labs", "labs_solutions", "grading")

# group -> groups it must never import (a group is a top-level package or a sub-package of grading)
FORBIDDEN = {
    "backprop_labs": {"grading", "labs", "labs_solutions"},
    "labs": {"grading", "labs_solutions"},
    "labs_solutions": {"grading", "labs"},
    # the grader library: no course, no commands, and never the solutions (loaded by name where graded)
    "grading.gradient_check": {"grading.course", "grading.commands", "grading.cli", "labs", "labs_solutions"},
    "grading.diagnosis": {"grading.course", "grading.trusted", "grading.commands", "grading.cli", "grading.exercises",
                          "labs", "labs_solutions"},
    "grading.exercises": {"grading.course", "grading.commands", "grading.cli", "labs", "labs_solutions"},
    "grading.course": {"grading.trusted", "grading.commands", "grading.cli", "labs", "labs_solutions"},
    "grading.trusted": {"grading.commands", "grading.cli", "labs", "labs_solutions"},
    "grading.commands": {"grading.cli", "labs", "labs_solutions"},
    # the comparison policy is the bottom floor: NumPy only (it is shipped into the sandbox)
    "grading.policy": {"grading.gradient_check", "grading.diagnosis", "grading.exercises", "grading.course",
                       "grading.trusted", "grading.commands", "grading.cli", "backprop_labs", "labs", "labs_solutions",
                       "torch"},
}
# Entry points (``python -m backprop_labs``) may start the command; nothing imports them.
ENTRY_POINTS = {"backprop_labs.__main__": {"grading.cli"}}


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def group(module):
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "grading" and len(parts) > 1 else parts[0]


def imports():
    """``(importing module, imported module)`` for every static import in the four packages."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            module = module_name(path)
            parent = module if path.name == "__init__.py" else module.rpartition(".")[0]
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    found += [(module, alias.name) for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    if node.level:
                        base = parent.split(".")[: len(parent.split(".")) - node.level + 1]
                        target = ".".join(base + ([node.module] if node.module else []))
                    else:
                        target = node.module
                    found.append((module, target))
    return found


def wrong_way(edges):
    bad = []
    for module, target in edges:
        if target in ENTRY_POINTS.get(module, ()):
            continue
        forbidden = FORBIDDEN.get(group(module), set())
        if any(target == name or target.startswith(name + ".") for name in forbidden):
            bad.append(f"{module} imports {target}")
    return bad


def test_every_import_points_the_documented_way():
    edges = imports()
    assert len(edges) > 100  # the scan found the code
    assert wrong_way(edges) == []


@pytest.mark.parametrize("module, target", [
    ("backprop_labs.demo", "grading"),
    ("grading.gradient_check.pipeline", "labs_solutions.numpy_mlp"),
    ("grading.course.pipeline", "grading.trusted.parallel"),
    ("backprop_labs.__main__", "grading.trusted"),   # the entry point may start the command, nothing more
    ("backprop_labs.utils", "grading.cli"),
])
def test_a_backward_import_is_caught(module, target):
    assert wrong_way([(module, target)]) == [f"{module} imports {target}"]


def test_only_the_command_table_imports_the_commands():
    importers = {group(module) for module, target in imports()
                 if target == "grading.commands" or target.startswith("grading.commands.")}
    assert importers <= {"grading.cli", "grading.commands"}


def test_the_architecture_map_names_every_grading_package():
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    packages = sorted(p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "grading").glob("*/__init__.py"))
    assert packages and all(f"{package}/" in text for package in packages), packages


def test_nothing_imports_an_entry_point():
    assert [(module, target) for module, target in imports() if target in ENTRY_POINTS] == []


def test_the_students_checker_loads_no_course_and_no_sandbox_machinery():
    """``check_backpropagation`` (what students import) loads neither the course tooling nor what runs a
    sandbox; the trusted checks' descriptions (their limits included) are plain data."""
    import subprocess
    import sys

    code = ("import sys, grading.gradient_check.pipeline\n"
            "print(' '.join(m for m in sys.modules if m.startswith(('grading.course', 'grading.commands', "
            "'grading.trusted.sandbox.runner', 'grading.trusted.sandbox.zygote', 'grading.trusted.sandbox.enter', "
            "'grading.trusted.sandbox.kernel', 'grading.trusted.grade', 'grading.trusted.parallel', 'nbgrader'))))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert loaded.stdout.split() == []
