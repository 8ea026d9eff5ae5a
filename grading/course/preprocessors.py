"""nbgrader preprocessors that fix its traps for this course (wired in by ``config.py``).

* :class:`InjectParameters` (autograde, and CI runs): shortens training in graded runs;
* :class:`StderrAsStdout` (autograde, before ``SaveAutoGrades``): nbgrader scores a test cell 0
  when it wrote anything to stderr, so a correct answer that triggers a library warning would
  lose its points; the text is kept, as stdout;
* :class:`KeepTrustedScores` (autograde, first): refuses nbgrader's own autograde (the
  ``nbgrader autograde`` command, formgrader's Autograde button) of a submission that
  ``backprop-labs grade`` scored with the trusted checks, which it would silently replace;
* :class:`ClearHiddenTestsAndOutputs` (feedback): nbgrader restores hidden tests into the
  graded notebook, and feedback would show their code and traceback; this removes both and
  leaves one line saying whether the hidden tests passed.
"""
from pathlib import Path

from nbformat.v4 import new_code_cell, new_output
from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor
from traitlets import Dict

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"


def inject_parameters(notebook, values):
    """Insert a cell assigning ``values`` after the first cell tagged ``parameters``.

    Returns True if a cell was inserted; a notebook without a parameters cell, or empty
    ``values``, is left unchanged. Values are written with ``repr``.
    """
    if not values:
        return False
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and PARAMETERS_TAG in cell.get("metadata", {}).get("tags", []):
            lines = ["# Set by the grader for a shorter run; the checks do not depend on it."]
            lines += [f"{name} = {value!r}" for name, value in values.items()]
            injected = new_code_cell("\n".join(lines), metadata={"tags": [INJECTED_TAG]})
            injected.id = INJECTED_TAG
            notebook.cells.insert(index + 1, injected)
            return True
    return False


class InjectParameters(NbGraderPreprocessor):
    """Override parameters (e.g. ``num_epochs``) after the notebook's ``parameters`` cell."""

    parameters = Dict({}, help="names and values to assign after the cell tagged 'parameters'").tag(config=True)

    def preprocess(self, nb, resources):
        inject_parameters(nb, self.parameters)
        return nb, resources


class StderrAsStdout(NbGraderPreprocessor):
    """Turn stderr streams of test cells into stdout, so only an error scores 0."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and utils.is_grade(cell):
            for output in cell.outputs:
                if output.output_type == "stream" and output.name == "stderr":
                    output.name = "stdout"
        return cell, resources


TRUSTED_RECORDS = Path(".trusted-grading") / "records"   # <course>/.../<assignment>/<student>.json


def trusted_record(course_dir, assignment, student):
    """Written by ``backprop-labs grade`` for each student it scored with the trusted checks."""
    return Path(course_dir) / TRUSTED_RECORDS / assignment / f"{student}.json"


class KeepTrustedScores(NbGraderPreprocessor):
    """Stop nbgrader's in-kernel autograde of a submission that has trusted scores.

    Runs first, so the gradebook still holds the trusted scores when it refuses (nbgrader has
    already removed the old autograded copy, so ``backprop-labs grade`` grades that student again).
    """

    def preprocess(self, nb, resources):
        info = resources.get("nbgrader", {})
        url = info.get("db_url", "")
        course_dir = Path(url[len("sqlite:///"):]).parent if url.startswith("sqlite:///") else None
        assignment, student = info.get("assignment"), info.get("student")
        if course_dir is not None and trusted_record(course_dir, assignment, student).exists():
            raise RuntimeError(
                f"{student} was graded with the trusted checks, and nbgrader's own autograde would replace those "
                f"scores with ones from the student's kernel: grade with `backprop-labs grade {course_dir} "
                f"{assignment} --student {student}` (or delete {trusted_record(course_dir, assignment, student)} "
                "to allow it)")
        return nb, resources


HIDDEN_PASSED = "Hidden tests passed."
HIDDEN_FAILED = "Hidden tests failed ({ename}). Their code and messages are not shown."


class ClearHiddenTestsAndOutputs(ClearHiddenTests):
    """nbgrader's ``ClearHiddenTests`` that also replaces the outputs of hidden-test cells.

    Outputs (tracebacks, printed values, figures) of a cell holding hidden tests may quote
    them, so they become one line: passed, or failed with the exception's name only.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        had_hidden_tests = self.begin_test_delimeter in cell.source
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if had_hidden_tests and cell.cell_type == "code":
            errors = [output for output in cell.outputs if output.output_type == "error"]
            text = HIDDEN_FAILED.format(ename=errors[0].ename) if errors else HIDDEN_PASSED
            cell.outputs = [new_output("stream", name="stdout", text=text + "\n")]
        return cell, resources
