"""The students' wheel: no solution line, no hidden test, and a released notebook runs with it alone."""
import ast
import configparser
import email.parser
import importlib.metadata
import os
import re
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from backprop_labs.paths import DEFAULT_DATA_DIR, REPOSITORY_ROOT
from grading.course.assignments import STUDENT_PACKAGE_DIR, all_assignments, get_assignment
from grading.course.leaks import course_secret_lines, find_leaks
from grading.cli import main
from grading.course.case_secret import SECRET_NAME, read_course_secret
from wheel_leaks import functional_leaks, syntax_leaks
from bench.student_install_size import canonical, closure, installed, requirement_names
from grading.course.student_dist import STUDENT_PACKAGES

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    assert main(["course", "student-wheel", str(out)]) == 0  # the command the README gives
    return next(out.glob("*.whl"))


@pytest.fixture(scope="module")
def student_python(wheel, tmp_path_factory):
    """A fresh environment with the student wheel and the third-party packages of this one, but
    not this repository: a path line in a .pth file adds the folder without running its .pth
    files, so the editable install of labs_solutions stays out."""
    env = tmp_path_factory.mktemp("student_env")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    python = env / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    with open(os.path.join(site, "third_party.pth"), "w", encoding="utf-8") as handle:
        handle.write(sysconfig.get_paths()["purelib"] + "\n")
    return python


def _imported_distributions(path, distribution_of):
    """The third-party distributions a module imports, anywhere in it (function-level imports too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return {canonical(d) for name in names - set(STUDENT_PACKAGES) for d in distribution_of.get(name, ())}


def test_the_wheel_requires_what_student_code_imports_and_nothing_else(wheel):
    """README "What students install": a module that imports a package of the course or test extra is the
    instructor's tooling; every other shipped module is code a student may run, and the wheel must require
    exactly what those import, less what the notebook kernel (ipykernel, with JupyterLab) brings."""
    config = configparser.ConfigParser()
    config.read(REPOSITORY_ROOT / "setup.cfg", encoding="utf-8")
    instructor = set()
    for extra in ("course", "test"):
        for line in filter(None, map(str.strip, config["options.extras_require"][extra].splitlines())):
            name, extras = re.fullmatch(r"([A-Za-z0-9._-]+)(?:\[([^\]]*)\])?.*", line).groups()
            instructor.add(canonical(name))
            if extras:
                instructor |= requirement_names(importlib.metadata.metadata(name), extras.split(","))
    distribution_of = importlib.metadata.packages_distributions()
    student_imports = set()
    for package in STUDENT_PACKAGES:
        for path in (REPOSITORY_ROOT / package).rglob("*.py"):
            imported = _imported_distributions(path, distribution_of)
            if not imported & instructor:
                student_imports |= imported
    site = sysconfig.get_paths()["purelib"]
    kernel = closure(["ipykernel"], installed(Path(site)))
    with zipfile.ZipFile(wheel) as archive:
        metadata_name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        required = requirement_names(email.parser.Parser().parsestr(archive.read(metadata_name).decode()))
    assert {"nbgrader", "distributed"} <= instructor  # distributed: what dask[distributed] adds
    assert required == student_imports - kernel, (sorted(required), sorted(student_imports - kernel))


def test_the_wheel_has_no_solutions_and_no_hidden_tests(wheel, tmp_path):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path)
    packages = {name.split("/")[0] for name in names}
    assert packages == {"backprop_labs", "labs", "grading", wheel.name.split("-")[0] + "-0.1.0.dist-info"}
    assert not [name for name in names if "labs_solutions" in name or name.endswith(".ipynb")]
    student_files = [*STUDENT_PACKAGE_DIR.rglob("*.py"), *(REPOSITORY_ROOT / "notebooks" / "student").glob("*.ipynb")]
    secrets = course_secret_lines(all_assignments(), student_files)
    assert len(secrets) > 100
    assert any("derivative_from_output" in line for line in secrets)   # a module solution
    assert any("hidden_generator" in line for line in secrets)         # a hidden test
    leaks = {(path.relative_to(tmp_path).as_posix(), line) for path, line in find_leaks(tmp_path, secrets)}
    assert leaks == set()
    assert not [name for name in names if SECRET_NAME in name]   # no course's trusted-case secret


def _site(python):
    return subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()


def test_no_function_of_the_wheel_returns_an_exercise_answer(student_python, tmp_path):
    leaks, report = functional_leaks(student_python, _site(student_python), tmp_path)
    assert leaks == []
    # the probe reached the grader (its imports refused nothing but the command-line entry points) and saw
    # answers: those the grader derives by torch autograd, which it lets pass
    assert report["functions"] > 500 and report["calls"] > 10 * report["functions"]
    assert all(name.endswith("__main__: SystemExit") for name in report["unimportable"]), report["unimportable"]
    assert ("grading.diagnosis.mlp_hypotheses.reference_input_gradient", "2.1 (answer cell)") in {
        (found["function"], found["exercise"]) for found in report["by_autograd"]}


def test_no_code_of_the_wheel_is_a_solution_region_by_syntax_tree(wheel, tmp_path):
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tmp_path)
    assert syntax_leaks(tmp_path) == []


# Exercise 2.2's solution, its names changed (and the lines the lab gives around it): what the line scan
# cannot see. The first part is found by its syntax tree, the whole function by what it returns.
PLANTED = '''
import numpy as np


def one_hot(labels, width, dtype=float):
    table = np.zeros((len(labels), width), dtype=dtype)
    table[np.arange(len(labels)), labels] = 1
    return table


def leaked_backward(layers, x, labels):
    outs = [x]
    for k, (w, c) in enumerate(layers):
        s = outs[-1] @ w.T + c
        outs.append(1 / (1 + np.exp(-s)) if k < len(layers) - 1 else s - np.log(np.exp(s).sum(1, keepdims=True)))
    logp, acts = outs[-1], outs[:-1]
    grads = [None] * len(layers)
    rows, cols = logp.shape
    hot = one_hot(labels, cols, dtype=logp.dtype)
    delta = (np.exp(logp) - hot) / rows
    for k in reversed(range(len(layers))):
        w = layers[k][0]
        grads[k] = [delta.T @ acts[k], np.sum(delta, axis=0, keepdims=True)]
        if k > 0:
            delta = (delta @ w) * (acts[k] * (1.0 - acts[k]))
    return grads
'''


def test_both_scans_find_a_solution_copied_with_other_names(student_python, tmp_path):
    planted = tmp_path / "site" / "grading"
    planted.mkdir(parents=True)
    (planted / "__init__.py").write_text("")
    (planted / "planted.py").write_text(PLANTED)
    found = syntax_leaks(tmp_path / "site")
    assert {(path, what.split(" (")[0]) for path, _, what in found} == {("grading/planted.py", "Exercise 2.2")}
    leaks, _ = functional_leaks(student_python, tmp_path / "site", tmp_path, packages=("grading",))
    # the MLP's backpropagation, and with a single layer the log-linear model's too
    assert leaks == [("grading.planted.leaked_backward", "2.1 (model)"), ("grading.planted.leaked_backward", "2.2")]


def test_the_student_environment_cannot_import_the_solutions(student_python):
    probe = "import labs, grading, backprop_labs\ntry:\n import labs_solutions\nexcept ImportError:\n print('no solutions')"
    completed = subprocess.run([str(student_python), "-c", probe], capture_output=True, text=True, cwd="/")
    assert completed.stdout.strip() == "no solutions", completed.stderr


@pytest.mark.corpus
def test_a_completed_released_notebook_runs_top_to_bottom_with_the_wheel(wheel, student_python, tmp_path, books):
    from trusted_class import _build_course_folder, make_submission

    assignment = get_assignment("backprop_mlp")
    release = _build_course_folder(tmp_path / "course", assignment)
    secret = f"{read_course_secret(tmp_path / 'course'):032x}"   # the build wrote it beside the config ...
    shipped = [path.read_bytes() for path in release.rglob("*") if path.is_file()] + [wheel.read_bytes()]
    assert not [data for data in shipped if secret.encode() in data]  # ... and neither the release nor the wheel has it
    work = tmp_path / "student"
    make_submission(release, work, "honest", assignment)  # what a student who solved it hands in
    script = (
        "import nbformat\nfrom nbclient import NotebookClient\n"
        "from grading.course.preprocessors import inject_parameters\n"
        f"nb = nbformat.read({str(work / 'backprop_mlp.ipynb')!r}, as_version=4)\n"
        "inject_parameters(nb, {'num_epochs': 1})\n"
        f"NotebookClient(nb, timeout=600, kernel_name='python3', resources={{'metadata': {{'path': {str(work)!r}}}}}).execute()\n"
        "import sys; print('ran', len(nb.cells), 'cells;', 'labs_solutions' in sys.modules)\n")
    completed = subprocess.run([str(student_python), "-c", script], capture_output=True, text=True, cwd=str(work),
                               # the data as the README tells a student to point at it
                               env=dict(os.environ, PYTHONPATH="", BACKPROP_LABS_DATA=str(DEFAULT_DATA_DIR)))
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stdout.strip().endswith("cells; False"), completed.stdout

