"""Row 3: the NumPy MLP's backward pass against its forward pass, on one batch.

``backpropagation`` runs a forward pass and then the backward recursion, so the backward
time is ``backpropagation - forward_keeping_activations``, each the median over rounds
of ``calls_per_round`` calls on the same batch.
"""
from .table import Row, Target, seconds
from .timing import interleaved, median, repeated


def measure(settings):
    model = settings.numpy_mlp()
    batch = settings.first_batch()
    x, y = batch["input"], batch["output"]

    calls = settings.calls_per_round
    times = interleaved({
        "forward": repeated(lambda: model.forward_keeping_activations(x), calls),
        "backpropagation": repeated(lambda: model.backpropagation(x, y), calls),
    }, settings.repeats)
    forward = median(times["forward"]) / settings.calls_per_round
    total = median(times["backpropagation"]) / settings.calls_per_round
    backward = total - forward
    return [Row(
        "3", f"NumPy MLP {settings.geometry()} backward / forward, batch {len(y)}",
        measured=f"backward {seconds(backward)}", baseline=f"forward {seconds(forward)}",
        ratio=backward / forward, ratio_unit="forward passes", target=Target("<=", 3, "forward passes"),
        note=f"backward = backpropagation() ({seconds(total)}) minus its forward pass",
    )]
