"""The chapter's two MNIST classifiers on the 8x8 digits, trained by NumPy and by PyTorch.

Multinomial logistic regression is an MLP without a hidden layer (geometry ``[64, 10]``,
activations ``['softmax']``); the chapter's network adds one sigmoid hidden layer
(``[64, 32, 10]``, ``['sigmoid', 'softmax']``). Each is trained twice by plain SGD on the
MEAN cross-entropy: with ``NumpyMLP`` (your backpropagation, Exercise 2.2) and with
``PytorchMLP`` (your forward pass, Exercise 2.4, differentiated by autograd). With the same
``seed`` both start from the same weights, and they see the same mini-batches, so their
losses should agree step by step and their test accuracies should match.

The 8x8 digits ship with scikit-learn, so nothing is downloaded; with the MNIST IDX files
in the data directory, ``backprop_labs.datasets.load_mnist()`` gives the real set.
"""
from functools import partial

import numpy as np
import torch

from backprop_labs.training import train

from .numpy_mlp import NumpyMLP
from .pytorch_mlp import PytorchMLP

ARCHITECTURES = {  # name -> (hidden layer sizes, hidden activations)
    "multinomial logistic regression": ((), ()),
    "sigmoid network": ((32,), ("sigmoid",)),
}
FRAMEWORKS = {  # PyTorch in float64, so that any difference from NumPy is the student's, not rounding
    "numpy": NumpyMLP,
    "pytorch": partial(PytorchMLP, dtype=torch.float64),
}
SETTINGS = dict(learning_rate=0.5, batch_size=30, num_epochs=30)


def build_model(architecture, framework, data, learning_rate, seed=0):
    """A fresh model of ``architecture`` (key of ``ARCHITECTURES``) from ``framework`` (key of ``FRAMEWORKS``)."""
    hidden_sizes, hidden_activations = ARCHITECTURES[architecture]
    geometry = [data.num_features, *hidden_sizes, data.num_classes]
    return FRAMEWORKS[framework](geometry, [*hidden_activations, "softmax"], learning_rate, seed=seed)


def compare_accuracies(data, learning_rate=SETTINGS["learning_rate"], batch_size=SETTINGS["batch_size"],
                       num_epochs=SETTINGS["num_epochs"], seed=0, report=None):
    """Test accuracy after each epoch, ``{architecture: {framework: (num_epochs,) array}}``.

    Batches are shuffled every epoch from ``seed + epoch``, identically for both frameworks.
    ``report`` receives one line per epoch and model (``None`` for silence).
    """
    accuracies = {}
    for architecture in ARCHITECTURES:
        accuracies[architecture] = {}
        for framework in FRAMEWORKS:
            model = build_model(architecture, framework, data, learning_rate, seed)
            prefix = f"{architecture}, {framework}: "
            accuracies[architecture][framework] = train(
                model, data, num_epochs, batch_size, shuffle=True, seed=seed,
                report=None if report is None else (lambda line, prefix=prefix: report(prefix + line)))
    return accuracies


def loss_trajectories(data, architecture, num_steps=100, learning_rate=SETTINGS["learning_rate"],
                      batch_size=SETTINGS["batch_size"], seed=0):
    """Mean cross-entropy of each mini-batch before its SGD step, ``{framework: (num_steps,) array}``.

    Both frameworks start from the weights drawn from ``seed`` and take the first ``num_steps``
    batches of the training set in the same (shuffled by ``seed``) order.
    """
    batches = data.batches("train", batch_size, shuffle=True, seed=seed)[:num_steps]
    trajectories = {}
    for framework in FRAMEWORKS:
        model = build_model(architecture, framework, data, learning_rate, seed)
        losses = []
        for batch in batches:
            losses.append(model.cross_entropy_loss(batch["input"], batch["output"]))
            model.update(batch["input"], batch["output"])
        trajectories[framework] = np.array(losses)
    return trajectories
