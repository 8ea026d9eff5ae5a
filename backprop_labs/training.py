"""The lab's training loop: mini-batch SGD with test accuracy after every epoch."""
import numpy as np

from .threads import small_products
from .utils import accuracy


def train(model, data, num_epochs, batch_size, shuffle=False, seed=0, report=print):
    """Train ``model`` on ``data``'s train split; return the test accuracy after each epoch.

    ``report`` receives one line per epoch (``None`` for silence). With ``shuffle`` the
    batches are re-drawn every epoch from ``seed + epoch``. The products run on one BLAS and one
    PyTorch thread unless ``$BACKPROP_LABS_THREADS`` asks for more (:mod:`backprop_labs.threads`).
    """
    test_set = data.batches("test")[0]
    accuracies = []
    with small_products():
        for epoch in range(num_epochs):
            for batch in data.batches("train", batch_size, shuffle=shuffle, seed=seed + epoch):
                model.update(batch["input"], batch["output"])
            accuracies.append(accuracy(model.predict(test_set["input"]), test_set["output"]))
            if report is not None:
                report(f"Epoch {epoch + 1}: test accuracy {100 * accuracies[-1]:.2f} %")
    return np.array(accuracies)
