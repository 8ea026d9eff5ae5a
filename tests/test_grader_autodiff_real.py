"""The autodiff lab's diagnosis on mistakes seen in real learners' autodiff code (tests/mutations/real_autodiff.py):
the grade catches every one (the model's check, or the trusted check of the VJP cells or of the backward_pass
cell for a mistake the model's graph does not meet), the probe names the wrong part (the rule and its argument,
or backward_pass) and what is wrong with it, and the model's check names the same cause, alone. Right code
written otherwise passes with no finding."""
import numpy as np
import pytest

import labs_solutions.autodiff as package
from grading.exercises.autodiff_localise import localise
from grading.trusted.check_spec import trusted_checks
from mutations.real_autodiff import (REAL_AUTODIFF_CORRECT, REAL_AUTODIFF_MUTATIONS, autodiff_report, breadth_first,
                                     plant)

MODEL_CATCHES = 0.8   # of the mistakes in rules the model's graph calls, the part its own check must catch


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


def backward_cell_failure():
    """The trusted check of the backward_pass cells (A.6), its gradients computed with the planted walk in process."""
    from grading.trusted.student_side import probe_autodiff_grad

    check = trusted_checks()["autodiff_backward_pass"]
    for case in check.cases:
        try:
            arrays = probe_autodiff_grad(package, case.spec(), case.arrays())
        except Exception as error:  # noqa: BLE001 - a walk that raises fails the cell
            return f"raised {type(error).__name__}"
        problem = check.compare(case, arrays)
        if problem:
            return problem
    return None


def rules_the_model_calls(monkeypatch):
    """``{(primitive name, argument)}`` of the VJP rules the checked AutodiffMLP's gradients call."""
    from labs_solutions.autodiff import vjps

    called = set()

    def spy(name, argument, rule):
        def recorded(*args, **kwargs):
            called.add((name, argument))
            return rule(*args, **kwargs)
        return recorded

    with monkeypatch.context() as patch:
        for function, rules in list(vjps.VJPS.items()):
            patch.setitem(vjps.VJPS, function, tuple(None if rule is None else spy(function.__name__, argument, rule)
                                                     for argument, rule in enumerate(rules)))
        autodiff_report()
    return called


def test_every_entry_says_where_it_was_seen():
    assert len(REAL_AUTODIFF_MUTATIONS) >= 12 and all(m.seen for m in REAL_AUTODIFF_MUTATIONS)


@pytest.mark.parametrize("mutation", REAL_AUTODIFF_MUTATIONS, ids=lambda m: m.name)
def test_real_autodiff_mistake_is_caught_and_named(mutation, monkeypatch):
    plant(monkeypatch, mutation.part, mutation.code)
    cause, sentence = localise(package)
    assert cause == mutation.cause, sentence
    assert mutation.says in sentence, sentence
    if mutation.part != "backward_pass":
        name, argument = mutation.part
        if name not in ("exp", "log", "tanh"):          # a rule of two arguments: the wrong one is named
            assert f"'s VJP for argument {argument} (" in sentence, sentence
        assert vjp_cell_failure() is not None          # the VJP cell fails, whatever the model uses
    report = autodiff_report()
    if not report.passed:   # a part the model's graph meets: its check names the same cause, and only it
        assert report.causes == [mutation.cause], (report.causes, report.diagnosis)
    elif mutation.part == "backward_pass":             # a walk mistake the model's graph does not meet
        assert backward_cell_failure() is not None


def test_most_mistakes_in_rules_the_model_calls_fail_its_check(monkeypatch):
    """The model's own check (the notebook's check_backpropagation) catches most mistakes in the parts its graph
    calls, not only the cells (a rule wrong only on shapes the model never has passes it: the cells catch that)."""
    called = rules_the_model_calls(monkeypatch)
    assert ("multiply", 0) not in called and ("tanh", 0) in called   # the onehot is not traced; tanh is
    in_model = [m for m in REAL_AUTODIFF_MUTATIONS if m.part == "backward_pass" or m.part in called]
    failing = 0
    for mutation in in_model:
        with monkeypatch.context() as patch:
            plant(patch, mutation.part, mutation.code)
            failing += not autodiff_report().passed
    assert len(in_model) >= 15 and failing / len(in_model) >= MODEL_CATCHES


def test_a_breadth_first_walk_is_named_by_a_value_reached_by_paths_of_different_lengths(monkeypatch):
    """A breadth-first walk from the end, each node once, passes a chain, a node used twice and a diamond of
    equal sides; a value reached by a short and a long path shows it (the softmax's exp(z), used by the division
    and by the sum, does so in the model)."""
    plant(monkeypatch, "backward_pass", lambda g, end_node: breadth_first(g, end_node, requeue=False))
    cause, sentence = localise(package)
    assert cause == "backward_pass" and "paths of different lengths" in sentence, sentence
    report = autodiff_report()
    assert not report.passed and report.causes == ["backward_pass"], report.diagnosis


@pytest.mark.parametrize("name", sorted(REAL_AUTODIFF_CORRECT))
def test_real_shaped_correct_code_passes(name, monkeypatch):
    plant(monkeypatch, *REAL_AUTODIFF_CORRECT[name])
    assert localise(package) is None
    report = autodiff_report()
    assert report.passed and not report.causes, report.diagnosis
    assert vjp_cell_failure() is None and backward_cell_failure() is None


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


@pytest.mark.parametrize("part, rule, says", [
    (("divide", 1), lambda g, ans, x, y: -g * x / y, "one division by y short"),
    (("exp", 0), lambda g, ans, x: g * np.exp(ans), "exp applied again to the output"),
], ids=["divide y without the square", "exp of ans"])
def test_a_slip_of_the_probes_table_is_named_as_such(part, rule, says, monkeypatch):
    """The probe's table of slips (the derivative written with the wrong value) beyond the catalogue's entries."""
    plant(monkeypatch, part, rule)
    cause, sentence = localise(package)
    assert cause == f"vjp_{part[0]}" and says in sentence, sentence
