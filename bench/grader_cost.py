"""What a full gradient check of the books MLP [13989, 20, 2] costs on one batch of 30.

Figures, all medians over interleaved rounds (``bench.timing``):

* the grader's time in forward-pass equivalents (one forward pass: the NumPy solution's
  ``cross_entropy_loss`` on the same batch, timed in the same rounds), for the gradient check
  alone (``further_checks=False``: every entry against the reference) and the whole report;
* naive central differences over every parameter (two forward passes each): a random sample
  of parameters is timed and the cost extrapolated, then compared with the gradient check.

``python -m bench.grader_cost [--data-dir DIR] [--repeats N]`` prints the table;
:func:`measure` returns the figures as a dict for the bench command.
"""
import argparse
import statistics

import numpy as np

from .gradient_check import _parameter_sample, naive_central_differences
from .timing import interleaved

HIDDEN, BATCH_SIZE, LEARNING_RATE = 20, 30, 0.05


def grader_contender(model, batch, calls=1, further_checks=True):
    """For :func:`bench.timing.interleaved`: a factory whose function runs the full check ``calls`` times."""
    import grading

    def run():
        for _ in range(calls):
            grading.check_backpropagation(model, batch["input"], batch["output"],
                                          further_checks=further_checks)
    return lambda: run


def _books_model_and_batch(data_dir):
    from backprop_labs.datasets import load_amazon_books
    from labs_solutions import NumpyMLP

    data = load_amazon_books(data_dir)
    model = NumpyMLP([data.num_features, HIDDEN, data.num_classes], ["sigmoid", "softmax"], LEARNING_RATE)
    return model, data.batches("train", BATCH_SIZE)[0]


def measure(data_dir=None, repeats=9, calls=5, naive_sample=200, model=None, batch=None):
    """Figures as a dict: seconds, forward-pass equivalents, naive/grader ratio, what the grader ran."""
    import grading

    if model is None:
        model, batch = _books_model_and_batch(data_dir)
    num_parameters = sum(weight.size + bias.size for weight, bias in model.parameters)
    sample = _parameter_sample(model, naive_sample, np.random.default_rng(0))

    def forward():
        for _ in range(calls):
            model.cross_entropy_loss(batch["input"], batch["output"])

    times = interleaved({
        "forward": lambda: forward,
        "grader": grader_contender(model, batch, calls),
        "gradients only": grader_contender(model, batch, calls, further_checks=False),
        "naive sample": lambda: lambda: naive_central_differences(model, batch, sample),
    }, repeats)
    per_round = {name: [t / calls for t in values] for name, values in times.items() if name != "naive sample"}
    naive = [t / len(sample) * num_parameters for t in times["naive sample"]]

    def ratio(numerator, denominator):  # median of per-round ratios: robust to a round slowed by other work
        return statistics.median(a / b for a, b in zip(numerator, denominator))

    report = grading.check_backpropagation(model, batch["input"], batch["output"])
    gradients_only = grading.check_backpropagation(model, batch["input"], batch["output"], further_checks=False)
    return {
        "geometry": [model.parameters[0][0].shape[1]] + [weight.shape[0] for weight, _ in model.parameters],
        "batch_size": len(batch["output"]),
        "num_parameters": int(num_parameters),
        "forward_seconds": statistics.median(per_round["forward"]),
        "grader_seconds": statistics.median(per_round["grader"]),
        "grader_forward_passes": ratio(per_round["grader"], per_round["forward"]),
        "gradients_only_seconds": statistics.median(per_round["gradients only"]),
        "gradients_only_forward_passes": ratio(per_round["gradients only"], per_round["forward"]),
        "naive_seconds": statistics.median(naive),
        "naive_forward_passes": 2 * int(num_parameters),
        "naive_over_grader": ratio(naive, per_round["gradients only"]),
        "naive_sample": len(sample),
        "student_calls": report.cost["student_calls"],
        "reference_passes": report.cost["reference_passes"],
        "gradients_only_reference_passes": gradients_only.cost["reference_passes"],
        "passed": report.passed,
        "repeats": repeats,
    }


def format_table(figures):
    """Markdown table of :func:`measure`'s figures."""
    what = f"MLP {figures['geometry']}, batch {figures['batch_size']}, {figures['num_parameters']:,} parameters"
    rows = [
        ("one forward pass (NumPy solution)", f"{figures['forward_seconds'] * 1e3:.2f} ms", "1"),
        ("grader, gradient check (further_checks=False)", f"{figures['gradients_only_seconds'] * 1e3:.1f} ms",
         f"{figures['gradients_only_forward_passes']:.1f}"),
        ("grader, whole default report", f"{figures['grader_seconds'] * 1e3:.1f} ms",
         f"{figures['grader_forward_passes']:.1f}"),
        (f"naive central differences (from {figures['naive_sample']} timed)", f"{figures['naive_seconds']:.1f} s",
         f"{figures['naive_forward_passes']:,} (by count)"),
    ]
    lines = [f"Gradient check cost, {what} (medians of {figures['repeats']} interleaved rounds)", "",
             "| what | time | forward-pass equivalents |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    lines += ["", f"naive / gradient check: {figures['naive_over_grader']:,.0f} x; the whole report made "
                  f"{figures['student_calls']} calls to the student's code and {figures['reference_passes']} "
                  f"reference passes; check passed: {figures['passed']}"]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.grader_cost", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="data directory (default: $BACKPROP_LABS_DATA or ./data)")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--naive-sample", type=int, default=200)
    args = parser.parse_args(argv)
    print(format_table(measure(args.data_dir, args.repeats, naive_sample=args.naive_sample)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
