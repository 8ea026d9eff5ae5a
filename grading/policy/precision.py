"""How close is close enough for a gradient, and at which precision a student's work is judged.

* Gradients are compared with the float64 reference parameter by parameter, by the normwise
  error ``max|yours - reference| / max|reference|``: relative to the size of the whole gradient
  array, so exact zeros (first-layer weights of absent words) need no special case. It must stay
  below ``SAFETY * eps`` of the precision the student's arithmetic ran in: 2.2e-13 for float64,
  1.2e-4 for float32 (float16 is judged as float32).
* That precision comes from evidence, never from the size of the error. Evidence one: a dtype
  (float32 arrays returned, or float32 parameters given). Evidence two, for float64 arrays that
  miss float64 accuracy: the same call with every parameter and input rounded to float32 (kept
  float64). Float32 arithmetic rounds both calls' inputs to the same float32 numbers and returns
  the same result; float64 arithmetic follows the change as the reference does. A float64 formula
  that is only approximately right (a finite difference, ``g / (x + 1e-9)``) follows it, so it is
  judged at float64 and fails.
"""
import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .arrays import numpy_dtype

SAFETY = 1000.0                      # summation order and libm differences stay far below this
FLOAT64_EPS = float(np.finfo(np.float64).eps)
FLOAT64_TINY = np.finfo(np.float64).tiny   # a NumPy float, as np.finfo gives it (results keep their type)
# Diagnosis recognises a known mistake when the prediction agrees to this normwise error
# (or the student's own tolerance, if looser): mistakes change gradients by O(1).
HYPOTHESIS_MATCH = 1e-6
COARSER_PRECISIONS = (np.dtype(np.float32),)   # what a step of student code may silently compute in
# A float64 result follows a sub-float32 change of its inputs to about its own relative error; float32
# arithmetic misses all of it. Half splits the two by orders of magnitude either way.
MISSED_FRACTION = 0.5

BY_DTYPE = "dtype"            # how the precision was decided (GradientTolerance.evidence)
BY_ROUNDING = "rounding"
FLOAT64_ARITHMETIC = "float64 arithmetic"   # shown by the rounding call
FLOAT64_ARRAYS = "float64 arrays"           # shown by other arrays that meet float64 accuracy


_EPS = {}   # dtype -> eps: np.finfo costs about a microsecond a call, and a check asks a dozen times


def eps_of(dtype):
    """``np.finfo(dtype).eps`` as a float, for a floating NumPy dtype."""
    dtype = np.dtype(dtype)
    try:
        return _EPS[dtype]
    except KeyError:
        return _EPS.setdefault(dtype, float(np.finfo(dtype).eps))


_NAMES = {}   # dtype -> name: ``dtype.name`` is computed in Python, about as long as a small product


def dtype_name(dtype):
    """``np.dtype(dtype).name`` (``'float32'``), for the texts of every report."""
    dtype = np.dtype(dtype)
    try:
        return _NAMES[dtype]
    except KeyError:
        return _NAMES.setdefault(dtype, dtype.name)


def largest_magnitude(array):
    """``max|array|`` without a temporary array (NaN if there is one; abs: never -0.0)."""
    return abs(float(max(array.max(), -array.min())))


# Below this many entries in all, :func:`error_sizes_of_pairs` finds every pair's figures with a few NumPy
# calls over all arrays at once: a small network's check pays per call (about a microsecond each), not
# per entry. Above it, pair by pair, without copying large arrays into one.
FEW_ENTRIES = 20_000


def error_sizes_of_pairs(students, references):
    """:func:`error_sizes` of each pair ``(students[i], references[i])``, figure for figure."""
    students = [np.asarray(a, dtype=np.float64) for a in students]
    references = [np.asarray(a, dtype=np.float64) for a in references]
    sizes = [r.size for r in references]
    if (len(students) < 2 or sum(sizes) > FEW_ENTRIES or not all(sizes)
            or any(s.shape != r.shape for s, r in zip(students, references))):
        return [error_sizes(s, r) for s, r in zip(students, references)]
    starts = np.cumsum([0] + sizes[:-1])
    reference = np.concatenate([r.ravel() for r in references])
    differences = np.concatenate([s.ravel() for s in students]) - reference
    # max|x| of each array's segment: the value largest_magnitude finds (NaN where there is one)
    largest = np.maximum.reduceat(np.abs(differences, out=differences), starts).tolist()
    reference_largest = np.maximum.reduceat(np.abs(reference, out=reference), starts).tolist()
    return [sizes_from_largest(a, b) for a, b in zip(largest, reference_largest)]


def sizes_from_largest(largest, reference_largest, floor=0.0):
    """:func:`error_sizes` from ``max|student - reference|`` and ``max|reference|``, found some other way."""
    scale = max(reference_largest, floor, FLOAT64_TINY)
    return largest, largest / scale


def error_sizes(student, reference, floor=0.0):
    """``(max|student - reference|, normwise error)`` with the normwise error
    ``max|student - reference| / max(max|reference|, floor)``; zeros for empty arrays."""
    student = np.asarray(student, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    if reference.size == 0:
        return 0.0, 0.0
    return sizes_from_largest(largest_magnitude(student - reference), largest_magnitude(reference), floor)


def normwise_error(student, reference, floor=0.0):
    """``max|student - reference| / max(max|reference|, floor)``; 0 for two empty arrays."""
    return error_sizes(student, reference, floor)[1]


def precision_of(arrays, coarsest=np.float32):
    """The least precise floating dtype among ``arrays`` (NumPy arrays or tensors), but no coarser
    than ``coarsest``: float16 gradients are judged as float32 (their tolerance would pass nonsense).
    float64 if there are none."""
    dtypes = [numpy_dtype(array.dtype) for array in arrays]
    if all(d == np.float64 for d in dtypes):   # the usual case, without a finfo per array
        return np.dtype(np.float64)
    dtypes = [min(d, np.dtype(coarsest), key=eps_of) for d in dtypes if np.issubdtype(d, np.floating)]
    return max(dtypes, key=eps_of, default=np.dtype(np.float64))


@dataclass(frozen=True)
class GradientTolerance:
    """Normwise relative tolerance for a student's gradients computed in ``dtype``.

    ``returned_dtype`` is set when the student returned arrays of a finer dtype than the precision
    their arithmetic ran in (float32 arithmetic returning float64); ``evidence`` says how the
    precision was decided (:data:`BY_DTYPE`, :data:`BY_ROUNDING`, or :data:`FLOAT64_ARITHMETIC` when
    float64 arrays missed float64 accuracy and the rounding call showed float64 arithmetic).
    """

    dtype: np.dtype
    returned_dtype: Optional[np.dtype] = None
    evidence: str = BY_DTYPE

    @property
    def eps(self):
        return eps_of(self.dtype)

    @property
    def rtol(self):
        return SAFETY * self.eps

    @property
    def hypothesis_match(self):
        return max(HYPOTHESIS_MATCH, 10 * self.rtol)

    @property
    def approximate_float64(self):
        """Float64 arithmetic that misses float64 accuracy: the formula itself is approximate."""
        return self.evidence in (FLOAT64_ARITHMETIC, FLOAT64_ARRAYS)

    @property
    def float64_reason(self):
        """Why the arithmetic is known to be float64 (for :attr:`approximate_float64`)."""
        return ("its results follow changes of the parameters smaller than float32 can represent"
                if self.evidence == FLOAT64_ARITHMETIC else "some of its gradients are exact to float64 rounding")

    def describe(self):
        name = dtype_name(self.dtype)
        achieved = "" if self.returned_dtype is None else (
            f"; your arrays are {dtype_name(self.returned_dtype)} but your code computes in {name} "
            f"(its results do not change when the parameters move by less than {name} can represent), "
            f"so they are judged at {name} precision")
        if self.approximate_float64:
            achieved = f"; your code computes in float64 ({self.float64_reason}), so it is judged at float64 precision"
        return (f"max|yours - reference| <= rtol * max|reference| per parameter, "
                f"rtol = {SAFETY:g} * eps({name}) = {self.rtol:.1e}{achieved}")


def achieved_tolerance(declared, errors, reference, arithmetic=None):
    """The tolerance for the precision the student's arithmetic ran in.

    ``declared``: the coarsest dtype of the returned arrays and the parameters (evidence by dtype);
    ``errors``: normwise errors (None for unusable arrays); ``reference``: the reference gradients;
    ``arithmetic``: a function that makes the rounding call and returns :func:`arithmetic_precision`'s
    answer, called only when float64-or-finer arrays miss their precision but would meet a coarser
    one. Without evidence of coarser arithmetic the declared precision stands.
    """
    tolerance = GradientTolerance(np.dtype(declared))
    measured = [error for error, wanted in zip(errors, reference)
                if error is not None and math.isfinite(error) and np.asarray(wanted).any()]
    if not measured:
        return tolerance
    best, rtol = min(measured), tolerance.rtol
    if best <= rtol and any(rtol < error <= SAFETY * eps_of(coarser)
                            for error in measured for coarser in COARSER_PRECISIONS):
        return GradientTolerance(np.dtype(declared), evidence=FLOAT64_ARRAYS)
    for coarser in COARSER_PRECISIONS:
        candidate = GradientTolerance(coarser, returned_dtype=np.dtype(declared), evidence=BY_ROUNDING)
        if candidate.eps > tolerance.eps and tolerance.rtol < best <= candidate.rtol:
            found = arithmetic() if arithmetic is not None else None
            if found == coarser.name:
                return candidate
            if found == "float64":
                return GradientTolerance(np.dtype(declared), evidence=FLOAT64_ARITHMETIC)
    return tolerance


def arithmetic_precision(first, rounded, reference_first, reference_rounded):
    """``'float32'``, ``'float64'`` or None (nothing measurable): the student's arrays at the parameters
    (``first``) and with every parameter and input rounded to float32 (``rounded``), against the
    reference's at both points. Some step ran in float32 when an array misses at least half of the
    change the reference shows (float32 arithmetic sees the same float32 inputs twice)."""
    measured = False
    for found, found_rounded, wanted, wanted_rounded in zip(first, rounded, reference_first, reference_rounded):
        if found is None or found_rounded is None or np.shape(found) != np.shape(found_rounded):
            continue
        found, found_rounded, wanted, wanted_rounded = (np.asarray(a, dtype=np.float64) for a in (
            found, found_rounded, wanted, wanted_rounded))
        if found.shape != wanted.shape or not found.size:
            continue
        moved = largest_magnitude(wanted_rounded - wanted)
        if not moved > SAFETY * FLOAT64_EPS * largest_magnitude(wanted):
            continue   # the reference itself does not move measurably
        measured = True
        missed = largest_magnitude((found_rounded - found) - (wanted_rounded - wanted))
        if not missed <= MISSED_FRACTION * moved:
            return "float32"
    return "float64" if measured else None
