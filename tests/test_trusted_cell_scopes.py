"""Honest submissions score the same per test cell from plain nbgrader (in the kernel) and from
the trusted checks: each trusted check scores a test cell only on what that cell's test checks
(its kinds of network, its layers)."""
import os
import shutil

import pytest

from grading.course.assignments import get_assignment
from grading.course.pipeline import autograde, cell_scores
from grading.trusted import parallel
from grading.course.cell_scope import CellScope
from grading.trusted.cases import mlp_cases
from trusted_class import PARTLY_RIGHT, build_demo_class

ASSIGNMENT = "backprop_mlp"
KINDS = ["honest", *PARTLY_RIGHT]
# What each cell must give; the trusted path and the in-kernel path must both give exactly this.
EXPECTED = {
    "s00_honest": {"test_2_1_bias_gradient": 1.0, "test_2_2_output_layer": 2.0, "test_2_2_all_layers": 2.0,
                   "test_2_2_hidden": 2.0, "test_2_4_log_forward": 2.0, "test_2_4_hidden": 1.0},
    "s01_sigmoid_only": {"test_2_1_bias_gradient": 1.0, "test_2_2_output_layer": 2.0, "test_2_2_all_layers": 2.0,
                         "test_2_2_hidden": 0.0, "test_2_4_log_forward": 2.0, "test_2_4_hidden": 1.0},
    "s02_output_layer_only": {"test_2_1_bias_gradient": 1.0, "test_2_2_output_layer": 2.0,
                              "test_2_2_all_layers": 0.0, "test_2_2_hidden": 0.0, "test_2_4_log_forward": 2.0,
                              "test_2_4_hidden": 1.0},
    "s03_forward_without_bias": {"test_2_1_bias_gradient": 1.0, "test_2_2_output_layer": 2.0,
                                 "test_2_2_all_layers": 2.0, "test_2_2_hidden": 2.0, "test_2_4_log_forward": 0.0,
                                 "test_2_4_hidden": 0.0},
}


def test_an_output_layer_scope_compares_only_the_last_layer_of_the_cases_it_selects():
    deep, sigmoid = mlp_cases("x", 1)[2], mlp_cases("x", 1)[1]
    scope = CellScope("output layer", (("sigmoid",),), output_layer_only=True)
    assert (scope.selects(sigmoid), scope.selects(deep)) == (True, False)
    arrays = {"dW0": 0, "db0": 0, "dW1": 1, "db1": 1, "log_probabilities": 2}
    assert scope.keep(sigmoid, arrays) == {"dW1": 1, "db1": 1, "log_probabilities": 2}
    assert CellScope().keep(sigmoid, arrays) == arrays


def test_every_trusted_case_of_a_deep_or_sigmoid_network_scores_some_cell():
    scopes = get_assignment(ASSIGNMENT).trusted_cells["numpy_mlp_backpropagation"].values()
    unscored = [case.key for case in mlp_cases("backprop", 2202) if not any(map(lambda s: s.selects(case), scopes))]
    assert unscored == ["backprop-softmax-only"]  # no test cell checks a softmax layer alone


def scores_both_ways(root, assignment_name, kinds):
    """``{"in the kernel": scores, "trusted": scores}``, ``scores = {student: {test cell: score}}``: one
    class of ``kinds`` (students ``s00_<kind>``, ...) graded by plain nbgrader and by the trusted checks."""
    built = build_demo_class(root / "class", kinds, assignment_name)
    in_kernel, trusted = root / "in_kernel", root / "trusted"
    shutil.copytree(built, in_kernel, symlinks=True)
    shutil.copytree(built, trusted, symlinks=True)
    assignment = get_assignment(assignment_name)
    autograde(in_kernel, assignment, sorted(p.name for p in (in_kernel / "submitted").iterdir()))
    parallel.grade_class(trusted, assignment_name, workers=1, progress=False)
    return {path: {student: {cell: score for cell, (score, _) in cells.items()}
                   for student, cells in cell_scores(course, assignment).items()}
            for course, path in ((in_kernel, "in the kernel"), (trusted, "trusted"))}


@pytest.mark.slow
@pytest.mark.corpus
@pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox's isolation needs root (CI runs as root)")
def test_partly_right_submissions_score_the_same_in_the_kernel_and_trusted(tmp_path, books):
    for path, scores in scores_both_ways(tmp_path, ASSIGNMENT, KINDS).items():
        for student, expected in EXPECTED.items():
            assert scores[student] == expected, f"{student}, {path}"
