"""The reference models of exercises 2.1-2.4 against PyTorch autograd and the lab's figures."""
import numpy as np
import pytest
import torch

from backprop_labs.training import train
from labs_solutions import NumpyLogLinear, NumpyMLP, PytorchLogLinear, PytorchMLP

TORCH_ACTIVATIONS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}


def autograd_gradients(parameters, activation_functions, input, output):
    """Gradients of the mean cross-entropy by autograd in float64, written independently of the models."""
    tensors = [[torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in pair] for pair in parameters]
    activation = torch.tensor(input, dtype=torch.float64)
    for n, (weight, bias) in enumerate(tensors):
        z = activation @ weight.T + bias
        activation = z if n == len(tensors) - 1 else TORCH_ACTIVATIONS[activation_functions[n]](z)
    loss = torch.nn.functional.cross_entropy(activation, torch.tensor(output))
    loss.backward()
    return [[p.grad.numpy() for p in pair] for pair in tensors]


def random_batch(batch_size, input_size, num_classes, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(batch_size, input_size)), rng.integers(num_classes, size=batch_size)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("geometry", [[7, 3], [7, 5, 3], [7, 6, 5, 4, 3]])
def test_numpy_mlp_backpropagation_matches_autograd(geometry, activation):
    activations = [activation] * (len(geometry) - 2) + ["softmax"]
    model = NumpyMLP(geometry, activations, learning_rate=0.1, seed=1)
    # Non-zero biases so that a bias gradient summed on the wrong axis cannot pass by luck.
    for _, bias in model.parameters:
        bias += np.random.default_rng(2).normal(size=bias.shape)
    input, output = random_batch(11, geometry[0], geometry[-1])
    gradients = model.backpropagation(input, output)
    expected = autograd_gradients(model.parameters, activations, input, output)
    assert len(gradients) == len(expected)
    for layer, (pair, expected_pair) in enumerate(zip(gradients, expected)):
        for gradient, reference, name in zip(pair, expected_pair, ("weight", "bias")):
            assert gradient.shape == reference.shape, f"layer {layer} {name}"
            np.testing.assert_allclose(gradient, reference, rtol=1e-6, atol=1e-12,
                                       err_msg=f"layer {layer} {name}")


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_numpy_mlp_in_float32_stays_float32_and_matches_autograd_at_float32_precision(activation):
    model = NumpyMLP([7, 6, 5, 3], [activation, activation, "softmax"], learning_rate=0.1, seed=1, dtype=np.float32)
    input, output = random_batch(11, 7, 3)
    input = input.astype(np.float32)
    gradients = model.backpropagation(input, output)
    expected = autograd_gradients(model.parameters, model.activation_functions, input, output)
    for pair, expected_pair in zip(gradients, expected):
        for gradient, reference in zip(pair, expected_pair):
            assert gradient.dtype == np.float32          # no silent float64 products (the point of the option)
            scale = np.max(np.abs(reference))
            np.testing.assert_allclose(gradient, reference, rtol=0, atol=1e-5 * scale)
    model.update(input, output)
    assert all(p.dtype == np.float32 for pair in model.parameters for p in pair)


def test_numpy_log_linear_gradient_matches_autograd():
    model = NumpyLogLinear(input_size=9, num_classes=4, learning_rate=0.1, seed=3)
    input, output = random_batch(13, 9, 4)
    gradients = model.backpropagation(input, output)
    expected = autograd_gradients(model.parameters, ["softmax"], input, output)
    for gradient, reference in zip(gradients[0], expected[0]):
        np.testing.assert_allclose(gradient, reference, rtol=1e-6, atol=1e-12)


def test_sgd_update_moves_parameters_by_the_gradient():
    model = NumpyMLP([6, 4, 3], ["tanh", "softmax"], learning_rate=0.3, seed=0)
    input, output = random_batch(8, 6, 3)
    before = [[p.copy() for p in pair] for pair in model.parameters]
    gradients = model.backpropagation(input, output)
    model.update(input, output)
    for old, new, gradient in zip(before, model.parameters, gradients):
        for o, n, g in zip(old, new, gradient):
            np.testing.assert_allclose(n, o - 0.3 * g, rtol=1e-12, atol=1e-15)


def test_hidden_activation_names_are_honoured():
    input, _ = random_batch(5, 4, 2)
    outputs = {
        name: NumpyMLP([4, 3, 2], [name, "softmax"], 0.1, seed=0).log_forward(input)
        for name in ("sigmoid", "tanh", "relu")
    }
    assert not np.allclose(outputs["sigmoid"], outputs["tanh"])
    assert not np.allclose(outputs["tanh"], outputs["relu"])


@pytest.mark.parametrize("geometry, activations, message", [
    ([4, 3, 2], ["sigmoid"], "2 layers"),
    ([4, 3, 2], ["sigmoid", "sigmoid"], "softmax"),
    ([4, 3, 2], ["swish", "softmax"], "swish"),
])
def test_bad_configurations_are_named(geometry, activations, message):
    with pytest.raises(ValueError, match=message):
        NumpyMLP(geometry, activations, 0.1)


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_pytorch_mlp_forward_matches_numpy_forward(activation):
    geometry, activations = [6, 5, 4, 3], [activation, activation, "softmax"]
    input, _ = random_batch(9, 6, 3)
    numpy_model = NumpyMLP(geometry, activations, 0.1, seed=4)
    torch_model = PytorchMLP(geometry, activations, 0.1, seed=4, dtype=torch.float64)
    np.testing.assert_allclose(torch_model.log_forward(input), numpy_model.log_forward(input),
                               rtol=1e-12, atol=1e-12)


def test_pytorch_update_zeroes_gradients_between_steps():
    model = PytorchLogLinear(input_size=5, num_classes=3, learning_rate=0.1, seed=0, dtype=torch.float64)
    reference = NumpyLogLinear(input_size=5, num_classes=3, learning_rate=0.1, seed=0)
    input, output = random_batch(7, 5, 3)
    for _ in range(3):  # gradients that accumulated across steps would drift from the NumPy model
        model.update(input, output)
        reference.update(input, output)
    np.testing.assert_allclose(model.weight.detach().numpy(), reference.weight, rtol=1e-10, atol=1e-12)
    assert all(float(p.grad.abs().max()) == 0.0 for p in (model.weight, model.bias))


# Accuracy is judged where the test curve has flattened, not on its rise: over seeds 0-3 the
# log-linear model is at 0.79-0.81 after 2 epochs (the lab's 81%) and 0.81-0.84 from epoch 5 on;
# the MLP at 0.77-0.80 after 10 epochs (the lab's 78%) and 0.81-0.84 from epoch 22 on.
PLATEAU_SPREAD = 0.03   # largest change over the last epochs of a flat curve (one 400-review test set)


@pytest.mark.corpus
@pytest.mark.parametrize("seed", [0, 1])
def test_log_linear_plateaus_above_80_percent_on_books(books, seed):
    accuracies = train(NumpyLogLinear(books.num_features, 2, 0.05, seed=seed), books, 7, 30, report=None)
    plateau = accuracies[4:]
    assert min(plateau) >= 0.80, accuracies
    assert max(plateau) - min(plateau) <= PLATEAU_SPREAD, accuracies


@pytest.mark.corpus
@pytest.mark.parametrize("seed", [0, 1])
def test_numpy_mlp_plateaus_above_80_percent_on_books(books, seed):
    model = NumpyMLP([books.num_features, 20, 2], ["sigmoid", "softmax"], 0.05, seed=seed)
    accuracies = train(model, books, 30, 30, report=None)
    plateau = accuracies[24:]
    assert min(plateau) >= 0.80, accuracies
    assert max(plateau) - min(plateau) <= PLATEAU_SPREAD, accuracies


@pytest.mark.corpus
def test_numpy_and_pytorch_mlps_follow_the_same_loss_trajectory(books):
    geometry, activations = [books.num_features, 20, 2], ["sigmoid", "softmax"]
    numpy_model = NumpyMLP(geometry, activations, 0.05, seed=5)
    torch_model = PytorchMLP(geometry, activations, 0.05, seed=5)
    numpy_losses, torch_losses = [], []
    for batch in books.batches("train", batch_size=30):
        numpy_losses.append(numpy_model.cross_entropy_loss(batch["input"], batch["output"]))
        torch_losses.append(torch_model.update(batch["input"], batch["output"]))
        numpy_model.update(batch["input"], batch["output"])
    assert len(numpy_losses) == 54
    np.testing.assert_allclose(torch_losses, numpy_losses, rtol=0, atol=1e-4)
    assert numpy_losses[-1] < numpy_losses[0]  # it did train
