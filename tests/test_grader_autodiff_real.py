"""The autodiff lab's diagnosis on mistakes seen in real learners' autodiff code (tests/mutations/real_autodiff.py):
the grade catches every one (the model's check, or the VJP cell's trusted check for a rule the model does not
use), the probe names the wrong part (the rule and its argument, or backward_pass), and the model's check
names the same cause, alone. Right code written otherwise passes with no finding."""
import numpy as np
import pytest

import labs_solutions.autodiff as package
from grading.exercises.autodiff_localise import localise
from grading.trusted.check_spec import trusted_checks
from mutations.real_autodiff import REAL_AUTODIFF_CORRECT, REAL_AUTODIFF_MUTATIONS, autodiff_report, plant

NAMED_FRACTION = 0.8   # the target for the autodiff lab; every entry is named today


def vjp_cell_failure():
    """The trusted check of the VJP cells (A.1-A.5), its arrays computed with the planted rules in process."""
    check = trusted_checks()["autodiff_vjps"]
    for case in check.cases:
        inputs, arrays = case.inputs(), {}
        for n, (primitive, shapes, _) in enumerate(case.calls):
            nodes = [package.Node(inputs[f"c{n}.x{i}"]) for i in range(len(shapes))]
            try:
                found = package.parent_gradients(getattr(package.anp, primitive)(*nodes), inputs[f"c{n}.g"])
            except Exception as error:  # noqa: BLE001 - a rule that raises fails the cell
                return f"raised {type(error).__name__}"
            arrays.update({f"c{n}.vjp{i}": value for i, value in enumerate(found)})
        problem = check.compare(case, arrays)
        if problem:
            return problem
    return None


def test_every_entry_says_where_it_was_seen():
    assert len(REAL_AUTODIFF_MUTATIONS) >= 12 and all(m.seen for m in REAL_AUTODIFF_MUTATIONS)


@pytest.mark.parametrize("mutation", REAL_AUTODIFF_MUTATIONS, ids=lambda m: m.name)
def test_real_autodiff_mistake_is_caught_and_named(mutation, monkeypatch):
    plant(monkeypatch, mutation.part, mutation.code)
    cause, sentence = localise(package)
    assert cause == mutation.cause, sentence
    if mutation.part != "backward_pass":
        name, argument = mutation.part
        if name not in ("exp", "log", "tanh"):          # a rule of two arguments: the wrong one is named
            assert f"for argument {argument}" in sentence, sentence
        assert vjp_cell_failure() is not None          # the VJP cell fails, whatever the model uses
    report = autodiff_report()
    if not report.passed:   # a rule the model uses: its check names the same cause, and only it
        assert report.causes == [mutation.cause], (report.causes, report.diagnosis)
    else:
        assert mutation.part != "backward_pass"        # every walk mistake shows in the model


def test_most_real_mistakes_fail_the_model_check_itself(monkeypatch):
    """The model's own check (the notebook's check_backpropagation) catches most of them, not only the cells."""
    failing = 0
    for mutation in REAL_AUTODIFF_MUTATIONS:
        with monkeypatch.context() as patch:
            plant(patch, mutation.part, mutation.code)
            failing += not autodiff_report().passed
    assert failing / len(REAL_AUTODIFF_MUTATIONS) >= NAMED_FRACTION


@pytest.mark.parametrize("name", sorted(REAL_AUTODIFF_CORRECT))
def test_real_shaped_correct_backward_pass_passes(name, monkeypatch):
    plant(monkeypatch, "backward_pass", REAL_AUTODIFF_CORRECT[name])
    assert localise(package) is None
    report = autodiff_report()
    assert report.passed and not report.causes, report.diagnosis


def test_a_vjp_by_a_difference_quotient_fails_and_is_named_approximate(monkeypatch):
    """Errors of ~1e-11 in float64 are not rounding: the model's check fails, the probe names the rule and says
    it approximates (the issue's study saw such VJPs pass as 'float32 data')."""
    def tanh_by_differences(g, ans, x):
        return g * (np.tanh(x + 1e-5) - np.tanh(x - 1e-5)) / 2e-5

    plant(monkeypatch, ("tanh", 0), tanh_by_differences)
    report = autodiff_report()
    assert not report.passed and report.causes == ["vjp_tanh"], report.diagnosis
    assert "approximation" in report.diagnosis[0] and "float32" not in report.diagnosis[0]


def test_a_huge_gradient_from_a_rule_is_recorded_by_its_shape(monkeypatch):
    """A package whose parent_gradients (given code, rewritten) returns huge arrays: the sandbox's record stays
    small (their shapes), and the judge still names the first rule."""
    from grading.exercises.autodiff_localise import MAX_RECORDED, judge, record

    monkeypatch.setattr(package, "parent_gradients", lambda node, g: [np.ones(MAX_RECORDED + 1)] * len(node.parents))
    recorded = record(package)
    assert any(isinstance(found, dict) for entry in recorded["vjps"] for found in entry.get("found", []))
    cause, sentence = judge(recorded)
    assert cause == "vjp_multiply" and f"shape ({MAX_RECORDED + 1},)" in sentence, sentence


def test_a_malformed_probe_record_loses_the_advice_not_the_case():
    from grading.trusted.results import MAX_PROBE_VALUES, clean_session

    session = {"calls": {}, "modified": {}, "localised": {"vjps": [[0.0] * (MAX_PROBE_VALUES + 1)]}}
    assert clean_session(session, "case")["localised"] is None
    assert clean_session({**session, "localised": {"vjps": [object()]}}, "case")["localised"] is None
