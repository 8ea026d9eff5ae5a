"""Trusted scores into nbgrader's gradebook and feedback, and one submission's rows from a
private gradebook into the course's.

nbgrader computes a test cell's ``score`` from ``manual_score`` when an instructor set one,
else from ``auto_score``; the trusted score is written as ``auto_score`` (it *is* the
automatic score, now computed outside the student's kernel), so ``nbgrader export``,
formgrader and ``generate_feedback`` show it and an instructor can still override it.
"""
import re
import warnings
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import SAWarning

from grading.course.preprocessors import TRUSTED_OUTPUT_MARK, is_trusted_output, score_in_notebook
from grading.course.submissions import cell_grade_id


def gradebook_url(course_dir):
    from pathlib import Path

    return f"sqlite:///{Path(course_dir).resolve() / 'gradebook.db'}"


def write_trusted_scores(url, assignment, student, notebook, results, cells_by_check):
    """Set ``auto_score`` of each mapped test cell; returns ``{cell: (score, max_score)}``."""
    written = {}
    with Gradebook(url) as gradebook:
        for check, cells in cells_by_check.items():
            result = results[check]
            for cell in cells:
                grade = gradebook.find_grade(cell, notebook, assignment, student)
                grade.auto_score = round(grade.max_score * result.fraction_for(cell), 6)
                grade.needs_manual_grade = False
                written[cell] = (grade.auto_score, grade.max_score)
        gradebook.db.commit()
    return written


def ensure_submission_rows(url, assignment, student, submitted):
    """Make sure the gradebook has the student's submission of ``assignment`` with a grade row per
    graded cell (nbgrader's own ``update_or_create_submission``), for a notebook nbgrader could not
    run: its autograde may have failed before creating them. Its time is the one in the ``submitted``
    folder's ``timestamp.txt``, as nbgrader's autograde records it: formgrader lists a submission whose
    recorded time differs from that file's as needing autograding."""
    timestamp = submission_time(submitted)
    with Gradebook(url) as gradebook, warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        try:
            gradebook.find_submission(assignment, student)
        except MissingEntry:
            gradebook.update_or_create_student(student)
        gradebook.update_or_create_submission(assignment, student, **({} if timestamp is None else
                                                                       {"timestamp": timestamp}))


def submission_time(folder):
    """The submission time nbgrader reads from ``folder/timestamp.txt``; ``None`` without a readable one."""
    from nbgrader.utils import parse_utc

    try:
        return parse_utc((Path(folder) / "timestamp.txt").read_text(encoding="utf-8").strip())
    except (OSError, ValueError, OverflowError):
        return None


def add_feedback_note(path, text):
    """Put ``text`` in a markdown cell at the top of the graded notebook (the feedback page shows it)."""
    notebook = nbformat.read(path, as_version=4)
    note = nbformat.v4.new_markdown_cell("**Grader's note:** " + text)
    note.metadata[TRUSTED_OUTPUT_MARK] = True
    notebook.cells.insert(0, note)
    nbformat.write(notebook, path)


def trusted_output(text):
    """A notebook output carrying a trusted verdict. ``display_data``, not ``stream``: nbformat
    allows ``metadata`` (where the mark is) only on rich outputs, and a notebook with a marked
    stream fails validation ("Notebook JSON is invalid")."""
    return nbformat.v4.new_output("display_data", data={"text/plain": text}, metadata={TRUSTED_OUTPUT_MARK: True})


KERNEL_RUN = " in your notebook's own run (the trusted check below decides the score)"
KERNEL_PASSED_QUALIFIED = "PASSED" + KERNEL_RUN
KERNEL_FAILED_QUALIFIED = "FAILED" + KERNEL_RUN


def _qualify_kernel_verdicts(outputs, word):
    """Add :data:`KERNEL_RUN` after each whole ``word`` ("passed" or "failed", in any case: the
    report's PASSED, a test's own "Test 2.1 passed") in every string of the cell's own outputs."""
    pattern = re.compile(rf"\b{word}\b", re.IGNORECASE)

    def rewrite(value):
        if isinstance(value, str):
            return pattern.sub(lambda found: found.group(0) + KERNEL_RUN, value)
        if isinstance(value, list):
            return [rewrite(item) for item in value]
        if isinstance(value, dict):
            return {key: rewrite(item) for key, item in value.items()}
        return value

    for output in outputs:
        for key in ("text", "data"):
            if key in output:
                output[key] = rewrite(output[key])


def _cases_matched(result, cell):
    """``(matching, total)`` cases of the trusted check that score ``cell`` (its scope, else every case)."""
    outcome = result.cells.get(cell)
    return (result.passed, result.total) if outcome is None else (outcome.passed, outcome.total)


def difference_text(in_notebook, matched, max_score):
    """Why the trusted score of a cell is not the score of its own run in the notebook, as far as it
    is known: how that run ended, and that the trusted check ran the student's code outside the
    notebook on cases of its own, of which so many match (its feedback names those that differ).
    No cause is guessed: the two may differ in their cases, tolerances or the shapes they accept,
    and which of these made the difference is not known here.
    ``in_notebook``: ``(score, ename)`` (:func:`grading.course.preprocessors.score_in_notebook`);
    ``matched``: ``(matching, total)`` cases of the trusted check."""
    score, ename = in_notebook
    run = f"raised {ename}" if ename else "raised no error" if score >= max_score else "gave a partial score"
    passed, total = matched
    found = ("every one matches the reference" if passed == total
             else f"{total - passed} of them {'differs' if total - passed == 1 else 'differ'} from the reference "
                 "(see below)")
    return (f"Your notebook's own run of this test scored {score:g}/{max_score:g} (it {run}); the trusted check "
            f"ran your code outside your notebook on its own {total} case{'s' * (total != 1)}, and {found}.")


def verdict_text(feedback, score, max_score, difference=None):
    """The trusted verdict of one test cell, as its annotation shows it: the score, then
    ``difference`` (:func:`difference_text`, when the notebook's own run scored otherwise)."""
    lines = [f"This cell's score: {score:g}/{max_score:g} (from the trusted check, which decides it)."]
    return "\n".join([*lines, *([difference] if difference else []), feedback]) + "\n"


def annotate_notebook(path, results, cells_by_check, scores):
    """Add the trusted verdict as an output of each mapped test cell of the graded notebook, so
    the feedback page shows it next to the in-kernel test's own output. Where the trusted score is
    not what the cell's own run scored, the verdict says so and what is known of why, and the
    run's own "passed" (or "failed") is qualified as the notebook's."""
    notebook = nbformat.read(path, as_version=4)
    check_of_cell = {cell: check for check, cells in cells_by_check.items() for cell in cells}
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        # Only this function writes marked outputs: one already there is an earlier run's or
        # the student's imitation (a kernel can attach any metadata to a display).
        cell.outputs = [output for output in cell.outputs if not is_trusted_output(output)]
        grade_id = cell_grade_id(cell)
        if grade_id in check_of_cell:
            score, max_score = scores[grade_id]
            result = results[check_of_cell[grade_id]]
            in_notebook = score_in_notebook(cell)
            difference = None
            if in_notebook is not None and in_notebook[0] != score:
                difference = difference_text(in_notebook, _cases_matched(result, grade_id), max_score)
                if (in_notebook[0] >= max_score) != (score >= max_score):
                    _qualify_kernel_verdicts(cell.outputs, "passed" if in_notebook[0] >= max_score else "failed")
            cell.outputs.append(trusted_output(verdict_text(result.feedback_for(grade_id), score, max_score,
                                                            difference)))
    nbformat.write(notebook, path)


VERDICT_PHRASE = "trusted check"
REMOVED_OUTPUT = ("[output removed by the grader: it showed {what}; the real verdicts are the outputs marked "
                  "'from the trusted check' under the test cells]\n")
SHOWED_SECRET, SHOWED_VERDICT = "lines of the hidden tests or the solution", "a copy of a trusted verdict"
REMOVED_TEXTS = {REMOVED_OUTPUT.format(what=what) for what in (SHOWED_SECRET, SHOWED_VERDICT)}


def _output_text(output):
    """Every string in one notebook output (stream text, rich data of any type, tracebacks)."""
    if isinstance(output, str):
        return [output]
    if isinstance(output, dict):
        return [text for value in output.values() for text in _output_text(value)]
    if isinstance(output, list):
        return [text for value in output for text in _output_text(value)]
    return []


def _removal(output, what):
    """The output that replaces ``output``: an error stays an error of the same name (nbgrader
    scores the cell by it, and the feedback says which error a hidden test raised)."""
    text = REMOVED_OUTPUT.format(what=what)
    if output.get("output_type") == "error":
        ename = str(output.get("ename", ""))
        return nbformat.v4.new_output("error", ename=ename if ename.isidentifier() else "Error", evalue="",
                                      traceback=[text])
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def _is_removal(output):
    """Whether ``output`` is one :func:`_removal` wrote (an earlier scrub's)."""
    return output.get("text") in REMOVED_TEXTS or any(output.get("traceback") == [text] for text in REMOVED_TEXTS)


def scrub_outputs(path, secret_lines):
    """Replace each output of the graded notebook that shows a hidden-test or solution line
    (``secret_lines``, normalized as :func:`grading.course.leaks.secret_lines` gives them, less
    those the student wrote: :func:`grading.course.leaks.secrets_not_written_in`; a kernel hook can
    capture hidden tests and ``update_display`` an earlier output with them) or imitates a trusted
    verdict, and removes the sandbox's paths from every output. Returns how many outputs were
    replaced."""
    from grading.course.leaks import _normalize
    from grading.course.preprocessors import hide_paths_in_outputs

    notebook = nbformat.read(path, as_version=4)
    replaced = 0
    for cell in notebook.cells:
        outputs = cell.get("outputs", [])
        for index, output in enumerate(outputs):
            if is_trusted_output(output) or _is_removal(output):
                continue
            text = _normalize("\n".join(_output_text(output)))
            what = (SHOWED_SECRET if any(line in text for line in secret_lines)
                    else SHOWED_VERDICT if VERDICT_PHRASE in text else None)
            if what is not None:
                outputs[index] = _removal(output, what)
                replaced += 1
    if hide_paths_in_outputs(notebook, sandbox_path_rules()) or replaced:
        nbformat.write(notebook, path)
    return replaced


GRADER_FILE = "(a grader file)"


def sandbox_path_rules():
    """Rules for :func:`grading.course.preprocessors.hide_server_paths`: the sandbox's folders (the
    kernel's folder holds the submission, so its files keep their relative names) and the grader's
    own files in it."""
    from grading.course.preprocessors import PATH_END, path_spellings

    from .sandbox.accounts import sandbox_root_path
    from .sandbox.runner import GRADER_DIR

    rules = []
    for root in path_spellings(sandbox_root_path()):
        rules += [(rf"{root}/slot-\d+/(?:work|private)/", ""), (rf"{root}{PATH_END}", "")]
    rules.append((rf"(?<![\w.-]){re.escape(GRADER_DIR)}/[\w.-]+", GRADER_FILE))
    return [(re.compile(pattern), replacement) for pattern, replacement in rules]


def copy_gradebook_rows(source_url, target_url, assignment, student):
    """Copy one student's autograded rows (automatic fields only) from a private gradebook.

    Like ``nbgrader autograde`` itself, this updates the submission's timestamp, the
    automatic scores and comments and the late penalty, and leaves what an instructor
    entered by hand (manual scores and comments, extra credit) as it was.
    """
    with Gradebook(source_url) as source, Gradebook(target_url) as target, warnings.catch_warnings():
        # update_or_create_submission triggers nbgrader 0.9.6's own harmless SQLAlchemy warnings.
        warnings.simplefilter("ignore", SAWarning)
        submitted = source.find_submission(assignment, student)
        person = submitted.student
        target.update_or_create_student(student, first_name=person.first_name, last_name=person.last_name,
                                        email=person.email, lms_user_id=person.lms_user_id)
        copy = target.update_or_create_submission(assignment, student, timestamp=submitted.timestamp)
        copy.extension = submitted.extension
        for notebook in submitted.notebooks:
            notebook_copy = target.find_submission_notebook(notebook.name, assignment, student)
            notebook_copy.late_submission_penalty = notebook.late_submission_penalty
            for grade in notebook.grades:
                grade_copy = target.find_grade(grade.name, notebook.name, assignment, student)
                grade_copy.auto_score = grade.auto_score
                grade_copy.needs_manual_grade = grade.needs_manual_grade
            for comment in notebook.comments:
                comment_copy = target.find_comment(comment.name, notebook.name, assignment, student)
                comment_copy.auto_comment = comment.auto_comment
        target.db.commit()


def gradebook_scores(url, assignment, student, cells):
    """``{cell: auto_score}`` of the named test cells of the student's notebook (named after the
    assignment), as the gradebook holds them now; ``{}`` without such a submission."""
    found = {}
    with Gradebook(url) as gradebook:
        for cell in cells:
            try:
                grade = gradebook.find_grade(cell, assignment, assignment, student)
            except MissingEntry:
                return {}
            found[cell] = None if grade.auto_score is None else float(grade.auto_score)
    return found
