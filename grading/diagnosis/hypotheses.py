"""Diagnosis by re-enactment: recompute a typical wrong gradient and see if the student's matches it.

A :class:`Hypothesis` names a cause, says it in one student-facing sentence and knows how to
``predict`` the gradients that mistake would produce (a list aligned with the exercise's
parameter specs, or ``None`` when the mistake cannot happen for this model, e.g. a
transposed matrix that would not even multiply). Exercises list their hypotheses in
``GradientExercise.hypotheses``; the first one whose prediction the student's gradients
match becomes the diagnosis.
"""
from dataclasses import dataclass
from typing import Callable

import numpy as np

from grading.policy.precision import normwise_error


@dataclass(frozen=True)
class HypothesisContext:
    """What a prediction may use: float64 copies, never the student's objects.

    ``parameters``: float64 arrays aligned with ``specs``; ``input`` ``(B, I)`` float64;
    ``output`` ``(B,)`` as given; ``reference``: the correct gradients, aligned with ``specs``.
    """

    model: object
    specs: list
    parameters: list
    input: np.ndarray
    output: np.ndarray
    reference: list


@dataclass(frozen=True)
class Hypothesis:
    """A typical mistake: ``cause`` (a short name), ``sentence`` and ``predict(context)``."""

    cause: str
    sentence: str
    predict: Callable


def matching_hypothesis(hypotheses, context, student, tolerance, wrong, scales=(1.0,)):
    """``(hypothesis, scale)`` for the first hypothesis whose predicted gradients, times one of ``scales``,
    agree with ``student`` within ``tolerance`` on every entry that can be compared; or None.

    ``student`` is aligned with the specs: an array (of the parameter's shape, or of the shape
    returned when that is another) or None (not comparable, skipped). ``wrong``: indices where the
    student's gradient differs from the reference; at least one of them must be compared, so a
    hypothesis is never confirmed by arrays that are right anyway. A prediction that raises counts
    as not applicable.
    """
    compared = [i for i, array in enumerate(student) if array is not None]
    if not any(i in compared for i in wrong):
        return None
    for hypothesis in hypotheses:
        try:
            predicted = hypothesis.predict(context)
        except (ValueError, IndexError, KeyError, FloatingPointError, TypeError):
            continue
        if predicted is None or len(predicted) != len(student):
            continue
        # An array the mistake makes (nearly) zero is judged against the size of the whole prediction:
        # the student's rounding noise there is no evidence against the hypothesis.
        floor = max((float(np.max(np.abs(p))) for p in predicted if p is not None and np.size(p)), default=0.0)
        for scale in scales:
            if all(_agrees(student[i], predicted[i], scale, tolerance, abs(scale) * floor) for i in compared):
                return hypothesis, scale
    return None


def _agrees(student, predicted, scale, tolerance, floor=0.0):
    if predicted is None:
        return False
    predicted = np.asarray(predicted)
    if student.shape != predicted.shape:
        return False
    return normwise_error(student, scale * predicted, floor) <= tolerance
