"""Find solution and hidden-test lines in files students receive (release/, feedback/).

nbgrader copies non-notebook files verbatim, and restores hidden tests into graded
notebooks, so a mistake in the course set-up shows up as a solution line or a hidden test
line inside a released module, a notebook or a feedback page. :func:`secret_lines` collects
those lines from the sources; :func:`find_leaks` looks for them in every file of a folder.
"""
import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

from nbformat import from_dict
from nbgrader.preprocessors import ClearHiddenTests

from backprop_labs.stubgen import solution_regions
from backprop_labs.student_notebooks import read_notebook

from .assignments import SOLUTIONS_PACKAGE_DIR, STUDENT_PACKAGE_DIR

MIN_SECRET_LENGTH = 10  # shorter lines ("pass", "return x") say nothing about a solution
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _normalize(text):
    return " ".join(ANSI_ESCAPE.sub("", text).split())


def _region_lines(text, source):
    lines = text.splitlines()
    inside = set()
    for first, last, _, _ in solution_regions(text, source):
        inside.update(range(first + 1, last))
    return [lines[i] for i in sorted(inside)], [line for i, line in enumerate(lines) if i not in inside]


def _hidden_test_lines(source):
    """Lines nbgrader's ClearHiddenTests removes from a cell source (the hidden tests)."""
    cleared = from_dict({"cell_type": "code", "source": source, "metadata": {}})
    ClearHiddenTests(enforce_metadata=False)._remove_hidden_test_region(cleared)
    kept = set(cleared.source.splitlines())
    return [line for line in source.splitlines() if line not in kept]


def secret_lines(assignment):
    """Normalized lines of the assignment's solution regions and hidden tests.

    Lines that also occur outside those regions (in the notebook or the student modules) are
    not secrets, nor are lines shorter than ``MIN_SECRET_LENGTH``.
    """
    secrets, public = [], []
    for relative in assignment.shipped_files():
        inside, _ = _region_lines((SOLUTIONS_PACKAGE_DIR / relative).read_text(encoding="utf-8"), relative)
        secrets += inside
        public += (STUDENT_PACKAGE_DIR / relative).read_text(encoding="utf-8").splitlines()
    for cell in read_notebook(assignment.notebook).cells:
        inside, outside = _region_lines(cell.source, assignment.notebook.name)
        hidden = _hidden_test_lines(cell.source)
        secrets += inside + hidden
        public += [line for line in outside if line not in hidden]
    public = {_normalize(line) for line in public}
    return sorted({_normalize(line) for line in secrets
                   if len(_normalize(line)) >= MIN_SECRET_LENGTH and _normalize(line) not in public}
                  - {"### END SOLUTION", "### END HIDDEN TESTS"})


class _TextOfHtml(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []

    def handle_data(self, data):
        self.parts.append(data)


def readable_text(path):
    """What a reader of ``path`` sees: text of HTML pages, sources and outputs of notebooks."""
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return ""  # images and other binary files
    if path.suffix == ".html":
        parser = _TextOfHtml()
        parser.feed(text)
        return html.unescape("".join(parser.parts))
    if path.suffix == ".ipynb":
        try:
            notebook = json.loads(text)
        except ValueError:
            return text
        parts = []
        for cell in notebook.get("cells", []):
            parts.append("".join(cell.get("source", "")))
            for output in cell.get("outputs", []):
                parts.append("".join(output.get("text", "")))
                parts.extend("".join(value) for value in output.get("data", {}).values() if isinstance(value, (str, list)))
                parts.extend(output.get("traceback", []))
        return "\n".join(parts)
    return text


# A traceback quotes a source line after an arrow and its line number ("----> 3 assert ...").
TRACEBACK_PREFIX = re.compile(r"^(?:-*>\s*)?\d+\s+")


def _shown_lines(text):
    """Normalized lines of ``text``, and each again without a traceback's line-number prefix."""
    lines = set()
    for line in text.splitlines():
        line = _normalize(line)
        lines.add(line)
        lines.add(TRACEBACK_PREFIX.sub("", line))
    return lines


def find_leaks(directory, secrets):
    """``(file, secret line)`` for every secret line shown as a whole line in a file under ``directory``.

    A whole line, not a substring: a short solution line (``return g * y``) is often the start
    of a given line (``return g * y * np.power(x, y - 1)``), which is no leak.
    """
    leaks = []
    for path in sorted(Path(directory).rglob("*")):
        if path.is_file():
            shown = _shown_lines(readable_text(path))
            leaks += [(path, secret) for secret in secrets if secret in shown]
    return leaks


STUDENT_CODE = (".py", ".ipynb")   # where the lines a traceback quotes come from


def secrets_not_written_in(secrets, folder):
    """``secrets`` less those a module or notebook under ``folder`` (one student's submission) holds
    within a line: a student who wrote a line that equals a solution line (or, by luck, a hidden
    test's) learns nothing when the feedback shows it back, e.g. in the traceback of their module."""
    files = [path for path in sorted(Path(folder).rglob("*")) if path.suffix in STUDENT_CODE and path.is_file()]
    written = "\n".join(_normalize(line) for path in files for line in readable_text(path).splitlines())
    return [secret for secret in secrets if secret not in written]


def course_secret_lines(assignments, student_files=()):
    """Secret lines of every assignment at once, for files that reach students of any of them
    (e.g. the student wheel): a line given outside a solution region in any assignment, or in
    one of ``student_files`` (the student package, the student notebooks), is no secret."""
    public = set()
    for path in student_files:
        public |= {_normalize(line) for line in readable_text(Path(path)).splitlines()}
    return sorted(set().union(*(secret_lines(assignment) for assignment in assignments)) - public)
