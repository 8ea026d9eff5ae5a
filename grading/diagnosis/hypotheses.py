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

from grading.gradient_check.tolerances import normwise_error


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


def matching_hypothesis(hypotheses, context, student, tolerance):
    """The first hypothesis whose predicted gradients all agree with ``student`` within ``tolerance``.

    ``student`` is aligned with the specs; entries that are ``None`` (unusable) must be
    predicted as ``None`` too. A prediction that raises counts as not applicable.
    """
    for hypothesis in hypotheses:
        try:
            predicted = hypothesis.predict(context)
        except (ValueError, IndexError, KeyError, FloatingPointError):
            continue
        if predicted is None or len(predicted) != len(student):
            continue
        if all(_agrees(s, p, tolerance) for s, p in zip(student, predicted)):
            return hypothesis
    return None


def _agrees(student, predicted, tolerance):
    if student is None or predicted is None:
        return student is None and predicted is None
    predicted = np.asarray(predicted)
    if student.shape != predicted.shape:
        return False
    return normwise_error(student, predicted) <= tolerance
