"""Digits lab: NumPy backpropagation and PyTorch autograd train the chapter's two classifiers alike."""
import numpy as np
import pytest

from labs_solutions import digits_lab

ARCHITECTURES = list(digits_lab.ARCHITECTURES)
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def accuracies(digits):
    return digits_lab.compare_accuracies(digits)  # 30 epochs of SGD, lr 0.5, batches of 30


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_numpy_and_pytorch_reach_the_same_plateau(accuracies, architecture):
    by_framework = accuracies[architecture]
    for framework, curve in by_framework.items():
        assert len(curve) == digits_lab.SETTINGS["num_epochs"]
        # Plateau: the last five epochs. Measured 0.961-0.972 for both models (359 test images).
        assert curve[-5:].mean() >= 0.94, f"{architecture}, {framework}: {curve[-5:]}"
    # Same start, same batches: the two frameworks may differ by rounding only, at most 1% here.
    np.testing.assert_allclose(by_framework["numpy"][-5:], by_framework["pytorch"][-5:], rtol=0, atol=0.01)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_same_weights_and_batches_give_the_same_loss_trajectory(digits, architecture):
    trajectories = digits_lab.loss_trajectories(digits, architecture, num_steps=48)  # one epoch
    np.testing.assert_allclose(trajectories["numpy"], trajectories["pytorch"], rtol=1e-9, atol=1e-12)
    assert trajectories["numpy"][-1] < 0.6 * trajectories["numpy"][0]  # and they did learn


def test_multinomial_logistic_regression_is_the_mlp_without_hidden_layer(digits):
    model = digits_lab.build_model("multinomial logistic regression", "numpy", digits, learning_rate=0.1)
    assert [weight.shape for weight, _ in model.parameters] == [(10, 64)]
    network = digits_lab.build_model("sigmoid network", "pytorch", digits, learning_rate=0.1)
    assert [tuple(weight.shape) for weight, _ in network.parameters] == [(32, 64), (10, 32)]
    assert network.activation_functions == ["sigmoid", "softmax"]
