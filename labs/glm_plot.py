# Generated from labs_solutions/glm_plot.py by `backprop-labs generate`: edit that file, not this one.
"""Figure of the GLM lab: the fitted mean of each label distribution against the data."""
import numpy as np

from .glm import DISTRIBUTIONS

PANEL_TITLES = {
    "gaussian": "Gaussian labels: mean",
    "categorical": "Categorical labels: P(class 1)",
    "poisson": "Poisson labels: rate",
}


def mean_of_interest(distribution, y_hat):
    """The column of ``y_hat`` (N, out) to draw: P(class 1) for the categorical, else the mean (N,)."""
    return y_hat[:, 1] if distribution == "categorical" else y_hat[:, 0]


def plot_glm_fits(data, networks, path):
    """Save to ``path`` one panel per distribution: labels, true mean and fitted mean.

    ``data`` is a :class:`GLMData`; ``networks`` maps each distribution name to a trained
    :class:`GLMNetwork`. The format follows the file suffix (``.png``, ``.pdf``, ...).
    Returns ``path``.
    """
    # A bare Figure draws with Agg and touches no pyplot state, so notebooks keep their backend.
    from matplotlib.figure import Figure

    order = np.argsort(data.inputs[:, 0])
    x = data.inputs[order, 0]
    figure = Figure(figsize=(15, 4.2))
    axes = figure.subplots(1, len(DISTRIBUTIONS))
    for axis, distribution in zip(axes, DISTRIBUTIONS):
        fitted = mean_of_interest(distribution, networks[distribution].mean(data.inputs))
        axis.scatter(x, data.labels[distribution][order], s=12, alpha=0.3, label="labels")
        axis.plot(x, data.means[distribution][order], color="black", linestyle="--", label="true mean")
        axis.plot(x, fitted[order], color="tab:red", linewidth=2, label="fitted mean")
        axis.set_title(PANEL_TITLES[distribution])
        axis.set_xlabel("x")
        axis.legend(loc="best", fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    return path
