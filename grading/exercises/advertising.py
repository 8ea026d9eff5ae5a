"""Gradient exercise of the Advertising lab (exercise R.1): ``mean_squared_error_gradient``.

The student writes a function, not a model, so :class:`LinearRegressionGradient` presents it
to the grader as one: ``parameters == {'coefficients': (1 + F,)}`` (intercept first) and
``backpropagation(input (B, F), output (B,))`` returns ``{'coefficients': (1 + F,)}``. The
reference is autograd on ``mean(([1, x] @ c - y) ** 2)``. Listed in ``grading/exercise_index.py``.
"""
import importlib

import numpy as np
import torch

from grading.diagnosis.vocabulary import REGRESSION
from .registry import GradientExercise, ParameterSpec, register_exercise


class LinearRegressionGradient:
    """A lab module's ``mean_squared_error_gradient`` behind the grader's model interface.

    ``lab`` is the module (``labs.advertising`` or ``labs_solutions.advertising``); its given
    ``design_matrix`` and ``mean_squared_error`` build the design and the loss. The coefficients
    start from a seeded normal draw so that no gradient entry is zero by accident.
    """

    def __init__(self, lab, num_features, seed=0):
        self.lab = lab
        self.parameters = {"coefficients": np.random.default_rng(seed).normal(size=num_features + 1)}

    def loss(self, input, output):
        return self.lab.mean_squared_error(self.lab.design_matrix(input), self.parameters["coefficients"],
                                           np.asarray(output, dtype=np.float64))

    def backpropagation(self, input, output):
        gradient = self.lab.mean_squared_error_gradient(
            self.lab.design_matrix(input), self.parameters["coefficients"], np.asarray(output, dtype=np.float64))
        return {"coefficients": gradient}


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


register_exercise(GradientExercise(
    name="advertising_mse",
    title="Exercise R.1: mean_squared_error_gradient (Advertising lab)",
    recognizes=lambda model: isinstance(model, LinearRegressionGradient),
    reference_loss=regression_reference_loss,
    model_loss=lambda model, batch: model.loss(batch["input"], batch["output"]),
    parameter_specs=lambda model: [ParameterSpec(("coefficients",), None, "coefficients",
                                                 tuple(np.shape(model.parameters["coefficients"])))],
    output_bias=None,  # not a softmax
    build_model=build_linear_regression,
    vocabulary=REGRESSION,
    load_data=load_advertising_data,
))

__all__ = ["LinearRegressionGradient", "regression_reference_loss", "build_linear_regression",
           "load_advertising_data"]
