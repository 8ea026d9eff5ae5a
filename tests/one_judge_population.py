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
from grading.trusted.case_diagnosis import UNEXPLAINED
from grading.trusted.check_spec import trusted_checks
from mutations import CORRECT, MUTATIONS
from mutations.models import student_class
from trusted_in_process import judgement, probe_case

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


@lru_cache(maxsize=16)
def graded_cells(assignment, check):
    """``{grade id: (source, points)}`` of the test cells of ``assignment``'s notebook that the trusted check
    ``check`` scores."""
    row = get_assignment(assignment)
    scopes = row.trusted_cells[check]
    cells = {}
    for cell in json.loads(Path(row.notebook).read_text())["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in scopes:
            cells[grade_id] = ("".join(cell["source"]), cell["metadata"]["nbgrader"]["points"])
    return cells


def _cells():
    return graded_cells("backprop_mlp", CHECK)


def cells_in_kernel(assignment, check, namespace):
    """``{grade id: (score, [(cause, sentence)])}``: each test cell the trusted check ``check`` scores, its code
    run as the notebook runs it in a copy of ``namespace`` (the notebook's names, the student's code among
    them); the causes and sentences of ``check_backpropagation``'s failing reports (an exception the student's
    code raised: ``raised_<type>``; a cell's own check that failed: ``unexplained`` and its sentence)."""
    scored = {}
    for grade_id, (source, points) in graded_cells(assignment, check).items():
        reports = []
        real, shown, plotted = helpers.check_backpropagation, helpers._show, helpers.show_tangent_of_worst
        helpers.check_backpropagation = lambda *a, **k: reports.append(real(*a, **k)) or reports[-1]
        helpers._show = helpers.show_tangent_of_worst = lambda *a, **k: None   # what is shown does not score
        try:
            exec(compile(source, grade_id, "exec"), dict(namespace))
            score = points
        except CheckFailed as failed:
            score = 0
            if not any(not isinstance(report, str) and not report.passed for report in reports):
                reports.append((UNEXPLAINED[0], str(failed)))   # a cell's own check: its sentence
        except Exception as error:  # noqa: BLE001 - the student's exception fails the cell, as in the kernel
            reports.append(type(error).__name__)
            score = 0
        finally:
            helpers.check_backpropagation, helpers._show, helpers.show_tangent_of_worst = real, shown, plotted
        failing = [report for report in reports if isinstance(report, (str, tuple)) or not report.passed]
        scored[grade_id] = (score, sorted({pair for report in failing
                                           for pair in ([(f"raised_{report}", "")] if isinstance(report, str)
                                                        else [report] if isinstance(report, tuple)
                                                        else zip(report.causes, report.diagnosis))}))
    return scored


def cells_trusted(assignment, check, target, wide=True):
    """``{grade id: (score, [(cause, sentence)])}`` of the same cells from the trusted check run in this process
    (no sandbox) on ``target`` (the student's class or module), scored per cell as the gradebook scores it. A
    check that compares arrays instead of judging calls names no cause: its sentence comes as ``unexplained``.
    Without the check's wide cases (grading.trusted.cases.wide_mlp_cases) unless ``wide``."""
    judged_check = trusted_checks()[check]
    if not wide:
        judged_check = replace(judged_check, cases=tuple(case for case in judged_check.cases
                                                         if getattr(case, "geometry", (0,))[0] != WIDE_INPUT_SIZE))
    scopes = get_assignment(assignment).trusted_cells[check]
    scored = {}
    for grade_id, scope in scopes.items():
        points = graded_cells(assignment, check)[grade_id][1]
        chosen = [case for case in judged_check.cases if scope.selects(case)]
        failures = [found for found in (_case_causes(judged_check, target, case, scope) for case in chosen) if found]
        fraction = (len(chosen) - len(failures)) / len(chosen)
        score = points * (float(fraction == 1.0) if scope.all_or_nothing else fraction)
        named = failures[:1] if scope.all_or_nothing else failures   # the cell's test stops at its first failure
        scored[grade_id] = (score, sorted({pair for found in named for pair in found}))
    return scored


def _case_causes(check, target, case, scope):
    """``[(cause, sentence)]`` of a failing case (``[("", why)]`` when the judge names none; a compared check's
    sentence as ``unexplained``, then its diagnosis; or the exception its probe raised), ``[]`` if it passes."""
    if check.judge is None:
        try:
            arrays = scope.keep(case, probe_case(check, target, case)[1])
        except Exception as error:  # noqa: BLE001 - what the sandbox reports of the case (e.g. a ProbeError)
            return [(f"raised_{type(error).__name__}", str(error))]
        problem = check.compare(case, arrays)
        if problem is None:
            return []
        return [(UNEXPLAINED[0], problem), *(check.diagnose(case, arrays) if check.diagnose else [])]
    found = judgement(check, target, case)
    problem = found.failure(scope.layers(case))
    return [] if problem is None else (found.causes or [("", problem)])


def _cause_keys(scored):
    return {grade_id: (score, sorted({cause for cause, _ in pairs})) for grade_id, (score, pairs) in scored.items()}


def in_kernel(backpropagation, books):
    """``{grade id: (score, [cause keys])}``: each test cell's code run as the notebook runs it, on the
    notebook's model and batch, with ``backpropagation`` as the student's."""
    namespace = {"np": np, "NumpyMLP": student_class(backpropagation), "learning_rate": 0.05,
                 "geometry": [books.num_features, 20, books.num_classes],
                 "activation_functions": ["sigmoid", "softmax"],
                 "batch": books.batches("train", batch_size=30)[0],
                 "assert_gradients_match": helpers.assert_gradients_match,
                 "with_random_biases": helpers.with_random_biases}
    return _cause_keys(cells_in_kernel("backprop_mlp", CHECK, namespace))


# The form judged on the wide cases too (grading.trusted.cases.wide_mlp_cases: about 0.5 s per entry and form);
# the other forms change how the same numbers are computed or returned, which the small cases judge as well.
WIDE_CASE_FORMS = ("as written",)


def trusted(backpropagation, wide=True):
    """``{grade id: (score, [cause keys])}`` from the trusted check run in this process (no sandbox); without
    the check's wide cases unless ``wide``."""
    return _cause_keys(cells_trusted("backprop_mlp", CHECK, student_class(backpropagation), wide=wide))
