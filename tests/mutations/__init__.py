"""Realistic wrong (and right) implementations of ``NumpyMLP.backpropagation``.

Each :class:`Mutation` is student-style code with one mistake and the diagnosis cause the
grader should name (``report.causes[0]``). ``CORRECT`` holds implementations that differ
from the solution but are right, and must pass. Every function has the signature of
``NumpyMLP.backpropagation(self, input, output)`` and works on any ``[[W, b], ...]`` MLP.
"""
from dataclasses import dataclass
from typing import Callable

import numpy as np

from backprop_labs.activations import HIDDEN_ACTIVATIONS
from backprop_labs.utils import index2onehot, logsumexp

# What a student writes for the derivative of each activation, from its output a.
SLOPE = {"sigmoid": lambda a: a * (1 - a), "tanh": lambda a: 1 - a ** 2, "relu": lambda a: (a > 0) * 1.0}


@dataclass(frozen=True)
class Mutation:
    name: str
    cause: str                   # the diagnosis cause that names the mistake
    backpropagation: Callable
    model: str = "lab"           # test model kind, see mutations.models.model_and_batch
    also: tuple = ()             # further causes that must be reported (several mistakes at once)
    passes: bool = False         # True: right values in a tolerated shape (lenient policy): passes, with a warning
    seen: str = ""               # where a learner's code made this mistake (real-code entries only)


def forward(model, input):
    """Layer inputs a[n], pre-activations z[n] and probabilities, as a student would keep them."""
    inputs, zs, a = [], [], input
    for n, (weight, bias) in enumerate(model.parameters):
        inputs.append(a)
        zs.append(a @ weight.T + bias)
        if n < len(model.parameters) - 1:
            a = HIDDEN_ACTIVATIONS[model.activation_functions[n]](zs[-1])
    probabilities = np.exp(zs[-1] - logsumexp(zs[-1], axis=1, keepdims=True))
    return inputs, zs, probabilities


def output_error(model, input, output):
    inputs, zs, probabilities = forward(model, input)
    return inputs, zs, probabilities, (probabilities - index2onehot(output, probabilities.shape[1])) / len(output)


def backward(model, inputs, error, slope=None, propagate=None, weight_gradient=None, bias_gradient=None,
             store=None):
    """The usual loop, with hooks in which a mutation replaces one step."""
    L = len(model.parameters)
    gradients = [None] * L
    for n in reversed(range(L)):
        dW = error.T @ inputs[n] if weight_gradient is None else weight_gradient(n, error, inputs)
        db = np.sum(error, axis=0, keepdims=True) if bias_gradient is None else bias_gradient(error)
        if store is None:
            gradients[n] = [dW, db]
        else:
            store(gradients, n, [dW, db])
        if n > 0:
            W = model.parameters[n][0] if propagate is None else propagate(n)
            name = model.activation_functions[n - 1]
            error = (error @ W) * (SLOPE[name](inputs[n]) if slope is None else slope(n, name, inputs))
    return gradients


# ---- the mistakes ------------------------------------------------------------------------

def transposed_weight_gradient(self, input, output):
    inputs, _, _, error = output_error(self, input, output)
    return backward(self, inputs, error, weight_gradient=lambda n, e, a: a[n].T @ e)


def wrong_sign(self, input, output):
    inputs, _, p, _ = output_error(self, input, output)
    return backward(self, inputs, (index2onehot(output, p.shape[1]) - p) / len(output))


def missing_batch_mean(self, input, output):
    inputs, _, p, _ = output_error(self, input, output)
    return backward(self, inputs, p - index2onehot(output, p.shape[1]))


def gradient_of_the_sum_in_weights(self, input, output):
    inputs, _, p, _ = output_error(self, input, output)
    summed = p - index2onehot(output, p.shape[1])        # not divided by B ...

    def bias_mean(error):                                   # ... but the biases are averaged
        return np.mean(error, axis=0, keepdims=True)
    return backward(self, inputs, summed, bias_gradient=bias_mean)


def double_batch_mean(self, input, output):
    inputs, _, _, error = output_error(self, input, output)
    return backward(self, inputs, error / len(output))


def bias_summed_over_wrong_axis(self, input, output):
    inputs, _, _, error = output_error(self, input, output)
    return backward(self, inputs, error, bias_gradient=lambda e: np.sum(e, axis=1, keepdims=True))


def bias_without_keepdims(self, input, output):
    inputs, _, _, error = output_error(self, input, output)
    return backward(self, inputs, error, bias_gradient=lambda e: np.sum(e, axis=0))


def sigmoid_derivative_at_preactivation(self, input, output):
    inputs, zs, _, error = output_error(self, input, output)
    return backward(self, inputs, error, slope=lambda n, name, a: (
        zs[n - 1] * (1 - zs[n - 1]) if name == "sigmoid" else SLOPE[name](a[n])))


def wrong_activation_derivative(self, input, output):
    inputs, _, _, error = output_error(self, input, output)
    return backward(self, inputs, error, slope=lambda n, name, a: SLOPE["sigmoid"](a[n]))  # sigmoid's everywhere


def missing_activation_derivative(self, input, output):
    inputs, _, _, error = output_error(self, input, output)
    return backward(self, inputs, error, slope=lambda n, name, a: 1.0)


def propagate_with_transposed_weight(self, input, output):
    inputs, _, _, error = output_error(self, input, output)
    return backward(self, inputs, error, propagate=lambda n: self.parameters[n][0].T)


def propagate_with_previous_layer_weight(self, input, output):
    inputs, _, _, error = output_error(self, input, output)
    return backward(self, inputs, error, propagate=lambda n: self.parameters[n - 1][0])


def layers_off_by_one(self, input, output):
    inputs, _, _, error = output_error(self, input, output)

    def store(gradients, n, pair):
        gradients[n - 1] = pair          # 1-based habit: layer n stored at n - 1 (layer 0 wraps to the end)
    return backward(self, inputs, error, store=store)


def softmax_error_without_onehot(self, input, output):
    inputs, _, p, _ = output_error(self, input, output)
    return backward(self, inputs, p / len(output))


def extra_output_derivative(self, input, output):
    inputs, _, p, error = output_error(self, input, output)
    return backward(self, inputs, error * p * (1 - p))


def preactivation_as_layer_input(self, input, output):
    inputs, zs, _, error = output_error(self, input, output)
    return backward(self, inputs, error, weight_gradient=lambda n, e, a: e.T @ (zs[n - 1] if n > 0 else a[0]))


def reversed_layer_order(self, input, output):
    inputs, _, _, error = output_error(self, input, output)
    gradients = []
    backward(self, inputs, error, store=lambda g, n, pair: gradients.append(pair))
    return gradients                     # appended from the last layer down, never reversed


def updates_parameters_in_place(self, input, output):
    inputs, _, _, error = output_error(self, input, output)
    gradients = [None] * len(self.parameters)
    for n in reversed(range(len(self.parameters))):
        weight, bias = self.parameters[n]
        gradients[n] = [error.T @ inputs[n], np.sum(error, axis=0, keepdims=True)]
        weight -= self.learning_rate * gradients[n][0]          # "while I'm here, take the step"
        bias -= self.learning_rate * gradients[n][1]
        if n > 0:
            error = (error @ weight) * SLOPE[self.activation_functions[n - 1]](inputs[n])
    return gradients


def accumulates_between_calls(self, input, output):
    inputs, _, _, error = output_error(self, input, output)
    fresh = backward(self, inputs, error)
    if not hasattr(self, "_sums"):
        self._sums = [[np.zeros_like(w), np.zeros_like(b)] for w, b in self.parameters]
    for total, gradient in zip(self._sums, fresh):
        total[0] += gradient[0]
        total[1] += gradient[1]
    return self._sums


def shared_gradient_lists(self, input, output):
    inputs, _, _, error = output_error(self, input, output)
    gradients = [[None, None]] * len(self.parameters)            # one inner list, n references
    for n in reversed(range(len(self.parameters))):
        gradients[n][0] = error.T @ inputs[n]
        gradients[n][1] = np.sum(error, axis=0, keepdims=True)
        if n > 0:
            error = (error @ self.parameters[n][0]) * SLOPE[self.activation_functions[n - 1]](inputs[n])
    return gradients


def forgets_first_layer(self, input, output):
    inputs, _, _, error = output_error(self, input, output)
    gradients = [[np.zeros_like(w), np.zeros_like(b)] for w, b in self.parameters]
    for n in range(len(self.parameters) - 1, 0, -1):             # stops before layer 0
        gradients[n] = [error.T @ inputs[n], np.sum(error, axis=0, keepdims=True)]
        error = (error @ self.parameters[n][0]) * SLOPE[self.activation_functions[n - 1]](inputs[n])
    return gradients


def returns_only_upper_layers(self, input, output):
    inputs, _, _, error = output_error(self, input, output)
    return backward(self, inputs, error)[1:]


def float32_backpropagation(model, input, output, softmax):
    """Everything in float32; ``softmax(z)`` turns the logits (B, K) into probabilities."""
    weights = [weight.astype(np.float32) for weight, _ in model.parameters]
    inputs, a = [], np.asarray(input, dtype=np.float32)
    for n, (weight, (_, bias)) in enumerate(zip(weights, model.parameters)):
        inputs.append(a)
        z = a @ weight.T + bias.astype(np.float32)
        if n < len(weights) - 1:
            a = HIDDEN_ACTIVATIONS[model.activation_functions[n]](z).astype(np.float32)
    p = softmax(z).astype(np.float32)
    error = (p - index2onehot(output, p.shape[1]).astype(np.float32)) / np.float32(len(output))
    return backward(model, inputs, error, propagate=lambda n: weights[n])


def unstable_softmax_float32(self, input, output):
    return float32_backpropagation(self, input, output,
                                   lambda z: np.exp(z) / np.sum(np.exp(z), axis=1, keepdims=True))  # no max


def returns_the_update(self, input, output):
    """The training step's -learning_rate * gradient returned instead of the gradient."""
    inputs, _, _, error = output_error(self, input, output)
    return [[-self.learning_rate * dW, -self.learning_rate * db] for dW, db in backward(self, inputs, error)]


def centres_input_in_place(self, input, output):
    input -= np.mean(input, axis=0)              # "centre" the caller's batch, in place
    inputs, _, _, error = output_error(self, input, output)
    return backward(self, inputs, error)


MUTATIONS = [
    Mutation("transposed weight gradient", "transposed_weight", transposed_weight_gradient),
    Mutation("wrong sign", "wrong_sign", wrong_sign),
    Mutation("missing 1/B", "missing_batch_mean", missing_batch_mean),
    Mutation("gradient of the sum (weights only)", "missing_batch_mean", gradient_of_the_sum_in_weights),
    Mutation("1/B applied twice", "extra_batch_mean", double_batch_mean),
    Mutation("bias summed over the wrong axis", "bias_wrong_axis", bias_summed_over_wrong_axis),
    Mutation("bias without keepdims", "bias_shape", bias_without_keepdims, passes=True),
    Mutation("sigmoid derivative at the pre-activation", "sigmoid_derivative_at_preactivation",
             sigmoid_derivative_at_preactivation),
    Mutation("derivative of the wrong activation", "wrong_activation_derivative", wrong_activation_derivative),
    Mutation("activation derivative forgotten", "missing_activation_derivative", missing_activation_derivative),
    Mutation("error propagated with W.T", "propagate_transposed_weight", propagate_with_transposed_weight),
    Mutation("error propagated with the wrong layer's W", "wrong_layer_weight",
             propagate_with_previous_layer_weight, model="square"),
    Mutation("wrong layer's W, shapes clash", "shape_mismatch_in_code", propagate_with_previous_layer_weight),
    Mutation("layers off by one", "layers_off_by_one", layers_off_by_one),
    Mutation("softmax error without the one-hot", "softmax_error_without_onehot", softmax_error_without_onehot),
    Mutation("softmax derivative applied again", "extra_output_derivative", extra_output_derivative),
    Mutation("pre-activation as layer input", "preactivation_as_layer_input", preactivation_as_layer_input),
    Mutation("gradients in reverse layer order", "reversed_layer_order", reversed_layer_order),
    Mutation("in-place update of the parameters", "modifies_parameters", updates_parameters_in_place),
    Mutation("in-place centring of the input", "modifies_input", centres_input_in_place),
    Mutation("accumulates across calls", "accumulates_between_calls", accumulates_between_calls),
    Mutation("[[None, None]] * L shared lists", "shared_gradient_lists", shared_gradient_lists),
    Mutation("first layer forgotten (zeros)", "forgot_layer", forgets_first_layer),
    Mutation("first layer forgotten (short list)", "forgot_layer", returns_only_upper_layers),
    Mutation("float32 overflow in an unstable softmax", "unstable_softmax", unstable_softmax_float32),
    Mutation("the update step returned", "returned_update", returns_the_update),
]


from .real_code import REAL_CORRECT, REAL_MUTATIONS  # noqa: E402 (they build on the helpers above)

MUTATIONS = MUTATIONS + REAL_MUTATIONS


# ---- right, but not the solution ---------------------------------------------------------

def per_example_loop(self, input, output):
    totals = [[np.zeros_like(w), np.zeros_like(b)] for w, b in self.parameters]
    for x, y in zip(input, output):
        inputs, _, _, error = output_error(self, x[None, :], np.array([y]))
        for total, pair in zip(totals, backward(self, inputs, error)):
            total[0] += pair[0] / len(output)
            total[1] += pair[1] / len(output)
    return totals


def vectorized_float32(self, input, output):
    return float32_backpropagation(self, input, output, lambda z: np.exp(z - logsumexp(z, axis=1, keepdims=True)))


def einsum_version(self, input, output):
    inputs, _, _, error = output_error(self, input, output)
    return backward(self, inputs, error, weight_gradient=lambda n, e, a: np.einsum("bo,bi->oi", e, a[n]),
                    bias_gradient=lambda e: np.einsum("bo->o", e)[None, :])


def relu_slope_one_at_zero(self, input, output):
    inputs, zs, _, error = output_error(self, input, output)
    return backward(self, inputs, error, slope=lambda n, name, a: (
        (zs[n - 1] >= 0) * 1.0 if name == "relu" else SLOPE[name](a[n])))


def tuples_instead_of_lists(self, input, output):
    inputs, _, _, error = output_error(self, input, output)
    return tuple(tuple(pair) for pair in backward(self, inputs, error))


CORRECT = {
    "per-example loop": per_example_loop,
    "float32 throughout": vectorized_float32,
    "einsum": einsum_version,
    "relu slope 1 at exactly 0": relu_slope_one_at_zero,
    "tuples instead of lists": tuples_instead_of_lists,
    **REAL_CORRECT,
}
