"""The grader's answer: one row per parameter, the checks, the diagnosis, and how to reproduce it.

``str(report)`` and ``repr(report)`` are the plain-text table (what ``backprop-labs check``
and ``demo`` print, and a notebook's text/plain output); in a notebook ``_repr_html_``
renders the same content as an HTML table whose layout is in inline styles, so it survives
where the notebook's CSS does not (nbgrader's feedback pages).
"""
import html
from dataclasses import dataclass, field, replace
from typing import Optional


@dataclass(frozen=True)
class ParameterRow:
    """Comparison of one gradient array with the reference (errors are None when unusable)."""

    layer: Optional[int]
    role: str
    expected_shape: tuple
    found: str
    max_abs_error: Optional[float]
    max_rel_error: Optional[float]
    passed: bool
    note: str = ""


@dataclass
class GradientReport:
    """Result of :func:`grading.check_backpropagation`.

    ``passed``: every gradient within tolerance and every check passed. ``rows``: one
    :class:`ParameterRow` per parameter. ``diagnosis``: plain sentences naming the likely
    cause (empty when passed); ``causes`` the matching short names. ``checks``: the
    reference-free checks and the finite-difference cross-check. ``reproducibility``: seed,
    shapes, dtypes, library versions. ``cost``: calls, forward passes and seconds.
    """

    exercise: str
    title: str
    passed: bool
    rows: list
    diagnosis: list
    causes: list
    checks: list
    tolerance: str
    reproducibility: dict
    cost: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    rtol: Optional[float] = None   # the tolerance the rows were judged at
    judged_layers: Optional[tuple] = None   # set by judged_on: only these layers' rows decide ``passed``

    HEADER = ("layer", "parameter", "expected", "found", "max abs err", "max rel err", "result")
    # Checks about the grader's own reference or about side effects: when the student's code
    # raised they say nothing about it, so they are not shown as "ok" next to a stub.
    NOT_ABOUT_A_RAISING_CALL = ("finite_differences", "parameters_unchanged", "input_unchanged")
    CELL_STYLE = "padding:2px 10px;border:1px solid #d0d7de;text-align:left;font-family:monospace;white-space:nowrap"

    def judged_on(self, layers):
        """This report as a test that judges only ``layers`` (0-based) shows it: ``passed`` when their
        gradients match, the headline says so, and the other rows and the checks are shown for information."""
        layers = tuple(layers)
        return replace(self, passed=all(row.passed for row in self.rows if row.layer in layers),
                       judged_layers=layers)

    def _verdict(self):
        verdict = "PASSED" if self.passed else "FAILED"
        if self.judged_layers is None:
            return verdict
        return f"{verdict} for layer(s) {', '.join(map(str, self.judged_layers))}, the only ones this test judges"

    def _cells(self):
        def number(value):
            return "-" if value is None else f"{value:.1e}"
        return [("-" if row.layer is None else str(row.layer), row.role, str(row.expected_shape), row.found,
                 number(row.max_abs_error), number(row.max_rel_error), "ok" if row.passed else "FAIL")
                for row in self.rows]

    def _student_raised(self):
        return bool(self.rows) and all(row.found == "(raised)" for row in self.rows)

    def _check_mark(self, check):
        if check.passed and self._student_raised() and check.name in self.NOT_ABOUT_A_RAISING_CALL:
            return "n/a: your code raised"
        return {True: "ok", False: "FAIL", None: "n/a"}[check.passed]

    def __repr__(self):
        return str(self)

    def __str__(self):
        cells = [self.HEADER] + self._cells()
        widths = [max(len(row[i]) for row in cells) for i in range(len(self.HEADER))]
        lines = [f"{self.title} [{self.exercise}]: {self._verdict()}"]
        lines += ["  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in cells]
        lines += ["  note: " + note for note in [row.note for row in self.rows if row.note] + self.notes]
        lines.append("Checks:")
        lines += [f"  [{self._check_mark(check)}] {check.name}: {check.detail}" for check in self.checks]
        lines.append(f"Tolerance: {self.tolerance}")
        if self.diagnosis:
            lines.append("Diagnosis:")
            lines += [f"  - {sentence}" for sentence in self.diagnosis]
        lines.append("Reproducibility: " + "; ".join(f"{key} {value}" for key, value in self.reproducibility.items()))
        return "\n".join(lines)

    def _repr_html_(self):
        escape = html.escape
        colour = "#1a7f37" if self.passed else "#cf222e"
        cell = self.CELL_STYLE
        parts = [f"<div><b>{escape(self.title)}</b> [{escape(self.exercise)}]: "
                 f"<b style='color:{colour}'>{escape(self._verdict())}</b>",
                 "<table style='border-collapse:collapse;margin:4px 0'><tr>"
                 + "".join(f"<th style='{cell};background:#f6f8fa'>{escape(h)}</th>" for h in self.HEADER) + "</tr>"]
        for row, cells in zip(self.rows, self._cells()):
            background = "" if row.passed else ";background:#ffebe9"
            parts.append("<tr>" + "".join(f"<td style='{cell}{background}'>{escape(c)}</td>" for c in cells) + "</tr>")
        parts.append("</table><ul>")
        parts += [f"<li>[{self._check_mark(c)}] <b>{escape(c.name)}</b>: {escape(c.detail)}</li>" for c in self.checks]
        parts.append("</ul>")
        if self.diagnosis:
            parts.append("<p><b>Diagnosis</b></p><ul>" + "".join(f"<li>{escape(s)}</li>" for s in self.diagnosis)
                         + "</ul>")
        notes = [row.note for row in self.rows if row.note] + self.notes
        if notes:
            parts.append("<p>" + "<br>".join(escape(n) for n in notes) + "</p>")
        parts.append(f"<p><small>Tolerance: {escape(self.tolerance)}<br>Reproducibility: "
                     + escape("; ".join(f"{k} {v}" for k, v in self.reproducibility.items())) + "</small></p></div>")
        return "".join(parts)
