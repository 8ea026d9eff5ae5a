"""The finite-difference cross-check's bound (the gradient tolerances are the course's comparison
policy, :mod:`grading.policy.precision`).

The reference is cross-checked by a central difference of the float64 loss along a random unit
direction with step ``h = eps**(1/3)``: the rounding error of the difference is about
``eps * |loss| / h`` and its truncation error about ``h**2``, so both appear in the bound.
"""
from grading.policy.precision import FLOAT64_EPS

FD_STEP = FLOAT64_EPS ** (1.0 / 3.0)  # balances rounding (eps / h) against truncation (h**2)
FD_ROUNDING_FACTOR = 16.0             # a loss is a sum of many terms: a few ulps of rounding each


def finite_difference_tolerance(loss, step=FD_STEP):
    """Bound on |central difference - exact directional derivative| for a float64 loss of size ``loss``."""
    return FD_ROUNDING_FACTOR * FLOAT64_EPS * (abs(loss) + 1.0) / step + step ** 2
