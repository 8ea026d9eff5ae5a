"""The trusted checks: one table entry per autograded exercise.

Each :class:`TrustedCheck` says which student class to call (through which probe of
:mod:`grading.trusted.student_side`), on which cases, and how its answers are compared
with the reference computed here. Add an exercise by adding an entry to ``CHECKS``.
"""
from dataclasses import dataclass, field

import numpy as np

from backprop_labs.utils import index2onehot, logsumexp
from grading.sandbox import Limits
from grading.tolerances import GradientTolerance, normwise_error

from .cases import BiasGradientCase, Case
from .reference import reference_gradients

FLOAT64 = GradientTolerance(np.dtype(np.float64))


def gradient_shapes(case):
    """``{'dW0': (out, in), 'db0': (1, out), ...}`` for the case's geometry."""
    shapes = {}
    for n, (size_in, size_out) in enumerate(zip(case.geometry[:-1], case.geometry[1:])):
        shapes[f"dW{n}"], shapes[f"db{n}"] = (size_out, size_in), (1, size_out)
    return shapes


def forward_shapes(case):
    return {"log_probabilities": (case.batch_size, case.geometry[-1]), **gradient_shapes(case)}


def compare_gradients(exercise, case, arrays):
    """``None`` if every gradient matches the float64 reference, else what differs first."""
    _, reference = reference_gradients(exercise, case)
    for name, expected in reference.items():
        error = normwise_error(arrays[name], expected)
        if not error <= FLOAT64.rtol:
            layer, kind = name[2:], "weight" if name.startswith("dW") else "bias"
            return (f"layer {layer} {kind} gradient differs from the reference: normwise error "
                    f"{error:.1e} > {FLOAT64.rtol:.1e}")
    return None


def compare_forward(exercise, case, arrays):
    """The forward pass gives normalised log-probabilities with the reference loss, and
    autograd through it gives the reference gradients."""
    log_probabilities = arrays["log_probabilities"]
    if not np.allclose(logsumexp(log_probabilities, axis=1), 0.0, atol=1e-9):
        return "the rows of exp(_log_forward output) do not sum to 1 (use a log-softmax over classes)"
    reference_loss, _ = reference_gradients(exercise, case)
    output = case.batch()["output"]
    loss = -np.mean(log_probabilities[np.arange(len(output)), output])
    if not abs(loss - reference_loss) <= 1e-9 * (1.0 + abs(reference_loss)):
        return f"the mean cross-entropy from your log-probabilities is {loss:.6g}, the reference is {reference_loss:.6g}"
    return compare_gradients(exercise, case, arrays)


def compare_bias_gradient(case, arrays):
    """Exercise 2.1: the mean over the batch of ``p - onehot(y)``, shape ``(1, K)``."""
    probabilities, output = case.inputs()
    expected = np.mean(probabilities - index2onehot(output, case.num_classes), axis=0, keepdims=True)
    error = normwise_error(arrays["value"], expected)
    if not error <= FLOAT64.rtol:
        return f"the bias gradient differs from the reference: normwise error {error:.1e} > {FLOAT64.rtol:.1e}"
    return None


@dataclass(frozen=True)
class TrustedCheck:
    """How to grade one exercise outside the student's kernel.

    ``name`` is also the key that maps the check to nbgrader test cells (see
    :mod:`grading.trusted.cells`); ``exercise`` names the grader library's exercise whose
    reference loss is used. ``module`` (may be ``None``) is imported from the submission,
    then the notebook's ``answer_cells`` (nbgrader grade ids) are executed, then
    ``class_name`` (a class or a function) is looked up in the cells' namespace first.
    ``limits``: what the check may use; the checks of one submission run in one process,
    whose time limits are the sums of theirs (see :func:`grading.trusted.grade.combined_limits`).
    """

    name: str
    title: str
    exercise: str
    module: str
    class_name: str
    probe: str
    cases: tuple
    expected_shapes: object
    compare: object
    answer_cells: tuple = ()
    limits: Limits = field(default_factory=Limits)


def _cases(prefix, seed):
    """Layers of every kind, one to three of them, odd sizes so that a transpose shows."""
    return (
        Case(f"{prefix}-softmax-only", (5, 3), ("softmax",), 4, seed),
        Case(f"{prefix}-sigmoid", (5, 4, 3), ("sigmoid", "softmax"), 6, seed + 10),
        Case(f"{prefix}-tanh-relu", (4, 6, 5, 3), ("tanh", "relu", "softmax"), 7, seed + 20),
        Case(f"{prefix}-relu-sigmoid", (6, 5, 4, 2), ("relu", "sigmoid", "softmax"), 5, seed + 30),
    )


CHECKS = {
    "log_linear_bias_gradient": TrustedCheck(
        name="log_linear_bias_gradient",
        title="Exercise 2.1: log_linear_bias_gradient (answer cell)",
        exercise="log_linear", module=None, class_name="log_linear_bias_gradient",
        probe="cell_function",
        cases=(BiasGradientCase("bias-3-classes", 6, 3, 2101), BiasGradientCase("bias-2-classes", 5, 2, 2102)),
        expected_shapes=lambda case: {"value": (1, case.num_classes)},
        compare=compare_bias_gradient, answer_cells=("ex2_1_answer",),
    ),
    "numpy_mlp_backpropagation": TrustedCheck(
        name="numpy_mlp_backpropagation",
        title="Exercise 2.2: NumpyMLP.backpropagation",
        exercise="numpy_mlp", module="labs.numpy_mlp", class_name="NumpyMLP",
        probe="numpy_mlp_backpropagation", cases=_cases("backprop", 2202),
        expected_shapes=gradient_shapes,
        compare=lambda case, arrays: compare_gradients("numpy_mlp", case, arrays),
    ),
    "pytorch_mlp_log_forward": TrustedCheck(
        name="pytorch_mlp_log_forward",
        title="Exercise 2.4: PytorchMLP._log_forward",
        exercise="pytorch_mlp_forward", module="labs.pytorch_mlp", class_name="PytorchMLP",
        probe="pytorch_mlp_log_forward", cases=_cases("forward", 2404),
        expected_shapes=forward_shapes,
        compare=lambda case, arrays: compare_forward("pytorch_mlp_forward", case, arrays),
    ),
}
