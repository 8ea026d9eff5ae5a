"""The reference leaves out input features absent from the batch, and nothing about the verdict changes."""
import dataclasses

import numpy as np
import pytest

import grading
from grading.gradient_check.registry import get_exercise
from grading.gradient_check.reference import ReferenceLoss, parameter_arrays
from labs_solutions import NumpyLogLinear, NumpyMLP

FEATURES, BATCH = 600, 30


def bag_of_words_batch(density, seed=0):
    """Counts in {0, 1, 2}; with density 0.01 about three quarters of the columns are 0 in every example."""
    rng = np.random.default_rng(seed)
    input = (rng.random((BATCH, FEATURES)) < density) * rng.integers(1, 3, (BATCH, FEATURES))
    return {"input": input.astype(np.float32), "output": rng.integers(0, 2, BATCH)}


def mlp(seed=1):
    np.random.seed(seed)
    return NumpyMLP([FEATURES, 8, 2], ["tanh", "softmax"], 0.05)


@pytest.mark.parametrize("make_model, exercise", [(mlp, "numpy_mlp"),
                                                  (lambda: NumpyLogLinear(FEATURES, 2, 0.05), "log_linear")])
def test_reduced_reference_equals_the_full_one(make_model, exercise):
    model, batch = make_model(), bag_of_words_batch(0.01)
    exercise = get_exercise(exercise)
    specs = exercise.parameter_specs(model)
    arrays = parameter_arrays(model.parameters, specs)
    reduced = ReferenceLoss(exercise, model, model.parameters, specs, batch)
    assert reduced.columns is not None and len(reduced.columns.columns) < FEATURES / 2
    full = ReferenceLoss(dataclasses.replace(exercise, input_weight=None), model, model.parameters, specs, batch)
    assert full.columns is None
    expected, found = full.gradient(arrays), reduced.gradient(arrays)
    assert found.loss == pytest.approx(expected.loss, rel=1e-14)
    for ours, theirs in zip(found.gradients, expected.gradients):
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
    unused = ~np.any(batch["input"] != 0, axis=0)
    assert np.all(found.gradients[0][:, unused] == 0.0)          # exact zeros where no example has the word


def test_dense_inputs_are_not_reduced():
    model, batch = mlp(), bag_of_words_batch(0.5)
    exercise = get_exercise("numpy_mlp")
    loss = ReferenceLoss(exercise, model, model.parameters, exercise.parameter_specs(model), batch)
    assert loss.columns is None


def test_the_solution_passes_and_the_cross_check_says_which_columns_it_used():
    model, batch = mlp(), bag_of_words_batch(0.01)
    report = grading.check_backpropagation(model, batch["input"], batch["output"])
    assert report.passed, str(report)
    used = int(np.sum(np.any(batch["input"] != 0, axis=0)))
    cross_check = next(check for check in report.checks if check.name == "finite_differences")
    assert cross_check.passed and f"the {used:,} of {FEATURES:,} columns whose input feature occurs" in cross_check.detail


def test_a_gradient_in_the_unused_columns_still_fails():
    """The student's gradient is compared at full size: non-zero entries for absent words are wrong."""
    model, batch = mlp(), bag_of_words_batch(0.01)
    unused = np.flatnonzero(~np.any(batch["input"] != 0, axis=0))
    right = model.backpropagation

    def leaks_into_absent_words(input, output):
        gradients = right(input, output)
        gradients[0][0][:, unused[:3]] += 1e-3
        return gradients

    model.backpropagation = leaks_into_absent_words
    report = grading.check_backpropagation(model, batch["input"], batch["output"], exercise="numpy_mlp")
    assert not report.passed
    assert [row.passed for row in report.rows] == [False, True, True, True]
