"""nbgrader course tooling: build a course folder, grade submissions, export grades.

Assignments are the notebooks in ``notebooks/source/`` (see ``assignments.py`` and
``notebooks/README.md``). The pipeline (``pipeline.py``) is a chain of small steps over a
course folder::

    build:  write_config -> copy_source -> generate_release
    grade:  collect_submissions -> prepare_submission -> autograde -> generate_feedback -> export_grades

``backprop-labs course build DIR`` and ``backprop-labs grade DIR ASSIGNMENT ...`` run them
(``grading/commands/``; ``grading_run.py`` is the grading path, ``submissions.py`` the id rules
and notebook checks, ``nbgrader_api.py`` the one way nbgrader is driven); ``preprocessors.py``
holds the nbgrader preprocessors that fix its traps, ``test_cell_helpers.py`` the helpers that the
notebooks' test cells call and ``student_dist.py`` the students' wheel (no solutions).
"""
from backprop_labs.light_imports import skip_iri_parser

skip_iri_parser()   # before nbformat is imported: 0.8 s of CPU per grading process

