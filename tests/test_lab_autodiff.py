"""Mini-autodiff lab: every VJP against torch autograd and finite differences, the backward
pass on shared subexpressions, grad's contract, and the training examples built on it."""
import numpy as np
import pytest
import torch

import labs.autodiff
from labs_solutions.autodiff import (VJPS, Node, anp, backward_pass, defvjp, grad, primitive, toposort,
                                     unbroadcast, value_and_grad)
from labs_solutions.autodiff.logistic_example import (make_toy_problem, negative_log_likelihood,
                                                      train_logistic_regression, training_accuracy)
from labs_solutions.autodiff.mlp import AutodiffMLP

RTOL, ATOL = 1e-10, 1e-12          # mini-autodiff vs torch, both float64
FD_RTOL, FD_ATOL = 1e-6, 1e-8      # vs central differences with step 1e-6

POSITIVE = "positive"  # inputs drawn in [0.5, 2]: log, divisor, base of a traced exponent


def inputs_for(shapes, domains, seed):
    rng = np.random.default_rng(seed)
    return [rng.uniform(0.5, 2.0, size=shape) if domain == POSITIVE else rng.normal(size=shape)
            for shape, domain in zip(shapes, domains)]


# (id, mini-autodiff function, torch function, argument shapes, argument domains)
CASES = [
    ("negative", anp.negative, torch.neg, [(3, 4)], [None]),
    ("add broadcast row", anp.add, torch.add, [(3, 4), (4,)], [None, None]),
    ("add outer", anp.add, torch.add, [(3, 1), (1, 4)], [None, None]),
    ("add scalar", anp.add, torch.add, [(), (2, 3)], [None, None]),
    ("subtract 3-D", anp.subtract, torch.sub, [(2, 3, 4), (3, 1)], [None, None]),
    ("multiply broadcast", anp.multiply, torch.mul, [(3, 4), (4,)], [None, None]),
    ("multiply outer", anp.multiply, torch.mul, [(5, 1), (1, 3)], [None, None]),
    ("divide", anp.divide, torch.div, [(3, 4), (3, 1)], [None, POSITIVE]),
    ("divide scalar numerator", anp.divide, torch.div, [(), (2, 3)], [None, POSITIVE]),
    ("power both traced", anp.power, torch.pow, [(3, 4), (4,)], [POSITIVE, None]),
    ("exp", anp.exp, torch.exp, [(3, 4)], [None]),
    ("log", anp.log, torch.log, [(3, 4)], [POSITIVE]),
    ("tanh", anp.tanh, torch.tanh, [(2, 3, 2)], [None]),
    ("sum all", anp.sum, torch.sum, [(3, 4)], [None]),
    ("matmul matrices", anp.matmul, torch.matmul, [(3, 4), (4, 5)], [None, None]),
    ("matmul vector-matrix", anp.matmul, torch.matmul, [(4,), (4, 5)], [None, None]),
    ("matmul matrix-vector", anp.matmul, torch.matmul, [(3, 4), (4,)], [None, None]),
    ("matmul vector-vector", anp.matmul, torch.matmul, [(4,), (4,)], [None, None]),
    ("matmul batched", anp.matmul, torch.matmul, [(2, 3, 4), (4, 5)], [None, None]),
    ("matmul broadcast batches", anp.matmul, torch.matmul, [(2, 1, 3, 4), (5, 4, 2)], [None, None]),
    ("dot matrices", anp.dot, torch.matmul, [(3, 4), (4, 2)], [None, None]),
    ("dot vector-matrix", anp.dot, torch.matmul, [(4,), (4, 2)], [None, None]),
    ("transpose", anp.transpose, lambda x: x.permute(2, 1, 0), [(2, 3, 4)], [None]),
]

# (id, mini-autodiff function, torch function, shape): reductions with keyword arguments
REDUCTIONS = [
    ("sum axis 0", lambda x: anp.sum(x, axis=0), lambda x: torch.sum(x, dim=0), (3, 4)),
    ("sum axis -1 keepdims", lambda x: anp.sum(x, axis=-1, keepdims=True),
     lambda x: torch.sum(x, dim=-1, keepdim=True), (3, 4)),
    ("sum axes (0, 2)", lambda x: anp.sum(x, axis=(0, 2)), lambda x: torch.sum(x, dim=(0, 2)), (2, 3, 4)),
    ("mean axis 1", lambda x: anp.mean(x, axis=1), lambda x: torch.mean(x, dim=1), (3, 5)),
    ("transpose axes", lambda x: anp.transpose(x, (1, 2, 0)), lambda x: x.permute(1, 2, 0), (2, 3, 4)),
    ("power constant exponent", lambda x: x ** 3, lambda x: x ** 3, (2, 3)),
    ("reflected power", lambda x: 2.0 ** x, lambda x: 2.0 ** x, (2, 3)),
    ("reflected subtract", lambda x: 1.0 - x, lambda x: 1.0 - x, (2, 3)),
    ("reflected divide", lambda x: 1.0 / (x + 3.0), lambda x: 1.0 / (x + 3.0), (2, 3)),
]


def vjps_by_backward_pass(function, arrays, upstream):
    """``upstream . d function / d arrays`` by tracing ``function`` and one backward pass seeded with ``upstream``."""
    leaves = [Node(array) for array in arrays]
    gradients = backward_pass(upstream, function(*leaves))
    return [gradients[leaf] for leaf in leaves]


def vjps_by_torch(function, arrays, upstream):
    leaves = [torch.tensor(array, requires_grad=True) for array in arrays]
    output = function(*leaves)
    return [g.numpy() for g in torch.autograd.grad(output, leaves, torch.as_tensor(upstream))]


def vjps_by_central_differences(function, arrays, upstream, step=1e-6):
    """Gradient of ``sum(upstream * function(arrays))`` entry by entry."""
    def scalar(values):
        return float(np.sum(upstream * function(*values)))
    gradients = []
    for position, array in enumerate(arrays):
        gradient = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            shifted = [a.copy() for a in arrays]
            shifted[position][index] += step
            plus = scalar(shifted)
            shifted[position][index] -= 2 * step
            gradient[index] = (plus - scalar(shifted)) / (2 * step)
        gradients.append(gradient)
    return gradients


ALL_CASES = ([pytest.param(ours, theirs, shapes, domains, id=name) for name, ours, theirs, shapes, domains in CASES]
             + [pytest.param(ours, theirs, [shape], [None], id=name) for name, ours, theirs, shape in REDUCTIONS])


@pytest.mark.parametrize("ours, theirs, shapes, domains", ALL_CASES)
def test_vjp_matches_torch_autograd(ours, theirs, shapes, domains):
    arrays = inputs_for(shapes, domains, seed=0)
    upstream = np.random.default_rng(1).normal(size=np.shape(ours(*arrays)))
    for got, expected, array in zip(vjps_by_backward_pass(ours, arrays, upstream),
                                    vjps_by_torch(theirs, arrays, upstream), arrays):
        assert np.shape(got) == array.shape
        np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("ours, theirs, shapes, domains", ALL_CASES)
def test_vjp_matches_central_differences(ours, theirs, shapes, domains):
    arrays = inputs_for(shapes, domains, seed=2)
    upstream = np.random.default_rng(3).normal(size=np.shape(ours(*arrays)))
    for got, expected in zip(vjps_by_backward_pass(ours, arrays, upstream),
                             vjps_by_central_differences(ours, arrays, upstream)):
        np.testing.assert_allclose(got, expected, rtol=FD_RTOL, atol=FD_ATOL)


def test_every_primitive_of_the_lab_has_a_rule_for_each_argument():
    required = ["negative", "add", "subtract", "multiply", "divide", "power", "exp", "log", "tanh",
                "sum", "dot", "matmul"]
    registered = {fun.__name__: rules for fun, rules in VJPS.items()}
    assert set(required) <= set(registered)
    binary = {"add", "subtract", "multiply", "divide", "power", "dot", "matmul"}
    for name in required:
        assert len(registered[name]) == (2 if name in binary else 1), name


# ---- the backward pass ---------------------------------------------------------------

def test_a_node_used_twice_accumulates_both_messages():
    x = np.array([0.3, -1.2, 2.0])
    np.testing.assert_allclose(grad(lambda x: anp.sum(x * x + x))(x), 2 * x + 1, rtol=RTOL)
    # y = exp(x) feeds both arguments of one multiply and a later add: three messages to y.
    np.testing.assert_allclose(grad(lambda x: anp.sum((lambda y: y * y + y)(anp.exp(x))))(x),
                               2 * np.exp(2 * x) + np.exp(x), rtol=RTOL)


def test_shared_subexpressions_match_torch():
    rng = np.random.default_rng(4)
    w, v = rng.normal(size=(4, 3)), rng.normal(size=3)

    def ours(w, v):
        h = anp.tanh(w @ v)                 # used three times below
        return anp.sum(h * h) + anp.sum(anp.exp(h) / (1.0 + h * h)) - anp.sum(h)

    def theirs(w, v):
        h = torch.tanh(w @ v)
        return torch.sum(h * h) + torch.sum(torch.exp(h) / (1.0 + h * h)) - torch.sum(h)

    expected = vjps_by_torch(theirs, [w, v], np.array(1.0))
    for got, reference in zip(grad(ours, (0, 1))(w, v), expected):
        np.testing.assert_allclose(got, reference, rtol=RTOL, atol=ATOL)


def test_toposort_lists_each_node_once_before_its_parents():
    x = Node(np.array(1.5))
    y = anp.exp(x)
    end = y * y + anp.tanh(y) * x
    order = toposort(end)
    assert order[0] is end and order[-1] is x
    assert len(order) == len({id(node) for node in order})
    position = {id(node): i for i, node in enumerate(order)}
    assert all(position[id(parent)] > position[id(node)] for node in order for parent in node.parents)


def test_a_long_chain_does_not_hit_the_recursion_limit():
    def deep(x):
        for _ in range(3000):
            x = x * 1.0001
        return x
    np.testing.assert_allclose(grad(deep)(2.0), 1.0001 ** 3000, rtol=1e-10)


# ---- grad's contract ----------------------------------------------------------------

def test_grad_with_several_argnums_and_integer_inputs():
    da, dc = grad(lambda a, b, c: a * b + anp.sum(c ** 2), argnum=(0, 2))(2, 5, np.arange(3))
    assert da == 5.0
    np.testing.assert_array_equal(dc, [0.0, 2.0, 4.0])
    assert dc.dtype == np.float64


def test_input_the_function_ignores_gets_zero_gradient():
    value, (dx, dy) = value_and_grad(lambda x, y: anp.sum(x ** 2), argnum=(0, 1))(np.ones(2), np.ones((2, 2)))
    assert value == 2.0
    np.testing.assert_array_equal(dx, [2.0, 2.0])
    np.testing.assert_array_equal(dy, np.zeros((2, 2)))
    np.testing.assert_array_equal(grad(lambda x: 3.0)(np.ones(3)), np.zeros(3))


def test_returned_gradient_is_a_writable_copy():
    gradient = grad(lambda x: anp.sum(x))(np.ones((2, 3)))
    gradient *= 2.0  # would raise on a read-only broadcast view
    np.testing.assert_array_equal(gradient, np.full((2, 3), 2.0))


def test_non_scalar_output_is_refused_with_its_shape():
    with pytest.raises(ValueError, match=r"scalar-valued.*\(3,\)"):
        grad(lambda x: x * 2.0)(np.ones(3))


def test_wrong_shaped_rule_is_named_in_the_error(monkeypatch):
    sine = primitive(np.sin)
    monkeypatch.setitem(VJPS, sine, (lambda g, ans, x: np.ones(5),))
    with pytest.raises(ValueError, match=r"VJP of sin for argument 0.*shape \(5,\).*shape \(3,\)"):
        grad(lambda x: anp.sum(sine(x)))(np.ones(3))


def test_primitive_without_a_rule_is_reported():
    cosine = primitive(np.cos)
    with pytest.raises(NotImplementedError, match="no VJP registered for primitive 'cos'"):
        grad(lambda x: anp.sum(cosine(x)))(np.ones(3))


def test_defvjp_makes_a_new_primitive_differentiable(monkeypatch):
    sine = primitive(np.sin)
    monkeypatch.setitem(VJPS, sine, ())
    defvjp(sine, lambda g, ans, x: g * np.cos(x))
    x = np.array([0.1, 0.7])
    np.testing.assert_allclose(grad(lambda x: anp.sum(sine(x) * x))(x), np.cos(x) * x + np.sin(x), rtol=RTOL)


@pytest.mark.parametrize("gradient_shape, shape, expected", [
    ((3, 4), (4,), lambda g: g.sum(axis=0)),
    ((3, 4), (3, 1), lambda g: g.sum(axis=1, keepdims=True)),
    ((2, 3, 4), (1, 4), lambda g: g.sum(axis=(0, 1))[np.newaxis, :]),
    ((3, 4), (), lambda g: g.sum()),
])
def test_unbroadcast_sums_over_broadcast_axes(gradient_shape, shape, expected):
    g = np.random.default_rng(5).normal(size=gradient_shape)
    result = unbroadcast(g, shape)
    assert result.shape == shape
    np.testing.assert_allclose(result, expected(g), rtol=1e-12)


def test_unbroadcast_refuses_an_incompatible_shape():
    with pytest.raises(ValueError, match=r"shape \(3, 4\) cannot belong to an argument of shape \(2,\)"):
        unbroadcast(np.ones((3, 4)), (2,), "VJP of f")


def test_dot_of_stacked_matrices_points_to_matmul():
    with pytest.raises(NotImplementedError, match="use multiply or matmul"):
        grad(lambda x: anp.sum(anp.dot(x, np.ones((3, 2)))))(np.ones((2, 2, 3)))


def test_transpose_attribute_is_traced():
    w = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(grad(lambda w: anp.sum(w.T @ np.ones(2)))(w), np.ones((2, 3)), rtol=RTOL)


def test_traced_arguments_must_be_positional():
    with pytest.raises(TypeError, match="positional"):
        grad(lambda x: anp.sum(np.ones(2), axis=x))(0.0)


# ---- the lecture's logistic regression and an MLP on the mini-autodiff ---------------------

def test_logistic_regression_gradient_matches_torch():
    inputs, targets = make_toy_problem(num_examples=30, seed=1)
    weights = np.random.default_rng(6).normal(size=inputs.shape[1])
    w = torch.tensor(weights, requires_grad=True)
    scores = torch.tensor(inputs) @ w
    torch.nn.functional.binary_cross_entropy_with_logits(
        scores, torch.tensor(targets, dtype=torch.float64), reduction="sum").backward()
    np.testing.assert_allclose(grad(negative_log_likelihood)(weights, inputs, targets), w.grad.numpy(),
                               rtol=RTOL, atol=ATOL)


def test_logistic_regression_training_reaches_the_maximum_likelihood_plateau():
    from sklearn.linear_model import LogisticRegression

    inputs, targets = make_toy_problem()
    weights, losses = train_logistic_regression(inputs, targets, steps=100, learning_rate=0.01)
    assert losses[-1] < 0.5 * losses[0]
    assert all(later <= earlier + 1e-9 for earlier, later in zip(losses, losses[1:]))  # descent
    assert abs(losses[-1] - losses[-11]) < 0.01 * losses[-1]                            # plateau
    best = LogisticRegression(fit_intercept=False, C=1e6).fit(inputs, targets)
    best_loss = negative_log_likelihood(best.coef_[0], inputs, targets)
    assert losses[-1] < best_loss * 1.01
    assert training_accuracy(weights, inputs, targets) >= best.score(inputs, targets) - 0.02


@pytest.mark.parametrize("activations", [["tanh", "softmax"], ["sigmoid", "tanh", "softmax"]])
def test_autodiff_mlp_equals_hand_written_backpropagation(activations):
    from labs_solutions import NumpyMLP

    geometry = [7] + [5] * (len(activations) - 1) + [3]
    by_autodiff = AutodiffMLP(geometry, activations, learning_rate=0.1, seed=1)
    by_hand = NumpyMLP(geometry, activations, learning_rate=0.1, seed=1)
    for (_, bias), (_, same_bias) in zip(by_autodiff.parameters, by_hand.parameters):
        bias += np.random.default_rng(2).normal(size=bias.shape)
        same_bias[...] = bias
    rng = np.random.default_rng(0)
    input, output = rng.normal(size=(11, 7)), rng.integers(3, size=11)
    assert by_autodiff.cross_entropy_loss(input, output) == pytest.approx(
        by_hand.cross_entropy_loss(input, output), rel=1e-12)
    for pair, expected_pair in zip(by_autodiff.gradients(input, output), by_hand.backpropagation(input, output)):
        for gradient, expected in zip(pair, expected_pair):
            np.testing.assert_allclose(gradient, expected, rtol=RTOL, atol=ATOL)


def test_autodiff_mlp_passes_its_registered_grader_check():
    import grading

    rng = np.random.default_rng(3)
    model = AutodiffMLP([6, 5, 3], ["sigmoid", "softmax"], learning_rate=0.1, seed=4)
    report = grading.check_backpropagation(model, rng.normal(size=(12, 6)), rng.integers(3, size=12))
    assert report.passed, str(report)
    assert "[autodiff_mlp]" in str(report)  # found by the entry's `recognizes`, not claimed by another lab


def test_autodiff_mlp_refuses_an_activation_it_cannot_trace():
    with pytest.raises(ValueError, match="relu"):
        AutodiffMLP([4, 3, 2], ["relu", "softmax"], 0.1)


def test_autodiff_mlp_trains_on_digits(digits):
    from backprop_labs.training import train

    model = AutodiffMLP([64, 32, 10], ["tanh", "softmax"], learning_rate=0.5, seed=0)
    train(model, digits, 2, 30, report=None)
    test = digits.batches("test", batch_size=10_000)[0]
    assert np.mean(model.predict(test["input"]) == test["output"]) > 0.9  # plateau ~0.95


# ---- the student package --------------------------------------------------------------

@pytest.mark.parametrize("rule, args, exercise", [
    ("multiply_vjp_x", (1.0, 2.0, 2.0, 1.0), "Exercise A.1: VJP of multiply"),
    ("multiply_vjp_y", (1.0, 2.0, 2.0, 1.0), "Exercise A.1: VJP of multiply"),
    ("divide_vjp_x", (1.0, 2.0, 2.0, 1.0), "Exercise A.2: VJP of divide"),
    ("divide_vjp_y", (1.0, 2.0, 2.0, 1.0), "Exercise A.2: VJP of divide"),
    ("exp_vjp", (1.0, 1.0, 0.0), "Exercise A.3: VJPs of exp and log"),
    ("log_vjp", (1.0, 0.0, 1.0), "Exercise A.3: VJPs of exp and log"),
    ("tanh_vjp", (1.0, 0.0, 0.0), "Exercise A.4: VJP of tanh"),
    ("matmul_vjp_x", (np.ones(2), np.ones(2), np.ones((2, 3)), np.ones((3, 2))), "Exercise A.5: VJP of matmul"),
    ("matmul_vjp_y", (np.ones(2), np.ones(2), np.ones((2, 3)), np.ones((3, 2))), "Exercise A.5: VJP of matmul"),
])
def test_student_vjp_rules_are_stubs_naming_their_exercise(rule, args, exercise):
    with pytest.raises(NotImplementedError, match=exercise):
        getattr(labs.autodiff.vjps, rule)(*args)


def test_student_backward_pass_is_a_stub_and_the_rest_is_given():
    x = labs.autodiff.Node(np.ones(2))
    end = labs.autodiff.anp.sum(x)  # tracing (given code) works in the student package
    assert [type(node).__name__ for node in labs.autodiff.toposort(end)] == ["Node", "Node"]
    with pytest.raises(NotImplementedError, match="Exercise A.6: implement the backward pass"):
        labs.autodiff.grad(lambda x: labs.autodiff.anp.sum(x))(np.ones(2))
    with pytest.raises(NotImplementedError, match="Exercise A.6"):
        labs.autodiff.AutodiffMLP([4, 3, 2], ["tanh", "softmax"], 0.1).gradients(np.ones((2, 4)), np.array([0, 1]))


def test_the_probe_names_the_first_wrong_vjp_rule_and_how_it_is_wrong(monkeypatch):
    """A multiply VJP that averages a broadcast gradient instead of summing it (AutodiffMLP has no
    broadcasting product, so the model's gradients alone cannot show it): named by rule and argument."""
    import labs_solutions.autodiff as package
    from grading.exercises.autodiff_localise import localise
    from labs_solutions.autodiff import vjps

    assert localise(package) is None
    multiply = next(function for function in vjps.VJPS if function.__name__ == "multiply")
    right = vjps.VJPS[multiply]

    def averaged(g, ans, x, y):
        return vjps.unbroadcast(g * x, np.shape(y)) * np.size(y) / np.size(g)

    monkeypatch.setitem(vjps.VJPS, multiply, (right[0], averaged))
    cause, sentence = localise(package)
    assert cause == "vjp_multiply" and "argument 1" in sentence and "averaged" in sentence, sentence
