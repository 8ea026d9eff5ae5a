"""The judgement of one set of returned gradients, shared by every judge of a gradient exercise.

``check_backpropagation`` (the report, the notebooks' test cells, ``backprop-labs check``) and the
trusted checks that write the official grade both call these functions, so the same arrays get
the same verdict, tolerance and causes wherever they are judged:

* :func:`declared_precision`: the dtype evidence (returned arrays, parameters);
* :func:`rounding_evidence`: the precision the student's code computes in, when the dtype does not tell;
* :func:`parameter_rows`: one pass/fail row per parameter under a tolerance;
* :func:`evidence_for_diagnosis`: what the diagnosis rules look at.
"""
import numpy as np

from grading.diagnosis.hypotheses import HypothesisContext
from grading.diagnosis.rules import Evidence
from .registry import read_path
from grading.policy.arrays import is_tensor, plain_array, to_float64
from grading.policy.precision import arithmetic_precision, precision_of
from .invariants import rounded_call
from .reference import ReferenceLoss
from .report import ParameterRow


def returned_in_own_dtype(raw, specs):
    """The student's returned arrays in their own dtype, for the precision (never raises)."""
    arrays = []
    for spec in specs:
        try:
            value = read_path(raw, spec.path)
        except Exception:  # noqa: BLE001 - whatever the student returned, reading it must not raise
            continue
        if isinstance(value, (np.ndarray, np.generic)) or is_tensor(value):
            array, _ = plain_array(value)
            if array is not None:
                arrays.append(array)
    return arrays


def declared_precision(raw, specs, parameters):
    """The coarsest floating dtype among the returned arrays and the parameters they are gradients of."""
    return precision_of(returned_in_own_dtype(raw, specs) + list(parameters))


def parameter_rows(specs, unpacked, sizes, tolerance):
    """One row per parameter; ``sizes[i]`` is ``(max abs error, normwise error)`` or None (unusable)."""
    rows = []
    for i, spec in enumerate(specs):
        problems = [p for p in unpacked.problems if p.spec == spec] if unpacked else []
        found = unpacked.found_text[i] if unpacked else "(raised)"
        max_abs, normwise = sizes[i] or (None, None)
        passed = sizes[i] is not None and normwise <= tolerance.rtol and not any(p.blocking for p in problems)
        note = "; ".join(("" if p.blocking else "warning: ") + p.message for p in problems)
        rows.append(ParameterRow(spec.layer, spec.role, tuple(spec.shape), found, max_abs, normwise, passed, note))
    return rows


def evidence_for_diagnosis(exercise, model, specs, batch, call_error, raw, unpacked, reference, errors, checks,
                           tolerance, parameters, localised=None):
    """The diagnosis rules' :class:`~grading.diagnosis.rules.Evidence`: ``model`` gives the configuration
    (activations), ``parameters`` the float64 values the gradients are of (spec order), ``reference`` the
    float64 reference gradients, ``checks`` ``{name: CheckResult}`` of the checks that ran."""
    none = [None] * len(specs)
    return Evidence(
        exercise=exercise, specs=specs, batch_size=len(batch["output"]), raw=raw, error=call_error,
        problems=unpacked.problems if unpacked else [], found=unpacked.found if unpacked else none,
        usable=unpacked.usable if unpacked else none, reference=reference, errors=errors, checks=checks,
        tolerance=tolerance, localised=localised,
        hypothesis_context=HypothesisContext(model, specs, parameters, to_float64(batch["input"]),
                                             np.asarray(batch["output"]), reference),
    )


def localised_finding(exercise, model):
    """``(cause, sentence)`` of the exercise's part-by-part probe (its ``localise_module``): what it records of
    the student's package, here, or what the sandbox recorded of it (a replayed model's ``recorded_probe``),
    judged here; None when there is no probe or record, every part is right, or the probe itself fails."""
    if not exercise.localise_module:
        return None
    import importlib
    import sys

    probe = importlib.import_module(f"grading.exercises.{exercise.localise_module}")
    try:
        if hasattr(model, "recorded_probe"):
            record = model.recorded_probe
        else:
            record = probe.record(sys.modules.get(type(model).__module__.rsplit(".", 1)[0]))
        return None if record is None else probe.judge(record)
    except Exception:  # noqa: BLE001 - the probe is advice: the verdict stands without it
        return None


def rounding_evidence(exercise, runner, model, specs, batch, first, reference):
    """The precision ``runner``'s student code computes in, from one more call with every parameter and input
    rounded to float32 (:func:`grading.policy.precision.arithmetic_precision`; ``first``: the first call's
    unpacked result, ``reference``: the reference gradients at the parameters); None when that call gives
    nothing usable."""
    runner.keep_unless_protected()
    call, rounded, parameters, rounded_batch = rounded_call(runner, model, batch)
    if not call.ok or rounded is None:
        return None
    at_rounded = ReferenceLoss(exercise, model, model.parameters, specs, rounded_batch)
    rounded_reference = at_rounded.gradient([to_float64(parameter) for parameter in parameters])
    return arithmetic_precision(first.usable, rounded.usable, reference, rounded_reference.gradients)
