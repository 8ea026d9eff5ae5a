"""Exercise C.1 (a kernel shared across positions), the worked example of docs/authoring.md: three source
files make the exercise, its check recognises the lab's network, and its trusted check passes the solution
and names a planted mistake."""
import os
from pathlib import Path

import numpy as np
import pytest

import grading
from backprop_labs.paths import REPOSITORY_ROOT
from backprop_labs.utils import index2onehot
from grading.course.assignments import get_assignment
from grading.trusted.check_spec import trusted_checks
from labs_solutions.conv1d import Conv1dNetwork, motif_sequences
from trusted_in_process import judgement

# Generated from the three files (labs/, the student notebooks), or about them (the guide, the tests).
NOT_SOURCES = ("labs/", "docs/", "tests/", "notebooks/student/")
SOURCE_SUFFIXES = {".py", ".ipynb", ".md", ".cfg", ".toml", ".txt", ".json", ".yml", ".yaml"}


def files_naming(word):
    """The repository's source files (relative paths) whose text names ``word``, outside ``NOT_SOURCES``."""
    found = set()
    for folder, subfolders, files in os.walk(REPOSITORY_ROOT):
        subfolders[:] = [name for name in subfolders if not (name.startswith(".") or name.endswith(".egg-info")
                                                             or name in ("__pycache__", "build", "out"))]
        for name in files:
            relative = (Path(folder) / name).relative_to(REPOSITORY_ROOT).as_posix()
            if Path(name).suffix in SOURCE_SUFFIXES and not relative.startswith(NOT_SOURCES) and \
                    word in (Path(folder) / name).read_text(encoding="utf-8", errors="replace").lower():
                found.add(relative)
    return found


def test_the_example_exercise_is_three_files():
    assert files_naming("conv1d") == {"labs_solutions/conv1d.py", "grading/exercises/conv1d.py",
                                      "notebooks/source/conv1d.ipynb"}


class OverwritingKernelGradient(Conv1dNetwork):
    """The planted mistake: a loop over positions that assigns the kernel's gradient instead of adding to it."""

    def backpropagation(self, input, output):
        gradients = super().backpropagation(input, output)
        log_probabilities, windows, z, _ = self.forward_keeping_activations(input)
        error = (np.exp(log_probabilities) - index2onehot(output, log_probabilities.shape[1])) / len(output)
        feature_error = (error @ self.parameters[1][0]) * (z > 0)
        for position in range(feature_error.shape[1]):
            kernel_gradient = feature_error[:, position] @ windows[:, position]
            kernel_bias_gradient = feature_error[:, position].sum()
        return [[kernel_gradient[np.newaxis, :], np.reshape(kernel_bias_gradient, (1, 1))], gradients[1]]


@pytest.fixture(scope="module")
def batch():
    input, output = motif_sequences(num_examples=20, seed=3)
    return input, output


def test_check_backpropagation_recognises_the_network_and_names_the_overwritten_kernel_gradient(batch):
    assert grading.check_backpropagation(Conv1dNetwork(12, seed=1), *batch).passed
    report = grading.check_backpropagation(OverwritingKernelGradient(12, seed=1), *batch)
    assert report.exercise == "conv1d" and not report.passed
    assert report.causes == ["kernel_one_position"] and "SUM over positions" in report.diagnosis[0]
    assert [row.passed for row in report.rows] == [False, False, True, True]


def test_the_trusted_check_passes_the_solution_and_names_the_planted_mistake():
    check = trusted_checks()["conv1d_backpropagation"]
    for case in check.cases:
        assert judgement(check, Conv1dNetwork, case).passed, case.key
        wrong = judgement(check, OverwritingKernelGradient, case)
        assert not wrong.passed and [cause for cause, _ in wrong.causes] == ["kernel_one_position"], case.key
    scopes = get_assignment("conv1d").trusted_cells["conv1d_backpropagation"]
    assert [scope.cases for scope in scopes.values()] == [(case.key,) for case in check.cases]
