"""Where a mini-autodiff submission goes wrong, rule by rule: each VJP on its own (with and without
broadcasting, on vectors and stacks of matrices), then ``backward_pass`` on small graphs (a chain, a node used
twice, a diamond, a value reached by paths of different lengths, a deep chain, and the chain once more, which
must give the same answer). The first wrong one is named, with what the difference is, in the lab's words (rules, nodes,
messages). None when every probe is right (the mistake is elsewhere, e.g. in the model).

Two halves, so that the student's code never runs beside PyTorch and the expected values are never
written out as a VJP rule: :func:`record` calls the student's package (NumPy only, nothing of the grader:
the sandbox runs this file beside ``student_side.py``) and returns plain data; :func:`judge` compares that
with PyTorch autograd by the notebook's rule for VJPs (:data:`VJP_TOLERANCE`, the policy's entrywise
closeness), in the grader. :func:`localise` is both in one process.
"""
import numpy as np

VJP_TOLERANCE = 1e-12  # the VJP rule (vjp_failure): largest |difference| from torch's VJPs (float64)
APPROXIMATE = 1e-5     # a rule off by less than this (relative) has the right formula, approximated
EXERCISE = {"multiply": "A.1", "divide": "A.2", "exp": "A.3", "log": "A.3", "tanh": "A.4", "matmul": "A.5"}
# anp primitive -> torch function of the same meaning (``dot`` is matmul for the 1-D and 2-D operands it allows)
TORCH_TWINS = {"multiply": "mul", "divide": "div", "exp": "exp", "log": "log", "tanh": "tanh", "matmul": "matmul",
               "dot": "matmul", "add": "add", "subtract": "sub", "negative": "neg", "sum": "sum"}
# (primitive, argument shapes, arguments that must be positive, keyword arguments): same shapes first, so
# that a rule right without broadcasting and wrong with it is told apart; then a leading axis missing as well
# as one stretched, a matrix times a vector, and stacks of matrices (a rule right only for 2-D operands).
CALLS = (
    ("multiply", ((3, 4), (3, 4)), (), {}), ("multiply", ((3, 4), (4,)), (), {}),
    ("multiply", ((3, 1), (1, 4)), (), {}), ("divide", ((3, 4), (3, 4)), (1,), {}),
    ("divide", ((3, 4), (3, 1)), (1,), {}), ("divide", ((2, 1, 3), (4, 1)), (1,), {}),
    ("exp", ((3, 4),), (), {}), ("log", ((3, 4),), (0,), {}),
    ("tanh", ((3, 4),), (), {}), ("matmul", ((3, 4), (4, 5)), (), {}), ("matmul", ((4,), (4, 5)), (), {}),
    ("matmul", ((3, 4), (4,)), (), {}), ("matmul", ((2, 3, 4), (2, 4, 5)), (), {}),
    ("add", ((3, 4), (1, 4)), (), {}), ("subtract", ((3, 4), (3, 1)), (), {}), ("negative", ((3, 4),), (), {}),
    ("sum", ((3, 4),), (), {"axis": 1, "keepdims": True}), ("sum", ((3, 4),), (), {}),
)


def torch_twin(name, **keywords):
    """The torch function computing what ``anp.<name>(..., **keywords)`` computes."""
    import torch

    function = getattr(torch, TORCH_TWINS[name])
    if name == "sum" and keywords.get("axis") is not None:
        return lambda t: function(t, dim=keywords["axis"], keepdim=bool(keywords.get("keepdims")))
    return function


def torch_vjps(function, values, g):
    """The VJPs of ``function`` (a torch function) at float64 ``values`` for the upstream gradient ``g``."""
    import torch

    tensors = [torch.tensor(np.asarray(value, dtype=float), requires_grad=True) for value in values]
    result = function(*tensors)
    gradients = torch.autograd.grad(result, tensors, torch.tensor(np.asarray(g, dtype=float)).reshape(result.shape),
                                    allow_unused=True)
    return [np.zeros(np.shape(value)) if gradient is None else gradient.detach().numpy()
            for value, gradient in zip(values, gradients)]


def vjp_failure(found, expected, what):
    """The rule for one VJP, in the notebook's test cells A.1-A.5, the official grade and the findings below: the
    argument's shape, and torch's VJP (float64) within :data:`VJP_TOLERANCE` entry by entry; None, or the policy's
    sentence naming ``what``. Judge side only (it reads the policy's closeness)."""
    from grading.policy.closeness import close_failure

    return close_failure(found, expected, what, 0.0, VJP_TOLERANCE)


def vjps_failure(found, expected, primitive, shapes):
    """:func:`vjp_failure` of each VJP ``found`` (what ``parent_gradients`` returned for one traced call of
    ``anp.<primitive>`` on arguments of ``shapes``) against torch's ``expected``, one VJP per argument."""
    what = f"anp.{primitive} with argument shapes {tuple(tuple(shape) for shape in shapes)}"
    if not isinstance(found, (list, tuple)) or len(found) != len(expected):
        count = f"{len(found)}" if isinstance(found, (list, tuple)) else f"a {type(found).__name__}"
        return f"{what}: expected one VJP per argument ({len(expected)}), found {count}"
    for index, (vjp, reference) in enumerate(zip(found, expected)):
        problem = vjp_failure(vjp, reference, f"{what}, the VJP for argument {index}")
        if problem:
            return problem
    return None


def _relative(found, expected):
    """The policy's normwise error (judge side only); infinite for arrays of different shapes."""
    from grading.policy.precision import normwise_error

    if np.shape(found) != np.shape(expected):
        return np.inf
    return normwise_error(found, expected, floor=1e-300)


def _written_as(found, g, named):
    """``"g * x"`` when the rule returned ``g * value`` for one of the call's ``named`` values (``{"g * x": x,
    "g / x": 1 / x, ...}``)."""
    found, g = np.asarray(found, dtype=float), np.asarray(g, dtype=float)
    if found.shape != g.shape:
        return None
    for text, value in named.items():
        if np.shape(value) == g.shape and _relative(found, g * value) < APPROXIMATE:
            return text
    return None


# (primitive, argument) -> what real rules wrote in place of the right local derivative, as (what the rule
# returns and why it is wrong, the factor it multiplies g by, from the call's values and ans).
SLIPS = {
    ("tanh", 0): (("g * (1 - x ** 2): tanh's slope taken at the input x; it is 1 - ans ** 2, with the output "
                   "ans = tanh(x)", lambda values, ans: 1.0 - values[0] ** 2),
                  ("g * (1 + ans ** 2): that is the slope of tan; tanh's is 1 - ans ** 2",
                   lambda values, ans: 1.0 + ans ** 2)),
    ("exp", 0): (("g * exp(ans): exp applied again to the output; ans is exp(x) already, so the VJP is g * ans",
                  lambda values, ans: np.exp(ans)),),
    ("divide", 1): (("-g * ans = -g * x / y: one division by y short; d(x / y)/dy = -x / y ** 2 = -ans / y",
                     lambda values, ans: -ans),),
}


def _slip(found, g, name, index, values, ans):
    """The description of the first of :data:`SLIPS` that ``found`` is (``g`` times its factor), or None."""
    for text, factor in SLIPS.get((name, index), ()):
        slipped = np.broadcast_to(np.asarray(g, dtype=float) * factor(values, ans), np.shape(g))
        if np.shape(found) == np.shape(g) and _relative(found, slipped) < APPROXIMATE:
            return text
    return None


def _character(found, expected, shapes, index, doubled, g, named, slip=None):
    """What the difference is: a shape, how it follows g (``doubled``: the rule's result for 2g), a known
    ``slip`` (:data:`SLIPS`), which of the call's ``named`` values it multiplies g by, an approximation, a
    factor, the sign, an average where a sum belongs, or other values."""
    found, expected = np.asarray(found, dtype=float), np.asarray(expected, dtype=float)
    if found.shape != expected.shape:
        return f"it has shape {found.shape}, the argument is {expected.shape}"
    if doubled is not None and np.array_equal(doubled, found):
        return ("it does not change when g changes: multiply the local derivative by g, the gradient arriving "
                "from the output (a VJP is g times d ans / d argument)")
    if doubled is not None and np.any(found) and _relative(doubled, 4.0 * found) < APPROXIMATE:
        return ("it grows as g squared (doubling g quadruples it): g is multiplied in twice; a VJP is g times the "
                "local derivative d ans / d argument, once")
    if doubled is not None and _relative(doubled, 2.0 * found) >= APPROXIMATE:
        return ("it is not proportional to g: a VJP is g times the local derivative d ans / d argument, and that "
                "derivative is a function of the arguments and ans, not of g")
    error = _relative(found, expected)
    if error < APPROXIMATE:
        return (f"it is off by {error:.1e} (relative): a difference quotient or an approximation, not the exact "
                f"derivative")
    if slip:
        return f"it returns {slip}"
    written = _written_as(found, g, named)
    if written:
        return f"it returns {written}, which is not g times d ans / d argument"
    ratio = float(np.sum(found * expected) / max(np.sum(expected * expected), 1e-300))
    if _relative(found, ratio * expected) < APPROXIMATE:
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


def _drawn_calls():
    """``[(name, values, g, keywords)]`` for :data:`CALLS`, drawn from one seed (both halves draw the same)."""
    rng, drawn = np.random.default_rng(2024), []
    for name, shapes, positive, keywords in CALLS:
        values = [rng.uniform(0.5, 2.0, size=shape) if i in positive else rng.normal(size=shape)
                  for i, shape in enumerate(shapes)]
        drawn.append((name, values, rng.normal(size=np.shape(getattr(np, name)(*values, **keywords))), keywords))
    return drawn


MAX_RECORDED = 400   # entries of one recorded gradient (the probes' are 20 at most); a larger one is sent as its shape


def _plain(gradient):
    """A recorded gradient: its values as nested lists, or ``{"shape": [...]}`` when it is too large to send."""
    array = np.asarray(gradient, dtype=float)
    return array.tolist() if array.size <= MAX_RECORDED else {"shape": list(array.shape)}


def _found(recorded):
    """The array a recorded gradient stands for (a too large one: zeros of its shape, which no check accepts)."""
    if isinstance(recorded, dict):
        return np.zeros(tuple(recorded["shape"]))
    return np.asarray(recorded, dtype=float)


def _describe(error):
    return f"{type(error).__name__}: {error}"[:400]


def _record_vjps(package):
    """Per call of :data:`CALLS`: the student's VJPs for g and for 2g, or the error and which rule raised, and
    which rule changes g or an argument in place."""
    records = []
    for name, values, g, keywords in _drawn_calls():
        def student(upstream):
            end = getattr(package.anp, name)(*[package.Node(value) for value in values], **keywords)
            return [_plain(gradient) for gradient in package.parent_gradients(end, upstream)]

        given = [g.copy(), *[np.copy(value) for value in values]]
        try:
            record = {"found": student(g)}
        except Exception as error:  # noqa: BLE001 - the rule's own exception is the finding
            records.append({"error": _describe(error), "argument": _raising_rule(package, name, values, g, keywords)})
            continue
        if not all(np.array_equal(before, after) for before, after in zip(given, [g, *values])):
            record["changes"] = _changing_rule(package, name, given, keywords)
        try:
            record["doubled"] = student(2.0 * g)
        except Exception:  # noqa: BLE001 - only for a characterisation: the finding stands without it
            record["doubled"] = None
        records.append(record)
    return records


def _vjp_finding(records):
    for (name, values, g, keywords), record in zip(_drawn_calls(), records):
        shapes = [np.shape(value) for value in values]
        where = (f"anp.{name}'s VJP" + (" for argument {index}" if len(shapes) > 1 else "")
                 + f" (arguments of shapes {', '.join(map(str, shapes))}"
                 + (f", {', '.join(f'{k}={v}' for k, v in keywords.items())}" if keywords else "") + ")")
        exercise = f" (Exercise {EXERCISE[name]})" if name in EXERCISE else " (a given rule: was it changed?)"
        if "error" in record:
            return (f"vjp_{name}", f"{where.format(index=record['argument'])} raises {record['error']}"
                                   f"{_raised_on(name, shapes)}{exercise}.")
        if "changes" in record:
            index, what = record["changes"]
            return (f"vjp_{name}", f"{where.format(index=index)} changes {what} in place ({what} *= ..., {what} += "
                                   f"...): the rules called after it, and every other node that received the same "
                                   f"array, then see a changed {what}; compute a new array (g * y, not g *= y)"
                                   f"{exercise}.")
        found = [_found(gradient) for gradient in record["found"]]
        for index, expected in enumerate(torch_vjps(torch_twin(name, **keywords), values, g)):
            if index < len(found) and vjp_failure(found[index], expected, "") is None:
                continue
            if index >= len(found):
                return (f"vjp_{name}", f"{where.format(index=index)} is missing{exercise}.")
            doubled = record.get("doubled")
            doubled = None if doubled is None or index >= len(doubled) else _found(doubled[index])
            ans = getattr(np, name)(*values, **keywords)
            named = {"g * ans": ans, **{f"g * {n}": v for n, v in zip(("x", "y"), values)},
                     "g / ans": 1.0 / ans, **{f"g / {n}": 1.0 / v for n, v in zip(("x", "y"), values)}}
            slip = _slip(found[index], g, name, index, values, ans)
            character = _character(found[index], expected, shapes, index, doubled, g, named, slip)
            return (f"vjp_{name}", f"{where.format(index=index)} is wrong: {character}{exercise}.")
    return None


def _raised_on(name, shapes):
    """What the shapes of a matmul call that raised say, the calls on matrices (earlier in :data:`CALLS`) having
    passed."""
    if name != "matmul":
        return ""
    if any(len(shape) > 2 for shape in shapes):
        return (": the rule works for matrices but not for stacks of matrices; transpose only the last two axes "
                "(np.swapaxes(a, -1, -2): .T and np.transpose reverse every axis) and multiply with @, not np.dot")
    if any(len(shape) == 1 for shape in shapes):
        return (": the rule works for matrices but not with a 1-D operand, which .T leaves as it is; work on "
                "as_matrix_stacks(x, y, g), which makes it a row or a column")
    return ""


def _changing_rule(package, name, given, keywords):
    """``[argument, what]``: the first rule that, called on its own with copies of ``given`` (g, then the
    arguments), changes one of them in place (what: ``"g"``, ``"x"`` or ``"y"``); ``[0, "g"]`` when not told."""
    try:
        rules = package.VJPS[getattr(package.anp, name)]
    except Exception:  # noqa: BLE001 - the table is the student's: where it cannot be read, say argument 0
        return [0, "g"]
    for index, rule in enumerate(rules):
        copies = [np.copy(value) for value in given]
        try:
            if rule is not None:
                rule(copies[0], getattr(np, name)(*given[1:], **keywords), *copies[1:], **keywords)
        except Exception:  # noqa: BLE001 - a rule that raises on its own is not the one asked for here
            continue
        for what, before, after in zip(("g", "x", "y"), given, copies):
            if not np.array_equal(before, after):
                return [index, what]
    return [0, "g"]


def _raising_rule(package, name, values, g, keywords):
    """Which argument's rule raised: the first whose rule, called on its own, raises or returns a shape that
    cannot be summed back to its argument's; 0 when not told."""
    try:
        rules = package.VJPS[getattr(package.anp, name)]
        ans = getattr(np, name)(*values, **keywords)
    except Exception:  # noqa: BLE001 - the table is the student's: where it cannot be read, say argument 0
        return 0
    for index, rule in enumerate(rules):
        try:
            found = None if rule is None else np.shape(rule(g, ans, *values, **keywords))
        except Exception:  # noqa: BLE001 - this is the one
            return index
        if found is not None and index < len(values) and not _sums_back(found, np.shape(values[index])):
            return index   # right to run, but parent_gradients cannot sum its result back to the argument
    return 0


def _sums_back(found, shape):
    """Whether a gradient of shape ``found`` can be summed back to an argument of ``shape`` (the argument
    broadcasts to it), as parent_gradients requires."""
    try:
        return np.broadcast_shapes(found, shape) == tuple(found)
    except ValueError:
        return False


def _graphs(ops):
    """``[(name, function)]``: small graphs, written with ``ops`` (the student's ``anp``, or torch for the
    expected values), whose gradients tell how backward_pass walks."""
    def chain(x):
        return ops.sum(ops.tanh(ops.exp(x * 0.5)))

    def reused(x):
        return ops.sum(x * x + x)

    def diamond(x):
        a = x * 2.0
        return ops.sum(ops.exp(a) * ops.tanh(a))

    def uneven(x):
        a = ops.exp(x * 0.5)
        return ops.sum(ops.tanh(ops.tanh(a)) * a)

    def deep(x):
        y = x
        for _ in range(400):
            y = 0.999 * y
        return ops.sum(y)

    return (("chain", chain), ("reused", reused), ("diamond", diamond), ("uneven", uneven), ("deep", deep),
            ("again", chain))


BACKWARD_PASS = {
    "chain": ("backward_pass gets a plain chain wrong (sum(tanh(exp(x / 2)))): walk toposort(end_node) from the "
              "end and send each node's complete gradient to its parents with parent_gradients"),
    "reused": ("backward_pass loses a message when a node is used twice (sum(x * x + x) should give 2x + 1): ADD "
               "each message a node receives to what it has received so far (not overwrite it, not skip a node "
               "because it was reached before; x * x lists x twice in node.parents, and each use sends its own "
               "message)"),
    "diamond": ("backward_pass sends a node's gradient on before all its messages arrived (a value used by two "
                "nodes that meet again, a diamond): process the nodes in reverse topological order, each once, "
                "when all its messages are in"),
    "uneven": ("backward_pass sends a node's gradient on before all its messages arrived (a value reached by paths "
               "of different lengths, sum(tanh(tanh(a)) * a): a breadth-first walk from the end is not a "
               "topological order): process the nodes in toposort(end_node) order, each once, after all its "
               "children"),
    "deep": ("backward_pass fails on a chain of 400 nodes: walk the topological order in a loop (a recursion "
             "per node runs out of stack), each node once"),
    "again": ("backward_pass gives another answer when grad of the same function is called again (the plain chain "
              "sum(tanh(exp(x / 2))), right the first time): it keeps something from an earlier call, an order "
              "or gradients that belong to an earlier graph; build the order and the received messages from "
              "end_node on every call"),
}
# What a KeyError in the walk means (the probe's graphs are small and right otherwise).
MISSING_ENTRY = ("a node was looked up that has no entry: read a node's gradient only after it has received a "
                 "message, and take the order from toposort(end_node) of this call (an order kept from an earlier "
                 "call names the nodes of another graph)")


def _graph_point():
    return np.random.default_rng(2025).normal(size=(3,)) * 0.5


def _record_graphs(package):
    """Per graph of :func:`_graphs`: the student's ``grad`` at one point, or its error."""
    records = []
    for _, graph in _graphs(package.anp):
        try:
            records.append({"found": _plain(package.grad(graph)(_graph_point()))})
        except Exception as error:  # noqa: BLE001 - the walk's own exception is the finding
            records.append({"error": _describe(error)})
    return records


def _backward_finding(records, close_failure):
    import torch

    graphs = _graphs(torch)
    expected = {name: torch_vjps(graph, [_graph_point()], 1.0)[0] for name, graph in graphs}

    def wrong(name, record):
        return "error" in record or close_failure(_found(record["found"]), expected[name], "", 1e-10,
                                                  VJP_TOLERANCE) is not None

    by_name = {name: record for (name, _), record in zip(graphs, records)}
    if not wrong("chain", by_name["chain"]) and wrong("again", by_name["again"]):
        return ("backward_pass", f"{BACKWARD_PASS['again']} (Exercise A.6).")   # explains what else went wrong
    for (name, graph), record in zip(graphs[:-1], records):
        if "error" in record:
            error = record["error"].split(":")[0]
            meaning = f": {MISSING_ENTRY}" if error == "KeyError" else ""
            return ("backward_pass", f"{BACKWARD_PASS[name]} (it raised {error}{meaning}) (Exercise A.6).")
        found = _found(record["found"])
        if wrong(name, record):
            zeros = " (every gradient came out zero: nodes sent before their children's messages arrived)" \
                if not np.any(found) else ""
            return ("backward_pass", f"{BACKWARD_PASS[name]}{zeros} (Exercise A.6).")
    return None


def record(package):
    """What the student's ``package`` (``labs.autodiff``: ``anp``, ``Node``, ``parent_gradients``, ``VJPS``,
    ``grad``) answers to every probe: plain lists, numbers and strings (JSON), for :func:`judge`."""
    with np.errstate(all="ignore"):
        return {"vjps": _record_vjps(package), "graphs": _record_graphs(package)}


def judge(records):
    """``(cause, sentence)`` naming the first wrong VJP rule or the way ``backward_pass`` goes wrong, from the
    :func:`record` of a package; None when every probe is right. In the grader only (PyTorch, the policy)."""
    from grading.policy.closeness import close_failure

    if len(records["vjps"]) != len(CALLS) or len(records["graphs"]) != len(_graphs(np)):
        return None
    with np.errstate(all="ignore"):
        return _vjp_finding(records["vjps"]) or _backward_finding(records["graphs"], close_failure)


def localise(package):
    """:func:`judge` of :func:`record`, in one process (what the notebook's check does, through its verdict)."""
    return judge(record(package))
