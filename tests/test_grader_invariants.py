"""Checks that need no reference: repeatability, no side effects, the batch gradient is a mean."""
import numpy as np

import grading
from mutations import backward, output_error
from mutations.models import BATCH_SIZE, digits_batch, lab_model


def checks_of(report):
    return {check.name: check for check in report.checks}


def test_a_correct_implementation_passes_every_reference_free_check(digits):
    batch = digits_batch(digits)
    report = grading.check_backpropagation(lab_model(), batch["input"], batch["output"])
    checks = checks_of(report)
    for name in ("repeat_call", "mean_of_examples", "logit_shift", "parameters_unchanged", "input_unchanged"):
        assert checks[name].passed is True, checks[name].detail
    assert "single-example gradients" in checks["mean_of_examples"].detail
    assert "shifted by +1000" in checks["logit_shift"].detail


def hard_coded_batch_size(self, input, output):
    inputs, _, p, _ = output_error(self, input, output)
    error = (p - np.eye(p.shape[1])[output]) / BATCH_SIZE     # right only for batches of BATCH_SIZE
    return backward(self, inputs, error)


def test_a_hard_coded_batch_size_is_caught_by_the_mean_of_examples(digits):
    batch = digits_batch(digits)
    report = grading.check_backpropagation(lab_model(hard_coded_batch_size), batch["input"], batch["output"])
    assert all(row.passed for row in report.rows)          # right on this batch ...
    assert checks_of(report)["mean_of_examples"].passed is False   # ... but not a mean
    assert report.causes == ["not_a_mean"] and "hard-coded" in report.diagnosis[0]


def test_accumulation_fails_the_repeat_call_and_skips_what_depends_on_it(digits):
    from mutations import accumulates_between_calls

    batch = digits_batch(digits)
    report = grading.check_backpropagation(lab_model(accumulates_between_calls), batch["input"], batch["output"])
    checks = checks_of(report)
    assert checks["repeat_call"].passed is False and "second / first = 2" in checks["repeat_call"].detail
    assert checks["mean_of_examples"].passed is None and checks["logit_shift"].passed is None


def test_modified_parameters_and_batch_are_restored_and_reported(digits):
    def vandal(self, input, output):
        gradients = backward(self, *output_error(self, input, output)[::3])
        self.parameters[1][0] *= 2.0
        input *= 3.0
        return gradients

    batch = digits_batch(digits)
    model = lab_model(vandal)
    before = [[w.copy(), b.copy()] for w, b in model.parameters]
    input_before = batch["input"].copy()
    report = grading.check_backpropagation(model, batch["input"], batch["output"])
    checks = checks_of(report)
    assert checks["parameters_unchanged"].passed is False and "layer 1 weight" in checks["parameters_unchanged"].detail
    assert checks["input_unchanged"].passed is False
    assert report.causes[:2] == ["modifies_parameters", "modifies_input"]
    assert all(np.array_equal(w, w0) and np.array_equal(b, b0) for (w, b), (w0, b0) in zip(model.parameters, before))
    assert np.array_equal(batch["input"], input_before)


def test_the_grader_leaves_a_correct_model_exactly_as_it_was(digits):
    batch = digits_batch(digits)
    model = lab_model()
    before = [[w.copy(), b.copy()] for w, b in model.parameters]
    grading.check_backpropagation(model, batch["input"], batch["output"])
    assert all(np.array_equal(w, w0) and np.array_equal(b, b0) for (w, b), (w0, b0) in zip(model.parameters, before))
