"""Exercise 2.2, ``NumpyMLP.backpropagation`` (``labs/numpy_mlp.py``): the gradient exercise,
its trusted cases and the loss the other MLP exercises share; and the trusted check of the
tangent-plot answer cell (``loss_and_tangent``).
"""
import torch

from grading.diagnosis.mlp_hypotheses import MLP_HYPOTHESES
from grading.gradient_check.registry import (GradientExercise, first_layer_weight, is_numpy_parameter_list,
                                             register_exercise)
from grading.trusted.cases import mlp_cases, tangent_cases
from grading.trusted.check_spec import (TrustedCheck, compare_loss_and_tangent, gradient_judge,
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
            probe="numpy_mlp_backpropagation", cases=mlp_cases("backprop", 2202),
            judge=gradient_judge("numpy_mlp"),
            torch_allowed=False,  # the exercise is backpropagation by hand in NumPy
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
        ),
    ),
))
