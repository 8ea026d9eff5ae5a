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
        ### BEGIN SOLUTION (Exercise 2.1: say what this block computes)
        # Linear transformation: one row of scores z per example, (B, K).
        ### END SOLUTION
        z = input @ self.weight.T + self.bias
        ### BEGIN SOLUTION (Exercise 2.1: say what this block computes)
        # Softmax in the log domain: subtracting log Z normalises without overflow.
        ### END SOLUTION
        return z - logsumexp(z, axis=1, keepdims=True)

    def backpropagation(self, input, output):
        """Gradient of the mean cross-entropy: ``[[dW (K, I), db (1, K)]]``."""
        # The batch is used in two products: convert it to the weights' dtype once, not twice.
        input = np.asarray(input, dtype=self.weight.dtype)
        probabilities = np.exp(self.log_forward(input))
        batch_size, num_classes = probabilities.shape
        ### BEGIN SOLUTION (Exercise 2.1: say what this block computes)
        # Error at the softmax input: E = (P - Y) / B, (B, K), the gradient of the mean
        # loss with respect to the scores z (Y is the one-hot gold class).
        ### END SOLUTION
        error = (probabilities - index2onehot(output, num_classes)) / batch_size
        ### BEGIN SOLUTION (Exercise 2.1: say what this block computes)
        # Each weight's gradient is its error times the input it multiplies, summed over
        # the batch: dW = E.T @ X, (K, I), one product instead of a loop of outer products.
        ### END SOLUTION
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
        ### BEGIN SOLUTION (Exercise 2.3: say what PyTorch needs here)
        # The parameters are tensors with requires_grad=True: PyTorch records every
        # operation on them, so that autograd can differentiate the loss.
        ### END SOLUTION
        initial_weight = glorot_weight_init((num_classes, input_size), "softmax", seed)
        self.weight = torch.tensor(initial_weight, dtype=dtype, requires_grad=True)  # (K, I)
        self.bias = torch.zeros(1, num_classes, dtype=dtype, requires_grad=True)    # (1, K)
        self.learning_rate = learning_rate

    @property
    def parameters(self):
        return [[self.weight, self.bias]]

    def _log_forward(self, input):
        """Log-probabilities as a torch tensor that autograd can differentiate."""
        ### BEGIN SOLUTION (Exercise 2.3: say what PyTorch needs here)
        # NumPy input must become a tensor of the parameters' dtype.
        ### END SOLUTION
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
        ### BEGIN SOLUTION (Exercise 2.3: say what PyTorch needs here)
        # Class indices must be int64 (long) for nll_loss.
        ### END SOLUTION
        gold = torch.as_tensor(np.asarray(output), dtype=torch.long)
        return torch.nn.functional.nll_loss(self._log_forward(input), gold)

    def update(self, input, output):
        """One SGD step; returns the loss of the batch before the step."""
        loss = self._loss(input, output)
        ### BEGIN SOLUTION (Exercise 2.3: say what PyTorch needs here)
        # backward() fills .grad of every tensor with requires_grad; the update must not
        # be recorded, hence no_grad().
        ### END SOLUTION
        loss.backward()
        with torch.no_grad():
            for parameter in (self.weight, self.bias):
                parameter -= self.learning_rate * parameter.grad
                ### BEGIN SOLUTION (Exercise 2.3: say what PyTorch needs here)
                # Autograd adds into .grad: clear it, or the next step adds the two gradients.
                ### END SOLUTION
                parameter.grad.zero_()
        return loss.item()
