"""Why one trusted case failed, as ``[(cause, sentence), ...]``: a stable key and the student-facing text.

A trusted check only gets arrays back from the sandbox, never the student's objects, so the
diagnosis rules (:mod:`grading.diagnosis.rules`, the same table the in-notebook checker uses)
run on an :class:`~grading.diagnosis.rules.Evidence` rebuilt from the case (its parameters and
batch, drawn here) and the returned gradients. Rules that need to call the student's code again
(repeat calls, mean of examples) have nothing to look at and stay silent.

The keys are what :mod:`grading.course.class_report` counts over a class; failures that are not
wrong numbers (an exception, a time limit, a missing answer cell) get keys of their own here.
"""
import numpy as np

from backprop_labs.utils import index2onehot
from grading.policy.precision import normwise_error

UNEXPLAINED = ("unexplained", "The result differs from the reference in a way none of the known mistakes explains.")


def diagnose_gradients(exercise_name, case, arrays):
    """``[(cause, sentence)]`` for the gradients ``arrays`` (``{'dW0': ..., 'db0': ...}``) of an MLP
    case: the diagnosis of :func:`~grading.trusted.check_spec.judge_gradients`, the check's own."""
    from grading.exercises.registry import get_exercise

    from .check_spec import gradients_by_name, specs_and_reference, judge_gradients

    configuration, specs, _, _ = specs_and_reference(get_exercise(exercise_name), case)
    raw = gradients_by_name(configuration.parameters, specs, arrays)
    return judge_gradients(exercise_name, case, raw).causes or [UNEXPLAINED]


def diagnose_input_gradient(case, value):
    """``[(cause, sentence)]`` for a wrong answer of exercise 2.1, ``value`` ``(B, I)``."""
    probabilities, output, weight = case.inputs()
    batch_size = len(output)
    error = (probabilities - index2onehot(output, case.num_classes)) / batch_size
    expected = error @ weight
    known = (
        (batch_size * expected, "missing_batch_mean",
         f"The input gradient is B = {batch_size} times too large: the loss is the MEAN over the batch, "
         "so the error at the scores is E = (P - Y) / B before it is multiplied by W."),
        (-expected, "wrong_sign", "The input gradient has the wrong sign: the error is P - Y (probabilities "
                                  "minus one-hot gold classes), not Y - P."),
        (probabilities / batch_size @ weight, "softmax_error_without_onehot",
         "The error uses the probabilities P alone: subtract the one-hot gold classes, E = (P - Y) / B."),
    )
    value = np.asarray(value, dtype=np.float64)
    for predicted, cause, sentence in known:
        if value.shape == predicted.shape and normwise_error(value, predicted) <= 1e-6:
            return [(cause, sentence)]
    return [UNEXPLAINED]


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
    """``[(cause, sentence)]`` for a wrong forward pass: its log-probabilities, then the gradients
    autograd took through it."""
    from backprop_labs.utils import logsumexp

    if not np.allclose(logsumexp(np.asarray(arrays["log_probabilities"]), axis=1), 0.0, atol=1e-9):
        return [("not_normalised", "The rows of exp(_log_forward output) do not sum to 1: end the forward pass "
                                   "with a log-softmax over the classes, torch.log_softmax(z, dim=1).")]
    return diagnose_gradients(exercise_name, case, arrays)
