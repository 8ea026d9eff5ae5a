"""What the class got wrong: one self-contained HTML page and one CSV per assignment.

:func:`write_class_report` reads the grade files of an assignment (``X.csv``, ``X-cells.csv``,
``X-problems.csv`` and the diagnosed causes ``X-causes.csv``, see :mod:`.causes`) and writes
``COURSE/reports/ASSIGNMENT.html`` and ``ASSIGNMENT.csv``:

* the score distribution of every test cell (matplotlib, embedded as base64 PNG);
* per exercise, the diagnosed causes ranked by how many graded students hit them, each linked to
  the feedback page of one example student, copied next to the report with the id removed;
* the students who could not be graded, with the reason, and apart from them the students of the
  course who handed in nothing for this assignment;
* the pairs of graded students whose exercise code is unusually alike, side by side (:mod:`.similarity`;
  also ``ASSIGNMENT-similarity.csv``).

The page loads nothing from elsewhere (no script, no stylesheet, no remote image).
"""
import base64
import csv
import html
import io
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from .causes import causes_path, read_causes
from .pipeline import NOT_SUBMITTED, CourseError, export_paths, feedback_page
from .similarity import write_similarity

REPORT_COLUMNS = ["assignment", "exercise", "exercise_title", "rank", "cause", "students", "graded_students",
                  "percent", "sentence", "example"]
ANONYMOUS = "student"   # what a student id becomes in an example feedback page
ID_CHARACTERS = "A-Za-z0-9_.-"


@dataclass(frozen=True)
class RankedCause:
    exercise: str
    exercise_title: str
    cause: str
    sentence: str
    students: tuple   # sorted ids

    def percent(self, graded):
        return 100.0 * len(self.students) / graded if graded else 0.0


def reports_dir(course_dir):
    return Path(course_dir) / "reports"


def _rows(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def read_grade_files(course_dir, assignment, csv_path=None):
    """``(grades, cells, problems, causes)`` rows of the assignment's grade files (``causes``: None
    when nothing was diagnosed); a clear :class:`CourseError` when the class was not graded."""
    csv_path = csv_path or Path(course_dir) / "grades" / f"{assignment.name}.csv"
    grades_path, cells_path, problems_path = export_paths(csv_path)
    missing = [path.name for path in (grades_path, cells_path) if not path.is_file()]
    if missing:
        raise CourseError(f"no grade files for {assignment.name} ({', '.join(missing)} missing in "
                          f"{grades_path.parent}): run `backprop-labs grade {course_dir} {assignment.name}` first")
    problems = _rows(problems_path) if problems_path.is_file() else []
    return _rows(grades_path), _rows(cells_path), problems, read_causes(causes_path(csv_path))


def rank_causes(causes, graded, exercise_order=()):
    """``{exercise: [RankedCause, ...]}``, most students first, over the ``graded`` students only
    (a cause recorded for a student who has a problem now belongs to an older submission)."""
    found = {}
    for row in causes or []:
        if row["student_id"] not in graded:
            continue
        key = (row["exercise"], row["cause"])
        entry = found.setdefault(key, {"title": row["exercise_title"], "sentence": row["sentence"], "students": set()})
        entry["students"].add(row["student_id"])
    ranked = {}
    for (exercise, cause), entry in found.items():
        ranked.setdefault(exercise, []).append(
            RankedCause(exercise, entry["title"], cause, entry["sentence"], tuple(sorted(entry["students"]))))
    order = {name: index for index, name in enumerate(exercise_order)}
    return {exercise: sorted(items, key=lambda item: (-len(item.students), item.cause))
            for exercise, items in sorted(ranked.items(), key=lambda pair: (order.get(pair[0], len(order)), pair[0]))}


def anonymise(text, student):
    """``text`` with every whole occurrence of the id ``student`` replaced by :data:`ANONYMOUS`."""
    return re.sub(rf"(?<![{ID_CHARACTERS}]){re.escape(student)}(?![{ID_CHARACTERS}])", ANONYMOUS, text)


def copy_example(course_dir, assignment, item, folder):
    """The feedback page of ``item``'s first student, anonymised, in ``folder``; its name relative to
    the report, or None when that student has no feedback page."""
    student = item.students[0]
    page = feedback_page(course_dir, assignment, student)
    if not page.is_file():
        return None
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{item.exercise}--{item.cause}.html"
    target.write_text(anonymise(page.read_text(encoding="utf-8"), student), encoding="utf-8")
    return f"{folder.name}/{target.name}"


def score_figure(cells, graded):
    """The score distribution of every test cell of the ``graded`` students, as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")  # no display on a grading server
    import matplotlib.pyplot as plt
    import numpy as np

    by_cell, maximum = {}, {}
    for row in cells:
        if row["student_id"] in graded:
            by_cell.setdefault(row["cell"], []).append(float(row["score"]))
            maximum[row["cell"]] = float(row["max_score"])
    names = list(by_cell) or ["(no graded student)"]
    figure, axes = plt.subplots(1, len(names), figsize=(2.6 * len(names) + 0.6, 2.8), squeeze=False, sharey=True)
    for axis, name in zip(axes[0], names):
        scores, top = by_cell.get(name, []), maximum.get(name, 1.0) or 1.0
        edges = np.linspace(0.0, top, 6)
        axis.hist(scores, bins=edges, color="#4472c4", edgecolor="white")
        axis.set_title(name, fontsize=8)
        axis.set_xlabel(f"score (max {top:g})", fontsize=8)
        axis.tick_params(labelsize=7)
    axes[0][0].set_ylabel("students", fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()


STYLE = """body{font-family:sans-serif;margin:2em;max-width:75em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #bbb;padding:.3em .6em;text-align:left;
vertical-align:top}th{background:#eee}td.number{text-align:right;white-space:nowrap}code{font-size:90%}"""


def render_html(assignment, graded, ungraded, ranked, links, figure, diagnosed, class_size, absent=(), similarity=""):
    """The page: figure, ranked causes per exercise, students not graded, students who submitted nothing."""
    e = html.escape
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Class report: {e(assignment.name)}"
             f"</title><style>{STYLE}</style></head><body>",
             f"<h1>Class report: {e(assignment.name)}</h1>",
             f"<p>{class_size} students: {len(graded)} graded, {len(ungraded)} could not be graded, {len(absent)} "
             f"{NOT_SUBMITTED}. Percentages are of the {len(graded)} graded students.</p>",
             "<h2>Score distribution per test cell</h2>",
             f"<img id='score-distribution' alt='histogram of the scores of each test cell' "
             f"src='data:image/png;base64,{base64.b64encode(figure).decode()}'>",
             "<h2>What the class got wrong</h2>"]
    if not diagnosed:
        parts.append("<p>No diagnosis was recorded for this assignment (graded in-kernel, or before the grader "
                     "recorded causes): run <code>backprop-labs grade</code> with the trusted checks.</p>")
    elif not ranked:
        parts.append("<p>Every graded student passed every trusted check.</p>")
    for exercise, items in ranked.items():
        parts.append(f"<h3>{e(items[0].exercise_title)}</h3><table class='causes' data-exercise='{e(exercise)}'>"
                     "<tr><th>rank</th><th>cause</th><th>students</th><th>what the feedback says</th>"
                     "<th>example</th></tr>")
        for rank, item in enumerate(items, 1):
            link = links.get((item.exercise, item.cause))
            example = f"<a href='{e(link)}'>feedback</a>" if link else "(no feedback page)"
            parts.append(f"<tr><td class='number'>{rank}</td><td><code>{e(item.cause)}</code></td>"
                         f"<td class='number'>{len(item.students)} ({item.percent(len(graded)):.0f} %)</td>"
                         f"<td>{e(item.sentence)}</td><td>{example}</td></tr>")
        parts.append("</table>")
    parts.append("<h2>Not graded</h2>")
    if ungraded:
        parts.append("<table id='not-graded'><tr><th>student</th><th>reason</th></tr>")
        parts += [f"<tr><td>{e(student)}</td><td>{e(reason)}</td></tr>" for student, reason in sorted(ungraded.items())]
        parts.append("</table>")
    else:
        parts.append("<p>Every student who submitted was graded.</p>")
    if absent:
        parts.append(f"<h2>Not submitted</h2><p id='not-submitted'>{e(', '.join(sorted(absent)))}</p>")
    parts.append(similarity)   # the section of :mod:`.similarity`, already HTML
    parts.append("</body></html>")
    return "\n".join(parts)


def write_class_report(course_dir, assignment, csv_path=None):
    """Write ``COURSE/reports/ASSIGNMENT.html`` and ``.csv`` from the grade files (default
    ``COURSE/grades/ASSIGNMENT.csv`` and its siblings); returns both paths."""
    course_dir = Path(course_dir)
    grades, cells, problems, causes = read_grade_files(course_dir, assignment, csv_path)
    absent = {row["student_id"] for row in grades if row["problem"] == NOT_SUBMITTED}
    ungraded = {row["student_id"]: row["problem"] for row in grades
                if row["problem"] and row["student_id"] not in absent}
    ungraded.update({row["student_id"]: row["reason"] for row in problems
                     if row["graded"] == "no" and row["student_id"] in ungraded})
    graded = {row["student_id"] for row in grades} - set(ungraded) - absent
    ranked = rank_causes(causes, graded, exercise_order=list(assignment.trusted_cells))
    folder = reports_dir(course_dir)
    folder.mkdir(parents=True, exist_ok=True)
    examples = folder / f"{assignment.name}-examples"
    shutil.rmtree(examples, ignore_errors=True)  # an earlier report's examples may name other causes
    links = {(item.exercise, item.cause): copy_example(course_dir, assignment, item, examples)
             for items in ranked.values() for item in items}
    similarity = write_similarity(course_dir, assignment, graded, folder)
    page = render_html(assignment, graded, ungraded, ranked, links, score_figure(cells, graded),
                       diagnosed=causes is not None, class_size=len(grades), absent=absent, similarity=similarity)
    html_path, table_path = folder / f"{assignment.name}.html", folder / f"{assignment.name}.csv"
    html_path.write_text(page, encoding="utf-8")
    with open(table_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, REPORT_COLUMNS)
        writer.writeheader()
        for items in ranked.values():
            for rank, item in enumerate(items, 1):
                writer.writerow({"assignment": assignment.name, "exercise": item.exercise,
                                 "exercise_title": item.exercise_title, "rank": rank, "cause": item.cause,
                                 "students": len(item.students), "graded_students": len(graded),
                                 "percent": f"{item.percent(len(graded)):.1f}", "sentence": item.sentence,
                                 "example": links.get((item.exercise, item.cause)) or ""})
    return html_path, table_path
