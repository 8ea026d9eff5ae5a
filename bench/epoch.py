"""Row 2: one training epoch on books, the NumPy solution against PyTorch on CPU.

An epoch is what ``backprop_labs.training.train`` does per epoch, on batches made once per
process: an SGD step on every training batch of the lab's size, then the test accuracy.
Making the dense batches is the same code for both models and its cost depends on the
allocator's state more than on anything else (page faults on fresh memory), so it is left
out. Each contender runs in a process of its own (see ``bench.child``), the processes
alternating round after round; each process times ``repeats`` epochs after a warm-up one.

Row 2 compares the defaults: NumPy float64 against PyTorch float32, each library with its
own thread count. Row 2b compares equal precision (PyTorch float64). Row 2c repeats row 2
with one BLAS and one PyTorch thread: on a machine shared with other work, two-thread
products wait for a busy core, and this row is the one that stays comparable.
"""
import json
import sys

from .child import run_child
from .table import Row, Target, seconds
from .timing import interleaved, limited_threads, median, median_ratio

# name: (model maker on Settings, dtype name for PyTorch or None, threads or 0 for the default)
CONTENDERS = {
    "numpy": ("numpy_mlp", None, 0),
    "torch32": ("pytorch_mlp", "float32", 0),
    "torch64": ("pytorch_mlp", "float64", 0),
    "numpy, 1 thread": ("numpy_mlp", None, 1),
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
    numpy_seconds = f"NumPy float64 {seconds(median(times['numpy']))}"
    processes = f"{settings.epoch_processes} processes per contender, {settings.repeats} epochs each"
    return [
        Row("2", what, measured=numpy_seconds, baseline=f"PyTorch float32 {seconds(median(times['torch32']))}",
            ratio=median_ratio(times["numpy"], times["torch32"]), target=Target("<=", 1.0),
            note=f"defaults of both models and libraries; {processes}"),
        Row("2b", what + ", equal precision", measured=numpy_seconds,
            baseline=f"PyTorch float64 {seconds(median(times['torch64']))}",
            ratio=median_ratio(times["numpy"], times["torch64"]), note="for information, no target"),
        Row("2c", what + ", one thread each",
            measured=f"NumPy float64 {seconds(median(times['numpy, 1 thread']))}",
            baseline=f"PyTorch float32 {seconds(median(times['torch32, 1 thread']))}",
            ratio=median_ratio(times["numpy, 1 thread"], times["torch32, 1 thread"]),
            note="1 BLAS thread, 1 PyTorch thread; for information, no target"),
    ]


def _epochs_in_this_process(name, repeats, data_dir):
    """Seconds of ``repeats`` epochs of one contender, after a warm-up epoch."""
    import torch

    from backprop_labs.utils import accuracy

    from .settings import Settings

    settings = Settings(data_dir=data_dir or None)
    maker, dtype, threads = CONTENDERS[name]
    data = settings.books()
    batches, test = data.batches("train", settings.lab()["batch_size"]), data.batches("test")[0]
    make_model = getattr(settings, maker)
    if dtype is not None:
        make_model = lambda: settings.pytorch_mlp(dtype=getattr(torch, dtype))  # noqa: E731

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
