# Generated from labs_solutions/log_linear.py by `backprop-labs generate`: edit that file, not this one.
"""Exercises 2.1 and 2.3: a log-linear classifier in NumPy and in PyTorch (read and comment).

Both models compute ``p(y = k | x) = softmax(x @ W.T + b)_k`` with ``W`` of shape
``(K, I)`` and ``b`` of shape ``(1, K)``, and take SGD steps on the MEAN cross-entropy
of a batch. Compare them line by line: the NumPy model writes its gradient by hand,
the PyTorch model asks autograd for it.
"""
import numpy as np
import torch

from backprop_labs.utils import Model, glorot_weight_init, index2onehot, logsumexp


class NumpyLogLinear(Model):
    """Log-linear model with a hand-written gradient.

    Parameters: ``input_size`` I, ``num_classes`` K, ``learning_rate``, ``seed`` for
    the initial weights.
    """

    def __init__(self, input_size, num_classes, learning_rate, seed=0):
        self.weight = glorot_weight_init((num_classes, input_size), "softmax", seed)  # (K, I)
        self.bias = np.zeros((1, num_classes))                                       # (1, K)
        self.learning_rate = learning_rate

    @property
    def parameters(self):
        """``[[W, b]]``: one layer, in the same layout as the MLPs."""
        return [[self.weight, self.bias]]

    def log_forward(self, input):
        """Log-probabilities ``(B, K)`` of a batch ``input`` of shape ``(B, I)``."""
        # Exercise 2.1: say what this block computes
        z = input @ self.weight.T + self.bias
        # Exercise 2.1: say what this block computes
        return z - logsumexp(z, axis=1, keepdims=True)

    def backpropagation(self, input, output):
        """Gradient of the mean cross-entropy: ``[[dW (K, I), db (1, K)]]``."""
        # The batch is used in two products: convert it to the weights' dtype once, not twice.
        input = np.asarray(input, dtype=self.weight.dtype)
        probabilities = np.exp(self.log_forward(input))
        batch_size, num_classes = probabilities.shape
        # Exercise 2.1: say what this block computes
        error = (probabilities - index2onehot(output, num_classes)) / batch_size
        # Exercise 2.1: say what this block computes
        gradient_weight = error.T @ input
        gradient_bias = np.sum(error, axis=0, keepdims=True)
        return [[gradient_weight, gradient_bias]]

    def update(self, input, output):
        """One SGD step: move every parameter against its gradient."""
        [[gradient_weight, gradient_bias]] = self.backpropagation(input, output)
        self.weight = self.weight - self.learning_rate * gradient_weight
        self.bias = self.bias - self.learning_rate * gradient_bias


class PytorchLogLinear(Model):
    """The same log-linear model, with its gradient computed by PyTorch autograd."""

    def __init__(self, input_size, num_classes, learning_rate, seed=0, dtype=torch.float32):
        self.dtype = dtype
        # Exercise 2.3: say what PyTorch needs here
        initial_weight = glorot_weight_init((num_classes, input_size), "softmax", seed)
        self.weight = torch.tensor(initial_weight, dtype=dtype, requires_grad=True)  # (K, I)
        self.bias = torch.zeros(1, num_classes, dtype=dtype, requires_grad=True)    # (1, K)
        self.learning_rate = learning_rate

    @property
    def parameters(self):
        return [[self.weight, self.bias]]

    def _log_forward(self, input):
        """Log-probabilities as a torch tensor that autograd can differentiate."""
        # Exercise 2.3: say what PyTorch needs here
        input = torch.as_tensor(np.asarray(input), dtype=self.dtype)
        z = input @ self.weight.T + self.bias
        return torch.log_softmax(z, dim=1)

    def log_forward(self, input):
        """Log-probabilities ``(B, K)`` as a NumPy array."""
        with torch.no_grad():
            return self._log_forward(input).numpy()

    def cross_entropy_loss(self, input, output):
        with torch.no_grad():
            return self._loss(input, output).item()

    def _loss(self, input, output):
        # Exercise 2.3: say what PyTorch needs here
        gold = torch.as_tensor(np.asarray(output), dtype=torch.long)
        return torch.nn.functional.nll_loss(self._log_forward(input), gold)

    def update(self, input, output):
        """One SGD step; returns the loss of the batch before the step."""
        loss = self._loss(input, output)
        # Exercise 2.3: say what PyTorch needs here
        loss.backward()
        with torch.no_grad():
            for parameter in (self.weight, self.bias):
                parameter -= self.learning_rate * parameter.grad
                # Exercise 2.3: say what PyTorch needs here
                parameter.grad.zero_()
        return loss.item()
