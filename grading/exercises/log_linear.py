"""Exercises 2.1 and 2.3 (``labs/log_linear.py``): the NumPy log-linear model's
backpropagation, its PyTorch twin, and the trusted check of the 2.1 answer cell
(the gradient of the mean loss with respect to the input batch).
"""
import numpy as np
import torch

from grading.diagnosis.mlp_hypotheses import LOG_LINEAR_HYPOTHESES
from grading.trusted.case_diagnosis import diagnose_input_gradient
from grading.trusted.cases import InputGradientCase
from grading.trusted.check_spec import TrustedCheck, compare_input_gradient

from grading.diagnosis.vocabulary import FORWARD, MLP
from .numpy_mlp import LAB_LEARNING_RATE
from .registry import (GradientExercise, autograd_gradients, first_layer_weight, has_torch_parameters,
                       is_numpy_parameter_list, register_exercise)


# Exercise 2.1 is right when every entry equals autograd's within these (the notebook's test and the
# trusted check both read them): float64 arithmetic on (B, K) and (K, I) arrays is far inside them.
INPUT_GRADIENT_RTOL, INPUT_GRADIENT_ATOL = 1e-9, 1e-12
INPUT_GRADIENT = "the gradient of the mean loss with respect to the input"


def reference_input_gradient(probabilities, output, weight):
    """Exercise 2.1's quantity by autograd, ``(B, I)`` float64: the gradient at ``x = 0`` of the mean cross-entropy
    of ``softmax(log P + x @ W.T)``, whose softmax at 0 is the given ``P`` (so no NumPy formula of the exercise
    ships with the grader)."""
    weight = torch.as_tensor(np.asarray(weight, dtype=np.float64))
    log_probabilities = torch.log(torch.as_tensor(np.asarray(probabilities, dtype=np.float64)))
    at_zero = torch.zeros((log_probabilities.shape[0], weight.shape[1]), dtype=torch.float64, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(log_probabilities + at_zero @ weight.T,
                                             torch.as_tensor(np.asarray(output, dtype=np.int64)))
    return torch.autograd.grad(loss, at_zero)[0].numpy()


def input_gradient_causes(found, probabilities, output, weight):
    """``[(cause, sentence)]`` naming a known mistake of exercise 2.1 that ``found`` ``(B, I)`` matches, given
    the softmax ``probabilities`` ``(B, K)``, gold ``output`` ``(B,)`` and ``weight`` ``(K, I)``; empty if none."""
    from grading.policy.precision import HYPOTHESIS_MATCH, normwise_error

    batch_size = len(output)
    expected = reference_input_gradient(probabilities, output, weight)
    known = (
        (batch_size * expected, "missing_batch_mean",
         f"The input gradient is B = {batch_size} times too large: the loss is the MEAN over the batch, "
         "so the error at the scores is E = (P - Y) / B before it is multiplied by W."),
        (-expected, "wrong_sign", "The input gradient has the wrong sign: the error is P - Y (probabilities "
                                  "minus one-hot gold classes), not Y - P."),
        (probabilities / batch_size @ weight, "softmax_error_without_onehot",
         "The error uses the probabilities P alone: subtract the one-hot gold classes, E = (P - Y) / B."),
        (expected.T, "transposed", "The input gradient is transposed: it has one row per example, (B, I) like "
                                   "the input batch, which E @ W gives (W.T @ E.T gives its transpose)."),
    )
    found = np.asarray(found, dtype=np.float64)
    return [(cause, sentence) for predicted, cause, sentence in known
            if found.shape == predicted.shape and normwise_error(found, predicted) <= HYPOTHESIS_MATCH][:1]


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
