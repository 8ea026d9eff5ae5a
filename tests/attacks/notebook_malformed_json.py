"""A notebook cut short: the student's modules are honest work, but the submitted notebook file
stops in the middle of its JSON (as a copy interrupted halfway, or a save that ran out of disk,
leaves it), so neither nbgrader nor nbformat can read it. Expected: the grader does not give up on
the whole submission. The test cells whose trusted checks need only the labs/ modules get their
trusted scores; the cells whose checks run the notebook's answer cells get 0; the student's feedback
and the instructor's summary say the notebook could not be read.
"""
import json


def change(notebook, folder):
    """Return the text to save instead of the notebook: its JSON, cut in the middle."""
    text = json.dumps(notebook)
    return text[:len(text) // 2]
