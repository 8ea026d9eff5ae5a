"""Row 2: one training epoch on books, the NumPy solution against PyTorch on CPU.

An epoch is what ``backprop_labs.training.train`` does per epoch, on batches made once per
process: an SGD step on every training batch of the lab's size, then the test accuracy.
Making the dense batches is the same code for both models and its cost depends on the
allocator's state more than on anything else (page faults on fresh memory), so it is left
out. Each contender runs in a process of its own (see ``bench.child``), the processes
alternating round after round; each process times ``repeats`` epochs after a warm-up one.

Row 2 compares equal precision, float32 on both sides (``NumpyMLP(..., dtype=np.float32)``,
PyTorch's default), each library with its own thread count. Row 2b compares float64 on both
sides, row 2c the defaults of both labs (NumPy float64, PyTorch float32). Row 2d repeats row 2
with one BLAS and one PyTorch thread: on a machine shared with other work, two-thread products
wait for a busy core, and this row is the one that stays comparable.
"""
import json
import sys

from .child import run_child
from .table import Row, Target, seconds
from .timing import interleaved, limited_threads, median, median_ratio

# name: (model maker on Settings, dtype name, threads or 0 for the library's default)
CONTENDERS = {
    "numpy32": ("numpy_mlp", "float32", 0),
    "torch32": ("pytorch_mlp", "float32", 0),
    "numpy64": ("numpy_mlp", "float64", 0),
    "torch64": ("pytorch_mlp", "float64", 0),
    "numpy32, 1 thread": ("numpy_mlp", "float32", 1),
    "torch32, 1 thread": ("pytorch_mlp", "float32", 1),
}


def measure(settings):
    times = {name: [] for name in CONTENDERS}  # one median per process
    names = list(CONTENDERS)
    for round_index in range(settings.epoch_processes):
        for name in names if round_index % 2 == 0 else names[::-1]:
            epochs = run_child("bench.epoch", name, settings.repeats, settings.data_dir or "")
            times[name].append(median(epochs))

    lab = settings.lab()
    what = f"one epoch on books, MLP {settings.geometry()}, batch {lab['batch_size']}"
    processes = f"{settings.epoch_processes} processes per contender, {settings.repeats} epochs each"

    def row(number, title, numerator, denominator, **fields):
        return Row(number, what + title,
                   measured=f"NumPy {CONTENDERS[numerator][1]} {seconds(median(times[numerator]))}",
                   baseline=f"PyTorch {CONTENDERS[denominator][1]} {seconds(median(times[denominator]))}",
                   ratio=median_ratio(times[numerator], times[denominator]), **fields)

    return [
        row("2", ", float32 both", "numpy32", "torch32", target=Target("<=", 1.0),
            note=f"equal precision, each library's own thread count; {processes}"),
        row("2b", ", float64 both", "numpy64", "torch64", note="for information, no target"),
        row("2c", ", each lab's default precision", "numpy64", "torch32",
            note="NumPy lab float64 (its gradient tests compare at rtol 1e-6), PyTorch lab float32; "
                 "for information, no target"),
        row("2d", ", float32 both, one thread each", "numpy32, 1 thread", "torch32, 1 thread",
            note="1 BLAS thread, 1 PyTorch thread; for information, no target"),
    ]


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

    with limited_threads(threads or None):
        return interleaved({name: prepare}, repeats)[name]


if __name__ == "__main__":
    print(json.dumps(_epochs_in_this_process(sys.argv[1], int(sys.argv[2]), sys.argv[3])))
