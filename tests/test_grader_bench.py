"""The grader-cost benchmark runs and reports consistent figures (on a small model: no timing asserted)."""
from bench.grader_cost import format_table, measure
from mutations.models import digits_batch, lab_model


def test_grader_cost_measures_and_formats(digits):
    figures = measure(model=lab_model(), batch=digits_batch(digits), repeats=1, calls=1, naive_sample=5)
    assert figures["num_parameters"] == 10 * 64 + 10 + 2 * (10 * 10 + 10)
    assert figures["naive_forward_passes"] == 2 * figures["num_parameters"]
    assert figures["grader_seconds"] > 0 and figures["naive_seconds"] > 0 and figures["passed"]
    table = format_table(figures)
    assert "forward-pass equivalents" in table and "naive / gradient check" in table
