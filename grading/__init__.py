"""The gradient grader and the course tooling.

Student-facing entry points::

    report = grading.check_backpropagation(model, X, y)   # one row per parameter + diagnosis
    print(report); report.passed
    grading.tangent_check(model, batch)                    # loss curve, tangent, both slopes

Labs plug their exercises in through :mod:`grading.gradient_check.registry` (``GradientExercise``,
``register_exercise``). Names are imported on first use, so ``import grading`` (and the
``backprop-labs`` command line) stays fast.
"""
import importlib

_EXPORTS = {
    "check_backpropagation": "grading.gradient_check.pipeline",
    "GradientReport": "grading.gradient_check.report",
    "tangent_check": "grading.gradient_check.tangent",
    "GradientExercise": "grading.gradient_check.registry",
    "ParameterSpec": "grading.gradient_check.registry",
    "register_exercise": "grading.gradient_check.registry",
    "get_exercise": "grading.gradient_check.registry",
    "registered_exercises": "grading.gradient_check.registry",
    "ReferenceOps": "grading.gradient_check.reference",
    "Hypothesis": "grading.diagnosis.hypotheses",
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
