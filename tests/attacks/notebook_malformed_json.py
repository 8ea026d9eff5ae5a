"""A notebook cut short: the student's modules are honest work, but the submitted notebook file
stops in the middle of its JSON (as a copy interrupted halfway, or a save that ran out of disk,
leaves it), so neither nbgrader nor nbformat can read it. Expected (the README's rule for a notebook
that cannot be read): the submission scores 0 on every cell, with the reason in the instructor's
summary and in the problem column of the grade files; the rest of the batch is graded as usual.
"""
import json


def change(notebook, folder):
    """Return the text to save instead of the notebook: its JSON, cut in the middle."""
    text = json.dumps(notebook)
    return text[:len(text) // 2]
