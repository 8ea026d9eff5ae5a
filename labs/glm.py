# Generated from labs_solutions/glm.py by `backprop-labs generate`: edit that file, not this one.
"""Exercises G.1 and G.2: backpropagation that starts at the natural parameter of the output.

A network maps an input ``x`` (B, 1) through ReLU layers 1-30-20 to ``eta`` (B, out), the
natural parameter of the label's distribution. The label's mean is ``y_hat = f(eta)`` where
``f`` is the distribution's inverse (canonical) link. For every natural exponential family
the derivative of the negative log-likelihood with respect to ``eta`` is ``y_hat - y``, so
the gradient of the MEAN loss over a batch of ``B`` examples can be seeded at ``eta`` with
``(y_hat - y) / B`` and autograd does the rest: no loss function is needed for training.

``DISTRIBUTIONS`` is the only place where the three label distributions differ. Training by
the seed uses two of its fields, the inverse link and the output size; the negative
log-likelihood serves the explicit-loss route and the reported losses, and ``targets`` turns
labels into rows of ``y``.
Shapes: ``eta``, ``y_hat`` and the targets ``y`` are all ``(B, out)``; categorical targets are
one-hot rows. Weights are ``(out, in)``, biases ``(1, out)``, as in every lab.
"""
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from backprop_labs.activations import OUTPUT_ACTIVATION
from backprop_labs.datasets.glm_synthetic import GLMData, synthetic_glm_data  # noqa: F401 (the lab's data)
from backprop_labs.utils import index2onehot

from .pytorch_mlp import TORCH_HIDDEN_ACTIVATIONS, PytorchMLP

HIDDEN_SIZES = (30, 20)


# Inverse links: the mean of the label given the natural parameter, (B, out) -> (B, out).

def gaussian_mean(eta):
    """Mean of a unit-variance Gaussian whose natural parameter is ``eta`` (B, 1)."""
    raise NotImplementedError('Exercise G.1: inverse link of the Gaussian')


def categorical_mean(eta):
    """Class probabilities (B, K) of a categorical whose natural parameters are the logits ``eta`` (B, K).

    Each row sums to 1 and stays finite for logits of any size.
    """
    raise NotImplementedError('Exercise G.1: inverse link of the categorical')


def poisson_mean(eta):
    """Rate (B, 1) of a Poisson whose natural parameter is ``eta`` (B, 1), the log-rate."""
    raise NotImplementedError('Exercise G.1: inverse link of the Poisson')


# Negative log-likelihoods, per example (B,), written out in full (constants included):
# the explicit-loss route differentiates these with autograd.

def gaussian_negative_log_likelihood(eta, targets):
    """``0.5 (y - eta)^2 + 0.5 log(2 pi)`` for unit variance."""
    return torch.sum(0.5 * (targets - eta) ** 2, dim=1) + 0.5 * math.log(2 * math.pi)


def categorical_negative_log_likelihood(eta, targets):
    """``-sum_k y_k log softmax(eta)_k`` for one-hot targets (B, K)."""
    return -torch.sum(targets * torch.log_softmax(eta, dim=1), dim=1)


def poisson_negative_log_likelihood(eta, targets):
    """``exp(eta) - y eta + log(y!)`` for counts ``y``."""
    return torch.sum(torch.exp(eta) - targets * eta + torch.lgamma(targets + 1), dim=1)


def as_column(labels):
    """Labels (B,) as targets (B, 1)."""
    return np.asarray(labels, dtype=np.float64).reshape(-1, 1)


def as_binary_onehot(labels):
    """Class indices 0/1 (B,) as one-hot targets (B, 2)."""
    return index2onehot(labels, 2)


@dataclass(frozen=True)
class LabelDistribution:
    """What the network needs to know about a label distribution."""

    output_size: int                  # size of eta and y_hat
    inverse_link: Callable            # eta (B, out) -> y_hat (B, out), the mean of y
    negative_log_likelihood: Callable  # (eta, targets) -> (B,)
    targets: Callable                 # labels (B,) -> NumPy targets (B, out)


DISTRIBUTIONS = {
    "gaussian": LabelDistribution(1, gaussian_mean, gaussian_negative_log_likelihood, as_column),
    "categorical": LabelDistribution(2, categorical_mean, categorical_negative_log_likelihood,
                                     as_binary_onehot),
    "poisson": LabelDistribution(1, poisson_mean, poisson_negative_log_likelihood, as_column),
}


def natural_parameter_seed(y_hat, targets):
    """Gradient of the MEAN negative log-likelihood with respect to ``eta``, shape (B, out).

    ``y_hat`` is the predicted mean and ``targets`` the labels, both (B, out). The same
    expression serves every distribution in ``DISTRIBUTIONS``.
    """
    raise NotImplementedError('Exercise G.2: seed gradient at the natural parameter')


# The two ways to the gradient of the mean negative log-likelihood. Each takes eta (B, out)
# with its graph and the flat parameter list, and returns one gradient per parameter.

def gradients_from_loss(distribution, eta, targets, parameters):
    """Write the mean negative log-likelihood and let autograd differentiate all of it."""
    loss = distribution.negative_log_likelihood(eta, targets).mean()
    return torch.autograd.grad(loss, parameters)


def gradients_from_natural_parameter(distribution, eta, targets, parameters):
    """Seed backpropagation at ``eta`` with ``(y_hat - y) / B``: no loss function involved.

    ``grad_outputs`` is the gradient that arrives at ``eta`` from above, which is what
    ``eta.backward(seed)`` would pass down, without accumulating into ``.grad``.
    """
    y_hat = distribution.inverse_link(eta.detach())
    return torch.autograd.grad(eta, parameters, grad_outputs=natural_parameter_seed(y_hat, targets))


TRAINING_ROUTES = {
    "negative_log_likelihood": gradients_from_loss,
    "natural_parameter": gradients_from_natural_parameter,
}


class GLMNetwork:
    """ReLU network ``1 - 30 - 20 - out`` whose output is the natural parameter ``eta``.

    ``distribution`` is a key of ``DISTRIBUTIONS``. The parameters ``[[W, b], ...]`` (float64
    tensors by default) are made by ``PytorchMLP``: same Glorot initialisation from ``seed``,
    same layout. Its output label only tells the initialisation that the last layer is not a
    sigmoid; no softmax is applied here: :meth:`natural_parameter` stops at ``eta`` and the
    distribution's inverse link gives the mean. ``labels`` are always the raw labels (B,):
    values for the Gaussian, class indices 0/1 for the categorical, counts for the Poisson.
    """

    def __init__(self, distribution, hidden_sizes=HIDDEN_SIZES, seed=0, dtype=torch.float64):
        if distribution not in DISTRIBUTIONS:
            raise ValueError(f"unknown distribution {distribution!r}; choose one of {sorted(DISTRIBUTIONS)}")
        self.distribution_name = distribution
        self.distribution = DISTRIBUTIONS[distribution]
        geometry = [1, *hidden_sizes, self.distribution.output_size]
        self.hidden_activations = ["relu"] * len(hidden_sizes)
        mlp = PytorchMLP(geometry, self.hidden_activations + [OUTPUT_ACTIVATION],
                         learning_rate=None, seed=seed, dtype=dtype)
        self.parameters, self.dtype = mlp.parameters, dtype

    @property
    def flat_parameters(self):
        return [parameter for pair in self.parameters for parameter in pair]

    def natural_parameter(self, input):
        """``eta`` (B, out) for ``input`` (B, 1): ReLU hidden layers, then a linear layer."""
        activation = torch.as_tensor(np.asarray(input), dtype=self.dtype)
        *hidden_layers, (last_weight, last_bias) = self.parameters
        for (weight, bias), name in zip(hidden_layers, self.hidden_activations):
            activation = TORCH_HIDDEN_ACTIVATIONS[name](activation @ weight.T + bias)
        return activation @ last_weight.T + last_bias

    def targets(self, labels):
        """Labels (B,) as a tensor of targets (B, out): one-hot rows for the categorical."""
        return torch.as_tensor(self.distribution.targets(labels), dtype=self.dtype)

    def mean(self, input):
        """Predicted mean ``y_hat`` (B, out) as a NumPy array."""
        with torch.no_grad():
            return self.distribution.inverse_link(self.natural_parameter(input)).numpy()

    def loss(self, input, labels):
        """Mean over the batch of the negative log-likelihood, as a float."""
        with torch.no_grad():
            eta = self.natural_parameter(input)
            return self.distribution.negative_log_likelihood(eta, self.targets(labels)).mean().item()

    def gradients(self, input, labels, route="natural_parameter"):
        """Gradients of the mean negative log-likelihood, one tensor per parameter (flat list)."""
        eta = self.natural_parameter(input)
        return TRAINING_ROUTES[route](self.distribution, eta, self.targets(labels), self.flat_parameters)

    def backpropagation(self, input, labels):
        """``[[dW (out, in), db (1, out)], ...]`` as NumPy arrays, seeded at the natural parameter."""
        flat = [gradient.numpy() for gradient in self.gradients(input, labels)]
        return [flat[i:i + 2] for i in range(0, len(flat), 2)]


def train_glm(distribution, inputs, labels, route="natural_parameter", num_steps=5000,
              learning_rate=0.2, seed=0):
    """Full-batch gradient descent on the mean negative log-likelihood.

    ``inputs`` (N, 1), ``labels`` (N,) as in :func:`synthetic_glm_data`; ``route`` is a key of
    ``TRAINING_ROUTES``. Returns ``(network, losses)`` with the mean negative log-likelihood
    before each step, shape ``(num_steps,)``.

    Both routes compute the same gradient up to rounding (autograd divides by ``B`` in a
    different place). At the default step 0.2 full-batch descent runs at the edge of
    stability (the loss rises on some steps) and amplifies that last-bit difference: the
    Poisson trajectories part after about 1000 steps, the Gaussian ones after about 2500.
    With ``learning_rate=0.05`` the two routes agree to about 1e-15 for over 4000 steps.
    """
    network = GLMNetwork(distribution, seed=seed)
    parameters = network.flat_parameters
    targets = network.targets(labels)
    losses = np.empty(num_steps)
    for step in range(num_steps):
        eta = network.natural_parameter(inputs)
        with torch.no_grad():  # reported only: the natural-parameter route never uses it
            losses[step] = network.distribution.negative_log_likelihood(eta, targets).mean().item()
        gradients = TRAINING_ROUTES[route](network.distribution, eta, targets, parameters)
        with torch.no_grad():
            for parameter, gradient in zip(parameters, gradients):
                parameter -= learning_rate * gradient
    return network, losses
