"""Check the shape of what ``backpropagation`` returned before any number is compared.

:func:`unpack_gradients` follows each parameter's path into the returned object and sorts
every entry into usable (a finite numeric array of the parameter's shape) or a
:class:`Problem` with a message that names the entry, what was expected and what was found.
"""
from collections import defaultdict
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from grading.exercises.registry import ParameterSpec


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the returned gradients. ``kind`` is a short name used by the diagnosis."""

    kind: str
    message: str
    spec: Optional[ParameterSpec] = None


@dataclass
class Unpacked:
    """``usable[i]``: float64 array for spec i or None; ``found[i]``: whatever array was there
    (possibly of the wrong shape or not finite, for the diagnosis); ``found_text[i]`` for the table."""

    usable: list
    found: list
    found_text: list
    problems: list

    def problem_for(self, spec):
        return next((problem for problem in self.problems if problem.spec == spec), None)


def _describe(value):
    if value is None:
        return "None"
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return str(tuple(value.shape))
    return type(value).__name__


def _children_expected(specs):
    """For each path prefix, the keys its children should have."""
    children = defaultdict(set)
    for spec in specs:
        for depth in range(len(spec.path)):
            children[spec.path[:depth]].add(spec.path[depth])
    return children


def _container_problem(node, prefix, keys, what):
    integer_keys = all(isinstance(key, int) for key in keys)
    if integer_keys:
        if isinstance(node, np.ndarray) and node.dtype != object:
            return ("not_a_list", f"{what} is one array of shape {node.shape}; expected a list of "
                                  f"{len(keys)} entries")
        if not isinstance(node, (list, tuple, np.ndarray)):
            return "not_a_list", f"{what} is a {type(node).__name__}; expected a list of {len(keys)} entries"
        if len(node) != len(keys):
            kind = "wrong_length" if not prefix else "not_a_pair"
            return kind, f"{what} has {len(node)} entries; expected {len(keys)}"
    elif not isinstance(node, dict) or set(node) != set(keys):
        return "wrong_keys", f"{what} should be a dict with keys {sorted(keys)}, got {_describe(node)}"
    return None


def _as_array(value):
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return value


def unpack_gradients(raw, specs, returned_what="backpropagation returned"):
    """Sort the entries of ``raw`` (the student's return value) against ``specs``."""
    problems = []
    usable, found, found_text = [], [], []
    if raw is None:
        problems.append(Problem("none_returned", f"{returned_what} None; return the gradients "
                                                  f"[[dW, db], ...] (is a `return` missing?)"))
        return Unpacked([None] * len(specs), [None] * len(specs), ["None"] * len(specs), problems)

    children = _children_expected(specs)
    reported_prefixes = set()
    for spec in specs:
        node, what = raw, returned_what.replace(" returned", "'s result")
        value, broken = node, False
        for depth, key in enumerate(spec.path):
            prefix = spec.path[:depth]
            problem = _container_problem(value, prefix, sorted(children[prefix], key=str), what)
            if problem and prefix not in reported_prefixes:
                reported_prefixes.add(prefix)
                problems.append(Problem(problem[0], problem[1]))
            try:
                value = value[key]
                what = f"entry {list(spec.path[:depth + 1])}"
            except (IndexError, KeyError, TypeError):
                broken = True
                break
        if broken:
            usable.append(None), found.append(None), found_text.append("missing")
            problems.append(Problem("missing", f"{spec.label}: no entry at {list(spec.path)}", spec))
            continue
        value = _as_array(value)
        text = _describe(value)
        array, problem = _check_leaf(value, spec)
        found.append(array)
        found_text.append(text)
        usable.append(array if problem is None else None)
        if problem is not None:
            problems.append(problem)
    return Unpacked(usable, found, found_text, problems)


def _check_leaf(value, spec):
    """``(float64 array or None, Problem or None)`` for one returned entry."""
    expected = f"a NumPy array of shape {spec.shape}"
    if value is None:
        return None, Problem("missing", f"{spec.label} gradient is None; expected {expected}", spec)
    if isinstance(value, (list, tuple)):
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            array = None
        return array, Problem("not_an_array", f"{spec.label} gradient is a Python {type(value).__name__}, "
                                              f"expected {expected} (np.array(...) or keep it an array)", spec)
    if np.isscalar(value) and not isinstance(value, np.ndarray):
        return None, Problem("wrong_shape", f"{spec.label} gradient is a single number; expected {expected}", spec)
    if not isinstance(value, np.ndarray):
        return None, Problem("not_an_array", f"{spec.label} gradient is a {type(value).__name__}; "
                                              f"expected {expected}", spec)
    if not (np.issubdtype(value.dtype, np.floating) or np.issubdtype(value.dtype, np.integer)):
        return None, Problem("not_numeric", f"{spec.label} gradient has dtype {value.dtype}; expected "
                                            f"floating-point numbers", spec)
    array = value.astype(np.float64)
    if array.shape != tuple(spec.shape):
        return array, Problem("wrong_shape", f"{spec.label} gradient has shape {array.shape}; "
                                             f"expected {tuple(spec.shape)}", spec)
    # The sum is finite for finite entries short of ~1e308 in total (one fast pass); count only otherwise.
    if not np.isfinite(array.sum()) and not np.all(np.isfinite(array)):
        bad = int(np.sum(~np.isfinite(array)))
        return array, Problem("not_finite", f"{spec.label} gradient has {bad} NaN/inf entries of {array.size} "
                                            f"(overflow in exp, log(0) or 0/0?)", spec)
    return array, None
