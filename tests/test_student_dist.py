"""The students' wheel: no solution line, no hidden test, and a released notebook runs with it alone."""
import os
import subprocess
import sys
import sysconfig
import zipfile

import pytest

from backprop_labs.paths import DEFAULT_DATA_DIR, REPOSITORY_ROOT
from grading.course.assignments import STUDENT_PACKAGE_DIR, all_assignments, get_assignment
from grading.course.leaks import course_secret_lines, find_leaks
from grading.cli import main

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
    assert leaks == GRADER_FORMULAS


# The checker's table of correct activation derivatives (grading/diagnosis/mlp_hypotheses.py)
# equals two solution lines; the sigmoid one is stated in the lab's text, tanh's is textbook.
GRADER_FORMULAS = {("grading/diagnosis/mlp_hypotheses.py", '"sigmoid": lambda a: a * (1.0 - a),'),
                   ("grading/diagnosis/mlp_hypotheses.py", '"tanh": lambda a: 1.0 - a ** 2,')}


def test_the_student_environment_cannot_import_the_solutions(student_python):
    probe = "import labs, grading, backprop_labs\ntry:\n import labs_solutions\nexcept ImportError:\n print('no solutions')"
    completed = subprocess.run([str(student_python), "-c", probe], capture_output=True, text=True, cwd="/")
    assert completed.stdout.strip() == "no solutions", completed.stderr


@pytest.mark.corpus
def test_a_completed_released_notebook_runs_top_to_bottom_with_the_wheel(student_python, tmp_path, books):
    from trusted_class import _build_course_folder, make_submission

    assignment = get_assignment("backprop_mlp")
    release = _build_course_folder(tmp_path / "course", assignment)
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
