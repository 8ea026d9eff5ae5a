# Generated from labs_solutions/pytorch_mlp.py by `backprop-labs generate`: edit that file, not this one.
"""Exercise 2.4: the forward pass of a multi-layer perceptron in PyTorch.

Same conventions as the NumPy MLP: weights ``(out, in)``, biases ``(1, out)``,
``z = a @ W.T + b``, loss the MEAN cross-entropy over the batch. Only the forward pass
is written by hand; autograd computes the gradients.
"""
import numpy as np
import torch

from backprop_labs.activations import check_activation_functions
from backprop_labs.utils import Model, glorot_weight_init

TORCH_HIDDEN_ACTIVATIONS = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
}


class PytorchMLP(Model):
    """Feed-forward network whose gradients come from PyTorch autograd.

    Same constructor as ``NumpyMLP``; with the same ``seed`` both start from the same
    weights. ``self.parameters`` is ``[[W, b], ...]`` of tensors with ``requires_grad``.
    """

    def __init__(self, geometry, activation_functions, learning_rate, seed=0, dtype=torch.float32):
        self.geometry, self.activation_functions = check_activation_functions(
            geometry, activation_functions
        )
        self.learning_rate = learning_rate
        self.dtype = dtype
        rng = np.random.default_rng(seed)
        self.parameters = [
            [torch.tensor(glorot_weight_init((size_out, size_in), activation, rng), dtype=dtype,
                          requires_grad=True),
             torch.zeros(1, size_out, dtype=dtype, requires_grad=True)]
            for size_in, size_out, activation in zip(geometry[:-1], geometry[1:], activation_functions)
        ]

    def _log_forward(self, input):
        """Log-probabilities ``(B, K)`` as a tensor autograd can differentiate.

        ``input`` is a NumPy array or tensor of shape ``(B, I)``. Hidden layers use
        ``TORCH_HIDDEN_ACTIVATIONS[name]``; the last layer is a log-softmax over classes.
        """
        activation = torch.as_tensor(np.asarray(input), dtype=self.dtype)
        last = len(self.parameters) - 1
        for n, (weight, bias) in enumerate(self.parameters):
            raise NotImplementedError('Exercise 2.4: compute layer n of PytorchMLP._log_forward')
        return activation

    def log_forward(self, input):
        """Log-probabilities ``(B, K)`` as a NumPy array."""
        with torch.no_grad():
            return self._log_forward(input).numpy()

    def _loss(self, input, output):
        gold = torch.as_tensor(np.asarray(output), dtype=torch.long)
        return torch.nn.functional.nll_loss(self._log_forward(input), gold)

    def cross_entropy_loss(self, input, output):
        """Mean cross-entropy of the batch, as a float."""
        with torch.no_grad():
            return self._loss(input, output).item()

    def backpropagation(self, input, output):
        """Gradients from autograd as NumPy arrays ``[[dW, db], ...]``, like ``NumpyMLP``."""
        flat = [parameter for pair in self.parameters for parameter in pair]
        gradients = torch.autograd.grad(self._loss(input, output), flat)
        return [[gradients[i].numpy(), gradients[i + 1].numpy()] for i in range(0, len(flat), 2)]

    def update(self, input, output):
        """One SGD step; returns the loss of the batch before the step."""
        loss = self._loss(input, output)
        loss.backward()
        with torch.no_grad():
            for pair in self.parameters:
                for parameter in pair:
                    parameter -= self.learning_rate * parameter.grad
                    parameter.grad.zero_()  # autograd accumulates into .grad
        return loss.item()
