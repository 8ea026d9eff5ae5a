"""What the grader's gradient check costs on one batch, against its floor and its peers.

Every contender is timed in every round, in a shuffled order (``bench.timing.interleaved``),
under the course's thread policy; ratios are medians of the per-round ratios. The unit is one
forward pass: the NumPy solution's ``cross_entropy_loss`` on the same batch.

* ``gradients only``: ``check_backpropagation(..., further_checks=False)``, every gradient entry
  against the float64 autograd reference (the gradient check); ``grader``: the whole default report;
* the floor of any check that runs the student's code once and compares it with an independent
  reference: the student's forward+backward (``backpropagation``) plus the reference's
  forward+backward (``ReferenceLoss.gradient``, on the input columns the batch uses);
* naive central differences over every parameter (two forward passes each): a random sample
  of parameters is timed and the cost extrapolated;
* PyTorch's own ``torch.autograd.gradcheck`` on the same reference loss (float64, used columns):
  ``fast_mode=True`` timed whole; slow mode (two passes per parameter) timed on the output layer's
  parameters with the rest held fixed and extrapolated to all parameters (see :func:`gradcheck_peers`).

``python -m bench.grader_cost [--data-dir DIR] [--repeats N]`` prints the table;
:func:`measure` returns the figures as a dict for the bench command.
"""
import argparse
import statistics
import time

import numpy as np

from .gradient_check import _parameter_sample, naive_central_differences
from .timing import interleaved, paired_ratio

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


def reference_loss_of(model, batch):
    """``(ReferenceLoss, float64 parameter arrays)`` as the grader builds them for ``model`` on ``batch``."""
    from grading.gradient_check.registry import find_exercise
    from grading.gradient_check.reference import ReferenceLoss, parameter_arrays

    exercise = find_exercise(model)
    specs = exercise.parameter_specs(model)
    return ReferenceLoss(exercise, model, model.parameters, specs, batch), parameter_arrays(model.parameters, specs)


def _repeated(function, calls):
    def run():
        for _ in range(calls):
            function()
    return lambda: run


def measure(data_dir=None, repeats=9, calls=5, naive_sample=200, model=None, batch=None, report=True,
            peers=True, clock=time.perf_counter):
    """Figures as a dict: seconds, forward-pass equivalents, floor, naive and gradcheck ratios.

    ``report=False`` leaves out the whole default report (``grader``), ``peers=False`` gradcheck
    and naive central differences: the dense-model row needs neither. ``clock``: what the rounds
    are timed by (:func:`bench.timing.interleaved`); ``time.thread_time`` for CPU time.
    """
    import grading

    if model is None:
        model, batch = _books_model_and_batch(data_dir)
    x, y = batch["input"], batch["output"]
    num_parameters = sum(weight.size + bias.size for weight, bias in model.parameters)
    sample = _parameter_sample(model, naive_sample, np.random.default_rng(0))
    reference, arrays = reference_loss_of(model, batch)

    contenders = {
        "forward": _repeated(lambda: model.cross_entropy_loss(x, y), calls),
        "student": _repeated(lambda: model.backpropagation(x, y), calls),
        "reference": _repeated(lambda: reference.gradient(arrays), calls),
        # The floor's two parts one after the other, as a check must call them: each runs slower than
        # alone when the other ran just before (NumPy's and PyTorch's code evict each other from the
        # core's caches; 1.4x on the digits network), which no check can avoid.
        "student then reference": _repeated(lambda: (model.backpropagation(x, y), reference.gradient(arrays)),
                                            calls),
        "gradients only": grader_contender(model, batch, calls, further_checks=False),
    }
    if report:
        contenders["grader"] = grader_contender(model, batch, calls)
    if peers:
        contenders["naive sample"] = lambda: lambda: naive_central_differences(model, batch, sample)
        gradcheck_fast = gradcheck_contender(model, batch, fast_mode=True)
        contenders["gradcheck fast"] = lambda: gradcheck_fast
    times = interleaved(contenders, repeats, clock=clock)
    per_call = {name: [t / calls for t in times[name]] for name in contenders
                if name not in ("naive sample", "gradcheck fast")}
    forward = per_call["forward"]
    floor = [s + r for s, r in zip(per_call["student"], per_call["reference"])]
    gradients_only = grading.check_backpropagation(model, x, y, further_checks=False)
    figures = {
        "geometry": [model.parameters[0][0].shape[1]] + [weight.shape[0] for weight, _ in model.parameters],
        "batch_size": len(y),
        "num_parameters": int(num_parameters),
        "forward_seconds": statistics.median(forward),
        "student_seconds": statistics.median(per_call["student"]),
        "reference_seconds": statistics.median(per_call["reference"]),
        "floor_seconds": statistics.median(floor),
        "floor_forward_passes": paired_ratio(floor, forward),
        "alternated_floor_seconds": statistics.median(per_call["student then reference"]),
        "alternated_floor_forward_passes": paired_ratio(per_call["student then reference"], forward),
        "gradients_only_over_alternated_floor": paired_ratio(per_call["gradients only"],
                                                             per_call["student then reference"]),
        "gradients_only_seconds": statistics.median(per_call["gradients only"]),
        "gradients_only_forward_passes": paired_ratio(per_call["gradients only"], forward),
        "gradients_only_over_floor": paired_ratio(per_call["gradients only"], floor),
        "gradients_only_reference_passes": gradients_only.cost["reference_passes"],
        "gradients_only_passed": gradients_only.passed,
        "repeats": repeats,
    }
    if report:
        full = grading.check_backpropagation(model, x, y)
        figures.update({
            "grader_seconds": statistics.median(per_call["grader"]),
            "grader_forward_passes": paired_ratio(per_call["grader"], forward),
            "grader_over_floor": paired_ratio(per_call["grader"], floor),
            "student_calls": full.cost["student_calls"],
            "reference_passes": full.cost["reference_passes"],
            "passed": full.passed,
        })
    if peers:
        naive = [t / len(sample) * num_parameters for t in times["naive sample"]]
        figures.update({
            "naive_seconds": statistics.median(naive),
            "naive_forward_passes": 2 * int(num_parameters),
            "naive_over_grader": paired_ratio(naive, per_call["gradients only"]),
            "naive_sample": len(sample),
            "gradcheck_fast_seconds": statistics.median(times["gradcheck fast"]),
            "gradcheck_fast_forward_passes": paired_ratio(times["gradcheck fast"], forward),
            "gradcheck_fast_over_grader": paired_ratio(times["gradcheck fast"], per_call["gradients only"]),
            **gradcheck_slow_extrapolated(model, batch, per_call["gradients only"], repeats=min(repeats, 3)),
        })
    return figures


def _gradcheck_function(model, batch, fixed=None):
    """The grader's reference loss (float64, on the input columns the batch uses: the same work as
    the grader's reference) as a function of tensors, for ``torch.autograd.gradcheck``: all
    parameter arrays as inputs, or (``fixed``: indices of arrays held constant) the others only."""
    import torch

    loss, arrays = reference_loss_of(model, batch)
    values = [torch.as_tensor(a) for a in loss.reduce(arrays)]
    fixed = set(fixed or ())
    free = [i for i in range(len(values)) if i not in fixed]

    def function(*free_values):
        current = list(values)
        for i, value in zip(free, free_values):
            current[i] = value
        return loss._loss(current, derivative_at_kink=0)[0]
    inputs = tuple(values[i].clone().requires_grad_() for i in free)
    return function, inputs


def gradcheck_contender(model, batch, fast_mode):
    """A function running ``torch.autograd.gradcheck`` on the reference loss of ``model`` (all
    parameters); raises if gradcheck disagrees (it would not be a peer then)."""
    import torch

    function, inputs = _gradcheck_function(model, batch)

    def run():
        if not torch.autograd.gradcheck(function, inputs, fast_mode=fast_mode):
            raise AssertionError("torch.autograd.gradcheck failed on the reference loss")
    return run


def gradcheck_slow_extrapolated(model, batch, grader_seconds, repeats=3):
    """Slow-mode gradcheck (every parameter perturbed, two passes each) timed over the last layer's
    parameters with the others held fixed, per parameter, times the number of parameters.

    The extrapolation is linear: each perturbed parameter costs the same two forward passes of the
    whole model, whichever layer it is in. ``grader_seconds``: the gradient check's per-round times,
    paired with as many slow-mode rounds as there are (``repeats``, the first rounds).
    """
    import torch

    total = sum(weight.size + bias.size for weight, bias in model.parameters)
    last = 2 * (len(model.parameters) - 1)
    function, inputs = _gradcheck_function(model, batch, fixed=range(last))
    timed = sum(int(t.numel()) for t in inputs)
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        if not torch.autograd.gradcheck(function, inputs, fast_mode=False):
            raise AssertionError("torch.autograd.gradcheck (slow mode) failed on the reference loss")
        seconds.append((time.perf_counter() - started) / timed * total)
    return {
        "gradcheck_slow_seconds": statistics.median(seconds),
        "gradcheck_slow_timed_parameters": timed,
        "gradcheck_slow_over_grader": paired_ratio(seconds, grader_seconds[:len(seconds)]),
    }


def dense_model_and_batch(geometry=(784, 256, 256, 10), batch_size=64, seed=0):
    """The dense comparison model: ``NumpyMLP`` with sigmoid hidden layers, on a batch of standard
    normal inputs (every input column used) and uniform labels."""
    from labs_solutions import NumpyMLP

    rng = np.random.default_rng(seed)
    geometry = list(geometry)
    model = NumpyMLP(geometry, ["sigmoid"] * (len(geometry) - 2) + ["softmax"], LEARNING_RATE, seed=seed)
    batch = {"input": rng.standard_normal((batch_size, geometry[0])),
             "output": rng.integers(0, geometry[-1], batch_size)}
    return model, batch


def digits_model_and_batch(batch_size=30):
    """The demo's digits network (``NumpyMLP([64, 32, 10], ['sigmoid', 'softmax'])``, README) on the first
    training batch: a model so small that the check's fixed cost, not its arithmetic, is what it pays."""
    from backprop_labs.datasets import load_digits_data
    from labs_solutions import NumpyMLP

    model = NumpyMLP([64, 32, 10], ["sigmoid", "softmax"], learning_rate=0.5)
    return model, load_digits_data().batches("train", batch_size)[0]


def format_table(figures):
    """Markdown table of :func:`measure`'s figures."""
    what = f"MLP {figures['geometry']}, batch {figures['batch_size']}, {figures['num_parameters']:,} parameters"
    rows = [
        ("one forward pass (NumPy solution)", f"{figures['forward_seconds'] * 1e3:.2f} ms", "1"),
        ("floor: student forward+backward + reference forward+backward", f"{figures['floor_seconds'] * 1e3:.2f} ms",
         f"{figures['floor_forward_passes'].value:.1f}"),
        ("grader, gradient check (further_checks=False)", f"{figures['gradients_only_seconds'] * 1e3:.1f} ms",
         f"{figures['gradients_only_forward_passes'].value:.1f}"),
    ]
    if "grader_seconds" in figures:
        rows.append(("grader, whole default report", f"{figures['grader_seconds'] * 1e3:.1f} ms",
                     f"{figures['grader_forward_passes'].value:.1f}"))
    if "naive_seconds" in figures:
        rows += [
            (f"naive central differences (from {figures['naive_sample']} timed)", f"{figures['naive_seconds']:.1f} s",
             f"{figures['naive_forward_passes']:,} (by count)"),
            ("torch.autograd.gradcheck, fast_mode=True", f"{figures['gradcheck_fast_seconds'] * 1e3:.1f} ms",
             f"{figures['gradcheck_fast_forward_passes'].value:.1f}"),
            (f"torch.autograd.gradcheck, slow mode (from {figures['gradcheck_slow_timed_parameters']} timed)",
             f"{figures['gradcheck_slow_seconds']:.1f} s", ""),
        ]
    lines = [f"Gradient check cost, {what} (medians of {figures['repeats']} paired rounds)", "",
             "| what | time | forward-pass equivalents |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    lines += ["", f"gradient check / floor: {figures['gradients_only_over_floor'].value:.2f} x; "
                  f"check passed: {figures['gradients_only_passed']}"]
    if "naive_seconds" in figures:
        lines.append(f"naive / gradient check: {figures['naive_over_grader'].value:,.0f} x")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.grader_cost", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="data directory (default: ./data)")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--naive-sample", type=int, default=200)
    parser.add_argument("--dense", action="store_true", help="the dense [784, 256, 256, 10] model, batch 64")
    args = parser.parse_args(argv)
    from backprop_labs.threads import small_products

    with small_products():
        if args.dense:
            model, batch = dense_model_and_batch()
            figures = measure(repeats=args.repeats, model=model, batch=batch, report=False, peers=False)
        else:
            figures = measure(args.data_dir, args.repeats, naive_sample=args.naive_sample)
    print(format_table(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
