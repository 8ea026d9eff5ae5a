"""Given code that a trusted check relies on is the course's copy: the sandbox runs each lab module's
released given functions and classes, with only the student's exercise definitions (and what the
student added beside them) taken from the submission."""
import os

import pytest

from backprop_labs.paths import SOLUTIONS_PACKAGE_DIR
from grading.trusted.grade import run_checks
from test_trusted_attacks import CHECKS, LIMITS, _make_course, _submission

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox's isolation needs root (CI runs as root)")

ADVERTISING = ["advertising_least_squares", "advertising_mse_gradient", "advertising_descent"]
# The starter, with the given gradient descent rewritten to return the least-squares fit (issue 27, item 5).
DESCENT_IS_LSTSQ = '''
def gradient_descent(features, target, learning_rate=0.1, num_steps=1000, gradient=None):
    return least_squares(features, target), np.zeros(num_steps)
'''
# Solved work whose given code is broken: the course's copy runs, so nothing changes.
GIVEN_CODE_BROKEN = '''
def least_squares(features, target):
    return np.zeros(1 + np.shape(features)[1])


def gradient_descent(features, target, learning_rate=0.1, num_steps=1000, gradient=None):
    raise RuntimeError("the rewritten given gradient_descent ran")
'''
# Solved work that moves its backpropagation into a helper method of its own and breaks the given forward pass.
NUMPY_MLP_RESTRUCTURED = '''
NumpyMLP._own_backpropagation = NumpyMLP.backpropagation
NumpyMLP.backpropagation = lambda self, input, output: self._own_backpropagation(input, output)


def _broken_forward(self, input):
    raise RuntimeError("the rewritten given forward pass ran")


NumpyMLP.forward_keeping_activations = _broken_forward
'''


def _with_module_text(folder, module, appended):
    with open(folder / "labs" / module, "a") as handle:
        handle.write(appended)
    return folder


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("given_code")
    course = _make_course(root)
    checks = {name: CHECKS[name] for name in ADVERTISING}
    folders = {
        "starter": _submission(root, "starter"),
        "descent_is_lstsq": _with_module_text(_submission(root, "descent_is_lstsq"), "advertising.py", DESCENT_IS_LSTSQ),
        "given_code_broken": _with_module_text(_submission(root, "given_code_broken", from_dir=SOLUTIONS_PACKAGE_DIR),
                                               "advertising.py", GIVEN_CODE_BROKEN),
    }
    results = {name: run_checks(checks, folder, hidden=[course]) for name, folder in folders.items()}
    restructured = _submission(root, "restructured", NUMPY_MLP_RESTRUCTURED, from_dir=SOLUTIONS_PACKAGE_DIR)
    results["restructured"] = run_checks({"numpy_mlp_backpropagation": CHECKS["numpy_mlp_backpropagation"]},
                                         restructured, hidden=[course], limits=LIMITS)
    return results


def _passed(results):
    return {name: (result.passed, result.total) for name, result in results.items()}


def test_the_starter_scores_only_the_given_least_squares(graded):
    assert _passed(graded["starter"]) == {"advertising_least_squares": (1, 1), "advertising_mse_gradient": (0, 2),
                                          "advertising_descent": (0, 1)}


def test_a_rewritten_given_function_scores_like_the_starter(graded):
    """The released gradient_descent runs (with the student's stub gradient), not the one returning lstsq."""
    assert _passed(graded["descent_is_lstsq"]) == _passed(graded["starter"])
    assert "NotImplementedError: Exercise R.1" in graded["descent_is_lstsq"]["advertising_descent"].feedback()


def test_solved_work_keeps_full_marks_whatever_its_given_code_says(graded):
    results = graded["given_code_broken"]
    assert _passed(results) == {name: (len(CHECKS[name].cases),) * 2 for name in ADVERTISING}, {
        name: result.feedback() for name, result in results.items()}


def test_a_method_the_student_added_is_kept_and_a_rewritten_given_method_is_not(graded):
    result = graded["restructured"]["numpy_mlp_backpropagation"]
    assert (result.passed, result.total) == (len(CHECKS["numpy_mlp_backpropagation"].cases),) * 2, result.feedback()
