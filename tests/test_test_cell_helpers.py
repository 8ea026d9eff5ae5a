"""What the notebooks' test cells say when a check fails: what was expected and what was found,
with no traceback into the helpers; and the non-zero biases the visible tests use."""
import numpy as np
import pytest
import torch

from grading.course.test_cell_helpers import (CheckFailed, assert_at_least, assert_close, assert_equal,
                                              assert_log_probabilities_match, with_random_biases)
from labs_solutions import NumpyMLP, PytorchMLP


def test_a_mismatch_names_the_worst_entry_with_both_values():
    with pytest.raises(CheckFailed, match=r"the gradient: 1 of 3 entries differ; worst at index \(2,\): "
                                          r"expected 3\.5, found 3 \(tolerance rtol=1e-06, atol=0\)"):
        assert_close([1.0, 2.0, 3.0], [1.0, 2.0, 3.5], "the gradient", rtol=1e-6)
    with pytest.raises(CheckFailed, match=r"expected shape \(2, 3\), found shape \(3, 2\)"):
        assert_close(np.zeros((3, 2)), np.zeros((2, 3)), "dW", rtol=1e-6)
    assert_close([1.0, 2.0], [1.0, 2.0 + 1e-9], "close enough", rtol=1e-6)


def test_counts_and_bounds_say_expected_and_found():
    with pytest.raises(CheckFailed, match="forward-mode operations: expected 120, found 96"):
        assert_equal(96, 120, "forward-mode operations")
    with pytest.raises(CheckFailed, match="accuracy: expected at least 0.94, found 0.9"):
        assert_at_least(0.9, 0.94, "accuracy")


def test_ipython_shows_the_message_alone():
    lines = CheckFailed("dW: expected 1, found 2\nDiagnosis here")._render_traceback_()
    assert lines[0].endswith("dW: expected 1, found 2") and lines[1:] == ["Diagnosis here"]


def test_random_biases_are_non_zero_and_the_same_for_numpy_and_torch_twins():
    numpy_model = with_random_biases(NumpyMLP([5, 4, 3], ["tanh", "softmax"], 0.1, seed=2), seed=7)
    torch_model = with_random_biases(PytorchMLP([5, 4, 3], ["tanh", "softmax"], 0.1, seed=2, dtype=torch.float64),
                                     seed=7)
    for (_, numpy_bias), (_, torch_bias) in zip(numpy_model.parameters, torch_model.parameters):
        assert np.all(numpy_bias != 0) and torch_bias.requires_grad
        np.testing.assert_array_equal(numpy_bias, torch_bias.detach().numpy())


def test_a_forward_pass_without_bias_matches_the_numpy_twin_only_while_biases_are_zero():
    class ForgetsTheBias(PytorchMLP):
        def _log_forward(self, input):
            activation = torch.as_tensor(np.asarray(input), dtype=self.dtype)
            for n, (weight, _) in enumerate(self.parameters):
                z = activation @ weight.T
                activation = torch.log_softmax(z, dim=1) if n == len(self.parameters) - 1 else torch.tanh(z)
            return activation

    features = np.random.default_rng(0).normal(size=(6, 5))
    models = [ForgetsTheBias([5, 4, 3], ["tanh", "softmax"], 0.1, dtype=torch.float64),
              NumpyMLP([5, 4, 3], ["tanh", "softmax"], 0.1)]
    assert_log_probabilities_match(*models, features)  # zero biases: the mistake is invisible here
    with pytest.raises(CheckFailed, match=r"the log-probabilities: \d+ of 18 entries differ; worst at index"):
        assert_log_probabilities_match(*[with_random_biases(model, seed=1) for model in models], features)


def test_a_test_of_one_layer_prints_the_verdict_it_scores(capsys):
    """Test 2.2b judges the output layer alone: a wrong hidden layer must not print FAILED beside 1/1."""
    from grading.course.test_cell_helpers import assert_gradients_match

    class WrongHiddenLayer(NumpyMLP):
        def backpropagation(self, input, output):
            gradients = super().backpropagation(input, output)
            return [[2.0 * weight, bias] if n == 0 else [weight, bias] for n, (weight, bias) in enumerate(gradients)]

    rng = np.random.default_rng(0)
    batch = {"input": rng.normal(size=(7, 5)), "output": rng.integers(0, 3, size=7)}
    model = with_random_biases(WrongHiddenLayer([5, 4, 3], ["sigmoid", "softmax"], 0.1, seed=1), seed=1)
    assert_gradients_match(model, batch, layers=[1])   # passes: the output layer is right
    headline = capsys.readouterr().out.splitlines()[0]
    assert headline.endswith("PASSED for layer(s) 1, the only ones this test judges"), headline
    with pytest.raises(CheckFailed, match="layer 0 weight differ"):
        assert_gradients_match(model, batch)          # every layer decides: the hidden one is wrong
    assert capsys.readouterr().out.splitlines()[0].endswith(": FAILED")
