"""``backprop-labs check``: tables printed, plots written, exit code from the result."""
import pytest

from grading.cli import main

DAY2 = ["--exercise", "numpy_mlp", "--exercise", "log_linear", "--exercise", "pytorch_mlp_forward"]


def test_solutions_pass_and_plots_are_written(tmp_path, capsys):
    assert main(["check", "--solutions", *DAY2, "--plots", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("PASSED") == 3 and "Summary: numpy_mlp passed" in out
    written = sorted(p.name for p in tmp_path.glob("*.png"))
    assert written == ["log_linear_layer0_weight.png", "numpy_mlp_layer0_weight.png", "numpy_mlp_layer1_weight.png",
                       "pytorch_mlp_forward_layer0_weight.png", "pytorch_mlp_forward_layer1_weight.png"]


def test_student_stubs_fail_with_the_exercise_named(tmp_path, capsys):
    assert main(["check", "--exercise", "numpy_mlp", "--exercise", "pytorch_mlp_forward",
                 "--plots", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "Exercise 2.2: NumpyMLP.backpropagation is not implemented yet" in out
    assert "Exercise 2.4" in out and "Traceback" not in out
    assert "numpy_mlp FAILED" in out


def test_an_unknown_exercise_is_refused(tmp_path, capsys):
    assert main(["check", "--exercise", "nope", "--plots", str(tmp_path)]) == 2
    assert "unknown exercise" in capsys.readouterr().out


@pytest.mark.corpus
def test_books_corpus(books, tmp_path, capsys):
    assert main(["check", "--solutions", "--data", "amazon", "--exercise", "numpy_mlp", "--plots", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "(20, 13989)" in out and "PASSED" in out


@pytest.fixture
def release(tmp_path):
    """A student's backprop_mlp folder as handed out, with 2.2 solved and 2.4 still a stub."""
    from backprop_labs.paths import REPOSITORY_ROOT
    from grading.course.assignments import get_assignment

    folder = tmp_path / "backprop_mlp"
    get_assignment("backprop_mlp").write_files(folder)
    (folder / "labs" / "numpy_mlp.py").write_text((REPOSITORY_ROOT / "labs_solutions" / "numpy_mlp.py").read_text())
    return folder


def test_check_in_a_student_folder_checks_its_labs_and_says_so(release, tmp_path, capsys, monkeypatch):
    import labs

    monkeypatch.chdir(release)
    assert main(["check", *DAY2, "--exercise", "autodiff_mlp", "--plots", str(tmp_path / "plots")]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith(f"Checking {release / 'labs'} on digits")
    assert "numpy_mlp passed" in out and "pytorch_mlp_forward FAILED" in out  # the student's own 2.2 and stub 2.4
    assert f"not in {release / 'labs'}: autodiff_mlp" in out  # not shipped with this assignment: no failure
    import labs as after
    assert after is labs  # the repository's package is back for the rest of the process


def test_check_path_names_the_folder_and_a_wrong_one_is_explained(release, tmp_path, capsys):
    assert main(["check", "--path", str(release), "--exercise", "numpy_mlp", "--plots", str(tmp_path / "p")]) == 0
    assert f"Checking {release / 'labs'}" in capsys.readouterr().out
    assert main(["check", "--path", str(tmp_path), "--exercise", "numpy_mlp"]) == 2
    assert "is not a labs/ package" in capsys.readouterr().out


@pytest.mark.parametrize("package", ["grading", "backprop_labs"])
def test_python_dash_m_is_the_command(package):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", package, "check", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "--path" in result.stdout


def test_the_command_help_is_a_sentence_not_its_module_docstring(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    out = capsys.readouterr().out
    assert stop.value.code == 0 and "Backpropagation labs:" in out
    assert "``" not in out and "COMMANDS" not in out


@pytest.fixture(scope="module")
def glm_release(tmp_path_factory):
    """The GLM folder as `course build` releases it to students: glm.ipynb and labs/ with
    glm.py, glm_plot.py and pytorch_mlp.py (its 2.4 stub included)."""
    course = tmp_path_factory.mktemp("course")
    assert main(["course", "build", str(course), "--assignment", "glm"]) == 0
    return course / "release" / "glm"


@pytest.fixture
def glm_student(glm_release, tmp_path, monkeypatch):
    """A student's copy of the GLM release, as the current folder, with a correct glm.py."""
    import shutil

    from backprop_labs.paths import REPOSITORY_ROOT

    folder = shutil.copytree(glm_release, tmp_path / "glm")
    shutil.copy(REPOSITORY_ROOT / "labs_solutions" / "glm.py", folder / "labs" / "glm.py")
    monkeypatch.chdir(folder)
    return folder


def test_check_in_the_glm_release_checks_only_what_the_glm_asks(glm_student, tmp_path, capsys):
    assert "NotImplementedError('Exercise 2.4" in (glm_student / "labs" / "pytorch_mlp.py").read_text()
    assert main(["check", "--plots", str(tmp_path / "plots")]) == 0
    out = capsys.readouterr().out
    assert "Assignment glm: checking its exercises only (glm_natural_parameter)" in out
    assert "Summary: glm_natural_parameter passed; skipped (not in assignment glm): " in out
    assert "pytorch_mlp_forward" in out.split("skipped (not in assignment glm): ")[1]
    assert "Exercise 2.4" not in out and "FAILED" not in out


def test_a_wrong_glm_fails_check_in_its_release(glm_student, tmp_path, capsys):
    module = glm_student / "labs" / "glm.py"
    solved = "return (y_hat - targets) / y_hat.shape[0]"
    assert solved in module.read_text()
    module.write_text(module.read_text().replace(solved, "return y_hat - targets"))  # the 1/B forgotten
    assert main(["check", "--plots", str(tmp_path / "plots")]) == 1
    assert "glm_natural_parameter FAILED" in capsys.readouterr().out


def test_the_python_dash_m_command_in_the_glm_release_exits_0(glm_student, tmp_path):
    import subprocess
    import sys

    completed = subprocess.run([sys.executable, "-m", "backprop_labs", "check", "--plots", str(tmp_path / "p")],
                               capture_output=True, text=True, cwd=glm_student)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert "glm_natural_parameter passed" in completed.stdout


def test_an_assignment_is_told_by_its_notebook_else_by_its_shipped_modules(tmp_path):
    from backprop_labs.paths import REPOSITORY_ROOT
    from grading.course.assignments import assignment_in_folder, get_assignment

    folder = tmp_path / "digits"
    get_assignment("digits").write_files(folder)
    assert assignment_in_folder(folder) == "digits"
    (folder / "digits.ipynb").rename(folder / "digits (1).ipynb")  # as a browser saves a second download
    assert assignment_in_folder(folder) == "digits"  # digits_lab.py, numpy_mlp.py, pytorch_mlp.py
    (folder / "labs" / "helpers.py").write_text("")
    assert assignment_in_folder(folder) is None  # the student's own module: no assignment ships that set
    assert assignment_in_folder(REPOSITORY_ROOT) is None  # the repository's labs/: every exercise


def test_worked_graph_has_nothing_for_check_and_says_so(tmp_path, capsys, monkeypatch):
    from grading.course.assignments import get_assignment

    get_assignment("worked_graph").write_files(tmp_path / "worked_graph")
    monkeypatch.chdir(tmp_path / "worked_graph")
    assert main(["check", "--plots", str(tmp_path / "plots")]) == 2
    assert "checks no exercise of worked_graph: the notebook's test cells check it" in capsys.readouterr().out


def test_each_assignment_checks_registered_exercises_and_every_one_it_scores():
    """``checks`` names exercises that ``check`` can build, and leaves out none whose trusted
    check scores the assignment (the table cannot drift from the grading)."""
    from grading.course.assignments import ASSIGNMENTS
    from grading.gradient_check.registry import registered_exercises, registered_trusted_checks

    exercises = registered_exercises()
    trusted = {**registered_trusted_checks(),
               **{check.name: check for exercise in exercises.values() for check in exercise.trusted_checks()}}
    for name, entry in ASSIGNMENTS.items():
        assert all(exercises[checked].build_model for checked in entry["checks"]), name
        scored = {trusted[check].exercise for check in entry["scores"]} & set(exercises)
        assert scored <= set(entry["checks"]), (name, scored - set(entry["checks"]))
