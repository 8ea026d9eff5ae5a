"""The verdict follows the precision the student's arithmetic achieved, not the returned dtype alone."""
import re

import numpy as np
import pytest

import grading
from mutations import CORRECT, backward, float32_backpropagation
from mutations import output_error as mutations_output_error
from mutations.models import digits_batch, lab_model
from mutations.real_code import float32_forward_float64_result


def float32_everything_returned_as_float64(self, input, output):
    return [[dW.astype(np.float64), db.astype(np.float64)] for dW, db in CORRECT["float32 throughout"](self, input, output)]


def checks_of(report):
    return {check.name: check for check in report.checks}


def test_float32_arithmetic_gets_the_same_verdict_whatever_dtype_it_returns(digits):
    batch = digits_batch(digits)
    reports = {name: grading.check_backpropagation(lab_model(f), batch["input"], batch["output"])
               for name, f in [("float32 returned", CORRECT["float32 throughout"]),
                               ("float64 returned", float32_everything_returned_as_float64),
                               ("float64 one-hot", float32_forward_float64_result)]}
    for name, report in reports.items():
        assert report.passed, (name, str(report))
        assert report.causes == []
        assert "eps(float32)" in report.tolerance
        assert all(check.passed is not False for check in report.checks), name
    for name in ("float64 returned", "float64 one-hot"):
        note = next(note for note in reports[name].notes if note.startswith("precision:"))
        assert "float64 arrays" in note and "less than float32 can represent" in note
        assert "batch's input is float32" in note
        assert "your code computes in float32" in reports[name].tolerance


def test_a_float64_solution_is_still_judged_at_float64_precision(digits):
    batch = digits_batch(digits)
    report = grading.check_backpropagation(lab_model(), batch["input"], batch["output"])
    assert report.passed and "eps(float64)" in report.tolerance and "computes in" not in report.tolerance
    assert not any(note.startswith("precision:") for note in report.notes)


def test_a_mistake_in_float32_arithmetic_is_still_caught_and_named(digits):
    def float32_without_the_mean(self, input, output):
        gradients = CORRECT["float32 throughout"](self, input, output)
        return [[dW.astype(np.float64) * len(output), db.astype(np.float64) * len(output)] for dW, db in gradients]

    batch = digits_batch(digits)
    report = grading.check_backpropagation(lab_model(float32_without_the_mean), batch["input"], batch["output"])
    assert not report.passed and report.causes == ["missing_batch_mean"]


def test_the_logit_shift_does_not_blame_overflow_for_float32_rounding(digits):
    batch = digits_batch(digits)
    report = grading.check_backpropagation(lab_model(float32_forward_float64_result), batch["input"],
                                           batch["output"])
    shift = checks_of(report)["logit_shift"]
    assert shift.passed is True, shift.detail
    assert "unstable_softmax" not in report.causes


def test_an_unstable_softmax_is_still_blamed(digits):
    def unstable_float64_result(self, input, output):
        gradients = float32_backpropagation(self, input, output,
                                            lambda z: np.exp(z) / np.sum(np.exp(z), axis=1, keepdims=True))
        return [[dW.astype(np.float64), db.astype(np.float64)] for dW, db in gradients]

    batch = digits_batch(digits)
    report = grading.check_backpropagation(lab_model(unstable_float64_result), batch["input"], batch["output"])
    assert not report.passed and "unstable_softmax" in report.causes


def test_no_sentence_comes_from_an_impossible_inference(digits):
    def noise(self, input, output):
        rng = np.random.default_rng(len(output))
        return [[rng.normal(size=w.shape), rng.normal(size=b.shape)] for w, b in self.parameters]

    batch = digits_batch(digits)
    report = grading.check_backpropagation(lab_model(noise), batch["input"], batch["output"])
    text = str(report)
    assert not report.passed
    assert not re.search(r"\b1 times|nan times|= nan|\b1(\.0+)? times the", text), text


def test_the_tangent_never_shows_equal_looking_numbers_as_disagreeing(digits, tmp_path):
    batch = digits_batch(digits)
    model = lab_model(float32_forward_float64_result)
    for layer in range(3):
        result = grading.tangent_check(model, batch, layer_index=layer, path=tmp_path / f"t{layer}.png")
        title = result.figure.axes[0].get_title()
        assert result.agrees, str(result)
        numbers = re.findall(r"numerical (\S+), yours (\S+)", title)[0]
        assert "DISAGREE" not in title and "relative gap" in title
        if numbers[0] == numbers[1]:
            assert result.student_slope == result.numerical_slope or "agree" in title


def test_the_tangent_prints_disagreeing_slopes_distinguishably(digits, tmp_path):
    def slightly_off(self, input, output):
        gradients = backward(self, *__import__("mutations").output_error(self, input, output)[::3])
        return [[dW * (1 + 1e-3), db] for dW, db in gradients]

    batch = digits_batch(digits)
    result = grading.tangent_check(lab_model(slightly_off), batch, layer_index=1, path=tmp_path / "t.png")
    title = result.figure.axes[0].get_title()
    numerical, yours = re.findall(r"numerical (\S+), yours (\S+)", title)[0]
    assert not result.agrees and "DISAGREE" in title and numerical != yours


def _off_by(relative_error, where="weights"):
    """The right gradients, float64 arithmetic, with a smooth relative error (a forward difference, a tiny
    constant in a denominator): the precision is not float32, so the verdict must be float64's."""
    def approximate(self, input, output):
        inputs, _, _, error = mutations_output_error(self, input, output)
        gradients = backward(self, inputs, error)
        return [[dW * (1 + relative_error * np.cos(7 * dW)) if where in ("weights", "all") else dW,
                 db * (1 + relative_error) if where == "all" else db] for dW, db in gradients]
    return approximate


def test_a_float64_formula_off_by_1e7_fails_and_is_named_approximate(digits):
    batch = digits_batch(digits)
    for where in ("weights", "all"):
        report = grading.check_backpropagation(lab_model(_off_by(1e-7, where)), batch["input"], batch["output"])
        assert not report.passed, where
        assert report.causes == ["approximate_formula"], (where, report.causes)
        assert "float32" not in report.reproducibility["student precision"]
        assert "computes in float64" in report.tolerance, report.tolerance


def test_every_correct_float32_variant_is_judged_at_float32_and_passes(digits):
    batch = digits_batch(digits)
    for name in ("float32 throughout", "float32 forward, float64 result"):
        report = grading.check_backpropagation(lab_model(CORRECT[name]), batch["input"], batch["output"])
        assert report.passed and report.reproducibility["student precision"] == "float32", name


def test_error_sizes_of_many_arrays_at_once_are_those_of_each_pair():
    """The few-calls path (small arrays, same shapes) gives error_sizes' figures exactly: NaN, -0.0, a zero
    reference and unequal sizes included; other shapes, empty and large arrays go pair by pair."""
    from grading.policy.precision import FEW_ENTRIES, error_sizes, error_sizes_of_pairs

    rng = np.random.default_rng(3)
    references = [rng.standard_normal((4, 3)), np.zeros((1, 3)), rng.standard_normal((2, 5)) * 1e-300,
                  rng.standard_normal((1, 2))]
    students = [r + rng.standard_normal(r.shape) * 1e-9 for r in references]
    students[1][0, 1] = -0.0
    students[3][0, 0] = np.nan
    cases = [(students, references),
             ([students[0], np.empty((0, 3))], [references[0], np.empty((0, 3))]),   # an empty pair
             ([np.ones(FEW_ENTRIES), np.zeros(3)], [np.full(FEW_ENTRIES, 0.5), np.ones(3)])]   # many entries
    for student, reference in cases:
        expected = [error_sizes(s, r) for s, r in zip(student, reference)]
        found = error_sizes_of_pairs(student, reference)
        np.testing.assert_array_equal(np.array(found), np.array(expected))
        assert [type(f) for pair in found for f in pair] == [type(e) for pair in expected for e in pair]
    assert np.isnan(error_sizes_of_pairs(students, references)[3][0])
    with pytest.raises(ValueError):   # shapes that do not broadcast: error_sizes' own error
        error_sizes_of_pairs([students[0].T, students[1]], [references[0], references[1]])
