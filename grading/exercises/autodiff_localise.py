"""Where a mini-autodiff submission goes wrong, rule by rule: each VJP on its own (with and without
broadcasting), then ``backward_pass`` on small graphs (a chain, a node used twice, a diamond, a deep
chain). The first wrong one is named, with what the difference is, in the lab's words (rules, nodes,
messages). None when every probe is right (the mistake is elsewhere, e.g. in the model).

NumPy only and nothing of the grader: the sandbox runs this file beside ``student_side.py``
(``localise_autodiff.py``), so the official grade names the same place as the notebook's check.
"""
import numpy as np

STEP = 1e-6            # central differences in float64 on arguments of size ~1: errors ~1e-10
AGREE = 1e-6           # a rule is right when it agrees with the central difference to this (normwise)
EXERCISE = {"multiply": "A.1", "divide": "A.2", "exp": "A.3", "log": "A.3", "tanh": "A.4", "matmul": "A.5"}
# (primitive, argument shapes, arguments that must be positive, keyword arguments): same shapes first, so
# that a rule right without broadcasting and wrong with it is told apart.
CALLS = (
    ("multiply", ((3, 4), (3, 4)), (), {}), ("multiply", ((3, 4), (4,)), (), {}),
    ("multiply", ((3, 1), (1, 4)), (), {}), ("divide", ((3, 4), (3, 4)), (1,), {}),
    ("divide", ((3, 4), (3, 1)), (1,), {}), ("exp", ((3, 4),), (), {}), ("log", ((3, 4),), (0,), {}),
    ("tanh", ((3, 4),), (), {}), ("matmul", ((3, 4), (4, 5)), (), {}), ("matmul", ((4,), (4, 5)), (), {}),
    ("add", ((3, 4), (1, 4)), (), {}), ("subtract", ((3, 4), (3, 1)), (), {}), ("negative", ((3, 4),), (), {}),
    ("sum", ((3, 4),), (), {"axis": 1, "keepdims": True}), ("sum", ((3, 4),), (), {}),
)


def _error(found, expected):
    found, expected = np.asarray(found, dtype=float), np.asarray(expected, dtype=float)
    if found.shape != expected.shape:
        return np.inf
    return float(np.max(np.abs(found - expected), initial=0.0) / max(np.max(np.abs(expected), initial=0.0), 1e-300))


def _numerical_vjp(function, values, g, index):
    """d/d values[index] of sum(g * function(*values)), by central differences."""
    x = np.array(values[index], dtype=float)
    gradient = np.zeros_like(x)
    for position in np.ndindex(x.shape):
        shifted = []
        for sign in (1.0, -1.0):
            moved = x.copy()
            moved[position] += sign * STEP
            arguments = list(values)
            arguments[index] = moved
            shifted.append(np.sum(g * function(*arguments)))
        gradient[position] = (shifted[0] - shifted[1]) / (2 * STEP)
    return gradient


def _character(found, expected, shapes, index):
    """What the difference is: a factor, the sign, an average where a sum belongs, or other values."""
    found, expected = np.asarray(found, dtype=float), np.asarray(expected, dtype=float)
    if found.shape != expected.shape:
        return f"it has shape {found.shape}, the argument is {expected.shape}"
    ratio = float(np.sum(found * expected) / max(np.sum(expected * expected), 1e-300))
    if _error(found, ratio * expected) <= AGREE:
        output = np.broadcast_shapes(*shapes) if len(shapes) > 1 else shapes[0]
        repeated = int(np.prod(output)) // max(int(np.prod(shapes[index])), 1)
        if repeated > 1 and abs(ratio * repeated - 1.0) < 1e-6:
            return (f"it is the broadcast gradient averaged over the {repeated} positions each entry was used in; "
                    f"a gradient is SUMMED over the broadcast axes")
        if abs(ratio + 1.0) < 1e-6:
            return "it has the wrong sign"
        return f"it is {ratio:.4g} times the right one"
    broadcast = tuple(shapes[index]) != tuple(np.broadcast_shapes(*shapes)) if len(shapes) > 1 else False
    return "its values differ" + (" (this argument is broadcast)" if broadcast else "")


def _vjp_finding(package, rng):
    for name, shapes, positive, keywords in CALLS:
        values = [rng.uniform(0.5, 2.0, size=shape) if i in positive else rng.normal(size=shape)
                  for i, shape in enumerate(shapes)]
        numpy_function = getattr(np, name)
        g = rng.normal(size=np.shape(numpy_function(*values, **keywords)))
        where = (f"anp.{name}'s VJP" + (" for argument {index}" if len(shapes) > 1 else "")
                 + f" (arguments of shapes {', '.join(map(str, shapes))}"
                 + (f", {', '.join(f'{k}={v}' for k, v in keywords.items())}" if keywords else "") + ")")
        exercise = f" (Exercise {EXERCISE[name]})" if name in EXERCISE else " (a given rule: was it changed?)"
        try:
            end = getattr(package.anp, name)(*[package.Node(value) for value in values], **keywords)
            found = package.parent_gradients(end, g)
        except Exception as error:  # noqa: BLE001 - the rule's own exception is the finding
            return (f"vjp_{name}", f"{where.format(index=0)} raises {type(error).__name__}: {error}{exercise}.")
        for index in range(len(shapes)):
            expected = _numerical_vjp(lambda *a: numpy_function(*a, **keywords), values, g, index)
            if index >= len(found) or _error(found[index], expected) > AGREE:
                what = "is missing" if index >= len(found) else f"is wrong: {_character(found[index], expected, shapes, index)}"
                return (f"vjp_{name}", f"{where.format(index=index)} {what}{exercise}.")
    return None


def _graphs(ops):
    """``[(name, function)]``: small graphs, written with ``ops`` (the student's ``anp``, or NumPy for the
    expected values), whose gradients tell how backward_pass walks."""
    def chain(x):
        return ops.sum(ops.tanh(ops.exp(x * 0.5)))

    def reused(x):
        return ops.sum(x * x + x)

    def diamond(x):
        a = x * 2.0
        return ops.sum(ops.exp(a) * ops.tanh(a))

    def deep(x):
        y = x
        for _ in range(400):
            y = 0.999 * y
        return ops.sum(y)

    return (("chain", chain), ("reused", reused), ("diamond", diamond), ("deep", deep))


BACKWARD_PASS = {
    "chain": ("backward_pass gets a plain chain wrong (sum(tanh(exp(x / 2)))): walk toposort(end_node) from the "
              "end and send each node's complete gradient to its parents with parent_gradients"),
    "reused": ("backward_pass loses a message when a node is used twice (sum(x * x + x) should give 2x + 1): ADD "
               "each message a node receives to what it has received so far instead of overwriting it"),
    "diamond": ("backward_pass sends a node's gradient on before all its messages arrived (a value used by two "
                "nodes that meet again, a diamond): process the nodes in reverse topological order, each once, "
                "when all its messages are in"),
    "deep": ("backward_pass fails on a chain of 400 nodes: walk the topological order in a loop (a recursion "
             "per node runs out of stack), each node once"),
}


def _backward_finding(package, rng):
    plain = dict(_graphs(np))
    for name, graph in _graphs(package.anp):
        x = rng.normal(size=(3,)) * 0.5
        expected = _numerical_vjp(plain[name], [x], 1.0, 0)
        try:
            found = package.grad(graph)(x)
        except Exception as error:  # noqa: BLE001 - the walk's own exception is the finding
            return ("backward_pass", f"{BACKWARD_PASS[name]} (it raised {type(error).__name__}) (Exercise A.6).")
        if _error(found, expected) > AGREE:
            return ("backward_pass", f"{BACKWARD_PASS[name]} (Exercise A.6).")
    return None


def localise(package):
    """``(cause, sentence)`` naming the first wrong VJP rule or the way ``backward_pass`` goes wrong, from the
    student's ``package`` (``labs.autodiff``: ``anp``, ``Node``, ``parent_gradients``, ``grad``); None when
    every probe is right."""
    rng = np.random.default_rng(2024)
    with np.errstate(all="ignore"):
        return _vjp_finding(package, rng) or _backward_finding(package, rng)
