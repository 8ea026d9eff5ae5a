"""Gradient exercise of the forward/reverse-mode lab: backpropagation with the Jacobian
blocks ``A_i, B_i`` (exercise F.3), through ``ProgressiveNetwork.backpropagation``.

The network has weights only (``[[W_1], [W_2], ...]``, no biases) and a softmax output;
the reference is autograd on the mean cross-entropy. Listed in ``grading/exercise_index.py``.
"""
import importlib

import torch

from grading.diagnosis.vocabulary import PROGRESSIVE
from .registry import GradientExercise, ParameterSpec, register_exercise

LEARNING_RATE = 0.05


def progressive_reference_loss(model, parameters, batch, ops):
    """Mean cross-entropy of ``softmax(g_L(... g_1(x)))`` with ``g_i(z) = W_i z`` or ``sigmoid(W_i z)``."""
    activation = batch["input"]
    for kind, [weight] in zip(model.layer_kinds, parameters):
        activation = activation @ weight.T
        if kind == "sigmoid":
            activation = ops.activation("sigmoid", activation)
    return torch.nn.functional.cross_entropy(activation, batch["output"])


def progressive_parameter_specs(model):
    """One weight ``(out, in)`` per layer at ``model.parameters[layer][0]``."""
    return [ParameterSpec((layer, 0), layer, "weight", tuple(weight.shape))
            for layer, [weight] in enumerate(model.parameters)]


def build_multinomial_logistic_regression(package, data):
    """The text's example: one linear layer and a softmax, from ``<package>.forward_reverse``."""
    forward_reverse = importlib.import_module(f"{package.__name__}.forward_reverse")
    return forward_reverse.ProgressiveNetwork([data.num_features, data.num_classes], ["linear"], LEARNING_RATE)


register_exercise(GradientExercise(
    name="progressive_network",
    title="Exercise F.3: backward loop with A_i, B_i (ProgressiveNetwork.backpropagation)",
    recognizes=lambda model: type(model).__name__ == "ProgressiveNetwork",
    reference_loss=progressive_reference_loss,
    parameter_specs=progressive_parameter_specs,
    output_bias=None,  # no bias parameter to shift
    build_model=build_multinomial_logistic_regression,
    vocabulary=PROGRESSIVE,
))
