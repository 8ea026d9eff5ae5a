"""Exercise 2.1's diagnosis on mistakes seen in real learners' softmax-regression code
(tests/mutations/real_log_linear.py): every wrong one fails and its cause is named; the right ones pass."""
import pytest

import grading
from mutations.real_log_linear import REAL_LOG_LINEAR_CORRECT, REAL_LOG_LINEAR_MUTATIONS, log_linear_model_and_batch

MAX_FINDINGS = 3


def test_every_real_entry_says_where_it_was_seen():
    assert len(REAL_LOG_LINEAR_MUTATIONS) >= 3 and all(m.seen for m in REAL_LOG_LINEAR_MUTATIONS)
    assert all(seen for _, seen in REAL_LOG_LINEAR_CORRECT.values())


@pytest.mark.parametrize("mutation", REAL_LOG_LINEAR_MUTATIONS, ids=lambda m: m.name)
def test_real_log_linear_mistake_fails_and_is_named(mutation, digits):
    model, batch = log_linear_model_and_batch(mutation.backpropagation, digits, mutation.classes)
    report = grading.check_backpropagation(model, batch["input"], batch["output"])
    assert not report.passed, str(report)
    assert mutation.cause in report.causes and len(report.causes) <= MAX_FINDINGS, (report.causes, str(report))
    assert not any("grader problem" in note for note in report.notes), report.notes


@pytest.mark.parametrize("name", sorted(REAL_LOG_LINEAR_CORRECT))
def test_real_shaped_right_log_linear_code_passes_silently(name, digits):
    backpropagation, _ = REAL_LOG_LINEAR_CORRECT[name]
    model, batch = log_linear_model_and_batch(backpropagation, digits)
    report = grading.check_backpropagation(model, batch["input"], batch["output"])
    assert report.passed and report.causes == [], str(report)
