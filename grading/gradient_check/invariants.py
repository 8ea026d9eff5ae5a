"""Checks that need no reference gradient: properties every correct ``backpropagation`` has.

* calling it twice gives the same gradients (nothing accumulates between calls);
* it leaves the model's parameters and the caller's batch unmodified;
* the gradient of a batch equals the mean of the gradients of its examples (the loss is a mean);
* shifting every logit by the same constant (the output bias) changes nothing, since the
  softmax is shift invariant: a softmax computed without subtracting the maximum overflows.
"""
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import torch

from .registry import read_path
from .student_call import call_student
from grading.policy.arrays import rounded_to_float32
from grading.policy.precision import SAFETY, normwise_error
from .returned_arrays import DEFAULT_SHAPE_POLICY, unpack_gradients

# Shifts that overflow exp() in each precision (float32 above ~88.7, float64 above ~709.8).
LOGIT_SHIFT = {np.dtype(np.float32): 100.0, np.dtype(np.float64): 1000.0}
EXAMPLES_FOR_MEAN_CHECK = 2
# Speed-up for benchmark row 1c (the whole report, bench/grader_cost.py): the repeat call is made
# with shifted logits, so one extra call serves both the repeat and the logit-shift check.
# False makes them two separate calls, each check on its own.
FOLD_REPEAT_INTO_LOGIT_SHIFT = True   # the pair and each example alone: 3 calls on tiny batches
# Speed-up for benchmark rows 1a and 1g (the gradient check of the books and the dense MLP,
# bench/grader_cost.py): during the first call, NumPy parameters and batch arrays are marked
# read-only instead of being compared with copies afterwards (the batch is not copied at all).
# A call that fails on a read-only array is made again the watched way (copies compared and
# restored), so an in-place change is reported exactly as before. False: always copy and compare.
READ_ONLY_FIRST_CALL = True
# Speed-up for benchmark rows 1a and 1g (the gradient check of the books and the dense MLP,
# bench/grader_cost.py): the parameters as they were before the first call (read-only during it)
# and the arrays the call returned are used as they are, not copied, until student code runs again
# or the grader shifts a parameter (StudentRunner.keep, which the runner and the pipeline call
# first): the gradient check alone then copies nothing, and the reference reads the very arrays
# the student's call just read. False: copy at once.
COPY_ONLY_BEFORE_MORE_STUDENT_CODE = True
# Speed-up for benchmark row 1c (the whole report on the books MLP, bench/grader_cost.py): the later
# calls too run with the NumPy parameters, the batch and the arrays earlier calls returned read-only,
# so none of them is copied before student code runs again (the logit shift copies the one bias it
# moves). A call that fails on a read-only array is made again the copying way. False: copy before
# every later call (COPY_ONLY_BEFORE_MORE_STUDENT_CODE) and make later calls unprotected.
READ_ONLY_LATER_CALLS = True


@dataclass
class CheckResult:
    """One check: ``passed`` is True, False or None (could not run), ``evidence`` feeds the diagnosis."""

    name: str
    passed: Optional[bool]
    detail: str
    evidence: dict = field(default_factory=dict)


class Snapshot:
    """Copies of the parameters and the batch, to detect and undo modification by student code."""

    def __init__(self, model, specs, batch, parameters=None, inputs=None):
        """``parameters`` / ``inputs``: values saved already (the read-only first call's), else copied now."""
        self.model, self.specs, self.batch = model, specs, batch
        self.parameters = ([_copy(read_path(model.parameters, spec.path)) for spec in specs]
                           if parameters is None else parameters)
        self.inputs = {key: _copy(value) for key, value in batch.items()} if inputs is None else inputs

    def restore_changes(self):
        """``(changed parameter labels, changed batch keys)``; restores what changed, in place."""
        changed_parameters = []
        for spec, saved in zip(self.specs, self.parameters):
            try:
                current = read_path(self.model.parameters, spec.path)
            except (IndexError, KeyError, TypeError):
                changed_parameters.append(spec.label)
                continue
            if not _same(current, saved):
                changed_parameters.append(spec.label)
                _write(current, saved)
        changed_inputs = [key for key, saved in self.inputs.items() if not _same(self.batch[key], saved)]
        for key in changed_inputs:
            _write(self.batch[key], self.inputs[key])
        return changed_parameters, changed_inputs


def _copy(value):
    return value.detach().clone() if isinstance(value, torch.Tensor) else np.array(value, copy=True)


def _same(current, saved):
    if isinstance(current, torch.Tensor):
        return current.shape == saved.shape and bool(torch.equal(current.detach(), saved))
    current = np.asarray(current)
    # The plain comparison is the fast path; NaN-aware only when it fails (NaN != NaN).
    return current.shape == saved.shape and (np.array_equal(current, saved)
                                             or np.array_equal(current, saved, equal_nan=True))


def _write(target, saved):
    if isinstance(target, torch.Tensor):
        with torch.no_grad():
            target.copy_(saved)
    elif isinstance(target, np.ndarray) and target.shape == saved.shape and target.flags.writeable:
        target[...] = saved


class StudentRunner:
    """Calls the student's gradient function, unpacks the result and undoes any modification.

    The first call is always watched (parameters and batch copied before, compared after, or
    read-only meanwhile: :data:`READ_ONLY_FIRST_CALL`); later calls only if the first modified
    something, since copying every parameter costs about a forward pass on a wide first layer.
    ``modified_parameters`` / ``modified_inputs`` keep what the first offending call changed.
    """

    def __init__(self, exercise, model, specs, shape_policy=DEFAULT_SHAPE_POLICY):
        self.exercise, self.model, self.specs = exercise, model, specs
        self.shape_policy = shape_policy
        self.calls = 0
        self.modified_parameters, self.modified_inputs = [], []
        # The parameters as they were before the first call, in spec order: copies, or (read-only first
        # call, COPY_ONLY_BEFORE_MORE_STUDENT_CODE) the model's own arrays until keep() copies them.
        self.parameters_before = None
        self._parameters_shared = False   # parameters_before are the model's own arrays
        self._shared_results = []         # Unpacked results that may hold the student's own arrays

    def keep(self):
        """Copy what is still shared with the model or the student's results (the saved parameters, the
        arrays returned so far): call before student code runs again or the grader changes a parameter."""
        if self._parameters_shared:
            self.parameters_before = [_copy(value) for value in self.parameters_before]
            self._parameters_shared = False
        for unpacked in self._shared_results:
            unpacked.detach()
        self._shared_results = []

    def own_parameter(self, spec):
        """Make the saved value of ``spec`` a copy, before the grader changes that parameter in place."""
        index = self.specs.index(spec)
        if self._parameters_shared and self.parameters_before is not None:
            self.parameters_before[index] = _copy(self.parameters_before[index])

    def _unpack(self, call):
        if not call.ok:
            return None
        copy = not COPY_ONLY_BEFORE_MORE_STUDENT_CODE
        unpacked = unpack_gradients(call.value, self.specs, shape_policy=self.shape_policy, copy=copy)
        if unpacked.shares_memory:
            self._shared_results.append(unpacked)
        return unpacked

    def __call__(self, batch):
        first = self.parameters_before is None
        protect = READ_ONLY_FIRST_CALL if first else (READ_ONLY_LATER_CALLS and not self.modified_parameters
                                                      and not self.modified_inputs)
        call, refused = self._call_read_only(batch) if protect else (None, False)
        if call is not None:
            return call, self._unpack(call)
        # refused: the code wrote into a read-only array, so this call is watched
        self.keep()
        watch = self.parameters_before is None or refused or self.modified_parameters or self.modified_inputs
        snapshot = Snapshot(self.model, self.specs, batch) if watch else None
        if self.parameters_before is None:
            self.parameters_before = snapshot.parameters
        call = call_student(self.exercise.student_gradients, self.model, batch)
        self.calls += 1
        if snapshot is not None:
            parameters, inputs = snapshot.restore_changes()
            self.modified_parameters = self.modified_parameters or parameters
            self.modified_inputs = self.modified_inputs or inputs
        return call, self._unpack(call)

    def _call_read_only(self, batch):
        """A call with the NumPy parameters and batch arrays read-only, and (later calls) the arrays earlier
        calls returned: nothing copied but, on the first call unless COPY_ONLY_BEFORE_MORE_STUDENT_CODE,
        the parameters (the point the gradients are of). ``(call, refused)``: ``call`` is None when some
        value is not a NumPy array, or when the call failed on a read-only array (``refused``): then it
        must be made again the watched (copying) way."""
        first = self.parameters_before is None
        parameters = [read_path(self.model.parameters, spec.path) for spec in self.specs]
        inputs = dict(batch)
        values = parameters + list(inputs.values())
        if not all(isinstance(value, np.ndarray) for value in values):
            return None, False
        # Read-only meanwhile, the arrays cannot change during the call: they are the values before it.
        before = parameters if COPY_ONLY_BEFORE_MORE_STUDENT_CODE or not first else [_copy(v) for v in parameters]
        if not first:
            values += self._earlier_results()
        writeable = [value.flags.writeable for value in values]
        try:
            for value in values:
                value.flags.writeable = False
            call = call_student(self.exercise.student_gradients, self.model, batch)
        finally:
            for value, flag in reversed(list(zip(values, writeable))):
                value.flags.writeable = flag
        self.calls += 1
        if not call.ok and "read-only" in call.error.message:
            return None, True
        if first:
            self.parameters_before = before
            self._parameters_shared = before is parameters
        if not _same_objects(self.model, self.specs, parameters, batch, inputs):
            # Entries replaced rather than written: compared and restored as the watched way does (the
            # batch's original arrays, read-only meanwhile, are their own copies).
            changed = Snapshot(self.model, self.specs, batch, before, inputs).restore_changes()
            self.modified_parameters = self.modified_parameters or changed[0]
            self.modified_inputs = self.modified_inputs or changed[1]
        return call, False

    def _earlier_results(self):
        """The arrays earlier calls returned that may be the student's own, to be read-only during the next
        call. A view (some other array owns its memory, which the student may write through) is copied."""
        arrays = []
        for unpacked in self._shared_results:
            found = [array for array in unpacked.found if array is not None]
            if any(array.base is not None for array in found):
                unpacked.detach()
            else:
                arrays += found
        self._shared_results = [unpacked for unpacked in self._shared_results if unpacked.shares_memory]
        return arrays

    def keep_unless_protected(self):
        """:meth:`keep`, unless later calls run read-only (:data:`READ_ONLY_LATER_CALLS`)."""
        if not READ_ONLY_LATER_CALLS:
            self.keep()


def _same_objects(model, specs, parameters, batch, inputs):
    """Whether the model's parameters and the batch's entries are still the very arrays they were."""
    try:
        current = [read_path(model.parameters, spec.path) for spec in specs]
    except (IndexError, KeyError, TypeError):
        return False
    return (all(a is b for a, b in zip(current, parameters))
            and all(batch.get(key) is value for key, value in inputs.items()))


def _usable(unpacked):
    return unpacked is not None and all(array is not None for array in unpacked.usable)


def _worst(student, reference, floors=None):
    """Largest normwise difference; ``floors[i]`` (the size of the right gradient) keeps a result that is
    itself ~0 from turning rounding noise into a large relative change."""
    floors = floors or [0.0] * len(student)
    return max((normwise_error(s, r, floor) for s, r, floor in zip(student, reference, floors)), default=0.0)


def _ratio(student, reference):
    """Least-squares factor c with student ~ c * reference over all arrays."""
    numerator = sum(float(np.sum(s * r)) for s, r in zip(student, reference))
    denominator = sum(float(np.sum(r * r)) for r in reference)
    return numerator / denominator if denominator > 0 else float("nan")


def modification_checks(runner):
    """Results for 'parameters unchanged' and 'batch unchanged' from every call made so far."""
    return [
        CheckResult("parameters_unchanged", not runner.modified_parameters,
                    "backpropagation left the parameters unchanged" if not runner.modified_parameters else
                    f"backpropagation modified {', '.join(runner.modified_parameters)} (restored by the grader)",
                    {"changed": runner.modified_parameters}),
        CheckResult("input_unchanged", not runner.modified_inputs,
                    "backpropagation left the batch unchanged" if not runner.modified_inputs else
                    f"backpropagation modified the batch's {', '.join(runner.modified_inputs)} (restored)",
                    {"changed": runner.modified_inputs}),
    ]


def repeat_call_check(runner, batch, first, tolerance, second=None):
    """The result of calling again on the same batch must equal the first (``second``: a call already made)."""
    call, again = second or runner(batch)
    if not call.ok or not _usable(again):
        return CheckResult("repeat_call", False, "the second call on the same batch failed: "
                           + (call.error.describe() if not call.ok else again.first_unusable_message(runner.specs)),
                           {"error": call.error})
    difference = _worst(again.usable, first.usable)
    passed = difference <= tolerance.rtol
    if passed:   # the factor is for explaining a failure (two full-size products less otherwise)
        return CheckResult("repeat_call", True, f"a second call gives the same gradients (normwise difference "
                           f"{difference:.1e})", {"difference": difference})
    ratio = _ratio(again.usable, first.usable)
    detail = (f"a second call on the same batch gives different gradients ({_factor_text('second / first', ratio)}"
              f"normwise difference {difference:.1e})")
    return CheckResult("repeat_call", passed, detail, {"ratio": ratio, "difference": difference})


def second_call_checks(runner, model, batch, first, tolerance, bias_spec, floors=None, rounding_eps=None):
    """'repeat_call' and, for softmax outputs, 'logit_shift', from as few extra calls as possible.

    With an output bias the second call is made with every logit shifted (the softmax does not
    change): equal results pass both checks at once. Only when they differ does a plain repeat
    tell accumulation (twice the first) from an overflowing softmax.
    """
    if bias_spec is None:
        return [repeat_call_check(runner, batch, first, tolerance)]
    if not FOLD_REPEAT_INTO_LOGIT_SHIFT:
        repeat = repeat_call_check(runner, batch, first, tolerance)
        if not repeat.passed:
            return [repeat, CheckResult("logit_shift", None, "not judged: the results change from call to call")]
        return [repeat, logit_shift_check(runner, model, batch, bias_spec, first, tolerance, floors, rounding_eps)[0]]
    shift_check, shifted = logit_shift_check(runner, model, batch, bias_spec, first, tolerance, floors, rounding_eps)
    if shift_check.passed:
        repeat = CheckResult("repeat_call", True, "a second call (the shifted one) gives the same gradients",
                             {"difference": shift_check.evidence.get("difference")})
        return [repeat, shift_check]
    ratio = _ratio(shifted[1].usable, first.usable) if shifted[0].ok and _usable(shifted[1]) else float("nan")
    if np.isfinite(ratio) and abs(ratio - 2.0) < 0.01:
        repeat = repeat_call_check(runner, batch, first, tolerance, second=shifted)
        return [repeat, CheckResult("logit_shift", None, "not judged: the results change from call to call")]
    repeat = repeat_call_check(runner, batch, first, tolerance)
    if not repeat.passed:
        shift_check = CheckResult("logit_shift", None, "not judged: the results change from call to call")
    return [repeat, shift_check]


def mean_of_examples_check(runner, batch, rng, tolerance):
    """Gradient of a few examples together must equal the mean of their single-example gradients."""
    chosen = _examples_for_mean_check(batch["output"], rng)
    subset = {key: take_rows(value, chosen) for key, value in batch.items()}
    call, together = runner(subset)
    single_batches = [{key: take_rows(value, [i]) for key, value in batch.items()} for i in chosen]
    singles = [runner(single) for single in single_batches]
    examples = f"examples {chosen.tolist()}"
    for (c, u), sub_batch in zip([(call, together)] + singles, [subset] + single_batches):
        if not c.ok or not _usable(u):
            failure = c.error.describe() if not c.ok else u.first_unusable_message(runner.specs)
            return CheckResult("mean_of_examples", False,
                               f"on a sub-batch ({examples}) or a single example the call failed: {failure}",
                               {"error": failure, "student_error": c.error,
                                "labels": np.asarray(sub_batch["output"]).tolist()})
    # Array by array, without stacking the single-example results into one array first.
    mean = [_mean(arrays) for arrays in zip(*(u.usable for _, u in singles))]
    difference = _worst(together.usable, mean)
    passed = difference <= tolerance.rtol
    if passed:   # the factor is for explaining a failure (two full-size products less otherwise)
        return CheckResult("mean_of_examples", True, f"gradient of {examples} together = mean of their "
                           f"single-example gradients (normwise difference {difference:.1e})",
                           {"batch_size": len(chosen), "difference": difference})
    ratio = _ratio(together.usable, mean)
    detail = (f"gradient of {examples} together differs from the mean of their single-example gradients "
              f"({_factor_text('together / mean', ratio)}normwise difference {difference:.1e})")
    return CheckResult("mean_of_examples", passed, detail,
                       {"ratio": ratio, "batch_size": len(chosen), "difference": difference,
                        "labels": np.asarray(subset["output"]).tolist()})


def _examples_for_mean_check(output, rng):
    """Sorted indices of :data:`EXAMPLES_FOR_MEAN_CHECK` examples: one of the batch's smallest class and
    one of its largest when the batch has two classes or more (code that sizes the one-hot encoding from
    the labels is then right on the pair and wrong on a single example), else any."""
    labels = np.asarray(output)
    size = len(labels)
    if size < EXAMPLES_FOR_MEAN_CHECK or labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer) \
            or labels.min() == labels.max():
        return np.sort(rng.choice(size, size=min(EXAMPLES_FOR_MEAN_CHECK, size), replace=False))
    smallest = rng.choice(np.flatnonzero(labels == labels.min()))
    largest = rng.choice(np.flatnonzero(labels == labels.max()))
    return np.sort([smallest, largest])


def _mean(arrays):
    """The mean of equally shaped arrays, with one new array (not one per addition)."""
    total = np.add(arrays[0], arrays[1]) if len(arrays) > 1 else np.array(arrays[0], copy=True)
    for array in arrays[2:]:
        total += array
    total /= len(arrays)
    return total


def _factor_text(what, ratio):
    """``"what = 2, "`` when the least-squares factor says something (finite, not 1), else ``""``."""
    if not np.isfinite(ratio) or abs(ratio - 1.0) < 1e-3:
        return ""
    return f"{what} = {ratio:.3g}, "


def take_rows(value, rows):
    """Copy of the given rows of an array or tensor."""
    if isinstance(value, torch.Tensor):
        return value[torch.as_tensor(np.asarray(rows))].clone()
    return np.array(np.asarray(value)[np.asarray(rows)], copy=True)


def _rounded(value):
    """``value`` with every float64 entry rounded to float32, in its own dtype (other values as they are)."""
    if isinstance(value, torch.Tensor):
        return value.detach().float().to(value.dtype) if value.dtype == torch.float64 else value.detach().clone()
    return rounded_to_float32(value) if isinstance(value, np.ndarray) else value


def rounded_call(runner, model, batch):
    """Call again with every parameter and float input rounded to float32 (kept in its own dtype), the
    evidence of :func:`grading.policy.precision.arithmetic_precision`. Returns ``(call, unpacked, rounded
    parameters in spec order, rounded batch)``; the parameters are restored afterwards."""
    parameters = [read_path(model.parameters, spec.path) for spec in runner.specs]
    for spec in runner.specs:
        runner.own_parameter(spec)   # the saved parameters must not be the ones rounded
    saved = [_copy(parameter) for parameter in parameters]
    rounded_parameters = [_rounded(parameter) for parameter in parameters]
    rounded_batch = {key: _rounded(value) for key, value in batch.items()}
    try:
        for parameter, rounded in zip(parameters, rounded_parameters):
            _write(parameter, rounded)
        call, unpacked = runner(rounded_batch)
    finally:
        for parameter, value in zip(parameters, saved):
            _write(parameter, value)
    return call, unpacked, rounded_parameters, rounded_batch


def logit_shift_check(runner, model, batch, bias_spec, first, tolerance, floors=None, rounding_eps=None):
    """Add a constant to the output bias (every logit moves, the softmax does not) and call again.

    The result must equal the first call's (``first``, unpacked): this checks the student's
    numerics, not the formula, which the comparison with the reference already did.
    Returns ``(CheckResult, (call, unpacked))``.
    """
    shift = LOGIT_SHIFT.get(tolerance.dtype, 1000.0)
    # Logits of size `shift` lose about shift * eps of precision: the bound follows from it. ``rounding_eps``:
    # the eps of the coarsest precision the student's code may compute in (a float32 batch), when coarser.
    eps = max(tolerance.eps, rounding_eps or 0.0)
    bound = max(tolerance.rtol, SAFETY * shift * eps)
    runner.own_parameter(bias_spec)   # the saved bias must not be the one shifted
    bias = read_path(model.parameters, bias_spec.path)
    saved = _copy(bias)
    try:
        if isinstance(bias, torch.Tensor):
            with torch.no_grad():
                bias += shift
        else:
            bias += shift
        call, shifted = runner(batch)
    finally:
        _write(bias, saved)
    evidence = {"shift": shift}
    if not call.ok:
        return CheckResult("logit_shift", False, f"with every logit shifted by +{shift:g} the call failed: "
                           f"{call.error.describe()}", evidence), (call, shifted)
    if not _usable(shifted):
        kinds = {problem.kind for problem in shifted.problems}
        evidence["overflow"] = "not_finite" in kinds
        return CheckResult("logit_shift", False, f"with every logit shifted by +{shift:g} (the softmax does not "
                           f"change) the gradients are unusable: {shifted.first_unusable_message(runner.specs)}",
                           evidence), (call, shifted)
    difference = _worst(shifted.usable, first.usable, floors)
    passed = difference <= bound
    evidence["difference"] = difference
    return CheckResult(
        "logit_shift", passed,
        f"with every logit shifted by +{shift:g} the gradients {'stay' if passed else 'do not stay'} the same "
        f"(normwise difference {difference:.1e}, bound {bound:.1e} = max(rtol, {SAFETY:g} * shift * eps))",
        evidence), (call, shifted)
