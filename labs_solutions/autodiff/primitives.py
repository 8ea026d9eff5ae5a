"""NumPy functions wrapped so that calls on Nodes are recorded.

Use this module where you would use ``numpy`` inside a function you want to
differentiate (``from labs.autodiff import anp``): on plain arrays each wrapper is the
NumPy function itself; when any positional argument is a :class:`Node`, it computes
the NumPy result on the unwrapped values and returns a new Node that remembers the
primitive, its arguments and which of them were traced.
"""
import functools

import numpy as np

from .node import Node


def primitive(numpy_function):
    """Wrap ``numpy_function`` for tracing; the wrapper is the key of its VJP rules."""

    @functools.wraps(numpy_function)
    def traced(*args, **kwargs):
        if any(isinstance(value, Node) for value in kwargs.values()):
            raise TypeError(f"{traced.__name__}: pass traced values as positional arguments, not keywords")
        parent_argnums = tuple(i for i, arg in enumerate(args) if isinstance(arg, Node))
        if not parent_argnums:
            return numpy_function(*args, **kwargs)
        values = tuple(arg.value if isinstance(arg, Node) else arg for arg in args)
        return Node(numpy_function(*values, **kwargs), traced, values, kwargs,
                    [args[i] for i in parent_argnums], parent_argnums)

    traced.wrapped = numpy_function
    return traced


negative = primitive(np.negative)
add = primitive(np.add)
subtract = primitive(np.subtract)
multiply = primitive(np.multiply)
divide = primitive(np.divide)
power = primitive(np.power)
exp = primitive(np.exp)
log = primitive(np.log)
tanh = primitive(np.tanh)
sum = primitive(np.sum)  # noqa: A001 -- mirrors numpy's name, as anp.sum
dot = primitive(np.dot)
matmul = primitive(np.matmul)
transpose = primitive(np.transpose)


def mean(x, axis=None, keepdims=False):
    """Not a primitive: built from ``sum`` and ``divide``, so it needs no VJP of its own."""
    shape = np.shape(x.value if isinstance(x, Node) else x)
    axes = range(len(shape)) if axis is None else np.atleast_1d(axis)
    count = int(np.prod([shape[a] for a in axes]))
    return divide(sum(x, axis=axis, keepdims=keepdims), count)


def _swapped(fun):
    """``fun`` with its two arguments exchanged, for reflected operators like ``2 * node``."""
    return lambda self, other: fun(other, self)


# Operator syntax on Nodes calls the same traced primitives, so ``(a + 3 * b) * c ** 2``
# on Nodes builds the graph of add, multiply and power.
_OPERATORS = {
    "__neg__": negative,
    "__add__": add, "__radd__": _swapped(add),
    "__sub__": subtract, "__rsub__": _swapped(subtract),
    "__mul__": multiply, "__rmul__": _swapped(multiply),
    "__truediv__": divide, "__rtruediv__": _swapped(divide),
    "__pow__": power, "__rpow__": _swapped(power),
    "__matmul__": matmul, "__rmatmul__": _swapped(matmul),
}
for _name, _function in _OPERATORS.items():
    setattr(Node, _name, _function)
Node.T = property(transpose)
