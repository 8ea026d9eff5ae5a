"""Row 1: what the grader's gradient check costs on one batch, against its floor and its peers.

The unit is one forward pass: the NumPy solution's ``cross_entropy_loss`` on the same batch,
timed in the same rounds. On the books MLP [13989, 20, 2], batch 30:

* 1a: the gradient check (``check_backpropagation(..., further_checks=False)``: the student's
  gradients against the autograd reference, with its finite-difference verification);
* 1b: naive central differences over every parameter, two forward passes each (a random sample of
  ``naive_sample`` parameters timed, the cost extrapolated);
* 1c: the whole default report;
* 1d: 1a over its floor: the student's forward+backward plus the reference's forward+backward,
  what any check that runs the student's code once against an independent reference must pay;
* 1e, 1f: the peers, ``torch.autograd.gradcheck`` on the same reference loss, fast mode and slow
  mode (slow mode extrapolated from the output layer's parameters: it perturbs every parameter);

and on a dense MLP [784, 256, 256, 10], batch 64 (every input column used, so the reference
cannot skip any): 1g the gradient check in forward passes, 1h over its floor; and on the demo's
digits network [64, 32, 10], batch 30 (1i), where the check's fixed cost dominates (its note gives the
floor's two parts also as a check calls them, one after the other, which costs more). The figures come
from ``bench/grader_cost.py``; this module holds the naive method and makes the rows.
"""
import time

import numpy as np

from backprop_labs.perturbation import get_mlp_parameter_handlers

from .table import Row, Target, seconds

STEP = 1e-5
FLOOR_GOAL = 1.6   # the gradient check within 1.6x of what any such check must pay
SMALL_MODEL_GOAL = 4   # forward passes on the digits network: half the fixed cost measured before (6-7)
SMALL_MODEL_ROUNDS = 15   # paired rounds at least: a round of the digits row takes milliseconds


def measure(settings):
    from . import grader_cost

    model = settings.numpy_mlp()
    batch = settings.first_batch()
    what = f"gradient check, MLP {settings.geometry()}, batch {len(batch['output'])}"
    num_parameters = sum(weight.size + bias.size for weight, bias in model.parameters)
    figures = grader_cost.measure(model=model, batch=batch, repeats=settings.repeats,
                                  calls=settings.calls_per_round, naive_sample=settings.naive_sample)
    _require_passed(figures, what)
    grader = f"grader {seconds(figures['gradients_only_seconds'])}"
    forward = f"forward pass {seconds(figures['forward_seconds'])}"
    floor = (f"floor {seconds(figures['floor_seconds'])} (student fwd+bwd {seconds(figures['student_seconds'])} "
             f"+ reference fwd+bwd {seconds(figures['reference_seconds'])})")
    rows = [
        Row("1a", what + ": grader", measured=grader, baseline=forward,
            paired=figures["gradients_only_forward_passes"], ratio_unit="forward passes",
            target=Target("<=", 5, "forward passes"),
            note=(f"further_checks=False: every gradient entry against the float64 autograd reference; 1 call to "
                  f"the student's code, {figures['gradients_only_reference_passes']} reference passes")),
        Row("1b", what + ": naive central differences",
            measured=f"naive central differences {seconds(figures['naive_seconds'])}", baseline=grader,
            paired=figures["naive_over_grader"], ratio_unit="x the grader",
            note=(f"{min(settings.naive_sample, num_parameters)} of {num_parameters:,} parameters timed, "
                  f"extrapolated; h = {STEP:g}, 2 forward passes each")),
        Row("1c", what + ": whole report", measured=f"report {seconds(figures['grader_seconds'])}",
            baseline=forward, paired=figures["grader_forward_passes"], ratio_unit="forward passes",
            note=(f"check_backpropagation's default: 1a plus the checks that call the student's code again "
                  f"(repeat call, logit shift, mean of examples, the model's loss): {figures['student_calls']} "
                  f"calls in all; {figures['grader_over_floor'].value:.2f}x the floor; for information, no target "
                  f"(retired by issue 30: a report costs milliseconds and no user waits on it)")),
        Row("1d", what + ": grader / floor", measured=grader, baseline=floor,
            paired=figures["gradients_only_over_floor"], target=Target("<=", FLOOR_GOAL),
            note=f"the floor is {figures['floor_forward_passes'].value:.2f} forward passes"),
        Row("1e", what + ": torch.autograd.gradcheck, fast mode",
            measured=f"gradcheck(fast_mode=True) {seconds(figures['gradcheck_fast_seconds'])}", baseline=grader,
            paired=figures["gradcheck_fast_over_grader"], ratio_unit="x the grader",
            note=(f"{figures['gradcheck_fast_forward_passes'].value:.1f} forward passes; PyTorch's check of the "
                  f"reference loss itself (float64, used columns) against finite differences along one random "
                  f"projection: it checks autograd, not the student's NumPy code; for information, no target")),
        Row("1f", what + ": torch.autograd.gradcheck, slow mode",
            measured=f"gradcheck(fast_mode=False) {seconds(figures['gradcheck_slow_seconds'])}", baseline=grader,
            paired=figures["gradcheck_slow_over_grader"], ratio_unit="x the grader",
            note=(f"extrapolated: timed on the output layer's {figures['gradcheck_slow_timed_parameters']} "
                  f"parameters (the rest held fixed), times {num_parameters:,} parameters; every parameter "
                  f"costs two forward passes of the whole model; for information, no target")),
    ]
    dense_model, dense_batch = grader_cost.dense_model_and_batch()
    dense = grader_cost.measure(model=dense_model, batch=dense_batch, repeats=settings.repeats,
                                calls=max(1, settings.calls_per_round // 4), report=False, peers=False)
    dense_what = f"gradient check, dense MLP {dense['geometry']}, batch {dense['batch_size']}"
    _require_passed(dense, dense_what)
    dense_grader = f"grader {seconds(dense['gradients_only_seconds'])}"
    rows += [
        Row("1g", dense_what + ": grader", measured=dense_grader,
            baseline=f"forward pass {seconds(dense['forward_seconds'])}",
            paired=dense["gradients_only_forward_passes"], ratio_unit="forward passes",
            target=Target("<=", 6, "forward passes"),
            note="sigmoid hidden layers, standard normal inputs: every input column is used"),
        Row("1h", dense_what + ": grader / floor", measured=dense_grader,
            baseline=(f"floor {seconds(dense['floor_seconds'])} (student fwd+bwd "
                      f"{seconds(dense['student_seconds'])} + reference fwd+bwd "
                      f"{seconds(dense['reference_seconds'])})"),
            paired=dense["gradients_only_over_floor"], target=Target("<=", FLOOR_GOAL),
            note=f"the floor is {dense['floor_forward_passes'].value:.2f} forward passes"),
    ]
    small_model, small_batch = grader_cost.digits_model_and_batch()
    # By CPU time: a check of under a millisecond against a forward pass of ~0.1 ms, timed by the wall
    # clock, is a ratio of whichever process the scheduler ran meanwhile (rounds of 3 to 48 at load 9).
    # This thread's CPU time leaves them out; both contenders run on this thread only (one PyTorch
    # thread, one BLAS thread). More calls per round: each is short.
    small = grader_cost.measure(model=small_model, batch=small_batch,
                                repeats=max(settings.repeats, SMALL_MODEL_ROUNDS), calls=4 * settings.calls_per_round,
                                report=False, peers=False, clock=time.thread_time)
    small_what = f"gradient check, digits MLP {small['geometry']}, batch {small['batch_size']}"
    _require_passed(small, small_what)
    rows.append(Row(
        "1i", small_what + ": grader", measured=f"grader {seconds(small['gradients_only_seconds'])}",
        baseline=f"forward pass {seconds(small['forward_seconds'])}", paired=small["gradients_only_forward_passes"],
        ratio_unit="forward passes", target=Target("<=", SMALL_MODEL_GOAL, "forward passes"),
        note=(f"the demo's network: the check's fixed cost (Python, PyTorch's dispatch) is most of it; the floor "
              f"is {small['floor_forward_passes'].value:.2f} forward passes, the check "
              f"{small['gradients_only_over_floor'].value:.2f}x the floor; the floor's two parts called one after "
              f"the other, as a check must call them, cost {small['alternated_floor_forward_passes'].value:.2f} "
              f"forward passes (each slows the other: NumPy's and PyTorch's code evict each other from the core's "
              f"caches), the check {small['gradients_only_over_alternated_floor'].value:.2f}x that; timed by this "
              f"thread's CPU time (time.thread_time), which other processes do not inflate")))
    return rows


def _require_passed(figures, what):
    """The solution must pass the check it is timed on: a failing check times a different path."""
    if not figures["gradients_only_passed"] or not figures.get("passed", True):
        raise AssertionError(f"{what}: the NumPy solution failed the gradient check it was timed on")


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
