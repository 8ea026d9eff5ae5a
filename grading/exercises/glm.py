"""Gradient exercise of the GLM lab (exercises G.1 and G.2): ``GLMNetwork.backpropagation``.

The student's gradients come from seeding backpropagation at the natural parameter with
``(y_hat - y) / B``, so they are right only if the inverse links (G.1) and the seed (G.2) are.
The reference rebuilds ``eta`` from the parameters and differentiates PyTorch's own losses,
which agree with the lab's negative log-likelihoods up to constants (hence
``loss_offset_allowed``). This module is everything the grader knows of the GLM lab: the exercise, the
words of its diagnosis, its trusted checks with their cases, and the ``glm`` assignment's scored test cells,
all in the one ``GradientExercise`` it registers (imported by ``grading/exercises/__init__.py``).
"""
import importlib
from dataclasses import dataclass
from functools import lru_cache, partial
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F

from grading.course.assignments import AssignmentRow
from grading.course.cell_scope import CellScope
from grading.diagnosis.hypotheses import Hypothesis
from grading.diagnosis.vocabulary import Vocabulary
from grading.gradient_check.registry import GradientExercise, register_exercise
from grading.trusted.cases import Call, CallsCase, Case, Returned, case_seed
from grading.trusted.check_spec import TrustedCheck, calls_shapes, compare_close, gradient_judge
from grading.trusted.student_side import probe_function_calls, probe_model_session

NAME = "glm_natural_parameter"

GLM_VOCABULARY = Vocabulary(
    code="the inverse links and the seed",
    sign="the seed at the natural parameter is (y_hat - y) / B, not (y - y_hat) / B",
    output_start="the seed at the natural parameter, (y_hat - y) / B with y_hat the inverse link of eta",
    fix_mean="the seed (y_hat - y) / B divides by B once",
    shapes="the seed has the shape of eta (B, out), and y must be reshaped to match it",
    top_layer_wrong=("The output layer's {what} gradient is already wrong: check the inverse link (y_hat = exp(eta) "
                     "for Poisson, eta itself for Gaussian, softmax for categorical) and the seed (y_hat - y) / B."),
    lower_layer_wrong=("{right} right but layer {top} is wrong: the seed is right, the given backward loop is "
                       "not (was it changed?)."),
    unnamed_wrong="The gradient of {labels} is wrong: check the inverse link and the seed (y_hat - y) / B.",
    bias_reduce="sum over the examples",
    weight_layout="the weight gradient has the weight's shape",
    missing_layer="the backward loop never reaches layer {layer}",
    not_finite=("check the inverse link: exp(eta) overflows for very large eta, and log(eta) is NaN where eta <= 0 "
                "(the Poisson's mean is exp(eta), not log(eta))"),
)

def seeded_gradients(context, seed_of):
    """Gradients (spec order: W, b per layer) of backpropagation seeded at ``eta`` with ``seed_of(eta, y)``
    ``(B, out)``: how a wrong inverse link or seed shows in the network's gradients. ``y`` are the targets
    ``(B, out)`` (one-hot for the categorical); ``eta`` is rebuilt from the parameters in float64."""
    leaves = [torch.tensor(np.asarray(p, dtype=np.float64), requires_grad=True) for p in context.parameters]
    model = context.model
    activation = torch.as_tensor(np.asarray(context.input, dtype=np.float64))
    pairs = [leaves[i:i + 2] for i in range(0, len(leaves), 2)]
    for weight, bias in pairs[:-1]:
        activation = torch.relu(activation @ weight.T + bias)
    eta = activation @ pairs[-1][0].T + pairs[-1][1]
    labels = np.asarray(context.output)
    y = (torch.nn.functional.one_hot(torch.as_tensor(labels, dtype=torch.long), eta.shape[1]).to(eta.dtype)
         if model.distribution_name == "categorical" else torch.as_tensor(labels, dtype=eta.dtype).reshape(-1, 1))
    seed = seed_of(eta.detach(), y)
    if seed is None or not torch.all(torch.isfinite(seed)):
        return None
    return [gradient.numpy() for gradient in torch.autograd.grad(eta, leaves, grad_outputs=seed)]


def _with_inverse_link(inverse_link, distributions):
    """The seed ``(inverse_link(eta) - y) / B`` for the listed distributions (None elsewhere)."""
    def predict(context):
        if context.model.distribution_name not in distributions:
            return None
        return seeded_gradients(context, lambda eta, y: (inverse_link(eta) - y) / eta.shape[0])
    return predict


# The inverse link's slope, element-wise (the categorical's diagonal: what a per-logit sigmoid's derivative gives).
LINK_SLOPES = {"poisson": (torch.exp, torch.exp),
               "categorical": (lambda eta: torch.softmax(eta, dim=1),
                               lambda eta: torch.softmax(eta, dim=1) * (1 - torch.softmax(eta, dim=1)))}


def _seed_times_link_slope(context):
    """The seed ``(y_hat - y) * f'(eta) / B``: a squared error's derivative chained through the inverse link ``f``
    (Poisson: exp; categorical: the diagonal y_hat (1 - y_hat))."""
    if context.model.distribution_name not in LINK_SLOPES:
        return None
    mean, slope = LINK_SLOPES[context.model.distribution_name]
    return seeded_gradients(context, lambda eta, y: (mean(eta) - y) * slope(eta) / eta.shape[0])


GLM_HYPOTHESES = (
    Hypothesis("inverse_link", "The gradients are those of the seed (eta - y) / B: the inverse link is missing, "
               "y_hat is eta itself. The mean of a Poisson is y_hat = exp(eta) (the categorical's is softmax(eta, "
               "dim=1); only the Gaussian's is eta).", _with_inverse_link(lambda eta: eta, ("poisson", "categorical"))),
    Hypothesis("inverse_link", "The gradients are those of the seed (log(eta) - y) / B: the link log is used where "
               "its inverse belongs. The mean of a Poisson is y_hat = exp(eta).",
               _with_inverse_link(torch.log, ("poisson",))),
    Hypothesis("inverse_link", "The gradients are those of a softmax over the examples (dim=0): the categorical's "
               "inverse link normalises each example's row of logits on its own, y_hat = softmax(eta, dim=1).",
               _with_inverse_link(lambda eta: torch.softmax(eta, dim=0), ("categorical",))),
    Hypothesis("inverse_link", "The gradients are those of y_hat = sigmoid(eta) for each logit on its own: the "
               "categorical's inverse link is softmax(eta, dim=1), whose rows sum to 1.",
               _with_inverse_link(torch.sigmoid, ("categorical",))),
    Hypothesis("seed_times_link_slope", "The seed is (y_hat - y) times the inverse link's slope (exp(eta) for the "
               "Poisson, y_hat * (1 - y_hat) for the categorical): the derivative of a squared error on y_hat, "
               "chained through the link. For the negative log-likelihood the slope cancels: the seed at eta is "
               "(y_hat - y) / B.", _seed_times_link_slope),
)

GRADED_DISTRIBUTION = "poisson"  # the one `backprop-labs check` builds; the reference knows all three

REFERENCE_LOSSES = {  # distribution -> mean NLL of eta (B, out) and labels (B,), up to a constant
    "gaussian": lambda eta, labels: 0.5 * F.mse_loss(eta[:, 0], labels.to(eta.dtype)),
    "categorical": lambda eta, labels: F.cross_entropy(eta, labels.long()),
    "poisson": lambda eta, labels: F.poisson_nll_loss(eta[:, 0], labels.to(eta.dtype), log_input=True),
}


def glm_reference_loss(model, parameters, batch, ops):
    """Mean NLL of the labels given ``eta``: ReLU hidden layers, then a linear output layer."""
    activation = batch["input"]
    *hidden_layers, (last_weight, last_bias) = parameters
    for (weight, bias), name in zip(hidden_layers, model.hidden_activations):
        activation = ops.activation(name, activation @ weight.T + bias)
    eta = activation @ last_weight.T + last_bias
    return REFERENCE_LOSSES[model.distribution_name](eta, batch["output"])


def build_glm_network(package, data=None):
    """A ``GLMNetwork`` for Poisson labels from ``<package>.glm`` (``labs`` or ``labs_solutions``)."""
    glm = importlib.import_module(f"{package.__name__}.glm")
    return glm.GLMNetwork(GRADED_DISTRIBUTION)


def load_glm_data(data_dir=None):
    """The lab's synthetic inputs (N, 1) and Poisson counts (N,) as a ``train`` split (no file needed)."""
    from backprop_labs.datasets import LabData
    from backprop_labs.datasets.glm_synthetic import synthetic_glm_data

    data = synthetic_glm_data()
    return LabData({"train": (data.inputs, data.labels[GRADED_DISTRIBUTION])}, num_classes=None,
                   name=f"synthetic {GRADED_DISTRIBUTION} labels")


# Trusted checks of the GLM assignment's test cells (cells and scopes in the assignment row below).

GLM_DISTRIBUTIONS = ("gaussian", "categorical", "poisson")
OUTPUT_SIZES = {"gaussian": 1, "categorical": 2, "poisson": 1}
ROUTES = ("negative_log_likelihood", "natural_parameter")
ROUTE_STEPS, ROUTE_LEARNING_RATE, ROUTE_TOLERANCE = 300, 0.05, 1e-6   # as the notebook's test_routes


def _softmax(logits):
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


LINK_INPUT_SHAPES = {"eta_gaussian": (6, 1), "eta_categorical": (6, 2), "eta_poisson": (6, 1),
                     "large_logits": (3, 3), "column": (7, 1)}


def draw_natural_parameters(rng):
    """A batch of ``eta`` per distribution (test_g_1_links), large logits and a column (test_g_1_hidden)."""
    big, tie = rng.uniform(750, 1000), rng.uniform(20, 80)   # exp(big) overflows, as exp(1000) in the notebook
    return {"eta_gaussian": rng.normal(0, 1, (6, 1)), "eta_categorical": rng.normal(0, 2, (6, 2)),
            "eta_poisson": rng.normal(0, 1, (6, 1)),
            "large_logits": np.array([[big, 0.0, -big], [tie, tie, tie], [-big, big / 2, 0.0]]),
            "column": np.sort(rng.uniform(-3, 3, LINK_INPUT_SHAPES["column"]), axis=0)}


def _mean_call(distribution, argument):
    """``<distribution>_mean(<argument>)`` on a float64 tensor; the mean has the argument's shape."""
    return Call(f"{distribution}_mean", (Returned(f"{distribution}_mean({argument})", LINK_INPUT_SHAPES[argument]),),
                (f"@{argument}",), torch=True)


# What each inverse link must give, and the notebook's tolerances (rtol, atol) for it.
LINK_CASES = {
    "links": [("gaussian", "eta_gaussian", lambda eta: eta, 1e-10, 1e-12),
              ("categorical", "eta_categorical", _softmax, 1e-10, 1e-12),
              ("poisson", "eta_poisson", np.exp, 1e-10, 1e-12)],
    "links-large": [("categorical", "large_logits", _softmax, 0.0, 1e-12),
                    ("poisson", "column", np.exp, 1e-12, 0.0),
                    ("gaussian", "column", lambda eta: eta, 0.0, 0.0)],
}


def compare_inverse_links(case, arrays):
    """Each inverse link against the gradient of its log-partition (identity, softmax, exp)."""
    inputs = case.inputs()
    for distribution, argument, mean, rtol, atol in LINK_CASES[case.key]:
        problem = compare_close(arrays[f"{distribution}_mean({argument})"], mean(inputs[argument]),
                                f"{distribution}_mean of {argument.replace('_', ' ')}", rtol, atol)
        if problem:
            return problem
    return None


def draw_glm_data(distribution, rng):
    """The lab's synthetic data (400 examples) from a drawn seed: inputs (N, 1), labels (N,)."""
    from backprop_labs.datasets.glm_synthetic import synthetic_glm_data

    data = synthetic_glm_data(num_examples=400, seed=int(rng.integers(2 ** 31)))
    return {"inputs": data.inputs, "labels": data.labels[distribution]}


def _route_call(distribution, route):
    return Call("train_glm", (Returned(route, (ROUTE_STEPS,), (1,)),), (distribution, "@inputs", "@labels", route),
                (("num_steps", ROUTE_STEPS), ("learning_rate", ROUTE_LEARNING_RATE)))


def solution_route_losses(case):
    """The solution's loss trajectory (explicit-loss route) on the case's data (drawn with the course's secret:
    the cache is keyed by the seed the draw really uses, so two courses never share an entry)."""
    return _solution_route_losses(case, case_seed(case.seed))


@lru_cache(maxsize=8)
def _solution_route_losses(case, drawn_seed):
    train_glm = importlib.import_module("labs_solutions.glm").train_glm
    inputs = case.inputs()
    distribution = case.key.removeprefix("routes-")
    return train_glm(distribution, inputs["inputs"], inputs["labels"], ROUTES[0], num_steps=ROUTE_STEPS,
                     learning_rate=ROUTE_LEARNING_RATE)[1]


def compare_routes(case, arrays):
    """The notebook's test: both routes' trajectories agree to 1e-6; and the explicit-loss route (given
    code) is the solution's, so that agreeing trajectories are real ones."""
    distribution = case.key.removeprefix("routes-")
    difference = float(np.max(np.abs(arrays[ROUTES[0]] - arrays[ROUTES[1]])))
    if not difference < ROUTE_TOLERANCE:
        return f"{distribution}: the two routes' loss trajectories differ by {difference:.2e} (at most {ROUTE_TOLERANCE:g})"
    return compare_close(arrays[ROUTES[0]], solution_route_losses(case),
                         f"{distribution}: the negative-log-likelihood route's losses", 0.0, ROUTE_TOLERANCE)


@dataclass(frozen=True)
class GLMCase(Case):
    """A ``GLMNetwork``: ReLU hidden layers, a linear output ``eta``, labels of ``distribution``
    (drawn from the lab's own synthetic generator, with this case's seed)."""

    distribution: str = "poisson"

    def spec(self):
        return {"key": self.key, "geometry": list(self.geometry), "distribution": self.distribution,
                "model": self.model_spec(self.distribution, torch=True, hidden_sizes=list(self.geometry[1:-1]),
                                         seed=0)}

    def model_configuration(self):
        return SimpleNamespace(hidden_activations=list(self.activations[:-1]), distribution_name=self.distribution)

    def parameters(self):
        """``[[W (out, in), b (1, out)], ...]`` float64: He-scaled normal weights, non-zero biases."""
        rng = np.random.default_rng(case_seed(self.seed))
        return [[rng.normal(0, np.sqrt(2.0 / size_in), (size_out, size_in)), rng.normal(0, 0.5, (1, size_out))]
                for size_in, size_out in zip(self.geometry[:-1], self.geometry[1:])]

    def batch(self):
        """``{'input': (B, 1), 'output': (B,)}``: float labels, or class indices 0/1 for the categorical."""
        from backprop_labs.datasets.glm_synthetic import synthetic_glm_data

        data = synthetic_glm_data(num_examples=self.batch_size, seed=case_seed(self.seed + 1))
        return {"input": data.inputs, "output": data.labels[self.distribution]}


LINKS_CASE, LARGE_LINKS_CASE = (
    CallsCase(key, tuple(_mean_call(distribution, argument) for distribution, argument, *_ in calls),
              draw_natural_parameters, 7101)
    for key, calls in LINK_CASES.items())
POISSON_CASE, GAUSSIAN_CASE, CATEGORICAL_CASE = (
    GLMCase(f"glm-{distribution}", (1, 7, 5, OUTPUT_SIZES[distribution]), ("relu", "relu", "identity"),
            batch_size, seed, distribution)
    for distribution, batch_size, seed in (("poisson", 9, 7201), ("gaussian", 11, 7211), ("categorical", 13, 7221)))

INVERSE_LINKS = TrustedCheck(
    name="glm_inverse_links", title="Exercise G.1: the inverse links",
    exercise=NAME, module="labs.glm", class_name=None, probe=probe_function_calls,
    cases=(LINKS_CASE, LARGE_LINKS_CASE), expected_shapes=calls_shapes, compare=compare_inverse_links)

BACKPROPAGATION = TrustedCheck(
    name="glm_backpropagation", title="Exercises G.1-G.2: GLMNetwork.backpropagation seeded at eta",
    exercise=NAME, module="labs.glm", class_name="GLMNetwork", probe=probe_model_session,
    cases=(POISSON_CASE, GAUSSIAN_CASE, CATEGORICAL_CASE), judge=gradient_judge(NAME))

ROUTES_CHECK = TrustedCheck(
    name="glm_routes", title="Training by both routes (train_glm)",
    exercise=NAME, module="labs.glm", class_name=None, probe=probe_function_calls,
    cases=tuple(CallsCase(f"routes-{distribution}", tuple(_route_call(distribution, route) for route in ROUTES),
                          partial(draw_glm_data, distribution), 7301 + n)
                for n, distribution in enumerate(GLM_DISTRIBUTIONS)),
    expected_shapes=calls_shapes, compare=compare_routes)

register_exercise(GradientExercise(
    name=NAME,
    title="Exercises G.1-G.2: inverse links and the seed (y_hat - y) / B (GLMNetwork.backpropagation)",
    recognizes=lambda model: type(model).__name__ == "GLMNetwork",
    reference_loss=glm_reference_loss,
    model_loss=lambda model, batch: model.loss(batch["input"], batch["output"]),
    output_bias=None,  # a shift of eta changes a Gaussian or Poisson likelihood: no shift probe
    hypotheses=GLM_HYPOTHESES,
    build_model=build_glm_network,
    vocabulary=GLM_VOCABULARY,
    load_data=load_glm_data,
    loss_offset_allowed=True,  # the lab's NLLs keep log(2 pi) / 2 and log(y!)
    trusted=(INVERSE_LINKS, BACKPROPAGATION, ROUTES_CHECK),
    assignment=AssignmentRow(
        "glm", ships=("glm.py", "glm_plot.py", "pytorch_mlp.py"),
        scores={
            INVERSE_LINKS.name: {
                "test_g_1_links": CellScope("each inverse link on a batch of eta", cases=(LINKS_CASE.key,)),
                "test_g_1_hidden": CellScope("large logits and a column of eta", cases=(LARGE_LINKS_CASE.key,)),
            },
            BACKPROPAGATION.name: {
                "test_g_2_grader": CellScope("the Poisson network", cases=(POISSON_CASE.key,)),
                "test_g_2_hidden": CellScope("the Gaussian and categorical networks",
                                             cases=(GAUSSIAN_CASE.key, CATEGORICAL_CASE.key)),
            },
            ROUTES_CHECK.name: {
                "test_routes": CellScope("both routes for every distribution"),
            },
        }),
))

__all__ = ["glm_reference_loss", "build_glm_network", "load_glm_data", "REFERENCE_LOSSES", "GLMCase", "GLM_VOCABULARY"]
