"""One mechanism for every lab: a new exercise plugs in with a GradientExercise and nothing else."""
import numpy as np
import pytest
import torch

import grading
from grading.gradient_check import registry
from grading.gradient_check.registry import GradientExercise, ParameterSpec


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


def test_a_new_exercise_is_one_registered_object(monkeypatch):
    """Its GradientExercise carries its trusted check and its assignment's row: every consumer (the gradient
    check, the trusted checks, the check command, the course) reads from that one object; an assignment
    declared twice is refused."""
    from grading.course import assignments
    from grading.course.cell_scope import EVERY_CASE
    from grading.trusted.cases import mlp_cases
    from grading.trusted.check_spec import TrustedCheck, compare_gradients, gradient_shapes, trusted_checks
    from grading.trusted.student_side import probe_numpy_mlp_backpropagation

    numpy_mlp = grading.get_exercise("numpy_mlp")
    trusted = TrustedCheck(name="new_lab_backpropagation", title="Exercise N.1", exercise="new_lab",
                           module="labs.new_lab", class_name="NewMLP", probe=probe_numpy_mlp_backpropagation,
                           cases=mlp_cases("new", 1), expected_shapes=gradient_shapes,
                           compare=lambda case, arrays: compare_gradients("new_lab", case, arrays))
    row = assignments.AssignmentRow("backprop_mlp", ships=assignments.assignment_table()["backprop_mlp"]["ships"],
                                    scores={trusted.name: ("test_new",)})
    exercise = GradientExercise(name="new_lab", title="Exercise N.1", recognizes=lambda model: False,
                                reference_loss=numpy_mlp.reference_loss, build_model=numpy_mlp.build_model,
                                trusted=trusted, assignment=row)
    monkeypatch.setitem(registry._REGISTRY, "new_lab", exercise)
    with pytest.raises(assignments.AssignmentError, match="'backprop_mlp' is declared twice"):
        assignments.get_assignment("backprop_mlp")
    monkeypatch.delitem(assignments._REGISTERED_ROWS, "backprop_mlp")   # the row replaces the registered one

    assert trusted.probe_key == "numpy_mlp_backpropagation"
    assert assignments.assignment_table()["backprop_mlp"]["checks"] == ("new_lab",)
    assert grading.get_exercise("new_lab") is exercise
    assert trusted_checks()["new_lab_backpropagation"] is trusted
    assert assignments.get_assignment("backprop_mlp").trusted_cells == {"new_lab_backpropagation": {"test_new": EVERY_CASE}}
    case = trusted.cases[0]
    from grading.trusted.check_spec import reference_gradients
    _, reference = reference_gradients("new_lab", case)
    assert trusted.compare(case, reference) is None                   # its reference is the exercise's
    wrong = dict(reference, dW0=2 * reference["dW0"])
    assert "layer 0 weight" in trusted.compare(case, wrong)


def test_a_registered_assignment_row_must_name_its_checks():
    from grading.course import assignments

    with pytest.raises(assignments.AssignmentError, match="'new_notebook' names no checks"):
        assignments.register_assignment(assignments.AssignmentRow("new_notebook", ships=("numpy_mlp.py",)))
    assert "new_notebook" not in assignments.assignment_table()

