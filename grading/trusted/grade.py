"""Grade one submission with the trusted checks: sandboxed run, validation, comparison.

``grade_submission(folder)`` returns one :class:`CheckResult` per check, each with the
fraction of cases that match the reference and the feedback lines that explain it. No
outcome of the student's code raises here: only a sandbox that cannot start does
(:class:`SandboxSetupError`), since that is the grader's problem, not the student's.
"""
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grading.sandbox import run_sandboxed

from .checks import CHECKS
from .results import ResultRejected, new_nonce, read_arrays, read_status
from .verdicts import ending_without_result, explain_case_error

STUDENT_SIDE = Path(__file__).with_name("student_side.py")


class SandboxSetupError(RuntimeError):
    """The sandbox could not be set up: nothing about the submission is known."""


@dataclass
class CheckResult:
    """Outcome of one trusted check: ``fraction`` of cases correct and the feedback lines."""

    check: str
    title: str
    passed: int
    total: int
    kind: str                      # "graded", or how the run ended without a result
    lines: list = field(default_factory=list)

    @property
    def fraction(self):
        return self.passed / self.total if self.total else 0.0

    def summary(self, points=None):
        score = f", {points * self.fraction:g}/{points:g} points" if points is not None else ""
        return f"{self.title} (trusted check): {self.passed}/{self.total} cases match the reference{score}"

    def feedback(self, points=None):
        return "\n".join([self.summary(points), *(f"  - {line}" for line in self.lines)])

    def to_json(self):
        return {"check": self.check, "title": self.title, "passed": self.passed, "total": self.total,
                "kind": self.kind, "lines": self.lines}


def build_task(check, cells=()):
    """The files the sandbox gets under ``.grader/`` (JSON and npz only)."""
    task = {"module": check.module, "class": check.class_name, "probe": check.probe,
            "cases": [case.spec() for case in check.cases], "cells": list(cells)}
    inputs = {}
    for case in check.cases:
        inputs.update(case.arrays())
    buffer = io.BytesIO()
    np.savez(buffer, **inputs)
    return {"task.json": json.dumps(task).encode(), "inputs.npz": buffer.getvalue(),
            "student_side.py": STUDENT_SIDE.read_bytes()}


def run_check(check, submission, hidden=(), cells=(), limits=None):
    """Run ``check`` on the submission folder; returns a :class:`CheckResult`."""
    limits = limits or check.limits
    nonce = new_nonce()
    run = run_sandboxed(["python", "-I", ".grader/student_side.py"], submission=submission,
                        grader_files=build_task(check, cells), limits=limits, hidden=hidden,
                        collect=["status.json", "result.npz"], stdin_data=(nonce + "\n").encode())
    if run.setup_failed:
        raise SandboxSetupError(run.setup_error)
    total = len(check.cases)
    if run.timed_out or run.signal_name or run.outputs.get("status.json") is None:
        kind, line = ending_without_result(run, limits)
        return CheckResult(check.name, check.title, 0, total, kind, [line])
    try:
        status = read_status(run.outputs["status.json"], nonce, [case.key for case in check.cases])
        expected = {f"{case.key}.{name}": shape for case in check.cases
                    for name, shape in check.expected_shapes(case).items()}
        arrays, problems = read_arrays(run.outputs.get("result.npz"), expected)
    except ResultRejected as rejected:
        return CheckResult(check.name, check.title, 0, total, "rejected",
                           [f"the result of your code was refused: {rejected}"])
    lines = [f"answer cell {cell['cell']} raised {cell['error']}" for cell in status["cells"]]
    if run.skipped_files:
        lines.append("not copied (symbolic links and special files are not accepted): "
                     + ", ".join(run.skipped_files[:5]))
    if status["import_error"]:
        step = f"importing {check.module}" if check.module else f"defining {check.class_name}"
        lines.append(f"{step} failed: {explain_case_error(status['import_error'], limits)}")
        return CheckResult(check.name, check.title, 0, total, "graded", lines)
    failures = {}  # problem -> case keys, so one mistake repeated over cases is one line
    for case in check.cases:
        problem = _case_problem(check, case, status, arrays, problems, limits)
        if problem is not None:
            failures.setdefault(problem, []).append(case.key)
    lines += [f"{'case' if len(keys) == 1 else 'cases'} {', '.join(keys)}: {problem}"
              for problem, keys in failures.items()]
    passed = total - sum(len(keys) for keys in failures.values())
    return CheckResult(check.name, check.title, passed, total, "graded", lines)


def _case_problem(check, case, status, arrays, problems, limits):
    entry = status["cases"].get(case.key)
    if entry is None:
        return "your code stopped before this case"
    if not entry["ok"]:
        return explain_case_error(entry["error"] or "failed", limits)
    names = check.expected_shapes(case)
    for name in names:
        key = f"{case.key}.{name}"
        if key in problems:
            return f"{name} {problems[key]}"
        if key not in arrays:
            return f"{name} is missing from the result"
    return check.compare(case, {name: arrays[f"{case.key}.{name}"] for name in names})


def answer_cells(notebook_path, grade_ids):
    """``([{'name', 'source'}], missing ids)``: the student's answer cells, found by nbgrader
    grade id (the instructor's ids, so edited metadata makes a cell missing, not different)."""
    import nbformat

    wanted = set(grade_ids)
    found = {}
    if notebook_path is not None and Path(notebook_path).is_file():
        for cell in nbformat.read(notebook_path, as_version=4).cells:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if grade_id in wanted and cell.get("cell_type") == "code" and grade_id not in found:
                found[grade_id] = cell.source
    return ([{"name": grade_id, "source": found[grade_id]} for grade_id in grade_ids if grade_id in found],
            [grade_id for grade_id in grade_ids if grade_id not in found])


def grade_submission(submission, checks=None, hidden=(), notebook=None, limits=None):
    """All trusted checks on one submission folder: ``{check name: CheckResult}``.

    ``notebook``: the graded notebook, where checks with ``answer_cells`` find them.
    """
    results = {}
    for name, check in (checks or CHECKS).items():
        cells, missing = answer_cells(notebook, check.answer_cells)
        if missing:
            results[name] = CheckResult(check.name, check.title, 0, len(check.cases), "missing", [
                f"answer cell {grade_id} is missing from the notebook (deleted, or its nbgrader "
                f"metadata was changed)" for grade_id in missing])
            continue
        results[name] = run_check(check, submission, hidden, cells, limits)
    return results
