"""Switched-off test cells: the submitted notebook keeps every test cell's code but sets
``"grade": false`` in each one's nbgrader metadata, as if the cells were ordinary ones, hoping
that nothing is scored against it or that the grader gives up on the notebook. nbgrader 0.9.6
puts back a changed ``locked`` flag or point value but not the ``grade`` flag, and then stops
the whole notebook with "Inconsistent checksums". Expected: the course's metadata is put back
before grading, the notebook is graded as usual, and the student and the instructor are told
which cells had been changed.
"""


def change(notebook, folder):
    """Edit the submitted notebook (its JSON as a dict); ``folder`` is the submission folder."""
    for cell in notebook["cells"]:
        nbgrader = cell.get("metadata", {}).get("nbgrader", {})
        if cell["cell_type"] == "code" and nbgrader.get("grade"):
            nbgrader["grade"] = False
