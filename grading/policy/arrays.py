"""The one converter: whatever array-like a student's code returns (NumPy array of any dtype or
layout, ``np.matrix``, NumPy scalar, PyTorch tensor, nested list or tuple of numbers) to a plain
NumPy array, in its own dtype and shape.

NumPy only (a tensor is recognised by its type's module, so PyTorch is never imported): the
sandbox runs this file beside ``student_side.py``, where PyTorch may be hidden.
"""
import numpy as np


def is_tensor(value):
    """A PyTorch tensor (or parameter), recognised without importing PyTorch."""
    return type(value).__module__.split(".")[0] == "torch" and hasattr(value, "detach") and hasattr(value, "dtype")


def plain_array(value):
    """``(NumPy array or None, how it was converted or "")``: a tensor, matrix, scalar, list or tuple
    as a plain ``np.ndarray`` in its own dtype (no copy when it already is one); None when it is not
    array-like. ``how`` names conversions worth telling a student about: ``"np.matrix"``,
    ``"Python list"``, ``"Python tuple"``."""
    if type(value) is np.ndarray:   # the usual case first: a check converts a dozen arrays
        return value, ""
    if is_tensor(value):
        try:
            return value.detach().cpu().resolve_conj().numpy(), ""
        except Exception:  # noqa: BLE001 - e.g. a dtype NumPy lacks (bfloat16)
            try:
                return value.detach().cpu().double().numpy(), ""
            except Exception:  # noqa: BLE001
                return None, ""
    if isinstance(value, np.matrix):
        return np.asarray(value), "np.matrix"
    if isinstance(value, np.ndarray):
        return np.asarray(value), ""   # subclasses (masked arrays, ...) as plain arrays
    if isinstance(value, (np.generic, int, float, bool)):
        return np.asarray(value), ""
    if isinstance(value, (list, tuple)):
        try:
            return np.asarray(value, dtype=np.float64), f"Python {type(value).__name__}"
        except Exception:  # noqa: BLE001 - ragged or non-numeric
            return None, f"Python {type(value).__name__}"
    return None, ""


def as_array(value, dtype=None, copy=False):
    """:func:`plain_array` of ``value`` in ``dtype`` (None: its own); ``copy``: never a view of the
    original, else shared with it where it already is such an array. Anything else is handed to
    NumPy as it is (which says what is wrong with it)."""
    array, _ = plain_array(value)
    if array is None:
        array = value
    return np.array(array, dtype=dtype, copy=True) if copy else np.asarray(array, dtype=dtype)


def to_float64(value):
    """A float64 NumPy copy of an array or tensor (never a view of the original)."""
    return as_array(value, np.float64, copy=True)


def numpy_dtype(dtype):
    """A NumPy dtype for a NumPy or PyTorch dtype (``torch.bfloat16``, which NumPy lacks, as float16)."""
    if isinstance(dtype, np.dtype):   # the usual case first: a check asks for every array's dtype
        return dtype
    if type(dtype).__module__.split(".")[0] == "torch":
        name = str(dtype).rsplit(".", 1)[-1]
        return np.dtype("float16" if name == "bfloat16" else name)
    return np.dtype(dtype)


def rounded_to_float32(array):
    """``array`` with every entry rounded to the nearest float32 number, in its own dtype (a copy);
    arrays no finer than float32 and non-float arrays unchanged, entries beyond float32's range kept."""
    array = np.asarray(array)
    if array.dtype.kind != "f" or np.finfo(array.dtype).eps >= np.finfo(np.float32).eps:
        return array.copy()
    with np.errstate(over="ignore", invalid="ignore"):
        rounded = array.astype(np.float32).astype(array.dtype)
    return np.where(np.isfinite(rounded), rounded, array)
