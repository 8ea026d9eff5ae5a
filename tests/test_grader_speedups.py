"""The grader's speed-ups are switchable steps that never change a verdict.

``input_columns.ENABLED`` (reference on the used input columns) and
``invariants.FOLD_REPEAT_INTO_LOGIT_SHIFT`` (one extra call for two checks) only save time:
with both off, every report passes or fails alike and names the same causes.
"""
import pytest

import grading
from grading.gradient_check import input_columns, invariants
from mutations import MUTATIONS
from mutations.models import lab_model, model_and_batch

SAMPLE = ("accumulates across calls", "float32 overflow in an unstable softmax", "missing 1/B",
          "transposed weight gradient")


def verdict(model, batch):
    report = grading.check_backpropagation(model, batch["input"], batch["output"])
    return report.passed, report.causes, sorted((c.name, c.passed) for c in report.checks)


def both_ways(monkeypatch, make):
    fast = verdict(*make())
    monkeypatch.setattr(input_columns, "ENABLED", False)
    monkeypatch.setattr(invariants, "FOLD_REPEAT_INTO_LOGIT_SHIFT", False)
    return fast, verdict(*make())


@pytest.mark.parametrize("name", SAMPLE)
def test_a_wrong_gradient_gets_the_same_verdict_without_the_speedups(name, digits, monkeypatch):
    mutation = next(m for m in MUTATIONS if m.name == name)
    fast, plain = both_ways(monkeypatch, lambda: model_and_batch(mutation.model, mutation.backpropagation, digits))
    assert fast == plain
    assert fast[0] is False


def test_a_correct_gradient_passes_without_the_speedups(digits, monkeypatch):
    def make():
        batch = digits.batches("train", 20)[0]
        return lab_model(), {"input": batch["input"].copy(), "output": batch["output"].copy()}

    fast, plain = both_ways(monkeypatch, make)
    assert fast == plain and fast[0] is True


def test_switching_off_the_column_reduction_computes_on_every_column(digits, monkeypatch):
    from grading.exercises.registry import get_exercise
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
