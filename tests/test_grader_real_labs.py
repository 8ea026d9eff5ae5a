"""The regression, GLM, conv1d and forward/reverse labs' diagnosis on mistakes seen in real learners' code
(tests/mutations/real_labs.py): the lab's check (``check_backpropagation`` on the lab's own model) catches every one,
names its cause in the lab's words, and passes right code written otherwise with no finding."""
import pytest

from mutations.real_labs import REAL_LAB_CORRECT, REAL_LAB_MUTATIONS, report_for

LAB_OF_PART = {"advertising": "advertising_mse", "conv1d": "conv1d", "progressive": "progressive_network",
               "glm:seed:categorical": "glm_natural_parameter",
               "glm:seed": "glm_natural_parameter", "glm:poisson": "glm_natural_parameter",
               "glm:categorical": "glm_natural_parameter"}
NOT_REGRESSION_WORDS = ("layer", "softmax", "error @ W", "onehot")   # what the MLP's diagnosis speaks of


def test_the_catalogue_covers_every_lab_and_says_where_each_was_seen():
    assert len(REAL_LAB_MUTATIONS) >= 12 and all(m.seen for m in REAL_LAB_MUTATIONS)
    assert {m.part.split(":")[0] for m in REAL_LAB_MUTATIONS} == {"advertising", "glm", "conv1d", "progressive"}


@pytest.mark.parametrize("mutation", REAL_LAB_MUTATIONS, ids=lambda m: m.name)
def test_real_mistake_is_caught_and_named_in_the_labs_words(mutation, monkeypatch):
    report = report_for(mutation.part, mutation.code, monkeypatch)
    assert report.exercise == LAB_OF_PART[mutation.part] and not report.passed
    assert mutation.cause in report.causes, report.diagnosis
    assert set(report.causes) <= {mutation.cause, *mutation.also}, report.diagnosis
    sentence = report.diagnosis[report.causes.index(mutation.cause)]
    assert all(word in sentence for word in mutation.words), sentence
    if mutation.part == "advertising":
        assert not any(word in line for line in report.diagnosis for word in NOT_REGRESSION_WORDS), report.diagnosis


@pytest.mark.parametrize("name", sorted(REAL_LAB_CORRECT))
def test_real_shaped_right_code_passes(name, monkeypatch):
    part, code = REAL_LAB_CORRECT[name]
    report = report_for(part, code, monkeypatch)
    assert report.passed and not report.causes and not report.diagnosis, report.diagnosis


JUDGED_CHECKS = {"conv1d": "conv1d_backpropagation", "progressive": "progressive_network_backpropagation",
                 "glm": "glm_backpropagation"}


@pytest.mark.parametrize("mutation", [m for m in REAL_LAB_MUTATIONS if m.part.split(":")[0] in JUDGED_CHECKS],
                         ids=lambda m: m.name)
def test_the_trusted_judge_names_the_same_cause(mutation, monkeypatch):
    """The test cells' judged check (in process) on the lab's own cases: the case that shows the mistake fails
    with the same cause named (GLM: the case of the mutation's distribution; a case a mistake cannot show, such
    as a one-layer network for a mistake in passing down, may pass)."""
    from labs_solutions import glm
    from labs_solutions.forward_reverse import ProgressiveNetwork
    from grading.trusted.check_spec import trusted_checks
    from mutations.real_labs import conv1d_network_with, glm_distribution, plant_backward_loop, plant_glm
    from trusted_in_process import judgement

    lab = mutation.part.split(":")[0]
    check = trusted_checks()[JUDGED_CHECKS[lab]]
    if lab == "conv1d":
        target, cases = conv1d_network_with(mutation.code), check.cases
    elif lab == "progressive":
        plant_backward_loop(mutation.code, monkeypatch)
        target, cases = ProgressiveNetwork, check.cases
    else:
        plant_glm(mutation.part, mutation.code, monkeypatch)
        target = glm.GLMNetwork
        cases = [case for case in check.cases if case.distribution == glm_distribution(mutation.part)]
    judged = [judgement(check, target, case) for case in cases]
    assert any(not found.passed for found in judged)
    for found in judged:
        if not found.passed:
            causes = dict(found.causes)
            named = [cause for cause in (mutation.cause, *mutation.also) if cause in causes]
            assert named and all(word in causes[named[0]] for word in mutation.words), found.causes
