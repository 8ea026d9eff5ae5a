"""Grade one submission with the trusted checks: sandboxed run, validation, comparison.

``grade_submission(folder)`` runs every check in one sandboxed process (:func:`run_checks`)
and returns one :class:`TrustedResult` per check, each with the
fraction of cases that match the reference and the feedback lines that explain it. No
outcome of the student's code raises here: only a sandbox that cannot start does
(:class:`SandboxSetupError`), since that is the grader's problem, not the student's.
"""
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grading.course.assignments import SHIPPED_PACKAGE, released_exercise_modules
from grading.course.cell_scope import EVERY_CASE
from grading.course.submission_files import refused_line
from grading.course.submissions import cell_grade_id

from .check_spec import trusted_checks
from .results import ResultRejected, new_nonce, read_arrays, read_check_statuses, session_arrays
from .student_side import RELEASED_DIR, SHIPPED
from .case_diagnosis import UNEXPLAINED, ending_cause, error_cause
from .sandbox import Limits, run_sandboxed
from .sandbox.runner import SandboxRequest
from .verdicts import TIME_LIMIT_KINDS, ending_without_result, explain_case_error

STUDENT_SIDE = Path(__file__).with_name("student_side.py")
GRADING = Path(__file__).parents[1]


def _source_of(module):
    """The source of a grader module (``grading.<package>.<module>``) shipped into the sandbox."""
    return GRADING.joinpath(*module.split(".")[1:]).with_suffix(".py").read_bytes()
# Imported once per grading process and forked for each submission (grading.trusted.sandbox.zygote):
# a fresh interpreter spends about 0.9 s of CPU importing torch, per student.
WARM_MODULES = ("numpy", "torch", "IPython.core.inputtransformer2")
WARM_MODULES_WITHOUT_TORCH = ("numpy", "IPython.core.inputtransformer2")
TORCH_PACKAGES = ("torch", "functorch", "torchgen")
NO_TORCH_REASON = "PyTorch is not available in this exercise: its goal is backpropagation written by hand"


def torch_directories():
    """The installed folders of the torch packages, hidden from checks with ``torch_allowed=False``
    (found without importing them)."""
    import importlib.util

    folders = []
    for name in TORCH_PACKAGES:
        spec = importlib.util.find_spec(name)
        folders += list(spec.submodule_search_locations or []) if spec is not None else []
    return tuple(folders)


class SandboxSetupError(RuntimeError):
    """The sandbox could not be set up: nothing about the submission is known."""


@dataclass
class CellOutcome:
    """A trusted check's outcome for one test cell: the cases of the cell's scope that match."""

    description: str
    passed: int
    total: int
    lines: list = field(default_factory=list)
    all_or_nothing: bool = False   # the cell's points need every case (CellScope.all_or_nothing)

    @property
    def fraction(self):
        if not self.total:
            return 0.0
        if self.all_or_nothing:
            return float(self.passed == self.total)
        return self.passed / self.total


@dataclass
class TrustedResult:
    """Outcome of one trusted check: ``fraction`` of cases correct and the feedback lines;
    ``cells``: ``{test cell id: CellOutcome}`` for the cells given a :class:`CellScope`;
    ``causes``: ``{cause: {'sentence', 'cases'}}``, why the failing cases failed (over every case)."""

    check: str
    title: str
    passed: int
    total: int
    kind: str                      # "graded", or how the run ended without a result
    lines: list = field(default_factory=list)
    cells: dict = field(default_factory=dict)
    causes: dict = field(default_factory=dict)

    @property
    def fraction(self):
        return self.passed / self.total if self.total else 0.0

    def fraction_for(self, cell):
        """The fraction that scores test cell ``cell``: its scope's cases, else every case."""
        outcome = self.cells.get(cell)
        return self.fraction if outcome is None else outcome.fraction

    def summary(self, points=None):
        score = f", {points * self.fraction:g}/{points:g} points" if points is not None else ""
        return f"{self.title} (trusted check): {self.passed}/{self.total} cases match the reference{score}"

    def feedback(self, points=None):
        return "\n".join([self.summary(points), *(f"  - {line}" for line in self.lines)])

    def feedback_for(self, cell):
        """The feedback of test cell ``cell``: what its scope checked and which of its cases differ."""
        outcome = self.cells.get(cell)
        if outcome is None:
            return self.feedback()
        every = (", and this cell's test needs every one of them (as in your notebook)"
                 if outcome.all_or_nothing and 0 < outcome.passed < outcome.total else "")
        return "\n".join([f"{self.title} (trusted check, {outcome.description}): "
                          f"{outcome.passed}/{outcome.total} cases match the reference{every}",
                          *(f"  - {line}" for line in outcome.lines)])

    def cause_table(self):
        """``{cause: {'sentence', 'cases'}}``: the diagnosed causes, or for a check that ended without a
        result (time limit, missing answer cell...) that ending, over every case."""
        if self.kind == "graded" or self.passed == self.total:
            return self.causes
        cause, sentence = ending_cause(self.kind, self.lines[0] if self.lines else self.kind)
        return {cause: {"sentence": sentence, "cases": []}}

    def to_json(self):
        return {"check": self.check, "title": self.title, "passed": self.passed, "total": self.total,
                "kind": self.kind, "lines": self.lines,
                "cells": {cell: vars(outcome) for cell, outcome in self.cells.items()},
                "causes": self.cause_table()}


def combined_limits(checks):
    """The limits of one process running every check: time limits add up, the rest is the
    largest any check allows."""
    limits = [check.limits for check in checks]
    return Limits(wall_seconds=sum(each.wall_seconds for each in limits),
                  cpu_seconds=sum(each.cpu_seconds for each in limits),
                  memory_bytes=max(each.memory_bytes for each in limits),
                  processes=max(each.processes for each in limits),
                  file_size_bytes=max(each.file_size_bytes for each in limits),
                  open_files=max(each.open_files for each in limits))


def build_task(checks, cells_by_check, unavailable=()):
    """The files the sandbox gets under ``.grader/`` (JSON and npz only), for ``checks``
    (``{name: TrustedCheck}``, run in this order) with their answer cells; importing a package of
    ``unavailable`` fails with :data:`NO_TORCH_REASON`."""
    released = released_exercise_modules()
    task = {"checks": [{"name": name, "module": check.module, "class": check.class_name, "probe": check.probe_key,
                        "cases": [check.case_spec(case) for case in check.cases],
                        "cells": list(cells_by_check.get(name, ()))}
                       for name, check in checks.items()],
            "unavailable": {"packages": list(unavailable), "reason": NO_TORCH_REASON},
            "released": {_module_name(relative): [f"{RELEASED_DIR}/{SHIPPED_PACKAGE}/{relative}", list(exercises)]
                         for relative, (_, exercises) in released.items()}}
    inputs = {}
    for check in checks.values():
        for case in check.cases:
            arrays = case.arrays()
            if inputs.keys() & arrays.keys():
                raise ValueError(f"case key {case.key!r} is used by two checks run together")
            inputs.update(arrays)
    buffer = io.BytesIO()
    np.savez(buffer, **inputs)
    return {"task.json": json.dumps(task).encode(), "inputs.npz": buffer.getvalue(),
            "student_side.py": STUDENT_SIDE.read_bytes(),
            **{file: _source_of(module) for file, module in SHIPPED.items()},
            **{f"{RELEASED_DIR}/{SHIPPED_PACKAGE}/{relative}": text.encode("utf-8")
               for relative, (text, _) in released.items()}}


def _module_name(relative):
    """``labs.autodiff.vjps`` for the lab module ``autodiff/vjps.py``."""
    return ".".join([SHIPPED_PACKAGE, *relative[:-len(".py")].split("/")])


def result_file(name):
    return f"result-{name}.npz"


def run_checks(checks, submission, hidden=(), cells_by_check=None, limits=None, scopes=None):
    """Run every check of ``checks`` (``{name: TrustedCheck}``) on the submission folder in ONE
    sandboxed process; returns ``{name: TrustedResult}``.

    One process per submission keeps the isolation between students and from the grader
    (own uid, no network, hidden course, limits, token, plain-data results) but not between
    the checks of one submission: its code in one check may change what a later check sees,
    and a crash, time-out or memory bomb ends the checks not finished yet (their feedback
    names the limit and the check during which it happened). Checks that finished before
    keep their results. ``limits`` default to :func:`combined_limits`. ``scopes``:
    ``{check name: {test cell id: CellScope}}``, the cells each check scores.
    """
    with_torch = {name: check for name, check in checks.items() if check.torch_allowed}
    without_torch = {name: check for name, check in checks.items() if not check.torch_allowed}
    results = {}
    for group, torch_allowed in ((with_torch, True), (without_torch, False)):
        if group:
            results.update(_run_group(group, submission, hidden, cells_by_check or {}, limits, torch_allowed, scopes))
    return {name: results[name] for name in checks}


def _run_group(checks, submission, hidden, cells_by_check, limits, torch_allowed, scopes=None):
    """:func:`run_checks` for checks that all allow torch, or all forbid it (then torch is hidden
    from the sandbox and the zygote they fork from never imported it)."""
    limits = limits or combined_limits(checks.values())
    nonce = new_nonce()
    request = SandboxRequest(
        ["python", "-I", ".grader/student_side.py"], submission=submission,
        grader_files=build_task(checks, cells_by_check, () if torch_allowed else TORCH_PACKAGES), limits=limits,
        hidden=hidden, collect=["status.json", *map(result_file, checks)], stdin_data=(nonce + "\n").encode(),
        preload=WARM_MODULES if torch_allowed else WARM_MODULES_WITHOUT_TORCH,
        masked=() if torch_allowed else torch_directories())
    run = run_sandboxed(request)
    if run.setup_failed:
        raise SandboxSetupError(run.setup_error)
    if "status.json" in run.output_errors:  # e.g. a symbolic link planted in place of the status
        return {name: TrustedResult(check.name, check.title, 0, len(check.cases), "rejected",
                                  [f"the result of your code was refused: {run.output_errors['status.json']}"])
                for name, check in checks.items()}
    try:
        statuses = {} if run.outputs.get("status.json") is None else read_check_statuses(
            run.outputs["status.json"], nonce, {name: [case.key for case in check.cases]
                                                for name, check in checks.items()})
    except ResultRejected as rejected:
        return {name: TrustedResult(check.name, check.title, 0, len(check.cases), "rejected",
                                  [f"the result of your code was refused: {rejected}"])
                for name, check in checks.items()}
    results, stopped_in = {}, None
    for name, check in checks.items():
        if name in statuses:
            results[name] = _graded(check, statuses[name], run.outputs.get(result_file(name)), run, limits,
                                    (scopes or {}).get(name))
            continue
        kind, line = ending_without_result(run, limits)
        if stopped_in is None:
            stopped_in = check
            hint = check.limit_hint() if kind in TIME_LIMIT_KINDS else ""
            line += f"; {hint}" if hint else ""
        else:
            line += (f" (it happened while checking {stopped_in.title}: the checks of one submission "
                     f"run in one process, so this one did not run)")
        results[name] = TrustedResult(check.name, check.title, 0, len(check.cases), kind, [line])
    return results


def run_check(check, submission, hidden=(), cells=(), limits=None):
    """Run ``check`` alone on the submission folder; returns a :class:`TrustedResult`."""
    return run_checks({check.name: check}, submission, hidden, {check.name: cells}, limits or check.limits)[check.name]


def _graded(check, status, raw_arrays, run, limits, scopes=None):
    """The :class:`TrustedResult` of a check that finished: its status section and arrays.
    ``scopes``: ``{test cell id: CellScope}``, each cell scored on its own cases and layers."""
    total = len(check.cases)
    if result_file(check.name) in run.output_errors:
        return TrustedResult(check.name, check.title, 0, total, "rejected",
                           [f"the result of your code was refused: {run.output_errors[result_file(check.name)]}"])
    try:
        expected = {f"{case.key}.{name}": shape for case in check.cases
                    for name, shape in check.expected_shapes(case).items()} if check.judge is None else {
            name: None for key, entry in status["cases"].items() if "session" in entry
            for name in session_arrays(key, entry["session"])}   # any shape and dtype: the judgement reads them
        arrays, problems = read_arrays(raw_arrays, expected)
    except ResultRejected as rejected:
        return TrustedResult(check.name, check.title, 0, total, "rejected",
                           [f"the result of your code was refused: {rejected}"])
    lines = [f"answer cell {cell['cell']} raised {cell['error']}" for cell in status["cells"]]
    if run.skipped_files:
        lines.append(refused_line(run.skipped_files))
    scopes = scopes or {}
    if status["import_error"]:
        if status["cells"]:  # the cells run once the module is imported: one that raised left the name undefined
            lines.append(f"defining {check.class_name} failed: {lines.pop(0)}")
        else:
            step = f"importing {check.module}" if check.module else f"defining {check.class_name}"
            lines.append(f"{step} failed: {explain_case_error(status['import_error'], limits)}")
        cells = {cell: CellOutcome(scope.description, 0, sum(map(scope.selects, check.cases)), lines,
                                   scope.all_or_nothing)
                 for cell, scope in scopes.items()}
        causes = {"import_failed": {"sentence": lines[-1], "cases": [case.key for case in check.cases]}}
        return TrustedResult(check.name, check.title, 0, total, "graded", lines, cells, causes)
    diagnoses = {}  # case key -> its diagnosis, computed once for all the cells that score the case

    def outcome(cases, scope):
        failures, causes = {}, {}  # problem -> case keys, so one mistake repeated over cases is one line
        for case in cases:
            failure = _case_problem(check, case, status, arrays, problems, limits, scope, diagnoses)
            if failure is not None:
                failures.setdefault(failure.text, []).append(case.key)
                if causes and scope.all_or_nothing:
                    continue   # the cell's test stops at its first failing case: its cause is that case's
                for cause, sentence in failure.causes:
                    causes.setdefault(cause, {"sentence": sentence, "cases": [], "diagnosed": failure.diagnosed})
                    causes[cause]["cases"].append(case.key)
        failed = sum(len(keys) for keys in failures.values())
        explained = [f"{_cases(found['cases'])}, likely cause: {found['sentence']}" for cause, found in causes.items()
                     if found.pop("diagnosed") and cause != UNEXPLAINED[0]]
        return (len(cases) - failed, lines + [f"{_cases(keys)}: {problem}" for problem, keys in failures.items()]
                + explained, causes)

    passed, all_lines, causes = outcome(check.cases, EVERY_CASE)
    cells, cell_causes = {}, {}
    for cell, scope in scopes.items():
        chosen = [case for case in check.cases if scope.selects(case)]
        cell_passed, cell_lines, found = outcome(chosen, scope)
        cells[cell] = CellOutcome(scope.description, cell_passed, len(chosen), cell_lines, scope.all_or_nothing)
        for cause, entry in found.items():   # what the scored cells name, as the notebook's cells name it
            cell_causes.setdefault(cause, {"sentence": entry["sentence"], "cases": []})
            cell_causes[cause]["cases"] += [key for key in entry["cases"] if key not in cell_causes[cause]["cases"]]
    return TrustedResult(check.name, check.title, passed, total, "graded", all_lines, cells,
                         cell_causes if scopes else causes)


def _cases(keys):
    return f"{'case' if len(keys) == 1 else 'cases'} {', '.join(keys)}"


@dataclass(frozen=True)
class CaseFailure:
    """Why one case does not match: the feedback ``text``, and ``causes`` ``[(cause, sentence)]``
    (``diagnosed``: they come from the check's diagnosis of wrong numbers, so the feedback adds them)."""

    text: str
    causes: list
    diagnosed: bool = False


def _case_problem(check, case, status, arrays, problems, limits, scope=EVERY_CASE, diagnoses=None):
    """The :class:`CaseFailure` of one case, or None when it matches the reference."""
    entry = status["cases"].get(case.key)
    if entry is None:
        return CaseFailure("your code stopped before this case",
                           [("stopped_before_case", "The code stopped (or was stopped) before this case.")])
    if not entry["ok"]:
        text = explain_case_error(entry["error"] or "failed", limits)
        if check.judge is not None and "raised" in entry:
            return CaseFailure(text, _judged_error(check, case, entry["raised"]), diagnosed=True)
        return CaseFailure(text, [error_cause(entry["error"] or "")])
    if check.judge is not None:
        return _judged_problem(check, case, status, arrays, scope, diagnoses, limits)
    names = [name for name in check.expected_shapes(case) if scope.arrays is None or name in scope.arrays]
    for name in names:
        key = f"{case.key}.{name}"
        if key in problems:
            return CaseFailure(f"{name} {problems[key]}", [("unusable_result", f"A returned array {problems[key]}.")])
        if key not in arrays:
            return CaseFailure(f"{name} is missing from the result",
                               [("missing_result", "An expected array is missing from the result.")])
    returned = {name: arrays[f"{case.key}.{name}"] for name in names}
    problem = check.compare(case, scope.keep(case, returned))
    if problem is None:
        return None
    diagnoses = {} if diagnoses is None else diagnoses
    if case.key not in diagnoses:
        diagnoses[case.key] = _diagnosis(check, case, returned)
    return CaseFailure(problem, diagnoses[case.key], diagnosed=True)


def _judged_problem(check, case, status, arrays, scope, judgements, limits):
    """:func:`_case_problem` for a gradient exercise: the recorded session judged by the notebook's own
    ``check_backpropagation`` (``judgements``: case key -> judgement, made once per case)."""
    if case.key not in judgements:
        try:
            judgements[case.key] = check.judge(case, status["cases"][case.key]["session"], arrays)
        except Exception as error:  # noqa: BLE001 - the grader's own failure must not stop the class
            judgements[case.key] = error
    judgement = judgements[case.key]
    if isinstance(judgement, Exception):
        return CaseFailure(f"the grader could not judge this case ({type(judgement).__name__}: {judgement}); "
                           f"please tell your instructor", [("grader_error", "The grader failed on this case.")])
    failure = judgement.failure(scope.layers(case))
    if failure is None:
        return None
    first = status["cases"][case.key]["session"]["calls"].get("first", {})
    if "raised" in first:   # the call raised: its message, with the limit named when a limit caused it
        from grading.gradient_check.student_call import StudentError

        failure = explain_case_error(StudentError.from_fields(first["raised"]).describe(), limits)
    return CaseFailure(failure, judgement.causes or [UNEXPLAINED], diagnosed=True)


def _judged_error(check, case, fields):
    """The causes of a probe that raised before any gradient call (building the model...), from the same
    rules ``check_backpropagation`` applies to an exception."""
    from grading.gradient_check.student_call import StudentError

    from .check_spec import judge_gradients

    try:
        return judge_gradients(check.exercise, case, None, error=StudentError.from_fields(fields)).causes or [
            error_cause(f"{fields['type']}: {fields['message']}")]
    except Exception:  # noqa: BLE001 - a diagnosis is advice: the score stands without it
        return [error_cause(f"{fields['type']}: {fields['message']}")]


def _diagnosis(check, case, returned):
    """The check's diagnosis of a failing case (over all its arrays), or :data:`UNEXPLAINED`."""
    if check.diagnose is None:
        return [UNEXPLAINED]
    try:
        return list(check.diagnose(case, returned)) or [UNEXPLAINED]
    except Exception:  # noqa: BLE001 - a diagnosis is advice: the score stands without it
        return [UNEXPLAINED]


def answer_cells(notebook, grade_ids):
    """``([{'name', 'source'}], missing ids)``: the student's answer cells in ``notebook`` (a
    parsed notebook or ``None``), found by nbgrader grade id (the instructor's ids, so edited
    metadata makes a cell missing, not different)."""
    wanted = set(grade_ids)
    found = {}
    for cell in notebook.cells if notebook is not None else ():
        grade_id = cell_grade_id(cell)
        if grade_id in wanted and cell.get("cell_type") == "code" and grade_id not in found:
            found[grade_id] = cell.source
    return ([{"name": grade_id, "source": found[grade_id]} for grade_id in grade_ids if grade_id in found],
            [grade_id for grade_id in grade_ids if grade_id not in found])


def grade_submission(submission, checks=None, hidden=(), notebook=None, limits=None, scopes=None, unreadable=None):
    """All trusted checks on one submission folder, in one sandboxed process (see
    :func:`run_checks`): ``{check name: TrustedResult}``.

    ``notebook``: the graded notebook, where checks with ``answer_cells`` find them.
    ``scopes``: ``{check name: {test cell id: CellScope}}`` (see :func:`run_checks`).
    ``unreadable``: why the student's notebook could not be read; the checks that need its answer
    cells then score 0 with that reason, the others run.
    """
    import nbformat

    parsed = nbformat.read(notebook, as_version=4) if notebook is not None and Path(notebook).is_file() else None
    checks = checks or trusted_checks()
    results, to_run, cells_by_check = {}, {}, {}
    for name, check in checks.items():
        cells, missing = answer_cells(parsed, check.answer_cells)
        if unreadable and check.answer_cells:
            results[name] = TrustedResult(check.name, check.title, 0, len(check.cases), "missing", [
                f"this check runs your notebook's answer cell {', '.join(check.answer_cells)}, and your "
                f"notebook could not be read ({unreadable})"])
        elif missing:
            results[name] = TrustedResult(check.name, check.title, 0, len(check.cases), "missing", [
                f"answer cell {grade_id} is missing from the notebook (deleted, or its nbgrader "
                f"metadata was changed)" for grade_id in missing])
        else:
            to_run[name], cells_by_check[name] = check, cells
    if to_run:
        results.update(run_checks(to_run, submission, hidden, cells_by_check, limits, scopes))
    return {name: results[name] for name in checks}
