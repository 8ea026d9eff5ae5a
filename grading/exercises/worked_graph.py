"""Trusted checks of the worked-graph assignment (exercise W.1, ``labs/worked_graph.py``):
``backprop_by_hand(a, b, c)`` returns every value and gradient of ``L = (a + 3b) c^2`` as floats,
compared with the solution's; and the row of the worked-graph assignment (its cells and scopes).
"""
import importlib

import numpy as np

from grading.course.assignments import AssignmentRow, register_assignment
from grading.course.cell_scope import CellScope
from grading.gradient_check.registry import register_trusted_check
from grading.trusted.cases import Call, CallsCase, Returned
from grading.trusted.check_spec import TrustedCheck, calls_shapes, compare_close


ALL_KEYS = ("q", "r", "L", "dL/dq", "dL/dr", "dL/da", "dL/db", "dL/dc")
GRADIENT_KEYS = ("dL/da", "dL/db", "dL/dc")
OTHER_POINTS = 4


def result_name(key, point=""):
    """``dL/da`` -> ``dL_da`` (result names are file names in the sandbox's archive)."""
    return f"{point}{key.replace('/', '_')}"


def draw_worked_point(rng):
    """The notebook's worked point (2, 3, 4) itself: the test's scope is that point (work that plugs its
    numbers in, e.g. ``2c = 8``, passes there and fails the other points)."""
    point = importlib.import_module("labs_solutions.worked_graph").WORKED_POINT
    return {axis: np.array(float(point[axis])) for axis in "abc"}


def draw_other_points(rng):
    """As the hidden test: points with normal coordinates."""
    return {f"p{n}.{axis}": np.array(value) for n, point in enumerate(rng.normal(size=(OTHER_POINTS, 3)))
            for axis, value in zip("abc", point)}


def _call(keys, prefix=""):
    return Call("backprop_by_hand", tuple(Returned(result_name(key, prefix), (), (key,)) for key in keys),
                tuple(f"@{prefix}{axis}" for axis in "abc"))


def _solution(a, b, c):
    return importlib.import_module("labs_solutions.worked_graph").backprop_by_hand(float(a), float(b), float(c))


def compare_worked_point(case, arrays):
    """Every value and gradient exactly, as the notebook's test."""
    inputs = case.inputs()
    expected = _solution(inputs["a"], inputs["b"], inputs["c"])
    for key in ALL_KEYS:
        problem = compare_close(arrays[result_name(key)], expected[key],
                                f"{key} at (a, b, c) = ({inputs['a']:g}, {inputs['b']:g}, {inputs['c']:g})", 0.0, 0.0)
        if problem:
            return problem
    return None


def compare_other_points(case, arrays):
    """``(dL/da, dL/db, dL/dc)`` at each point at rtol 1e-12, atol 1e-14, as the hidden test."""
    inputs = case.inputs()
    for n in range(OTHER_POINTS):
        point = [float(inputs[f"p{n}.{axis}"]) for axis in "abc"]
        expected = _solution(*point)
        problem = compare_close([arrays[result_name(key, f"p{n}.")] for key in GRADIENT_KEYS],
                                [expected[key] for key in GRADIENT_KEYS],
                                f"(dL/da, dL/db, dL/dc) at (a, b, c) = {tuple(round(v, 3) for v in point)}",
                                1e-12, 1e-14)
        if problem:
            return problem
    return None


def _compare(case, arrays):
    return (compare_worked_point if case.key == "worked-point" else compare_other_points)(case, arrays)


BY_HAND = register_trusted_check(TrustedCheck(
    name="worked_graph_by_hand", title="Exercise W.1: backprop_by_hand",
    exercise=None, module="labs.worked_graph", class_name=None, probe="function_calls",
    cases=(CallsCase("worked-point", (_call(ALL_KEYS),), draw_worked_point, 6101),
           CallsCase("other-points", tuple(_call(GRADIENT_KEYS, f"p{n}.") for n in range(OTHER_POINTS)),
                     draw_other_points, 6201)),
    expected_shapes=calls_shapes, compare=_compare,
    torch_allowed=False))   # W.1 is backpropagation by hand: torch autograd is not reachable (the module imports it lazily)

register_assignment(AssignmentRow(
    "worked_graph", ships=("worked_graph.py",),
    checks=(),  # W.1 returns numbers, not a model's gradients: its test cells check it
    scores={BY_HAND.name: {
        "test_w_1_worked_point": CellScope("every value and gradient at the worked point", cases=("worked-point",)),
        "test_w_1_hidden": CellScope("the gradients at other points", cases=("other-points",)),
    }}))
