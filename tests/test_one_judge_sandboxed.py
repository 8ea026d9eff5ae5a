"""The one judge through the real sandbox: what the notebook accepts, the official grade accepts, and a
mistake has the name the notebook gives it (not one name per shape it happens to have)."""
import os

import pytest

from backprop_labs.paths import SOLUTIONS_PACKAGE_DIR
from grading.trusted.grade import run_check
from test_trusted_attacks import CHECK, LIMITS, _make_course, _submission

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox's isolation needs root (CI runs as root)")

RIGHT = "_right = NumpyMLP.backpropagation\n"
FORMS = {
    "float32": RIGHT + '''
def _in_float32(self, input, output):
    saved = self.parameters
    self.parameters = [[np.asarray(array, dtype=np.float32) for array in pair] for pair in saved]
    try:
        return _right(self, np.asarray(input, dtype=np.float32), output)
    finally:
        self.parameters = saved

NumpyMLP.backpropagation = _in_float32
''',
    "flat_biases": RIGHT + "NumpyMLP.backpropagation = lambda self, x, y: [[dW, db.reshape(-1)] for dW, db in _right(self, x, y)]\n",
    "transposed": RIGHT + "NumpyMLP.backpropagation = lambda self, x, y: [[dW.T, db] for dW, db in _right(self, x, y)]\n",
    "off_by_1e-7": RIGHT + "NumpyMLP.backpropagation = lambda self, x, y: [[dW * (1 + 1e-7), db] for dW, db in _right(self, x, y)]\n",
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("one_judge")
    course = _make_course(root)
    return {name: run_check(CHECK, _submission(root, name, code, from_dir=SOLUTIONS_PACKAGE_DIR), hidden=[course],
                            limits=LIMITS) for name, code in FORMS.items()}


@pytest.mark.parametrize("form", ["float32", "flat_biases"])
def test_work_the_notebook_accepts_gets_every_case(graded, form):
    result = graded[form]
    assert result.passed == result.total == len(CHECK.cases), result.feedback()


def test_a_transposed_weight_gradient_has_one_cause_in_every_case(graded):
    result = graded["transposed"]
    assert result.passed == 0 and set(result.cause_table()) == {"transposed_weight"}, result.feedback()


def test_a_float64_formula_off_by_1e7_fails_and_is_named_approximate(graded):
    result = graded["off_by_1e-7"]
    assert result.passed == 0 and set(result.cause_table()) == {"approximate_formula"}, result.feedback()
    assert "float32" not in " ".join(result.lines).split("not rounding")[0]


def test_an_autodiff_walk_mistake_is_named_by_the_probe_in_the_sandbox(tmp_path):
    """backward_pass overwriting messages (micrograd's = for +=): the probe, shipped into the sandbox with the
    policy's closeness rule, names backward_pass in every case, as the notebook's check does."""
    from test_trusted_attacks import CHECKS

    folder = _submission(tmp_path, "overwrites", from_dir=SOLUTIONS_PACKAGE_DIR)
    backward = folder / "labs" / "autodiff" / "backward.py"
    right = "received[parent] = message if parent not in received else received[parent] + message"
    assert right in backward.read_text()
    backward.write_text(backward.read_text().replace(right, "received[parent] = message"))
    result = run_check(CHECKS["autodiff_mlp_gradients"], folder, hidden=[_make_course(tmp_path)], limits=LIMITS)
    assert result.passed == 0 and set(result.cause_table()) == {"backward_pass"}, result.feedback()
    assert any("used twice" in line for line in result.lines), result.lines


R1_IN_FLOAT32 = '''

_right_gradient = mean_squared_error_gradient


def mean_squared_error_gradient(design, coefficients, target):
    return _right_gradient(np.asarray(design, dtype=np.float32), np.asarray(coefficients, dtype=np.float32),
                           np.asarray(target, dtype=np.float32))
'''


def test_float32_r1_work_the_notebook_accepts_gets_every_case_in_the_sandbox(tmp_path):
    """R.1 (a function, judged through the same adapter as in the notebook): right work in float32 passes."""
    from test_trusted_attacks import CHECKS

    folder = _submission(tmp_path, "r1_float32", from_dir=SOLUTIONS_PACKAGE_DIR)
    module = folder / "labs" / "advertising.py"
    module.write_text(module.read_text() + R1_IN_FLOAT32)
    result = run_check(CHECKS["advertising_mse_gradient"], folder, hidden=[_make_course(tmp_path)], limits=LIMITS)
    assert (result.passed, result.total) == (2, 2), result.feedback()
