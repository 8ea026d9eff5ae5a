"""Gradient exercise of the GLM lab (exercises G.1 and G.2): ``GLMNetwork.backpropagation``.

The student's gradients come from seeding backpropagation at the natural parameter with
``(y_hat - y) / B``, so they are right only if the inverse links (G.1) and the seed (G.2) are.
The reference rebuilds ``eta`` from the parameters and differentiates PyTorch's own losses,
which agree with the lab's negative log-likelihoods up to constants (hence
``loss_offset_allowed``). Listed in ``grading/exercise_index.py``.
"""
import importlib

import torch.nn.functional as F

from grading.diagnosis.vocabulary import GLM
from .registry import GradientExercise, register_exercise

GRADED_DISTRIBUTION = "poisson"  # the one `backprop-labs check` builds; the reference knows all three

REFERENCE_LOSSES = {  # distribution -> mean NLL of eta (B, out) and labels (B,), up to a constant
    "gaussian": lambda eta, labels: 0.5 * F.mse_loss(eta[:, 0], labels.to(eta.dtype)),
    "categorical": lambda eta, labels: F.cross_entropy(eta, labels.long()),
    "poisson": lambda eta, labels: F.poisson_nll_loss(eta[:, 0], labels.to(eta.dtype), log_input=True),
}


def glm_reference_loss(model, parameters, batch, ops):
    """Mean NLL of the labels given ``eta``: ReLU hidden layers, then a linear output layer."""
    activation = batch["input"]
    *hidden_layers, (last_weight, last_bias) = parameters
    for (weight, bias), name in zip(hidden_layers, model.hidden_activations):
        activation = ops.activation(name, activation @ weight.T + bias)
    eta = activation @ last_weight.T + last_bias
    return REFERENCE_LOSSES[model.distribution_name](eta, batch["output"])


def build_glm_network(package, data=None):
    """A ``GLMNetwork`` for Poisson labels from ``<package>.glm`` (``labs`` or ``labs_solutions``)."""
    glm = importlib.import_module(f"{package.__name__}.glm")
    return glm.GLMNetwork(GRADED_DISTRIBUTION)


def load_glm_data(data_dir=None):
    """The lab's synthetic inputs (N, 1) and Poisson counts (N,) as a ``train`` split (no file needed)."""
    from backprop_labs.datasets import LabData
    from backprop_labs.datasets.glm_synthetic import synthetic_glm_data

    data = synthetic_glm_data()
    return LabData({"train": (data.inputs, data.labels[GRADED_DISTRIBUTION])}, num_classes=None,
                   name=f"synthetic {GRADED_DISTRIBUTION} labels")


register_exercise(GradientExercise(
    name="glm_natural_parameter",
    title="Exercises G.1-G.2: inverse links and the seed (y_hat - y) / B (GLMNetwork.backpropagation)",
    recognizes=lambda model: type(model).__name__ == "GLMNetwork",
    reference_loss=glm_reference_loss,
    model_loss=lambda model, batch: model.loss(batch["input"], batch["output"]),
    output_bias=None,  # a shift of eta changes a Gaussian or Poisson likelihood: no shift probe
    build_model=build_glm_network,
    vocabulary=GLM,
    load_data=load_glm_data,
    loss_offset_allowed=True,  # the lab's NLLs keep log(2 pi) / 2 and log(y!)
))

__all__ = ["glm_reference_loss", "build_glm_network", "load_glm_data", "REFERENCE_LOSSES"]
