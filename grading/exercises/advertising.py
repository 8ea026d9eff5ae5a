"""Gradient exercise of the Advertising lab (exercise R.1): ``mean_squared_error_gradient``.

The student writes a function, not a model, so :class:`LinearRegressionGradient` presents it
to the grader as one: ``parameters == {'coefficients': (1 + F,)}`` (intercept first) and
``backpropagation(input (B, F), output (B,))`` returns ``{'coefficients': (1 + F,)}``. The
reference is autograd on ``mean(([1, x] @ c - y) ** 2)``. The module is everything the grader knows of the lab:
the exercise, its diagnosis words, its trusted checks and the ``advertising`` assignment's scored test cells, in
the one ``GradientExercise`` it registers.
"""
import importlib
from dataclasses import dataclass
from functools import partial
from types import SimpleNamespace
from typing import Callable

import numpy as np
import torch

from grading.course.assignments import AssignmentRow
from grading.course.cell_scope import CellScope
from grading.diagnosis.regression_hypotheses import REGRESSION_HYPOTHESES
from grading.diagnosis.vocabulary import Vocabulary
from grading.gradient_check.registry import GradientExercise, ParameterSpec, register_exercise
from grading.trusted.cases import Call, CallsCase, Returned, _drawn, case_seed
from grading.trusted.check_spec import TrustedCheck, calls_shapes, compare_close, gradient_judge
from grading.trusted.student_side import FunctionModel, probe_function_calls, probe_function_model_session

NAME = "advertising_mse"

REGRESSION_VOCABULARY = Vocabulary(
    code="mean_squared_error_gradient",
    sign="the residual is prediction - y (X @ c - y), not y - prediction",
    output_start="the gradient of mean((X @ c - y)**2), which is 2 / B * X.T @ (X @ c - y)",
    fix_mean="divide the sum over the examples by N once (the 1/N of the mean): 2 / N * X.T @ residual",
    shapes="X is (B, 1 + F) with the intercept column, c is (1 + F,), so X @ c is (B,) and X.T @ residual is (1 + F,)",
    top_layer_wrong="The gradient is wrong: it should be 2 / B * X.T @ (X @ c - y).",
    lower_layer_wrong="The gradient is wrong: it should be 2 / B * X.T @ (X @ c - y).",
    unnamed_wrong=("The gradient of the {labels} is wrong: it should be 2 / B * X.T @ (X @ c - y), of shape "
                   "(1 + F,), intercept first."),
    bias_reduce="sum over the examples",
    weight_layout="the gradient has the coefficients' shape (1 + F,)",
    missing_layer="",
    not_finite="check for division by zero",
    half_sum=("that is the gradient of the SUM of squares halved, X.T @ (X @ c - y): the loss is the MEAN of the "
              "squared residuals: keep the factor 2 of the square's derivative and divide the sum by N (the 1/N of the "
              "mean): 2 / N * X.T @ (X @ c - y)"),
)


REGRESSION_FUNCTIONS = {"parameter": "coefficients", "gradient": "mean_squared_error_gradient",
                        "loss": "mean_squared_error", "design": "design_matrix"}


class LinearRegressionGradient(FunctionModel):
    """A lab module's ``mean_squared_error_gradient`` behind the grader's model interface.

    ``lab`` is the module (``labs.advertising`` or ``labs_solutions.advertising``); its given
    ``design_matrix`` and ``mean_squared_error`` build the design and the loss. The coefficients
    start from a seeded normal draw so that no gradient entry is zero by accident. The trusted check
    builds the same adapter in the sandbox (``student_side.FunctionModel``), so both judge one model.
    """

    def __init__(self, lab, num_features, seed=0):
        super().__init__(lab, REGRESSION_FUNCTIONS, np.random.default_rng(seed).normal(size=num_features + 1))


def regression_reference_loss(model, parameters, batch, ops):
    """``mean((c_0 + x @ c_1: - y) ** 2)`` for coefficients ``c`` (1 + F,), intercept first."""
    coefficients = parameters["coefficients"]
    predictions = coefficients[0] + batch["input"] @ coefficients[1:]
    return torch.mean((predictions - batch["output"].to(predictions.dtype)) ** 2)


def build_linear_regression(package, data):
    """The adapter around ``<package>.advertising`` for ``data.num_features`` features."""
    lab = importlib.import_module(f"{package.__name__}.advertising")
    return LinearRegressionGradient(lab, data.num_features)


def load_advertising_data(data_dir=None):
    """The Advertising budgets (200, 3) and sales (200,) as a ``train`` split."""
    from backprop_labs.datasets import LabData, load_advertising

    data = load_advertising(data_dir)
    return LabData({"train": (data.features, data.sales)}, num_classes=None,
                   feature_names=list(data.feature_names), name="advertising")


# Trusted checks of the Advertising assignment's test cells (cells and scopes in the assignment row below).

MARKETS, DESCENT_MARKETS, OTHER_SHAPE = 30, 150, (17, 5)   # rows of the drawn fits; the other design's features


def draw_markets(rows, rng):
    """``rows`` markets of the Advertising data drawn without replacement, and coefficients ``(4,)``."""
    from backprop_labs.datasets import load_advertising

    data = load_advertising()
    chosen = rng.choice(len(data.sales), rows, replace=False)
    return {"features": data.features[chosen], "target": data.sales[chosen], "coefficients": rng.normal(size=4)}


def draw_other_design(rng):
    """test_r_1_hidden's kind of data: normal features ``(17, 5)``, target ``(17,)``, coefficients ``(6,)``."""
    return {"features": rng.normal(size=OTHER_SHAPE), "target": rng.normal(size=OTHER_SHAPE[0]),
            "coefficients": rng.normal(size=OTHER_SHAPE[1] + 1)}


@dataclass(frozen=True)
class RegressionCase:
    """R.1 on drawn data (``draw(rng)``: ``features (B, F)``, ``target (B,)``, ``coefficients (1 + F,)``, from
    this case's seed): the student's function is called as a :class:`FunctionModel` holding the coefficients,
    and judged on the recorded calls by ``check_backpropagation`` (:mod:`grading.trusted.replay`), as the
    notebook's test cells judge it."""

    key: str
    draw: Callable
    seed: int

    def inputs(self):
        """The drawn arrays (drawn once per process: do not modify them)."""
        return _drawn(self.draw, case_seed(self.seed))

    def spec(self):
        return {"key": self.key, "function_model": REGRESSION_FUNCTIONS}

    def model_configuration(self):
        return SimpleNamespace()   # the reference loss reads nothing of the model but its coefficients

    def parameters(self):
        return {"coefficients": np.array(self.inputs()["coefficients"], dtype=np.float64)}

    def batch(self):
        inputs = self.inputs()
        return {"input": np.array(inputs["features"], dtype=np.float64),
                "output": np.array(inputs["target"], dtype=np.float64)}

    def arrays(self):
        """``'<key>.coefficients'``, ``'<key>.input'`` and ``'<key>.output'`` for the npz."""
        batch = self.batch()
        return {f"{self.key}.coefficients": self.parameters()["coefficients"], f"{self.key}.input": batch["input"],
                f"{self.key}.output": batch["output"]}


def _solution():
    return importlib.import_module("labs_solutions.advertising")


def compare_least_squares(case, arrays):
    """The given least squares and loss, as the solution computes them (the notebook's tolerances)."""
    inputs, lab = case.inputs(), _solution()
    exact = lab.least_squares(inputs["features"], inputs["target"])
    return (compare_close(arrays["fit"], exact, "least_squares", rtol=1e-8)
            or compare_close(arrays["loss"], lab.mean_squared_error(lab.design_matrix(inputs["features"]), exact,
                                                                    inputs["target"]),
                             "mean_squared_error of the fit", rtol=1e-10))


def compare_descent(case, arrays):
    """Gradient descent with your gradient reaches the least-squares fit (rtol 1e-6, as the notebook)."""
    inputs = case.inputs()
    return compare_close(arrays["coefficients"], _solution().least_squares(inputs["features"], inputs["target"]),
                         "gradient descent's coefficients against the least-squares fit", rtol=1e-6)


MARKETS_CASE = RegressionCase("markets", partial(draw_markets, MARKETS), 8201)
OTHER_DESIGN_CASE = RegressionCase("other-design", draw_other_design, 8211)

LEAST_SQUARES = TrustedCheck(
    name="advertising_least_squares", title="The least-squares fit (given code)",
    exercise=NAME, module="labs.advertising", class_name=None, probe=probe_function_calls,
    cases=(CallsCase("fit", (Call("least_squares", (Returned("fit", (4,)),), ("@features", "@target")),
                             Call("design_matrix", (Returned("design", None),), ("@features",)),
                             Call("mean_squared_error", (Returned("loss", ()),), ("@design", "@fit", "@target"))),
                     partial(draw_markets, DESCENT_MARKETS), 8101),),
    expected_shapes=calls_shapes, compare=compare_least_squares, torch_allowed=False)

MSE_GRADIENT = TrustedCheck(
    name="advertising_mse_gradient", title="Exercise R.1: mean_squared_error_gradient",
    exercise=NAME, module="labs.advertising", class_name=None, probe=probe_function_model_session,
    cases=(MARKETS_CASE, OTHER_DESIGN_CASE), judge=gradient_judge(NAME), torch_allowed=False)

DESCENT = TrustedCheck(
    name="advertising_descent", title="Gradient descent with your gradient",
    exercise=NAME, module="labs.advertising", class_name=None, probe=probe_function_calls,
    cases=(CallsCase("descent", (Call("gradient_descent", (Returned("coefficients", (4,), (0,)),),
                                      ("@features", "@target"), (("learning_rate", 0.1), ("num_steps", 1000))),),
                     partial(draw_markets, DESCENT_MARKETS), 8301),),
    expected_shapes=calls_shapes, compare=compare_descent, torch_allowed=False)

register_exercise(GradientExercise(
    name=NAME,
    title="Exercise R.1: mean_squared_error_gradient (Advertising lab)",
    recognizes=lambda model: isinstance(model, LinearRegressionGradient),
    reference_loss=regression_reference_loss,
    model_loss=lambda model, batch: model.loss(batch["input"], batch["output"]),
    parameter_specs=lambda model: [ParameterSpec(("coefficients",), None, "coefficients",
                                                 tuple(np.shape(model.parameters["coefficients"])))],
    output_bias=None,  # not a softmax
    hypotheses=REGRESSION_HYPOTHESES,
    build_model=build_linear_regression,
    vocabulary=REGRESSION_VOCABULARY,
    load_data=load_advertising_data,
    trusted=(LEAST_SQUARES, MSE_GRADIENT, DESCENT),
    assignment=AssignmentRow("advertising", ships=("advertising.py",), scores={
        LEAST_SQUARES.name: {"test_least_squares": CellScope("the least-squares fit")},
        MSE_GRADIENT.name: {
            "test_r_1_grader": CellScope("markets of the Advertising data", cases=(MARKETS_CASE.key,)),
            "test_r_1_hidden": CellScope("another design (5 features)", cases=(OTHER_DESIGN_CASE.key,)),
        },
        DESCENT.name: {"test_descent": CellScope("gradient descent to the least-squares fit")},
    }),
))

__all__ = ["LinearRegressionGradient", "regression_reference_loss", "build_linear_regression",
           "load_advertising_data"]
