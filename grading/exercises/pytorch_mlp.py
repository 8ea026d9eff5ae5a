"""Exercise 2.4, ``PytorchMLP._log_forward`` (``labs/pytorch_mlp.py``): the student writes the
forward pass; autograd through it must give the reference gradients.
"""
from grading.diagnosis.forward_hypotheses import FORWARD_HYPOTHESES
from grading.diagnosis.vocabulary import FORWARD
from grading.gradient_check.registry import (GradientExercise, autograd_gradients, first_layer_weight,
                                             has_torch_parameters, register_exercise)
from grading.trusted.case_diagnosis import diagnose_forward
from grading.trusted.cases import mlp_cases
from grading.trusted.check_spec import TrustedCheck, compare_forward, forward_shapes

from .numpy_mlp import LAB_LEARNING_RATE, lab_geometry, mlp_reference_loss


register_exercise(GradientExercise(
    name="pytorch_mlp_forward",
    title="Exercise 2.4: PytorchMLP._log_forward",
    recognizes=lambda model: (hasattr(model, "activation_functions") and hasattr(model, "_log_forward")
                              and has_torch_parameters(model)),
    reference_loss=mlp_reference_loss,
    student_gradients=autograd_gradients,
    grades_forward=True,
    vocabulary=FORWARD,
    hypotheses=FORWARD_HYPOTHESES,
    input_weight=first_layer_weight,
    build_model=lambda package, data: package.PytorchMLP(lab_geometry(data), ["sigmoid", "softmax"], LAB_LEARNING_RATE),
    trusted=TrustedCheck(
        name="pytorch_mlp_log_forward",
        title="Exercise 2.4: PytorchMLP._log_forward",
        exercise="pytorch_mlp_forward", module="labs.pytorch_mlp", class_name="PytorchMLP",
        probe="pytorch_mlp_log_forward", cases=mlp_cases("forward", 2404),
        expected_shapes=forward_shapes,
        compare=lambda case, arrays: compare_forward("pytorch_mlp_forward", case, arrays),
        diagnose=lambda case, arrays: diagnose_forward("pytorch_mlp_forward", case, arrays),
    ),
))
