"""What the report tells: tolerances, finite-difference agreement, reproducibility, HTML."""
import numpy as np
import pytest

import grading
from grading.gradient_check.registry import UnknownExerciseError
from mutations import wrong_sign
from mutations.models import digits_batch, lab_model


@pytest.fixture
def solution_report(digits):
    batch = digits_batch(digits)
    return grading.check_backpropagation(lab_model(), batch["input"], batch["output"], seed=7)


def test_text_table_has_one_row_per_parameter_and_the_tolerance(solution_report):
    text = str(solution_report)
    lines = text.splitlines()
    assert lines[0].endswith("PASSED")
    header = lines[1].split()
    assert header[:2] == ["layer", "parameter"] and "expected" in header and "result" in header
    assert sum(1 for line in lines if line.strip().endswith(" ok") and ("weight" in line or "bias" in line)) == 6
    assert "rtol = 1000 * eps(float64) = 2.2e-13" in text
    assert "h = 6.1e-06" in text


def test_reference_agrees_with_finite_differences_near_1e_10(solution_report):
    result = next(c for c in solution_report.checks if c.name == "finite_differences").evidence["result"]
    assert result.status == "agree"
    assert result.difference <= result.tolerance <= 1e-8
    assert result.difference < 1e-9
    assert abs(result.student - result.autograd) < 1e-12   # the student's slope along the same direction


def test_reproducibility_records_seed_shapes_and_versions(solution_report):
    info = solution_report.reproducibility
    assert info["seed"] == 7
    assert "(20, 64)" in info["batch"] and "layer 0 weight (10, 64)" in info["parameters"]
    assert f"numpy {np.__version__}" in info["versions"] and "torch" in info["versions"]
    assert info["student precision"] == "float64"


def test_the_same_seed_gives_the_same_report(digits):
    batch = digits_batch(digits)
    def detail(seed):
        report = grading.check_backpropagation(lab_model(), batch["input"], batch["output"], seed=seed)
        return next(check.detail for check in report.checks if check.name == "finite_differences")

    details = [detail(seed) for seed in (3, 3, 4)]
    assert details[0] == details[1] != details[2]


def test_a_few_forward_passes_in_all(solution_report):
    cost = solution_report.cost
    assert cost["reference_passes"] == 3          # autograd pass + one central difference
    assert cost["student_calls"] <= 5
    assert cost["seconds"] > 0 and set(cost["stages"]) >= {"student", "reference", "finite_differences"}


def test_html_rendering_is_a_table(digits):
    batch = digits_batch(digits)
    report = grading.check_backpropagation(lab_model(wrong_sign), batch["input"], batch["output"])
    html = report._repr_html_()
    assert html.count("<tr") == 1 + len(report.rows) and "<table style=" in html
    # the layout is inline, so pages without the notebook's CSS (nbgrader feedback) keep it
    assert html.count("<td style='padding:") == 7 * len(report.rows) and html.count("<th style='padding:") == 7
    assert "FAILED" in html and "Diagnosis" in html and "p - onehot(y)" in html


def test_an_unknown_model_or_name_is_a_clear_error():
    with pytest.raises(UnknownExerciseError, match="numpy_mlp"):
        grading.check_backpropagation(object(), np.zeros((1, 1)), np.zeros(1, dtype=int))
    with pytest.raises(UnknownExerciseError, match="registered"):
        grading.get_exercise("no_such_exercise")


def test_the_text_form_is_the_table_not_a_dump(solution_report):
    assert repr(solution_report) == str(solution_report)
    assert "GradientReport(" not in repr(solution_report) and "array(" not in repr(solution_report)


def test_checks_that_say_nothing_about_a_raising_stub_are_not_shown_ok(digits):
    import labs_solutions.numpy_mlp as solution

    class Stub(solution.NumpyMLP):
        def backpropagation(self, input, output):
            raise NotImplementedError("Exercise 2.2: implement backpropagation")

    batch = digits_batch(digits)
    text = str(grading.check_backpropagation(Stub([64, 20, 10], ["sigmoid", "softmax"], 0.5), batch["input"],
                                             batch["output"]))
    for name in ("finite_differences", "parameters_unchanged", "input_unchanged"):
        assert f"[n/a: your code raised] {name}" in text
        assert f"[ok] {name}" not in text
