"""A kernel that will not be interrupted: one added cell tells the notebook's kernel to ignore
SIGINT (the signal Jupyter sends to interrupt a cell), and the last cell then spins forever. The
grader's per-cell timeout can only interrupt, which this kernel ignores, so the run must end the
kernel by other means. Expected: the graded cells before the loop are scored as usual, the run
finishes, and no process of the kernel is left on the machine afterwards (the looping kernel names
itself ``bpl-no-sigint`` so the test can look for it).
"""
import nbformat

LOOP_NAME = "bpl-no-sigint"


def change(notebook, folder):
    """Edit the submitted notebook (its JSON as a dict); ``folder`` is the submission folder."""
    notebook["cells"].append(nbformat.v4.new_code_cell(
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        f"with open('/proc/self/comm', 'w') as comm:\n    comm.write({LOOP_NAME!r})\n"))
    notebook["cells"].append(nbformat.v4.new_code_cell("while True:\n    pass\n"))
