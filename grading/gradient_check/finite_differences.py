"""Cross-check the autograd reference with central differences along random directions.

One random unit direction ``v`` (entries +-1, scaled) over all parameters costs two forward passes and tests
every gradient entry at once: ``(L(theta + h v) - L(theta - h v)) / 2h`` must equal
``sum(gradient * v)``. Naive finite differences would need two passes per parameter.

The verification is done once per model, exercise and shapes (:data:`VERIFY_ONCE`): it checks the
grader's reference function, which a later call on the same model and shapes does not change.

ReLU kinks: a difference whose step moves a ReLU pre-activation across 0 measures neither
one-sided slope. Every pass records the arguments of the reference's kinked functions
(:class:`grading.gradient_check.reference.ReferenceOps`); when a sign changes between the two evaluations,
the direction is discarded and a new one drawn, first over all parameters, then over one
parameter array at a time from the output backwards (output-layer parameters do not move
hidden pre-activations). What was discarded is reported.
"""
import dataclasses
import weakref
from dataclasses import dataclass, field

import numpy as np
import torch

from .tolerances import FD_STEP, finite_difference_tolerance

# Speed-up for benchmark rows 1a, 1c and 1g (the gradient check and the whole report on the books
# MLP, the gradient check on the dense MLP, bench/grader_cost.py): the reference's finite-difference
# verification (two reference passes) agrees once for a model, exercise and shapes, and later calls,
# with or without further checks, reuse it. False: verify on every call.
VERIFY_ONCE = True
_agreed = weakref.WeakKeyDictionary()   # model -> {(exercise, parameter shapes, input shape): DirectionalCheck}


@dataclass
class DirectionalCheck:
    """Outcome of the cross-check. ``status`` is ``'agree'``, ``'disagree'`` or ``'skipped'``."""

    status: str
    step: float = FD_STEP
    tolerance: float = float("nan")
    finite_difference: float = float("nan")
    autograd: float = float("nan")
    student: float = float("nan")          # the student's gradient along the same direction, if usable
    over: str = "all parameters"
    rejected: list = field(default_factory=list)   # why earlier directions were discarded
    earlier: bool = False                  # an earlier call's verification, reused (see VERIFY_ONCE)

    @property
    def difference(self):
        return abs(self.finite_difference - self.autograd)

    def describe(self):
        notes = "; ".join(self.rejected)
        if self.status == "skipped":
            return f"not run: {notes}"
        text = (f"along a random unit direction over {self.over}, h = {self.step:.1e}: central difference "
                f"{self.finite_difference:.10e}, autograd {self.autograd:.10e}, |diff| {self.difference:.1e} "
                f"(tolerance {self.tolerance:.1e})")
        if self.earlier:
            text = ("verified on an earlier call with this model and these shapes (the reference does not "
                    "change between calls): " + text)
        if np.isfinite(self.student):
            text += f"; your gradient gives {self.student:.10e}"
        return text + (f" [{notes}]" if notes else "")


def _kinks_crossed(*kink_lists):
    """Number of kink arguments whose sign (-1, 0 or 1) is not the same in every evaluation."""
    if not kink_lists[0]:
        return 0
    crossed = 0
    for arguments in zip(*kink_lists):
        signs = np.stack([np.sign(argument.numpy()) for argument in arguments])
        crossed += int(np.sum(np.any(signs != signs[0], axis=0)))
    return crossed


def _random_signs(rng, shape, scale):
    """Entries +scale or -scale with equal probability, from random bits (a normal draw per entry
    costs about a forward pass when the first layer has 280,000 weights)."""
    size = int(np.prod(shape))
    bits = np.unpackbits(np.frombuffer(rng.bytes((size + 7) // 8), dtype=np.uint8), count=size)
    return torch.from_numpy(bits).to(torch.float64).mul_(2.0 * scale).sub_(scale).reshape(shape)


def _direction(rng, arrays, only=None):
    """A random unit direction (entries +-1/sqrt(n)) over all arrays, or over array ``only``."""
    sizes = [int(np.size(a)) if only is None or i == only else 0 for i, a in enumerate(arrays)]
    if not sum(sizes):
        return None
    scale = 1.0 / np.sqrt(sum(sizes))
    return [_random_signs(rng, np.shape(a), scale) if size else torch.zeros(np.shape(a), dtype=torch.float64)
            for a, size in zip(arrays, sizes)]


def _along(tensors, direction, step):
    return [torch.add(t, d, alpha=step) for t, d in zip(tensors, direction)]


def _dot(arrays, direction):
    return sum(float(torch.dot(torch.as_tensor(a, dtype=torch.float64).reshape(-1), d.reshape(-1)))
               for a, d in zip(arrays, direction))


def directional_check(loss, arrays, reference, specs, rng, student=None, max_tries=4):
    """Compare ``reference.gradients`` with central differences of ``loss`` (a ReferenceLoss) at ``arrays``.

    ``student`` (optional, aligned with the specs, arrays or None) gets its own slope along
    the accepted direction. Costs two forward passes per direction tried.
    """
    tolerance = finite_difference_tolerance(reference.loss)
    # In the reference's reduced coordinates: parameters that cannot change this batch's loss
    # (unused input columns) have an exact zero gradient and would only dilute the direction.
    arrays = loss.reduce(arrays)
    gradients = reference.reduced_gradients
    if student is not None:
        student = loss.reduce(student)
    tensors = [torch.as_tensor(np.asarray(a, dtype=np.float64)) for a in arrays]
    # First all parameters at once, then one array at a time from the last backwards.
    plans = [None] + [i for i in reversed(range(len(arrays))) if np.asarray(arrays[i]).size][: max_tries - 1]
    rejected = []
    for only in plans:
        direction = _direction(rng, arrays, only)
        if direction is None:
            continue
        plus, plus_kinks = loss.value(_along(tensors, direction, FD_STEP), reduced=True)
        minus, minus_kinks = loss.value(_along(tensors, direction, -FD_STEP), reduced=True)
        over = "all parameters" if only is None else specs[only].label
        if loss.columns is not None and (only is None or only == loss.columns.position):
            columns = loss.columns
            over += (f" ({specs[columns.position].label}: the {len(columns.columns):,} of {columns.width:,} columns "
                     f"whose input feature occurs in the batch; the others cannot change this loss)")
        crossed = _kinks_crossed(reference.kink_arguments, plus_kinks, minus_kinks)
        if crossed:
            rejected.append(f"direction over {over} discarded: {crossed} ReLU pre-activation(s) within "
                            f"the step of 0")
            continue
        finite_difference = (plus - minus) / (2 * FD_STEP)
        autograd = _dot(gradients, direction)
        yours = (_dot(student, direction) if student is not None and all(s is not None for s in student)
                 else float("nan"))
        status = "agree" if abs(finite_difference - autograd) <= tolerance else "disagree"
        return DirectionalCheck(status, FD_STEP, tolerance, finite_difference, autograd, yours, over, rejected)
    return DirectionalCheck("skipped", FD_STEP, tolerance, rejected=rejected or ["no parameters"])


def directional_check_once(loss, arrays, reference, specs, rng, student=None):
    """:func:`directional_check`, or the agreement an earlier call found for the same model, exercise
    and shapes (see :data:`VERIFY_ONCE`), marked as such and without the student's slope (that was
    another call's)."""
    try:
        done = _agreed.setdefault(loss.model, {}) if VERIFY_ONCE else None
    except TypeError:   # a model that cannot be weakly referenced: verify every time
        done = None
    key = (loss.exercise.name, tuple(tuple(spec.shape) for spec in specs), loss.input_shape)
    if done is not None and key in done:
        return done[key]
    result = directional_check(loss, arrays, reference, specs, rng, student)
    if done is not None and result.status == "agree":
        # Kept as later calls report it, made once (each later check reads it, none changes it).
        done[key] = dataclasses.replace(result, earlier=True, student=float("nan"))
    return result
