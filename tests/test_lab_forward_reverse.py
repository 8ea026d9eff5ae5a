"""Forward vs reverse mode: same gradient, operation counts equal to the formulas, the
reverse/forward ratio as d grows, and backpropagation with explicit A_i, B_i blocks."""
import numpy as np
import pytest
import torch

import labs.forward_reverse
from labs_solutions.forward_reverse import (OperationCounter, ProgressiveNetwork, chain_forward, chain_loss,
                                            forward_mode_gradient, forward_mode_operations, loss_jacobian,
                                            make_chain, multinomial_logistic_gradient, progressive_backprop,
                                            reverse_mode_gradient, reverse_mode_operations)
from labs_solutions.forward_reverse.modes import forward_mode_estimate, reverse_mode_estimate
from labs_solutions.forward_reverse.scaling import measure, plot_costs

TORCH_ACTIVATIONS = {"linear": lambda s: s, "tanh": torch.tanh}


def gradients_both_ways(d, m, num_layers, num_outputs, activation, seed=0):
    weights, x, y = make_chain(d, m, num_layers, num_outputs, seed)
    z, jacobians = chain_forward(weights, x, activation)
    counters = OperationCounter(), OperationCounter()
    forward = forward_mode_gradient(jacobians, loss_jacobian(z, y), counters[0])
    reverse = reverse_mode_gradient(jacobians, loss_jacobian(z, y), counters[1])
    return (weights, x, y), forward, reverse, counters


def torch_input_gradient(weights, x, y, activation):
    z = x_tensor = torch.tensor(x, requires_grad=True)
    for weight in weights:
        z = TORCH_ACTIVATIONS[activation](torch.tensor(weight) @ z)
    (0.5 * torch.sum((torch.tensor(y) - z) ** 2)).backward()
    return x_tensor.grad.numpy()


@pytest.mark.parametrize("activation", ["linear", "tanh"])
@pytest.mark.parametrize("d, m, num_layers, num_outputs", [(7, 5, 2, 1), (9, 4, 5, 3), (3, 8, 6, 2), (20, 6, 3, 4)])
def test_forward_and_reverse_mode_give_the_autograd_gradient(d, m, num_layers, num_outputs, activation):
    (weights, x, y), forward, reverse, _ = gradients_both_ways(d, m, num_layers, num_outputs, activation)
    assert forward.shape == reverse.shape == (d,)
    np.testing.assert_allclose(forward, reverse, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(reverse, torch_input_gradient(weights, x, y, activation), rtol=1e-10, atol=1e-13)
    # and the loss the gradient belongs to is the chain's
    assert chain_loss(weights, x, y, activation) == pytest.approx(
        0.5 * np.sum((y - chain_forward(weights, x, activation)[0]) ** 2), rel=1e-14)


@pytest.mark.parametrize("d, m, num_layers, num_outputs",
                         [(1, 1, 2, 1), (7, 5, 2, 1), (9, 4, 5, 3), (3, 8, 6, 2), (50, 10, 10, 1), (2, 30, 3, 5)])
def test_counted_operations_equal_the_formulas(d, m, num_layers, num_outputs):
    *_, (forward, reverse) = gradients_both_ways(d, m, num_layers, num_outputs, "linear")
    assert forward.operations == forward_mode_operations(d, m, num_layers, num_outputs)
    assert reverse.operations == reverse_mode_operations(d, m, num_layers, num_outputs)


def test_formulas_match_a_hand_count():
    # d=3, m=2, L=3, K=1. Forward: J2 (2x2) @ F1 (2x3): 6 entries * 3 ops; J3 (1x2) @ F2: 3 * 3;
    # row (1x1) @ F3 (1x3): 3 * 1. Reverse: (1x1)@(1x2): 2*1; (1x2)@(2x2): 2*3; (1x2)@(2x3): 3*3.
    assert forward_mode_operations(3, 2, 3, 1) == 18 + 9 + 3
    assert reverse_mode_operations(3, 2, 3, 1) == 2 + 6 + 9


def test_reverse_mode_wins_more_as_d_grows():
    m, num_layers = 16, 6
    ratios = [forward_mode_operations(d, m, num_layers) / reverse_mode_operations(d, m, num_layers)
              for d in (4, 16, 64, 256, 1024)]
    assert all(later > earlier for earlier, later in zip(ratios, ratios[1:]))
    assert ratios[0] > 1.5 and ratios[-1] > 50
    # For large d forward costs ~2Lm^2 d against reverse's ~2md: the ratio approaches
    # the exact limit (L-2) m + K (up to terms of order 1/m), here 4 * 16 + 1 = 65.
    limit = forward_mode_operations(10 ** 7, m, num_layers) / reverse_mode_operations(10 ** 7, m, num_layers)
    assert limit == pytest.approx((num_layers - 2) * m + 1, rel=0.05)


@pytest.mark.parametrize("d, m, num_layers", [(64, 32, 8), (512, 64, 16), (16, 128, 32)])
def test_leading_terms_approximate_the_counts(d, m, num_layers):
    # The text's 2Lm^2d and 2Lm^2 + 2md drop terms of relative order 2/L and 1/m.
    for counted, estimate in ((forward_mode_operations(d, m, num_layers), forward_mode_estimate(d, m, num_layers)),
                              (reverse_mode_operations(d, m, num_layers), reverse_mode_estimate(d, m, num_layers))):
        assert 1 - 2.5 / num_layers < counted / estimate <= 1


def test_formulas_refuse_a_single_layer():
    with pytest.raises(ValueError, match="L >= 2"):
        forward_mode_operations(3, 2, 1)


def test_operation_counter_counts_a_product_and_checks_shapes():
    counter = OperationCounter()
    np.testing.assert_array_equal(counter.matmul(np.ones((2, 3)), np.ones((3, 4))), np.full((2, 4), 3.0))
    assert counter.operations == 2 * 4 * (2 * 3 - 1)
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(2, 4\)"):
        counter.matmul(np.ones((2, 3)), np.ones((2, 4)))


def test_measure_and_plot(tmp_path):
    row = measure(d=32, m=8, num_layers=4, num_outputs=2, repeats=1, number=1)
    assert row["forward_operations"] == forward_mode_operations(32, 8, 4, 2)
    assert row["reverse_operations"] == reverse_mode_operations(32, 8, 4, 2)
    assert row["forward_seconds"] > 0 and row["reverse_seconds"] > 0
    path = tmp_path / "costs.png"
    measurements = plot_costs(path, sweeps={"d": [4, 8], "m": [4, 8], "num_layers": [2, 3]},
                              base={"d": 8, "m": 4, "num_layers": 3}, repeats=1, number=1)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    assert [row["m"] for row in measurements["m"]] == [4, 8]
    assert {row["d"] for row in measurements["m"]} == {8}


# ---- progressive functions -----------------------------------------------------------------

@pytest.mark.parametrize("seed", range(4))
def test_progressive_backprop_of_logistic_regression_equals_the_closed_form(seed):
    rng = np.random.default_rng(seed)
    num_classes, d = 4, 6
    weight, x = rng.normal(size=(num_classes, d)), rng.normal(size=d)
    y = np.eye(num_classes)[rng.integers(num_classes)]
    loss, [gradient] = progressive_backprop(x, y, [("linear", weight)])
    assert gradient.shape == (num_classes * d,)
    np.testing.assert_allclose(gradient, multinomial_logistic_gradient(weight, x, y), rtol=1e-12, atol=1e-14)
    scores = weight @ x
    assert loss == pytest.approx(-(scores @ y) + np.log(np.sum(np.exp(scores))), rel=1e-12)


def test_closed_form_is_the_autograd_gradient():
    rng = np.random.default_rng(7)
    weight, x, y = rng.normal(size=(3, 5)), rng.normal(size=5), np.array([0.0, 1.0, 0.0])
    w = torch.tensor(weight, requires_grad=True)
    torch.nn.functional.cross_entropy((w @ torch.tensor(x))[None], torch.tensor([1])).backward()
    # rows of W laid end to end: the kron ordering (class-major, then input index)
    np.testing.assert_allclose(multinomial_logistic_gradient(weight, x, y), w.grad.numpy().reshape(-1), rtol=1e-12)


def test_progressive_backprop_of_a_sigmoid_network_matches_autograd():
    rng = np.random.default_rng(8)
    sizes, kinds = [6, 5, 4, 3], ["sigmoid", "sigmoid", "linear"]
    weights = [rng.normal(size=(n_out, n_in)) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    x, y = rng.normal(size=6), np.eye(3)[2]
    loss, gradients = progressive_backprop(x, y, list(zip(kinds, weights)))
    tensors = [torch.tensor(w, requires_grad=True) for w in weights]
    z = torch.tensor(x)
    for kind, w in zip(kinds, tensors):
        z = torch.sigmoid(w @ z) if kind == "sigmoid" else w @ z
    reference = torch.nn.functional.cross_entropy(z[None], torch.tensor([2]))
    reference.backward()
    assert loss == pytest.approx(reference.item(), rel=1e-12)
    for gradient, w in zip(gradients, tensors):
        np.testing.assert_allclose(gradient, w.grad.numpy().reshape(-1), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("geometry, kinds", [([6, 3], ["linear"]), ([6, 5, 3], ["sigmoid", "linear"])])
def test_progressive_network_passes_its_registered_grader_check(geometry, kinds):
    import grading

    rng = np.random.default_rng(9)
    model = ProgressiveNetwork(geometry, kinds, learning_rate=0.1, seed=2)
    report = grading.check_backpropagation(model, rng.normal(size=(13, 6)), rng.integers(3, size=13))
    assert report.passed, str(report)
    assert "[progressive_network]" in str(report)


def test_multinomial_logistic_regression_trains_on_digits(digits):
    from backprop_labs.training import train

    model = ProgressiveNetwork([64, 10], ["linear"], learning_rate=0.5)
    train(model, digits, 2, 30, report=None)
    test = digits.batches("test", batch_size=10_000)[0]
    assert np.mean(model.predict(test["input"]) == test["output"]) > 0.9  # plateau ~0.94


def test_network_configuration_errors_are_named():
    with pytest.raises(ValueError, match="needs 2 layer kinds"):
        ProgressiveNetwork([4, 3, 2], ["linear"], 0.1)


# ---- the student package -------------------------------------------------------------------

def test_student_version_stops_at_the_exercises():
    weights, x, y = make_chain(3, 2, 3)
    z, jacobians = chain_forward(weights, x)
    with pytest.raises(NotImplementedError, match="Exercise F.1: gradient by forward mode"):
        labs.forward_reverse.forward_mode_gradient(jacobians, loss_jacobian(z, y))
    with pytest.raises(NotImplementedError, match="Exercise F.2: gradient by reverse mode"):
        labs.forward_reverse.reverse_mode_gradient(jacobians, loss_jacobian(z, y))
    with pytest.raises(NotImplementedError, match="Exercise F.3: backward loop"):
        labs.forward_reverse.progressive_backprop(np.ones(3), np.array([1.0, 0.0]), [("linear", np.ones((2, 3)))])
    # given: the count formulas and the chain itself
    assert labs.forward_reverse.forward_mode_operations(3, 2, 3) == forward_mode_operations(3, 2, 3)
