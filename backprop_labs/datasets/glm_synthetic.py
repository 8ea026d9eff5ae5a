"""Synthetic data of the GLM lab: one input, labels of three distributions around one curve.

Shared by the lab (``labs/glm.py`` re-exports it) and the grader, which must not import the
solutions package for its data.
"""
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GLMData:
    """``inputs`` (N, 1) in [0, 1); per distribution, ``labels`` (N,) and the true ``means`` (N,)."""

    inputs: np.ndarray
    labels: dict
    means: dict


def synthetic_glm_data(num_examples=400, seed=0):
    """Labels of three distributions around the same curve ``s(x) = sin(10 x)``.

    Gaussian: ``s + noise`` with standard deviation 0.2; categorical: class 1 with probability
    ``sigmoid(3.5 s)``; Poisson: counts with rate ``2 exp(s)``.
    """
    rng = np.random.default_rng(seed)
    inputs = rng.random(num_examples)
    curve = np.sin(10 * inputs)
    means = {"gaussian": curve, "categorical": 1 / (1 + np.exp(-3.5 * curve)), "poisson": 2 * np.exp(curve)}
    labels = {
        "gaussian": rng.normal(means["gaussian"], 0.2),
        "categorical": rng.binomial(1, means["categorical"]),
        "poisson": rng.poisson(means["poisson"]).astype(np.float64),
    }
    return GLMData(inputs.reshape(-1, 1), labels, means)
