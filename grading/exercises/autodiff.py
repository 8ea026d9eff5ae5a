"""Gradient exercise of the mini-autodiff lab (exercises A.1-A.6).

``AutodiffMLP.gradients`` is one ``grad`` call, so it is right only if the student's VJP
rules and ``backward_pass`` are: the grader compares it with autograd on the same MLP loss
as the day-2 NumPy MLP. Listed in ``grading/exercise_index.py``.
"""
import importlib

from grading.diagnosis.vocabulary import AUTODIFF
from .numpy_mlp import mlp_reference_loss
from .registry import GradientExercise, register_exercise

HIDDEN_SIZE = 20
LEARNING_RATE = 0.05


def build_autodiff_mlp(package, data):
    """``[I, 20, K]`` tanh network from ``<package>.autodiff`` (``labs`` or ``labs_solutions``)."""
    autodiff = importlib.import_module(f"{package.__name__}.autodiff")
    return autodiff.AutodiffMLP([data.num_features, HIDDEN_SIZE, data.num_classes], ["tanh", "softmax"],
                                LEARNING_RATE)


register_exercise(GradientExercise(
    name="autodiff_mlp",
    title="Exercises A.1-A.6: mini-autodiff VJPs and backward_pass (AutodiffMLP.gradients)",
    # By class name: an AutodiffMLP has no ``backpropagation``, so the NumPy MLP entry never claims it.
    recognizes=lambda model: type(model).__name__ == "AutodiffMLP",
    reference_loss=mlp_reference_loss,
    student_gradients=lambda model, batch: model.gradients(batch["input"], batch["output"]),
    build_model=build_autodiff_mlp,
    vocabulary=AUTODIFF,
))
