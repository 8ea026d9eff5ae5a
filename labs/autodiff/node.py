# Generated from labs_solutions/autodiff/node.py by `backprop-labs generate`: edit that file, not this one.
"""The traced value: one node of the computation graph.

While a function runs under :func:`grad`, every primitive that receives a ``Node``
returns a new ``Node`` remembering how it was made. Following ``parents`` from the
output back to the inputs walks the whole graph.
"""


class Node:
    """A value computed during tracing, and the recipe that produced it.

    ``value``   the NumPy array (or scalar) computed on this particular input.
    ``fun``     the traced primitive that produced it (``None`` for an input).
    ``args``    the primitive's positional arguments as plain values (Nodes unwrapped),
                which the VJP rules receive.
    ``kwargs``  its keyword arguments (e.g. ``axis`` for ``sum``).
    ``parents`` the Nodes among ``args``; ``parent_argnums[i]`` is the position of
                ``parents[i]`` in ``args``. An input node has no parents.

    Arithmetic operators (``+ - * / ** @``, unary ``-``) and ``.T`` are attached by
    ``primitives.py`` so that ``x * y`` on Nodes is traced like ``multiply(x, y)``.
    """

    # NumPy must not treat a Node as an opaque object inside an array: with this set to
    # None, ``ndarray * node`` hands over to ``Node.__rmul__`` and stays traced.
    __array_ufunc__ = None

    def __init__(self, value, fun=None, args=(), kwargs=None, parents=(), parent_argnums=()):
        self.value = value
        self.fun = fun
        self.args = tuple(args)
        self.kwargs = dict(kwargs or {})
        self.parents = tuple(parents)
        self.parent_argnums = tuple(parent_argnums)

    @property
    def is_input(self):
        return not self.parents

    @property
    def shape(self):
        return getattr(self.value, "shape", ())

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        made_by = getattr(self.fun, "__name__", "input")
        return f"Node({made_by}, shape={self.shape})"
