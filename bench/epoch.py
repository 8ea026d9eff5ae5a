"""Row 2: one training epoch on books, the NumPy solution against PyTorch on CPU.

An epoch is what ``backprop_labs.training.train`` does per epoch, on batches made once per
process: an SGD step on every training batch of the lab's size, then the test accuracy.
Making the dense batches is the same code for both models and its cost depends on the
allocator's state more than on anything else (page faults on fresh memory), so it is left
out. Each contender runs in a process of its own (see ``bench.child``), the processes
alternating round after round; each process times ``repeats`` epochs after a warm-up one.

Row 2 compares equal precision, float32 on both sides (``NumpyMLP(..., dtype=np.float32)``,
PyTorch's default), under the course's thread policy (one BLAS and one PyTorch thread unless
``--threads`` or ``$BACKPROP_LABS_THREADS`` asks for more, as ``train()`` runs). Row 2b compares
float64 on both sides, row 2c the defaults of both labs (NumPy float64, PyTorch float32). Row 2d
repeats row 2 with the thread counts each library picks by itself (one per core): on a machine
shared with other work a two-thread product waits for a busy core, so 2d is the load-sensitive
one. Rows 2 and 2d both have a target. The ratio is the median of per-round ratios: the
processes of one round run back to back, in a shuffled order.
"""
import contextlib
import json
import os
import random
import sys

from backprop_labs.threads import LIBRARY_THREAD_VARIABLES, requested_threads

from .child import run_child
from .table import Row, Target, seconds
from .timing import interleaved, limited_threads, median, paired_ratio

# name: (model maker on Settings, dtype name, "policy" or "own" threads)
CONTENDERS = {
    "numpy32": ("numpy_mlp", "float32", "policy"),
    "torch32": ("pytorch_mlp", "float32", "policy"),
    "numpy64": ("numpy_mlp", "float64", "policy"),
    "torch64": ("pytorch_mlp", "float64", "policy"),
    "numpy32, own threads": ("numpy_mlp", "float32", "own"),
    "torch32, own threads": ("pytorch_mlp", "float32", "own"),
}


def measure(settings):
    names = list(CONTENDERS)
    order = random.Random(0)
    times = {name: [] for name in names}  # one median per process
    for _ in range(settings.epoch_processes):
        for name in order.sample(names, len(names)):
            epochs = run_child("bench.epoch", name, settings.repeats, settings.data_dir or "")
            times[name].append(median(epochs))

    lab = settings.lab()
    what = f"one epoch on books, MLP {settings.geometry()}, batch {lab['batch_size']}"
    processes = f"{settings.epoch_processes} processes per contender, {settings.repeats} epochs each"
    policy = f"{requested_threads()} BLAS and PyTorch thread(s) (the course's policy)"

    def row(number, title, numerator, denominator, **fields):
        return Row(number, what + title,
                   measured=f"NumPy {CONTENDERS[numerator][1]} {seconds(median(times[numerator]))}",
                   baseline=f"PyTorch {CONTENDERS[denominator][1]} {seconds(median(times[denominator]))}",
                   paired=paired_ratio(times[numerator], times[denominator]), **fields)

    return [
        row("2", ", float32 both", "numpy32", "torch32", target=Target("<=", 1.0),
            note=f"equal precision, {policy}; {processes}"),
        row("2b", ", float64 both", "numpy64", "torch64", note=f"{policy}; for information, no target"),
        row("2c", ", each lab's default precision", "numpy64", "torch32",
            note=f"NumPy lab float64 (its gradient tests compare at rtol 1e-6), PyTorch lab float32; {policy}; "
                 "for information, no target"),
        row("2d", ", float32 both, each library's own thread count", "numpy32, own threads",
            "torch32, own threads", target=Target("<=", 1.0),
            note=f"threads as each library picks them ({_own_threads()}); load-sensitive on shared cores"),
    ]


def _own_threads():
    """What 'own thread count' means in this run: the cores, unless --threads set the libraries' variables."""
    fixed = [f"{name}={os.environ[name]}" for name in LIBRARY_THREAD_VARIABLES if name in os.environ]
    return ", ".join(fixed) + " set, so not their own choice" if fixed else f"{os.cpu_count()} cores"


def _epochs_in_this_process(name, repeats, data_dir):
    """Seconds of ``repeats`` epochs of one contender, after a warm-up epoch."""
    import numpy as np
    import torch

    from backprop_labs.utils import accuracy

    from .settings import Settings

    settings = Settings(data_dir=data_dir or None)
    maker, dtype, threads = CONTENDERS[name]
    data = settings.books()
    batches, test = data.batches("train", settings.lab()["batch_size"]), data.batches("test")[0]
    library = torch if maker == "pytorch_mlp" else np
    make_model = lambda: getattr(settings, maker)(dtype=getattr(library, dtype))  # noqa: E731

    def prepare():
        model = make_model()

        def epoch():  # the body of train()'s epoch loop
            for batch in batches:
                model.update(batch["input"], batch["output"])
            accuracy(model.predict(test["input"]), test["output"])
        return epoch

    with limited_threads(None) if threads == "policy" else contextlib.nullcontext():
        return interleaved({name: prepare}, repeats)[name]


if __name__ == "__main__":
    print(json.dumps(_epochs_in_this_process(sys.argv[1], int(sys.argv[2]), sys.argv[3])))
