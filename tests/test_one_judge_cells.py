"""The answer cells judged one way: the notebook's test helper and the trusted check call the same
function and name the same mistake (2.1's input gradient, 2.2a's tangent plot)."""
import numpy as np
import pytest

from backprop_labs.perturbation import get_mlp_loss_range, get_mlp_parameter_handlers
from grading.course.test_cell_helpers import (CheckFailed, assert_input_gradient_matches, assert_loss_and_tangent_match,
                                              with_random_biases)
from grading.trusted.case_diagnosis import diagnose_input_gradient
from grading.trusted.check_spec import compare_input_gradient, loss_and_tangent_judgement, trusted_checks
from grading.trusted.cases import TangentCase
from labs_solutions.log_linear import NumpyLogLinear
from labs_solutions.numpy_mlp import NumpyMLP


def _tangent(model, batch, gradients, layer_index, is_bias, row, column=0, mistake=None):
    """The tangent-plot answer, right or with one of the mistakes learners make."""
    get_parameter, set_parameter = get_mlp_parameter_handlers(layer_index, is_bias, row, column)
    w0, slope = get_parameter(model.parameters), get_parameter(gradients)
    loss0 = model.cross_entropy_loss(batch["input"], batch["output"])
    weights, losses = get_mlp_loss_range(model, get_parameter, set_parameter, batch)
    tangent = {None: slope * (weights - w0) + loss0, "no_loss0": slope * (weights - w0),
               "from_zero": slope * weights + loss0, "sign": loss0 - slope * (weights - w0)}[mistake]
    return weights, losses, tangent


@pytest.mark.parametrize("mistake, cause", [("no_loss0", "tangent_without_loss"), ("from_zero", "tangent_from_zero"),
                                            ("sign", "wrong_sign")])
def test_a_tangent_mistake_has_one_name_in_the_notebook_and_the_official_grade(mistake, cause):
    rng = np.random.default_rng(0)
    batch = {"input": rng.normal(size=(6, 5)), "output": np.arange(6) % 3}
    model = with_random_biases(NumpyMLP([5, 4, 3], ["sigmoid", "softmax"], 0.1, seed=1), seed=1)
    answer = lambda *args: _tangent(*args, mistake=mistake)  # noqa: E731
    with pytest.raises(CheckFailed) as failed:
        assert_loss_and_tangent_match(answer, model, batch, 1, False, 2, 1)
    case = TangentCase("t", (5, 4, 3), ("sigmoid", "softmax"), 6, 3, 1, False, 2, 1)
    reference = NumpyMLP([5, 4, 3], ["sigmoid", "softmax"], 0.0, seed=0)
    reference.parameters = case.parameters()
    found = _tangent(reference, case.batch(), case.gradients(), 1, False, 2, 1, mistake=mistake)
    failure, causes = loss_and_tangent_judgement("numpy_mlp", case, dict(zip(("weight_range", "loss_range", "tangent"),
                                                                            found)))
    assert failure is not None and [c for c, _ in causes] == [cause]
    assert causes[0][1] in str(failed.value)
    assert_loss_and_tangent_match(_tangent, model, batch, 1, False, 2, 1)   # the right answer passes


def test_an_input_gradient_without_the_mean_has_one_name_in_the_notebook_and_the_official_grade():
    rng = np.random.default_rng(1)
    model = NumpyLogLinear(input_size=7, num_classes=3, learning_rate=0.1)
    model.parameters[0][0][...] = rng.normal(size=(3, 7))
    batch = {"input": rng.normal(size=(6, 7)), "output": np.arange(6) % 3}
    probabilities = np.exp(model.log_forward(batch["input"]))
    onehot = np.eye(3)[batch["output"]]
    right = (probabilities - onehot) / 6 @ model.parameters[0][0]
    assert_input_gradient_matches(right, model, batch)
    with pytest.raises(CheckFailed) as failed:
        assert_input_gradient_matches(6 * right, model, batch)
    case = trusted_checks()["log_linear_input_gradient"].cases[0]
    p, y, w = case.inputs()
    wrong = len(y) * ((p - np.eye(case.num_classes)[y]) / len(y) @ w)
    assert compare_input_gradient(case, {"value": wrong}) is not None
    [(cause, sentence)] = diagnose_input_gradient(case, wrong)
    assert cause == "missing_batch_mean" and sentence.split(":")[0] in str(failed.value)


def test_log_probabilities_that_are_probabilities_are_named_so_in_the_notebook_and_the_official_grade():
    import torch

    from grading.course.test_cell_helpers import assert_log_probabilities_match
    from grading.trusted.case_diagnosis import diagnose_forward
    from labs_solutions.pytorch_mlp import PytorchMLP

    class ReturnsProbabilities(PytorchMLP):
        def _log_forward(self, input):
            return torch.exp(super()._log_forward(input))

    model = ReturnsProbabilities([5, 4, 3], ["sigmoid", "softmax"], 0.1, seed=2, dtype=torch.float64)
    twin = NumpyMLP([5, 4, 3], ["sigmoid", "softmax"], 0.1, seed=2)
    input = np.random.default_rng(3).normal(size=(6, 5))
    with pytest.raises(CheckFailed) as failed:
        assert_log_probabilities_match(model, twin, input)
    case = trusted_checks()["pytorch_mlp_log_forward"].cases[1]
    probabilities = np.exp(twin.log_forward(case.batch()["input"]))
    [(cause, sentence)] = diagnose_forward("pytorch_mlp_forward", case, {"log_probabilities": probabilities})
    assert cause == "probabilities_not_log" and sentence in str(failed.value)
