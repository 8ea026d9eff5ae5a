"""Honest submissions score the same per test cell from plain nbgrader (in the kernel) and from
the trusted checks, in every assignment: each trusted check scores a test cell only on what that
cell's test checks (its kinds of network, its layers, its cases, all or nothing as nbgrader scores it)."""
import ast
import os
import shutil

import pytest

from backprop_labs.student_notebooks import read_notebook
from grading.course.assignments import all_assignments, get_assignment
from grading.course.submissions import cell_grade_id
from grading.course.pipeline import autograde, cell_scores
from grading.trusted import parallel
from grading.course.cell_scope import CellScope
from grading.trusted.cases import mlp_cases
from grading.trusted.check_spec import trusted_checks
from trusted_class import PARTLY_RIGHT, build_demo_class

ASSIGNMENT = "backprop_mlp"
KINDS = ["honest", *PARTLY_RIGHT]
# What each cell must give; the trusted path and the in-kernel path must both give exactly this.
FULL_MARKS = {"test_2_1_input_gradient": 1.0, "test_2_2_tangent": 1.0, "test_2_2_output_layer": 1.0,
              "test_2_2_all_layers": 2.0, "test_2_2_hidden": 2.0, "test_2_4_log_forward": 2.0, "test_2_4_hidden": 1.0}
EXPECTED = {
    "s00_honest": FULL_MARKS,
    "s01_sigmoid_only": dict(FULL_MARKS, test_2_2_hidden=0.0),
    "s02_output_layer_only": dict(FULL_MARKS, test_2_2_all_layers=0.0, test_2_2_hidden=0.0),
    "s03_forward_without_bias": dict(FULL_MARKS, test_2_4_log_forward=0.0, test_2_4_hidden=0.0),
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
    cases = trusted_checks()["numpy_mlp_backpropagation"].cases   # the wide ones too
    unscored = [case.key for case in cases if not any(map(lambda s: s.selects(case), scopes))]
    assert unscored == ["backprop-softmax-only"]  # no test cell checks a softmax layer alone


def can_score_in_part(source):
    """Whether nbgrader may give the test cell ``source`` part of its points: only a number as the
    cell's result does (its last statement an expression that is not a call of ``print`` or of a
    test helper ``assert_*``, which return nothing); else an error scores 0, anything else full points."""
    last = ast.parse(source).body[-1]
    if not isinstance(last, ast.Expr):
        return False
    called = last.value.func if isinstance(last.value, ast.Call) else None
    name = getattr(called, "id", getattr(called, "attr", ""))
    return not (name == "print" or name.startswith("assert_"))


def test_a_scope_is_all_or_nothing_exactly_when_its_cells_test_is():
    """A loop of asserts fails the cell at its first failure: a trusted score for part of the cases
    (e.g. 2.2d with one of its two networks wrong, 1 point trusted, 0 in the kernel) would differ."""
    wrong = []
    for assignment in all_assignments():
        sources = {cell_grade_id(cell): cell.source for cell in read_notebook(assignment.notebook).cells}
        for check, scopes in assignment.trusted_cells.items():
            wrong += [f"{assignment.name}: {cell} ({check})" for cell, scope in scopes.items()
                      if scope.all_or_nothing == can_score_in_part(sources[cell])]
    assert wrong == []


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


# assignment -> {kind: {test cell: score}}: what plain nbgrader gives each cell of solved (honest), starter
# (stub) and partly right work (tests/trusted_class.py); the trusted checks must give exactly the same.
EXPECTED_BY_ASSIGNMENT = {
    "glm": {
        "honest": {"test_g_1_links": 2.0, "test_g_1_hidden": 1.0, "test_g_2_grader": 2.0, "test_g_2_hidden": 2.0,
                   "test_routes": 2.0},
        "stub": {"test_g_1_links": 0.0, "test_g_1_hidden": 0.0, "test_g_2_grader": 0.0, "test_g_2_hidden": 0.0,
                 "test_routes": 0.0},
        "unshifted_softmax": {"test_g_1_links": 2.0, "test_g_1_hidden": 0.0, "test_g_2_grader": 2.0,
                              "test_g_2_hidden": 2.0, "test_routes": 2.0},
        "poisson_identity_link": {"test_g_1_links": 0.0, "test_g_1_hidden": 0.0, "test_g_2_grader": 0.0,
                                  "test_g_2_hidden": 2.0, "test_routes": 0.0},
    },
    "advertising": {
        "honest": {"test_least_squares": 1.0, "test_r_1_grader": 2.0, "test_r_1_hidden": 1.0, "test_descent": 2.0},
        "stub": {"test_least_squares": 1.0, "test_r_1_grader": 0.0, "test_r_1_hidden": 0.0, "test_descent": 0.0},
        "gradient_without_two": {"test_least_squares": 1.0, "test_r_1_grader": 0.0, "test_r_1_hidden": 0.0,
                                 "test_descent": 2.0},
    },
    "digits": {
        "honest": {"test_gradients": 2.0, "test_trajectories": 2.0, "test_accuracy_hidden": 2.0},
        "stub": {"test_gradients": 0.0, "test_trajectories": 0.0, "test_accuracy_hidden": 0.0},
        "output_layer_only": {"test_gradients": 0.0, "test_trajectories": 0.0, "test_accuracy_hidden": 2.0},
        "forward_without_bias": {"test_gradients": 2.0, "test_trajectories": 0.0, "test_accuracy_hidden": 0.0},
    },
    "worked_graph": {
        "honest": {"test_w_1_worked_point": 2.0, "test_w_1_hidden": 1.0},
        "stub": {"test_w_1_worked_point": 0.0, "test_w_1_hidden": 0.0},
        "dc_at_the_worked_point": {"test_w_1_worked_point": 2.0, "test_w_1_hidden": 0.0},
    },
    "forward_reverse": {
        "honest": {"test_f_1_forward": 2.0, "test_f_2_reverse": 2.0, "test_f_counts": 1.0, "test_f_modes_hidden": 2.0,
                   "test_f_3_closed_form": 2.0, "test_f_3_grader": 2.0, "test_f_3_hidden": 2.0},
        "stub": {"test_f_1_forward": 0.0, "test_f_2_reverse": 0.0, "test_f_counts": 0.0, "test_f_modes_hidden": 0.0,
                 "test_f_3_closed_form": 0.0, "test_f_3_grader": 0.0, "test_f_3_hidden": 0.0},
        "uncounted_forward": {"test_f_1_forward": 2.0, "test_f_2_reverse": 2.0, "test_f_counts": 0.0,
                              "test_f_modes_hidden": 0.0, "test_f_3_closed_form": 2.0, "test_f_3_grader": 2.0,
                              "test_f_3_hidden": 2.0},
        "backprop_without_softmax": {"test_f_1_forward": 2.0, "test_f_2_reverse": 2.0, "test_f_counts": 1.0,
                                     "test_f_modes_hidden": 2.0, "test_f_3_closed_form": 0.0, "test_f_3_grader": 0.0,
                                     "test_f_3_hidden": 0.0},
    },
    "conv1d": {   # the starter code scores 0 as every other assignment's does: not graded again here
        "honest": {"test_c_1_grader": 2.0, "test_c_1_hidden": 1.0},
        "kernel_width_three": {"test_c_1_grader": 2.0, "test_c_1_hidden": 0.0},
    },
    "autodiff": {
        "honest": {"test_a_1_multiply": 1.0, "test_a_2_divide": 1.0, "test_a_3_exp_log": 1.0, "test_a_4_tanh": 1.0,
                   "test_a_5_matmul": 1.0, "test_a_1_5_hidden": 2.0, "test_a_6_backward": 2.0,
                   "test_a_6_hidden": 2.0, "test_a_mlp": 2.0},
        "stub": {"test_a_1_multiply": 0.0, "test_a_2_divide": 0.0, "test_a_3_exp_log": 0.0, "test_a_4_tanh": 0.0,
                 "test_a_5_matmul": 0.0, "test_a_1_5_hidden": 0.0, "test_a_6_backward": 0.0,
                 "test_a_6_hidden": 0.0, "test_a_mlp": 0.0},
        "tanh_vjp_at_the_input": {"test_a_1_multiply": 1.0, "test_a_2_divide": 1.0, "test_a_3_exp_log": 1.0,
                                  "test_a_4_tanh": 0.0, "test_a_5_matmul": 1.0, "test_a_1_5_hidden": 2.0,
                                  "test_a_6_backward": 2.0, "test_a_6_hidden": 0.0, "test_a_mlp": 0.0},
        "backward_without_sum": {"test_a_1_multiply": 1.0, "test_a_2_divide": 1.0, "test_a_3_exp_log": 1.0,
                                 "test_a_4_tanh": 1.0, "test_a_5_matmul": 1.0, "test_a_1_5_hidden": 2.0,
                                 "test_a_6_backward": 0.0, "test_a_6_hidden": 0.0, "test_a_mlp": 0.0},
    },
}


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox's isolation needs root (CI runs as root)")
@pytest.mark.parametrize("assignment", list(EXPECTED_BY_ASSIGNMENT))
def test_solved_starter_and_partly_right_work_score_the_same_per_cell_both_ways(assignment, tmp_path):
    kinds = EXPECTED_BY_ASSIGNMENT[assignment]
    expected = {f"s{index:02d}_{kind}": cells for index, (kind, cells) in enumerate(kinds.items())}
    scores = scores_both_ways(tmp_path, assignment, list(kinds))
    assert scores["in the kernel"] == expected
    assert scores["trusted"] == expected
