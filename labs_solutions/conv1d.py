"""Exercise C.1: backpropagation through a 1-D convolution, a weight shared across positions.

A batch ``input`` ``(B, L)`` holds B sequences of L numbers. A window of ``width`` numbers slides
along each sequence one step at a time, over ``P = L - width + 1`` positions. At every position
``t`` the SAME kernel ``K`` ``(1, width)`` and bias ``c`` ``(1, 1)`` give one feature::

    z[:, t] = input[:, t:t + width] @ K.T + c          # (B,): z is (B, P)
    h = relu(z)                                         # (B, P)
    logits = h @ W.T + b                                # W (classes, P), b (1, classes)

and a softmax turns the logits into class probabilities. ``parameters == [[K, c], [W, b]]``:
weights are ``(out, in)`` (the kernel has one output and ``width`` inputs). The loss is the MEAN
cross-entropy over the batch, and every gradient is a gradient of that mean.

Because the kernel is used at every position, its gradient is the SUM over positions of the
gradients that a separate copy of it at each position would get (and likewise for ``c``).
"""
import numpy as np

from backprop_labs.utils import Model, index2onehot, logsumexp

MOTIF = np.array([1.0, 2.0, 1.0])   # the pattern that makes a sequence of class 1


def motif_sequences(num_examples=200, length=12, noise=0.5, seed=0):
    """``(input (N, length) float64, output (N,) int64)``: Gaussian noise; half of the sequences
    (class 1) also hold :data:`MOTIF` at a random position, the others (class 0) do not."""
    rng = np.random.default_rng(seed)
    input = rng.normal(0, noise, (num_examples, length))
    output = rng.permutation(np.arange(num_examples) % 2).astype(np.int64)
    for row in np.flatnonzero(output):
        start = rng.integers(length - len(MOTIF) + 1)
        input[row, start:start + len(MOTIF)] += MOTIF
    return input, output


class Conv1dNetwork(Model):
    """One convolution kernel slid along the sequence, a ReLU, then a softmax layer over classes.

    ``length``: L, the length of every sequence; ``width``: the kernel's width; ``self.parameters``
    is ``[[K (1, width), c (1, 1)], [W (num_classes, P), b (1, num_classes)]]`` with
    ``P = length - width + 1``.
    """

    def __init__(self, length, width=3, num_classes=2, learning_rate=0.1, seed=0):
        if not 1 <= width <= length:
            raise ValueError(f"the kernel's width must be between 1 and the length {length}, got {width}")
        rng = np.random.default_rng(seed)
        positions = length - width + 1
        self.width, self.learning_rate = width, learning_rate
        self.parameters = [[rng.normal(0, 1 / np.sqrt(width), (1, width)), np.zeros((1, 1))],
                           [rng.normal(0, 1 / np.sqrt(positions), (num_classes, positions)),
                            np.zeros((1, num_classes))]]

    def windows(self, input):
        """``(B, P, width)``: ``windows[:, t]`` is ``input[:, t:t + width]`` (a view: no copy)."""
        return np.lib.stride_tricks.sliding_window_view(input, self.width, axis=1)

    def forward_keeping_activations(self, input):
        """``(log_probabilities (B, classes), windows (B, P, width), z (B, P), h (B, P))``."""
        (kernel, kernel_bias), (weight, bias) = self.parameters
        windows = self.windows(input)
        z = (windows @ kernel.T)[:, :, 0] + kernel_bias
        hidden = np.maximum(z, 0)
        logits = hidden @ weight.T + bias
        return logits - logsumexp(logits, axis=1, keepdims=True), windows, z, hidden

    def log_forward(self, input):
        return self.forward_keeping_activations(input)[0]

    def backpropagation(self, input, output):
        """``[[dK (1, width), dc (1, 1)], [dW (classes, P), db (1, classes)]]``: the gradients of the
        mean cross-entropy. The output layer's are given; write the kernel's and its bias's."""
        log_probabilities, windows, z, hidden = self.forward_keeping_activations(input)
        weight = self.parameters[1][0]
        batch_size, num_classes = log_probabilities.shape
        error = (np.exp(log_probabilities) - index2onehot(output, num_classes)) / batch_size   # (B, classes)
        gradient_weight, gradient_bias = error.T @ hidden, error.sum(axis=0, keepdims=True)
        feature_error = (error @ weight) * (z > 0)   # (B, P): the error at every position's feature z[:, t]
        ### BEGIN SOLUTION (Exercise C.1: the gradients of the shared kernel and of its bias)
        gradient_kernel = np.einsum("bp,bpw->w", feature_error, windows)[np.newaxis, :]
        gradient_kernel_bias = feature_error.sum().reshape(1, 1)
        ### END SOLUTION
        return [[gradient_kernel, gradient_kernel_bias], [gradient_weight, gradient_bias]]

    def update(self, input, output):
        """One SGD step on the batch's mean cross-entropy."""
        for pair, gradients in zip(self.parameters, self.backpropagation(input, output)):
            for parameter, gradient in zip(pair, gradients):
                parameter -= self.learning_rate * gradient
