"""Trusted checks of the digits assignment (``labs/digits_lab.py``): its test cells train the
student's ``NumpyMLP`` (Exercise 2.2) and ``PytorchMLP`` (Exercise 2.4) side by side.

The gradients cell is scored by Exercise 2.2's own check (``numpy_mlp_backpropagation``); the loss
trajectories and the accuracies are scored here: the lab's given functions run in the sandbox on the
digits with a shuffling seed drawn here, and what they return is compared with the notebook's
criteria and with the solution's run on the same data. The assignment's row (its cells and scopes) is
declared here too.
"""
import importlib

import numpy as np

from grading.course.assignments import AssignmentRow, register_assignment
from grading.course.cell_scope import SIGMOID_NETWORKS, CellScope
from grading.gradient_check.registry import register_trusted_check
from grading.trusted.cases import Call, CallsCase, Returned, lab_data
from grading.trusted.check_spec import TrustedCheck, calls_shapes, compare_close
from grading.trusted.sandbox.limits import Limits


ARCHITECTURES = {"logistic": "multinomial logistic regression", "sigmoid": "sigmoid network"}
FRAMEWORKS = ("numpy", "pytorch")
NUM_CLASSES = 10
TRAJECTORY = dict(num_steps=48, learning_rate=0.5, batch_size=30)          # as the notebook's test_trajectories
TRAJECTORY_RTOL, TRAJECTORY_ATOL = 1e-9, 1e-12
ACCURACY = dict(learning_rate=0.5, batch_size=30, num_epochs=30)            # as test_accuracy_hidden
PLATEAU_EPOCHS, PLATEAU, ACCURACY_ATOL = 5, 0.94, 0.01


TRAJECTORY_SEED, ACCURACY_SEED = 9101, 9201   # the shuffling seeds of the graded runs (the notebook's are 0 and 1)


def draw_digits(rng):
    """The 8x8 digits as the notebook loads them (``rng`` unused: the seeds are the shuffling seeds)."""
    from backprop_labs.datasets import load_digits_data

    data = load_digits_data()
    return {f"{split}.{part}": values for split in ("train", "test")
            for part, values in zip(("input", "output"), data.splits[split])}


def _solution_data(case):
    from backprop_labs.datasets import LabData

    inputs = case.inputs()
    return LabData({split: (inputs[f"{split}.input"], inputs[f"{split}.output"]) for split in ("train", "test")},
                   num_classes=NUM_CLASSES)


def _lab():
    return importlib.import_module("labs_solutions.digits_lab")


_SOLUTION_RUNS = {}   # case key -> the solution's results: each run once per grading process


def solution_trajectories(case):
    """``{architecture: NumPy trajectory}`` of the solution on the case's data."""
    if case.key not in _SOLUTION_RUNS:
        _SOLUTION_RUNS[case.key] = {
            short: _lab().loss_trajectories(_solution_data(case), name, seed=TRAJECTORY_SEED, **TRAJECTORY)["numpy"]
            for short, name in ARCHITECTURES.items()}
    return _SOLUTION_RUNS[case.key]


def solution_accuracies(case):
    """``{architecture: {framework: curve}}`` of the solution on the case's data."""
    if case.key not in _SOLUTION_RUNS:
        curves = _lab().compare_accuracies(_solution_data(case), seed=ACCURACY_SEED, **ACCURACY)
        _SOLUTION_RUNS[case.key] = {short: curves[name] for short, name in ARCHITECTURES.items()}
    return _SOLUTION_RUNS[case.key]


def compare_trajectories(case, arrays):
    """The notebook's test (NumPy and PyTorch agree at rtol 1e-9, atol 1e-12), and the NumPy
    trajectory is the solution's (so agreeing trajectories are real ones)."""
    for short, name in ARCHITECTURES.items():
        problem = (compare_close(arrays[f"{short}.numpy"], arrays[f"{short}.pytorch"],
                                 f"{name}: the NumPy losses against the PyTorch losses", TRAJECTORY_RTOL, TRAJECTORY_ATOL)
                   or compare_close(arrays[f"{short}.numpy"], solution_trajectories(case)[short],
                                    f"{name}: the NumPy losses against the reference", TRAJECTORY_RTOL, TRAJECTORY_ATOL))
        if problem:
            return problem
    return None


def compare_accuracies(case, arrays):
    """The notebook's test: each model's mean accuracy over the last 5 epochs at least 94 %, NumPy
    and PyTorch within 1 point over those epochs; and each curve within 1 point of the solution's."""
    reference = solution_accuracies(case)
    for short, name in ARCHITECTURES.items():
        for framework in FRAMEWORKS:
            plateau = float(np.mean(arrays[f"{short}.{framework}"][-PLATEAU_EPOCHS:]))
            if not plateau >= PLATEAU:
                return (f"{name}, {framework}: mean test accuracy of the last {PLATEAU_EPOCHS} epochs {plateau:.4f}, "
                        f"expected at least {PLATEAU}")
        last = {framework: arrays[f"{short}.{framework}"][-PLATEAU_EPOCHS:] for framework in FRAMEWORKS}
        problem = compare_close(last["numpy"], last["pytorch"], f"{name}: NumPy against PyTorch accuracies",
                                0.0, ACCURACY_ATOL)
        for framework in FRAMEWORKS:
            problem = problem or compare_close(last[framework], reference[short][framework][-PLATEAU_EPOCHS:],
                                               f"{name}, {framework}: accuracies against the reference",
                                               0.0, ACCURACY_ATOL)
        if problem:
            return problem
    return None


def _curves(prefix_path, length):
    """What one call gives back: a curve per architecture and framework, named ``<short>.<framework>``."""
    return tuple(Returned(f"{short}.{framework}", (length,), (*prefix_path(name), framework))
                 for short, name in ARCHITECTURES.items() for framework in FRAMEWORKS)


TRAJECTORIES = register_trusted_check(TrustedCheck(
    name="digits_trajectories", title="Loss trajectories of NumPy and PyTorch (loss_trajectories)",
    exercise="numpy_mlp", module="labs.digits_lab", class_name=None, probe="function_calls",
    cases=(CallsCase("trajectories", tuple(
        Call("loss_trajectories", tuple(Returned(f"{short}.{framework}", (TRAJECTORY["num_steps"],), (framework,))
                                        for framework in FRAMEWORKS),
             (lab_data(NUM_CLASSES), name), (*TRAJECTORY.items(), ("seed", TRAJECTORY_SEED)))
        for short, name in ARCHITECTURES.items()), draw_digits, TRAJECTORY_SEED),),
    expected_shapes=calls_shapes, compare=compare_trajectories))

ACCURACIES = register_trusted_check(TrustedCheck(
    name="digits_accuracies", title="Test accuracies after 30 epochs (compare_accuracies)",
    exercise="numpy_mlp", module="labs.digits_lab", class_name=None, probe="function_calls",
    cases=(CallsCase("accuracies", (
        Call("compare_accuracies", _curves(lambda name: (name,), ACCURACY["num_epochs"]),
             (lab_data(NUM_CLASSES),), (*ACCURACY.items(), ("seed", ACCURACY_SEED))),),
        draw_digits, ACCURACY_SEED),),
    expected_shapes=calls_shapes, compare=compare_accuracies,
    limits=Limits(wall_seconds=240.0, cpu_seconds=120)))

register_assignment(AssignmentRow(
    "digits", ships=("digits_lab.py", "numpy_mlp.py", "pytorch_mlp.py"),
    checks=("numpy_mlp", "pytorch_mlp_forward"),
    scores={
        "numpy_mlp_backpropagation": {
            "test_gradients": CellScope("a softmax layer alone and the sigmoid network", ((), *SIGMOID_NETWORKS)),
        },
        TRAJECTORIES.name: {
            "test_trajectories": CellScope("the loss trajectories of both classifiers"),
        },
        ACCURACIES.name: {
            "test_accuracy_hidden": CellScope("the accuracies of both classifiers"),
        },
    }))
