# Generated from labs_solutions/autodiff/__init__.py by `backprop-labs generate`: edit that file, not this one.
"""Mini-autodiff: reverse-mode automatic differentiation of NumPy code, in four small files.

- ``node.py``: :class:`Node`, a traced value (value, fun, args, parents).
- ``primitives.py`` (imported as ``anp``): NumPy functions wrapped to record Nodes.
- ``vjps.py``: the table of vector-Jacobian products, ``defvjp``, and ``unbroadcast``.
- ``backward.py``: ``toposort``, ``backward_pass`` and ``grad``.
- ``logistic_example.py`` and ``mlp.py``: models trained with ``grad``.

Example::

    from labs.autodiff import anp, grad
    def loss(w):
        return anp.sum(anp.tanh(x @ w) ** 2)
    grad(loss)(w)   # same shape as w

Exercises A.1-A.5 are VJP rules in ``vjps.py``; A.6 is ``backward_pass``.
"""
from . import primitives as anp
from .backward import backward_pass, grad, toposort, value_and_grad
from .mlp import AutodiffMLP
from .node import Node
from .primitives import primitive
from .vjps import VJPS, defvjp, parent_gradients, unbroadcast

__all__ = ["anp", "Node", "primitive", "VJPS", "defvjp", "parent_gradients", "unbroadcast",
           "toposort", "backward_pass", "grad", "value_and_grad", "AutodiffMLP"]
