"""``check_backpropagation``: the student's gradients against a float64 autograd reference.

The pipeline, one small step each:

1. call the student's gradient function once (exceptions become results, side effects are undone);
2. rebuild the loss from the parameters in PyTorch float64 and differentiate it (:mod:`.reference`);
3. cross-check that reference by central differences along a random direction (:mod:`.finite_differences`);
4. compare array by array within a dtype-derived tolerance (:mod:`grading.policy.precision`, :mod:`.verdict`);
5. run the reference-free checks (:mod:`.invariants`) and the model's own loss against the reference;
6. turn the evidence into sentences (:mod:`grading.diagnosis.rules`) and a report (:mod:`.report`).
"""
import platform
import time

import numpy as np
import torch

from backprop_labs.threads import small_products
from grading.diagnosis.rules import diagnose
from .finite_differences import directional_check_once
from .registry import find_exercise, get_exercise, read_path
from .invariants import (CheckResult, StudentRunner, mean_of_examples_check, modification_checks,
                         second_call_checks, take_rows)
from grading.policy.arrays import as_array, to_float64
from .reference import ReferenceLoss
from .report import GradientReport
from .verdict import (declared_precision, evidence_for_diagnosis, localised_finding, parameter_rows,
                      rounding_evidence)
from .student_call import call_student
from .returned_arrays import DEFAULT_SHAPE_POLICY
from grading.policy.precision import achieved_tolerance, dtype_name, normwise_error, precision_of


def check_backpropagation(model, input, output, exercise=None, seed=0, further_checks=True,
                          shape_policy=DEFAULT_SHAPE_POLICY):
    """Check ``model``'s gradients on the batch ``(input (B, I), output (B,))``; returns a GradientReport.

    ``exercise`` is a registered name (``'numpy_mlp'``, ``'log_linear'``,
    ``'pytorch_mlp_forward'``, ...) or ``None`` to recognise it from the model. ``seed`` fixes
    the random direction of the finite-difference cross-check and the examples of the
    mean-of-examples check. ``further_checks=False`` keeps only the gradient comparison (with its
    finite-difference cross-check): it skips the checks that call the student's code again
    (repeat call, mean of examples, logit shift, and the model's own loss unless the exercise is
    the forward pass). ``shape_policy`` says what an array with the parameter's entries in a
    shape differing only by axes of length 1 earns (``'lenient'``, the default: a warning,
    compared by value; ``'strict'``: a failure, still compared by value; see
    :mod:`.returned_arrays`). Whatever the student's code returns or raises, this returns a
    report. The model is left as it was found.
    """
    with one_torch_thread():
        return _check(model, input, output, exercise, seed, further_checks, shape_policy)


def one_torch_thread():
    """The course's thread policy meanwhile (:func:`backprop_labs.threads.small_products`): one
    PyTorch and one BLAS thread unless ``$BACKPROP_LABS_THREADS`` asks for more, as in the training
    loop and the benchmark units. The grader's tensors are small, PyTorch's worker threads keep
    spinning after each operation (slowing the student's NumPy calls that come next by 2 to 4x),
    and a two-thread BLAS product waits for a busy core on a shared machine."""
    return small_products()


class _Stopwatch:
    """Seconds spent per stage, for the report's cost."""

    def __init__(self):
        self.seconds = {}

    def stage(self, name):
        return _Stage(self.seconds, name)


class _Stage:
    """One stage's time, added to ``seconds[name]`` (a plain class: a generator-based context manager
    costs a few microseconds, and a check on a small network times five stages)."""

    def __init__(self, seconds, name):
        self.seconds, self.name = seconds, name

    def __enter__(self):
        self.started = time.perf_counter()

    def __exit__(self, *exception):
        self.seconds[self.name] = self.seconds.get(self.name, 0.0) + time.perf_counter() - self.started
        return False


def _check(model, input, output, exercise, seed, further_checks, shape_policy):
    started = time.perf_counter()
    clock = _Stopwatch()
    exercise = get_exercise(exercise) if isinstance(exercise, str) else exercise or find_exercise(model)
    batch = {"input": input, "output": output}
    rng = _FirstUseGenerator(seed)
    specs = exercise.parameter_specs(model)

    runner = StudentRunner(exercise, model, specs, shape_policy)
    with clock.stage("student"):
        first_call, unpacked = runner(batch)
    declared = declared_precision(first_call.value, specs, [read_path(model.parameters, s.path) for s in specs])

    # The parameters as they were before the student's first call are the point the gradients are of.
    arrays = _saved_parameters(runner)
    with clock.stage("reference"):
        loss = ReferenceLoss(exercise, model, model.parameters, specs, batch)
        reference, kink_note = _reference(loss, arrays, unpacked)
    with clock.stage("compare"):
        sizes = reference.error_sizes(unpacked.usable if unpacked else [None] * len(specs))
        errors = [None if size is None else size[1] for size in sizes]
        # The verdict follows the precision the student's arithmetic ran in (see achieved_tolerance), asking
        # for the rounding call only when the arrays would pass at float32 but not at their dtype; the
        # reduced reference is nonzero exactly where the full one is.
        tolerance = achieved_tolerance(declared, errors, reference.reduced_gradients,
                                       lambda: rounding_evidence(exercise, runner, model, specs, batch, unpacked,
                                                                 reference.gradients))
        rows = parameter_rows(specs, unpacked, sizes, tolerance)
    if runner.calls > 1:
        arrays = _saved_parameters(runner)   # the rounding call ran: the saved parameters are copies now

    all_usable = unpacked is not None and all(a is not None for a in unpacked.usable)
    check_loss = further_checks or exercise.grades_forward
    if (all_usable and further_checks) or check_loss:
        # Student code runs again: from here on the saved parameters and the first results are copies, or
        # read-only during each later call (invariants.READ_ONLY_LATER_CALLS).
        runner.keep_unless_protected()
        arrays = _saved_parameters(runner)
    checks = []
    if all_usable and further_checks:
        with clock.stage("further_checks"):
            floors = [float(np.max(np.abs(r))) if r.size else 0.0 for r in reference.reduced_gradients]
            # Logits shifted by 1000 in a float32 batch's arithmetic lose 1000 * eps(float32): not an overflow.
            inputs = [batch["input"]] if hasattr(batch["input"], "dtype") else []
            rounding_eps = float(np.finfo(precision_of(inputs + [np.empty(0, tolerance.dtype)])).eps)
            checks += _further_calls(exercise, runner, model, batch, specs, unpacked, rng, tolerance, floors,
                                     rounding_eps)
    if check_loss:
        with clock.stage("model_loss"):
            loss_batch = {key: take_rows(value, np.arange(min(LOSS_CHECK_EXAMPLES, len(output))))
                          for key, value in batch.items()}
            model_loss = call_student(exercise.model_loss, model, loss_batch)
    with clock.stage("finite_differences"):
        checks.insert(0, _finite_difference_check(loss, arrays, reference, specs, rng, unpacked))
    if check_loss:
        with clock.stage("model_loss"):
            reference_loss = ReferenceLoss(exercise, model, model.parameters, specs, loss_batch).value(arrays)[0]
            checks.insert(1, _loss_check(exercise, model, loss_batch, model_loss, reference_loss, tolerance))
    checks += modification_checks(runner)

    blocking = unpacked.blocking if unpacked else []
    passed = (first_call.ok and not blocking and all(row.passed for row in rows)
              and all(check.passed is not False for check in checks))
    warnings = [] if unpacked is None else [p for p in unpacked.problems if not p.blocking]
    diagnosis, internal_errors = [], []
    if not passed or warnings:
        with clock.stage("diagnosis"):
            evidence = evidence_for_diagnosis(exercise, model, specs, batch, first_call.error, first_call.value,
                                              unpacked, reference.gradients, errors,
                                              {check.name: check for check in checks}, tolerance, arrays,
                                              None if passed else localised_finding(exercise, model))
            diagnosis, internal_errors = diagnose(evidence), evidence.internal_errors
    notes = (([kink_note] if kink_note else []) + (unpacked.notes if unpacked else [])
             + ([precision_note(tolerance, input, model, specs, errors)] if tolerance.returned_dtype else [])
             + [f"grader problem, please report: {e}" for e in internal_errors])
    if not first_call.ok:
        notes.insert(0, f"{exercise.title}: {first_call.error.describe()}")
    return GradientReport(
        exercise=exercise.name, title=exercise.title, passed=passed, rows=rows,
        diagnosis=[sentence for _, sentence in diagnosis], causes=[cause for cause, _ in diagnosis],
        checks=checks, tolerance=tolerance.describe(), rtol=tolerance.rtol,
        reproducibility=_reproducibility(seed, batch, specs, tolerance),
        cost={"student_calls": runner.calls, "reference_passes": loss.forward_passes,
              "seconds": time.perf_counter() - started, "stages": clock.seconds},
        notes=notes,
    )


class _FirstUseGenerator:
    """``np.random.default_rng(seed)``, made on first use: building one costs about a forward pass of a
    small network, and a gradient check that reuses its verification draws nothing. The same draws."""

    def __init__(self, seed):
        self._seed, self._generator = seed, None

    def __getattr__(self, name):
        if self._generator is None:
            self._generator = np.random.default_rng(self._seed)
        return getattr(self._generator, name)


def _saved_parameters(runner):
    """The parameters before the first call, float64 (the same arrays when they are float64 and writeable
    already: PyTorch shares their memory without a copy)."""
    return [as_array(saved, np.float64, copy=isinstance(saved, np.ndarray) and not saved.flags.writeable)
            for saved in runner.parameters_before]


def precision_note(tolerance, input, model, specs, errors):
    """Where the coarser precision came from and what it costs, for code that returns a finer dtype."""
    coarse, returned = tolerance.dtype.name, np.dtype(tolerance.returned_dtype).name
    input_dtype = getattr(input, "dtype", None)
    if input_dtype is not None and precision_of([input]) == tolerance.dtype:
        where = (f"the batch's input is {coarse} (as the data loaders give it) and your code computes with it "
                 f"before anything is {returned}")
    else:
        where = f"some step converts to {coarse} (astype(np.{coarse}), np.{coarse}(...) or a {coarse} array)"
    worst = max((e for e in errors if e is not None), default=float("nan"))
    digits = int(round(-np.log10(max(worst, np.finfo(np.float64).eps))))
    return (f"precision: your gradients are {returned} arrays but agree with the reference only to {worst:.1e}, "
            f"and they stay the same when the parameters and inputs move by less than {coarse} can represent: "
            f"{where}. That keeps about {digits} significant digits instead of "
            f"{int(-np.log10(np.finfo(tolerance.returned_dtype).eps))}; fine for training, so they are judged "
            f"at {coarse} precision (rtol {tolerance.rtol:.1e}), as if you had returned {coarse}.")


def _further_calls(exercise, runner, model, batch, specs, first, rng, tolerance, floors, rounding_eps):
    """Checks that call the student's code again; they need a first result that repeats. ``floors``: the
    size of each right gradient, the scale a change is measured against."""
    bias = exercise.output_bias(specs) if exercise.output_bias else None
    checks = second_call_checks(runner, model, batch, first, tolerance, bias, floors, rounding_eps)
    if checks[0].passed:
        checks.insert(1, mean_of_examples_check(runner, batch, rng, tolerance))
    else:
        checks.insert(1, CheckResult("mean_of_examples", None, "not run: the results change from call to call"))
    return checks


def _reference(loss, arrays, unpacked):
    """The autograd reference; where a ReLU argument is exactly 0, the convention the student matches."""
    reference = loss.gradient(arrays)
    at_kink = sum(int(torch.sum(argument == 0)) for argument in reference.kink_arguments)
    if not at_kink:
        return reference, ""
    other = loss.gradient(arrays, derivative_at_kink=1)
    chosen, slope = reference, 0
    if unpacked is not None and all(a is not None for a in unpacked.usable):
        def worst(candidate):
            return max(normwise_error(s, r) for s, r in zip(unpacked.usable, candidate.gradients))
        if worst(other) < worst(reference):
            chosen, slope = other, 1
    return chosen, (f"{at_kink} ReLU pre-activation(s) are exactly 0, where the derivative is undefined: "
                    f"slopes 0 and 1 are both accepted; compared with slope {slope}")


def _finite_difference_check(loss, arrays, reference, specs, rng, unpacked):
    """The reference against central differences, or an earlier call's agreement for the same model,
    exercise and shapes (:data:`.finite_differences.VERIFY_ONCE`)."""
    student = unpacked.usable if unpacked is not None else None
    result = directional_check_once(loss, arrays, reference, specs, rng, student=student)
    passed = {"agree": True, "disagree": False, "skipped": None}[result.status]
    return CheckResult("finite_differences", passed, result.describe(), {"result": result})


LOSS_CHECK_EXAMPLES = 2  # a systematic difference shows on two examples (two, so a sum is not a mean)


def _loss_check(exercise, model, batch, call, reference_loss, tolerance):
    """The model's own loss (``call``: the student's forward pass, for forward exercises) against the
    reference, on the first few examples of the batch (``batch``)."""
    rows = np.arange(len(batch["output"]))
    if not call.ok:
        return CheckResult("loss_matches_reference", False if exercise.grades_forward else None,
                           f"the model's loss could not be computed: {call.error.describe()}", {"error": call.error})
    try:
        value = float(call.value)
    except (TypeError, ValueError):
        return CheckResult("loss_matches_reference", False, f"the model's loss is not a number: {call.value!r}")
    bound = tolerance.rtol * max(1.0, abs(reference_loss))
    difference = abs(value - reference_loss)
    if exercise.loss_offset_allowed:
        return CheckResult("loss_matches_reference", None, f"model loss {value:.10g}, reference {reference_loss:.10g} "
                           f"(a constant offset is allowed for this exercise)")
    passed = bool(difference <= bound)
    evidence = {} if passed or not exercise.grades_forward else {"hint": _forward_hint(model, batch)}
    return CheckResult("loss_matches_reference", passed,
                       f"on examples 0-{rows[-1]}: model loss {value:.10g}, reference {reference_loss:.10g} "
                       f"(|diff| {difference:.1e}, bound {bound:.1e})", evidence)


def _forward_hint(model, batch):
    """What the student's log-probabilities look like, when a forward exercise gives the wrong loss."""
    call = call_student(getattr(model, "log_forward", lambda input: None), batch["input"])
    if not call.ok or call.value is None:
        return "log_forward failed or returned nothing."
    values = to_float64(call.value)
    if values.ndim != 2 or values.shape[0] != len(batch["output"]):
        return f"log_forward returns shape {values.shape}; expected (B, K) with one row per example."
    if not np.all(np.isfinite(values)):
        return "log_forward returns NaN or inf values."
    if np.allclose(values.sum(axis=1), 1.0, atol=1e-4) and np.all(values >= 0):
        return "it returns probabilities; the model must return their log: use torch.log_softmax(z, dim=1)."
    if not np.allclose(np.exp(values).sum(axis=1), 1.0, atol=1e-4):
        return "its outputs are not normalised log-probabilities: end with torch.log_softmax(z, dim=1)."
    return ("its log-probabilities are normalised but differ from the reference: check the hidden layers, "
            "z = a @ W.T + b and then the activation named for that layer.")


def _reproducibility(seed, batch, specs, tolerance):
    input = np.asarray(batch["input"]) if not isinstance(batch["input"], torch.Tensor) else batch["input"]
    return {
        "seed": seed,
        "batch": f"input {tuple(input.shape)} {_dtype_text(input.dtype)}, output {tuple(np.shape(batch['output']))}",
        "parameters": ", ".join(f"{spec.label} {tuple(spec.shape)}" for spec in specs),
        "student precision": dtype_name(tolerance.dtype),
        "versions": VERSIONS,
    }


_DTYPE_TEXTS = {}   # str(dtype) is computed in Python: about 2 µs a report


def _dtype_text(dtype):
    try:
        return _DTYPE_TEXTS[dtype]
    except KeyError:
        return _DTYPE_TEXTS.setdefault(dtype, str(dtype))


VERSIONS = f"numpy {np.__version__}, torch {torch.__version__}, python {platform.python_version()}"
