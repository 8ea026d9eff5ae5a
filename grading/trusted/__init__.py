"""Trusted grading: the authoritative score of each autograded exercise, computed outside
the student's kernel.

The student's code runs in :mod:`grading.trusted.sandbox`; only plain data comes back, and the
comparison with the float64 reference happens here. :mod:`.grade` grades one submission
(``grade_submission``), :mod:`.autograde` runs nbgrader and the checks for one student,
:mod:`.gradebook` writes the scores into nbgrader's gradebook and :mod:`.parallel` runs a class.
What each check calls and compares is in :mod:`.check_spec`, described per exercise in
``grading/exercises/``.
"""
from backprop_labs.light_imports import skip_iri_parser

skip_iri_parser()   # before nbformat is imported: 0.8 s of CPU per grading process

