"""The gradient grader and the course tooling.

Student-facing entry points::

    report = grading.check_backpropagation(model, X, y)   # one row per parameter + diagnosis
    print(report); report.passed
    grading.tangent_check(model, batch)                    # loss curve, tangent, both slopes

Labs plug their exercises in through :mod:`grading.exercises` (``GradientExercise``,
``register_exercise``). Names are imported on first use, so ``import grading`` (and the
``backprop-labs`` command line) stays fast.
"""
import importlib

_EXPORTS = {
    "check_backpropagation": "grading.check",
    "GradientReport": "grading.report",
    "tangent_check": "grading.tangent",
    "GradientExercise": "grading.exercises",
    "ParameterSpec": "grading.exercises",
    "register_exercise": "grading.exercises",
    "get_exercise": "grading.exercises",
    "registered_exercises": "grading.exercises",
    "ReferenceOps": "grading.reference",
    "Hypothesis": "grading.hypotheses",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'grading' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
