"""Check what ``backpropagation`` returned before any number is compared.

:func:`unpack_gradients` follows each parameter's path into the returned object and sorts
every entry into usable (a finite numeric array holding the parameter's entries, compared by
value) or a :class:`Problem` with a message that names the entry, what was expected and what
was found.

Array-likes are converted once, here (by :func:`grading.policy.arrays.plain_array`), to float64 NumPy arrays:
NumPy arrays of any dtype, layout or writeability, ``np.matrix``, NumPy scalars and 0-d arrays,
PyTorch tensors, and (as a failing ``not_an_array`` problem, since ``update()`` cannot step with
them) nested Python lists or tuples of numbers. Whatever the return value is, unpacking never
raises. ``copy=False`` keeps a returned writeable float64 array itself instead of a copy: the
caller then calls :meth:`Unpacked.detach` before anything can change it (more student code).

Shape policy (``shape_policy``, a course setting; default :data:`LENIENT`): an array with
exactly the parameter's entries in a shape that differs only by axes of length 1 (a bias
gradient ``(out,)`` or ``(out, 1)`` for a bias ``(1, out)``) is compared by value, and its shape
is reported as a separate finding (``singleton_axes``). Under :data:`LENIENT` that finding is a
visible warning and does not fail the check when the array broadcasts to the parameter's shape
(``b -= lr * db`` then takes the same step: ``(out,)`` for ``(1, out)``); a shape that would not
broadcast (``(out, 1)`` for ``(1, out)`` grows ``b`` to ``(out, out)``) fails. Under
:data:`STRICT` every shape other than the parameter's fails. Any other shape is a
``wrong_shape`` problem that fails; the other arrays are still compared.
"""
import math
from collections import defaultdict
from functools import lru_cache
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import torch

from .registry import ParameterSpec
from grading.policy.arrays import plain_array

LENIENT = "lenient"
STRICT = "strict"
SHAPE_POLICIES = (LENIENT, STRICT)
DEFAULT_SHAPE_POLICY = LENIENT


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the returned gradients. ``kind`` is a short name used by the diagnosis;
    ``blocking`` is False for findings that are shown but do not fail the check."""

    kind: str
    message: str
    spec: Optional[ParameterSpec] = None
    blocking: bool = True


@dataclass
class Unpacked:
    """``usable[i]``: float64 array of spec i's shape, compared by value, or None; ``found[i]``: the
    float64 array as returned (possibly of another shape or not finite, for the diagnosis) or None;
    ``found_text[i]`` for the table; ``notes``: conversions worth telling the student about."""

    usable: list
    found: list
    found_text: list
    problems: list
    notes: list = field(default_factory=list)
    shares_memory: bool = False      # some arrays may be the student's own (unpacked with copy=False)

    def detach(self):
        """Own copies of arrays that may be the student's (``copy=False``), before student code runs again."""
        if not self.shares_memory:
            return
        for i, array in enumerate(self.found):
            if array is not None:
                self.found[i] = np.array(array, copy=True)
                if self.usable[i] is not None:
                    self.usable[i] = self.found[i].reshape(self.usable[i].shape)
        self.shares_memory = False

    def problem_for(self, spec):
        return next((problem for problem in self.problems if problem.spec == spec), None)

    @property
    def blocking(self):
        """The problems that fail the check (the others are warnings)."""
        return [problem for problem in self.problems if problem.blocking]

    def first_unusable_message(self, specs):
        """Why some entry cannot be compared (for checks that need every array)."""
        for spec, array in zip(specs, self.usable):
            if array is None:
                problem = self.problem_for(spec) or next((p for p in self.problems if p.spec is None), None)
                return problem.message if problem else f"{spec.label} is unusable"
        return self.problems[0].message if self.problems else "unusable"


def _describe(value):
    if value is None:
        return "None"
    if isinstance(value, np.matrix):
        return f"{tuple(value.shape)} matrix"
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return str(tuple(value.shape))
    return type(value).__name__


@lru_cache(maxsize=64)
def _children_expected(paths):
    """For each prefix of the parameter ``paths``, the keys its children should have, sorted (as
    problems name them). Cached: a check unpacks results of the same paths several times."""
    children = defaultdict(set)
    for path in paths:
        for depth in range(len(path)):
            children[path[:depth]].add(path[depth])
    return {prefix: sorted(keys, key=str) for prefix, keys in children.items()}


def _length(node):
    try:
        return len(node)
    except Exception:  # noqa: BLE001 - an object without a usable len() is reported, not raised
        return None


def _entry_name(prefix, returned_what):
    """What a problem calls the container at ``prefix``: ``"backpropagation's result"``, ``"entry [0]"``."""
    return f"entry {list(prefix)}" if prefix else returned_what.replace(" returned", "'s result")


def _container_problem(node, prefix, keys, returned_what):
    """``(kind, message)`` when ``node`` (at ``prefix``) is not the container ``keys`` need, else None."""
    integer_keys = all(isinstance(key, int) for key in keys)
    if integer_keys and type(node) in (list, tuple) and len(node) == len(keys):
        return None   # the usual case, without naming the entry
    what = _entry_name(prefix, returned_what)
    if integer_keys:
        if isinstance(node, np.ndarray) and node.dtype != object:
            return ("not_a_list", f"{what} is one array of shape {node.shape}; expected a list of "
                                  f"{len(keys)} entries")
        if not isinstance(node, (list, tuple, np.ndarray)):
            return "not_a_list", f"{what} is a {type(node).__name__}; expected a list of {len(keys)} entries"
        if _length(node) != len(keys):
            kind = "wrong_length" if not prefix else "not_a_pair"
            return kind, f"{what} has {_length(node)} entries; expected {len(keys)}"
    elif not isinstance(node, dict) or set(node) != set(keys):
        return "wrong_keys", f"{what} should be a dict with keys {sorted(keys)}, got {_describe(node)}"
    return None


def _child(node, key):
    """``node[key]`` for lists, tuples, dicts and object arrays; raises LookupError otherwise."""
    if isinstance(node, dict):
        return node[key]
    if isinstance(node, (list, tuple)) or (isinstance(node, np.ndarray) and node.dtype == object):
        if not isinstance(key, int) or not -len(node) <= key < len(node):
            raise LookupError(key)
        return node[key]
    raise LookupError(key)


def unpack_gradients(raw, specs, returned_what="backpropagation returned", shape_policy=DEFAULT_SHAPE_POLICY,
                     copy=True):
    """Sort the entries of ``raw`` (the student's return value) against ``specs``; never raises.
    ``copy=False``: see the module docstring."""
    if shape_policy not in SHAPE_POLICIES:
        raise ValueError(f"shape_policy must be one of {SHAPE_POLICIES}, got {shape_policy!r}")
    problems, notes = [], []
    usable, found, found_text = [], [], []
    if raw is None:
        problems.append(Problem("none_returned", f"{returned_what} None; return the gradients "
                                                  f"[[dW, db], ...] (is a `return` missing?)"))
        return Unpacked([None] * len(specs), [None] * len(specs), ["None"] * len(specs), problems)

    children = _children_expected(tuple(tuple(spec.path) for spec in specs))
    # Each container is judged once, at its first visit (specs share prefixes: [0] holds W0 and b0).
    judged_prefixes = set()
    for spec in specs:
        value, broken = raw, False
        for depth, key in enumerate(spec.path):
            prefix = spec.path[:depth]
            if prefix not in judged_prefixes:
                judged_prefixes.add(prefix)
                problem = _container_problem(value, prefix, children[prefix], returned_what)
                if problem:
                    problems.append(Problem(problem[0], problem[1]))
            try:
                value = _child(value, key)
            except Exception:  # noqa: BLE001 - any failure to index is a missing entry
                broken = True
                break
        if broken:
            usable.append(None), found.append(None), found_text.append("missing")
            problems.append(Problem("missing", f"{spec.label}: no entry at {list(spec.path)}", spec))
            continue
        text = _describe(value)
        compared, as_returned, leaf_problems, note = _check_leaf(value, spec, shape_policy, copy)
        found.append(as_returned)
        found_text.append(text)
        usable.append(compared)
        problems.extend(leaf_problems)
        if note:
            notes.append(note)
    return Unpacked(usable, found, found_text, problems, notes, shares_memory=not copy)


def squeezed_shape(shape):
    """``shape`` without its axes of length 1."""
    return tuple(size for size in shape if size != 1)


def differs_by_singleton_axes(shape, expected):
    """Same entries in the same order, only axes of length 1 added or removed."""
    return tuple(shape) != tuple(expected) and squeezed_shape(shape) == squeezed_shape(expected)


def broadcasts_to(shape, expected):
    """``parameter -= lr * gradient`` keeps the parameter's shape (NumPy broadcasting)."""
    try:
        return np.broadcast_shapes(tuple(shape), tuple(expected)) == tuple(expected)
    except ValueError:
        return False


def _expected(spec):
    return f"a NumPy array of shape {spec.shape}"


def _check_leaf(value, spec, shape_policy, copy=True):
    """``(compared array or None, array as returned or None, [Problem], note)`` for one returned entry."""
    if value is None:
        return None, None, [Problem("missing", f"{spec.label} gradient is None; expected {_expected(spec)}",
                                    spec)], ""
    array, converted_from = plain_array(value)
    if array is None:
        expected = _expected(spec)
        kind = "not_an_array"
        return None, None, [Problem(kind, f"{spec.label} gradient is a {type(value).__name__}; expected {expected}"
                                          + (" (its entries are not all numbers)" if converted_from else ""),
                                    spec)], ""
    if array.dtype.kind not in "fium":   # floating or integer, timedelta64 included (np.issubdtype's answer)
        return None, None, [Problem("not_numeric", f"{spec.label} gradient has dtype {array.dtype}; expected "
                                                   f"floating-point numbers", spec)], ""
    if copy or array.dtype != np.float64 or not array.flags.writeable:
        array = array.astype(np.float64)  # a fresh, writeable, contiguous copy of any layout
    problems, note = [], ""
    if converted_from.startswith("Python"):
        problems.append(Problem("not_an_array", f"{spec.label} gradient is a {converted_from}, expected "
                                                f"{_expected(spec)} (np.array(...) or keep it an array); its values "
                                                f"were still compared", spec))
    elif converted_from == "np.matrix":
        note = (f"{spec.label} gradient is an np.matrix; compared as an array (with np.matrix, * is a matrix "
                f"product: prefer plain arrays)")
    compared = array
    if array.shape != tuple(spec.shape):
        if differs_by_singleton_axes(array.shape, spec.shape):
            compared = array.reshape(spec.shape)
            same_step = broadcasts_to(array.shape, spec.shape)
            blocking = shape_policy == STRICT or not same_step
            consequence = ("accepted, since update() takes the same step with it" if not blocking else
                           "this fails: parameter -= lr * gradient would not keep the parameter's shape"
                           if not same_step else "this fails under the strict shape policy")
            problems.append(Problem(
                "singleton_axes", f"{spec.label} gradient has shape {array.shape}, the parameter is "
                                  f"{tuple(spec.shape)}: its values were compared in the parameter's shape; "
                                  f"{consequence}. Return it in the parameter's shape", spec, blocking))
        else:
            return None, array, problems + [Problem("wrong_shape", f"{spec.label} gradient has shape "
                                                    f"{array.shape}; expected {tuple(spec.shape)}", spec)], note
    # The sum is finite for finite entries short of ~1e308 in total (one fast pass); count only otherwise.
    if not math.isfinite(compared.sum()) and not np.all(np.isfinite(compared)):
        bad = int(np.sum(~np.isfinite(compared)))
        return None, array, problems + [Problem("not_finite", f"{spec.label} gradient has {bad} NaN/inf entries "
                                                f"of {compared.size} (overflow in exp, log(0) or 0/0?)", spec)], note
    return compared, array, problems, note
