"""nbgrader preprocessors that fix its traps for this course (wired in by ``config.py``).

* :class:`InjectParameters` (autograde, and CI runs): shortens training in graded runs;
* :class:`KeepHiddenTestsFromKernel` (autograde, before ``Execute``; on in the trusted grading's jobs) and
  :class:`PutHiddenTestsBack` (after it): the kernel never receives the hidden tests' source;
* :class:`StderrAsStdout` (autograde, before ``SaveAutoGrades``): nbgrader scores a test cell 0
  when it wrote anything to stderr, so a correct answer that triggers a library warning would
  lose its points; the text is kept, as stdout;
* :func:`refuse_trusted_autograde` (before autograde touches any file) and :class:`KeepTrustedScores`
  (autograde, first): refuse nbgrader's own autograde (the ``nbgrader autograde`` command,
  formgrader's Autograde button) of a submission that ``backprop-labs grade`` scored with the
  trusted checks, which it would silently replace;
* :class:`ClearHiddenTestsAndOutputs` (feedback): nbgrader restores hidden tests into the
  graded notebook, and feedback would show their code and traceback; this removes both and
  leaves one line that agrees with the cell's recorded score (and the trusted verdict, if any);
* :class:`HideServerPaths` (feedback, after it): paths of the grading server in outputs (the
  course folder, the repository, installed packages) become names relative to the submission,
  the repository or the package folder;
* :class:`NameTestCells` (feedback): nbgrader's page calls every test cell "Test cell"; this gives
  each its test's own title, which :class:`NamedTestsFeedbackExporter` (nbgrader's feedback
  template extended by ``feedback_template/feedback/named_tests.html.j2``) shows with the grade id.
"""
import re
import sys
import sysconfig
import textwrap
from pathlib import Path

from nbformat import from_dict
from nbformat.v4 import new_code_cell, new_output
from nbconvert.exporters import HTMLExporter
from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor
from traitlets import Bool, Dict

from .trusted_records import WORK_DIR, read_record, record_path

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


HIDDEN_NOT_RUN = "backprop_labs_hidden_tests_not_run"   # cell metadata: its hidden tests never reached the kernel
_STRIPPED = "backprop_labs_hidden_tests"               # resources: {cell index: the source as nbgrader restored it}


class KeepHiddenTestsFromKernel(ClearHiddenTests):
    """With ``enabled`` (the trusted grading's jobs): take the hidden-test regions out of every code cell
    before ``Execute``, so the kernel never receives their source (a student's code could read it from
    ``In``, ``_ih``, the history or a hook and show it in any encoding). :class:`PutHiddenTestsBack` restores
    the source after the run; the cells' scores come from the trusted checks, which every cell with hidden
    tests has (an assignment with an unscored test cell is refused). Without ``enabled`` (plain nbgrader,
    whose kernel scores the hidden tests) nothing is stripped. Either way a :data:`HIDDEN_NOT_RUN` mark the
    submitted notebook carries is dropped: only this step sets it."""

    enabled = Bool(False, help="strip hidden tests before the kernel runs the notebook").tag(config=True)

    def preprocess(self, nb, resources):
        stripped = {}
        for index, cell in enumerate(nb.cells):
            cell.metadata.pop(HIDDEN_NOT_RUN, None)
            source = cell.source
            if self.enabled and cell.cell_type == "code" and self._remove_hidden_test_region(cell):
                stripped[index] = source
        resources[_STRIPPED] = stripped
        return nb, resources


class PutHiddenTestsBack(NbGraderPreprocessor):
    """After ``Execute``: the hidden tests :class:`KeepHiddenTestsFromKernel` took out go back into their cells
    (the graded notebook keeps nbgrader's source and checksums), each marked :data:`HIDDEN_NOT_RUN`."""

    def preprocess(self, nb, resources):
        for index, source in resources.pop(_STRIPPED, {}).items():
            nb.cells[index].source = source
            nb.cells[index].metadata[HIDDEN_NOT_RUN] = True
        return nb, resources


class StderrAsStdout(NbGraderPreprocessor):
    """Turn stderr streams of test cells into stdout, so only an error scores 0."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and utils.is_grade(cell):
            for output in cell.outputs:
                if output.output_type == "stream" and output.name == "stderr":
                    output.name = "stdout"
        return cell, resources


def course_folder(resources):
    """The course folder of the gradebook nbgrader is using (None if it is not a SQLite file)."""
    url = resources.get("nbgrader", {}).get("db_url", "")
    return Path(url[len("sqlite:///"):]).parent if url.startswith("sqlite:///") else None


def graded_trusted(resources):
    """Whether the notebook nbgrader is processing was graded by the trusted checks: only then are
    its marked outputs verdicts (the trusted grading drops every marked output it did not write; a
    kernel can mark any display; its record must verify, see :mod:`.trusted_records`)."""
    info = resources.get("nbgrader", {})
    course_dir = course_folder(resources)
    return course_dir is not None and read_record(course_dir, info.get("assignment"), info.get("student")) is not None


REFUSAL_WIDTH = 64  # formgrader's error dialog shows about 80 characters of a log line (after "[ERROR] ")
REFUSAL_RECORDS_SHOWN = 5   # records named one per line; beyond these, their number and their folder


def trusted_refusal(course_dir, assignment, students):
    """Why nbgrader's own autograde of ``students`` (graded with the trusted checks) is refused, and
    what to run instead. Short lines: formgrader's error dialog does not wrap the log it shows, so a
    long line is cut at its edge; a command or path stays whole, on a line of its own."""
    first, more = students[0], len(students) - 1
    who = f"{first} was" if not more else f"{first} and {more} other student(s) were"
    only = f" --student {first}" if not more else ""
    reason = textwrap.fill(f"{who} graded with the trusted checks; nbgrader's own autograde is refused, as it "
                           "would replace those scores with ones from the student's kernel. Grade with:",
                           REFUSAL_WIDTH, break_long_words=False, break_on_hyphens=False)
    records = [record_path(course_dir, assignment, student) for student in students]
    named = "".join(f"\n    {path}" for path in records[:REFUSAL_RECORDS_SHOWN])
    if len(records) > REFUSAL_RECORDS_SHOWN:
        named += f"\nand {len(records) - REFUSAL_RECORDS_SHOWN} more in\n    {records[0].parent}"
    which = "" if not more else f" these {len(records)} records"
    return (f"{reason}\n    backprop-labs grade {course_dir} {assignment}{only}\n"
            f"or, to allow nbgrader's autograde, delete{which}{named}")


def refuse_trusted_autograde(converter):
    """Raise ``NbGraderException`` when nbgrader's ``Autograde`` ``converter`` is about to grade a
    submission that has trusted scores. Called before its ``convert_notebooks``, which removes each
    student's ``autograded/`` folder first (``--force``, formgrader's button) and again on a failure:
    refused here, nothing of the course is touched (``config.apply_course_chains`` installs it)."""
    from nbgrader.converters.base import NbGraderException

    course_dir = course_folder({"nbgrader": {"db_url": converter.coursedir.db_url}})
    if course_dir is None:
        return
    pattern = converter._format_source("(?P<assignment_id>.*)", "(?P<student_id>.*)", escape=True)
    graded = {}
    for folder in sorted(converter.assignments):
        match = re.match(pattern, folder)
        if match and record_path(course_dir, match["assignment_id"], match["student_id"]).exists():
            graded.setdefault(match["assignment_id"], []).append(match["student_id"])
    if graded:
        message = "\n".join(trusted_refusal(course_dir, assignment, students) for assignment, students in graded.items())
        converter.log.error(message)
        raise NbGraderException(message)


class KeepTrustedScores(NbGraderPreprocessor):
    """Stop nbgrader's in-kernel autograde of a submission that has trusted scores.

    :func:`refuse_trusted_autograde` refuses before nbgrader removes anything; this stays for an
    nbgrader that runs the chain without it. Runs first, so the gradebook still holds the trusted
    scores when it refuses (nbgrader has then removed the autograded copy, so ``backprop-labs grade``
    grades that student again).
    """

    def preprocess(self, nb, resources):
        info = resources.get("nbgrader", {})
        course_dir = course_folder(resources)
        if course_dir is not None and record_path(course_dir, info.get("assignment"), info.get("student")).exists():
            raise RuntimeError(trusted_refusal(course_folder(resources), info.get("assignment"),
                                               [info.get("student")]))
        return nb, resources


TRUSTED_OUTPUT_MARK = "backprop_labs_trusted"   # metadata of the outputs grading.trusted.gradebook adds


def is_trusted_output(output):
    """Whether ``output`` is a verdict the trusted grading added (only it writes the mark)."""
    return bool(output.get("metadata", {}).get(TRUSTED_OUTPUT_MARK))


def score_in_notebook(cell):
    """``(score, ename)``: what nbgrader gives the test cell ``cell`` for its own run in the notebook
    (its rule: an error scores 0, a number as the cell's result is a partial score, anything else
    full points), with the name of the error it raised (``None`` if none); the trusted verdicts are
    not the cell's own output. ``None`` when the cell never ran (nbgrader could not run the notebook,
    so the graded copy has no outputs) or its hidden tests did not run in it (:data:`HIDDEN_NOT_RUN`)."""
    if cell.get("execution_count") is None and not cell.get("outputs"):
        return None
    if cell.get("metadata", {}).get(HIDDEN_NOT_RUN):
        return None
    own = [output for output in cell.outputs if not is_trusted_output(output)]
    score, _ = utils.determine_grade(from_dict(dict(cell, outputs=own)))
    errors = [output.ename for output in own if output.output_type == "error"]
    return score, errors[0] if errors else None


HIDDEN_PASSED = "Hidden tests passed."
HIDDEN_FAILED = "Hidden tests failed ({ename}). Their code and messages are not shown."
# When the recorded score is not what the notebook's own run gave (the trusted check or an instructor set it).
HIDDEN_SCORED = "Hidden tests: {score:g}/{points:g}, {by}; in your notebook's own run they {run}. {hidden}"
HIDDEN_NOT_SHOWN = "Their code and messages are not shown."
HIDDEN_KEPT_FROM_KERNEL = "Hidden tests: {score:g}/{points:g}, {by} (they do not run in your notebook). {hidden}"


def hidden_tests_line(cell, trusted):
    """The one line a hidden-test cell's feedback shows. "Passed" or "failed" as the notebook's own
    run ended, when the recorded score (``cell.metadata.nbgrader['score']``, which nbgrader's
    ``GetGrades`` sets before this runs) says the same; else the score and how the run ended, so a
    cell scored below its points never reads "passed", nor one with full points "failed". Without a
    recorded score (outside feedback), the run alone. A cell whose hidden tests were kept from the kernel
    (:data:`HIDDEN_NOT_RUN`) has no run of them: "passed" at full points, else the recorded score. ``trusted``:
    whether the cell holds a trusted verdict (which then decides the score)."""
    errors = [output.ename for output in cell.outputs if output.output_type == "error"]
    ename = errors[0] if errors else None
    grade = cell.metadata.get("nbgrader", {})
    score, points = grade.get("score"), grade.get("points")
    if score is None or points is None or not utils.is_grade(cell):
        return HIDDEN_FAILED.format(ename=ename) if ename else HIDDEN_PASSED
    by = "from the trusted check below, which decides it" if trusted else "the score the grader recorded"
    if cell.metadata.get(HIDDEN_NOT_RUN):   # kept from the kernel: only the grader's score tells
        return HIDDEN_PASSED if score >= points else HIDDEN_KEPT_FROM_KERNEL.format(
            score=float(score), points=float(points), by=by, hidden=HIDDEN_NOT_SHOWN)
    run = score_in_notebook(cell)
    if run is not None and run[0] == score and (score >= points or ename):
        return HIDDEN_PASSED if score >= points else HIDDEN_FAILED.format(ename=ename)
    story = ("did not run" if run is None else f"failed ({ename})" if ename
             else "raised no error" if run[0] >= points else f"scored {run[0]:g}")
    return HIDDEN_SCORED.format(score=float(score), points=float(points), by=by, run=story, hidden=HIDDEN_NOT_SHOWN)


class ClearHiddenTestsAndOutputs(ClearHiddenTests):
    """nbgrader's ``ClearHiddenTests`` that also replaces the outputs of hidden-test cells.

    Outputs (tracebacks, printed values, figures) of a cell holding hidden tests may quote
    them, so they become one line (:func:`hidden_tests_line`), followed by the cell's trusted
    verdict, which the grader wrote and which quotes no test.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        had_hidden_tests = self.begin_test_delimeter in cell.source
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if had_hidden_tests and cell.cell_type == "code":
            trusted = graded_trusted(resources)
            verdicts = [output for output in cell.outputs if trusted and is_trusted_output(output)]
            line = hidden_tests_line(cell, trusted=bool(verdicts))
            cell.outputs = [new_output("stream", name="stdout", text=line + "\n"), *verdicts]
        return cell, resources


PATH_END = r"(?:/|(?![\w.-]))"   # a whole last name: /srv/course never matches /srv/course2


def path_spellings(path):
    """``path`` as given and resolved, regex-escaped, longest first."""
    return sorted({re.escape(str(path)), re.escape(str(Path(path).resolve()))}, key=len, reverse=True)


def server_path_rules(course_dir, student, assignment):
    """``[(pattern, replacement)]``, applied in order, that turn the server's paths into relative names
    (the sandbox's own paths are removed when the trusted grading annotates the notebook)."""
    from backprop_labs.paths import REPOSITORY_ROOT, data_directory

    rules = []
    if course_dir is not None:
        folders = r"(?:autograded|submitted|feedback)"
        for course in path_spellings(course_dir):
            job = rf"{course}/{re.escape(WORK_DIR)}/jobs/[^/\s]+"
            rules.append((rf"(?:{job}/)?{folders}/{re.escape(student)}/{re.escape(assignment)}/", ""))
            rules.append((rf"{job}{PATH_END}", ""))
            rules.append((rf"{course}{PATH_END}", ""))
    # Installed packages (often inside the repository's venv) before the repository itself.
    prefixes = {sysconfig.get_paths()[name]: "" for name in ("purelib", "platlib", "stdlib")}
    prefixes.update({str(REPOSITORY_ROOT): "", str(data_directory()): "data/", sys.prefix: ""})
    for prefix in sorted(prefixes, key=len, reverse=True):
        rules += [(rf"{spelling}{PATH_END}", prefixes[prefix]) for spelling in path_spellings(prefix)]
    return [(re.compile(pattern), replacement) for pattern, replacement in rules]


def hide_server_paths(value, rules):
    """``value`` (an output's text, data or traceback) with every rule applied to its strings;
    images are left alone."""
    if isinstance(value, str):
        for pattern, replacement in rules:
            value = pattern.sub(replacement, value)
        return value
    if isinstance(value, list):
        return [hide_server_paths(item, rules) for item in value]
    if isinstance(value, dict):
        return {key: item if key.startswith("image/") else hide_server_paths(item, rules)
                for key, item in value.items()}
    return value


def hide_paths_in_outputs(notebook, rules):
    """Apply ``rules`` to every code cell output; returns whether anything changed."""
    changed = False
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            for key in ("text", "data", "traceback", "evalue"):
                if key in output:
                    hidden = hide_server_paths(output[key], rules)
                    changed = changed or hidden != output[key]
                    output[key] = hidden
    return changed


class HideServerPaths(NbGraderPreprocessor):
    """Replace the grading server's paths in code cell outputs with relative names."""

    def preprocess(self, nb, resources):
        info = resources.get("nbgrader", {})
        hide_paths_in_outputs(nb, server_path_rules(course_folder(resources), info.get("student", ""),
                                                    info.get("assignment", "")))
        return nb, resources


TITLE_KEY = "feedback_title"   # cell metadata read by feedback_template/feedback/named_tests.html.j2
# A folder named like nbgrader's template ("feedback", which nbgrader's API always asks for), so that
# the file below is found next to nbgrader's index.html.j2, which it extends.
FEEDBACK_TEMPLATE_DIR = Path(__file__).with_name("feedback_template")
FEEDBACK_TEMPLATE_FILE = "named_tests.html.j2"
_POINTS = re.compile(r"\s*\(\s*[\d.]+\s+points?\s*\)", re.IGNORECASE)


_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")


def test_cell_title(source):
    """The title a test cell gives itself: the first sentence of its leading comment, however many
    comment lines it takes (``# Test 2.2b (1 point): the output layer.`` gives ``Test 2.2b: the output
    layer.``; the page shows the points), the whole comment when it ends no sentence; ``None`` without one."""
    lines = []
    for line in source.lstrip().split("\n"):
        line = line.strip()
        if not line.startswith("#") or line.startswith("###"):  # ### marks nbgrader's fences
            break
        lines.append(line.lstrip("#").strip())
    comment = " ".join(line for line in lines if line)
    end = _SENTENCE_END.search(comment)
    title = _POINTS.sub("", comment[:end.end()] if end else comment)
    return title or None


class NameTestCells(NbGraderPreprocessor):
    """Put each test cell's own title (:func:`test_cell_title`) in its metadata for the feedback page."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell):
            title = test_cell_title(cell.source)
            if title:
                cell.metadata[TITLE_KEY] = title
        return cell, resources


class NamedTestsFeedbackExporter(HTMLExporter):
    """The exporter of the course's feedback pages: a class of its own, so that its template settings
    (``apply_course_chains``) leave formgrader's ``HTMLExporter`` alone."""


def nbgrader_template_dir():
    """nbgrader's own templates (holding ``feedback/index.html.j2``)."""
    import nbgrader

    return Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates"
