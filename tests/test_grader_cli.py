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
