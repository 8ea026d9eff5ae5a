"""Forward versus reverse mode, and backpropagation on progressive functions.

- ``modes.py``: the chain ``l(g_L(... g_1(x)))``, gradients by forward mode (exercise F.1)
  and reverse mode (exercise F.2) with counted operations, and the count formulas.
- ``progressive.py``: backpropagation with explicit Jacobian blocks ``A_i, B_i``
  (exercise F.3), checked against ``(softmax(W x) - y) kron x``.
- ``scaling.py``: operations and times as ``d``, ``m``, ``L`` grow, and their figure.
"""
from .modes import (OperationCounter, chain_forward, chain_loss, forward_mode_gradient,
                    forward_mode_operations, loss_jacobian, make_chain, reverse_mode_gradient,
                    reverse_mode_operations)
from .progressive import ProgressiveNetwork, multinomial_logistic_gradient, progressive_backprop

__all__ = ["OperationCounter", "chain_forward", "chain_loss", "forward_mode_gradient",
           "forward_mode_operations", "loss_jacobian", "make_chain", "reverse_mode_gradient",
           "reverse_mode_operations", "ProgressiveNetwork", "multinomial_logistic_gradient",
           "progressive_backprop"]
