"""Two scans of the students' wheel for exercise answers (issue 28): its code against the solution regions by
normalised syntax tree (:func:`syntax_leaks`), and its functions called on every exercise's inputs
(:func:`functional_leaks`, run in the students' own environment by ``wheel_leak_probe.py``)."""
import ast
import re
from pathlib import Path

from backprop_labs.paths import REPOSITORY_ROOT
from grading.course.similarity import tokens

WINDOW = 3       # statements per window: a solution region is found by any 3 consecutive statements of it
MIN_TOKENS = 15  # windows shorter than this (``return g * y``: 7 tokens) are left to the functional scan
REGION = re.compile(r"### BEGIN SOLUTION \((Exercise [^:)]+)[^\n]*\n(.*?)### END SOLUTION", re.S)


def _normalised(statement):
    """A statement's token sequence with every name and constant abstracted (the class report's own
    normalisation, :func:`grading.course.similarity.tokens`), and its length."""
    sequence = tuple(tokens(statement))
    return sequence, len(sequence)


def _statement_lists(tree):
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            statements = getattr(node, field, None)
            if isinstance(statements, list) and statements and isinstance(statements[0], ast.stmt):
                yield statements


def _windows(statements, sizes):
    """``{(dump, ...): first line}`` of the windows of ``sizes`` consecutive statements big enough to count."""
    normalised = [_normalised(statement) for statement in statements]
    found = {}
    for size in sizes:
        for start in range(len(statements) - size + 1):
            window = normalised[start:start + size]
            if sum(length for _, length in window) >= MIN_TOKENS:
                found.setdefault(tuple(sequence for sequence, _ in window), statements[start].lineno)
    return found


def _all_windows(root, sizes):
    """``{window: (file, line)}`` over every statement list of the ``.py`` files under ``root``."""
    found = {}
    for path in sorted(Path(root).rglob("*.py")):
        for statements in _statement_lists(ast.parse(path.read_text(encoding="utf-8"))):
            for window, line in _windows(statements, sizes).items():
                found.setdefault(window, (path.relative_to(root).as_posix(), line))
    return found


def solution_windows(root=REPOSITORY_ROOT / "labs_solutions", given=REPOSITORY_ROOT / "labs"):
    """``{window: 'Exercise N (file:line)'}`` for the statements inside the solution regions of ``root``, less
    the windows the student package ``given`` shows anyway (``z = activation @ weight.T + bias`` is given
    NumPy code in ``labs/numpy_mlp.py`` and a line of Exercise 2.4's PyTorch solution)."""
    windows = {}
    for path in sorted(Path(root).rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        regions = [(text.count("\n", 0, m.start(2)) + 1, text.count("\n", 0, m.end(2)), m.group(1))
                   for m in REGION.finditer(text)]
        for statements in _statement_lists(ast.parse(text)):
            for first, last, exercise in regions:
                inside = [s for s in statements if first <= s.lineno and s.end_lineno <= last]
                # maximal runs of consecutive statements in the region: windows of WINDOW, or the whole run
                for window in _windows(inside, range(1, min(WINDOW, len(inside)) + 1)):
                    windows.setdefault(window, f"{exercise} ({path.relative_to(root.parent)}:{first})")
    shown = _all_windows(given, range(1, WINDOW + 1))
    return {window: where for window, where in windows.items() if window not in shown}


def syntax_leaks(root, solutions=None):
    """``[(file, line, what)]``: windows of the ``.py`` files under ``root`` equal to a solution region's."""
    solutions = solution_windows() if solutions is None else solutions
    found = _all_windows(root, sorted({len(window) for window in solutions}))
    return sorted((*found[window], what) for window, what in solutions.items() if window in found)


# ---- the functional scan ------------------------------------------------------------------------------
RTOL, ATOL = 1e-6, 1e-9   # an answer computed another way (central differences, float64 rounding) still counts
PROBE = Path(__file__).with_name("wheel_leak_probe.py")


def answer_probes(seed=0):
    """``[{'exercise', 'arguments': [tuple, ...], 'answers': [array, ...]}]``: each exercise's inputs, as the
    ways a function may take them (positional, one dict, a context), and the solution's answer on them."""
    import types

    import numpy as np
    import torch

    from labs_solutions import NumpyLogLinear, NumpyMLP, advertising, glm, worked_graph
    from labs_solutions.autodiff import vjps

    rng = np.random.default_rng(seed)
    probes = []

    # 2.2 and the 2.1 model: NumpyMLP.backpropagation / NumpyLogLinear.backpropagation
    for geometry, activations in (((5, 4, 3), ["sigmoid", "softmax"]), ((4, 6, 5, 3), ["tanh", "relu", "softmax"])):
        model = NumpyMLP(list(geometry), activations, learning_rate=0.1, seed=seed)
        for layer in model.parameters:
            layer[1][...] = rng.normal(0, 0.5, layer[1].shape)
        x, y = rng.normal(size=(7, geometry[0])), np.arange(7) % geometry[-1]
        flat = [array for layer in model.parameters for array in layer]
        context = types.SimpleNamespace(model=types.SimpleNamespace(activation_functions=activations),
                                        specs=[], parameters=flat, input=x, output=y, reference=[0 * a for a in flat])
        probes.append({"exercise": "2.2", "answers": [a for pair in model.backpropagation(x, y) for a in pair],
                       "arguments": [(context,), (model.parameters, x, y), (flat, x, y), (x, y, model.parameters)]})
    log_linear = NumpyLogLinear(5, 3, learning_rate=0.1, seed=seed)
    log_linear.bias[...] = rng.normal(size=log_linear.bias.shape)
    x, y = rng.normal(size=(6, 5)), np.arange(6) % 3
    [[weight_gradient, bias_gradient]] = log_linear.backpropagation(x, y)
    probes.append({"exercise": "2.1 (model)", "answers": [weight_gradient, bias_gradient],
                   "arguments": [(log_linear.parameters, x, y), (x, y, log_linear.parameters)]})

    # 2.1, the answer cell: gradient of the mean loss with respect to the input, from P (B, K), y (B,), W (K, I)
    logits = torch.tensor(rng.normal(size=(6, 3)))
    probabilities, weight = torch.softmax(logits, 1).numpy(), rng.normal(size=(3, 5))
    at_zero = torch.zeros((6, 5), dtype=torch.float64, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(logits + at_zero @ torch.tensor(weight).T, torch.tensor(y))
    probes.append({"exercise": "2.1 (answer cell)", "answers": [torch.autograd.grad(loss, at_zero)[0].numpy()],
                   "arguments": [(probabilities, y, weight), ({"probabilities": probabilities, "output": y,
                                                              "weight": weight},)]})

    # R.1: mean_squared_error_gradient(design (N, P), coefficients (P,), target (N,))
    features, target, coefficients = rng.normal(size=(9, 3)), rng.normal(size=9), rng.normal(size=4)
    design = advertising.design_matrix(features)
    probes.append({"exercise": "R.1", "answers": [advertising.mean_squared_error_gradient(design, coefficients, target)],
                   "arguments": [(design, coefficients, target), (features, coefficients, target),
                                 ({"features": features, "target": target, "coefficients": coefficients},)]})

    # G.2: natural_parameter_seed(y_hat (B, out), targets (B, out))
    y_hat, targets = rng.uniform(0.1, 0.9, size=(8, 2)), rng.uniform(0, 1, size=(8, 2))
    probes.append({"exercise": "G.2", "answers": [glm.natural_parameter_seed(y_hat, targets)],
                   "arguments": [(y_hat, targets)]})

    # A.1-A.5: each VJP rule(g, ans, x[, y]); also as (primitive, [arguments], g, argument index)
    for primitive, shapes, rules in ((np.multiply, ((3, 4), (3, 4)), (vjps.multiply_vjp_x, vjps.multiply_vjp_y)),
                                     (np.divide, ((3, 4), (3, 4)), (vjps.divide_vjp_x, vjps.divide_vjp_y)),
                                     (np.exp, ((3, 4),), (vjps.exp_vjp,)), (np.log, ((3, 4),), (vjps.log_vjp,)),
                                     (np.tanh, ((3, 4),), (vjps.tanh_vjp,)),
                                     (np.matmul, ((3, 4), (4, 5)), (vjps.matmul_vjp_x, vjps.matmul_vjp_y))):
        values = [rng.uniform(0.5, 2.0, size=shape) for shape in shapes]
        answer = primitive(*values)
        g = rng.normal(size=np.shape(answer))
        for index, rule in enumerate(rules):
            probes.append({"exercise": f"VJP of {primitive.__name__} for argument {index}",
                           "answers": [rule(g, answer, *values)],
                           "arguments": [(g, answer, *values), (primitive, values, g, index),
                                         (primitive, list(values), g)]})

    # F.1 and F.2: the chain's gradient (d,) from its Jacobians [J_1, ..., J_L] and the loss row (1, K)
    from labs_solutions.forward_reverse import modes

    weights, x_chain, y_chain = modes.make_chain(5, 4, 3, num_outputs=2, seed=seed)
    z_chain, jacobians = modes.chain_forward(weights, x_chain, activation="tanh")
    loss_row = modes.loss_jacobian(z_chain, y_chain)
    probes.append({"exercise": "F.1/F.2", "answers": [modes.reverse_mode_gradient(jacobians, loss_row)],
                   "arguments": [(jacobians, loss_row), (list(reversed(jacobians)), loss_row)]})

    # W.1: dL/da, dL/db, dL/dc of (a + 3b) c^2 at a point that is not the lab's
    a, b, c = 1.3, -0.7, 2.1
    by_hand = worked_graph.backprop_by_hand(a, b, c)
    probes.append({"exercise": "W.1", "answers": [np.array([by_hand[k] for k in ("dL/da", "dL/db", "dL/dc")])],
                   "arguments": [(a, b, c)]})
    return probes


def functional_leaks(python, site, work, packages=("grading", "backprop_labs", "labs")):
    """``([(function, exercise)], report)``: functions of ``packages`` in ``site`` that return an exercise's answer
    when called by ``python`` (the students' environment) on the exercise's inputs or with their defaults, not by
    way of torch autograd (an answer that disappears when autograd raises: the student has torch anyway).
    ``report``: how many functions and calls, the modules that could not be imported, the autograd answers."""
    import json
    import pickle
    import subprocess

    probes_path = Path(work) / "probes.pickle"
    probes_path.write_bytes(pickle.dumps(answer_probes()))
    completed = subprocess.run([str(python), str(PROBE), str(site), str(probes_path), repr(RTOL), repr(ATOL),
                                ",".join(packages)], stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, cwd=str(work), timeout=600,
                               env={"PATH": "/usr/bin:/bin", "HOME": str(work), "PYTHONPATH": ""})
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    return sorted({(leak["function"], leak["exercise"]) for leak in report["leaks"]}), report
