"""A multi-layer perceptron whose gradients come from the mini-autodiff.

Same model and conventions as ``NumpyMLP``: weights ``(out, in)``, biases ``(1, out)``,
``z = a @ W.T + b``, softmax output, MEAN cross-entropy. The difference is that
``gradients`` is a single call to ``grad`` on the loss: no hand-written backward pass,
only the VJP rules and ``backward_pass`` of exercises A.1-A.6.
"""
import numpy as np

from backprop_labs.activations import check_activation_functions
from backprop_labs.utils import Model, glorot_weight_init, index2onehot

from . import primitives as anp
from .backward import grad
from .logistic_example import sigmoid

TRACED_ACTIVATIONS = {"tanh": anp.tanh, "sigmoid": sigmoid}


def _value(x):
    """The plain array behind a possibly traced value."""
    return getattr(x, "value", x)


def log_softmax(z):
    """Row-wise ``z - log(sum(exp(z)))`` for ``z (B, K)``.

    The row maximum is subtracted inside ``exp`` against overflow and added back; it is
    taken as a constant, which is exact because the result does not depend on it.
    """
    shift = np.max(_value(z), axis=1, keepdims=True)
    return z - (anp.log(anp.sum(anp.exp(z - shift), axis=1, keepdims=True)) + shift)


def mlp_log_probabilities(flat_parameters, input, activation_functions):
    """Log-probabilities ``(B, K)`` for ``flat_parameters = [W_0, b_0, W_1, b_1, ...]``."""
    activation = input
    last = len(flat_parameters) // 2 - 1
    for n in range(last + 1):
        weight, bias = flat_parameters[2 * n], flat_parameters[2 * n + 1]
        z = activation @ weight.T + bias
        activation = TRACED_ACTIVATIONS[activation_functions[n]](z) if n < last else log_softmax(z)
    return activation


class AutodiffMLP(Model):
    """Feed-forward network differentiated by the mini-autodiff.

    ``geometry = [in, h1, ..., K]``; hidden activations ``'tanh'`` or ``'sigmoid'``, then
    ``'softmax'``. ``self.parameters`` is ``[[W, b], ...]``; ``gradients(input, output)``
    returns ``[[dW, db], ...]`` of the mean cross-entropy, each shaped like its parameter.
    """

    def __init__(self, geometry, activation_functions, learning_rate, seed=0):
        self.geometry, self.activation_functions = check_activation_functions(geometry, activation_functions)
        untraced = sorted(set(self.activation_functions[:-1]) - set(TRACED_ACTIVATIONS))
        if untraced:
            raise ValueError(f"the mini-autodiff traces {sorted(TRACED_ACTIVATIONS)} only, not {untraced}")
        self.learning_rate = learning_rate
        rng = np.random.default_rng(seed)
        self.parameters = [
            [glorot_weight_init((size_out, size_in), activation, rng), np.zeros((1, size_out))]
            for size_in, size_out, activation in zip(geometry[:-1], geometry[1:], activation_functions)
        ]

    def _flat_parameters(self):
        return [array for pair in self.parameters for array in pair]

    def _mean_cross_entropy(self, input, onehot, *flat_parameters):
        log_probabilities = mlp_log_probabilities(flat_parameters, input, self.activation_functions)
        return -anp.sum(onehot * log_probabilities) / len(onehot)

    def log_forward(self, input):
        """Log-probabilities ``(B, K)`` of a batch ``input`` of shape ``(B, I)``."""
        return mlp_log_probabilities(self._flat_parameters(), input, self.activation_functions)

    def cross_entropy_loss(self, input, output):
        """Mean over the batch of ``-log p(output | input)``; ``output`` holds class indices ``(B,)``."""
        return float(self._mean_cross_entropy(input, index2onehot(output, self.geometry[-1]),
                                              *self._flat_parameters()))

    def gradients(self, input, output):
        """``[[dW, db], ...]`` of the mean cross-entropy, by ``grad`` over every parameter."""
        flat = self._flat_parameters()
        positions = tuple(range(2, 2 + len(flat)))  # after input and onehot
        flat_gradients = grad(self._mean_cross_entropy, positions)(
            input, index2onehot(output, self.geometry[-1]), *flat)
        return [list(flat_gradients[i:i + 2]) for i in range(0, len(flat_gradients), 2)]

    def update(self, input, output):
        """One SGD step on the mean cross-entropy of the batch."""
        for parameter_pair, gradient_pair in zip(self.parameters, self.gradients(input, output)):
            for parameter, gradient in zip(parameter_pair, gradient_pair):
                parameter -= self.learning_rate * gradient
