"""Gradient exercise of the forward/reverse-mode lab: backpropagation with the Jacobian
blocks ``A_i, B_i`` (exercise F.3), through ``ProgressiveNetwork.backpropagation``.

The network has weights only (``[[W_1], [W_2], ...]``, no biases) and a softmax output;
the reference is autograd on the mean cross-entropy. The module is everything the grader knows of the lab: the
exercise, its trusted checks and the ``forward_reverse`` assignment's scored test cells, in the one
``GradientExercise`` it registers.
"""
import importlib
from dataclasses import dataclass
from functools import partial
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F

from backprop_labs.utils import glorot_weight_init
from grading.course.assignments import AssignmentRow
from grading.course.cell_scope import CellScope
from grading.diagnosis.hypotheses import Hypothesis
from grading.diagnosis.vocabulary import PROGRESSIVE
from grading.gradient_check.registry import GradientExercise, ParameterSpec, register_exercise
from grading.trusted.cases import Call, CallsCase, Case, Returned, case_seed
from grading.trusted.check_spec import TrustedCheck, calls_shapes, compare_close, gradient_judge
from grading.trusted.student_side import (probe_counted_gradient, probe_function_calls,
                                          probe_progressive_backpropagation)

NAME = "progressive_network"

LEARNING_RATE = 0.05


def progressive_reference_loss(model, parameters, batch, ops):
    """Mean cross-entropy of ``softmax(g_L(... g_1(x)))`` with ``g_i(z) = W_i z`` or ``sigmoid(W_i z)``."""
    activation = batch["input"]
    for kind, [weight] in zip(model.layer_kinds, parameters):
        activation = activation @ weight.T
        if kind == "sigmoid":
            activation = ops.activation("sigmoid", activation)
    return torch.nn.functional.cross_entropy(activation, batch["output"])


def progressive_parameter_specs(model):
    """One weight ``(out, in)`` per layer at ``model.parameters[layer][0]``."""
    return [ParameterSpec((layer, 0), layer, "weight", tuple(weight.shape))
            for layer, [weight] in enumerate(model.parameters)]


def build_multinomial_logistic_regression(package, data):
    """The text's example: one linear layer and a softmax, from ``<package>.forward_reverse``."""
    forward_reverse = importlib.import_module(f"{package.__name__}.forward_reverse")
    return forward_reverse.ProgressiveNetwork([data.num_features, data.num_classes], ["linear"], LEARNING_RATE)


def backward_loop_gradients(context, seed="softmax", pass_down="A"):
    """``[dW_1, ...]`` of the batch's mean cross-entropy by torch autograd (never a NumPy backward loop: none
    ships with the grader), with one step of the backward loop changed: ``seed="skipped"`` sends -y / p into the
    last layer past the softmax's Jacobian (the right seed is p - y); ``pass_down="W"`` passes the gradient
    down through W_i where A_i = diag(sigma') W_i belongs (each W_i's own gradient keeps sigma')."""
    leaves = [torch.tensor(np.asarray(w, dtype=np.float64), requires_grad=True) for w in context.parameters]
    activation = torch.as_tensor(np.asarray(context.input, dtype=np.float64))
    for kind, weight in zip(context.model.layer_kinds, leaves):
        if kind != "sigmoid":
            activation = activation @ weight.T
        elif pass_down == "A":
            activation = torch.sigmoid(activation @ weight.T)
        else:   # the value sigmoid(W_i z); W_i's gradient through sigma', the gradient sent down through W_i alone
            down = activation @ weight.detach().T
            activation = torch.sigmoid(activation.detach() @ weight.T) + down - down.detach()
    labels = torch.as_tensor(np.asarray(context.output), dtype=torch.long)
    if seed == "softmax":
        return [g.numpy() for g in torch.autograd.grad(F.cross_entropy(activation, labels), leaves)]
    onehot = F.one_hot(labels, activation.shape[1]).to(activation.dtype)
    seed_at_logits = -onehot / torch.softmax(activation.detach(), dim=1) / len(labels)
    return [g.numpy() for g in torch.autograd.grad(activation, leaves, grad_outputs=seed_at_logits)]


PROGRESSIVE_HYPOTHESES = (
    Hypothesis("softmax_jacobian_skipped",
               "The backward loop starts from -y / probabilities, the cross-entropy's gradient at the softmax's "
               "output, sent into the last layer past the softmax's Jacobian: start from softmax_jacobian.T @ "
               "(-y / probabilities), which is probabilities - y (the batch's mean then divides by B).",
               partial(backward_loop_gradients, seed="skipped")),
    Hypothesis("weight_for_block",
               "The gradient is passed down through W_i where A_i = diag(sigma'(W_i z_i)) W_i belongs: the sigmoid's "
               "derivative is left out on the way down (each layer's own gradient B_i.T @ p keeps it).",
               partial(backward_loop_gradients, pass_down="W")),
)

# Trusted checks of the forward/reverse assignment's test cells (cells and scopes in the assignment row below).

def _lab():
    return importlib.import_module("labs_solutions.forward_reverse")


TANH_CHAIN = (6, 4, 4, 2)                                   # d, m, L, K of the notebook's tanh chain
LINEAR_CHAINS = ((3, 5, 2, 1), (9, 3, 6, 3), (1, 7, 3, 2))  # the hidden test's sizes
MODES = ("forward", "reverse")
MODE_RTOL, MODE_ATOL = 1e-10, 1e-13


@dataclass(frozen=True)
class ChainCase:
    """One mode's gradient of a chain ``l(g_L(... g_1(x)))`` (the lab's ``make_chain``, this case's
    seed): the layer Jacobians and the loss row go in, the gradient and the count come back."""

    key: str
    sizes: tuple          # d, m, L, K
    activation: str
    mode: str
    seed: int

    def spec(self):
        return {"key": self.key, "function": f"{self.mode}_mode_gradient", "num_jacobians": self.sizes[2]}

    def chain(self):
        """``(weights, z, jacobians, y)`` of the chain, as the solution computes them."""
        weights, x, y = _lab().make_chain(*self.sizes, seed=case_seed(self.seed))
        z, jacobians = _lab().chain_forward(weights, x, activation=self.activation)
        return weights, z, jacobians, y

    def arrays(self):
        _, z, jacobians, y = self.chain()
        return {**{f"{self.key}.J{n}": jacobian for n, jacobian in enumerate(jacobians)},
                f"{self.key}.loss_row": _lab().loss_jacobian(z, y)}


def chain_shapes(case):
    return {"gradient": (case.sizes[0],), "operations": ()}


def compare_counted_gradient(case, arrays):
    """The gradient against the chain's (rtol 1e-10, atol 1e-13) and the count against the formula,
    as the notebook's tests (a cell's scope may keep only one of the two)."""
    _, z, jacobians, y = case.chain()
    if "gradient" in arrays:
        expected = np.linalg.multi_dot([_lab().loss_jacobian(z, y), *jacobians[::-1]])[0]   # J_l J_L ... J_1
        problem = compare_close(arrays["gradient"], expected, f"{case.mode}-mode gradient, sizes {case.sizes}",
                                MODE_RTOL, MODE_ATOL)
        if problem:
            return problem
    if "operations" in arrays:
        formula = getattr(_lab(), f"{case.mode}_mode_operations")(*case.sizes)
        if arrays["operations"] != formula:
            return (f"{case.mode} mode counted {arrays['operations']:g} operations for sizes {case.sizes}, "
                    f"the formula gives {formula}")
    return None


def draw_logistic_examples(rng):
    """As test F.3: three examples ``x (6,)``, one-hot ``y (4,)`` and weights ``W (4, 6)``."""
    return {f"e{n}.{name}": value for n in range(3) for name, value in
            (("W", rng.normal(size=(4, 6))), ("x", rng.normal(size=6)), ("y", np.eye(4)[rng.integers(4)]))}


def compare_closed_form(case, arrays):
    """Each example's gradient against ``(softmax(W x) - y) kron x`` (rtol 1e-12, atol 1e-14)."""
    inputs = case.inputs()
    for n in range(3):
        problem = compare_close(arrays[f"e{n}.gradient"], _lab().multinomial_logistic_gradient(
            inputs[f"e{n}.W"], inputs[f"e{n}.x"], inputs[f"e{n}.y"]), f"the gradient of example {n}", 1e-12, 1e-14)
        if problem:
            return problem
    return None


@dataclass(frozen=True)
class ProgressiveCase(Case):
    """A ``ProgressiveNetwork`` (weights only) on a batch of digits drawn with this case's seed."""

    def spec(self):
        return {"key": self.key, "geometry": list(self.geometry), "layer_kinds": list(self.activations),
                "learning_rate": self.learning_rate}

    def model_configuration(self):
        return SimpleNamespace(layer_kinds=list(self.activations), learning_rate=self.learning_rate)

    def parameters(self):
        rng = np.random.default_rng(case_seed(self.seed))
        return [[glorot_weight_init((size_out, size_in), kind, rng)]
                for size_in, size_out, kind in zip(self.geometry[:-1], self.geometry[1:], self.activations)]

    def batch(self):
        from backprop_labs.datasets import load_digits_data

        features, labels = load_digits_data().splits["train"]
        rows = np.random.default_rng(case_seed(self.seed + 1)).choice(len(labels), self.batch_size, replace=False)
        return {"input": features[rows].astype(np.float64), "output": labels[rows]}

    def arrays(self):
        batch = self.batch()
        return {**{f"{self.key}.W{n}": weight for n, [weight] in enumerate(self.parameters())},
                f"{self.key}.input": batch["input"], f"{self.key}.output": batch["output"]}


TANH_CASES = {mode: ChainCase(f"tanh-{mode}", TANH_CHAIN, "tanh", mode, 5101) for mode in MODES}
LINEAR_CASES = tuple(ChainCase(f"linear-{n}-{mode}", sizes, "linear", mode, 5111 + n)
                     for n, sizes in enumerate(LINEAR_CHAINS) for mode in MODES)
LOGISTIC_CASE = ProgressiveCase("progressive-logistic", (64, 10), ("linear",), 30, 5301)
SIGMOID_CASE = ProgressiveCase("progressive-sigmoid", (64, 12, 8, 10), ("sigmoid", "sigmoid", "linear"), 30, 5311)

MODES_CHECK = TrustedCheck(
    name="forward_reverse_modes", title="Exercises F.1-F.2: forward and reverse mode, counted",
    exercise=None, module="labs.forward_reverse", class_name=None, probe=probe_counted_gradient,
    cases=(*TANH_CASES.values(), *LINEAR_CASES),
    expected_shapes=chain_shapes, compare=compare_counted_gradient, torch_allowed=False)

CLOSED_FORM = TrustedCheck(
    name="forward_reverse_closed_form", title="Exercise F.3: progressive_backprop against the closed form",
    exercise=None, module="labs.forward_reverse", class_name=None, probe=probe_function_calls,
    cases=(CallsCase("closed-form", tuple(
        Call("progressive_backprop", (Returned(f"e{n}.gradient", (24,), (1, 0)),),
             (f"@e{n}.x", f"@e{n}.y", [["linear", f"@e{n}.W"]])) for n in range(3)), draw_logistic_examples, 5201),),
    expected_shapes=calls_shapes, compare=compare_closed_form, torch_allowed=False)

BACKPROPAGATION = TrustedCheck(
    name="progressive_network_backpropagation", title="Exercise F.3: ProgressiveNetwork.backpropagation",
    exercise=NAME, module="labs.forward_reverse", class_name="ProgressiveNetwork",
    probe=probe_progressive_backpropagation, cases=(LOGISTIC_CASE, SIGMOID_CASE),
    judge=gradient_judge(NAME), torch_allowed=False)

register_exercise(GradientExercise(
    name=NAME,
    title="Exercise F.3: backward loop with A_i, B_i (ProgressiveNetwork.backpropagation)",
    recognizes=lambda model: type(model).__name__ == "ProgressiveNetwork",
    reference_loss=progressive_reference_loss,
    parameter_specs=progressive_parameter_specs,
    output_bias=None,  # no bias parameter to shift
    hypotheses=PROGRESSIVE_HYPOTHESES,
    build_model=build_multinomial_logistic_regression,
    vocabulary=PROGRESSIVE,
    trusted=(MODES_CHECK, CLOSED_FORM, BACKPROPAGATION),
    assignment=AssignmentRow("forward_reverse", ships=("forward_reverse",), scores={
        MODES_CHECK.name: {
            "test_f_1_forward": CellScope("forward mode on the tanh chain", cases=(TANH_CASES["forward"].key,),
                                          arrays=("gradient",)),
            "test_f_2_reverse": CellScope("reverse mode on the tanh chain", cases=(TANH_CASES["reverse"].key,),
                                          arrays=("gradient",)),
            "test_f_counts": CellScope("the operations counted on the tanh chain",
                                       cases=tuple(case.key for case in TANH_CASES.values()), arrays=("operations",)),
            "test_f_modes_hidden": CellScope("both modes on linear chains of other sizes",
                                             cases=tuple(case.key for case in LINEAR_CASES)),
        },
        CLOSED_FORM.name: {"test_f_3_closed_form": CellScope("the closed form of multinomial logistic regression")},
        BACKPROPAGATION.name: {
            "test_f_3_grader": CellScope("multinomial logistic regression", cases=(LOGISTIC_CASE.key,)),
            "test_f_3_hidden": CellScope("two sigmoid layers, then a linear one", cases=(SIGMOID_CASE.key,)),
        },
    }),
))
