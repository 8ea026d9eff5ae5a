"""The VJP table: for each traced primitive, one rule per positional argument.

A rule has the signature ``rule(g, ans, *args, **kwargs)``: ``g`` is the gradient of the
final scalar with respect to the primitive's output ``ans`` (same shape as ``ans``), and
``args``/``kwargs`` are the plain values the primitive was called with. It returns the
gradient with respect to ONE argument, the vector-Jacobian product ``g . d ans / d arg``,
without ever building the Jacobian.

Broadcasting is handled once, in :func:`parent_gradients`: an element-wise rule may
return its gradient in the broadcast shape of ``ans``, and :func:`unbroadcast` sums it
back to the argument's own shape. Rules themselves never deal with broadcasting.
"""
import numpy as np

from . import primitives as anp

VJPS = {}


def defvjp(fun, *rules):
    """Register ``rules[i]`` as the VJP of traced primitive ``fun`` for its argument ``i``.

    ``None`` marks an argument that has no gradient (e.g. an integer axis).
    """
    VJPS[fun] = rules


def unbroadcast(gradient, shape, where="gradient"):
    """Sum ``gradient`` over the axes that broadcasting added or stretched, giving ``shape``.

    If ``x`` of shape ``(3, 1)`` met ``y`` of shape ``(4,)``, the result had shape
    ``(3, 4)``; the gradient with respect to ``x`` is the ``(3, 4)`` gradient summed over
    axis 1 (stretched from 1) with the axis kept. Leading axes that ``x`` lacked are
    summed away. A gradient that cannot come from broadcasting ``shape`` is an error.
    """
    gradient = np.asarray(gradient)
    shape = tuple(shape)
    if gradient.shape == shape:
        return gradient
    extra_axes = gradient.ndim - len(shape)
    if extra_axes >= 0:
        reduced = np.sum(gradient, axis=tuple(range(extra_axes)))
        stretched = tuple(axis for axis, size in enumerate(shape) if size == 1 and reduced.shape[axis] != 1)
        reduced = np.sum(reduced, axis=stretched, keepdims=True)
        if reduced.shape == shape:
            return reduced
    raise ValueError(f"{where}: a gradient of shape {gradient.shape} cannot belong to an argument of "
                     f"shape {shape} (it must have the argument's shape or a broadcast of it)")


def parent_gradients(node, g):
    """Gradients with respect to ``node.parents`` (in that order), given ``g`` = dL/d node.value."""
    name = node.fun.__name__
    rules = VJPS.get(node.fun)
    if rules is None:
        raise NotImplementedError(f"no VJP registered for primitive {name!r}: add one with defvjp")
    gradients = []
    for argnum in node.parent_argnums:
        rule = rules[argnum] if argnum < len(rules) else None
        if rule is None:
            raise NotImplementedError(f"primitive {name!r} has no VJP for its argument {argnum}")
        gradient = rule(g, node.value, *node.args, **node.kwargs)
        gradients.append(unbroadcast(gradient, np.shape(node.args[argnum]),
                                     f"VJP of {name} for argument {argnum}"))
    return gradients


# ---- Exercise rules: each body is one of the student's exercises. -------------------

def multiply_vjp_x(g, ans, x, y):
    """``ans = x * y`` element-wise: dL/dx."""
    ### BEGIN SOLUTION (Exercise A.1: VJP of multiply)
    return g * y
    ### END SOLUTION


def multiply_vjp_y(g, ans, x, y):
    """``ans = x * y`` element-wise: dL/dy."""
    ### BEGIN SOLUTION (Exercise A.1: VJP of multiply)
    return g * x
    ### END SOLUTION


def divide_vjp_x(g, ans, x, y):
    """``ans = x / y`` element-wise: dL/dx."""
    ### BEGIN SOLUTION (Exercise A.2: VJP of divide)
    return g / y
    ### END SOLUTION


def divide_vjp_y(g, ans, x, y):
    """``ans = x / y`` element-wise: dL/dy (hint: d(x/y)/dy = -x/y^2 = -ans/y)."""
    ### BEGIN SOLUTION (Exercise A.2: VJP of divide)
    return -g * ans / y
    ### END SOLUTION


def exp_vjp(g, ans, x):
    """``ans = exp(x)``: dL/dx (reuse ``ans`` rather than recomputing exp)."""
    ### BEGIN SOLUTION (Exercise A.3: VJPs of exp and log)
    return g * ans
    ### END SOLUTION


def log_vjp(g, ans, x):
    """``ans = log(x)``: dL/dx."""
    ### BEGIN SOLUTION (Exercise A.3: VJPs of exp and log)
    return g / x
    ### END SOLUTION


def tanh_vjp(g, ans, x):
    """``ans = tanh(x)``: dL/dx, written with ``ans`` (tanh' = 1 - tanh^2)."""
    ### BEGIN SOLUTION (Exercise A.4: VJP of tanh)
    return g * (1.0 - ans ** 2)
    ### END SOLUTION


def as_matrix_stacks(x, y, g):
    """``x``, ``y`` and ``g`` of ``ans = x @ y`` as stacks of matrices.

    A 1-D ``x`` (k,) becomes a row (1, k), a 1-D ``y`` (k,) a column (k, 1), and ``g``
    gets the matching length-1 axis, so that ``g`` is ``(..., n, m)`` for ``x``
    ``(..., n, k)`` and ``y`` ``(..., k, m)``. :func:`from_matrix_stack` undoes it.
    """
    x, y, g = np.asarray(x), np.asarray(y), np.asarray(g)
    if y.ndim == 1:
        y, g = y[:, np.newaxis], np.expand_dims(g, -1)
    if x.ndim == 1:
        x, g = x[np.newaxis, :], np.expand_dims(g, -2)
    return x, y, g


def from_matrix_stack(gradient, operand, vector_axis):
    """Drop the axis :func:`as_matrix_stacks` added to a 1-D ``operand`` (leading batch
    axes are summed later by ``unbroadcast``)."""
    return np.squeeze(gradient, vector_axis) if np.ndim(operand) == 1 else gradient


def matmul_vjp_x(g, ans, x, y):
    """``ans = x @ y``: dL/dx. With matrices ``x (n, k)``, ``y (k, m)``, ``g (n, m)``,
    the answer is ``(n, k)``; swap the last two axes to transpose a stack of matrices."""
    x_stack, y_stack, g_stack = as_matrix_stacks(x, y, g)
    ### BEGIN SOLUTION (Exercise A.5: VJP of matmul)
    gradient = g_stack @ np.swapaxes(y_stack, -1, -2)
    ### END SOLUTION
    return from_matrix_stack(gradient, x, -2)


def matmul_vjp_y(g, ans, x, y):
    """``ans = x @ y``: dL/dy, shape ``(k, m)`` for matrices (see :func:`matmul_vjp_x`)."""
    x_stack, y_stack, g_stack = as_matrix_stacks(x, y, g)
    ### BEGIN SOLUTION (Exercise A.5: VJP of matmul)
    gradient = np.swapaxes(x_stack, -1, -2) @ g_stack
    ### END SOLUTION
    return from_matrix_stack(gradient, y, -1)


# ---- Given rules. ------------------------------------------------------------------

def power_vjp_base(g, ans, x, y):
    """``ans = x ** y``: dL/dx = g * y * x^(y-1)."""
    return g * y * np.power(x, np.subtract(y, 1))


def power_vjp_exponent(g, ans, x, y):
    """``ans = x ** y``: dL/dy = g * ans * log(x); taken as 0 where x == 0 (as torch does)."""
    return g * ans * np.log(np.where(np.equal(x, 0), 1.0, x))


def sum_vjp(g, ans, x, axis=None, keepdims=False, **unused):
    """``ans = sum(x, axis)``: every summed entry receives the gradient of its sum."""
    if axis is not None and not keepdims:
        g = np.expand_dims(g, axis)
    return np.broadcast_to(g, np.shape(x))


def transpose_vjp(g, ans, x, axes=None):
    """``ans = transpose(x, axes)``: undo the permutation (``None`` reverses all axes)."""
    return np.transpose(g, None if axes is None else np.argsort(axes))


def _checked_dot(rule):
    """``np.dot`` agrees with ``np.matmul`` for 1-D and 2-D operands: reuse its rules there."""
    def dot_rule(g, ans, x, y):
        if not 1 <= np.ndim(x) <= 2 or not 1 <= np.ndim(y) <= 2:
            raise NotImplementedError(f"VJP of dot is defined for 1-D and 2-D operands, got shapes "
                                      f"{np.shape(x)} and {np.shape(y)}: use multiply or matmul")
        return rule(g, ans, x, y)
    return dot_rule


defvjp(anp.negative, lambda g, ans, x: -g)
defvjp(anp.add, lambda g, ans, x, y: g, lambda g, ans, x, y: g)
defvjp(anp.subtract, lambda g, ans, x, y: g, lambda g, ans, x, y: -g)
defvjp(anp.multiply, multiply_vjp_x, multiply_vjp_y)
defvjp(anp.divide, divide_vjp_x, divide_vjp_y)
defvjp(anp.power, power_vjp_base, power_vjp_exponent)
defvjp(anp.exp, exp_vjp)
defvjp(anp.log, log_vjp)
defvjp(anp.tanh, tanh_vjp)
defvjp(anp.sum, sum_vjp)
defvjp(anp.matmul, matmul_vjp_x, matmul_vjp_y)
defvjp(anp.transpose, transpose_vjp)
defvjp(anp.dot, _checked_dot(matmul_vjp_x), _checked_dot(matmul_vjp_y))
