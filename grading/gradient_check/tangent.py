"""The lab's tangent plot, with numbers: is your derivative the slope of the loss?

:func:`tangent_check` moves one parameter ``W[row, column]`` (or ``b[0, row]``) of layer
``layer_index`` around its current value, records the loss (the lab's
``get_mlp_loss_range``), measures the slope there by a central difference, and compares it
with the matching entry of the student's gradient. The figure shows the loss curve, the
current point, the student's tangent and the numerical one, with both slopes in the title.

:func:`expected_loss_and_tangent` gives the numbers of the lab's tangent-plot exercise (the loss
curve and the tangent of a given gradient entry), which the notebook's test and the trusted
check compare the student's ``loss_and_tangent`` with, within :data:`CURVE_RTOL` / :data:`CURVE_ATOL`.
"""
from dataclasses import dataclass
from typing import Optional

import numpy as np

from backprop_labs.perturbation import get_mlp_parameter_handlers, get_mlp_loss_range

from .registry import find_exercise, get_exercise, read_path
from .reference import ReferenceLoss, parameter_arrays
from grading.policy.precision import achieved_tolerance, normwise_error, precision_of
from .tolerances import FD_ROUNDING_FACTOR
from .invariants import StudentRunner
from .verdict import declared_precision, rounding_evidence


# The loss curve of the tangent-plot exercise: the student's losses come from the same float64 forward
# pass as the reference up to rounding (about 1e-15 relative), the parameter values are the same sums.
CURVE_RTOL = 1e-9
CURVE_ATOL = 1e-12


def tangent_line(weights, current_weight, current_loss, slope):
    """``slope * (weights - current_weight) + current_loss``: the line touching the loss at the current value."""
    return slope * (np.asarray(weights) - current_weight) + current_loss


LOSS_AND_TANGENT = ("weight_range", "loss_range", "tangent")


def loss_and_tangent_failure(found, expected, where):
    """``(None or why the tangent-plot answer differs, [(cause, sentence)])``: ``found`` what the student's
    ``loss_and_tangent`` returned, ``expected`` :func:`expected_loss_and_tangent`'s three arrays, ``where`` the
    parameter's address in words. The notebook's test cell and the trusted check both judge by this."""
    from grading.policy.closeness import close_failure

    if not isinstance(found, (tuple, list)) or len(found) != len(LOSS_AND_TANGENT):
        return (f"loss_and_tangent must return three arrays ({', '.join(LOSS_AND_TANGENT)}); found "
                f"{type(found).__name__}" + (f" of length {len(found)}" if hasattr(found, "__len__") else ""),
                [("wrong_return", "loss_and_tangent returns the three arrays weight_range, loss_range, tangent.")])
    for name, found_values, expected_values in zip(LOSS_AND_TANGENT, found, expected):
        failure = close_failure(found_values, expected_values, f"{name} of {where}", rtol=CURVE_RTOL, atol=CURVE_ATOL)
        if failure is not None:
            causes = _tangent_causes(np.asarray(found_values, dtype=float), *expected) if name == "tangent" else []
            return failure, causes
    return None, []


def _tangent_causes(found, weights, losses, tangent):
    """The known mistakes a wrong tangent line matches (``weights``, ``losses``, ``tangent``: the right
    arrays; the parameter's value and its loss are the middle point, where the tangent touches)."""
    if found.shape != tangent.shape or not np.all(np.isfinite(found)):
        return []
    middle = len(weights) // 2
    current_weight, current_loss = weights[middle], tangent[middle]
    rise = tangent - current_loss
    close = lambda a, b: np.allclose(a, b, rtol=1e-6, atol=1e-9 * (1 + abs(current_loss)))  # noqa: E731
    if close(found, rise):
        return [("tangent_without_loss", "The tangent is loss(w0) + slope * (w - w0): the + loss(w0) is missing, "
                                          "so your line passes through 0 at the parameter's value instead of "
                                          "touching the loss curve there.")]
    slope = rise[-1] / (weights[-1] - current_weight)
    if close(found, tangent + slope * current_weight):
        return [("tangent_from_zero", "The tangent measures the step from 0 (slope * w) instead of from the "
                                       "parameter's value: use slope * (w - w0) + loss(w0).")]
    if close(found, current_loss - rise):
        return [("wrong_sign", "The tangent goes down where the loss goes up: the slope has the wrong sign "
                               "(loss(w0) + slope * (w - w0), with the gradient entry as the slope).")]
    return []


@dataclass
class TangentCheck:
    """Outcome of :func:`tangent_check`. Slopes are ``d loss / d parameter`` at the current value."""

    label: str
    row: int
    column: Optional[int]
    weights: np.ndarray
    losses: np.ndarray
    current_weight: float
    current_loss: float
    numerical_slope: float
    student_slope: Optional[float]
    tolerance: float
    student_note: str = ""
    figure: object = None
    # Rounding the student's precision allows on this entry: SAFETY * eps(float32) * max|student's array|
    # when their array agrees only to float32 (the gradient check's precision policy), else 0.
    precision_allowance: float = 0.0

    @property
    def agrees(self):
        return (self.student_slope is not None
                and abs(self.student_slope - self.numerical_slope) <= self.tolerance + self.precision_allowance)

    @property
    def verdict(self):
        if self.student_slope is None:
            return "nothing to compare"
        if not self.agrees:
            return "DISAGREE"
        within_float64 = abs(self.student_slope - self.numerical_slope) <= self.tolerance
        return "agree" if within_float64 else "agree to float32 precision"

    def slopes_text(self):
        """Both slopes with enough digits that different numbers never print alike, and their relative gap."""
        if self.student_slope is None:
            return f"numerical {self.numerical_slope:.4g}, yours none ({self.student_note})"
        numerical, yours = distinguishable(self.numerical_slope, self.student_slope)
        gap = abs(self.student_slope - self.numerical_slope) / max(abs(self.numerical_slope), 1e-300)
        return f"numerical {numerical}, yours {yours} (relative gap {gap:.1e})"

    def __str__(self):
        where = f"[{self.row}, {self.column}]" if self.column is not None else f"[0, {self.row}]"
        return (f"{self.label} {where} = {self.current_weight:.6g}: {self.slopes_text()}: {self.verdict} "
                f"(tolerance {self.tolerance + self.precision_allowance:.1e})")

    def __repr__(self):
        # The readable line, not a dump of the loss curve's arrays (a notebook's text/plain output).
        return str(self)


def distinguishable(first, second, least=4):
    """``first`` and ``second`` printed with the fewest significant digits (at least ``least``, at most 17)
    at which they differ in print when they differ in value."""
    for digits in range(least, 18):
        a, b = f"{first:.{digits}g}", f"{second:.{digits}g}"
        if a != b or first == second:
            return a, b
    return f"{first!r}", f"{second!r}"


class _LossOf:
    """Gives ``get_mlp_loss_range`` the exercise's loss under the name it calls."""

    def __init__(self, exercise, model):
        self.exercise, self.model = exercise, model

    @property
    def parameters(self):
        return self.model.parameters

    def cross_entropy_loss(self, input, output):
        return float(self.exercise.model_loss(self.model, {"input": input, "output": output}))


def _batch(batch):
    if isinstance(batch, dict):
        return batch
    input, output = batch
    return {"input": input, "output": output}


def _pick_entry(exercise, model, batch, spec):
    """Coordinates of the largest reference derivative of ``spec`` (first-layer bag-of-words
    weights are mostly exactly zero: a zero slope would show nothing)."""
    specs = exercise.parameter_specs(model)
    loss = ReferenceLoss(exercise, model, model.parameters, specs, batch)
    gradient = loss.gradient(parameter_arrays(model.parameters, specs)).gradients[specs.index(spec)]
    row, column = np.unravel_index(int(np.argmax(np.abs(gradient))), gradient.shape)
    return (int(column), None) if spec.is_bias else (int(row), int(column))


def _student_slope(exercise, model, batch, spec, position):
    """``(slope, note, precision allowance)``: the student's entry, why there is none, and the rounding
    allowed for it, which follows the precision the student's arithmetic ran in (as in the gradient check,
    by the same functions)."""
    specs = exercise.parameter_specs(model)
    runner = StudentRunner(exercise, model, specs)
    call, unpacked = runner(batch)
    if not call.ok:
        return None, f"{call.error.type_name}: {call.error.message}", 0.0
    index = specs.index(spec)
    array = unpacked.usable[index]
    if array is None:
        problem = unpacked.problem_for(spec) or (unpacked.problems[0] if unpacked.problems else None)
        return None, problem.message if problem else "unusable", 0.0
    runner.keep()
    reference = ReferenceLoss(exercise, model, model.parameters, specs, batch).gradient(
        parameter_arrays(model.parameters, specs)).gradients
    errors = [None if found is None else normwise_error(found, wanted)
              for found, wanted in zip(unpacked.usable, reference)]
    declared = declared_precision(call.value, specs, [read_path(model.parameters, s.path) for s in specs])
    tolerance = achieved_tolerance(declared, errors, reference,
                                   lambda: rounding_evidence(exercise, runner, model, specs, batch, unpacked, reference))
    allowance = tolerance.rtol * float(np.max(np.abs(reference[index]))) if tolerance.dtype != np.float64 else 0.0
    return float(array[position]), "", allowance


@dataclass
class _LossCurve:
    """The loss of ``batch`` as one parameter moves (``get_mlp_loss_range``), and where it is now."""

    exercise: object
    spec: object
    row: int
    column: Optional[int]
    handlers: tuple          # (get_parameter, set_parameter) of the parameter
    proxy: _LossOf
    weights: np.ndarray
    losses: np.ndarray
    current_weight: float
    current_loss: float


def _loss_curve(model, batch, layer_index, is_bias, row, column, exercise):
    batch = _batch(batch)
    exercise = get_exercise(exercise) if isinstance(exercise, str) else exercise or find_exercise(model)
    role = "bias" if is_bias else "weight"
    specs = exercise.parameter_specs(model)
    matching = [spec for spec in specs if spec.layer == layer_index and spec.role == role]
    if not matching:
        raise ValueError(f"{exercise.name} has no {role} in layer {layer_index}; "
                         f"parameters: {[spec.label for spec in specs]}")
    spec = matching[0]
    if spec.path != (layer_index, 1 if is_bias else 0):
        raise ValueError(f"tangent_check addresses parameters laid out as [[W, b], ...]; {exercise.name} keeps "
                         f"its {spec.label} at {list(spec.path)}")
    if row is None:
        row, column = _pick_entry(exercise, model, batch, spec)
    column = None if is_bias else (0 if column is None else column)
    get_parameter, set_parameter = get_mlp_parameter_handlers(layer_index, is_bias, row, column or 0)
    proxy = _LossOf(exercise, model)

    current_weight = get_parameter(model.parameters)
    current_loss = proxy.cross_entropy_loss(batch["input"], batch["output"])
    weights, losses = get_mlp_loss_range(proxy, get_parameter, set_parameter, batch)
    return _LossCurve(exercise, spec, row, column, (get_parameter, set_parameter), proxy, weights, losses,
                      current_weight, current_loss)


def expected_loss_and_tangent(model, batch, gradients, layer_index, is_bias, row, column=0, exercise=None):
    """What the lab's ``loss_and_tangent(model, batch, gradients, layer_index, is_bias, row, column)`` returns:
    ``(weight_range, loss_range, tangent)``, each of shape ``(P,)``.

    ``weight_range`` and ``loss_range`` are ``get_mlp_loss_range``'s (the loss is the exercise's
    ``model_loss``); ``tangent`` is :func:`tangent_line` with the slope read from ``gradients``
    (``[[dW, db], ...]``) at the parameter's address. The model is left unchanged.
    """
    curve = _loss_curve(model, batch, layer_index, is_bias, row, column, exercise)
    get_parameter, _ = curve.handlers
    slope = get_parameter(gradients)
    return curve.weights, curve.losses, tangent_line(curve.weights, curve.current_weight, curve.current_loss, slope)


def tangent_check(model, batch, layer_index=0, is_bias=False, row=None, column=None, exercise=None,
                  path=None, ax=None):
    """Loss curve around one parameter, its numerical slope and the student's; returns a TangentCheck.

    ``batch`` is ``{'input': (B, I), 'output': (B,)}`` or a pair. Without ``row`` the entry
    with the largest reference derivative is chosen. The figure goes to ``ax`` if given,
    else to a new figure, saved as PNG at ``path`` when given. The model is left unchanged.
    """
    batch = _batch(batch)
    curve = _loss_curve(model, batch, layer_index, is_bias, row, column, exercise)
    get_parameter, set_parameter = curve.handlers
    slope, tolerance = _numerical_slope(curve.proxy, model, curve.spec, get_parameter, set_parameter, batch,
                                        curve.current_loss)
    position = (0, curve.row) if is_bias else (curve.row, curve.column)
    student_slope, note, allowance = _student_slope(curve.exercise, model, batch, curve.spec, position)

    result = TangentCheck(curve.spec.label, curve.row, curve.column, curve.weights, curve.losses,
                          curve.current_weight, curve.current_loss, slope, student_slope, tolerance, note,
                          precision_allowance=allowance)
    result.figure = _draw(result, ax, path)
    return result


def _numerical_slope(proxy, model, spec, get_parameter, set_parameter, batch, current_loss):
    """Central difference with the step that balances rounding and truncation in the model's precision."""
    dtype = precision_of([read_path(model.parameters, spec.path)])
    eps = float(np.finfo(dtype).eps)
    current = get_parameter(model.parameters)
    step = eps ** (1.0 / 3.0) * max(1.0, abs(current))
    values = []
    try:
        for value in (current + step, current - step):
            set_parameter(model.parameters, value)
            values.append(proxy.cross_entropy_loss(batch["input"], batch["output"]))
    finally:
        set_parameter(model.parameters, current)
    # The parameter itself is stored in `dtype`: the step actually taken is the rounded one.
    taken = float(np.asarray(current + step, dtype=dtype)) - float(np.asarray(current - step, dtype=dtype))
    slope = (values[0] - values[1]) / taken
    tolerance = FD_ROUNDING_FACTOR * eps * (abs(current_loss) + 1.0) / step + step ** 2 * (1.0 + abs(slope))
    return slope, tolerance


def _draw(result, ax, path):
    if ax is None:
        if path is not None:
            from matplotlib.figure import Figure  # no pyplot: works without a display, keeps no global state
            figure = Figure(figsize=(6, 4), layout="constrained")
        else:
            import matplotlib.pyplot as plt
            figure = plt.figure(figsize=(6, 4), layout="constrained")
        ax = figure.add_subplot()
    figure = ax.figure
    # A thick pale curve: a correct tangent drawn over it stays visible.
    ax.plot(result.weights, result.losses, color="tab:blue", linewidth=4, alpha=0.45, label="loss")
    ax.plot(result.current_weight, result.current_loss, "x", color="tab:red", markersize=10, label="current value")
    numerical, yours = (distinguishable(result.numerical_slope, result.student_slope)
                        if result.student_slope is not None else (f"{result.numerical_slope:.4g}", "n/a"))
    ax.plot(result.weights, tangent_line(result.weights, result.current_weight, result.current_loss,
                                         result.numerical_slope), ":", color="tab:green",
            linewidth=2, label=f"numerical slope {numerical}")
    if result.student_slope is not None:
        ax.plot(result.weights, tangent_line(result.weights, result.current_weight, result.current_loss,
                                             result.student_slope), "--", color="tab:red",
                label=f"your gradient {yours}")
    where = f"[{result.row}, {result.column}]" if result.column is not None else f"[0, {result.row}]"
    slopes = result.slopes_text() if result.student_slope is not None else f"numerical {numerical}, yours n/a"
    ax.set_title(f"{result.label} {where}: {slopes} ({result.verdict})", fontsize=9)
    ax.set_xlabel("parameter value")
    ax.set_ylabel("loss")
    ax.legend(fontsize=8)
    if path is not None:
        figure.savefig(path, dpi=100)
    return figure
