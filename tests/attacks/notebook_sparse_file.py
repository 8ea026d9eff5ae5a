"""A sparse 100 GB file beside the notebook (``truncate``: no block on the disk). Counted by its size,
it made the disk pre-check refuse the whole class's run. The copy refuses it unread (over the
submission's limit), so it costs the disk nothing: the class is graded, and this student's feedback
and the instructor's summary name the file.
"""
SIZE = 100 << 30


def change(notebook, folder):
    """Edit the submitted notebook (its JSON as a dict); ``folder`` is the submission folder."""
    with open(folder / "weights.bin", "wb") as handle:
        handle.truncate(SIZE)
