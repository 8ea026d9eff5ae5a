"""The grader's speed-ups are switchable steps that never change a verdict.

``input_columns.ENABLED`` (reference on the used input columns),
``invariants.FOLD_REPEAT_INTO_LOGIT_SHIFT`` (one extra call for two checks),
``invariants.READ_ONLY_FIRST_CALL`` (parameters and batch read-only during the first call instead
of copied and compared), ``invariants.COPY_ONLY_BEFORE_MORE_STUDENT_CODE`` (the saved parameters and
returned arrays copied only when student code runs again) and ``finite_differences.VERIFY_ONCE``
(with ``further_checks=False``, the reference verified by finite differences once per model and
shapes) only save time: with all of them off, every report passes or fails alike and names the same causes, for the full report and
for the gradient check alone.
"""
import numpy as np
import pytest

import grading
from grading.gradient_check import finite_differences, input_columns, invariants
from mutations import MUTATIONS
from mutations.models import lab_model, model_and_batch

SPEEDUPS = [(input_columns, "ENABLED"), (invariants, "FOLD_REPEAT_INTO_LOGIT_SHIFT"),
            (invariants, "READ_ONLY_FIRST_CALL"), (invariants, "COPY_ONLY_BEFORE_MORE_STUDENT_CODE"),
            (invariants, "READ_ONLY_LATER_CALLS"), (finite_differences, "VERIFY_ONCE")]
SAMPLE = ("accumulates across calls", "float32 overflow in an unstable softmax", "missing 1/B",
          "transposed weight gradient", "in-place update of the parameters", "in-place centring of the input")


def verdict(model, batch, further_checks=True):
    report = grading.check_backpropagation(model, batch["input"], batch["output"], further_checks=further_checks)
    return report.passed, report.causes, sorted((c.name, c.passed) for c in report.checks)


def gradient_check_twice(model, batch):
    """The gradient check alone, twice on the same model: the second call may reuse the first's verification."""
    return [verdict(model, batch, further_checks=False) for _ in range(2)]


def all_off(monkeypatch):
    for module, name in SPEEDUPS:
        monkeypatch.setattr(module, name, False)


def both_ways(monkeypatch, make, judge=verdict):
    fast = judge(*make())
    all_off(monkeypatch)
    return fast, judge(*make())


@pytest.mark.parametrize("name", SAMPLE)
def test_a_wrong_gradient_gets_the_same_verdict_without_the_speedups(name, digits, monkeypatch):
    mutation = next(m for m in MUTATIONS if m.name == name)
    make = lambda: model_and_batch(mutation.model, mutation.backpropagation, digits)  # noqa: E731
    fast, plain = both_ways(monkeypatch, make)
    assert fast == plain
    assert fast[0] is False


@pytest.mark.parametrize("name", SAMPLE)
def test_the_gradient_check_alone_gets_the_same_verdict_without_the_speedups(name, digits, monkeypatch):
    mutation = next(m for m in MUTATIONS if m.name == name)
    make = lambda: model_and_batch(mutation.model, mutation.backpropagation, digits)  # noqa: E731
    fast, plain = both_ways(monkeypatch, make, gradient_check_twice)
    assert fast == plain


def test_a_correct_gradient_passes_without_the_speedups(digits, monkeypatch):
    def make():
        batch = digits.batches("train", 20)[0]
        return lab_model(), {"input": batch["input"].copy(), "output": batch["output"].copy()}

    fast, plain = both_ways(monkeypatch, make)
    assert fast == plain and fast[0] is True
    fast, plain = both_ways(monkeypatch, make, gradient_check_twice)
    assert fast == plain and all(passed for passed, _, _ in fast)


def test_the_read_only_first_call_leaves_the_report_text_unchanged(digits, monkeypatch):
    """Only the way the first call is watched changes: the same report, word for word."""
    def report(name):
        mutation = next(m for m in MUTATIONS if m.name == name)
        model, batch = model_and_batch(mutation.model, mutation.backpropagation, digits)
        return str(grading.check_backpropagation(model, batch["input"], batch["output"]))

    names = ["in-place update of the parameters", "in-place centring of the input", "missing 1/B"]
    fast = [report(name) for name in names]
    monkeypatch.setattr(invariants, "READ_ONLY_FIRST_CALL", False)
    assert [report(name) for name in names] == fast


def test_arrays_replaced_during_the_read_only_call_are_found_and_restored(digits):
    """Rebinding a parameter or a batch entry (not writing into it) escapes a read-only flag: found as
    the copying way finds it, and the original values put back."""
    model = lab_model()
    batch = digits.batches("train", 20)[0]
    batch = {"input": batch["input"].copy(), "output": batch["output"].copy()}
    weight = model.parameters[0][0]
    saved = weight.copy()
    solution = model.backpropagation

    def rebinding(input, output):
        gradients = solution(input, output)
        model.parameters[0][0] = weight - 0.1 * gradients[0][0]   # a new array in the model
        return gradients

    model.backpropagation = rebinding
    report = grading.check_backpropagation(model, batch["input"], batch["output"], further_checks=False)
    unchanged = next(check for check in report.checks if check.name == "parameters_unchanged")
    assert unchanged.passed is False and not report.passed
    np.testing.assert_array_equal(model.parameters[0][0], saved)
    assert weight.flags.writeable and batch["input"].flags.writeable


def test_the_verification_is_reused_with_and_without_further_checks(digits, monkeypatch):
    model = lab_model()
    batch = digits.batches("train", 20)[0]

    def detail(further_checks, on_model=model):
        report = grading.check_backpropagation(on_model, batch["input"], batch["output"], further_checks=further_checks)
        return next(check.detail for check in report.checks if check.name == "finite_differences")

    assert "earlier call" not in detail(True)
    assert "earlier call" in detail(True) and "earlier call" in detail(False)
    assert "earlier call" not in detail(False, lab_model())   # another model verifies its own reference
    monkeypatch.setattr(finite_differences, "VERIFY_ONCE", False)
    assert "earlier call" not in detail(True)


def test_switching_off_the_column_reduction_computes_on_every_column(digits, monkeypatch):
    from grading.gradient_check.registry import get_exercise
    from grading.gradient_check.reference import ReferenceLoss

    model = lab_model()
    batch = digits.batches("train", 20)[0]
    exercise = get_exercise("numpy_mlp")
    specs = exercise.parameter_specs(model)
    batch = {"input": batch["input"].copy(), "output": batch["output"].copy()}
    batch["input"][:, :40] = 0.0   # features no example has: the reduction drops them (most columns)
    assert ReferenceLoss(exercise, model, model.parameters, specs, batch).columns is not None
    monkeypatch.setattr(input_columns, "ENABLED", False)
    assert ReferenceLoss(exercise, model, model.parameters, specs, batch).columns is None


def test_results_returned_in_reused_buffers_are_copied_before_the_next_call(digits):
    """With copies deferred (COPY_ONLY_BEFORE_MORE_STUDENT_CODE), code that returns the same arrays on every
    call and adds into them must still be caught: the first result is copied before the second call."""
    mutation = next(m for m in MUTATIONS if m.name == "accumulates across calls")
    model, batch = model_and_batch(mutation.model, mutation.backpropagation, digits)
    first = model.backpropagation(batch["input"], batch["output"])
    assert model.backpropagation(batch["input"], batch["output"]) is first   # the very same arrays each call
    model, batch = model_and_batch(mutation.model, mutation.backpropagation, digits)
    report = grading.check_backpropagation(model, batch["input"], batch["output"])
    repeat = next(check for check in report.checks if check.name == "repeat_call")
    assert repeat.passed is False and repeat.evidence["ratio"] == pytest.approx(2.0, rel=1e-6)


def test_the_gradient_check_alone_copies_no_parameter(digits, monkeypatch):
    """Read-only during the one call, the model's own arrays are the point the reference is computed at."""
    from grading.gradient_check import pipeline

    model = lab_model()
    batch = digits.batches("train", 20)[0]
    seen = []
    saved_parameters = pipeline._saved_parameters
    monkeypatch.setattr(pipeline, "_saved_parameters", lambda runner: seen.append(saved_parameters(runner)) or seen[-1])
    assert grading.check_backpropagation(model, batch["input"], batch["output"], further_checks=False).passed
    own = [array for pair in model.parameters for array in pair]
    assert len(seen) == 1 and all(a is b for a, b in zip(seen[0], own))


def test_the_whole_report_copies_no_weight_and_catches_a_write_on_a_later_call(digits, monkeypatch):
    """Later calls run read-only too (READ_ONLY_LATER_CALLS): a correct implementation gets its whole report
    without a copy of any weight, and code that writes into a parameter only from its second call on is
    still caught, and the parameter restored."""
    batch = digits.batches("train", 20)[0]
    copied = []
    copy = invariants._copy
    monkeypatch.setattr(invariants, "_copy", lambda value: copied.append(value.shape) or copy(value))
    assert grading.check_backpropagation(lab_model(), batch["input"], batch["output"]).passed
    assert all(len(shape) < 2 or 1 in shape for shape in copied), copied   # at most the (1, out) bias shifted

    model = lab_model()
    solution = model.backpropagation
    saved = model.parameters[1][0].copy()
    calls = []

    def writes_from_the_second_call(input, output):
        calls.append(1)
        if len(calls) > 1:
            model.parameters[1][0] *= 0.5
        return solution(input, output)

    model.backpropagation = writes_from_the_second_call
    report = grading.check_backpropagation(model, batch["input"], batch["output"])
    unchanged = next(check for check in report.checks if check.name == "parameters_unchanged")
    assert unchanged.passed is False and "layer 1 weight" in unchanged.detail and not report.passed
    np.testing.assert_array_equal(model.parameters[1][0], saved)


@pytest.mark.parametrize("further_checks", [True, False])
def test_every_speedup_leaves_the_report_text_unchanged(digits, monkeypatch, further_checks):
    """Word for word, with the verdicts and causes: the report of a first check on a fresh model (the
    verification is not reused yet), for the sampled mistakes and a correct solution, with every speed-up
    on and with all of them off, but the folded repeat call (its repeat_call line says which call it used)."""
    def reports():
        texts = []
        for name in SAMPLE:
            mutation = next(m for m in MUTATIONS if m.name == name)
            model, batch = model_and_batch(mutation.model, mutation.backpropagation, digits)
            texts.append(grading.check_backpropagation(model, batch["input"], batch["output"],
                                                       further_checks=further_checks))
        batch = digits.batches("train", 20)[0]
        texts.append(grading.check_backpropagation(lab_model(), batch["input"].copy(), batch["output"].copy(),
                                                   further_checks=further_checks))
        return [(str(report), report.passed, report.causes, report.notes) for report in texts]

    fast = reports()
    for module, name in SPEEDUPS:
        if name != "FOLD_REPEAT_INTO_LOGIT_SHIFT":
            monkeypatch.setattr(module, name, False)
    assert reports() == fast
    verdicts = [passed for _, passed, _, _ in fast]
    assert verdicts[-1] is True and False in verdicts   # passing and failing reports both compared
    if further_checks:
        assert verdicts == [False] * len(SAMPLE) + [True]
