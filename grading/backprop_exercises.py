"""Day 2 gradient exercises: NumPy MLP backpropagation, the log-linear models and the PyTorch MLP forward pass.

Registered in the order :func:`grading.exercises.find_exercise` tries them.
"""
import torch

from .exercises import GradientExercise, first_layer_weight, is_numpy_parameter_list, register_exercise
from .mlp_hypotheses import LOG_LINEAR_HYPOTHESES, MLP_HYPOTHESES

LAB_HIDDEN_SIZE = 20          # the lab's geometry [I, 20, K]
LAB_LEARNING_RATE = 0.05


def mlp_reference_loss(model, parameters, batch, ops):
    """Mean cross-entropy of ``[[W (out, in), b (1, out)], ...]`` with the model's hidden activations."""
    activation = batch["input"]
    last = len(parameters) - 1
    for n, (weight, bias) in enumerate(parameters):
        z = activation @ weight.T + bias
        if n < last:
            activation = ops.activation(model.activation_functions[n], z)
    return torch.nn.functional.cross_entropy(z, batch["output"])


def log_linear_reference_loss(model, parameters, batch, ops):
    """Mean cross-entropy of ``softmax(x @ W.T + b)``."""
    [[weight, bias]] = parameters
    return torch.nn.functional.cross_entropy(batch["input"] @ weight.T + bias, batch["output"])


def autograd_gradients(model, batch):
    """The student's forward pass differentiated by autograd: ``[[dW, db], ...]`` as NumPy arrays.

    A parameter the forward pass never uses gets a zero gradient (the loss does not depend on it).
    """
    flat = [parameter for pair in model.parameters for parameter in pair]
    gradients = torch.autograd.grad(model._loss(batch["input"], batch["output"]), flat, allow_unused=True)
    arrays = [torch.zeros_like(p).numpy() if g is None else g.numpy() for p, g in zip(flat, gradients)]
    return [[arrays[i], arrays[i + 1]] for i in range(0, len(flat), 2)]


def _has_torch_parameters(model):
    parameters = getattr(model, "parameters", None)
    return (isinstance(parameters, (list, tuple)) and len(parameters) > 0
            and all(isinstance(t, torch.Tensor) for pair in parameters for t in pair))


def _lab_geometry(data):
    return [data.num_features, LAB_HIDDEN_SIZE, data.num_classes]


register_exercise(GradientExercise(
    name="numpy_mlp",
    title="Exercise 2.2: NumpyMLP.backpropagation",
    recognizes=lambda model: (hasattr(model, "activation_functions") and hasattr(model, "backpropagation")
                              and is_numpy_parameter_list(model)),
    reference_loss=mlp_reference_loss,
    hypotheses=MLP_HYPOTHESES,
    input_weight=first_layer_weight,
    build_model=lambda package, data: package.NumpyMLP(
        _lab_geometry(data), ["sigmoid", "softmax"], LAB_LEARNING_RATE),
))

register_exercise(GradientExercise(
    name="log_linear",
    title="Exercise 2.1: NumpyLogLinear.backpropagation",
    recognizes=lambda model: (not hasattr(model, "activation_functions") and hasattr(model, "backpropagation")
                              and is_numpy_parameter_list(model) and len(model.parameters) == 1),
    reference_loss=log_linear_reference_loss,
    hypotheses=LOG_LINEAR_HYPOTHESES,
    input_weight=first_layer_weight,
    build_model=lambda package, data: package.NumpyLogLinear(
        data.num_features, data.num_classes, LAB_LEARNING_RATE),
))

register_exercise(GradientExercise(
    name="pytorch_mlp_forward",
    title="Exercise 2.4: PytorchMLP._log_forward",
    recognizes=lambda model: (hasattr(model, "activation_functions") and hasattr(model, "_log_forward")
                              and _has_torch_parameters(model)),
    reference_loss=mlp_reference_loss,
    student_gradients=autograd_gradients,
    grades_forward=True,
    input_weight=first_layer_weight,
    build_model=lambda package, data: package.PytorchMLP(
        _lab_geometry(data), ["sigmoid", "softmax"], LAB_LEARNING_RATE),
))

register_exercise(GradientExercise(
    name="pytorch_log_linear",
    title="Exercise 2.3: PytorchLogLinear (autograd)",
    recognizes=lambda model: (not hasattr(model, "activation_functions") and hasattr(model, "_log_forward")
                              and _has_torch_parameters(model) and len(model.parameters) == 1),
    reference_loss=log_linear_reference_loss,
    student_gradients=autograd_gradients,
    grades_forward=True,
    input_weight=first_layer_weight,
    build_model=lambda package, data: package.PytorchLogLinear(
        data.num_features, data.num_classes, LAB_LEARNING_RATE),
))

__all__ = ["mlp_reference_loss", "log_linear_reference_loss", "autograd_gradients"]
