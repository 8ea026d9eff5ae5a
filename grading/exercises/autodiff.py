"""Gradient exercise of the mini-autodiff lab (exercises A.1-A.6).

``AutodiffMLP.gradients`` is one ``grad`` call, so it is right only if the student's VJP
rules and ``backward_pass`` are: the grader compares it with autograd on the same MLP loss
as the day-2 NumPy MLP. The module is everything the grader knows of the lab: the exercise, its trusted checks
and the ``autodiff`` assignment's scored test cells, in the one ``GradientExercise`` it registers.
"""
import importlib
from dataclasses import dataclass

import numpy as np
import torch

from grading.course.assignments import AssignmentRow
from grading.course.cell_scope import CellScope
from grading.diagnosis.vocabulary import AUTODIFF
from grading.gradient_check.registry import GradientExercise, register_exercise
from grading.trusted.cases import Case, case_seed
from grading.trusted.check_spec import TrustedCheck, compare_close, gradient_judge
from grading.trusted.student_side import probe_autodiff_grad, probe_autodiff_mlp_gradients, probe_autodiff_vjps
from .autodiff_localise import torch_twin, torch_vjps, vjps_failure
from .numpy_mlp import mlp_reference_loss

NAME = "autodiff_mlp"
HIDDEN_SIZE = 20
LEARNING_RATE = 0.05


def build_autodiff_mlp(package, data):
    """``[I, 20, K]`` tanh network from ``<package>.autodiff`` (``labs`` or ``labs_solutions``)."""
    autodiff = importlib.import_module(f"{package.__name__}.autodiff")
    return autodiff.AutodiffMLP([data.num_features, HIDDEN_SIZE, data.num_classes], ["tanh", "softmax"],
                                LEARNING_RATE)


# Trusted checks of the autodiff assignment's test cells (cells and scopes in the assignment row below).

@dataclass(frozen=True)
class VJPCase:
    """Calls ``(primitive, argument shapes, positive arguments)`` of ``anp`` primitives on Nodes, each
    with an upstream gradient; arguments are normal, or uniform in [0.5, 2] where positive (as the
    notebook's ``assert_vjps_match``), drawn from this case's seed."""

    key: str
    calls: tuple
    seed: int

    def spec(self):
        return {"key": self.key, "calls": [{"primitive": primitive, "num_args": len(shapes)}
                                           for primitive, shapes, _ in self.calls]}

    def inputs(self):
        rng, drawn = np.random.default_rng(case_seed(self.seed)), {}
        for n, (primitive, shapes, positive) in enumerate(self.calls):
            values = [rng.uniform(0.5, 2.0, size=shape) if i in positive else rng.normal(size=shape)
                      for i, shape in enumerate(shapes)]
            drawn.update({f"c{n}.x{i}": np.asarray(value) for i, value in enumerate(values)})
            drawn[f"c{n}.g"] = np.asarray(rng.normal(size=np.shape(getattr(np, primitive)(*values))))
        return drawn

    def arrays(self):
        return {f"{self.key}.{name}": value for name, value in self.inputs().items()}


def vjp_shapes(case):
    return {f"c{n}.vjp{i}": tuple(shape) for n, (_, shapes, _) in enumerate(case.calls) for i, shape in enumerate(shapes)}


def compare_vjps(case, arrays):
    """Each call's VJPs against torch autograd's by the notebook's own rule (``vjps_failure``, which its
    ``assert_vjps_match`` calls)."""
    inputs = case.inputs()
    for n, (primitive, shapes, _) in enumerate(case.calls):
        expected = torch_vjps(torch_twin(primitive), [inputs[f"c{n}.x{i}"] for i in range(len(shapes))],
                              inputs[f"c{n}.g"])
        problem = vjps_failure([arrays[f"c{n}.vjp{i}"] for i in range(len(shapes))], expected, primitive, shapes)
        if problem:
            return problem
    return None


# The graphs of test A.6 and its hidden test, written with the student's anp in the sandbox.
USED_TWICE = "def used_twice(x):\n    return anp.sum(x * x + x)\n"
WORKED_GRAPH = "def worked_graph(a, b, c):\n    return (a + 3 * b) * c ** 2\n"
SHARED = ("def shared(weights, vector):\n    inner = anp.tanh(weights @ vector)\n"
          "    return anp.sum(inner * inner) + anp.sum(anp.exp(inner) / (1.0 + inner * inner)) - anp.sum(inner)\n")
CHAIN_LENGTH, CHAIN_FACTOR = 500, 1.001
CHAIN = (f"def chain(x):\n    for _ in range({CHAIN_LENGTH}):\n        x = x * {CHAIN_FACTOR}\n    return x\n")


@dataclass(frozen=True)
class GradCase:
    """``grad`` of graphs sent as source: ``calls = ((source, function, argnum, argument names), ...)``;
    ``draw(rng)`` gives ``{"c<n>.<argument>": array}``."""

    key: str
    calls: tuple
    draw: object
    seed: int

    def spec(self):
        return {"key": self.key, "calls": [
            {"source": source, "function": function, "argnum": argnum, "arguments": list(names),
             "shapes": [list(shape) for shape in self.gradient_shapes(n)]}
            for n, (source, function, argnum, names) in enumerate(self.calls)]}

    def inputs(self):
        return self.draw(np.random.default_rng(case_seed(self.seed)))

    def arrays(self):
        return {f"{self.key}.{name}": value for name, value in self.inputs().items()}

    def gradient_shapes(self, n):
        _, _, argnum, names = self.calls[n]
        inputs = self.inputs()
        return [np.shape(inputs[f"c{n}.{names[i]}"]) for i in ((argnum,) if isinstance(argnum, int) else argnum)]


def grad_shapes(case):
    return {f"c{n}.grad{i}": tuple(shape) for n in range(len(case.calls))
            for i, shape in enumerate(case.gradient_shapes(n))}


def draw_backward(rng):
    """A vector for ``sum(x * x + x)`` and the worked point (2, 3, 4) of the notebook's test."""
    return {"c0.x": rng.normal(size=3), "c1.a": np.array(2.0), "c1.b": np.array(3.0), "c1.c": np.array(4.0)}


def draw_shared_and_chain(rng):
    return {"c0.weights": rng.normal(size=(4, 3)), "c0.vector": rng.normal(size=3), "c1.x": np.array(rng.uniform(1, 3))}


def _torch_shared(weights, vector):
    inner = torch.tanh(weights @ vector)
    return torch.sum(inner * inner) + torch.sum(torch.exp(inner) / (1.0 + inner * inner)) - torch.sum(inner)


def compare_backward(case, arrays):
    """As test A.6: ``2x + 1`` at rtol 1e-12, and (16, 48, 88) exactly at the worked point."""
    inputs = case.inputs()
    return (compare_close(arrays["c0.grad0"], 2 * inputs["c0.x"] + 1, "gradient of sum(x * x + x), which is 2x + 1",
                          1e-12)
            or compare_close([arrays[f"c1.grad{i}"] for i in range(3)], [16.0, 48.0, 88.0],
                             "(dL/da, dL/db, dL/dc) of the worked graph", 0.0, 0.0))


def compare_shared_and_chain(case, arrays):
    """As the hidden test A.6: the shared subexpressions against torch (rtol 1e-10, atol 1e-12), and
    the chain of products (rtol 1e-10)."""
    inputs = case.inputs()
    tensors = [torch.tensor(inputs[f"c0.{name}"], requires_grad=True) for name in ("weights", "vector")]
    for i, (name, reference) in enumerate(zip(("weights", "vector"),
                                              torch.autograd.grad(_torch_shared(*tensors), tensors))):
        problem = compare_close(arrays[f"c0.grad{i}"], reference.numpy(), f"gradient for {name} against torch",
                                1e-10, 1e-12)
        if problem:
            return problem
    return compare_close(arrays["c1.grad0"], CHAIN_FACTOR ** CHAIN_LENGTH,
                         f"gradient of a chain of {CHAIN_LENGTH} products", 1e-10)


def _compare_graphs(case, arrays):
    return (compare_backward if case.key == BACKWARD_CASE.key else compare_shared_and_chain)(case, arrays)


HIDDEN_VJP_CALLS = (("multiply", ((), (2, 3)), ()), ("divide", ((), (2, 3)), (1,)),
                    ("divide", ((2, 1, 3), (4, 1)), (1,)), ("log", ((5,),), (0,)),
                    ("matmul", ((2, 3, 4), (4, 5)), ()), ("matmul", ((2, 1, 3, 4), (5, 4, 2)), ()),
                    ("matmul", ((4,), (4,)), ()), ("dot", ((3, 4), (4, 2)), ()))

MULTIPLY, DIVIDE, EXP_LOG, TANH, MATMUL, OTHER_SHAPES = (
    VJPCase("multiply", (("multiply", ((3, 4), (3, 4)), ()), ("multiply", ((3, 4), (4,)), ()),
                         ("multiply", ((5, 1), (1, 3)), ())), 4101),
    VJPCase("divide", (("divide", ((3, 4), (3, 4)), (1,)), ("divide", ((3, 4), (3, 1)), (1,))), 4201),
    VJPCase("exp-log", (("exp", ((3, 4),), ()), ("log", ((3, 4),), (0,))), 4301),
    VJPCase("tanh", (("tanh", ((2, 3, 4),), ()),), 4401),
    VJPCase("matmul", (("matmul", ((3, 4), (4, 5)), ()), ("matmul", ((4,), (4, 5)), ()),
                       ("matmul", ((3, 4), (4,)), ())), 4501),
    VJPCase("other-shapes", HIDDEN_VJP_CALLS * 2, 4601))
BACKWARD_CASE = GradCase("backward", ((USED_TWICE, "used_twice", 0, ("x",)),
                                      (WORKED_GRAPH, "worked_graph", (0, 1, 2), ("a", "b", "c"))), draw_backward, 4701)
SHARED_AND_CHAIN_CASE = GradCase("shared-and-chain", ((SHARED, "shared", (0, 1), ("weights", "vector")),
                                                      (CHAIN, "chain", 0, ("x",))), draw_shared_and_chain, 4801)

VJPS = TrustedCheck(
    name="autodiff_vjps", title="Exercises A.1-A.5: the VJP rules",
    exercise=None, module="labs.autodiff", class_name=None, probe=probe_autodiff_vjps,
    cases=(MULTIPLY, DIVIDE, EXP_LOG, TANH, MATMUL, OTHER_SHAPES),
    expected_shapes=vjp_shapes, compare=compare_vjps, torch_allowed=False)

BACKWARD_PASS = TrustedCheck(
    name="autodiff_backward_pass", title="Exercise A.6: backward_pass (through grad)",
    exercise=None, module="labs.autodiff", class_name=None, probe=probe_autodiff_grad,
    cases=(BACKWARD_CASE, SHARED_AND_CHAIN_CASE),
    expected_shapes=grad_shapes, compare=_compare_graphs, torch_allowed=False)

MLP_GRADIENTS = TrustedCheck(
    name="autodiff_mlp_gradients", title="Exercises A.1-A.6: AutodiffMLP.gradients",
    exercise=NAME, module="labs.autodiff", class_name="AutodiffMLP", probe=probe_autodiff_mlp_gradients,
    cases=(Case("autodiff-tanh", (64, 16, 10), ("tanh", "softmax"), 30, 4901),
           Case("autodiff-sigmoid-tanh", (64, 16, 16, 10), ("sigmoid", "tanh", "softmax"), 30, 4911)),
    judge=gradient_judge(NAME), torch_allowed=False)

register_exercise(GradientExercise(
    name=NAME,
    title="Exercises A.1-A.6: mini-autodiff VJPs and backward_pass (AutodiffMLP.gradients)",
    # By class name: an AutodiffMLP has no ``backpropagation``, so the NumPy MLP entry never claims it.
    recognizes=lambda model: type(model).__name__ == "AutodiffMLP",
    reference_loss=mlp_reference_loss,
    student_gradients=lambda model, batch: model.gradients(batch["input"], batch["output"]),
    build_model=build_autodiff_mlp,
    vocabulary=AUTODIFF,
    localise_module="autodiff_localise",   # each VJP rule on its own, then backward_pass on small graphs
    trusted=(VJPS, BACKWARD_PASS, MLP_GRADIENTS),
    assignment=AssignmentRow("autodiff", ships=("autodiff",), scores={
        VJPS.name: {
            "test_a_1_multiply": CellScope("multiply, with and without broadcasting", cases=(MULTIPLY.key,)),
            "test_a_2_divide": CellScope("divide", cases=(DIVIDE.key,)),
            "test_a_3_exp_log": CellScope("exp and log", cases=(EXP_LOG.key,)),
            "test_a_4_tanh": CellScope("tanh", cases=(TANH.key,)),
            "test_a_5_matmul": CellScope("matmul of matrices and vectors", cases=(MATMUL.key,)),
            "test_a_1_5_hidden": CellScope("more shapes", cases=(OTHER_SHAPES.key,)),
        },
        BACKWARD_PASS.name: {
            "test_a_6_backward": CellScope("a node used twice and the worked graph", cases=(BACKWARD_CASE.key,)),
            "test_a_6_hidden": CellScope("shared subexpressions and a long chain",
                                         cases=(SHARED_AND_CHAIN_CASE.key,)),
        },
        MLP_GRADIENTS.name: {"test_a_mlp": CellScope("the two networks")},
    }),
))
