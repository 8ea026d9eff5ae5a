"""Which students' exercise code is unusually alike: the similarity section of the class report.

Only what a student wrote counts. An *exercise unit* is a function of an assignment module whose released
stub raises ``NotImplementedError`` (the solution region the student replaces), or an answer cell of the
notebook (nbgrader ``solution`` cell); the functions a student added to a module form one more unit per
module. Each unit is read as a syntax tree and turned into a token sequence where every identifier is
one token (a renamed copy reads the same; numbering names by first use was tried: one added variable then
shifts every later name, and a lightly edited copy no longer matches), every constant is one token, and
comments, docstrings and formatting are gone. The tokens of the released stub's unit are then taken out
(the longest common run first, as ``difflib`` matches them): the starter and given code never count as
shared. What is left is cut into overlapping runs of :data:`K` tokens.

Two students' similarity is the Jaccard index of their runs over the units both wrote (shared runs over
all runs, summed over units). A pair is flagged when it is at least :data:`THRESHOLD` and the shared runs
number at least :data:`MIN_SHARED_RUNS` (a few lines of code alike mean nothing). Measured on the
backpropagation exercise of ``backprop_mlp``: a renamed, recommented, reformatted copy of the reference
scores 1.0, the same copy with two statements added and a name changed 0.90, and an independently written
correct solution 0.04 against the reference (statement order, decomposition and expression shapes differ).
"""
import ast
import csv
import difflib
import html
import json
import re
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

K = 8                    # tokens per run
THRESHOLD = 0.6          # Jaccard index of the runs at or above which a pair is flagged
MIN_SHARED_RUNS = 40     # fewer shared runs than this is too little code to judge
NEW_CODE = "(functions added)"
MAGIC_LINE = re.compile(r"^\s*[%!]")   # IPython magics and shell lines: not Python syntax


@dataclass
class Unit:
    """One student's code of one exercise unit: ``source`` as written, ``runs`` its own token runs."""

    source: str
    runs: frozenset


@dataclass
class Pair:
    first: str
    second: str
    similarity: float
    shared: int
    units: list = field(default_factory=list)   # unit names where both wrote code, most alike first


# ---------------------------------------------------------------- tokens

def _is_docstring(node):
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def tokens(tree):
    """The normalised token sequence of the syntax tree ``tree`` (see the module's description)."""
    out = []

    def visit(node):
        if isinstance(node, ast.expr_context) or _is_docstring(node):
            return
        out.append(type(node).__name__)
        if isinstance(node, ast.Constant):
            out.append("C")
        for attribute in ("id", "arg", "attr", "name", "asname"):
            if isinstance(getattr(node, attribute, None), str):
                out.append("V")   # any identifier: a renamed copy reads the same, even renamed inconsistently
        for child in ast.iter_child_nodes(node):
            visit(child)

    for child in (tree.body if isinstance(tree, ast.Module) else [tree]):
        visit(child)
    return out


def own_runs(code_tokens, stub_tokens):
    """The runs of :data:`K` tokens of ``code_tokens`` once the tokens matching the stub are taken out."""
    matcher = difflib.SequenceMatcher(None, stub_tokens, code_tokens, autojunk=False)
    own = []
    for tag, _, _, start, end in matcher.get_opcodes():
        if tag in ("insert", "replace"):
            own.extend(code_tokens[start:end])
    return frozenset(tuple(own[i:i + K]) for i in range(len(own) - K + 1))


def _parse(text):
    try:
        return ast.parse("\n".join("" if MAGIC_LINE.match(line) else line for line in text.splitlines()))
    except (SyntaxError, ValueError):
        return None


def _functions(tree, prefix=""):
    """``{qualified name: FunctionDef}`` of the module ``tree`` (methods as ``Class.method``)."""
    found = {}
    for node in getattr(tree, "body", []):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found[prefix + node.name] = node
        elif isinstance(node, ast.ClassDef):
            found.update(_functions(node, f"{prefix}{node.name}."))
    return found


def _raises_not_implemented(function):
    return any(isinstance(node, ast.Raise) and "NotImplementedError" in ast.dump(node) for node in ast.walk(function))


# ---------------------------------------------------------------- a student's units

def module_units(stub_text, code_text, module):
    """``{unit name: Unit}`` of one student's module ``code_text`` against its released ``stub_text``."""
    stub, code = _parse(stub_text), _parse(code_text)
    if stub is None or code is None:
        return {}
    stub_functions, code_functions = _functions(stub), _functions(code)
    units = {}
    for qualified, function in stub_functions.items():
        if _raises_not_implemented(function) and qualified in code_functions:
            written = code_functions[qualified]
            runs = own_runs(tokens(written), tokens(function))
            if runs:
                units[f"{module}: {qualified}"] = Unit(ast.get_source_segment(code_text, written) or "", runs)
    added = [node for qualified, node in code_functions.items() if qualified not in stub_functions]
    if added:
        runs = own_runs([token for node in added for token in tokens(node)], [])
        if runs:
            units[f"{module}: {NEW_CODE}"] = Unit("\n\n".join(ast.get_source_segment(code_text, node) or ""
                                                              for node in added), runs)
    return units


def _solution_cells(path):
    """``{grade id: source}`` of the nbgrader solution cells of the notebook at ``path`` (empty if unreadable)."""
    try:
        cells = json.loads(Path(path).read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError, AttributeError):
        return {}
    found = {}
    for cell in cells if isinstance(cells, list) else []:
        meta = cell.get("metadata", {}).get("nbgrader", {}) if isinstance(cell, dict) else {}
        if isinstance(meta, dict) and meta.get("solution") and meta.get("grade_id") and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            found[meta["grade_id"]] = "".join(source) if isinstance(source, list) else str(source)
    return found


def notebook_units(stub_path, code_path):
    """``{unit name: Unit}`` of one student's answer cells against the released notebook's."""
    stubs, units = _solution_cells(stub_path), {}
    for grade_id, source in _solution_cells(code_path).items():
        tree, stub = _parse(source), _parse(stubs.get(grade_id, ""))
        if tree is None or grade_id not in stubs:
            continue
        runs = own_runs(tokens(tree), tokens(stub) if stub else [])
        if runs:
            units[f"{Path(code_path).name}: {grade_id}"] = Unit(source, runs)
    return units


def student_units(release, folder, assignment):
    """Every exercise unit of the student's assignment ``folder`` against the ``release`` folder."""
    units = notebook_units(release / f"{assignment.name}.ipynb", folder / f"{assignment.name}.ipynb")
    for module in assignment.edited_modules():
        try:
            stub_text = (release / module).read_text(encoding="utf-8")
            code_text = (folder / module).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        units.update(module_units(stub_text, code_text, module))
    return units


# ---------------------------------------------------------------- pairs

def similar_pairs(units_by_student):
    """Every pair of students with their similarity (see the module's description), most alike first.
    ``units_by_student``: ``{student: {unit name: Unit}}``."""
    pairs = []
    for first, second in combinations(sorted(units_by_student), 2):
        a, b = units_by_student[first], units_by_student[second]
        shared_total, union_total, per_unit = 0, 0, []
        for name in sorted(set(a) & set(b)):
            shared, union = len(a[name].runs & b[name].runs), len(a[name].runs | b[name].runs)
            shared_total, union_total = shared_total + shared, union_total + union
            per_unit.append((shared / union if union else 0.0, name))
        if union_total:
            units = [name for _, name in sorted(per_unit, key=lambda pair: (-pair[0], pair[1]))]
            pairs.append(Pair(first, second, shared_total / union_total, shared_total, units))
    return sorted(pairs, key=lambda pair: (-pair.similarity, pair.first, pair.second))


def flagged(pairs):
    """The pairs unusually alike: :data:`THRESHOLD` and :data:`MIN_SHARED_RUNS` both reached."""
    return [pair for pair in pairs if pair.similarity >= THRESHOLD and pair.shared >= MIN_SHARED_RUNS]


def class_units(course_dir, assignment, students):
    """``{student: units}`` of the ``students`` whose ``submitted/`` folder holds the assignment."""
    from .submissions import student_files

    course_dir = Path(course_dir)
    release = course_dir / "release" / assignment.name
    found = {}
    for student in sorted(students):
        folder = course_dir / "submitted" / student / assignment.name
        if folder.is_dir():
            found[student] = student_units(release, student_files(folder, assignment), assignment)
    return found


def render_section(pairs, units_by_student, compared):
    """The report's HTML section: thresholds, the flagged pairs, and each pair's code side by side."""
    e = html.escape
    alike = flagged(pairs)
    parts = ["<h2 id='similarity'>Similar code</h2>",
             f"<p>{compared} students' exercise code compared (the functions they had to write and their answer "
             "cells, with what the released stub already holds taken out; identifiers, constants, comments and "
             f"formatting abstracted). A pair is flagged when at least {THRESHOLD:.0%} of their runs of {K} syntax "
             f"tokens are shared and they share at least {MIN_SHARED_RUNS} runs. A flag is a reason to look, not "
             "a finding.</p>"]
    if not alike:
        parts.append("<p>No pair of students has code that alike.</p>")
        return "\n".join(parts)
    parts.append("<table id='similar-pairs'><tr><th>students</th><th>similarity</th><th>shared runs</th>"
                 "<th>units</th></tr>")
    for index, pair in enumerate(alike):
        parts.append(f"<tr><td><a href='#pair-{index}'>{e(pair.first)} and {e(pair.second)}</a></td>"
                     f"<td class='number'>{pair.similarity:.0%}</td><td class='number'>{pair.shared}</td>"
                     f"<td>{e(', '.join(pair.units))}</td></tr>")
    parts.append("</table>")
    for index, pair in enumerate(alike):
        parts.append(f"<h3 id='pair-{index}'>{e(pair.first)} and {e(pair.second)} ({pair.similarity:.0%})</h3>")
        for name in pair.units:
            left = units_by_student[pair.first][name].source
            right = units_by_student[pair.second][name].source
            parts.append(f"<table class='side-by-side'><tr><th colspan='2'>{e(name)}</th></tr>"
                         f"<tr><th>{e(pair.first)}</th><th>{e(pair.second)}</th></tr>"
                         f"<tr><td><pre>{e(left)}</pre></td><td><pre>{e(right)}</pre></td></tr></table>")
    return "\n".join(parts)


SIMILARITY_COLUMNS = ["assignment", "student", "other_student", "similarity", "shared_runs", "units"]


def write_similarity(course_dir, assignment, students, folder):
    """Compare the ``students``' code, write the flagged pairs to ``folder/ASSIGNMENT-similarity.csv``, and
    return the report's HTML section (:func:`render_section`)."""
    units = class_units(course_dir, assignment, students)
    units = {student: found for student, found in units.items() if found}
    pairs = similar_pairs(units)
    with open(Path(folder) / f"{assignment.name}-similarity.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(SIMILARITY_COLUMNS)
        writer.writerows([assignment.name, pair.first, pair.second, f"{pair.similarity:.3f}", pair.shared,
                          "; ".join(pair.units)] for pair in flagged(pairs))
    return render_section(pairs, units, len(units))
