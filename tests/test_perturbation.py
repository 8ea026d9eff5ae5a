"""Perturbation helpers behind the tangent plots."""
import numpy as np
import pytest

from backprop_labs.perturbation import get_mlp_loss_range, get_mlp_parameter_handlers
from labs_solutions import NumpyMLP


@pytest.fixture
def model_and_batch():
    rng = np.random.default_rng(0)
    model = NumpyMLP([5, 4, 3], ["sigmoid", "softmax"], 0.1, seed=0)
    return model, {"input": rng.normal(size=(6, 5)), "output": rng.integers(3, size=6)}


@pytest.mark.parametrize("layer_index, is_bias, row, column", [(0, False, 2, 4), (1, True, 1, 0)])
def test_handlers_address_the_same_entry_in_parameters_and_gradients(model_and_batch, layer_index,
                                                                    is_bias, row, column):
    model, batch = model_and_batch
    get_parameter, set_parameter = get_mlp_parameter_handlers(layer_index, is_bias, row, column)
    target = model.parameters[layer_index][int(is_bias)]
    position = (0, row) if is_bias else (row, column)
    set_parameter(model.parameters, 0.125)
    assert target[position] == 0.125 and get_parameter(model.parameters) == 0.125
    gradients = model.backpropagation(batch["input"], batch["output"])
    assert get_parameter(gradients) == gradients[layer_index][int(is_bias)][position]


def test_loss_range_is_centred_scaled_and_restores_the_model(model_and_batch):
    model, batch = model_and_batch
    get_parameter, set_parameter = get_mlp_parameter_handlers(0, False, 1, 2)
    set_parameter(model.parameters, 3.0)
    snapshot = [[p.copy() for p in pair] for pair in model.parameters]
    weights, losses = get_mlp_loss_range(model, get_parameter, set_parameter, batch, num_points=21)
    assert weights[10] == 3.0 and losses.shape == (21,)
    assert weights[0] == pytest.approx(1.5) and weights[-1] == pytest.approx(4.5)  # span 0.5 * |w|
    assert losses[10] == pytest.approx(model.cross_entropy_loss(batch["input"], batch["output"]), rel=1e-12)
    for pair, saved in zip(model.parameters, snapshot):
        for parameter, copy in zip(pair, saved):
            np.testing.assert_array_equal(parameter, copy)


def test_loss_range_slope_matches_the_gradient(model_and_batch):
    model, batch = model_and_batch
    get_parameter, set_parameter = get_mlp_parameter_handlers(1, False, 0, 3)
    weights, losses = get_mlp_loss_range(model, get_parameter, set_parameter, batch,
                                         relative_span=0.0, minimum_span=1e-4, num_points=3)
    slope = (losses[2] - losses[0]) / (weights[2] - weights[0])
    gradient = get_parameter(model.backpropagation(batch["input"], batch["output"]))
    assert slope == pytest.approx(gradient, rel=1e-6, abs=1e-9)


def test_parameters_are_restored_when_the_loss_raises(model_and_batch):
    model, batch = model_and_batch
    get_parameter, set_parameter = get_mlp_parameter_handlers(0, True, 0)
    before = get_parameter(model.parameters)
    with pytest.raises(IndexError):
        get_mlp_loss_range(model, get_parameter, set_parameter, {"input": batch["input"], "output": np.array([99] * 6)})
    assert get_parameter(model.parameters) == before
