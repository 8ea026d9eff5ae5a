"""Exercises 2.1 and 2.3 (``labs/log_linear.py``): the NumPy log-linear model's
backpropagation, its PyTorch twin, and the trusted check of the 2.1 answer cell
(the gradient of the mean loss with respect to the input batch).
"""
import torch

from grading.diagnosis.mlp_hypotheses import LOG_LINEAR_HYPOTHESES
from grading.diagnosis.vocabulary import FORWARD, MLP
from grading.gradient_check.registry import (GradientExercise, autograd_gradients, first_layer_weight,
                                             has_torch_parameters, is_numpy_parameter_list, register_exercise)
from grading.trusted.case_diagnosis import diagnose_input_gradient
from grading.trusted.cases import InputGradientCase
from grading.trusted.check_spec import TrustedCheck, compare_input_gradient

from .numpy_mlp import LAB_LEARNING_RATE


def log_linear_reference_loss(model, parameters, batch, ops):
    """Mean cross-entropy of ``softmax(x @ W.T + b)``."""
    [[weight, bias]] = parameters
    return torch.nn.functional.cross_entropy(batch["input"] @ weight.T + bias, batch["output"])


register_exercise(GradientExercise(
    name="log_linear",
    title="Exercise 2.1: NumpyLogLinear.backpropagation",
    recognizes=lambda model: (not hasattr(model, "activation_functions") and hasattr(model, "backpropagation")
                              and is_numpy_parameter_list(model) and len(model.parameters) == 1),
    reference_loss=log_linear_reference_loss,
    hypotheses=LOG_LINEAR_HYPOTHESES,
    vocabulary=MLP,
    input_weight=first_layer_weight,
    build_model=lambda package, data: package.NumpyLogLinear(data.num_features, data.num_classes, LAB_LEARNING_RATE),
    trusted=TrustedCheck(
        name="log_linear_input_gradient",
        title="Exercise 2.1: log_linear_input_gradient (answer cell)",
        exercise="log_linear", module=None, class_name="log_linear_input_gradient",
        probe="cell_function",
        cases=(InputGradientCase("input-3-classes", 6, 3, 7, 2101), InputGradientCase("input-2-classes", 5, 2, 4, 2102)),
        expected_shapes=lambda case: {"value": (case.batch_size, case.input_size)},
        compare=compare_input_gradient, answer_cells=("ex2_1_answer",),
        diagnose=lambda case, arrays: diagnose_input_gradient(case, arrays["value"]),
    ),
))

register_exercise(GradientExercise(
    name="pytorch_log_linear",
    title="Exercise 2.3: PytorchLogLinear (autograd)",
    recognizes=lambda model: (not hasattr(model, "activation_functions") and hasattr(model, "_log_forward")
                              and has_torch_parameters(model) and len(model.parameters) == 1),
    reference_loss=log_linear_reference_loss,
    student_gradients=autograd_gradients,
    grades_forward=True,
    vocabulary=FORWARD,
    input_weight=first_layer_weight,
    build_model=lambda package, data: package.PytorchLogLinear(data.num_features, data.num_classes, LAB_LEARNING_RATE),
))
