"""Checks called from the test cells of the course notebooks.

A test cell passes when it raises nothing. These helpers make a failure useful in the
student's feedback: they show the grader's report (table and diagnosis) and, for a wrong
gradient, the tangent plot of the parameter with the largest error, then raise
``AssertionError`` with the diagnosis as its message.
"""
from grading.gradient_check.pipeline import check_backpropagation


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
    print(f"Tangent plot of the parameter with the largest error: {check}")
    plt.show()
    return check


def assert_gradients_match(model, batch, layers=None):
    """Grade ``model.backpropagation`` on ``batch`` (``{'input': (B, I), 'output': (B,)}``).

    With ``layers`` (0-based indices) only those layers' gradients decide; without, every
    gradient and every check of the grader must pass. Returns nothing: a value would be the
    cell's result, which nbgrader reads as a partial score.
    """
    report = check_backpropagation(model, batch["input"], batch["output"])
    rows = [row for row in report.rows if layers is None or row.layer in layers]
    passed = all(row.passed for row in rows) and (layers is not None or report.passed)
    _show(report)
    if passed:
        return
    show_tangent_of_worst(model, batch, rows)
    reasons = report.diagnosis or report.notes or ["the gradients differ from autograd: see the table above"]
    where = "" if layers is None else f" (layers {', '.join(map(str, layers))})"
    raise AssertionError(f"{report.title}{where}: " + " ".join(reasons))
