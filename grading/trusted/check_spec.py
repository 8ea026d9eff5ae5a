"""What a trusted check is: which student code to call, on which cases, and how its answers
are compared with the float64 reference computed in the grading process.

Each exercise that is autograded outside the kernel describes its :class:`TrustedCheck` next to
its gradient exercise (``GradientExercise.trusted`` in ``grading/exercises/``);
:func:`trusted_checks` gathers them.
"""
from dataclasses import dataclass, field

import numpy as np

from grading.policy.closeness import close_failure
from grading.policy.precision import GradientTolerance

from .sandbox.limits import Limits

FLOAT64 = GradientTolerance(np.dtype(np.float64))
# The CPU budget of a check whose honest work needs well under a second of CPU (NumPy gradients by hand): 20 times
# that for a slow or loaded machine, and far below what gradients taken one parameter at a time cost on the wide
# cases (grading.trusted.cases.wide_mlp_cases). The checks of one process add their budgets up.
BY_HAND_LIMITS = Limits(cpu_seconds=20)


def gradient_shapes(case):
    """``{'dW0': (out, in), 'db0': (1, out), ...}`` for the case's geometry."""
    shapes = {}
    for n, (size_in, size_out) in enumerate(zip(case.geometry[:-1], case.geometry[1:])):
        shapes[f"dW{n}"], shapes[f"db{n}"] = (size_out, size_in), (1, size_out)
    return shapes


def forward_shapes(case):
    return {"log_probabilities": (case.batch_size, case.geometry[-1]), **gradient_shapes(case)}


@dataclass
class GradientJudgement:
    """The judgement of one case's returned gradients, by the notebook's own judge (a
    :class:`~grading.gradient_check.report.GradientReport`, or the same functions on arrays alone):
    ``rows`` one per parameter, judged at ``rtol``; ``causes`` ``[(cause, sentence)]`` of the same diagnosis;
    ``passed`` every row, the returned structure and every check; ``other_failure`` why it fails when
    every row passes (the structure, a check that called again, an exception)."""

    rows: list
    rtol: float
    causes: list
    passed: bool
    other_failure: str = ""

    @classmethod
    def of_report(cls, report):
        failed_check = next((check for check in report.checks if check.passed is False), None)
        other = (report.notes[0] if report.notes and not any(row.passed for row in report.rows) else
                 f"{failed_check.name.replace('_', ' ')}: {failed_check.detail}" if failed_check else
                 "; ".join(report.diagnosis[:1]))
        return cls(report.rows, report.rtol, list(zip(report.causes, report.diagnosis)), report.passed, other)

    def failure(self, layers=None):
        """Why the case fails for the gradients of ``layers`` (None: everything the judge looks at), or None.
        As in the notebooks' ``assert_gradients_match``: a test of some layers reads only their rows."""
        for row in self.rows:
            if row.passed or (layers is not None and row.layer not in layers):
                continue
            label = row.role if row.layer is None else f"layer {row.layer} {row.role}"
            blocking = "; ".join(part for part in row.note.split("; ") if part and not part.startswith("warning: "))
            if blocking:
                return blocking
            if row.max_rel_error is None:
                return f"{label} gradient: {self.other_failure or 'unusable'}"
            return f"{label} gradient differs from the reference: normwise error {row.max_rel_error:.1e} > {self.rtol:.1e}"
        if layers is None and not self.passed:
            return self.other_failure or "a check of the grader failed"
        return None


def specs_and_reference(exercise, case):
    """``(specs, parameters float64 in spec order, reference gradients in spec order)`` for a case."""
    from grading.gradient_check.reference import ReferenceLoss

    parameters = case.parameters()
    configuration = case.model_configuration()
    configuration.parameters = parameters
    specs = exercise.parameter_specs(configuration)
    flat = [np.asarray(parameters[spec.path[0]][spec.path[1]], dtype=np.float64) for spec in specs]
    loss = ReferenceLoss(exercise, configuration, parameters, specs, case.batch())
    return configuration, specs, flat, loss.gradient(flat)


def judge_gradients(exercise_name, case, raw, error=None, by_name=False):
    """The :class:`GradientJudgement` of ``raw`` (a gradient function's return value) for ``case``, by
    ``check_backpropagation``'s own functions on these arrays alone (no further call: the precision is the
    dtype's); ``by_name``: ``raw`` is ``{'dW0': ..., 'db0': ...}`` (:func:`gradients_by_name`); ``error``: the
    :class:`~grading.gradient_check.student_call.StudentError` of a call that raised (then ``raw`` is None).
    The judged checks use the whole judge (:mod:`grading.trusted.replay`)."""
    from grading.diagnosis.rules import diagnose
    from grading.gradient_check.registry import get_exercise
    from grading.gradient_check.returned_arrays import unpack_gradients
    from grading.gradient_check.verdict import declared_precision, evidence_for_diagnosis, parameter_rows
    from grading.policy.precision import achieved_tolerance, error_sizes

    exercise = get_exercise(exercise_name)
    configuration, specs, parameters, reference = specs_and_reference(exercise, case)
    if by_name:
        raw = gradients_by_name(configuration.parameters, specs, raw)
    unpacked = None if error is not None else unpack_gradients(raw, specs)
    sizes = [None] * len(specs) if unpacked is None else [None if found is None else error_sizes(found, wanted)
                                                        for found, wanted in zip(unpacked.usable, reference.gradients)]
    errors = [None if size is None else size[1] for size in sizes]
    tolerance = achieved_tolerance(declared_precision(raw, specs, parameters), errors, reference.gradients)
    rows = parameter_rows(specs, unpacked, sizes, tolerance)
    structure = [problem.message for problem in unpacked.blocking if problem.spec is None] if unpacked else []
    passed = unpacked is not None and not unpacked.blocking and all(row.passed for row in rows)
    causes = [] if passed else diagnose(evidence_for_diagnosis(
        exercise, configuration, specs, case.batch(), error, raw, unpacked, reference.gradients, errors, {},
        tolerance, parameters))
    other = error.describe() if error is not None else structure[0] if structure else ""
    return GradientJudgement(rows, tolerance.rtol, causes, passed, other)


def gradients_by_name(parameters, specs, arrays):
    """A gradient function's return value rebuilt from arrays named ``dW<layer>`` / ``db<layer>``, nested
    as ``parameters`` are (absent names as ``None``)."""
    from grading.gradient_check.reference import nest_like

    return nest_like(parameters, {spec.path: arrays.get(f"{'dW' if spec.role == 'weight' else 'db'}{spec.layer}")
                                  for spec in specs})


def gradient_judge(exercise_name):
    """A :class:`TrustedCheck`'s ``judge`` for the gradient exercise ``exercise_name``: the notebook's
    ``check_backpropagation`` on the calls the sandbox recorded (:mod:`grading.trusted.replay`)."""
    def judge(case, session, arrays):
        from .replay import replay_report

        return GradientJudgement.of_report(replay_report(exercise_name, case, session, arrays))
    return judge


def compare_gradients(exercise, case, arrays):
    """``None`` if the gradients in ``arrays`` (``{'dW0': ..., 'db0': ...}``, possibly only some layers',
    as a :class:`CellScope` picks them) pass :func:`judge_gradients`, else why not."""
    layers = {int(name[2:]) for name in arrays if name.startswith(("dW", "db"))}
    return judge_gradients(exercise, case, arrays, by_name=True).failure(layers)


def compare_forward(exercise, case, arrays):
    """Test 2.4's rule: the log-probabilities against the reference network's on the case's parameters (the
    function the notebook's ``assert_log_probabilities_match`` calls), then the gradients autograd took
    through them by the gradient check's own functions."""
    from grading.diagnosis.forward_hypotheses import log_probabilities_failure, reference_log_probabilities

    expected = reference_log_probabilities(case.model_configuration(), case.parameters(), case.batch()["input"])
    return log_probabilities_failure(arrays["log_probabilities"], expected) or compare_gradients(exercise, case, arrays)


def compare_input_gradient(case, arrays):
    """Exercise 2.1: ``((P - onehot(y)) / B) @ W``, the gradient of the mean loss with respect to the input,
    ``(B, I)``, by the notebook test's own rule (the exercise's tolerance, entrywise)."""
    from grading.diagnosis.mlp_hypotheses import reference_input_gradient
    from grading.gradient_check.reference import INPUT_GRADIENT, INPUT_GRADIENT_ATOL, INPUT_GRADIENT_RTOL

    return close_failure(arrays["value"], reference_input_gradient(*case.inputs()), INPUT_GRADIENT, rtol=INPUT_GRADIENT_RTOL, atol=INPUT_GRADIENT_ATOL)


def loss_and_tangent_shapes(case):
    """The tangent-plot exercise returns three arrays of ``points`` values."""
    from grading.gradient_check.tangent import LOSS_AND_TANGENT

    return {name: (case.spec()["points"],) for name in LOSS_AND_TANGENT}


class _ReferenceMLP:
    """A case's network whose loss is the exercise's float64 reference loss (never the student's code)."""

    def __init__(self, exercise_name, case):
        from grading.gradient_check.registry import get_exercise, layer_pair_specs

        self.activation_functions = list(case.activations)
        self.parameters = case.parameters()
        self.exercise, self.specs = get_exercise(exercise_name), layer_pair_specs(self)

    def cross_entropy_loss(self, input, output):
        from grading.gradient_check.reference import ReferenceLoss, parameter_arrays

        loss = ReferenceLoss(self.exercise, self, self.parameters, self.specs, {"input": input, "output": output})
        return loss.value(parameter_arrays(self.parameters, self.specs))[0]


def loss_and_tangent_judgement(exercise, case, arrays):
    """``(None or why not, [(cause, sentence)])`` of the student's curve and tangent against
    :func:`grading.gradient_check.tangent.expected_loss_and_tangent` on the reference network, by the
    notebook test's own function."""
    from grading.gradient_check.tangent import LOSS_AND_TANGENT, expected_loss_and_tangent, loss_and_tangent_failure

    model = _ReferenceMLP(exercise, case)
    spec = case.spec()
    expected = expected_loss_and_tangent(model, case.batch(), case.gradients(), spec["layer_index"], spec["is_bias"],
                                         spec["row"], spec["column"], exercise=exercise)
    where = (f"layer {spec['layer_index']} {'bias' if spec['is_bias'] else 'weight'} [{spec['row']}"
             f"{'' if spec['is_bias'] else ', ' + str(spec['column'])}]")
    return loss_and_tangent_failure([arrays[name] for name in LOSS_AND_TANGENT], expected, where)


def compare_loss_and_tangent(exercise, case, arrays):
    """The first element of :func:`loss_and_tangent_judgement`."""
    return loss_and_tangent_judgement(exercise, case, arrays)[0]


def compare_close(found, expected, what, rtol, atol=0.0):
    """``None`` if ``found`` equals ``expected`` within ``atol + rtol * |expected|`` entrywise, else the
    sentence of the notebooks' own ``assert_close`` (the same function, so a cell's trusted check and
    its test agree)."""
    return close_failure(found, expected, what, rtol=rtol, atol=atol)


def calls_shapes(case):
    """Shapes of what a :class:`~grading.trusted.cases.CallsCase` gives back."""
    return case.shapes()


@dataclass(frozen=True)
class TrustedCheck:
    """How to grade one exercise outside the student's kernel.

    ``name`` is also the key that maps the check to nbgrader test cells (see
    :mod:`grading.course.assignments`); ``exercise`` names the grader library's exercise whose
    reference loss is used. ``module`` (may be ``None``) is imported from the submission,
    then the notebook's ``answer_cells`` (nbgrader grade ids) are executed, then
    ``class_name`` (a class or a function) is looked up in the cells' namespace first;
    ``class_name=None`` hands the probe the module itself (probe ``function_calls``).
    ``limits``: what the check may use; the checks of one submission run in one process,
    whose time limits are the sums of theirs (see :func:`grading.trusted.grade.combined_limits`).
    ``torch_allowed=False`` (an exercise whose learning goal is NumPy): the check runs in a process
    of its own where the torch package is hidden, and the feedback says so if the code needs it.
    """

    name: str
    title: str
    exercise: str
    module: str
    class_name: object   # str, or None for the module
    probe: object        # a probe function of grading.trusted.student_side, or its key in PROBES
    cases: tuple
    expected_shapes: object = None   # case -> {name: shape} of the arrays ``compare`` reads (not for ``judge``)
    compare: object = None           # (case, {name: array}) -> None or why not (not for ``judge``)
    answer_cells: tuple = ()
    limits: Limits = field(default_factory=Limits)
    torch_allowed: bool = True   # False: the student's code runs where PyTorch cannot be imported
    # (case, {name: array}) -> [(cause, sentence)] for a case ``compare`` failed (grading.trusted.case_diagnosis)
    diagnose: object = None
    # Gradient exercises: (case, recorded session, arrays) -> GradientJudgement, the judgement of
    # check_backpropagation itself; the probe records every call it may make (student_side.Session), and
    # ``compare`` / ``diagnose`` are not used.
    judge: object = None
    # True: the gradients must come from backpropagation; a time or CPU limit hit during the check is then
    # explained as what it most likely is, gradients computed one parameter at a time (limit_hint).
    by_backpropagation: bool = False

    def limit_hint(self):
        """Why a run that hit a time or CPU limit during this check most likely did ('' when nothing is known)."""
        if not self.by_backpropagation:
            return ""
        largest = max(sum(np.size(array) for pair in case.parameters() for array in pair) for case in self.cases)
        return (f"the gradients must come from backpropagation, one forward and one backward pass: differences "
                f"taken one parameter at a time (finite or complex-step) cost a forward pass per parameter, and a "
                f"case of this check has {largest:,} parameters (an endless loop or a very slow step ends the same way)")

    @property
    def probe_key(self):
        """The name the sandbox knows ``probe`` by: ``probe`` itself, or the key of the probe function given
        (a function of :mod:`grading.trusted.student_side`, e.g. ``probe_model_session``) in its ``PROBES``."""
        if isinstance(self.probe, str):
            return self.probe
        from .student_side import PROBES

        key = next((key for key, function in PROBES.items() if function is self.probe), None)
        if key is None:
            raise ValueError(f"trusted check {self.name!r}: its probe {getattr(self.probe, '__name__', self.probe)!r} "
                             f"is none of grading.trusted.student_side.PROBES ({', '.join(sorted(PROBES))})")
        return key

    def case_spec(self, case):
        """What the sandbox is told of ``case``: its own spec, and for a judged check the session to record."""
        if self.judge is None:
            return case.spec()
        from grading.gradient_check.registry import get_exercise

        from .replay import session_spec

        return {**case.spec(), "session": session_spec(get_exercise(self.exercise), case)}


def trusted_checks():
    """``{check name: TrustedCheck}``: every registered exercise's (one or several), then the other
    registered checks (:func:`grading.gradient_check.registry.register_trusted_check`), in registration order."""
    from grading.gradient_check.registry import registered_exercises, registered_trusted_checks

    own = {check.name: check for exercise in registered_exercises().values() for check in exercise.trusted_checks()}
    return {**own, **registered_trusted_checks()}


def with_torch_allowed(checks, names):
    """``checks`` (``{name: TrustedCheck}``) with ``torch_allowed`` set for the checks in ``names`` (the
    instructor's ``--allow-torch``); raises ``ValueError`` naming a name that is no trusted check."""
    from dataclasses import replace

    unknown = sorted(set(names) - set(trusted_checks()))
    if unknown:
        raise ValueError(f"--allow-torch {', '.join(unknown)}: no trusted check of that name (the NumPy ones: "
                         f"{', '.join(name for name, check in trusted_checks().items() if not check.torch_allowed)})")
    return {name: replace(check, torch_allowed=True) if name in names else check for name, check in checks.items()}


def reference_gradients(exercise_name, case):
    """``(loss, {'dW0': array, 'db0': array, ...})`` of the exercise's loss for ``case``.

    The loss is rebuilt from the case's parameters by the exercise's ``reference_loss`` (PyTorch
    autograd, float64), never from anything the student's code produced.
    """
    from grading.gradient_check.registry import get_exercise

    _, specs, _, result = specs_and_reference(get_exercise(exercise_name), case)
    return result.loss, {f"{'dW' if spec.role == 'weight' else 'db'}{spec.layer}": gradient
                         for spec, gradient in zip(specs, result.gradients)}
