"""Run untrusted student code in a separate, unprivileged, resource-limited process.

``run_sandboxed`` is the one entry point; ``Limits`` says how much the run may use.
Isolation (own uid per concurrent run, no network, course and repository hidden) needs
root; see :mod:`grading.trusted.sandbox.enter` for the steps. Python runs can be forked from a warm
interpreter with the heavy modules imported (``preload=``, :mod:`grading.trusted.sandbox.zygote`).
"""
from .accounts import SandboxUnavailable
from .limits import GIB, MIB, Limits
from .runner import ISOLATED, LIMITS_ONLY, SandboxRun, run_sandboxed

__all__ = ["GIB", "ISOLATED", "LIMITS_ONLY", "Limits", "MIB", "SandboxRun", "SandboxUnavailable",
           "run_sandboxed"]
