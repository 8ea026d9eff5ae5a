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
