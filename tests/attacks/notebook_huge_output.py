"""A notebook too heavy to carry: one code cell of the submitted notebook holds a saved rich
output of 128 MiB (an HTML page of one repeated character, as a runaway display loop would
save), so every step that reads, copies or renders the notebook (collection, nbgrader, the
sandboxed kernel's working copy, the feedback page) handles 128 MiB more. Grading runs every
cell again, so a saved output is never needed: outputs over the limit are dropped before
grading, and the student and the instructor are told which cell lost one.
"""
OUTPUT_MIB = 128


def change(notebook, folder):
    """Edit the submitted notebook (its JSON as a dict); ``folder`` is the submission folder."""
    cell = next(cell for cell in notebook["cells"] if cell["cell_type"] == "code")
    cell["outputs"] = [{"output_type": "display_data", "metadata": {},
                        "data": {"text/plain": "<a large table>", "text/html": "<p>" + "x" * (OUTPUT_MIB << 20)}}]
