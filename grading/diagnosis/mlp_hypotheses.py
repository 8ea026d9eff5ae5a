"""Typical backpropagation mistakes in a softmax MLP ``[[W (out, in), b (1, out)], ...]``, re-enacted.

Each hypothesis runs :func:`variant_backpropagation`, a float64 backpropagation with one
step swapped for the mistake, and predicts the gradients a student making it would return.
Scale, sign, order and shape mistakes need no re-enactment: they are recognised from the
returned arrays alone (:mod:`grading.diagnosis.rules`). :func:`input_gradient_causes` names the
known mistakes of exercise 2.1's answer, the log-linear model's gradient with respect to its input.
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
                            propagate=None, layer_input=None, slope_of_upstream=None, own_output_as_input=False,
                            bias_gradient=None, stale_upstream=False):
    """Float64 backpropagation with optional swapped steps; gradients aligned with the specs.

    ``output_error(p, onehot)`` replaces ``p - onehot``; ``output_derivative`` multiplies the
    output error by ``p (1 - p)``; ``derivative(name, a, z)`` replaces the hidden derivative;
    ``slope_of_upstream(name, upstream)`` computes it from the error arriving from above instead;
    ``propagate(n, weights)`` gives the matrix the error crosses from layer n to n-1 (correct:
    ``weights[n]``); ``layer_input(n, inputs, zs)`` gives what multiplies layer n's error
    (``own_output_as_input``: the layer's own output); ``bias_gradient(error, weight_gradient)``
    replaces the column sum; ``stale_upstream``: every hidden layer receives the output error
    crossed through the last weight, not the error propagated layer by layer.
    """
    weights = context.parameters[0::2]
    names = _hidden_names(context)
    zs, inputs, probabilities = _forward(context)
    outputs = inputs[1:] + [probabilities]
    batch_size, num_classes = probabilities.shape
    onehot = index2onehot(context.output, num_classes)
    error = probabilities - onehot if output_error is None else output_error(probabilities, onehot)
    if output_derivative:
        error = error * probabilities * (1.0 - probabilities)
    error = error / batch_size
    top_error = error
    gradients = [None] * len(weights)
    for n in reversed(range(len(weights))):
        multiplier = (outputs[n] if own_output_as_input else
                      inputs[n] if layer_input is None else layer_input(n, inputs, zs))
        weight_gradient = error.T @ multiplier
        gradients[n] = [weight_gradient, np.sum(error, axis=0, keepdims=True) if bias_gradient is None
                        else bias_gradient(error, weight_gradient)]
        if n > 0:
            matrix = weights[n] if propagate is None else propagate(n, weights)
            upstream = (top_error @ weights[-1]) if stale_upstream else error @ matrix
            if slope_of_upstream is not None:
                slope = slope_of_upstream(names[n - 1], upstream)
            elif derivative is None:
                slope = DERIVATIVE_FROM_OUTPUT[names[n - 1]](inputs[n])
            else:
                slope = derivative(names[n - 1], inputs[n], zs[n - 1])
            error = upstream * slope
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


def _at_preactivation(actual):
    """The derivative formula of ``actual`` written for its output, evaluated at the pre-activation z."""
    def predict(context):
        if actual not in _hidden_names(context):
            return None
        return variant_backpropagation(context, derivative=lambda name, a, z: (
            DERIVATIVE_FROM_OUTPUT[name](z) if name == actual else DERIVATIVE_FROM_OUTPUT[name](a)))
    return predict


MAX_BIAS_COLUMN_SEARCH = 32   # hidden widths of the labs' test models stay below this


def _misaligned_bias_column(column):
    """N12: the error crosses the last layer through an augmented [W | b] whose bias column was meant to be
    cut off, but a real column was cut at ``column`` instead and the bias column kept."""
    def predict(context):
        last = len(context.parameters) // 2 - 1
        if last < 1 or column >= context.parameters[2 * last].shape[1]:
            return None
        return variant_backpropagation(context, propagate=lambda n, weights: (
            _without_column_plus_bias(context, n, column) if n == last else weights[n]))
    return predict


def _without_column_plus_bias(context, n, column):
    weight, bias = context.parameters[2 * n], context.parameters[2 * n + 1]
    return np.concatenate([np.delete(weight, column, axis=1), bias.T], axis=1)


OUTPUT_HYPOTHESES = (
    Hypothesis(
        "softmax_error_without_onehot",
        "The error at the softmax input is p / B, without subtracting the one-hot of the gold "
        "class: it must be (p - onehot(y)) / B, shape (B, K).",
        lambda context: variant_backpropagation(context, output_error=lambda p, onehot: p),
    ),
    Hypothesis(
        "softmax_diagonal_jacobian",
        "The error at the softmax input uses only the diagonal p * (1 - p) of the softmax Jacobian: the "
        "derivative of the cross-entropy, -onehot(y) / p, times p (1 - p) leaves (p - 1) / B at the gold class "
        "and 0 elsewhere. The full Jacobian diag(p) - p p^T gives (p - onehot(y)) / B.",
        lambda context: variant_backpropagation(context, output_error=lambda p, onehot: -onehot * (1.0 - p)),
    ),
    Hypothesis(
        "log_probabilities_as_probabilities",
        "The error at the softmax input is log(p) - onehot(y): the log-probabilities are used where the "
        "probabilities p = exp(log p) belong. It must be (p - onehot(y)) / B.",
        lambda context: variant_backpropagation(
            context, output_error=lambda p, onehot: np.log(np.maximum(p, np.finfo(np.float64).tiny)) - onehot),
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
        _at_preactivation("sigmoid"),
    ),
    Hypothesis(
        "tanh_derivative_at_preactivation",
        "The tanh derivative is computed from the pre-activation z as 1 - z**2; it is 1 - a**2 with "
        "a = tanh(z), the layer's OUTPUT (kept by the forward pass).",
        _at_preactivation("tanh"),
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
        "output_as_layer_input",
        "A weight gradient multiplies the error by the layer's OWN output (the probabilities for the last "
        "layer, the activation it produces for a hidden one); it must use the layer's INPUT, the previous "
        "layer's output: dW[n] = error.T @ a[n - 1] (the batch's input for layer 0).",
        lambda context: variant_backpropagation(context, own_output_as_input=True),
    ),
    Hypothesis(
        "derivative_of_error",
        "The activation's derivative is evaluated at the propagated error instead of at the activation: "
        "after error @ W, multiply by f'(z) written with the layer's OUTPUT a (a * (1 - a) for sigmoid, "
        "1 - a**2 for tanh), not with the error.",
        _needs_hidden(lambda context: variant_backpropagation(
            context, slope_of_upstream=lambda name, upstream: DERIVATIVE_FROM_OUTPUT[name](upstream))),
    ),
    Hypothesis(
        "activation_as_derivative",
        "The error crossing a hidden layer is multiplied by the activation a itself, not by its derivative "
        "(a * (1 - a) for sigmoid, 1 - a**2 for tanh). Note that np.multiply(x, y, z) does not multiply "
        "three arrays: its third argument is where the result of x * y is written.",
        _needs_hidden(lambda context: variant_backpropagation(context, derivative=lambda name, a, z: a)),
    ),
    Hypothesis(
        "bias_from_weight_gradient",
        "The bias gradient is the weight gradient summed over the inputs (dW.sum(axis=1)); that equals the "
        "bias gradient only when every example's inputs sum to 1. Sum the error over the examples instead: "
        "db = np.sum(error, axis=0, keepdims=True).",
        lambda context: variant_backpropagation(
            context, bias_gradient=lambda error, weight_gradient: np.sum(weight_gradient, axis=1)[None, :]),
    ),
    Hypothesis(
        "error_not_propagated",
        "Every hidden layer receives the OUTPUT layer's error (crossed through the last W) instead of the error "
        "propagated from the layer just above it: inside the backward loop, update the error at each step, "
        "error = (error @ W[n]) * f'(a[n - 1]), and use that new error for layer n - 1.",
        _needs_hidden(lambda context: variant_backpropagation(context, stale_upstream=True)
                      if len(context.parameters) > 4 else None),
    ),
    Hypothesis(
        "preactivation_as_layer_input",
        "A weight gradient multiplies the error by the previous layer's pre-activation z; it must "
        "use that layer's output a = f(z), the input this weight actually sees.",
        _needs_hidden(lambda context: variant_backpropagation(
            context, layer_input=lambda n, inputs, zs: zs[n - 1] if n > 0 else inputs[0])),
    ),
) + tuple(_swapped_derivative(actual, used)
          for actual in DERIVATIVE_FROM_OUTPUT for used in DERIVATIVE_FROM_OUTPUT if used != actual
) + tuple(Hypothesis(
    "bias_column_misaligned",
    f"The error is propagated through the output weights with column {column} dropped and the bias column "
    f"kept in its place (an augmented [W | b] cut at a hard-coded index): every hidden unit from {column} on "
    f"gets its neighbour's weights. Propagate with W alone (error @ W), never with the bias.",
    _misaligned_bias_column(column)) for column in range(MAX_BIAS_COLUMN_SEARCH)
)

LOG_LINEAR_HYPOTHESES = OUTPUT_HYPOTHESES


def input_gradient_causes(found, probabilities, output, weight):
    """``[(cause, sentence)]`` naming a known mistake of exercise 2.1 that ``found`` ``(B, I)`` matches, given
    the softmax ``probabilities`` ``(B, K)``, gold ``output`` ``(B,)`` and ``weight`` ``(K, I)``; empty if none."""
    from grading.policy.precision import HYPOTHESIS_MATCH, normwise_error

    batch_size = len(output)
    expected = (probabilities - index2onehot(output, probabilities.shape[1])) / batch_size @ weight
    known = (
        (batch_size * expected, "missing_batch_mean",
         f"The input gradient is B = {batch_size} times too large: the loss is the MEAN over the batch, "
         "so the error at the scores is E = (P - Y) / B before it is multiplied by W."),
        (-expected, "wrong_sign", "The input gradient has the wrong sign: the error is P - Y (probabilities "
                                  "minus one-hot gold classes), not Y - P."),
        (probabilities / batch_size @ weight, "softmax_error_without_onehot",
         "The error uses the probabilities P alone: subtract the one-hot gold classes, E = (P - Y) / B."),
        (expected.T, "transposed", "The input gradient is transposed: it has one row per example, (B, I) like "
                                   "the input batch, which E @ W gives (W.T @ E.T gives its transpose)."),
    )
    found = np.asarray(found, dtype=np.float64)
    return [(cause, sentence) for predicted, cause, sentence in known
            if found.shape == predicted.shape and normwise_error(found, predicted) <= HYPOTHESIS_MATCH][:1]
