# Generated from labs_solutions/forward_reverse/progressive.py by `backprop-labs generate`: edit that file, not this one.
"""Backpropagation on a progressive function with explicit Jacobian blocks ``A_i, B_i``.

Layer ``i`` maps its input ``z_i (n_i,)`` and its parameters ``w_i`` (the rows of
``W_i (n_{i+1}, n_i)`` laid end to end, ``n_{i+1} n_i`` numbers) to ``z_{i+1}``. Its
Jacobian splits into ``A_i = d z_{i+1} / d z_i`` of shape ``(n_{i+1}, n_i)`` and
``B_i = d z_{i+1} / d w_i`` of shape ``(n_{i+1}, n_{i+1} n_i)``. A softmax layer with no
parameters and the cross-entropy ``-sum_k y_k log z_k`` against a one-hot ``y`` close the
chain. Backward: ``p = A^T p`` carries the gradient to the layer below and
``q_i = B_i^T p_{i+1}`` is the gradient with respect to ``w_i``.

With a single linear layer this is multinomial logistic regression, whose gradient has
the closed form ``(softmax(W x) - y) kron x``.
"""
import numpy as np

from backprop_labs.activations import sigmoid
from backprop_labs.utils import Model, glorot_weight_init, index2onehot, logsumexp


def linear_layer(z, weight):
    """``W z``, with ``A = W`` and ``B = I kron z^T`` (row ``k`` of ``W`` only moves output ``k``)."""
    return weight @ z, weight, np.kron(np.eye(weight.shape[0]), z[np.newaxis, :])


def sigmoid_layer(z, weight):
    """``sigma(W z)``, with ``A = diag(sigma') W`` and ``B = diag(sigma') kron z^T``."""
    output = sigmoid(weight @ z)
    slope = output * (1.0 - output)
    return output, slope[:, np.newaxis] * weight, np.kron(np.diag(slope), z[np.newaxis, :])


def softmax(z):
    """``exp(z) / sum(exp(z))`` for a vector ``z (K,)``, computed stably."""
    return np.exp(z - logsumexp(z))


def softmax_layer(z):
    """``softmax(z)`` and its Jacobian ``diag(s) - s s^T``; no parameters, so no ``B``."""
    output = softmax(z)
    return output, np.diag(output) - np.outer(output, output), None


LAYERS = {"linear": linear_layer, "sigmoid": sigmoid_layer}


def progressive_backprop(x, y, layers):
    """Loss and gradients of ``-sum_k y_k log softmax(g_L(... g_1(x)))_k``.

    ``x`` is ``(d,)``, ``y`` a one-hot ``(K,)``, ``layers`` a list of ``(kind, W)`` with
    ``kind`` in ``LAYERS``. Returns ``(loss, [q_1, ..., q_L])``, ``q_i`` the flat gradient
    with respect to ``w_i`` (``q_i.reshape(W_i.shape)`` gives it as a matrix).
    """
    z, blocks = np.asarray(x, dtype=float), []
    for kind, weight in layers:
        z, a_block, b_block = LAYERS[kind](z, weight)
        blocks.append((a_block, b_block))
    probabilities, softmax_jacobian, _ = softmax_layer(z)
    loss = -float(np.sum(y * np.log(probabilities)))
    loss_gradient = -y / probabilities
    gradients = [None] * len(blocks)  # gradients[i]: the gradient of layer i's parameters, first layer first
    raise NotImplementedError('Exercise F.3: backward loop with the blocks A_i and B_i')
    return loss, gradients


def multinomial_logistic_gradient(weight, x, y):
    """Closed form of the gradient with respect to the rows of ``W (K, d)``:
    ``(softmax(W x) - y) kron x``, shape ``(K d,)``."""
    return np.kron(softmax(weight @ x) - y, x)


class ProgressiveNetwork(Model):
    """A classifier trained with :func:`progressive_backprop`, one example at a time.

    ``geometry = [d, n_2, ..., K]`` and ``layer_kinds`` one name from ``LAYERS`` per
    layer (``['linear']`` is multinomial logistic regression); a softmax follows the last
    layer. No biases, as in the text (append a constant 1 to the input for one).
    ``self.parameters`` is ``[[W_1], [W_2], ...]`` with ``W_i`` of shape ``(out, in)``;
    ``backpropagation`` returns ``[[dW_1], ...]`` of the MEAN cross-entropy of a batch.
    """

    def __init__(self, geometry, layer_kinds, learning_rate, seed=0):
        if len(layer_kinds) != len(geometry) - 1 or not set(layer_kinds) <= set(LAYERS):
            raise ValueError(f"geometry {list(geometry)} needs {len(geometry) - 1} layer kinds "
                             f"from {sorted(LAYERS)}, got {list(layer_kinds)}")
        self.geometry, self.layer_kinds = list(geometry), list(layer_kinds)
        self.learning_rate = learning_rate
        rng = np.random.default_rng(seed)
        self.parameters = [[glorot_weight_init((size_out, size_in), kind, rng)]
                           for size_in, size_out, kind in zip(geometry[:-1], geometry[1:], layer_kinds)]

    def _layers(self):
        return [(kind, weight) for kind, [weight] in zip(self.layer_kinds, self.parameters)]

    def log_forward(self, input):
        """Log-probabilities ``(B, K)`` for ``input (B, d)``."""
        activation = np.asarray(input, dtype=float)
        for kind, weight in self._layers():
            activation = activation @ weight.T
            if kind == "sigmoid":
                activation = sigmoid(activation)
        return activation - logsumexp(activation, axis=1, keepdims=True)

    def cross_entropy_loss(self, input, output):
        """Mean over the batch of ``-log p(output | input)``; ``output`` holds class indices ``(B,)``."""
        return -float(np.mean(self.log_forward(input)[np.arange(len(output)), output]))

    def backpropagation(self, input, output):
        """``[[dW_1], ...]``: the per-example gradients ``q_i`` of :func:`progressive_backprop`,
        reshaped to ``W_i``'s shape and averaged over the batch."""
        layers = self._layers()
        totals = [np.zeros_like(weight) for _, weight in layers]
        for x, y in zip(np.asarray(input, dtype=float), index2onehot(output, self.geometry[-1])):
            for total, q, (_, weight) in zip(totals, progressive_backprop(x, y, layers)[1], layers):
                total += q.reshape(weight.shape)
        return [[total / len(input)] for total in totals]

    def update(self, input, output):
        """One SGD step on the mean cross-entropy of the batch."""
        for [weight], [gradient] in zip(self.parameters, self.backpropagation(input, output)):
            weight -= self.learning_rate * gradient
