"""A trusted check run in this process, without the sandbox: the sandbox side's probe, the round trip of
what it sends back (the skeleton through JSON and its checks, the arrays as the reader keeps them), and
the grader side's comparison or judgement. For tests that look at many submissions or cases quickly."""
import json

from grading.course.cell_scope import EVERY_CASE
from grading.trusted import student_side
from grading.trusted.cases import RoundedTwin
from grading.trusted.results import clean_skeleton, rebuilt_value


def probe_case(check, target, case):
    """What the sandbox sends back for ``case``: the returned value rebuilt (judged checks) or ``{name: array}``."""
    found = student_side.PROBES[check.probe](target, case.spec(), case.arrays())
    if not isinstance(found, student_side.Returned):
        return found
    skeleton = clean_skeleton(json.loads(json.dumps(found.skeleton)), case.key)
    return rebuilt_value(skeleton, {f"{case.key}.{name}": array for name, array in found.arrays.items()}, case.key)


def judgement(check, target, case):
    """The judged check's :class:`~grading.trusted.check_spec.GradientJudgement` of ``case``, with its rounded twin."""
    try:
        rounded = probe_case(check, target, RoundedTwin(case))
    except Exception:  # noqa: BLE001 - a twin that fails is no evidence, as in the sandbox
        rounded = None
    return check.judge(case, probe_case(check, target, case), rounded)


def case_problem(check, target, case, scope=EVERY_CASE):
    """``None`` when ``case`` matches, else the sentence the trusted feedback gives (exceptions propagate)."""
    if check.judge is not None:
        return judgement(check, target, case).failure(scope.layers(case))
    return check.compare(case, scope.keep(case, probe_case(check, target, case)))
