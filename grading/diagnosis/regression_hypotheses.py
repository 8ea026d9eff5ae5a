"""Typical mistakes in the gradient of the mean squared error (exercise R.1), re-enacted from the right gradient.

The coefficients are intercept first, so the intercept's derivative is entry 0 of the reference. Each prediction
is the reference changed as the mistake changes it (the exercise has one parameter, the coefficients ``(1 + F,)``).
"""
import numpy as np

from .hypotheses import Hypothesis

INTERCEPT_SENTENCE = ("The intercept's derivative is missing: the slopes' entries are right, but coefficient 0 (the "
                      "intercept, multiplied by the design's column of ones) gets no gradient. X.T @ residual over "
                      "the whole design X (1 + F columns, the ones first) gives all 1 + F entries, intercept first.")


def intercept_left_out(context):
    """The slopes' gradient alone, shape ``(F,)``: the design's column of ones left out."""
    return [np.asarray(context.reference[0])[1:]]


def intercept_at_zero(context):
    """The intercept's entry left at zero, the slopes' right."""
    gradient = np.array(context.reference[0], dtype=np.float64)
    gradient[0] = 0.0
    return [gradient]


REGRESSION_HYPOTHESES = (
    Hypothesis("intercept_left_out", INTERCEPT_SENTENCE, intercept_left_out),
    Hypothesis("intercept_left_out", INTERCEPT_SENTENCE, intercept_at_zero),
)
