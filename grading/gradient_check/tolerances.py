"""How close is close enough: every threshold follows from a dtype or a step size, and says so.

* Student gradients are compared with the float64 reference parameter by parameter, by the
  normwise error ``max|yours - reference| / max|reference|``: relative to the size of the
  whole gradient array, so exact zeros (first-layer weights of absent words) need no special
  case. It must stay below ``SAFETY * eps`` of the student's precision: 2.2e-13 for float64
  code, 1.2e-4 for float32 code (the lowest precision among the returned arrays and the
  model's parameters; float16 is judged as float32).
* The reference itself is cross-checked by a central difference of the float64 loss along
  a random unit direction with step ``h = eps**(1/3)``: the rounding error of the difference
  is about ``eps * |loss| / h`` and its truncation error about ``h**2``, so both appear in
  the bound.
"""
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

SAFETY = 1000.0                      # summation order and libm differences stay far below this
FLOAT64_EPS = float(np.finfo(np.float64).eps)
FD_STEP = FLOAT64_EPS ** (1.0 / 3.0)  # balances rounding (eps / h) against truncation (h**2)
FD_ROUNDING_FACTOR = 16.0             # a loss is a sum of many terms: a few ulps of rounding each
# Diagnosis recognises a known mistake when the prediction agrees to this normwise error
# (or the student's own tolerance, if looser): mistakes change gradients by O(1).
HYPOTHESIS_MATCH = 1e-6


def error_sizes(student, reference, floor=0.0):
    """``(max|student - reference|, normwise error)`` with the normwise error
    ``max|student - reference| / max(max|reference|, floor)``; zeros for empty arrays."""
    student = np.asarray(student, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    if reference.size == 0:
        return 0.0, 0.0
    return sizes_from_largest(largest_magnitude(student - reference), largest_magnitude(reference), floor)


def sizes_from_largest(largest, reference_largest, floor=0.0):
    """:func:`error_sizes` from ``max|student - reference|`` and ``max|reference|``, found some other way."""
    scale = max(reference_largest, floor, np.finfo(np.float64).tiny)
    return largest, largest / scale


def largest_magnitude(array):
    """``max|array|`` without a temporary array (NaN if there is one; it propagates through max and min;
    abs: never -0.0)."""
    return abs(float(max(array.max(), -array.min())))


def normwise_error(student, reference, floor=0.0):
    """``max|student - reference| / max(max|reference|, floor)``; 0 for two empty arrays."""
    return error_sizes(student, reference, floor)[1]


def precision_of(arrays, coarsest=np.float32):
    """The least precise floating dtype among ``arrays`` (NumPy arrays or tensors), but no coarser
    than ``coarsest``: float16 gradients are judged as float32 (their tolerance would pass nonsense).
    float64 if there are none."""
    dtypes = []
    for array in arrays:
        dtype = array.dtype
        if isinstance(dtype, torch.dtype):
            dtype = torch.empty((), dtype=dtype).numpy().dtype
        if np.issubdtype(dtype, np.floating):
            dtypes.append(np.dtype(dtype))
    dtypes = [min(d, np.dtype(coarsest), key=lambda t: np.finfo(t).eps) for d in dtypes]
    return max(dtypes, key=lambda d: np.finfo(d).eps, default=np.dtype(np.float64))


@dataclass(frozen=True)
class GradientTolerance:
    """Normwise relative tolerance for a student's gradients computed in ``dtype``.

    ``returned_dtype`` is set when the student returned arrays of a finer dtype than the
    precision actually achieved (float32 arithmetic returning float64): the verdict follows
    the achieved precision, so the same arithmetic is judged alike whatever dtype it returns.
    """

    dtype: np.dtype
    returned_dtype: Optional[np.dtype] = None

    @property
    def eps(self):
        return float(np.finfo(self.dtype).eps)

    @property
    def rtol(self):
        return SAFETY * self.eps

    @property
    def hypothesis_match(self):
        return max(HYPOTHESIS_MATCH, 10 * self.rtol)

    def describe(self):
        achieved = "" if self.returned_dtype is None else (
            f"; your arrays are {np.dtype(self.returned_dtype).name} but agree with the reference only to "
            f"{self.dtype.name} rounding, so they are judged at the precision achieved")
        return (f"max|yours - reference| <= rtol * max|reference| per parameter, "
                f"rtol = {SAFETY:g} * eps({self.dtype.name}) = {self.rtol:.1e}{achieved}")


COARSER_PRECISIONS = (np.dtype(np.float32),)   # what a step of student code may silently compute in


def achieved_tolerance(declared, errors, reference):
    """The tolerance for the precision the student's arithmetic actually achieved.

    ``declared``: the dtype from the returned arrays and parameters; ``errors``: normwise errors
    (None for unusable arrays); ``reference``: the reference gradients. When even the best-agreeing
    array (among those with a nonzero reference) misses the declared precision but meets a coarser
    one, some step ran in that coarser precision: the gradients are judged at it, and
    ``returned_dtype`` records the dtype they were returned in. A formula mistake changes an
    array by O(1), so it still fails there.
    """
    tolerance = GradientTolerance(np.dtype(declared))
    measured = [error for error, wanted in zip(errors, reference)
                if error is not None and np.isfinite(error) and np.any(wanted)]
    if not measured:
        return tolerance
    best = min(measured)
    for coarser in COARSER_PRECISIONS:
        candidate = GradientTolerance(coarser, returned_dtype=np.dtype(declared))
        if candidate.eps > tolerance.eps and tolerance.rtol < best <= candidate.rtol:
            return candidate
    return tolerance


def finite_difference_tolerance(loss, step=FD_STEP):
    """Bound on |central difference - exact directional derivative| for a float64 loss of size ``loss``."""
    return FD_ROUNDING_FACTOR * FLOAT64_EPS * (abs(loss) + 1.0) / step + step ** 2
