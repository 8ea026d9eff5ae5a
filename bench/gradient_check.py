"""Row 1: what the grader's gradient check of the books MLP costs, on one batch.

1a: the grader's time in forward-pass equivalents (one forward pass: the NumPy solution's
``cross_entropy_loss`` on the same batch, timed interleaved). 1b: naive central
differences over every parameter, two forward passes each: a random sample of
``naive_sample`` parameters is timed and the cost extrapolated to all of them. The
grader's figures come from ``bench/grader_cost.py``; this module holds the naive method.
"""
import importlib

import numpy as np

from backprop_labs.perturbation import get_mlp_parameter_handlers

from .table import NOT_AVAILABLE, Row, Target, seconds
from .timing import interleaved, median, repeated

STEP = 1e-5


def measure(settings):
    model = settings.numpy_mlp()
    batch = settings.first_batch()
    what = f"gradient check, MLP {settings.geometry()}, batch {len(batch['output'])}"
    num_parameters = sum(weight.size + bias.size for weight, bias in model.parameters)
    naive_note = (f"{min(settings.naive_sample, num_parameters)} of {num_parameters:,} parameters timed, "
                  f"extrapolated; h = {STEP:g}, 2 forward passes each")
    grader_cost = _grader_cost_module()
    if grader_cost is None:
        return _without_grader(settings, model, batch, what, naive_note)
    figures = grader_cost.measure(model=model, batch=batch, repeats=settings.repeats,
                                  calls=settings.calls_per_round, naive_sample=settings.naive_sample)
    grader = f"grader {seconds(figures['grader_seconds'])}"
    return [
        Row("1a", what + ": grader", measured=grader, baseline=f"forward pass {seconds(figures['forward_seconds'])}",
            ratio=figures["grader_forward_passes"], ratio_unit="forward passes",
            target=Target("<=", 10, "forward passes"),
            note=(f"whole report: {figures['student_calls']} calls to the student's code, "
                  f"{figures['reference_passes']} reference passes; the gradient comparison alone "
                  f"{seconds(figures['gradients_only_seconds'])} = "
                  f"{figures['gradients_only_forward_passes']:.3g} forward passes")),
        Row("1b", what + ": naive central differences",
            measured=f"naive central differences {seconds(figures['naive_seconds'])}", baseline=grader,
            ratio=figures["naive_over_grader"], ratio_unit="x the grader", note=naive_note),
    ]


def _without_grader(settings, model, batch, what, naive_note):
    """Row 1 while ``bench/grader_cost.py`` is absent: naive differences against a forward pass."""
    sample = _parameter_sample(model, settings.naive_sample, np.random.default_rng(0))
    num_parameters = sum(weight.size + bias.size for weight, bias in model.parameters)
    forward_pass = lambda: model.cross_entropy_loss(batch["input"], batch["output"])  # noqa: E731
    times = interleaved({
        "forward": repeated(forward_pass, settings.calls_per_round),
        "naive": lambda: lambda: naive_central_differences(model, batch, sample),
    }, settings.repeats)
    forward = median(times["forward"]) / settings.calls_per_round
    naive = median(times["naive"]) / len(sample) * num_parameters
    return [
        Row("1a", what + ": grader", status=NOT_AVAILABLE, target=Target("<=", 10, "forward passes")),
        Row("1b", what + ": naive central differences", measured=f"naive central differences {seconds(naive)}",
            baseline=f"forward pass {seconds(forward)}", ratio=naive / forward, ratio_unit="forward passes",
            note=naive_note + "; grader not available yet"),
    ]


def _parameter_sample(model, size, rng):
    """``size`` parameter addresses ``(layer, is_bias, row, column)`` drawn uniformly over all parameters."""
    addresses = []
    for layer, (weight, bias) in enumerate(model.parameters):
        addresses += [(layer, False, weight.shape[1]), (layer, True, 1)]
    sizes = np.array([model.parameters[layer][int(is_bias)].size for layer, is_bias, _ in addresses])
    flat = rng.choice(sizes.sum(), size=min(size, sizes.sum()), replace=False)
    which = np.searchsorted(np.cumsum(sizes), flat, side="right")
    offsets = flat - np.concatenate([[0], np.cumsum(sizes)])[which]
    return [(addresses[w][0], addresses[w][1], int(o // addresses[w][2]), int(o % addresses[w][2]))
            for w, o in zip(which, offsets)]


def naive_central_differences(model, batch, addresses, step=STEP):
    """``(L(w + h) - L(w - h)) / 2h`` for each addressed parameter, the one-at-a-time way."""
    slopes = []
    for layer, is_bias, row, column in addresses:
        get, set_ = get_mlp_parameter_handlers(layer, is_bias, row, column)
        value = get(model.parameters)
        losses = []
        for shifted in (value + step, value - step):
            set_(model.parameters, shifted)
            losses.append(model.cross_entropy_loss(batch["input"], batch["output"]))
        set_(model.parameters, value)
        slopes.append((losses[0] - losses[1]) / (2 * step))
    return slopes


def _grader_cost_module():
    """``bench.grader_cost`` (written with the grader), or None while it does not exist."""
    try:
        return importlib.import_module("bench.grader_cost")
    except ModuleNotFoundError as error:
        if error.name != "bench.grader_cost":
            raise
        return None
