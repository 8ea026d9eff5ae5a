"""Each exercise's diagnosis speaks its own terms: MLP phrases only for the MLP exercises."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import grading
import labs_solutions
from mutations.real_autodiff import autodiff_report, overwriting, plant

MLP_PHRASES = ("softmax input", "error @ W", "error.T", "keepdims", "db ", "dW")


def assert_no_mlp_phrases(report):
    for sentence in report.diagnosis:
        assert not any(phrase in sentence for phrase in MLP_PHRASES), sentence


def test_autodiff_backward_pass_is_diagnosed_in_its_terms(monkeypatch):
    plant(monkeypatch, "backward_pass", overwriting)
    report = autodiff_report()
    assert not report.passed and report.exercise == "autodiff_mlp"
    assert_no_mlp_phrases(report)
    # the probe localises it: backward_pass, on a node used twice, by name (not the VJPs)
    assert report.causes == ["backward_pass"] and "used twice" in report.diagnosis[0], report.diagnosis


def test_progressive_network_sign_is_diagnosed_in_its_terms():
    from labs_solutions.forward_reverse.progressive import ProgressiveNetwork

    class Negated(ProgressiveNetwork):
        def backpropagation(self, input, output):
            return [[-w for w in pair] for pair in super().backpropagation(input, output)]

    rng = np.random.default_rng(9)
    model = Negated([6, 5, 3], ["sigmoid", "linear"], learning_rate=0.1, seed=2)
    report = grading.check_backpropagation(model, rng.normal(size=(13, 6)), rng.integers(3, size=13),
                                           exercise="progressive_network")
    assert report.causes == ["wrong_sign"] and "seed" in report.diagnosis[0]
    assert_no_mlp_phrases(report)


def test_glm_seed_without_the_mean_is_diagnosed_in_its_terms(monkeypatch):
    from backprop_labs.datasets.glm_synthetic import synthetic_glm_data
    from labs_solutions import glm

    data = synthetic_glm_data()
    monkeypatch.setattr(glm, "natural_parameter_seed", lambda y_hat, targets: y_hat - targets)
    report = grading.check_backpropagation(glm.GLMNetwork("poisson", seed=2), data.inputs[:40],
                                           data.labels["poisson"][:40])
    assert report.causes == ["missing_batch_mean"] and "seed" in report.diagnosis[0]
    assert_no_mlp_phrases(report)


def test_advertising_gradient_without_the_factor_two_is_diagnosed_in_its_terms():
    from labs_solutions import advertising as lab
    from grading.exercises.advertising import build_linear_regression

    rng = np.random.default_rng(2)
    features, sales = rng.normal(size=(25, 3)), rng.normal(size=25)
    model = build_linear_regression(labs_solutions, SimpleNamespace(num_features=3))
    model.lab = SimpleNamespace(
        design_matrix=lab.design_matrix, mean_squared_error=lab.mean_squared_error,
        mean_squared_error_gradient=lambda design, c, y: design.T @ (design @ c - y) / len(y))
    report = grading.check_backpropagation(model, features, sales)
    assert report.causes == ["factor_two"] and "2 * r" in report.diagnosis[0]
    assert_no_mlp_phrases(report)


def test_advertising_wrong_sign_names_the_residual():
    from labs_solutions import advertising as lab
    from grading.exercises.advertising import build_linear_regression

    rng = np.random.default_rng(2)
    features, sales = rng.normal(size=(25, 3)), rng.normal(size=25)
    model = build_linear_regression(labs_solutions, SimpleNamespace(num_features=3))
    model.lab = SimpleNamespace(
        design_matrix=lab.design_matrix, mean_squared_error=lab.mean_squared_error,
        mean_squared_error_gradient=lambda design, c, y: -2 * design.T @ (design @ c - y) / len(y))
    report = grading.check_backpropagation(model, features, sales)
    assert report.causes == ["wrong_sign"] and "residual" in report.diagnosis[0]


def forward_mistakes():
    def sigmoid_before_log_softmax(self, input):
        x = torch.as_tensor(np.asarray(input), dtype=self.dtype)
        (w0, b0), (w1, b1) = self.parameters
        return torch.log_softmax(torch.sigmoid(torch.tanh(x @ w0.T + b0) @ w1.T + b1), dim=1)

    def log_softmax_over_dim_0(self, input):
        x = torch.as_tensor(np.asarray(input), dtype=self.dtype)
        (w0, b0), (w1, b1) = self.parameters
        return torch.log_softmax(torch.tanh(x @ w0.T + b0) @ w1.T + b1, dim=0)

    return {"sigmoid_before_log_softmax": sigmoid_before_log_softmax,
            "log_softmax_over_examples": log_softmax_over_dim_0}


@pytest.mark.parametrize("cause", sorted(forward_mistakes()))
def test_pytorch_forward_mistakes_are_named_in_forward_terms(cause, digits):
    from mutations.models import digits_batch

    cls = type("StudentPytorchMLP", (labs_solutions.PytorchMLP,), {"_log_forward": forward_mistakes()[cause]})
    model = cls([digits.num_features, 16, digits.num_classes], ["tanh", "softmax"], 0.1)
    batch = digits_batch(digits)
    report = grading.check_backpropagation(model, batch["input"], batch["output"])
    assert not report.passed and cause in report.causes, (report.causes, report.diagnosis)
    assert_no_mlp_phrases(report)
    assert any("log_softmax" in sentence for sentence in report.diagnosis)


def test_the_mlp_exercise_keeps_its_mlp_terms(digits):
    from mutations import wrong_sign
    from mutations.models import digits_batch, lab_model

    batch = digits_batch(digits)
    report = grading.check_backpropagation(lab_model(wrong_sign), batch["input"], batch["output"])
    assert report.causes == ["wrong_sign"] and "softmax input" in report.diagnosis[0]
