# Generated from labs_solutions/autodiff/logistic_example.py by `backprop-labs generate`: edit that file, not this one.
"""The lecture's closing example, run on the mini-autodiff: logistic regression trained by
gradient descent, with the gradient of the loss obtained from ``grad``.

Conventions: ``inputs`` is ``(N, D)``, ``targets`` holds ``N`` booleans, ``weights`` is
``(D,)``; the loss is the SUMMED negative log-likelihood of the targets.
"""
import numpy as np

from backprop_labs.utils import accuracy

from . import primitives as anp
from .backward import value_and_grad


def sigmoid(z):
    """Logistic function written with tanh, the only squashing primitive traced here:
    ``1 / (1 + exp(-z)) = (1 + tanh(z / 2)) / 2``."""
    return 0.5 * (anp.tanh(0.5 * z) + 1.0)


def negative_log_likelihood(weights, inputs, targets):
    """``-sum_n log P(targets[n] | inputs[n])`` with ``P(true | x) = sigmoid(x . weights)``.

    Uses ``1 - sigmoid(s) = sigmoid(-s)``: the probability of the observed label is the
    sigmoid of the score with its sign flipped for false targets.
    """
    signs = np.where(targets, 1.0, -1.0)
    return -anp.sum(anp.log(sigmoid(signs * anp.dot(inputs, weights))))


def make_toy_problem(num_examples=200, num_features=3, seed=0):
    """Gaussian inputs ``(N, D)`` and noisy boolean targets drawn from a true logistic model."""
    rng = np.random.default_rng(seed)
    inputs = rng.normal(size=(num_examples, num_features))
    true_weights = rng.normal(scale=2.0, size=num_features)
    probabilities = 1.0 / (1.0 + np.exp(-inputs @ true_weights))
    return inputs, rng.random(num_examples) < probabilities


def train_logistic_regression(inputs, targets, steps=100, learning_rate=0.01):
    """Gradient descent from zero weights; returns ``(weights, losses)`` with the loss
    before each step and after the last (``steps + 1`` values)."""
    loss_and_gradient = value_and_grad(negative_log_likelihood)
    weights = np.zeros(inputs.shape[1])
    losses = []
    for _ in range(steps):
        loss, gradient = loss_and_gradient(weights, inputs, targets)
        losses.append(float(loss))
        weights = weights - learning_rate * gradient
    losses.append(float(negative_log_likelihood(weights, inputs, targets)))
    return weights, losses


def training_accuracy(weights, inputs, targets):
    """Fraction of targets predicted right by thresholding the probability at 1/2."""
    return accuracy(inputs @ weights > 0, targets)
