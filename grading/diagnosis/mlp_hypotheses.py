"""Typical backpropagation mistakes in a softmax MLP ``[[W (out, in), b (1, out)], ...]``, re-enacted.

Each hypothesis runs :func:`variant_backpropagation`: torch autograd, in float64, on the reference's
forward pass with one backward step swapped for the mistake (a straight-through term keeps every value
and changes one derivative, a tensor hook changes what flows back), predicting the gradients a student
making it would return. No step is computed by a NumPy backpropagation: what is right is autograd's.
Scale, sign, order and shape mistakes need no re-enactment: they are recognised from the returned
arrays alone (:mod:`grading.diagnosis.rules`). :func:`input_gradient_causes` names the
known mistakes of exercise 2.1's answer, the log-linear model's gradient with respect to its input.
"""
import numpy as np
import torch

from backprop_labs.activations import HIDDEN_ACTIVATIONS
from backprop_labs.utils import index2onehot

from .forward_hypotheses import ACTIVATIONS
from .hypotheses import Hypothesis

# f'(z) of each smooth hidden activation as a polynomial (c0, c1, c2) of its output a = f(z): the forms the lab
# teaches (sigmoid a(1 - a), tanh 1 - a^2). Only the mistakes use them: a formula applied to the wrong layer
# or to the wrong quantity. ReLU's is 1 where a > 0.
SLOPE_IN_OUTPUT = {"sigmoid": (0.0, 1.0, -1.0), "tanh": (1.0, 0.0, -1.0)}
DERIVATIVE_NAMES = (*SLOPE_IN_OUTPUT, "relu")
DERIVATIVE_TEXT = {"sigmoid": "a * (1 - a)", "tanh": "1 - a**2", "relu": "1 where a > 0, else 0"}


def slope_formula(name, value):
    """The derivative formula of activation ``name``, written for its output, evaluated at ``value``."""
    if name == "relu":
        return (np.asarray(value) > 0).astype(np.float64)
    return np.polynomial.polynomial.polyval(np.asarray(value, dtype=np.float64), SLOPE_IN_OUTPUT[name])


def _hidden_names(context):
    return list(getattr(context.model, "activation_functions", ["softmax"]))[:-1]


def _tensor(array):
    return torch.as_tensor(np.asarray(array, dtype=np.float64))


def _forward_values(context):
    """Pre-activations ``zs[n]`` (B, out_n), layer inputs ``inputs[n]`` (B, in_n) and probabilities (B, K), as arrays."""
    names = _hidden_names(context)
    zs, inputs = [], []
    with torch.no_grad():
        activation = _tensor(context.input)
        for n, (weight, bias) in enumerate(zip(context.parameters[0::2], context.parameters[1::2])):
            inputs.append(activation.numpy())
            z = activation @ _tensor(weight).T + _tensor(bias)
            zs.append(z.numpy())
            if n < len(context.parameters) // 2 - 1:
                activation = ACTIVATIONS[names[n]](z)
        probabilities = torch.softmax(z, dim=1).numpy()
    return zs, inputs, probabilities


def variant_backpropagation(context, output_error=None, output_derivative=False, derivative=None,
                            propagate=None, layer_input=None, slope_of_upstream=None, own_output_as_input=False,
                            bias_gradient=None, stale_upstream=False):
    """Float64 gradients (aligned with the specs) by autograd with one step swapped; ValueError when the swapped
    step does not fit this model's shapes.

    ``output_error(p, onehot)`` is the error at the softmax input (before the mean's 1/B) instead of the loss's;
    ``output_derivative`` multiplies the loss's error by ``p (1 - p)``; ``derivative(name, a, z)`` is the hidden
    derivative instead of autograd's; ``slope_of_upstream(name, upstream)`` computes it from the error arriving
    from above; ``propagate(n, weights)`` gives the matrix the error crosses from layer n to n-1 (right:
    ``weights[n]``); ``layer_input(n, inputs, zs)`` gives what multiplies layer n's error in its weight gradient
    (``own_output_as_input``: the layer's own output); ``bias_gradient(error, weight_gradient)`` replaces the
    bias gradient; ``stale_upstream``: every hidden layer receives the output error crossed through the last
    weight, not the error propagated layer by layer.
    """
    try:
        return _variant(context, output_error, output_derivative, derivative, propagate, layer_input,
                        slope_of_upstream, own_output_as_input, bias_gradient, stale_upstream)
    except RuntimeError as error:   # torch's word for arrays that do not fit: the mistake cannot happen here
        raise ValueError(str(error)) from error


def _variant(context, output_error, output_derivative, derivative, propagate, layer_input, slope_of_upstream,
             own_output_as_input, bias_gradient, stale_upstream):
    weights = context.parameters[0::2]
    names = _hidden_names(context)
    zs, inputs, probabilities = _forward_values(context)
    outputs = inputs[1:] + [probabilities]
    last = len(weights) - 1
    biases = [_tensor(bias).requires_grad_() for bias in context.parameters[1::2]]
    weight_gradients, errors, top_error = [], [], {}
    activation = _tensor(context.input)
    for n, weight in enumerate(weights):
        crossed = weight if propagate is None or n == 0 else propagate(n, weights)   # layer 0 passes nothing on
        multiplier = (outputs[n] if own_output_as_input else
                      inputs[n] if layer_input is None else layer_input(n, inputs, zs))
        # The value is the reference's z; the input's path carries error @ crossed, the weight's error.T @ multiplier
        # (a leaf of its own, so that a multiplier of another width gives the array such a student returns).
        probe = torch.zeros((weight.shape[0], np.shape(multiplier)[1]), dtype=torch.float64, requires_grad=True)
        if stale_upstream and 0 < n < last:
            activation.register_hook(lambda g: top_error["error"] @ _tensor(weights[-1]))
        z = (activation.detach() @ _tensor(weight).T + biases[n] + (activation - activation.detach()) @ _tensor(crossed).T
             + _tensor(multiplier) @ (probe - probe.detach()).T)
        z.retain_grad()
        weight_gradients.append(probe)
        errors.append(z)
        if n < last:
            activation = _hidden(names[n], z, inputs[n + 1], zs[n], derivative, slope_of_upstream)
    if stale_upstream:
        z.register_hook(lambda g: top_error.update(error=g))
    _output_loss(z, context.output, probabilities, output_error, output_derivative).backward()
    gradients = []
    for probe, bias, z in zip(weight_gradients, biases, errors):
        weight_gradient = probe.grad.numpy()
        gradients += [weight_gradient, bias.grad.numpy() if bias_gradient is None
                      else bias_gradient(z.grad.numpy(), weight_gradient)]
    return gradients


def _hidden(name, z, output, preactivation, derivative, slope_of_upstream):
    """The hidden activation's output: autograd's own derivative, or the value with a swapped one."""
    if derivative is None and slope_of_upstream is None:
        return ACTIVATIONS[name](z)
    slope = 1.0 if derivative is None else _tensor(derivative(name, output, preactivation))
    activation = ACTIVATIONS[name](z).detach() + (z - z.detach()) * slope
    if slope_of_upstream is not None:
        activation.register_hook(lambda g: g * _tensor(slope_of_upstream(name, g.numpy())))
    return activation


def _output_loss(z, output, probabilities, output_error, output_derivative):
    """The mean cross-entropy at the logits ``z``, or a surrogate whose gradient there is the swapped error."""
    target = torch.as_tensor(np.asarray(output, dtype=np.int64))
    if output_error is None and not output_derivative:
        return torch.nn.functional.cross_entropy(z, target)
    batch_size, num_classes = probabilities.shape
    if output_error is None:   # the loss's own error, by autograd at the logits' values, times p (1 - p)
        logits = z.detach().clone().requires_grad_()
        error = torch.autograd.grad(torch.nn.functional.cross_entropy(logits, target), logits)[0].numpy()
    else:
        error = output_error(probabilities, index2onehot(output, num_classes)) / batch_size
    if output_derivative:
        error = error * probabilities * (1.0 - probabilities)
    return torch.sum(z * _tensor(error))


def _softmax_over(logits, axis):
    """exp(z) normalised over ``axis`` of the (B, K) logits (None: over every entry)."""
    shifted = np.exp(logits - np.max(logits, axis=axis, keepdims=True))
    return shifted / np.sum(shifted, axis=axis, keepdims=True)


def _only_row(error, row):
    """``error`` with every row but ``row`` set to 0."""
    kept = np.zeros_like(error)
    kept[row] = error[row]
    return kept


def _negated(probabilities):
    """softmax(-z) from p = softmax(z), row by row: exp(-z) is proportional to 1 / p."""
    inverse = 1.0 / np.maximum(probabilities, np.finfo(np.float64).tiny)
    return inverse / np.sum(inverse, axis=1, keepdims=True)


def _needs_hidden(predict):
    """Hypotheses about hidden layers do not apply to a model without any."""
    def guarded(context):
        return predict(context) if _hidden_names(context) else None
    return guarded


def _swapped_derivative(actual, used):
    def predict(context):
        if actual not in _hidden_names(context):
            return None
        return variant_backpropagation(context, derivative=lambda name, a, z: slope_formula(
            used if name == actual else name, a))
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
            slope_formula(name, z) if name == actual else slope_formula(name, a)))
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
        "labels_as_targets",
        "The error at the softmax input subtracts the class INDEX y (a number per example, broadcast over the "
        "K columns) from the probabilities, as in a binary (yhat - y) recipe: subtract the one-hot of the gold "
        "class instead, (p - onehot(y)) / B.",
        lambda context: variant_backpropagation(
            context, output_error=lambda p, onehot: p - np.argmax(onehot, axis=1)[:, None].astype(np.float64)),
    ),
    Hypothesis(
        "negated_scores",
        "The probabilities are the softmax of the NEGATED scores, softmax(-z) (with the gradient that convention "
        "gives, onehot(y) - p): this model's probabilities are softmax(z), z = x @ W.T + b, and the error at the "
        "softmax input is (p - onehot(y)) / B.",
        lambda context: variant_backpropagation(context, output_error=lambda p, onehot: onehot - _negated(p)),
    ),
    *(Hypothesis(
        "softmax_over_batch",
        f"The softmax is normalised {where}, not over each example's K classes: p = exp(z) / exp(z).sum({code}). "
        f"Each example's row must sum to 1: exp(z) / exp(z).sum(axis=1, keepdims=True) (rows are examples).",
        lambda context, axis=axis: variant_backpropagation(
            context, output_error=lambda p, onehot: _softmax_over(_forward_values(context)[0][-1], axis) - onehot))
      for where, code, axis in (("over the batch axis (each class over the examples)", "axis=0", 0),
                                ("over the whole batch at once (one sum over every entry)", "", None))),
    *(Hypothesis(
        "one_example_only",
        f"Only the {which} example of the batch reaches the gradients: the other rows of the error at the softmax "
        f"input are 0: a per-example loop that stops after one pass (a return or break inside it) or writes its "
        f"row after the loop (the assignment dedented). Every example's row of (p - onehot(y)) / B must be filled.",
        lambda context, row=row: variant_backpropagation(context, output_error=lambda p, onehot: _only_row(
            p - onehot, row))) for which, row in (("first", 0), ("last", -1))),
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
            context, slope_of_upstream=lambda name, upstream: slope_formula(name, upstream))),
    ),
    Hypothesis(
        "activation_as_derivative",
        "The error crossing a hidden layer is multiplied by the activation a itself, not by its derivative "
        "(a * (1 - a) for sigmoid, 1 - a**2 for tanh). Note that np.multiply(x, y, z) does not multiply "
        "three arrays: its third argument is where the result of x * y is written.",
        _needs_hidden(lambda context: variant_backpropagation(context, derivative=lambda name, a, z: a)),
    ),
    Hypothesis(
        "derivative_of_activation",
        "The derivative of a hidden activation is a formula written for the pre-activation z (sigmoid(z) * "
        "(1 - sigmoid(z)), 1 - tanh(z)**2) called with the layer's OUTPUT a: the activation is applied twice. "
        "Call it with z, or write it for a: a * (1 - a) for sigmoid, 1 - a**2 for tanh.",
        # f'(z) = g(f(z)) written for z and given a: g(f(a)), the activation applied twice (Nielsen's
        # sigmoid_prime(z) given activations[-l]); ReLU's is the same either way, so only sigmoid and tanh show it.
        lambda context: variant_backpropagation(context, derivative=lambda name, a, z: slope_formula(
            name, HIDDEN_ACTIVATIONS[name](np.asarray(a, dtype=np.float64))))
        if set(_hidden_names(context)) & set(SLOPE_IN_OUTPUT) else None,
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
        "network_input_as_layer_input",
        "A deeper layer's weight gradient multiplies its error by X, the network's input (the first layer's line "
        "copied): each layer's dW = error.T @ a[n - 1], with ITS OWN input, the previous layer's output.",
        _needs_hidden(lambda context: variant_backpropagation(
            context, layer_input=lambda n, inputs, zs: inputs[0])),
    ),
    Hypothesis(
        "tanh_derivative_missing_one",
        "The tanh derivative is written a**2; it is 1 - a**2, with a = tanh(z) the layer's output.",
        lambda context: variant_backpropagation(context, derivative=lambda name, a, z: (
            np.asarray(a, dtype=np.float64) ** 2 if name == "tanh" else slope_formula(name, a)))
        if "tanh" in _hidden_names(context) else None,
    ),
    Hypothesis(
        "preactivation_as_layer_input",
        "A weight gradient multiplies the error by the previous layer's pre-activation z; it must "
        "use that layer's output a = f(z), the input this weight actually sees.",
        _needs_hidden(lambda context: variant_backpropagation(
            context, layer_input=lambda n, inputs, zs: zs[n - 1] if n > 0 else inputs[0])),
    ),
) + tuple(_swapped_derivative(actual, used)
          for actual in DERIVATIVE_NAMES for used in DERIVATIVE_NAMES if used != actual
) + tuple(Hypothesis(
    "bias_column_misaligned",
    f"The error is propagated through the output weights with column {column} dropped and the bias column "
    f"kept in its place (an augmented [W | b] cut at a hard-coded index): every hidden unit from {column} on "
    f"gets its neighbour's weights. Propagate with W alone (error @ W), never with the bias.",
    _misaligned_bias_column(column)) for column in range(MAX_BIAS_COLUMN_SEARCH)
)

LOG_LINEAR_HYPOTHESES = OUTPUT_HYPOTHESES


def reference_input_gradient(probabilities, output, weight):
    """Exercise 2.1's quantity by autograd, ``(B, I)`` float64, from softmax ``probabilities`` ``(B, K)``, gold
    ``output`` ``(B,)`` and ``weight`` ``(K, I)``: the gradient at ``x = 0`` of the mean cross-entropy of
    ``softmax(log P + x @ W.T)``, whose softmax at 0 is the given ``P`` (no NumPy formula of the exercise ships
    with the grader)."""
    weight = torch.as_tensor(np.asarray(weight, dtype=np.float64))
    log_probabilities = torch.log(torch.as_tensor(np.asarray(probabilities, dtype=np.float64)))
    at_zero = torch.zeros((log_probabilities.shape[0], weight.shape[1]), dtype=torch.float64, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(log_probabilities + at_zero @ weight.T,
                                             torch.as_tensor(np.asarray(output, dtype=np.int64)))
    return torch.autograd.grad(loss, at_zero)[0].numpy()


def input_gradient_causes(found, probabilities, output, weight):
    """``[(cause, sentence)]`` naming a known mistake of exercise 2.1 that ``found`` ``(B, I)`` matches, given
    the softmax ``probabilities`` ``(B, K)``, gold ``output`` ``(B,)`` and ``weight`` ``(K, I)``; empty if none."""
    from grading.policy.precision import HYPOTHESIS_MATCH, normwise_error

    batch_size = len(output)
    expected = reference_input_gradient(probabilities, output, weight)
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
