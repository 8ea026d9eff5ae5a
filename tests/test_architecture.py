"""The import directions that ARCHITECTURE.md promises, read from the source (every import statement,
those inside functions too).

A failure names the module and the import that points the wrong way.
"""
import ast
import re
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("backprop_labs", "labs", "labs_solutions", "grading")

# The floors of grading, lowest first: a sub-package imports only its own floor and those below it (imports
# inside functions count). The exercises sit near the top: the judge finds them by name on the first lookup
# (grading/gradient_check/registry.py), so loading the judge loads no trusted or course module.
LAYERS = (
    ("grading.policy",),
    ("grading.diagnosis",),
    ("grading.gradient_check",),
    ("grading.course",),
    ("grading.trusted",),
    ("grading.exercises",),
    ("grading.commands", "grading.cli"),
)
GRADING = [name for names in LAYERS for name in names]
# group -> what it must never import besides a higher floor (a group is a top-level package or a
# sub-package of grading): grading loads the labs and their solutions by name, where it grades them.
FORBIDDEN = {
    "backprop_labs": {"grading", "labs", "labs_solutions"},
    "labs": {"grading", "labs_solutions"},
    "labs_solutions": {"grading", "labs"},
    **{name: {"labs", "labs_solutions"} for name in GRADING},
    "grading.commands": {"grading.cli", "labs", "labs_solutions"},
    # the comparison policy is the bottom floor: NumPy only (it is shipped into the sandbox)
    "grading.policy": {"backprop_labs", "labs", "labs_solutions", "torch"},
}
# Entry points (``python -m backprop_labs``) may start the command; nothing imports them.
ENTRY_POINTS = {"backprop_labs.__main__": {"grading.cli"}}


def module_name(path, root=ROOT):
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def group(module):
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "grading" and len(parts) > 1 else parts[0]


def imports(root=ROOT, packages=PACKAGES):
    """``(importing module, imported name)`` for every import statement of the packages under ``root``,
    wherever it stands; ``from a import b`` gives ``a`` and ``a.b`` (``b`` may be a module)."""
    found = []
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            module = module_name(path, root)
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
                    found += [(module, target)] + [(module, f"{target}.{alias.name}") for alias in node.names]
    return found


def layer(module):
    """The index of ``module``'s floor in :data:`LAYERS`, or None outside them."""
    return next((index for index, names in enumerate(LAYERS) if group(module) in names), None)


def upward_imports(edges):
    """``'<module> imports <target>'`` for every import of a higher floor than the importer's."""
    return [f"{module} imports {target}" for module, target in edges
            if layer(module) is not None and layer(target) is not None and layer(target) > layer(module)]


def group_cycle(edges):
    """One circle of imports between grading's sub-packages, whatever their order, as the imports that close it
    (``['a.x imports b.y', 'b.z imports a.w']``), or ``[]``: the order of :data:`LAYERS` aside, a circle is a
    missing floor."""
    witness = {}
    for module, target in edges:
        ends = group(module), group(target)
        if all(end.startswith("grading.") for end in ends) and ends[0] != ends[1]:
            witness.setdefault(ends, f"{module} imports {target}")
    following = {}
    for start, end in witness:
        following.setdefault(start, []).append(end)

    def walk(path):
        for end in following.get(path[-1], ()):
            if end in path:
                circle = path[path.index(end):] + [end]
                return [witness[pair] for pair in zip(circle, circle[1:])]
            found = walk(path + [end])
            if found:
                return found
        return []

    return next((circle for start in sorted(following) for circle in [walk([start])] if circle), [])


def within(target, names):
    return any(target == name or target.startswith(name + ".") for name in names)


def wrong_way(edges):
    """``'<module> imports <target>'`` for every import of something :data:`FORBIDDEN` or of a higher floor."""
    upward = set(upward_imports(edges))
    return [f"{module} imports {target}" for module, target in edges
            if not within(target, ENTRY_POINTS.get(module, ()))
            and (within(target, FORBIDDEN.get(group(module), ())) or f"{module} imports {target}" in upward)]


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
    ("grading.gradient_check.registry", "grading.exercises"),   # the exercises are found by name, not imported
    ("grading.course.test_cell_helpers", "grading.exercises.log_linear"),
])
def test_a_backward_import_is_caught(module, target):
    assert wrong_way([(module, target)]) == [f"{module} imports {target}"]


def test_grading_sub_packages_are_floors_with_no_circle():
    edges = imports()
    packages = {f"grading.{path.parent.name}" for path in (ROOT / "grading").glob("*/__init__.py")}
    assert packages and packages <= set(GRADING)  # a new sub-package needs its floor
    assert upward_imports(edges) == []
    assert group_cycle(edges) == []


def test_a_planted_back_edge_is_named(tmp_path):
    """The same scan on a package of five modules, one floor of which imports upward inside a function."""
    sources = {
        "grading/policy/arrays.py": "import numpy\n",
        "grading/gradient_check/pipeline.py": "from grading.policy import arrays\n"
                                              "def check():\n    from grading.exercises.glm import case\n",
        "grading/trusted/grade.py": "from ..gradient_check import pipeline\n",
        "grading/exercises/glm.py": "import grading.trusted.grade\ncase = 1\n",
        "grading/commands/grade.py": "from grading.exercises import glm\n",
    }
    for name, text in sources.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    edges = imports(tmp_path, ("grading",))
    back_edge = "grading.gradient_check.pipeline imports grading.exercises.glm"
    assert upward_imports(edges) == [back_edge, back_edge + ".case"]
    assert set(group_cycle(edges)) == {back_edge, "grading.exercises.glm imports grading.trusted.grade",
                                       "grading.trusted.grade imports grading.gradient_check"}
    healthy = [edge for edge in edges if edge[0] != "grading.gradient_check.pipeline" or "exercises" not in edge[1]]
    assert upward_imports(healthy) == [] and group_cycle(healthy) == []


def test_a_circle_against_the_floors_is_found_in_the_real_graph():
    edges = imports() + [("grading.policy.precision", "grading.diagnosis.rules")]
    assert upward_imports(edges[-1:]) == ["grading.policy.precision imports grading.diagnosis.rules"]
    assert "grading.policy.precision imports grading.diagnosis.rules" in group_cycle(edges)


def test_only_the_command_table_imports_the_commands():
    importers = {group(module) for module, target in imports()
                 if target == "grading.commands" or target.startswith("grading.commands.")}
    assert importers <= {"grading.cli", "grading.commands"}


def test_the_architecture_map_names_every_grading_package():
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    packages = sorted(p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "grading").glob("*/__init__.py"))
    assert packages and all(f"{package}/" in text for package in packages), packages


def test_the_architecture_map_is_one_screen():
    lines = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 40, len(lines)
    assert [line for line in lines if len(line) > 100] == []


def test_nothing_imports_an_entry_point():
    assert [(module, target) for module, target in imports() if within(target, ENTRY_POINTS)] == []


def test_the_students_checker_loads_no_course_and_no_sandbox_machinery():
    """Importing ``check_backpropagation`` (what students import) loads nothing above the judge's floor: no
    exercise, trusted or course module. Calling it loads the exercises (found by name on the first lookup),
    whose trusted checks are described in plain data: still no course and nothing that runs a sandbox."""
    import subprocess
    import sys

    code = ("import sys\n"
            "def loaded(prefixes):\n"
            "    return ' '.join(sorted(m for m in sys.modules if m.startswith(prefixes)))\n"
            "import grading.gradient_check.pipeline as judge\n"
            "print(loaded(('grading.exercises', 'grading.trusted', 'grading.course', 'grading.commands', 'nbgrader')))\n"
            "import numpy as np\n"
            "from labs_solutions.numpy_mlp import NumpyMLP\n"
            "model = NumpyMLP([4, 3, 2], ['sigmoid', 'softmax'], 0.1)\n"
            "report = judge.check_backpropagation(model, np.ones((3, 4)), np.array([0, 1, 1]))\n"
            "print(report.passed, 'grading.exercises.numpy_mlp' in sys.modules)\n"
            "print(loaded(('grading.course', 'grading.commands', 'nbgrader', 'grading.trusted.grade', "
            "'grading.trusted.parallel', 'grading.trusted.autograde', 'grading.trusted.sandbox.runner', "
            "'grading.trusted.sandbox.zygote', 'grading.trusted.sandbox.enter', 'grading.trusted.sandbox.kernel')))\n")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    on_import, called, on_call = loaded.stdout.split("\n")[:3]
    assert on_import == ""
    assert called == "True True"   # the check ran, and found its exercise by loading the exercises
    assert on_call == ""


# What the docs and docstrings name: a dotted module (and the name in it), a repository path, a relative
# ``:mod:`.x``` of a docstring, and in Markdown a backticked ``module.name`` of a grading module.
DOTTED = re.compile(r"(?<![\w./-])((?:grading|backprop_labs|labs_solutions|labs)(?:\.[A-Za-z_]\w*)+)")
REPOSITORY_PATH = re.compile(r"(?<![\w./-])((?:grading|backprop_labs|labs_solutions|labs|bench|notebooks|docs)/[\w/.-]*\w)")
RELATIVE = re.compile(r":(?:mod|func|class|data|meth|attr):`~?(\.[\w.]+)`")
SHORT = re.compile(r"`(\w+)\.(\w+)(?:\(\))?`")


def module_path(dotted):
    path = ROOT / dotted.replace(".", "/")
    return next((candidate for candidate in (path.with_suffix(".py"), path / "__init__.py") if candidate.exists()), None)


@lru_cache(maxsize=None)
def defined_names(path):
    """Every name a module defines or imports, at any depth (and the word-like strings of lazy export tables)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier():
            names.add(node.value)
    return names


def resolves(dotted):
    """A module, or a module and a name it defines (what follows that name, e.g. a method, is not read)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        path = module_path(".".join(parts[:cut]))
        if path is not None:
            return cut == len(parts) or parts[cut] in defined_names(path)
    return False


def unresolved(text, package=None, markdown=False):
    """The references of ``text`` that name nothing in the repository; ``package``: the dotted package
    that a docstring's relative references start from."""
    bad = [name for name in DOTTED.findall(text) if not resolves(name)]
    bad += [path for path in REPOSITORY_PATH.findall(text) if not (ROOT / path).exists()]
    for relative in RELATIVE.findall(text) if package else ():
        depth = len(relative) - len(relative.lstrip("."))
        base = package.split(".")[: len(package.split(".")) - depth + 1]
        if not resolves(".".join(base + [relative.lstrip(".")])):
            bad.append(relative)
    if markdown:
        stems = {path.stem: path for path in (ROOT / "grading").rglob("*.py")}
        bad += [f"{stem}.{name}" for stem, name in SHORT.findall(text)
                if stem in stems and name != "py" and name not in defined_names(stems[stem])]
    return bad


def test_docs_and_docstrings_name_what_exists():
    """Docstrings, comments and Markdown name modules, paths and names that exist (a rename updates them)."""
    sources = [path for package in ("grading", "backprop_labs", "labs_solutions", "bench")
               for path in sorted((ROOT / package).rglob("*.py"))]
    documents = sorted(path for path in ROOT.rglob("*.md")
                       if not any(part.startswith(".") or part == "build" for part in path.relative_to(ROOT).parts))
    found = {}
    for path in sources + documents:
        package = module_name(path).rpartition(".")[0] if path.name != "__init__.py" else module_name(path)
        bad = unresolved(path.read_text(encoding="utf-8"), package if path.suffix == ".py" else None,
                         markdown=path.suffix == ".md")
        if bad:
            found[path.relative_to(ROOT).as_posix()] = bad
    assert len(sources) > 100 and ROOT / "ARCHITECTURE.md" in documents and found == {}


def test_a_stale_reference_is_named():
    text = ("See :mod:`.directional`, grading.trusted.cells, :func:`grading.gradient_check.pipeline.check_backpropagation`"
            " and grading/exercise_index.py; `runner.lease_zygote` leases a `zygote.Zygote`.")
    assert unresolved(text, "grading.gradient_check", markdown=True) == [
        "grading.trusted.cells", "grading/exercise_index.py", ".directional", "runner.lease_zygote"]
