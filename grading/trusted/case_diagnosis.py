"""Why one trusted case failed, as ``[(cause, sentence), ...]``: a stable key and the student-facing text.

Each exercise's diagnosis is its own, the one the notebook's test cells show: gradient exercises are
judged by ``check_backpropagation`` itself (:mod:`.replay`, or :func:`~.check_spec.judge_gradients` on
arrays alone for the forward exercise), the answer cells by their exercise's functions. The keys are what
:mod:`grading.course.class_report` counts over a class; failures that are not wrong numbers (an
exception, a time limit, a missing answer cell) get keys of their own here.
"""


UNEXPLAINED = ("unexplained", "The result differs from the reference in a way none of the known mistakes explains.")


def diagnose_gradients(exercise_name, case, arrays):
    """``[(cause, sentence)]`` for the gradients ``arrays`` (``{'dW0': ..., 'db0': ...}``) of an MLP
    case: the diagnosis of :func:`~grading.trusted.check_spec.judge_gradients`, the check's own."""
    from .check_spec import judge_gradients

    return judge_gradients(exercise_name, case, arrays, by_name=True).causes or [UNEXPLAINED]


def diagnose_input_gradient(case, value):
    """``[(cause, sentence)]`` for a wrong answer of exercise 2.1, ``value`` ``(B, I)`` (the exercise's own
    diagnosis, which the notebook's test cell shows too)."""
    from grading.diagnosis.mlp_hypotheses import input_gradient_causes

    return input_gradient_causes(value, *case.inputs()) or [UNEXPLAINED]


def error_cause(message):
    """``(cause, sentence)`` for a case whose call raised; ``message`` is ``'TypeName: text'``."""
    type_name = message.split(":", 1)[0].strip() or "an exception"
    if type_name == "NotImplementedError":
        return "not_implemented", "Not implemented yet: the code still raises NotImplementedError."
    return f"raised_{type_name}", f"The code raised {type_name} (the message is in the feedback)."


def ending_cause(kind, line):
    """``(cause, sentence)`` for a check that ended without a result (time limit, missing cell...)."""
    return kind.replace(" ", "_"), line


def diagnose_forward(exercise_name, case, arrays):
    """``[(cause, sentence)]`` for a wrong forward pass: its log-probabilities (the exercise's own words, as
    the notebook's test says them), then the gradients autograd took through it."""
    from grading.diagnosis.forward_hypotheses import log_probability_causes

    return log_probability_causes(arrays["log_probabilities"]) or diagnose_gradients(exercise_name, case, arrays)
