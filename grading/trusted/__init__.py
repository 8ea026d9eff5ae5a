"""Trusted grading: the authoritative score of each autograded exercise, computed outside
the student's kernel.

The student's code runs in :mod:`grading.sandbox`; only plain data comes back, and the
comparison with the float64 reference happens here. ``grade_submission(folder)`` grades
one submission; :mod:`grading.trusted.gradebook` writes the scores into nbgrader's
gradebook and :mod:`grading.trusted.parallel` runs a whole class.
"""
from .checks import CHECKS, TrustedCheck
from .grade import CheckResult, SandboxSetupError, grade_submission, run_check, run_checks

__all__ = ["CHECKS", "CheckResult", "SandboxSetupError", "TrustedCheck", "grade_submission", "run_check",
           "run_checks"]
