"""Exercise 2.2, ``NumpyMLP.backpropagation`` (``labs/numpy_mlp.py``): the gradient exercise,
its trusted cases and the loss the other MLP exercises share; and the trusted check of the
tangent-plot answer cell (``loss_and_tangent``); and the row of assignment 2 (``backprop_mlp``), whose
notebook asks for the exercises 2.1 to 2.4 of this module, ``log_linear.py`` and ``pytorch_mlp.py``.
"""
import torch

from grading.course.assignments import AssignmentRow, register_assignment
from grading.course.cell_scope import DEEP_NETWORKS, SIGMOID_NETWORKS, CellScope
from grading.diagnosis.mlp_hypotheses import MLP_HYPOTHESES
from grading.gradient_check.registry import (GradientExercise, first_layer_weight, is_numpy_parameter_list,
                                             register_exercise)
from grading.trusted.cases import mlp_cases, tangent_cases, wide_mlp_cases
from grading.trusted.check_spec import (BY_HAND_LIMITS, TrustedCheck, compare_loss_and_tangent, gradient_judge,
                                       loss_and_tangent_judgement, loss_and_tangent_shapes)

from grading.diagnosis.vocabulary import MLP

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


def lab_geometry(data):
    """``[I, 20, K]``: the day-2 lab's network for a data set."""
    return [data.num_features, LAB_HIDDEN_SIZE, data.num_classes]


register_exercise(GradientExercise(
    name="numpy_mlp",
    title="Exercise 2.2: NumpyMLP.backpropagation",
    recognizes=lambda model: (hasattr(model, "activation_functions") and hasattr(model, "backpropagation")
                              and is_numpy_parameter_list(model)),
    reference_loss=mlp_reference_loss,
    hypotheses=MLP_HYPOTHESES,
    vocabulary=MLP,
    input_weight=first_layer_weight,
    build_model=lambda package, data: package.NumpyMLP(lab_geometry(data), ["sigmoid", "softmax"], LAB_LEARNING_RATE),
    trusted=(
        TrustedCheck(
            name="numpy_mlp_backpropagation",
            title="Exercise 2.2: NumpyMLP.backpropagation",
            exercise="numpy_mlp", module="labs.numpy_mlp", class_name="NumpyMLP",
            probe="numpy_mlp_backpropagation", cases=mlp_cases("backprop", 2202) + wide_mlp_cases("backprop", 2242),
            judge=gradient_judge("numpy_mlp"),
            torch_allowed=False,  # the exercise is backpropagation by hand in NumPy
            limits=BY_HAND_LIMITS, by_backpropagation=True,
        ),
        # The answer cell is called on the student's NumpyMLP (its given forward pass and loss) with
        # stand-in gradients, so its score does not depend on their backpropagation.
        TrustedCheck(
            name="numpy_mlp_loss_and_tangent",
            title="Exercise 2.2: loss_and_tangent (answer cell)",
            exercise="numpy_mlp", module="labs.numpy_mlp", class_name="loss_and_tangent",
            probe="loss_and_tangent", cases=tangent_cases("tangent", 2205),
            expected_shapes=loss_and_tangent_shapes,
            compare=lambda case, arrays: compare_loss_and_tangent("numpy_mlp", case, arrays),
            diagnose=lambda case, arrays: loss_and_tangent_judgement("numpy_mlp", case, arrays)[1],
            answer_cells=("ex2_2_tangent_answer",),
            torch_allowed=False,  # NumPy code, run beside the backpropagation check
            limits=BY_HAND_LIMITS,   # its budget adds to the backpropagation check's in their shared process
        ),
    ),
))

register_assignment(AssignmentRow(
    "backprop_mlp", ships=("log_linear.py", "numpy_mlp.py", "pytorch_mlp.py"),
    checks=("log_linear", "pytorch_log_linear", "numpy_mlp", "pytorch_mlp_forward"),
    scores={
        "log_linear_input_gradient": {
            "test_2_1_input_gradient": CellScope("the input gradient"),
        },
        "numpy_mlp_loss_and_tangent": {
            "test_2_2_tangent": CellScope("the loss curve and the tangent"),
        },
        "numpy_mlp_backpropagation": {
            "test_2_2_output_layer": CellScope("output layer of the sigmoid network", SIGMOID_NETWORKS,
                                               output_layer_only=True),
            "test_2_2_all_layers": CellScope("every layer of the sigmoid network", SIGMOID_NETWORKS),
            "test_2_2_hidden": CellScope("every layer of the tanh and ReLU networks", DEEP_NETWORKS),
        },
        "pytorch_mlp_log_forward": {
            "test_2_4_log_forward": CellScope("the sigmoid network", SIGMOID_NETWORKS),
            "test_2_4_hidden": CellScope("the tanh and ReLU networks", DEEP_NETWORKS),
        },
    }))
