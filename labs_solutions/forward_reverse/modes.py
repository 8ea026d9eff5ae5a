"""Forward and reverse mode on a chain ``f(x) = l(g_L(... g_1(x)))``.

Layer ``i`` is ``g_i(z) = act(W_i z)`` with ``W_i`` of shape ``(n_{i+1}, n_i)``: here
``n_1 = d``, ``n_2 = ... = n_L = m`` and ``n_{L+1} = K``. The loss is
``l(z) = ||y - z||^2 / 2``, whose Jacobian is the row ``(z - y)^T`` of shape ``(1, K)``.

By the chain rule ``grad f(x)^T = J_l J_L ... J_2 J_1``. Forward mode multiplies from
the right (matrix-matrix products, ``m x d`` partial Jacobians), reverse mode from the
left (row vector-matrix products). Every product goes through an
:class:`OperationCounter`, so the elementary operations can be counted and compared
with the formulas at the bottom of this file.
"""
import numpy as np

ACTIVATIONS = {  # name -> (function, derivative), both element-wise
    "linear": (lambda s: s, np.ones_like),
    "tanh": (np.tanh, lambda s: 1.0 - np.tanh(s) ** 2),
}


class OperationCounter:
    """Matrix products that count their elementary operations.

    An ``(n, k) @ (k, p)`` product costs ``n p (2k - 1)``: each of the ``n p`` entries
    takes ``k`` multiplications and ``k - 1`` additions.
    """

    def __init__(self):
        self.operations = 0

    def matmul(self, left, right):
        (n, k), (k_right, p) = np.shape(left), np.shape(right)
        if k != k_right:
            raise ValueError(f"cannot multiply shapes {np.shape(left)} and {np.shape(right)}")
        self.operations += n * p * (2 * k - 1)
        return left @ right


def make_chain(d, m, num_layers, num_outputs=1, seed=0):
    """Random weights ``[W_1 (m, d), W_2 (m, m), ..., W_L (K, m)]`` (``W_1`` is ``(K, d)``
    when ``num_layers == 1``), an input ``x (d,)`` and a target ``y (K,)``.

    Entries have variance ``1 / n_in`` so activations stay of order one through the chain.
    """
    rng = np.random.default_rng(seed)
    sizes = [d] + [m] * (num_layers - 1) + [num_outputs]
    weights = [rng.normal(scale=1.0 / np.sqrt(n_in), size=(n_out, n_in))
               for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    return weights, rng.normal(size=d), rng.normal(size=num_outputs)


def chain_forward(weights, x, activation="linear"):
    """The output ``z_{L+1} (K,)`` and the layer Jacobians ``[J_1, ..., J_L]``,
    ``J_i = diag(act'(W_i z_i)) W_i`` of shape ``(n_{i+1}, n_i)``.

    Building the Jacobians is the same work in both modes and is not counted.
    """
    function, derivative = ACTIVATIONS[activation]
    z, jacobians = np.asarray(x, dtype=float), []
    for weight in weights:
        pre_activation = weight @ z
        jacobians.append(derivative(pre_activation)[:, np.newaxis] * weight)
        z = function(pre_activation)
    return z, jacobians


def chain_loss(weights, x, y, activation="linear"):
    """``f(x) = ||y - z_{L+1}||^2 / 2``."""
    z, _ = chain_forward(weights, x, activation)
    return 0.5 * float(np.sum((y - z) ** 2))


def loss_jacobian(z, y):
    """Jacobian of ``l(z) = ||y - z||^2 / 2``: the row ``(z - y)^T``, shape ``(1, K)``."""
    return (np.asarray(z) - np.asarray(y))[np.newaxis, :]


def forward_mode_gradient(jacobians, loss_row, counter=None):
    """``grad f(x)``, shape ``(d,)``, multiplying the chain from the RIGHT.

    ``F_1 = J_1``, then ``F_i = J_i F_{i-1}`` (each ``(n_{i+1}, d)``), finally
    ``loss_row F_L``. ``jacobians = [J_1, ..., J_L]``, ``loss_row`` is ``(1, K)``. Do every
    product with ``counter.matmul`` so that it is counted.
    """
    counter = OperationCounter() if counter is None else counter
    ### BEGIN SOLUTION (Exercise F.1: gradient by forward mode)
    partial = jacobians[0]
    for jacobian in jacobians[1:]:
        partial = counter.matmul(jacobian, partial)
    gradient_row = counter.matmul(loss_row, partial)
    ### END SOLUTION
    return gradient_row[0]  # the (1, d) row as a vector (d,)


def reverse_mode_gradient(jacobians, loss_row, counter=None):
    """``grad f(x)``, shape ``(d,)``, multiplying the chain from the LEFT.

    ``G_{L+1} = loss_row``, then ``G_i = G_{i+1} J_i`` for ``i = L, ..., 1``: every
    ``G_i`` is a ``(1, n_i)`` row. Do every product with ``counter.matmul``.
    """
    counter = OperationCounter() if counter is None else counter
    gradient_row = loss_row  # G_{L+1}
    ### BEGIN SOLUTION (Exercise F.2: gradient by reverse mode)
    for jacobian in reversed(jacobians):
        gradient_row = counter.matmul(gradient_row, jacobian)
    ### END SOLUTION
    return gradient_row[0]  # G_1, the (1, d) row, as a vector (d,)


def _checked_depth(num_layers):
    if num_layers < 2:
        raise ValueError(f"the operation-count formulas assume L >= 2 layers, got L = {num_layers}")
    return num_layers


def forward_mode_operations(d, m, num_layers, num_outputs=1):
    """Exact count of :func:`forward_mode_gradient` for ``L >= 2``:
    ``(L - 2) m (2m - 1) d + K (2m - 1) d + (2K - 1) d``, about ``2 L m^2 d``."""
    L, K = _checked_depth(num_layers), num_outputs
    return (L - 2) * m * (2 * m - 1) * d + K * (2 * m - 1) * d + (2 * K - 1) * d


def reverse_mode_operations(d, m, num_layers, num_outputs=1):
    """Exact count of :func:`reverse_mode_gradient` for ``L >= 2``:
    ``(2K - 1) m + (L - 2) (2m - 1) m + (2m - 1) d``, about ``2 L m^2 + 2 m d``."""
    L, K = _checked_depth(num_layers), num_outputs
    return (2 * K - 1) * m + (L - 2) * (2 * m - 1) * m + (2 * m - 1) * d


def forward_mode_estimate(d, m, num_layers):
    """Leading term of the forward-mode count: ``2 L m^2 d``."""
    return 2 * num_layers * m ** 2 * d


def reverse_mode_estimate(d, m, num_layers):
    """Leading terms of the reverse-mode count: ``2 L m^2 + 2 m d``."""
    return 2 * num_layers * m ** 2 + 2 * m * d
