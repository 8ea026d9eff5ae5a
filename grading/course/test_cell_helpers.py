"""Checks called from the test cells of the course notebooks.

A test cell passes when it raises nothing. These helpers make a failure useful in the
student's feedback: they show the grader's report (table and diagnosis) and, for a wrong
gradient, the tangent plot of the parameter with the largest error, then raise
:class:`CheckFailed`, whose message says what was expected and what was found. In a notebook
that message is all the error output shows: no traceback into this module.
"""
import numpy as np

from grading.gradient_check.pipeline import check_backpropagation
from grading.policy.closeness import close_failure

BIAS_SCALE = 0.5  # biases drawn from N(0, 0.5^2): a forgotten or misplaced bias changes the result


class CheckFailed(AssertionError):
    """A test cell's check failed; IPython shows only the message (``_render_traceback_``)."""

    def _render_traceback_(self):
        return [f"\x1b[0;31mCheck failed\x1b[0m: {line}" if number == 0 else line
                for number, line in enumerate(str(self).splitlines())]


def _show(value):
    """Rich display in a notebook (HTML table, figure), plain text elsewhere."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        display(value)
    else:
        print(value)


def with_random_biases(model, seed):
    """``model`` with every bias ``(1, out)`` set to non-zero values drawn from ``seed``.

    Models start with zero biases, where a missing bias gradient or a forward pass that
    ignores the bias goes unnoticed. Two models of the same geometry given the same seed get
    the same biases (NumPy arrays or torch tensors alike). Returns the model.
    """
    rng = np.random.default_rng(seed)
    for _, bias in model.parameters:
        values = rng.normal(0.0, BIAS_SCALE, size=tuple(bias.shape))
        if isinstance(bias, np.ndarray):
            bias[...] = values
        else:
            import torch

            with torch.no_grad():
                bias.copy_(torch.as_tensor(values, dtype=bias.dtype))
    return model


def show_tangent_of_worst(model, batch, rows):
    """Tangent plot of the failing parameter with the largest relative error, when it can be drawn.

    ``tangent_check`` picks the entry with the largest true derivative, where a wrong slope is
    easiest to see (most first-layer derivatives are exactly 0 for words absent from the batch).
    """
    import matplotlib.pyplot as plt

    from grading.gradient_check.tangent import tangent_check

    measured = [row for row in rows if not row.passed and row.max_rel_error is not None and row.layer is not None]
    if not measured:
        return None
    worst = max(measured, key=lambda row: row.max_rel_error)
    check = tangent_check(model, batch, layer_index=worst.layer, is_bias=worst.role == "bias")
    print(f"Tangent plot of the parameter with the largest error:\n{check}")
    plt.show()
    return check


def assert_gradients_match(model, batch, layers=None):
    """Grade ``model.backpropagation`` on ``batch`` (``{'input': (B, I), 'output': (B,)}``).

    With ``layers`` (0-based indices) only those layers' gradients decide; without, every
    gradient and every check of the grader must pass. Returns nothing: a value would be the
    cell's result, which nbgrader reads as a partial score.
    """
    report = check_backpropagation(model, batch["input"], batch["output"])
    if layers is not None:   # the verdict shown is the cell's: other layers' rows are information
        report = report.judged_on(layers)
    rows = [row for row in report.rows if layers is None or row.layer in layers]
    _show(report)
    if report.passed:
        return
    show_tangent_of_worst(model, batch, rows)
    failing = [f"layer {row.layer} {row.role}" for row in rows if not row.passed]
    expected = ("the gradients of " + ("every layer" if layers is None else f"layer(s) {', '.join(map(str, layers))}")
                + " within the tolerance of the reference, and every check passed")
    found = (f"{', '.join(failing)} differ" if failing else "the gradients match, but a check failed")
    reasons = report.diagnosis or report.notes or ["see the table above"]
    raise CheckFailed(f"{report.title}: expected {expected}; found: {found}.\n" + "\n".join(reasons))


def assert_loss_and_tangent_match(loss_and_tangent, model, batch, layer_index, is_bias, row, column=0, seed=0):
    """The tangent-plot exercise: ``loss_and_tangent(model, batch, gradients, layer_index, is_bias, row, column)``
    returns the parameter values, the losses and the tangent that ``grading.tangent_check`` computes.

    ``gradients`` are random arrays of the parameters' shapes drawn from ``seed`` (not the model's
    backpropagation, so this test depends only on the function): every entry differs, so the
    tangent shows which entry was read. Compared within tangent.py's ``CURVE_RTOL`` / ``CURVE_ATOL``.
    """
    from grading.gradient_check.tangent import expected_loss_and_tangent, loss_and_tangent_failure

    rng = np.random.default_rng(seed)
    gradients = [[rng.normal(size=np.shape(weight)), rng.normal(size=np.shape(bias))]
                 for weight, bias in model.parameters]
    address = (layer_index, is_bias, row, column)
    expected = expected_loss_and_tangent(model, batch, gradients, *address)
    found = loss_and_tangent(model, batch, gradients, *address)
    where = f"layer {layer_index} {'bias' if is_bias else 'weight'} [{row}{'' if is_bias else f', {column}'}]"
    failure, causes = loss_and_tangent_failure(found, expected, where)
    if failure is not None:
        raise CheckFailed("\n".join([failure] + [sentence for _, sentence in causes]))


def assert_input_gradient_matches(found, model, batch, rtol=None, atol=None):
    """``found`` is the gradient of the model's mean loss with respect to the input batch, ``(B, I)``:
    autograd in float64 on the exercise's reference loss (the model's own code is not used), entry by entry
    within the exercise's tolerance (the trusted check reads the same); a known mistake is named."""
    from grading.diagnosis.mlp_hypotheses import input_gradient_causes
    from grading.gradient_check.reference import INPUT_GRADIENT, INPUT_GRADIENT_ATOL, INPUT_GRADIENT_RTOL, input_gradient

    rtol = INPUT_GRADIENT_RTOL if rtol is None else rtol
    atol = INPUT_GRADIENT_ATOL if atol is None else atol
    failure = close_failure(found, input_gradient(model, batch), INPUT_GRADIENT, rtol=rtol, atol=atol)
    if failure is None:
        return
    [[weight, _]] = model.parameters
    probabilities = np.exp(model.log_forward(batch["input"]))
    causes = input_gradient_causes(found, probabilities, np.asarray(batch["output"]), np.asarray(weight))
    raise CheckFailed("\n".join([failure] + [sentence for _, sentence in causes]))


def assert_log_probabilities_match(model, expected_model, input):
    """``model._log_forward(input)`` is a tensor autograd can differentiate and equals
    ``expected_model.log_forward(input)`` (a NumPy model started from the same parameters)."""
    import torch

    found = model._log_forward(input)
    if not isinstance(found, torch.Tensor) or not found.requires_grad:
        kind = type(found).__name__ if not isinstance(found, torch.Tensor) else "a tensor without requires_grad"
        raise CheckFailed(f"expected a tensor computed from self.parameters (so that autograd can differentiate "
                          f"it); found {kind}")
    from grading.diagnosis.forward_hypotheses import log_probabilities_failure, log_probability_causes

    expected = expected_model.log_forward(input)
    failure = log_probabilities_failure(found.detach().numpy(), expected)   # the official grade's rule too
    if failure is None:
        return

    causes = log_probability_causes(found.detach().numpy()) or _forward_causes(model, input, expected)
    raise CheckFailed("\n".join([failure] + [sentence for _, sentence in causes]))


def _forward_causes(model, input, expected):
    """The gradient check's diagnosis of a normalised but wrong forward pass (the labels are the classes the
    right model predicts: any labels show a forward mistake)."""
    report = check_backpropagation(model, input, np.asarray(expected).argmax(axis=1))
    return list(zip(report.causes, report.diagnosis))


def assert_close(found, expected, what, rtol, atol=0.0):
    """``found`` equals ``expected`` (same shape, within ``atol + rtol * |expected|``), else a
    :class:`CheckFailed` naming ``what``, both shapes or the worst entry with both values
    (the rule: :func:`grading.policy.closeness.close_failure`)."""
    failure = close_failure(found, expected, what, rtol=rtol, atol=atol)
    if failure is not None:
        raise CheckFailed(failure)


def assert_equal(found, expected, what):
    """``found == expected``, else a :class:`CheckFailed` with both values."""
    if not found == expected:
        raise CheckFailed(f"{what}: expected {expected!r}, found {found!r}")


def assert_at_least(found, minimum, what):
    """``found >= minimum``, else a :class:`CheckFailed` with both values."""
    if not found >= minimum:
        raise CheckFailed(f"{what}: expected at least {minimum:.10g}, found {found:.10g}")
