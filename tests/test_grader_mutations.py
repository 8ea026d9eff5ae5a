"""Mutation testing of the diagnosis: every wrong backpropagation fails, and the cause is named.

The catalogue is in ``tests/mutations``. Each mutation is graded once per session; the summary
test prints the table of expected and named causes.
"""
import pytest

import grading
from mutations import MUTATIONS
from mutations.models import model_and_batch

REQUIRED_NAMED_FRACTION = 0.9

_reports = {}


def report_for(mutation, digits):
    if mutation.name not in _reports:
        model, batch = model_and_batch(mutation.model, mutation.backpropagation, digits)
        _reports[mutation.name] = grading.check_backpropagation(model, batch["input"], batch["output"])
    return _reports[mutation.name]


def test_the_catalogue_is_large_enough():
    assert len(MUTATIONS) >= 15
    assert len({m.name for m in MUTATIONS}) == len(MUTATIONS)


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.name for m in MUTATIONS])
def test_every_mutation_fails_with_a_diagnosis(mutation, digits):
    report = report_for(mutation, digits)
    assert not report.passed
    assert report.diagnosis and len(report.diagnosis) == len(report.causes)
    assert all(sentence.strip().endswith((".", ")")) for sentence in report.diagnosis)
    assert not any("grader problem" in note for note in report.notes), report.notes
    assert "FAILED" in str(report)


def test_the_right_cause_is_named_for_at_least_90_percent(digits):
    rows = [(m.name, m.cause, report_for(m, digits).causes[:1]) for m in MUTATIONS]
    named = [name for name, expected, first in rows if first == [expected]]
    table = "\n".join(f"{'ok  ' if first == [expected] else 'MISS'} {name}: expected {expected}, named {first}"
                      for name, expected, first in rows)
    print(table)
    assert len(named) / len(rows) >= REQUIRED_NAMED_FRACTION, table
