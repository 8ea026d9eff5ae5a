"""One thread policy for the small products: the training loop, the grader's calls of the
student's code and the benchmark units run on one BLAS and one PyTorch thread unless asked."""
import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_info

from backprop_labs.threads import THREADS_VARIABLE, requested_threads, small_products


def blas_threads():
    return sorted({pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"})


def test_one_thread_unless_asked(monkeypatch):
    monkeypatch.delenv(THREADS_VARIABLE, raising=False)
    assert requested_threads() == 1
    assert requested_threads(3) == 3
    monkeypatch.setenv(THREADS_VARIABLE, "2")
    assert requested_threads() == 2


@pytest.mark.parametrize("value", ["two", "0"])
def test_a_bad_thread_count_is_named(monkeypatch, value):
    monkeypatch.setenv(THREADS_VARIABLE, value)
    with pytest.raises(ValueError, match="thread"):
        requested_threads()


def test_small_products_limits_blas_and_torch_and_restores_them(monkeypatch):
    monkeypatch.delenv(THREADS_VARIABLE, raising=False)
    torch_before, blas_before = torch.get_num_threads(), blas_threads()
    with small_products():
        assert torch.get_num_threads() == 1 and blas_threads() == [1]
        with small_products(2):
            assert torch.get_num_threads() == 2 and blas_threads() == [2]
        assert torch.get_num_threads() == 1 and blas_threads() == [1]
    assert torch.get_num_threads() == torch_before and blas_threads() == blas_before


class _Recorder:
    """A model whose every call records the threads it ran with."""

    def __init__(self):
        self.seen = []

    def _record(self):
        self.seen.append((torch.get_num_threads(), tuple(blas_threads())))

    def update(self, input, output):
        self._record()

    def predict(self, input):
        self._record()
        return np.zeros(len(input), dtype=int)


def test_the_training_loop_runs_on_the_policy(digits, monkeypatch):
    from backprop_labs.training import train

    monkeypatch.delenv(THREADS_VARIABLE, raising=False)
    model = _Recorder()
    train(model, digits, num_epochs=1, batch_size=500, report=None)
    assert model.seen and set(model.seen) == {(1, (1,))}
    monkeypatch.setenv(THREADS_VARIABLE, "2")
    model = _Recorder()
    train(model, digits, num_epochs=1, batch_size=500, report=None)
    assert set(model.seen) == {(2, (2,))}


def test_the_grader_calls_the_student_on_the_policy(digits, monkeypatch):
    import grading
    from mutations.models import digits_batch, lab_model

    monkeypatch.delenv(THREADS_VARIABLE, raising=False)
    model, batch = lab_model(), digits_batch(digits)
    seen = []
    solution = model.backpropagation
    model.backpropagation = lambda x, y: seen.append((torch.get_num_threads(), tuple(blas_threads()))) or solution(x, y)
    assert grading.check_backpropagation(model, batch["input"], batch["output"], further_checks=False).passed
    assert seen and set(seen) == {(1, (1,))}
