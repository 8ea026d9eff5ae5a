"""nbgrader course tooling: build a course folder, grade submissions, export grades.

Assignments are the notebooks in ``notebooks/source/`` (see ``assignments.py`` and
``notebooks/README.md``). The pipeline (``pipeline.py``) is a chain of small steps over a
course folder::

    build:  write_config -> copy_source -> generate_release
    grade:  collect_submissions -> autograde -> generate_feedback -> export_grades

``backprop-labs course build DIR`` and ``backprop-labs course grade DIR ...`` run them
(``command.py``); ``preprocessors.py`` holds the nbgrader preprocessors that fix its traps and
``checks.py`` the helpers that the notebooks' test cells call.
"""
