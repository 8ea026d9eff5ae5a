"""Typical mistakes in a PyTorch MLP forward pass (``PytorchMLP._log_forward``), re-enacted.

The student's gradients come from autograd through their forward pass, so a wrong forward pass
shows as gradients of a different function. Each hypothesis rebuilds one such function in float64
from the parameters (never the student's objects) and differentiates it; the first whose
gradients match the student's names the mistake in forward-pass terms; before them,
:func:`log_probability_causes` names log-probabilities that are not normalised.
"""
import numpy as np
import torch

from .hypotheses import Hypothesis

ACTIVATIONS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}
LOG_PROBABILITY_RTOL, LOG_PROBABILITY_ATOL = 1e-10, 1e-12   # a float64 forward pass, entry by entry


def log_probabilities_failure(found, expected):
    """Test 2.4's rule for a forward pass, in the notebook's test cells and the official grade: the
    log-probabilities ``found`` ``(B, K)`` equal the reference network's ``expected`` within
    :data:`LOG_PROBABILITY_RTOL` and :data:`LOG_PROBABILITY_ATOL` entry by entry; None, or the policy's sentence."""
    from grading.policy.closeness import close_failure

    return close_failure(found, expected, "the log-probabilities", rtol=LOG_PROBABILITY_RTOL, atol=LOG_PROBABILITY_ATOL)


def reference_log_probabilities(model, parameters, input):
    """``log_softmax`` over the classes of the network ``[[W (out, in), b (1, out)], ...]`` with ``model``'s
    hidden activations, in float64 (PyTorch; never the student's objects)."""
    pairs = [[torch.as_tensor(np.asarray(array, dtype=np.float64)) for array in pair] for pair in parameters]
    x = torch.as_tensor(np.asarray(input, dtype=np.float64))
    return torch.log_softmax(_logits(model, pairs, x), dim=1).numpy()


def _variant_gradients(context, log_probabilities):
    """Gradients (spec order) of the mean of -log p[y] with ``log_probabilities(model, pairs, x) -> (B, K)``."""
    leaves = [torch.tensor(np.asarray(p, dtype=np.float64), requires_grad=True) for p in context.parameters]
    pairs = [leaves[i:i + 2] for i in range(0, len(leaves), 2)]
    x = torch.as_tensor(np.asarray(context.input, dtype=np.float64))
    labels = torch.as_tensor(np.asarray(context.output, dtype=np.int64))
    scores = log_probabilities(context.model, pairs, x)
    loss = -scores[torch.arange(len(labels)), labels].mean()
    gradients = torch.autograd.grad(loss, leaves, allow_unused=True)
    return [np.zeros(leaf.shape) if g is None else g.numpy() for leaf, g in zip(leaves, gradients)]


def _logits(model, pairs, x, hidden=None):
    """The last layer's z; ``hidden(n, name, z)`` replaces the hidden activation of layer n."""
    names = list(model.activation_functions)[:-1]
    activation = x
    for n, (weight, bias) in enumerate(pairs):
        z = activation @ weight.T + bias
        if n < len(pairs) - 1:
            activation = ACTIVATIONS[names[n]](z) if hidden is None else hidden(n, names[n], z)
    return z


def _other_activation(n, name, z):
    return ACTIVATIONS["tanh" if name == "sigmoid" else "sigmoid"](z)


FORWARD_HYPOTHESES = (
    Hypothesis(
        "sigmoid_before_log_softmax",
        "Your forward pass applies a sigmoid to the output layer before log_softmax: the last layer is "
        "z = a @ W.T + b followed directly by log_softmax(z, dim=1) (the 'softmax' in activation_functions "
        "is that log_softmax, not an extra activation).",
        lambda context: _variant_gradients(context, lambda model, pairs, x: torch.log_softmax(
            torch.sigmoid(_logits(model, pairs, x)), dim=1)),
    ),
    Hypothesis(
        "log_softmax_over_examples",
        "Your forward pass normalises over the wrong axis: log_softmax(z, dim=0) makes each CLASS sum to 1 over "
        "the batch; each example's probabilities must sum to 1: log_softmax(z, dim=1).",
        lambda context: _variant_gradients(context, lambda model, pairs, x: torch.log_softmax(
            _logits(model, pairs, x), dim=0)),
    ),
    Hypothesis(
        "probabilities_not_log",
        "Your forward pass returns probabilities (softmax) where log-probabilities are expected: end with "
        "torch.log_softmax(z, dim=1).",
        lambda context: _variant_gradients(context, lambda model, pairs, x: torch.softmax(
            _logits(model, pairs, x), dim=1)),
    ),
    Hypothesis(
        "hidden_activation_swapped",
        "A hidden layer uses the other activation (tanh where sigmoid is named, or sigmoid where tanh is): apply "
        "the activation named in activation_functions for each layer.",
        lambda context: _variant_gradients(context, lambda model, pairs, x: torch.log_softmax(
            _logits(model, pairs, x, _other_activation), dim=1))
        if set(list(context.model.activation_functions)[:-1]) <= {"sigmoid", "tanh"}
        and len(context.parameters) > 2 else None,
    ),
)


def log_probability_causes(values):
    """``[(cause, sentence)]`` for log-probabilities ``(B, K)`` that are not a log-softmax over the classes
    (empty when they are): what the notebook's test and the trusted check both say first."""
    from backprop_labs.utils import logsumexp

    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or np.allclose(logsumexp(values, axis=1), 0.0, atol=1e-9):
        return []
    if np.all(values >= 0) and np.allclose(values.sum(axis=1), 1.0, atol=1e-6):
        return [("probabilities_not_log", "_log_forward returns probabilities (rows sum to 1); it must return their "
                                          "log: end with torch.log_softmax(z, dim=1).")]
    return [("not_normalised", "The rows of exp(_log_forward output) do not sum to 1: end the forward pass "
                               "with a log-softmax over the classes, torch.log_softmax(z, dim=1).")]
