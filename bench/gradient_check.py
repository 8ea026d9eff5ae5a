"""Row 1: what the grader's gradient check of the books MLP costs, on one batch.

1a: the gradient check (``check_backpropagation(..., further_checks=False)``: the student's
gradients against the autograd reference and its finite-difference cross-check) in
forward-pass equivalents (one forward pass: the NumPy solution's ``cross_entropy_loss`` on
the same batch, timed interleaved). 1b: naive central differences over every parameter, two
forward passes each: a random sample of ``naive_sample`` parameters is timed and the cost
extrapolated to all of them. 1c: the whole default report. The grader's figures come from
``bench/grader_cost.py``; this module holds the naive method.
"""
import numpy as np

from backprop_labs.perturbation import get_mlp_parameter_handlers

from .table import Row, Target, seconds

STEP = 1e-5


def measure(settings):
    model = settings.numpy_mlp()
    batch = settings.first_batch()
    what = f"gradient check, MLP {settings.geometry()}, batch {len(batch['output'])}"
    num_parameters = sum(weight.size + bias.size for weight, bias in model.parameters)
    naive_note = (f"{min(settings.naive_sample, num_parameters)} of {num_parameters:,} parameters timed, "
                  f"extrapolated; h = {STEP:g}, 2 forward passes each")
    from . import grader_cost

    figures = grader_cost.measure(model=model, batch=batch, repeats=settings.repeats,
                                  calls=settings.calls_per_round, naive_sample=settings.naive_sample)
    grader = f"grader {seconds(figures['gradients_only_seconds'])}"
    return [
        Row("1a", what + ": grader", measured=grader, baseline=f"forward pass {seconds(figures['forward_seconds'])}",
            ratio=figures["gradients_only_forward_passes"], ratio_unit="forward passes",
            target=Target("<=", 10, "forward passes"),
            note=(f"every gradient entry against the float64 autograd reference, cross-checked by central "
                  f"differences along a random direction: 1 call to the student's code, "
                  f"{figures['gradients_only_reference_passes']} reference passes")),
        Row("1b", what + ": naive central differences",
            measured=f"naive central differences {seconds(figures['naive_seconds'])}", baseline=grader,
            ratio=figures["naive_over_grader"], ratio_unit="x the grader", note=naive_note),
        Row("1c", what + ": whole report", measured=f"report {seconds(figures['grader_seconds'])}",
            baseline=f"forward pass {seconds(figures['forward_seconds'])}",
            ratio=figures["grader_forward_passes"], ratio_unit="forward passes",
            note=(f"what check_backpropagation does by default: 1a plus the checks that call the student's code "
                  f"again (repeat call, logit shift, mean of examples, the model's loss): "
                  f"{figures['student_calls']} calls in all; for information, no target")),
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
