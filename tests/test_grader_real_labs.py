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
