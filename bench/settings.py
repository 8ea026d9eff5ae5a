"""What the benchmarks run on: repetitions, sizes, data; one place for every knob."""
from dataclasses import dataclass, field
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Settings:
    """Benchmark settings; ``Settings.quick_settings(data_dir)`` gives tiny ones for a smoke run.

    ``data_dir`` is the data directory holding the books corpus (``None``: the usual
    setting, see ``backprop_labs.paths``). The model is the lab's books MLP
    ``[13989, hidden, 2]`` with the settings of ``backprop-labs demo --data amazon``.
    """

    repeats: int = 7
    data_dir: str | None = None
    naive_sample: int = 200           # parameters timed by naive central differences
    calls_per_round: int = 20         # single-batch calls timed together (rows 1 and 3)
    load_runs: int = 5                # fresh processes for the corpus load (row 4)
    epoch_processes: int = 3          # processes per contender for the training epoch (row 2)
    autograde_submissions: int = 20
    autograde_repetitions: int = 2    # each grades the class three ways: minutes
    class_submissions: int = 40       # row 7: a class graded against its floor, on 1 and 2 workers
    class_rounds: int = 2             # paired rounds, each grading the class three ways: many minutes
    run_suite: bool = False           # row 6 runs the test suite only when asked
    suite_record: Path = REPOSITORY_ROOT / "bench" / "suite_time.json"
    quick: bool = False
    command: str = "python -m bench"  # as typed, for the table's header
    load_before: float = float("nan")  # load average around the run, for the table's header
    load_after: float = float("nan")
    _books: object = field(default=None, repr=False)

    @classmethod
    def quick_settings(cls, data_dir, **overrides):
        values = dict(repeats=2, data_dir=str(data_dir), naive_sample=10, calls_per_round=2,
                      load_runs=1, epoch_processes=1, autograde_submissions=2, quick=True)
        values.update(overrides)
        return cls(**values)

    def lab(self):
        """Hidden size, learning rate, batch size of the books lab (shared with the demo)."""
        from grading.commands.demo import SETTINGS

        return SETTINGS["amazon"]

    def books(self):
        """The books corpus, loaded once per run."""
        if self._books is None:
            from backprop_labs.datasets import load_amazon_books

            self._books = load_amazon_books(self.data_dir)
        return self._books

    def geometry(self):
        data = self.books()
        return [data.num_features, self.lab()["hidden"], data.num_classes]

    def numpy_mlp(self, seed=0, dtype=None):
        import numpy as np

        from labs_solutions.numpy_mlp import NumpyMLP

        return NumpyMLP(self.geometry(), ["sigmoid", "softmax"], self.lab()["learning_rate"], seed=seed,
                        dtype=dtype or np.float64)

    def pytorch_mlp(self, seed=0, dtype=None):
        import torch

        from labs_solutions.pytorch_mlp import PytorchMLP

        return PytorchMLP(self.geometry(), ["sigmoid", "softmax"], self.lab()["learning_rate"], seed=seed,
                          dtype=dtype or torch.float32)

    def first_batch(self):
        return self.books().batches("train", self.lab()["batch_size"])[0]
