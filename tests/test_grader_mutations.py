"""Mutation testing of the diagnosis: every wrong backpropagation fails, and its cause is named.

The catalogue is in ``tests/mutations``: mistakes written next to the rules and, in
``tests/mutations/real_code.py``, mistakes seen in real learners' code, re-enacted in the lab's
interface (each with a note of where it was seen). Each mutation is graded once per session; the
summary test prints the table of expected and named causes.
"""
import numpy as np
import pytest

import grading
from mutations import CORRECT, MUTATIONS
from mutations.models import digits_batch, lab_model, model_and_batch, returning
from mutations.real_code import REAL_CORRECT, REAL_MUTATIONS

REQUIRED_NAMED_FRACTION = 0.9
MAX_FINDINGS = 3          # several mistakes at once are listed, but the list stays short

_reports = {}


def report_for(mutation, digits, shape_policy="lenient"):
    key = (mutation.name, shape_policy)
    if key not in _reports:
        model, batch = model_and_batch(mutation.model, mutation.backpropagation, digits)
        _reports[key] = grading.check_backpropagation(model, batch["input"], batch["output"],
                                                      shape_policy=shape_policy)
    return _reports[key]


def names_the_cause(mutation, report):
    return (mutation.cause in report.causes and all(cause in report.causes for cause in mutation.also)
            and len(report.causes) <= MAX_FINDINGS)


def test_the_catalogue_is_large_enough():
    assert len(MUTATIONS) >= 40 and len(REAL_MUTATIONS) >= 15
    assert len({m.name for m in MUTATIONS}) == len(MUTATIONS)
    assert all(m.seen for m in REAL_MUTATIONS)          # every real-code entry says where it was seen


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.name for m in MUTATIONS])
def test_every_mutation_gets_its_verdict_and_a_diagnosis(mutation, digits):
    report = report_for(mutation, digits)
    assert report.passed is mutation.passes, str(report)
    assert report.diagnosis and len(report.diagnosis) == len(report.causes)
    assert all(sentence.strip().endswith((".", ")")) for sentence in report.diagnosis)
    assert not any("grader problem" in note for note in report.notes), report.notes
    assert ("PASSED" if mutation.passes else "FAILED") in str(report)
    assert not any(word in sentence for sentence in report.diagnosis
                   for word in (" 1 times", "nan times", "= nan", "1 times the right"))


@pytest.mark.parametrize("mutation", [m for m in MUTATIONS if m.passes], ids=lambda m: m.name)
def test_tolerated_shapes_fail_under_the_strict_policy(mutation, digits):
    report = report_for(mutation, digits, shape_policy="strict")
    assert not report.passed and mutation.cause in report.causes


def test_the_cause_is_named_for_nearly_every_mutation_and_every_real_one(digits):
    rows = [(m, report_for(m, digits)) for m in MUTATIONS]
    table = "\n".join(f"{'ok  ' if names_the_cause(m, r) else 'MISS'} {'real' if m in REAL_MUTATIONS else 'own '} "
                      f"{m.name}: expected {[m.cause, *m.also]}, named {r.causes}, "
                      f"{'passed' if r.passed else 'failed'}" for m, r in rows)
    real_rows = [(m, r) for m, r in rows if m in REAL_MUTATIONS]
    real_named = sum(names_the_cause(m, r) for m, r in real_rows)
    verdicts = sum(r.passed is m.passes for m, r in real_rows)
    print(table)
    print(f"real code: {len(real_rows)} wrong cases, verdict right for {verdicts}, "
          f"cause named for {real_named} ({100 * real_named / len(real_rows):.0f} %)")
    assert sum(names_the_cause(m, r) for m, r in rows) / len(rows) >= REQUIRED_NAMED_FRACTION, table
    assert verdicts == len(real_rows) and real_named / len(real_rows) >= 0.8, table


@pytest.mark.parametrize("mutation", REAL_MUTATIONS, ids=lambda m: m.name)
def test_every_real_mistake_is_named(mutation, digits):
    """Real learners' mistakes are the measure of the diagnosis: each re-enacted one is named, not only most."""
    report = report_for(mutation, digits)
    assert names_the_cause(mutation, report), (report.causes, report.diagnosis)


def test_an_output_layer_with_its_bias_right_is_not_sent_to_check_the_error(digits):
    """The bias gradient is the error summed over the examples: right, it shows the error is right, so the
    sentence about the wrong weight gradient points at the layer input, not at the error."""
    def scrambled_output_weight(gradients):
        rng = np.random.default_rng(0)
        gradients[-1][0] = gradients[-1][0] * rng.uniform(0.5, 1.5, size=gradients[-1][0].shape)
        return gradients
    model, batch = model_and_batch("lab", returning(scrambled_output_weight), digits)
    report = grading.check_backpropagation(model, batch["input"], batch["output"])
    assert not report.passed and report.causes == ["localised"], report.causes
    assert "bias gradient is right" in report.diagnosis[0] and "check the error" not in report.diagnosis[0]


def test_mixing_examples_is_named_only_where_it_is_the_mistake(digits):
    """'Your code mixes the examples of a batch' is a cause of its own only where nothing else explains why a
    batch's gradient is not the mean of its examples' (a named value mistake makes it so too)."""
    for mutation in MUTATIONS:
        causes = report_for(mutation, digits).causes
        if "examples_coupled" in causes and mutation.cause != "examples_coupled":
            assert not set(causes) - {"examples_coupled", "localised"} - {mutation.cause}, (mutation.name, causes)
            assert mutation.cause not in causes, (mutation.name, causes)   # the named cause would explain it


def test_real_shaped_correct_code_passes_without_false_alarms(digits):
    batch = digits_batch(digits)
    for name, backpropagation in REAL_CORRECT.items():
        report = grading.check_backpropagation(lab_model(backpropagation), batch["input"], batch["output"])
        assert report.passed, (name, str(report))
        assert set(report.causes) <= {"bias_shape"}, (name, report.causes)   # a shape warning at most
    assert set(REAL_CORRECT) <= set(CORRECT)
