"""Exercise R.1: linear regression on the Advertising data, by least squares and by gradient descent.

The model predicts sales from the three budgets as ``design @ coefficients`` where
``design = [1, TV, radio, newspaper]`` has shape ``(N, 4)`` and ``coefficients`` shape ``(4,)``
(intercept first). The loss is the MEAN squared error ``mean((design @ coefficients - sales) ** 2)``.

Least squares solves for the minimiser directly. Gradient descent reaches the same point
with your gradient, provided the features are standardised first: the raw budgets differ
in scale by a factor of ten, which makes plain gradient descent crawl along the newspaper
direction. The standardised coefficients are mapped back to the raw scale to compare.
"""
import numpy as np


def design_matrix(features):
    """``[1, features]``: a column of ones for the intercept, shape ``(N, 1 + F)``."""
    features = np.asarray(features, dtype=np.float64)
    return np.column_stack([np.ones(features.shape[0]), features])


def least_squares(features, target):
    """Coefficients ``(1 + F,)`` minimising the mean squared error, intercept first."""
    coefficients, *_ = np.linalg.lstsq(design_matrix(features), np.asarray(target, float), rcond=None)
    return coefficients


def mean_squared_error(design, coefficients, target):
    """``mean((design @ coefficients - target) ** 2)`` for design ``(N, P)``, coefficients ``(P,)``."""
    residual = design @ coefficients - target
    return float(np.mean(residual ** 2))


def mean_squared_error_gradient(design, coefficients, target):
    """Gradient ``(P,)`` of :func:`mean_squared_error` with respect to ``coefficients``.

    ``design`` is ``(N, P)``, ``coefficients`` ``(P,)`` and ``target`` ``(N,)``. Each
    coefficient's derivative sums, over the examples, twice the residual times the column
    entry that coefficient multiplies, divided by ``N`` (the loss is a mean).
    """
    ### BEGIN SOLUTION (Exercise R.1: gradient of the mean squared error)
    gradient = (2.0 / design.shape[0]) * design.T @ (design @ coefficients - target)
    ### END SOLUTION
    return gradient  # (P,)


def standardise(features):
    """``(standardised, mean, std)``: each column of ``features`` ``(N, F)`` shifted to mean 0, scaled to std 1."""
    features = np.asarray(features, dtype=np.float64)
    mean, std = features.mean(axis=0), features.std(axis=0)
    return (features - mean) / std, mean, std


def to_raw_scale(standardised_coefficients, mean, std):
    """Coefficients on the raw features from coefficients ``(1 + F,)`` fitted on standardised ones.

    ``b + sum_j w_j (x_j - mean_j) / std_j`` equals ``(b - sum_j w_j mean_j / std_j) + sum_j (w_j / std_j) x_j``.
    """
    intercept, weights = standardised_coefficients[0], standardised_coefficients[1:]
    raw_weights = weights / std
    return np.concatenate([[intercept - raw_weights @ mean], raw_weights])


def gradient_descent(features, target, learning_rate=0.1, num_steps=1000,
                     gradient=mean_squared_error_gradient):
    """Fit by full-batch gradient descent on standardised features.

    ``gradient(design, coefficients, target)`` gives the gradient of the mean squared error
    (yours by default). Starts from zero coefficients. Returns ``(coefficients, losses)``:
    coefficients ``(1 + F,)`` on the RAW feature scale, comparable with :func:`least_squares`,
    and the loss before each step, shape ``(num_steps,)``.
    """
    standardised, mean, std = standardise(features)
    design = design_matrix(standardised)
    target = np.asarray(target, dtype=np.float64)
    coefficients = np.zeros(design.shape[1])
    losses = np.empty(num_steps)
    for step in range(num_steps):
        losses[step] = mean_squared_error(design, coefficients, target)
        coefficients = coefficients - learning_rate * gradient(design, coefficients, target)
    return to_raw_scale(coefficients, mean, std), losses
