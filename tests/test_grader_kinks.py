"""ReLU kinks: a finite difference across one must not raise a false alarm, and the grader says so."""
import numpy as np

import grading
from mutations import wrong_sign
from mutations.models import digits_batch, relu_model_with_zeros, student_class
from labs_solutions import NumpyMLP


def relu_model_near_kink(digits, backpropagation=None, distance=1e-9):
    """A relu MLP where one first-layer pre-activation sits ``distance`` above 0 (inside the FD step)."""
    cls = NumpyMLP if backpropagation is None else student_class(backpropagation)
    model = cls([64, 12, 10], ["relu", "softmax"], 0.1, seed=5)
    batch = digits_batch(digits)
    weight, bias = model.parameters[0]
    z = batch["input"].astype(np.float64) @ weight.T + bias
    bias[0, 0] -= z[0, 0] - distance
    return model, batch


def finite_differences(report):
    return next(check for check in report.checks if check.name == "finite_differences")


def test_a_preactivation_within_the_step_of_zero_gives_no_false_alarm(digits):
    model, batch = relu_model_near_kink(digits)
    report = grading.check_backpropagation(model, batch["input"], batch["output"])
    result = finite_differences(report).evidence["result"]
    assert report.passed, str(report)
    assert result.rejected and "within the step of 0" in result.rejected[0]     # detected and said
    assert result.status == "agree" and result.over != "all parameters"         # resampled elsewhere
    assert "discarded" in finite_differences(report).detail


def test_the_kink_is_real_a_difference_across_it_disagrees(digits):
    model, batch = relu_model_near_kink(digits)
    bias = model.parameters[0][1]
    step = 1e-5  # a central difference that straddles the kink at distance 1e-9 ...
    original = bias[0, 0]
    losses = []
    for value in (original + step, original - step):
        bias[0, 0] = value
        losses.append(model.cross_entropy_loss(batch["input"], batch["output"]))
    bias[0, 0] = original
    straddling = (losses[0] - losses[1]) / (2 * step)
    reference = NumpyMLP.backpropagation(model, batch["input"], batch["output"])[0][1][0, 0]
    assert abs(straddling - reference) > 1e-6 * max(1.0, abs(reference))  # ... is off by far more than 1e-9


def test_exact_zeros_keep_the_finite_difference_check_on_other_parameters(digits):
    model, batch = relu_model_with_zeros(None, digits)
    report = grading.check_backpropagation(model, batch["input"], batch["output"])
    assert report.passed
    assert finite_differences(report).passed is True


def test_kink_handling_does_not_hide_a_wrong_gradient(digits):
    model, batch = relu_model_near_kink(digits, wrong_sign)
    report = grading.check_backpropagation(model, batch["input"], batch["output"])
    assert not report.passed and report.causes[0] == "wrong_sign"
