"""Row 3: the NumPy MLP's backward pass against its forward pass, on one batch.

The backward pass is timed on its own: ``backpropagation`` runs on a copy of the model whose
``forward_keeping_activations`` hands back the activations computed once, before timing, so
the timed region holds the backward recursion alone (the error at the softmax, the gradient
products, the error sent back through each layer). A difference of two separately timed
figures (``backpropagation - forward``) is not used: under load it can come out negative.

Forward and backward are timed in the same rounds (shuffled order); the ratio is the median of
the per-round ratios. When those ratios disagree (half their interquartile range above
``bench.timing.MAX_SPREAD`` of the median, as when other work takes the cores mid-round), the
row says ``unreliable (load N)`` instead of a ratio.
"""
import copy

import numpy as np

from .table import Row, Target, seconds
from .timing import interleaved, load_average, median, paired_ratio, repeated


def backward_only(model, input):
    """A shallow copy of ``model`` (same parameters) whose ``backpropagation`` skips the forward
    pass: it gets the activations of ``input``, computed here once."""
    kept = model.forward_keeping_activations(input)
    clone = copy.copy(model)
    clone.forward_keeping_activations = lambda batch: kept
    return clone


def measure(settings):
    model = settings.numpy_mlp()
    batch = settings.first_batch()
    x, y = batch["input"], batch["output"]
    backward_model = backward_only(model, x)
    for ours, full in zip(backward_model.backpropagation(x, y), model.backpropagation(x, y)):
        for gradient, expected in zip(ours, full):  # the shortcut computes the same gradients
            np.testing.assert_array_equal(gradient, expected)

    calls = settings.calls_per_round
    times = interleaved({
        "forward": repeated(lambda: model.forward_keeping_activations(x), calls),
        "backward": repeated(lambda: backward_model.backpropagation(x, y), calls),
    }, settings.repeats)
    forward = median(times["forward"]) / calls
    backward = median(times["backward"]) / calls
    paired = paired_ratio(times["backward"], times["forward"])
    return [Row(
        "3", f"NumPy MLP {settings.geometry()} backward / forward, batch {len(y)}",
        measured=f"backward {seconds(backward)}", baseline=f"forward {seconds(forward)}",
        ratio_unit="forward passes", target=Target("<=", 3, "forward passes"),
        note="backward timed alone (backpropagation() given the kept activations)", paired=paired,
        unreliable_load=None if paired.reliable else load_average(),
    )]
