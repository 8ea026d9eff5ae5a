"""A trusted check run in this process, without the sandbox: the sandbox side's probe, the round trip of
what it sends back (through JSON and the reader's checks, the arrays as the reader keeps them), and the
grader side's comparison or judgement. For tests that look at many submissions or cases quickly."""
import json

from grading.course.cell_scope import EVERY_CASE
from grading.gradient_check.student_call import StudentError
from grading.trusted import student_side
from grading.trusted.check_spec import judge_gradients
from grading.trusted.results import clean_session


def probe_case(check, target, case):
    """What the sandbox sends back for ``case``: ``(session or None, {name: array})``."""
    found = student_side.PROBES[check.probe_key](target, check.case_spec(case), case.arrays())
    if not isinstance(found, student_side.Session):
        return None, found
    recorded = {"calls": found.calls, "modified": found.modified, "localised": found.localised}
    session = clean_session(json.loads(json.dumps(recorded)), case.key)
    return session, {f"{case.key}.{name}": array for name, array in found.arrays.items()}


def judgement(check, target, case):
    """The judged check's :class:`~grading.trusted.check_spec.GradientJudgement` of ``case``; a probe that
    raises before any gradient call is judged from the exception's fields, as the sandbox sends them."""
    try:
        session, arrays = probe_case(check, target, case)
    except Exception as error:  # noqa: BLE001 - the student's exception is the evidence
        return judge_gradients(check.exercise, case, None, error=StudentError.from_fields(student_side.raised(error)))
    return check.judge(case, session, arrays)


def case_problem(check, target, case, scope=EVERY_CASE):
    """``None`` when ``case`` matches, else the sentence the trusted feedback gives (exceptions propagate)."""
    if check.judge is not None:
        return judgement(check, target, case).failure(scope.layers(case))
    return check.compare(case, scope.keep(case, probe_case(check, target, case)[1]))
