"""A module that behaves only where nobody checks: labs/numpy_mlp.py ends its process with
``os._exit(0)`` at import, but only when it is not imported by a notebook kernel (no ``ipykernel``
loaded), that is in the grader's trusted run. The notebook's own run therefore goes through, its
test cells pass, and only the trusted checks lose their process. Expected: the checks of that module
score 0 with a line saying the process ended before reporting, the other checks of the submission
keep their scores, and the class run goes on.
"""

GUARD = ("import os as _os\nimport sys as _sys\n"
         "if 'ipykernel' not in _sys.modules:\n    _os._exit(0)\n")


def change(notebook, folder):
    """Edit the submitted notebook (its JSON as a dict); ``folder`` is the submission folder."""
    module = folder / "labs" / "numpy_mlp.py"
    module.write_text(GUARD + module.read_text(encoding="utf-8"), encoding="utf-8")
