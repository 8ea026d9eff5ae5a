"""One mechanism for every lab: a new exercise plugs in with a GradientExercise and nothing else."""
import numpy as np
import pytest
import torch

import grading
from grading.exercises import registry
from grading.exercises.registry import GradientExercise, ParameterSpec


class SquaredErrorModel:
    """A lab-like linear regression whose parameters are a dict, not [[W, b]]."""

    def __init__(self, num_features, wrong=False):
        rng = np.random.default_rng(0)
        self.parameters = {"weight": rng.normal(size=(num_features,)), "intercept": np.array([0.3])}
        self.wrong = wrong

    def loss(self, input, output):
        residual = input @ self.parameters["weight"] + self.parameters["intercept"][0] - output
        return float(np.mean(residual ** 2))

    def backpropagation(self, input, output):
        residual = input @ self.parameters["weight"] + self.parameters["intercept"][0] - output
        scale = 1.0 if self.wrong else 2.0   # the classic forgotten factor 2
        return {"weight": scale * input.T @ residual / len(output),
                "intercept": np.array([scale * np.mean(residual)])}


def squared_error_reference(model, parameters, batch, ops):
    prediction = batch["input"] @ parameters["weight"] + parameters["intercept"][0]
    return torch.mean((prediction - batch["output"]) ** 2)


SQUARED_ERROR = GradientExercise(
    name="test_squared_error",
    title="Test exercise: squared error",
    recognizes=lambda model: isinstance(model, SquaredErrorModel),
    reference_loss=squared_error_reference,
    model_loss=lambda model, batch: model.loss(batch["input"], batch["output"]),
    parameter_specs=lambda model: [ParameterSpec((key,), None, key, model.parameters[key].shape)
                                   for key in ("weight", "intercept")],
    output_bias=None,
)


@pytest.fixture
def registered(monkeypatch):
    # Every lab is registered on import; ours is added for this test only.
    monkeypatch.setitem(registry._REGISTRY, SQUARED_ERROR.name, SQUARED_ERROR)


def regression_batch():
    rng = np.random.default_rng(1)
    return rng.normal(size=(25, 4)), rng.normal(size=25)


def test_a_new_exercise_is_graded_by_the_same_machinery(registered):
    input, output = regression_batch()
    report = grading.check_backpropagation(SquaredErrorModel(4), input, output)
    assert report.exercise == "test_squared_error" and report.passed, str(report)
    assert [row.role for row in report.rows] == ["weight", "intercept"]
    assert {c.name for c in report.checks} >= {"finite_differences", "repeat_call", "mean_of_examples"}


def test_a_new_exercise_gets_the_generic_diagnosis(registered):
    input, output = regression_batch()
    report = grading.check_backpropagation(SquaredErrorModel(4, wrong=True), input, output)
    assert not report.passed
    assert report.causes == ["factor_two"] and "half the right one" in report.diagnosis[0]


def test_the_day2_exercises_are_registered():
    names = set(grading.registered_exercises())
    assert {"numpy_mlp", "log_linear", "pytorch_mlp_forward"} <= names
    assert all(grading.get_exercise(name).build_model for name in ("numpy_mlp", "log_linear", "pytorch_mlp_forward"))


def test_register_exercise_rejects_what_is_not_an_exercise():
    with pytest.raises(TypeError, match="GradientExercise"):
        grading.register_exercise({"name": "dict"})
