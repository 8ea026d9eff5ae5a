"""The worked example: ``L = (a + 3b) c^2`` at ``a = 2, b = 3, c = 4``.

The graph has two inner nodes, ``q = a + 3b`` and ``r = c^2``, and ``L = q r``.
Forward: ``q = 11``, ``r = 16``, ``L = 176``. Backward: ``dL/dq = r = 16`` and
``dL/dr = q = 11``, hence ``dL/da = 16``, ``dL/db = 3 * 16 = 48`` and
``dL/dc = 11 * 2c = 88``. The same numbers come three ways: by hand through the graph
(exercise W.1), from the mini-autodiff (``labs.autodiff``, exercises A.*) and from torch.
"""
from matplotlib.figure import Figure

WORKED_POINT = {"a": 2.0, "b": 3.0, "c": 4.0}


def worked_example_loss(a, b, c):
    """``(a + 3b) c^2``, written with operators only, so that floats, mini-autodiff Nodes
    and torch tensors all go through the same code."""
    return (a + 3 * b) * c ** 2


def backprop_by_hand(a, b, c):
    """Every value and gradient on the graph, as a dict with keys ``q, r, L`` (forward)
    and ``dL/dq, dL/dr, dL/da, dL/db, dL/dc`` (backward, each a float).

    Each backward step multiplies the gradient arriving at a node's output by the local
    derivative of that node with respect to the input in question.
    """
    q = a + 3 * b
    r = c ** 2
    values = {"q": q, "r": r, "L": q * r}
    ### BEGIN SOLUTION (Exercise W.1: backpropagate by hand through the worked graph)
    dl_dq, dl_dr = r, q  # L = q r
    values.update({"dL/dq": dl_dq, "dL/dr": dl_dr,
                   "dL/da": dl_dq * 1.0, "dL/db": dl_dq * 3.0, "dL/dc": dl_dr * 2.0 * c})
    ### END SOLUTION
    return values


def gradients_by_autodiff(a, b, c):
    """``(dL/da, dL/db, dL/dc)`` from the mini-autodiff's ``grad``."""
    # Imported here: the worked-graph assignment ships this module without the autodiff package.
    from .autodiff import grad

    return tuple(float(g) for g in grad(worked_example_loss, argnum=(0, 1, 2))(a, b, c))


def gradients_by_torch(a, b, c):
    """``(dL/da, dL/db, dL/dc)`` from torch autograd, in float64."""
    # Imported here, not at the top: W.1 is graded where torch cannot be imported, and the module must load there.
    import torch

    leaves = [torch.tensor(float(v), dtype=torch.float64, requires_grad=True) for v in (a, b, c)]
    worked_example_loss(*leaves).backward()
    return tuple(leaf.grad.item() for leaf in leaves)


# Node positions and edges of the drawing: (from, to, key of the forward value, key of the gradient).
_POSITIONS = {"a": (0, 2), "b": (0, 1), "c": (0, 0), "3b": (1, 1), "q": (2, 1.5), "r": (2, 0),
              "L": (3, 0.75), "out": (3.8, 0.75)}
_LABELS = {"a": "a", "b": "b", "c": "c", "3b": "x 3", "q": "+", "r": "^2", "L": "x", "out": ""}
_EDGES = [("a", "q", "a", "dL/da"), ("b", "3b", "b", "dL/db"), ("3b", "q", "3b", "dL/dq"),
          ("c", "r", "c", "dL/dc"), ("q", "L", "q", "dL/dq"), ("r", "L", "r", "dL/dr"),
          ("L", "out", "L", "dL/dL")]


def draw_worked_graph(a, b, c):
    """The graph with each edge's forward value above it (blue) and the gradient of ``L`` with
    respect to that value below it (red), from :func:`backprop_by_hand`; returns the Figure."""
    values = {**backprop_by_hand(a, b, c), "a": a, "b": b, "c": c, "3b": 3 * b, "dL/dL": 1.0}
    figure = Figure(figsize=(8, 4), layout="constrained")
    axis = figure.subplots()
    for start, end, value_key, gradient_key in _EDGES:
        (x0, y0), (x1, y1) = _POSITIONS[start], _POSITIONS[end]
        axis.annotate("", (x1, y1), (x0, y0), arrowprops={"arrowstyle": "->", "shrinkA": 14, "shrinkB": 14})
        middle = ((x0 + x1) / 2, (y0 + y1) / 2)
        axis.annotate(f"{values[value_key]:g}", middle, xytext=(0, 6), textcoords="offset points",
                      color="tab:blue", ha="center")
        axis.annotate(f"{values[gradient_key]:g}", middle, xytext=(0, -14), textcoords="offset points",
                      color="tab:red", ha="center")
    for name, (x, y) in _POSITIONS.items():
        if _LABELS[name]:
            axis.annotate(_LABELS[name], (x, y), ha="center", va="center",
                          bbox={"boxstyle": "circle", "facecolor": "white"})
    axis.set_xlim(-0.4, 4.0)
    axis.set_ylim(-0.5, 2.5)
    axis.set_axis_off()
    axis.set_title("L = (a + 3b) c^2: values (blue) and gradients dL/d(value) (red)")
    return figure
