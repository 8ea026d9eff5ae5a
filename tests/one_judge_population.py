"""The population the one-judge test grades: every entry of the mutation catalogue (tests/mutations,
the re-enacted real mistakes and the right-but-different implementations), each also in four other
forms a student's code takes (float32 arithmetic, ``(out,)`` biases, ``np.matrix`` and torch tensors),
graded as the notebook's test cells grade it and as the trusted checks grade it."""
import json
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

import grading.course.test_cell_helpers as helpers
from grading.course.assignments import get_assignment
from grading.course.test_cell_helpers import CheckFailed
from grading.trusted.cases import WIDE_INPUT_SIZE
from grading.trusted.check_spec import trusted_checks
from mutations import CORRECT, MUTATIONS
from mutations.models import student_class
from trusted_in_process import judgement

NOTEBOOK = Path(__file__).parents[1] / "notebooks" / "source" / "backprop_mlp.ipynb"
CHECK = "numpy_mlp_backpropagation"


def _in_float32(backpropagation):
    def written_in_float32(self, input, output):
        saved = self.parameters
        self.parameters = [[np.asarray(array, dtype=np.float32) for array in pair] for pair in saved]
        try:
            return backpropagation(self, np.asarray(input, dtype=np.float32), output)
        finally:
            self.parameters = saved
    return written_in_float32


def _leaves(convert):
    """A form that changes each returned [dW, db] leaf (anything else is returned as it is)."""
    def form(backpropagation):
        def converted(self, input, output):
            gradients = backpropagation(self, input, output)
            if not isinstance(gradients, (list, tuple)):
                return gradients
            return [[convert(position, leaf) for position, leaf in enumerate(pair)]
                    if isinstance(pair, (list, tuple)) and len(pair) == 2 else pair for pair in gradients]
        return converted
    return form


def _flat_bias(position, leaf):
    return leaf.reshape(-1) if position == 1 and isinstance(leaf, np.ndarray) and leaf.ndim == 2 and leaf.shape[0] == 1 \
        else leaf


def _matrix(position, leaf):
    return np.asmatrix(leaf) if isinstance(leaf, np.ndarray) and leaf.ndim == 2 else leaf


def _tensor(position, leaf):
    return torch.from_numpy(np.array(leaf)) if isinstance(leaf, np.ndarray) else leaf


FORMS = {"as written": lambda f: f, "float32": _in_float32, "(out,) biases": _leaves(_flat_bias),
         "np.matrix": _leaves(_matrix), "torch tensors": _leaves(_tensor)}


def population():
    """``[(name, backpropagation, right)]``: every catalogue entry in every form."""
    entries = [(m.name, m.backpropagation, m.passes) for m in MUTATIONS] + [(n, f, True) for n, f in CORRECT.items()]
    return [(f"{name} [{form}]", make(function), right) for name, function, right in entries
            for form, make in FORMS.items()]


@lru_cache(maxsize=1)
def _cells():
    """``{grade id: (source, points)}`` of the test cells the NumpyMLP.backpropagation check scores."""
    scopes = get_assignment("backprop_mlp").trusted_cells[CHECK]
    cells = {}
    for cell in json.loads(NOTEBOOK.read_text())["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in scopes:
            cells[grade_id] = ("".join(cell["source"]), cell["metadata"]["nbgrader"]["points"])
    return cells


def in_kernel(backpropagation, books):
    """``{grade id: (score, [cause keys])}``: each test cell's code run as the notebook runs it, on the
    notebook's model and batch, with ``backpropagation`` as the student's."""
    scored = {}
    for grade_id, (source, points) in _cells().items():
        reports = []
        real, shown, plotted = helpers.check_backpropagation, helpers._show, helpers.show_tangent_of_worst
        helpers.check_backpropagation = lambda *a, **k: reports.append(real(*a, **k)) or reports[-1]
        helpers._show = helpers.show_tangent_of_worst = lambda *a, **k: None   # what is shown does not score
        namespace = {"np": np, "NumpyMLP": student_class(backpropagation), "learning_rate": 0.05,
                     "geometry": [books.num_features, 20, books.num_classes], "activation_functions": ["sigmoid", "softmax"],
                     "batch": books.batches("train", batch_size=30)[0],
                     "assert_gradients_match": helpers.assert_gradients_match,
                     "with_random_biases": helpers.with_random_biases}
        try:
            exec(compile(source, grade_id, "exec"), namespace)
            score = points
        except CheckFailed:
            score = 0
        except Exception as error:  # noqa: BLE001 - the student's exception fails the cell, as in the kernel
            reports.append(type(error).__name__)
            score = 0
        finally:
            helpers.check_backpropagation, helpers._show, helpers.show_tangent_of_worst = real, shown, plotted
        failing = [report for report in reports if isinstance(report, str) or not report.passed]
        scored[grade_id] = (score, sorted({cause for report in failing
                                           for cause in ([f"raised_{report}"] if isinstance(report, str)
                                                         else report.causes)}))
    return scored


# The form judged on the wide cases too (grading.trusted.cases.wide_mlp_cases: about 0.5 s per entry and form);
# the other forms change how the same numbers are computed or returned, which the small cases judge as well.
WIDE_CASE_FORMS = ("as written",)


def trusted(backpropagation, wide=True):
    """``{grade id: (score, [cause keys])}`` from the trusted check run in this process (no sandbox); without
    the check's wide cases unless ``wide``."""
    check = trusted_checks()[CHECK]
    if not wide:
        check = replace(check, cases=tuple(case for case in check.cases if case.geometry[0] != WIDE_INPUT_SIZE))
    target = student_class(backpropagation)
    scopes = get_assignment("backprop_mlp").trusted_cells[CHECK]
    judged = {case.key: judgement(check, target, case) for case in check.cases}
    scored = {}
    for grade_id, scope in scopes.items():
        points = _cells()[grade_id][1]
        chosen = [case for case in check.cases if scope.selects(case)]
        failures = [judged[case.key] for case in chosen if judged[case.key].failure(scope.layers(case))]
        fraction = (len(chosen) - len(failures)) / len(chosen)
        score = points * (float(fraction == 1.0) if scope.all_or_nothing else fraction)
        named = failures[:1] if scope.all_or_nothing else failures   # the cell's test stops at its first failure
        scored[grade_id] = (score, sorted({cause for found in named for cause, _ in found.causes}))
    return scored
