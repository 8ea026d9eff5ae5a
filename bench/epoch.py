"""Row 2: one training epoch on books, the NumPy solution against PyTorch on CPU.

Both run ``backprop_labs.training.train`` for one epoch (batches of the lab's size, then
the test accuracy), so they share every cost but the model's own. Row 2 compares the
defaults: NumPy float64 against PyTorch float32, each library with its own thread count.
Row 2b compares equal precision (PyTorch float64). Row 2c repeats row 2 with one BLAS and
one PyTorch thread: on a machine shared with other work, two-thread products wait for a
busy core, and this row is the one that stays comparable.
"""
import torch

from backprop_labs.training import train

from .table import Row, Target, seconds
from .timing import interleaved, limited_threads, median, median_ratio


def measure(settings):
    data, lab = settings.books(), settings.lab()

    def epoch_of(make_model):
        def prepare():
            model = make_model()
            return lambda: train(model, data, 1, lab["batch_size"], report=None)
        return prepare

    numpy_epoch, torch_epoch = epoch_of(settings.numpy_mlp), epoch_of(settings.pytorch_mlp)
    times = interleaved({
        "numpy": numpy_epoch,
        "torch32": torch_epoch,
        "torch64": epoch_of(lambda: settings.pytorch_mlp(dtype=torch.float64)),
    }, settings.repeats)
    with limited_threads(1):
        single = interleaved({"numpy": numpy_epoch, "torch32": torch_epoch}, settings.repeats)

    what = f"one epoch on books, MLP {settings.geometry()}, batch {lab['batch_size']}"
    numpy_seconds = f"NumPy float64 {seconds(median(times['numpy']))}"
    return [
        Row("2", what, measured=numpy_seconds, baseline=f"PyTorch float32 {seconds(median(times['torch32']))}",
            ratio=median_ratio(times["numpy"], times["torch32"]), target=Target("<=", 1.0),
            note="defaults of both models and libraries; median of per-round ratios"),
        Row("2b", what + ", equal precision", measured=numpy_seconds,
            baseline=f"PyTorch float64 {seconds(median(times['torch64']))}",
            ratio=median_ratio(times["numpy"], times["torch64"]), note="for information, no target"),
        Row("2c", what + ", one thread each", measured=f"NumPy float64 {seconds(median(single['numpy']))}",
            baseline=f"PyTorch float32 {seconds(median(single['torch32']))}",
            ratio=median_ratio(single["numpy"], single["torch32"]),
            note="1 BLAS thread, 1 PyTorch thread; for information, no target"),
    ]
