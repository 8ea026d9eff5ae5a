"""The inputs a trusted check feeds to the student's code: parameters and a batch per case.

Drawn at grading time in the trusted process. A case's ``seed`` only names its draw: the values
come from that seed mixed with the course's secret (:func:`case_seed`), a random number that
``course build`` writes into the course folder (:mod:`grading.course.case_secret`, readable by its owner only,
never in ``release/`` nor in the students' wheel). So every course draws its own cases and a table
of answers made from one course, or from the wheel, does not match another's. Biases are
non-zero so that a wrong bias gradient cannot hide behind zeros.
"""
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from types import SimpleNamespace
from typing import Callable, Optional

import numpy as np

from backprop_labs.activations import check_activation_functions
from backprop_labs.utils import glorot_weight_init, logsumexp


_course_secret = None   # the secret of the course being graded; None: the library's fixed draw


@contextmanager
def course_cases(course_dir):
    """Within the block, every case is drawn with ``course_dir``'s secret (the trusted grading of that course)."""
    from grading.course.case_secret import read_course_secret   # here: the students' checker loads no course module

    global _course_secret
    previous, _course_secret = _course_secret, read_course_secret(course_dir)
    try:
        yield
    finally:
        _course_secret = previous


def case_seed(seed):
    """The seed a case's draw ``seed`` really uses: ``seed`` itself outside a course (the library's examples
    and tests), else a number from ``seed`` and the course's secret (see the module's docstring)."""
    if _course_secret is None:
        return seed
    return int(np.random.SeedSequence([_course_secret, seed]).generate_state(1, np.uint64)[0])


@dataclass(frozen=True)
class Case:
    """One call of the student's code: an MLP configuration and a batch size."""

    key: str
    geometry: tuple
    activations: tuple
    batch_size: int
    seed: int
    input_dtype: str = field(default="float64", kw_only=True)   # as the batch of the notebook cells it stands for

    # The model a gradient probe builds learns as the notebooks' do: code that takes a step while computing the
    # gradients (a common mistake) changes the parameters there too, so the judge sees it; and a returned step
    # is -learning_rate times the gradient, which the diagnosis names.
    learning_rate = 0.1

    def spec(self):
        """What the sandbox needs to know besides the arrays (JSON-able)."""
        return {"key": self.key, "geometry": list(self.geometry), "activations": list(self.activations),
                "learning_rate": self.learning_rate}

    def model_configuration(self):
        """What the exercise's ``reference_loss`` and diagnosis read of a model (its ``model`` argument)."""
        return SimpleNamespace(activation_functions=list(self.activations), learning_rate=self.learning_rate)

    def parameters(self):
        """``[[W (out, in), b (1, out)], ...]`` float64 (arrays of their own: the caller may change them)."""
        check_activation_functions(self.geometry, self.activations)
        drawn = _drawn_parameters(case_seed(self.seed), tuple(self.geometry), tuple(self.activations))
        return [[weight.copy(), bias.copy()] for weight, bias in drawn]

    def batch(self):
        """``{'input': (B, I) in ``input_dtype``, 'output': (B,) int64}``; every class appears if B allows (arrays of
        their own: the caller may change them)."""
        drawn = _drawn_batch(case_seed(self.seed + 1), self.batch_size, self.geometry[0], self.geometry[-1],
                             self.input_dtype)
        return {name: array.copy() for name, array in drawn.items()}

    def model_spec(self, *arguments, torch=False, **keywords):
        """How ``student_side.probe_model_session`` builds the student's model for this case: its constructor's
        ``arguments`` and ``keywords`` (JSON values), then its parameters set to this case's arrays (as float64
        tensors that require grad with ``torch``)."""
        return {"arguments": list(arguments), "keywords": keywords, "torch": torch,
                "parameters": [[f"W{n}", f"b{n}"] for n in range(len(self.geometry) - 1)]}

    def arrays(self):
        """The inputs as flat named arrays, ``'<key>.W0'``, ``'<key>.input'``, ... for the npz."""
        named = {}
        for n, (weight, bias) in enumerate(self.parameters()):
            named[f"{self.key}.W{n}"], named[f"{self.key}.b{n}"] = weight, bias
        batch = self.batch()
        named[f"{self.key}.input"], named[f"{self.key}.output"] = batch["input"], batch["output"]
        return named


@dataclass(frozen=True)
class TangentCase(Case):
    """The tangent-plot exercise: an MLP case, one parameter's address and stand-in gradients.

    The gradients are random arrays of the parameters' shapes (every entry differs), so the
    tangent depends only on the student's ``loss_and_tangent``, not on their backpropagation.
    """

    layer_index: int = 0
    is_bias: bool = False
    row: int = 0
    column: int = 0
    function: str = "loss_and_tangent"
    model: tuple = ("labs.numpy_mlp", "NumpyMLP")   # the student's model class the function is called on

    def spec(self):
        from backprop_labs.perturbation import LOSS_RANGE_POINTS

        return {**super().spec(), "function": self.function, "model": list(self.model),
                "layer_index": self.layer_index, "is_bias": self.is_bias, "row": self.row, "column": self.column,
                "points": LOSS_RANGE_POINTS}

    def gradients(self):
        """``[[dW, db], ...]``: random values of the parameters' shapes."""
        rng = np.random.default_rng(case_seed(self.seed + 2))
        return [[rng.normal(size=weight.shape), rng.normal(size=bias.shape)] for weight, bias in self.parameters()]

    def arrays(self):
        named = super().arrays()
        for n, (weight, bias) in enumerate(self.gradients()):
            named[f"{self.key}.gradient.W{n}"], named[f"{self.key}.gradient.b{n}"] = weight, bias
        return named


@dataclass(frozen=True)
class InputGradientCase:
    """Exercise 2.1: softmax probabilities ``(B, K)``, gold classes ``(B,)`` and a weight ``(K, I)``."""

    key: str
    batch_size: int
    num_classes: int
    input_size: int
    seed: int
    function: str = "log_linear_input_gradient"

    def spec(self):
        return {"key": self.key, "function": self.function, "arguments": ["probabilities", "output", "weight"],
                "shape": [self.batch_size, self.input_size]}

    def inputs(self):
        rng = np.random.default_rng(case_seed(self.seed))
        logits = rng.normal(0, 2, (self.batch_size, self.num_classes))
        probabilities = np.exp(logits - logsumexp(logits, axis=1, keepdims=True))
        output = rng.permutation(np.arange(self.batch_size) % self.num_classes).astype(np.int64)
        weight = rng.normal(0, 1, (self.num_classes, self.input_size))
        return probabilities, output, weight

    def arrays(self):
        probabilities, output, weight = self.inputs()
        return {f"{self.key}.probabilities": probabilities, f"{self.key}.output": output,
                f"{self.key}.weight": weight}


def mlp_cases(prefix, seed):
    """MLP cases with layers of every kind, one to three of them, odd sizes so that a transpose shows, and a
    batch size that no layer's width equals (then a flat bias gradient's shape tells which axis was summed)."""
    return (
        Case(f"{prefix}-softmax-only", (5, 3), ("softmax",), 4, seed),
        Case(f"{prefix}-sigmoid", (5, 4, 3), ("sigmoid", "softmax"), 6, seed + 10, input_dtype="float32"),  # books
        Case(f"{prefix}-tanh-relu", (4, 6, 5, 3), ("tanh", "relu", "softmax"), 7, seed + 20),
        Case(f"{prefix}-relu-sigmoid", (6, 5, 4, 2), ("relu", "sigmoid", "softmax"), 9, seed + 30),
    )


# Wide cases: enough parameters (about 100,000 and 65,000) that gradients computed one parameter at a time
# (finite or complex-step differences, one forward pass per parameter) need far more CPU time than a check
# allows, while one forward and one backward pass over them take milliseconds. The batch is large for the
# same reason (each forward pass costs batch x parameters); the arrays the check sends back stay well under
# the sandbox's 16 MiB per result file.
WIDE_INPUT_SIZE = 4999
WIDE_BATCH_SIZE = 32


def wide_mlp_cases(prefix, seed):
    """One wide case per kind of network a NumPy backpropagation test cell scores (the lab's sigmoid network, a
    deep tanh and ReLU one), so that no such cell can be passed without backpropagation (see the comment above)."""
    return (
        Case(f"{prefix}-wide-sigmoid", (WIDE_INPUT_SIZE, 20, 2), ("sigmoid", "softmax"), WIDE_BATCH_SIZE, seed,
             input_dtype="float32"),   # the lab's [I, 20, 2] network on a books-like float32 batch
        Case(f"{prefix}-wide-tanh-relu", (WIDE_INPUT_SIZE, 13, 7, 3), ("tanh", "relu", "softmax"), WIDE_BATCH_SIZE,
             seed + 10),
    )


def tangent_cases(prefix, seed):
    """Weights and biases of both layers of the lab's kind of network (one sigmoid layer, then softmax)."""
    return (
        TangentCase(f"{prefix}-output-weight", (5, 4, 3), ("sigmoid", "softmax"), 6, seed, 1, False, 2, 1),
        TangentCase(f"{prefix}-hidden-bias", (5, 4, 3), ("sigmoid", "softmax"), 6, seed + 10, 0, True, 3),
        TangentCase(f"{prefix}-hidden-weight", (6, 5, 2), ("sigmoid", "softmax"), 5, seed + 20, 0, False, 4, 2),
    )


@dataclass(frozen=True)
class Returned:
    """One value a :class:`Call` gives back: ``name`` in the result, reached by ``path`` (keys or
    indices into what the function returned), of ``shape``; ``shape=None`` keeps it in the sandbox
    for later calls of the case only."""

    name: str
    shape: Optional[tuple] = ()
    path: tuple = ()

    def spec(self):
        return {"name": self.name, "shape": None if self.shape is None else list(self.shape), "path": list(self.path)}


@dataclass(frozen=True)
class Call:
    """One call of a function of the student's module. An argument (positional or keyword) written
    ``"@name"`` is the case's input array ``name`` (or a value kept by an earlier call); ``lab_data(K)``
    is a ``backprop_labs.datasets.LabData`` of K classes made of the case's ``train.*`` and ``test.*`` arrays;
    anything else is passed as it is (JSON values). ``torch``: arrays are passed as float64 tensors."""

    function: str
    returns: tuple
    arguments: tuple = ()
    keywords: tuple = ()       # ((name, value), ...)
    torch: bool = False

    def spec(self):
        return {"function": self.function, "arguments": list(self.arguments), "keywords": dict(self.keywords),
                "returns": [value.spec() for value in self.returns], "torch": self.torch}


def lab_data(num_classes, splits=("train", "test")):
    """The argument of a :class:`Call` that stands for a ``LabData`` of the case's ``<split>.input``
    and ``<split>.output`` arrays."""
    return {"lab_data": {"splits": list(splits), "num_classes": num_classes}}


@dataclass(frozen=True)
class CallsCase:
    """Calls of the student's functions on arrays that ``draw(rng)`` makes from this case's seed
    (``{name: array}``); the check compares what comes back with the solution's results."""

    key: str
    calls: tuple
    draw: Callable
    seed: int

    def spec(self):
        return {"key": self.key, "calls": [call.spec() for call in self.calls]}

    def inputs(self):
        """The drawn arrays (drawn once per process: do not modify them)."""
        return _drawn(self.draw, case_seed(self.seed))

    def arrays(self):
        return {f"{self.key}.{name}": array for name, array in self.inputs().items()}

    def shapes(self):
        """``{name: shape}`` of every value the calls give back."""
        return {value.name: tuple(value.shape) for call in self.calls for value in call.returns
                if value.shape is not None}


@lru_cache(maxsize=32)
def _drawn(draw, seed):
    return draw(np.random.default_rng(seed))


# A case's draws are made once per process (the wide cases' are large, and a judgement asks for them many times);
# Case.parameters and Case.batch hand out copies.
@lru_cache(maxsize=32)
def _drawn_parameters(seed, geometry, activations):
    rng = np.random.default_rng(seed)
    return [[glorot_weight_init((size_out, size_in), activation, rng), rng.normal(0, 0.5, (1, size_out))]
            for size_in, size_out, activation in zip(geometry[:-1], geometry[1:], activations)]


@lru_cache(maxsize=32)
def _drawn_batch(seed, batch_size, input_size, num_classes, input_dtype):
    rng = np.random.default_rng(seed)
    output = rng.permutation(np.arange(batch_size) % num_classes).astype(np.int64)
    input = rng.normal(0, 1, (batch_size, input_size)).astype(input_dtype)
    return {"input": input, "output": output}
