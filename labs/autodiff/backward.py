# Generated from labs_solutions/autodiff/backward.py by `backprop-labs generate`: edit that file, not this one.
"""Reverse mode: order the traced graph, pass gradients backwards, wrap it as ``grad``.

Backpropagation is message passing: each node adds up the gradients its children send
it, then sends each parent the vector-Jacobian product of its own primitive
(:func:`vjps.parent_gradients`). Processing nodes in topological order, the end node
first, guarantees a node has heard from every child before it sends anything.
"""
import numpy as np

from .node import Node
from .vjps import parent_gradients


def toposort(end_node):
    """All nodes that ``end_node`` depends on, each listed before its parents.

    ``end_node`` comes first and the inputs last. Iterative depth-first search, so that
    long graphs (a training loop, a deep chain) cannot exhaust Python's recursion limit.
    """
    finished, expanded = [], set()
    stack = [(end_node, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            finished.append(node)  # every parent is finished already
        elif node not in expanded:
            expanded.add(node)
            stack.append((node, True))
            stack.extend((parent, False) for parent in node.parents if parent not in expanded)
    return finished[::-1]


def backward_pass(g, end_node):
    """Gradients of the end node's value with respect to every input node it depends on.

    ``g`` is dL/d(end value), ``1.0`` (shaped like the end value) for ``grad``.
    Returns ``{input_node: gradient}``, each gradient shaped like its input's value.

    Walk ``toposort(end_node)``; keep a dict of the gradient each node has received so
    far. A node's gradient is complete when its turn comes: an input keeps it, any other
    node sends ``parent_gradients(node, its_gradient)`` to its ``node.parents``. A node
    used twice (``x * x``) hears from both uses and must ADD the two messages.
    """
    received = {end_node: g}  # node -> the sum of the gradient messages it has received so far
    input_gradients = {}      # input node -> its gradient: what this function returns
    raise NotImplementedError('Exercise A.6: implement the backward pass')
    return input_gradients


def _traceable(value):
    """Input values are traced as floats: the gradient of an integer input is still real."""
    array = np.asarray(value)
    return array.astype(float) if array.dtype.kind in "biu" else value


def value_and_grad(fun, argnum=0):
    """``fun`` turned into a function returning ``(value, gradient)``.

    ``fun`` must return a scalar (or a size-1 array) and use ``anp`` primitives or Node
    operators on its traced arguments. ``argnum`` picks the argument(s) to differentiate:
    an int gives one gradient, a tuple of ints a tuple of gradients, each shaped like its
    argument. An argument ``fun`` does not depend on gets a zero gradient.
    """
    argnums = (argnum,) if isinstance(argnum, int) else tuple(argnum)

    def value_and_gradient(*args, **kwargs):
        args = list(args)
        for i in argnums:
            args[i] = Node(_traceable(args[i]))
        inputs = [args[i] for i in argnums]
        end = fun(*args, **kwargs)
        if not isinstance(end, Node):  # the result does not depend on any traced input
            gradients = {}
            value = end
        else:
            if np.size(end.value) != 1:
                raise ValueError(f"grad needs a scalar-valued function: {getattr(fun, '__name__', fun)} "
                                 f"returned shape {np.shape(end.value)}")
            value = end.value
            gradients = backward_pass(np.ones_like(end.value, dtype=float), end)
        # A copy, so that the caller owns a writable array (or a NumPy scalar for a scalar input).
        results = tuple(np.array(gradients.get(node, np.zeros_like(node.value, dtype=float)))[()]
                        for node in inputs)
        return value, results[0] if isinstance(argnum, int) else results

    return value_and_gradient


def grad(fun, argnum=0):
    """``fun`` turned into a function returning the gradient of its scalar output with
    respect to argument ``argnum`` (int, or tuple of ints for several gradients)."""
    both = value_and_grad(fun, argnum)
    return lambda *args, **kwargs: both(*args, **kwargs)[1]
