"""The trusted checks of the lab modules, without the sandbox: the probes
of ``student_side.py`` run here on the solution (every case matches) and on a solution with one
function broken (exactly the cases that use it differ); and how a cell scope picks and scores cases."""
import importlib

import numpy as np
import pytest

import grading.exercises  # noqa: F401 (registers the checks)
from grading.course.assignments import get_assignment
from grading.course.cell_scope import CellScope
from grading.trusted import student_side
from grading.trusted.check_spec import trusted_checks
from grading.trusted.grade import CellOutcome
from trusted_in_process import case_problem, judgement, probe_case

# Every check of a lab module, run here (the accuracies' 30 epochs of four models are left to the sandboxed
# class tests; the answer-cell check needs a notebook).
FAST_CHECKS = [name for name, check in trusted_checks().items()
               if check.module and not check.answer_cells and name != "digits_accuracies"]


def _problems(check, module):
    """``{case key: None or the comparison's sentence}`` of ``check`` run in this process on ``module``."""
    checks = trusted_checks()[check]
    target = module if checks.class_name is None else getattr(module, checks.class_name)
    problems = {}
    for case in checks.cases:
        if checks.judge is None:
            _, arrays = probe_case(checks, target, case)
            assert {name: array.shape for name, array in arrays.items()} == checks.expected_shapes(case)
        problems[case.key] = case_problem(checks, target, case)
    return problems


def _solution_module(check):
    return importlib.import_module(trusted_checks()[check].module.replace("labs.", "labs_solutions.", 1))


@pytest.mark.parametrize("check", FAST_CHECKS)
def test_the_solution_matches_every_case(check, one_torch_thread):
    assert _problems(check, _solution_module(check)) == {case.key: None for case in trusted_checks()[check].cases}


def test_a_wrong_poisson_link_fails_exactly_the_cases_that_use_it(monkeypatch, one_torch_thread):
    glm = importlib.import_module("labs_solutions.glm")
    monkeypatch.setattr(glm, "poisson_mean", lambda eta: eta)
    monkeypatch.setitem(glm.DISTRIBUTIONS, "poisson", glm.DISTRIBUTIONS["poisson"].__class__(
        1, glm.poisson_mean, glm.poisson_negative_log_likelihood, glm.as_column))
    links = _problems("glm_inverse_links", glm)
    assert links["links"].startswith("poisson_mean of eta poisson: 6 of 6 entries differ")
    assert links["links-large"].startswith("poisson_mean of column:")
    gradients = _problems("glm_backpropagation", glm)
    assert gradients["glm-gaussian"] is None and gradients["glm-categorical"] is None
    assert "differs from the reference" in gradients["glm-poisson"]


def test_an_unshifted_softmax_fails_only_on_large_logits(monkeypatch):
    import torch

    glm = importlib.import_module("labs_solutions.glm")
    monkeypatch.setattr(glm, "categorical_mean", lambda eta: torch.exp(eta) / torch.exp(eta).sum(1, keepdim=True))
    large = trusted_checks()["glm_inverse_links"].cases[1]
    arrays = student_side.probe_function_calls(glm, large.spec(), large.arrays())
    # the NaN leaves the sandbox as an array; the grader's reader refuses it as not finite (results.py)
    assert not np.all(np.isfinite(arrays["categorical_mean(large_logits)"]))
    assert _problems("glm_inverse_links", glm)["links"] is None


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")  # it diverges
def test_a_gradient_without_the_mean_fails_both_gradient_cells_and_the_descent(monkeypatch):
    lab = importlib.import_module("labs_solutions.advertising")
    monkeypatch.setattr(lab, "mean_squared_error_gradient",
                        lambda design, coefficients, target: 2.0 * design.T @ (design @ coefficients - target))
    monkeypatch.setattr(lab.gradient_descent, "__defaults__", (0.1, 1000, lab.mean_squared_error_gradient))
    gradient = _problems("advertising_mse_gradient", lab)
    assert all("coefficients gradient differs from the reference: normwise error" in gradient[key]
               for key in ("markets", "other-design")), gradient   # check_backpropagation's words in both cases
    judged = trusted_checks()["advertising_mse_gradient"]
    assert {case.key: [cause for cause, _ in judgement(judged, lab, case).causes] for case in judged.cases} == {
        "markets": ["missing_batch_mean"], "other-design": ["missing_batch_mean"]}
    assert "against the least-squares fit" in _problems("advertising_descent", lab)["descent"]
    assert _problems("advertising_least_squares", lab) == {"fit": None}


def test_a_scope_picks_cases_by_key_and_an_all_or_nothing_cell_needs_every_case():
    check = trusted_checks()["glm_backpropagation"]
    scope = get_assignment("glm").trusted_cells["glm_backpropagation"]["test_g_2_hidden"]
    assert [case.key for case in check.cases if scope.selects(case)] == ["glm-gaussian", "glm-categorical"]
    assert CellOutcome("two cases", 1, 2, all_or_nothing=True).fraction == 0.0
    assert CellOutcome("two cases", 2, 2, all_or_nothing=True).fraction == 1.0
    assert CellOutcome("two cases", 1, 2).fraction == 0.5
    assert CellScope(cases=("x",)).selects(check.cases[0]) is False


def test_a_number_is_accepted_where_a_scalar_is_expected_and_nothing_else():
    assert student_side.as_float_array(2.5, "loss", ()).shape == ()
    with pytest.raises(student_side.ProbeError, match="is a str"):
        student_side.as_float_array("2.5", "loss", ())
    with pytest.raises(student_side.ProbeError, match="has shape"):
        student_side.as_float_array(2.5, "gradient", (3,))


def test_a_tanh_vjp_at_the_input_fails_the_tanh_cells_only(monkeypatch):
    from labs_solutions.autodiff import vjps

    tanh = next(fun for fun in vjps.VJPS if fun.__name__ == "tanh")
    monkeypatch.setitem(vjps.VJPS, tanh, (lambda g, ans, x: g * (1.0 - x ** 2),))
    package = importlib.import_module("labs_solutions.autodiff")
    vjp_problems = _problems("autodiff_vjps", package)
    assert [key for key, problem in vjp_problems.items() if problem] == ["tanh"]
    graphs = _problems("autodiff_backward_pass", package)
    assert graphs["backward"] is None and "against torch" in graphs["shared-and-chain"]


def test_uncounted_products_keep_the_gradient_and_lose_the_count(monkeypatch):
    from labs_solutions.forward_reverse import modes

    def uncounted_forward(jacobians, loss_row, counter=None):
        partial = jacobians[0]
        for jacobian in jacobians[1:]:
            partial = jacobian @ partial
        return (loss_row @ partial)[0]

    monkeypatch.setattr(modes, "forward_mode_gradient", uncounted_forward)
    problems = _problems("forward_reverse_modes", modes)
    assert all(problems[key] is None for key in problems if key.endswith("reverse"))
    assert all("counted 0 operations" in problems[key] for key in problems if key.endswith("forward"))
