"""Numerical building blocks shared by all labs.

Shapes follow the package conventions: weights ``(out, in)``, biases ``(1, out)``,
``z = x @ W.T + b``.
"""
import numpy as np
import scipy.special


def logsumexp(a, axis=None, keepdims=False):
    """Stable ``log(sum(exp(a)))`` along ``axis`` (SciPy's, which subtracts the maximum first so
    that ``exp`` cannot overflow). ``axis`` is ``None``, an int or a tuple of ints; ``keepdims`` as
    in ``np.sum``; rows that are all ``-inf`` give ``-inf``.
    """
    with np.errstate(divide="ignore"):  # log(0) = -inf is the right answer for an all -inf row
        return scipy.special.logsumexp(np.asarray(a), axis=axis, keepdims=keepdims)


def index2onehot(index, num_classes, dtype=np.float64):
    """One-hot matrix of shape ``(B, num_classes)`` and type ``dtype`` for class indices of shape ``(B,)``."""
    index = np.asarray(index, dtype=int).reshape(-1)
    if index.size and (index.min() < 0 or index.max() >= num_classes):
        raise ValueError(
            f"class indices must lie in [0, {num_classes}), got values from {index.min()} to {index.max()}"
        )
    onehot = np.zeros((index.size, num_classes), dtype=dtype)
    onehot[np.arange(index.size), index] = 1.0
    return onehot


def glorot_weight_init(shape, activation_function, seed=None):
    """Glorot (Xavier) uniform initialisation of a weight of shape ``(out, in)``.

    The bound ``sqrt(6 / (in + out))`` keeps the variance of activations roughly
    constant from layer to layer; sigmoid layers use four times that bound because
    the sigmoid's slope at 0 is 1/4. ``seed`` may be an int, ``None`` or a
    ``np.random.Generator`` (shared by several layers to draw different weights).
    """
    fan_out, fan_in = shape
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    if activation_function == "sigmoid":
        bound *= 4.0
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return rng.uniform(low=-bound, high=bound, size=shape)


def accuracy(predicted, gold):
    """Fraction of predictions equal to the gold class indices."""
    return float(np.mean(np.asarray(predicted) == np.asarray(gold)))


class Model:
    """Interface shared by every classifier in the labs.

    ``log_forward(input)`` returns log-probabilities ``(B, K)``, ``cross_entropy_loss(input, output)``
    their mean cross-entropy (NumPy; the PyTorch models override it), ``predict(input)``
    the most probable class ``(B,)``, and ``update(input, output)`` takes one SGD
    step on the mean cross-entropy of the batch.
    """

    def log_forward(self, input):
        raise NotImplementedError

    def cross_entropy_loss(self, input, output):
        """Mean over the batch of ``-log p(output | input)``; ``output`` holds class indices ``(B,)``."""
        log_probabilities = self.log_forward(input)
        return -np.mean(log_probabilities[np.arange(len(output)), output])

    def predict(self, input):
        """Most probable class index for each example, shape ``(B,)``."""
        return np.argmax(np.asarray(self.log_forward(input)), axis=1)

    def update(self, input, output):
        raise NotImplementedError
