"""Right answers pass, whatever their style; unfinished stubs fail with the exercise's name."""
import numpy as np
import pytest
import torch

import grading
import labs
import labs_solutions
from mutations import CORRECT
from mutations.models import digits_batch, lab_model, relu_model_with_zeros


SHAPE_WARNED = {"flat (n,) biases"}


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_correct_variants_pass(name, digits):
    batch = digits_batch(digits)
    report = grading.check_backpropagation(lab_model(CORRECT[name]), batch["input"], batch["output"])
    assert report.passed, str(report)
    if name in SHAPE_WARNED:     # right values in a tolerated shape: passed, with the shape named
        assert report.causes == ["bias_shape"] and "(10,)" in report.diagnosis[0]
    else:
        assert report.diagnosis == [] and report.causes == []


@pytest.mark.parametrize("name", ["relu slope 1 at exactly 0", "solution, relu slope 0 at exactly 0"])
def test_relu_slope_at_exactly_zero_is_accepted_both_ways(name, digits):
    model, batch = relu_model_with_zeros(CORRECT.get(name), digits)
    report = grading.check_backpropagation(model, batch["input"], batch["output"])
    assert report.passed, str(report)
    assert any("exactly 0" in note and "both accepted" in note for note in report.notes)


def test_float32_code_is_judged_at_float32_precision(digits):
    batch = digits_batch(digits)
    report = grading.check_backpropagation(lab_model(CORRECT["float32 throughout"]), batch["input"], batch["output"])
    errors = [row.max_rel_error for row in report.rows]
    assert report.passed and max(errors) > 1e-9        # float32 rounding is visible ...
    assert "eps(float32)" in report.tolerance          # ... and the tolerance says which precision it allows


def test_float64_solution_agrees_far_below_the_float32_tolerance(digits):
    batch = digits_batch(digits)
    report = grading.check_backpropagation(lab_model(), batch["input"], batch["output"])
    assert report.passed
    assert max(row.max_rel_error for row in report.rows) < 1e-12
    assert "eps(float64)" in report.tolerance


def day2_models(package, digits):
    geometry = [digits.num_features, 16, digits.num_classes]
    return {
        "numpy_mlp": package.NumpyMLP(geometry, ["tanh", "softmax"], 0.1),
        "log_linear": package.NumpyLogLinear(digits.num_features, digits.num_classes, 0.1),
        "pytorch_mlp_forward": package.PytorchMLP(geometry, ["tanh", "softmax"], 0.1),
        "pytorch_log_linear": package.PytorchLogLinear(digits.num_features, digits.num_classes, 0.1),
    }


def test_every_day2_solution_passes_and_is_recognised(digits):
    batch = digits_batch(digits)
    for name, model in day2_models(labs_solutions, digits).items():
        report = grading.check_backpropagation(model, batch["input"], batch["output"])
        assert report.exercise == name
        assert report.passed, str(report)


def test_student_stubs_fail_with_the_exercise_named(digits):
    batch = digits_batch(digits)
    for name, model in day2_models(labs, digits).items():
        if name in ("log_linear", "pytorch_log_linear"):
            continue  # exercises 2.1 and 2.3 are read-only: labs/ has their code
        report = grading.check_backpropagation(model, batch["input"], batch["output"])
        assert not report.passed and report.causes[0] == "not_implemented"
        assert "Exercise 2." in report.diagnosis[0] and "NotImplementedError" in report.diagnosis[0]
        assert all(row.found == "(raised)" and not row.passed for row in report.rows)


def wrong_forwards():
    """PyTorch MLP forward passes with one mistake each, and a word the diagnosis must contain."""
    def no_log(self, input):
        x = torch.as_tensor(np.asarray(input), dtype=self.dtype)
        (w0, b0), (w1, b1) = self.parameters
        return torch.softmax(torch.tanh(x @ w0.T + b0) @ w1.T + b1, dim=1)

    def no_normalisation(self, input):
        x = torch.as_tensor(np.asarray(input), dtype=self.dtype)
        (w0, b0), (w1, b1) = self.parameters
        return torch.tanh(x @ w0.T + b0) @ w1.T + b1

    def missing_hidden_bias(self, input):
        x = torch.as_tensor(np.asarray(input), dtype=self.dtype)
        (w0, b0), (w1, b1) = self.parameters
        return torch.log_softmax(torch.tanh(x @ w0.T) @ w1.T + b1, dim=1)

    return {"probabilities": (no_log, "loss_mismatch", "log_softmax"),
            "not normalised": (no_normalisation, "loss_mismatch", "log_softmax"),
            # the hidden bias starts at zero: the loss is right, its gradient is not
            "hidden bias missing": (missing_hidden_bias, "unused_parameter", "layer 0 bias")}


@pytest.mark.parametrize("name", sorted(wrong_forwards()))
def test_wrong_pytorch_forward_passes_fail_with_a_hint(name, digits):
    forward, cause, hint = wrong_forwards()[name]
    cls = type("StudentPytorchMLP", (labs_solutions.PytorchMLP,), {"_log_forward": forward})
    model = cls([digits.num_features, 16, digits.num_classes], ["tanh", "softmax"], 0.1)
    batch = digits_batch(digits)
    report = grading.check_backpropagation(model, batch["input"], batch["output"])
    assert report.exercise == "pytorch_mlp_forward" and not report.passed
    assert cause in report.causes
    assert any(hint in sentence for sentence in report.diagnosis), report.diagnosis
