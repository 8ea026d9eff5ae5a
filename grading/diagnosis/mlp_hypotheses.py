"""Typical backpropagation mistakes in a softmax MLP ``[[W (out, in), b (1, out)], ...]``, re-enacted.

Each hypothesis runs :func:`variant_backpropagation`, a float64 backpropagation with one
step swapped for the mistake, and predicts the gradients a student making it would return.
Scale, sign, order and shape mistakes need no re-enactment: they are recognised from the
returned arrays alone (:mod:`grading.diagnosis.rules`).
"""
import numpy as np

from backprop_labs.activations import HIDDEN_ACTIVATIONS
from backprop_labs.utils import index2onehot, logsumexp

from .hypotheses import Hypothesis

# Derivative of each hidden activation written in terms of its output a = f(z).
DERIVATIVE_FROM_OUTPUT = {
    "sigmoid": lambda a: a * (1.0 - a),
    "tanh": lambda a: 1.0 - a ** 2,
    "relu": lambda a: (a > 0).astype(np.float64),
}
DERIVATIVE_TEXT = {"sigmoid": "a * (1 - a)", "tanh": "1 - a**2", "relu": "1 where a > 0, else 0"}


def _hidden_names(context):
    return list(getattr(context.model, "activation_functions", ["softmax"]))[:-1]


def _forward(context):
    """Pre-activations ``zs[n]`` (B, out_n), layer inputs ``inputs[n]`` (B, in_n) and probabilities (B, K)."""
    weights, biases = context.parameters[0::2], context.parameters[1::2]
    names = _hidden_names(context)
    zs, inputs = [], []
    activation = context.input
    for n, (weight, bias) in enumerate(zip(weights, biases)):
        inputs.append(activation)
        zs.append(activation @ weight.T + bias)
        if n < len(weights) - 1:
            activation = HIDDEN_ACTIVATIONS[names[n]](zs[-1])
    probabilities = np.exp(zs[-1] - logsumexp(zs[-1], axis=1, keepdims=True))
    return zs, inputs, probabilities


def variant_backpropagation(context, output_error=None, output_derivative=False, derivative=None,
                            propagate=None, layer_input=None):
    """Float64 backpropagation with optional swapped steps; gradients aligned with the specs.

    ``output_error(p, onehot)`` replaces ``p - onehot``; ``output_derivative`` multiplies the
    output error by ``p (1 - p)``; ``derivative(name, a, z)`` replaces the hidden derivative;
    ``propagate(n, weights)`` gives the matrix the error crosses from layer n to n-1 (correct:
    ``weights[n]``); ``layer_input(n, inputs, zs)`` gives what multiplies layer n's error.
    """
    weights = context.parameters[0::2]
    names = _hidden_names(context)
    zs, inputs, probabilities = _forward(context)
    batch_size, num_classes = probabilities.shape
    onehot = index2onehot(context.output, num_classes)
    error = probabilities - onehot if output_error is None else output_error(probabilities, onehot)
    if output_derivative:
        error = error * probabilities * (1.0 - probabilities)
    error = error / batch_size
    gradients = [None] * len(weights)
    for n in reversed(range(len(weights))):
        multiplier = inputs[n] if layer_input is None else layer_input(n, inputs, zs)
        gradients[n] = [error.T @ multiplier, np.sum(error, axis=0, keepdims=True)]
        if n > 0:
            matrix = weights[n] if propagate is None else propagate(n, weights)
            slope = (DERIVATIVE_FROM_OUTPUT[names[n - 1]](inputs[n]) if derivative is None
                     else derivative(names[n - 1], inputs[n], zs[n - 1]))
            error = (error @ matrix) * slope
    return [gradient for pair in gradients for gradient in pair]


def _needs_hidden(predict):
    """Hypotheses about hidden layers do not apply to a model without any."""
    def guarded(context):
        return predict(context) if _hidden_names(context) else None
    return guarded


def _swapped_derivative(actual, used):
    def predict(context):
        if actual not in _hidden_names(context):
            return None
        return variant_backpropagation(context, derivative=lambda name, a, z: DERIVATIVE_FROM_OUTPUT[
            used if name == actual else name](a))
    return Hypothesis(
        "wrong_activation_derivative",
        f"The error crossing a {actual} layer is multiplied by the derivative of {used}; "
        f"for {actual}, with a its output, the derivative is {DERIVATIVE_TEXT[actual]}.",
        predict,
    )


def _sigmoid_at_preactivation(context):
    if "sigmoid" not in _hidden_names(context):
        return None
    return variant_backpropagation(context, derivative=lambda name, a, z: (
        z * (1.0 - z) if name == "sigmoid" else DERIVATIVE_FROM_OUTPUT[name](a)))


OUTPUT_HYPOTHESES = (
    Hypothesis(
        "softmax_error_without_onehot",
        "The error at the softmax input is p / B, without subtracting the one-hot of the gold "
        "class: it must be (p - onehot(y)) / B, shape (B, K).",
        lambda context: variant_backpropagation(context, output_error=lambda p, onehot: p),
    ),
    Hypothesis(
        "extra_output_derivative",
        "The output error is multiplied by p * (1 - p) as if the softmax needed its own derivative; "
        "with the cross-entropy the error at the softmax input is simply (p - onehot(y)) / B.",
        lambda context: variant_backpropagation(context, output_derivative=True),
    ),
)

MLP_HYPOTHESES = OUTPUT_HYPOTHESES + (
    Hypothesis(
        "sigmoid_derivative_at_preactivation",
        "The sigmoid derivative is computed from the pre-activation z as z * (1 - z); it is "
        "a * (1 - a) with a = sigmoid(z), the layer's OUTPUT (kept by the forward pass).",
        _sigmoid_at_preactivation,
    ),
    Hypothesis(
        "missing_activation_derivative",
        "The error is passed back through W but not multiplied by the derivative of the hidden "
        "activation: after error @ W, multiply element-wise by f'(z) of that layer.",
        _needs_hidden(lambda context: variant_backpropagation(
            context, derivative=lambda name, a, z: np.ones_like(a))),
    ),
    Hypothesis(
        "propagate_transposed_weight",
        "The error is propagated with W.T; with examples as rows the error reaching layer n-1 "
        "is error @ W of layer n: (B, out) @ (out, in) -> (B, in).",
        _needs_hidden(lambda context: variant_backpropagation(
            context, propagate=lambda n, weights: weights[n].T)),
    ),
    Hypothesis(
        "wrong_layer_weight",
        "The error is propagated with the weight of the wrong layer: the error leaving layer n "
        "goes back through layer n's own W (error @ W[n]).",
        _needs_hidden(lambda context: variant_backpropagation(
            context, propagate=lambda n, weights: weights[n - 1])),
    ),
    Hypothesis(
        "preactivation_as_layer_input",
        "A weight gradient multiplies the error by the previous layer's pre-activation z; it must "
        "use that layer's output a = f(z), the input this weight actually sees.",
        _needs_hidden(lambda context: variant_backpropagation(
            context, layer_input=lambda n, inputs, zs: zs[n - 1] if n > 0 else inputs[0])),
    ),
) + tuple(_swapped_derivative(actual, used)
          for actual in DERIVATIVE_FROM_OUTPUT for used in DERIVATIVE_FROM_OUTPUT if used != actual)

LOG_LINEAR_HYPOTHESES = OUTPUT_HYPOTHESES
