"""Run untrusted student code in a separate, unprivileged, resource-limited process.

``run_sandboxed`` is the one entry point; ``Limits`` says how much the run may use.
Isolation (own uid per concurrent run, no network, course and repository hidden) needs
root; see :mod:`grading.trusted.sandbox.enter` for the steps. Python runs can be forked from a warm
interpreter with the heavy modules imported (``preload=``, :mod:`grading.trusted.sandbox.zygote`).

The names below are loaded on first use, so that describing a check's limits (``Limits``) loads
none of the machinery that runs it.
"""
import importlib

_WHERE = {"SandboxUnavailable": "accounts", "GIB": "limits", "MIB": "limits", "Limits": "limits",
          "ISOLATED": "runner", "LIMITS_ONLY": "runner", "SandboxRun": "runner", "run_sandboxed": "runner"}

__all__ = sorted(_WHERE)


def __getattr__(name):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
