"""Hidden-layer non-linearities, by the names used in ``activation_functions``.

Each entry maps a name to the element-wise NumPy function applied to the
pre-activation ``z`` of shape ``(B, out)``. Their derivatives are part of the
backpropagation exercise and are not given here.
"""
import numpy as np
import scipy.special


def sigmoid(z):
    """Logistic function ``1 / (1 + exp(-z))`` (SciPy's ``expit``: no overflow for large ``|z|``)."""
    return scipy.special.expit(np.asarray(z))


def relu(z):
    """Rectified linear unit ``max(z, 0)``."""
    return np.maximum(z, 0.0)


HIDDEN_ACTIVATIONS = {
    "sigmoid": sigmoid,
    "tanh": np.tanh,
    "relu": relu,
}

OUTPUT_ACTIVATION = "softmax"


def check_activation_functions(geometry, activation_functions):
    """Validate an MLP configuration and return it as a list.

    ``geometry`` is ``[in, h1, ..., K]``; ``activation_functions`` has one name per
    layer: hidden names from ``HIDDEN_ACTIVATIONS`` and ``'softmax'`` last.
    """
    geometry = list(geometry)
    activation_functions = list(activation_functions)
    if len(geometry) < 2:
        raise ValueError(f"geometry needs at least [input_size, num_classes], got {geometry}")
    if len(activation_functions) != len(geometry) - 1:
        raise ValueError(
            f"geometry {geometry} has {len(geometry) - 1} layers but "
            f"{len(activation_functions)} activation functions were given: {activation_functions}"
        )
    if activation_functions[-1] != OUTPUT_ACTIVATION:
        raise ValueError(f"the last activation must be 'softmax', got {activation_functions[-1]!r}")
    for name in activation_functions[:-1]:
        if name not in HIDDEN_ACTIVATIONS:
            raise ValueError(
                f"unknown hidden activation {name!r}; choose one of {sorted(HIDDEN_ACTIVATIONS)}"
            )
    return geometry, activation_functions
