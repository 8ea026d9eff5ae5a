"""One description per gradient exercise, and the registry the grader looks them up in.

This is the grader's floor for what an exercise is: it imports nothing of the grader. The exercises
themselves (``grading/exercises/``, which sit above the trusted checks and the course) are imported
by name on the first lookup, so that loading the judge loads no trusted or course module.

Every lab whose student code returns gradients is graded by the same machinery
(:func:`grading.check_backpropagation`, :func:`grading.tangent_check`, ``backprop-labs check``).
A lab plugs in by describing itself once as a :class:`GradientExercise`:

* ``reference_loss(model, parameters, batch, ops)``: the loss rebuilt in PyTorch from the
  model's parameters, independent of the student's code. ``model`` is only there for its
  configuration (e.g. ``model.activation_functions``); ``parameters`` has the same nesting as
  ``model.parameters`` (e.g. ``[[W, b], ...]``) but holds float64 tensors that require grad;
  ``batch`` is ``{'input': float64 tensor (B, I), 'output': int64 tensor (B,) for class
  indices, float64 otherwise}``. Apply every non-smooth function through ``ops`` (e.g.
  ``ops.activation('relu', z)``) so that the grader can see kinks (see :class:`ReferenceOps`).
  Return a 0-d float64 tensor: the MEAN loss of the batch, the quantity the gradients are of.
* ``recognizes(model)``: whether a model object belongs to this exercise (used when
  ``check_backpropagation`` is called without ``exercise=``).
* optional hooks, with defaults for the ``NumpyMLP`` interface: ``student_gradients``
  (calls ``model.backpropagation(input, output)``), ``model_loss`` (calls
  ``model.cross_entropy_loss``), ``parameter_specs`` (names ``model.parameters`` as
  ``[[W, b], ...]`` per layer), ``output_bias`` (the bias whose uniform shift leaves a softmax
  unchanged; ``None`` for losses that are not shift invariant), ``hypotheses`` (diagnosis
  rules that recompute a typical wrong gradient, see :mod:`grading.diagnosis.hypotheses`),
  ``vocabulary`` (the words the diagnosis uses for this exercise, see :mod:`grading.diagnosis.vocabulary`),
  ``build_model`` (how ``backprop-labs check`` makes a fresh model from a package and a
  data set), ``load_data`` (when the lab needs other data than the classification set
  chosen on the command line) and ``input_weight`` (the weight applied as ``input @ W.T``:
  the reference then skips input features that no example of the batch has, see
  :mod:`grading.gradient_check.input_columns`).

Worked example: a new lab registers its exercise. Say ``labs_solutions/glm.py`` defines
``PoissonRegression`` with ``parameters == [[W, b]]`` (``W`` ``(1, I)``, ``b`` ``(1, 1)``),
``loss(input, output)`` and ``backpropagation(input, output) -> [[dW, db]]``. Describe it in
``grading/exercises/glm.py`` (named after the lab module; never in ``labs_solutions/``, which is
copied to the student package); ``grading/exercises/__init__.py`` imports every module of its folder.
The same ``GradientExercise`` may carry the exercise's trusted checks and its assignment's row (a
whole exercise in three files: docs/authoring.md)::

    import torch
    from grading.gradient_check.registry import GradientExercise, register_exercise

    def poisson_reference_loss(model, parameters, batch, ops):
        [[weight, bias]] = parameters                        # (1, I), (1, 1) float64
        eta = batch["input"] @ weight.T + bias               # natural parameter (B, 1)
        counts = batch["output"].reshape(-1, 1)              # float64 (B, 1)
        return torch.mean(torch.exp(eta) - counts * eta)     # mean NLL up to a constant

    register_exercise(GradientExercise(
        name="glm_poisson",
        title="Exercise 3.2: PoissonRegression.backpropagation",
        recognizes=lambda model: type(model).__name__ == "PoissonRegression",
        reference_loss=poisson_reference_loss,
        model_loss=lambda model, batch: model.loss(batch["input"], batch["output"]),
        output_bias=None,                                    # not a softmax: no shift probe
        loss_offset_allowed=True,                            # the lab's NLL keeps log(y!)
        build_model=lambda package, data: package.PoissonRegression(data.num_features, 0.01),
    ))

The grader then compares the student's ``[[dW, db]]`` with autograd on that loss, runs the
reference-free checks (no accumulation, nothing modified, batch = mean of examples) and writes
the table; ``grading.check_backpropagation(model, X, y)`` finds the exercise by
``recognizes``. The model's own loss is compared with the reference loss (on a few examples)
to make sure both describe the same function; a reference that leaves out a constant such
as ``log(y!)`` sets ``loss_offset_allowed=True``, and the two losses are then shown, not judged.

Parameters that are not ``[[W, b], ...]`` (a dict, one flat list) are named by a custom
``parameter_specs(model) -> [ParameterSpec(path, layer, role, shape), ...]``; ``path`` is the
sequence of indices or keys that reaches the array inside ``model.parameters`` and, identically,
inside the returned gradients.
"""
import importlib
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np
import torch

__all__ = [
    "ParameterSpec", "GradientExercise", "register_exercise", "get_exercise", "find_exercise",
    "registered_exercises", "layer_pair_specs", "last_layer_bias", "first_layer_weight", "read_path",
    "call_backpropagation", "call_cross_entropy_loss", "autograd_gradients", "has_torch_parameters",
    "UnknownExerciseError", "register_trusted_check", "registered_trusted_checks",
]


@dataclass(frozen=True)
class ParameterSpec:
    """Where one parameter array lives and what to call it.

    ``path``: indices/keys reaching the array in ``model.parameters`` (and in the gradients);
    ``layer``: 0-based layer index or ``None``; ``role``: ``'weight'``, ``'bias'`` or any name;
    ``shape``: the parameter's shape, which its gradient must have.
    """

    path: tuple
    layer: Optional[int]
    role: str
    shape: tuple

    @property
    def label(self):
        return self.role if self.layer is None else f"layer {self.layer} {self.role}"

    @property
    def is_bias(self):
        return self.role == "bias"


def read_path(structure, path):
    """The element of nested lists/tuples/dicts reached by following ``path``."""
    for key in path:
        structure = structure[key]
    return structure


def layer_pair_specs(model):
    """Specs for ``model.parameters == [[W, b], ...]``: W ``(out, in)``, b ``(1, out)`` per layer."""
    specs = []
    for layer, pair in enumerate(model.parameters):
        for position, role in enumerate(("weight", "bias")):
            specs.append(ParameterSpec((layer, position), layer, role, tuple(pair[position].shape)))
    return specs


def last_layer_bias(specs):
    """The output layer's bias: adding one constant to it shifts every logit and leaves a softmax unchanged."""
    biases = [spec for spec in specs if spec.is_bias]
    return biases[-1] if biases else None


def first_layer_weight(specs):
    """The weight that multiplies the input in ``[[W, b], ...]`` models: layer 0's ``W`` ``(out, I)``."""
    return next((spec for spec in specs if spec.layer == 0 and spec.role == "weight"), None)


def call_backpropagation(model, batch):
    """Default ``student_gradients``: the NumpyMLP interface."""
    return model.backpropagation(batch["input"], batch["output"])


def autograd_gradients(model, batch):
    """The student's forward pass differentiated by autograd: ``[[dW, db], ...]`` as NumPy arrays.

    A parameter the forward pass never uses gets a zero gradient (the loss does not depend on it).
    """
    flat = [parameter for pair in model.parameters for parameter in pair]
    gradients = torch.autograd.grad(model._loss(batch["input"], batch["output"]), flat, allow_unused=True)
    arrays = [torch.zeros_like(p).numpy() if g is None else g.numpy() for p, g in zip(flat, gradients)]
    return [[arrays[i], arrays[i + 1]] for i in range(0, len(flat), 2)]


def has_torch_parameters(model):
    """``model.parameters`` is ``[[W, b], ...]`` of torch tensors (the PyTorch labs' layout)."""
    parameters = getattr(model, "parameters", None)
    return (isinstance(parameters, (list, tuple)) and len(parameters) > 0
            and all(isinstance(t, torch.Tensor) for pair in parameters for t in pair))


def call_cross_entropy_loss(model, batch):
    """Default ``model_loss``: the NumpyMLP interface."""
    return model.cross_entropy_loss(batch["input"], batch["output"])


@dataclass(frozen=True)
class GradientExercise:
    """Everything the grader needs to know about one gradient exercise (see the module docstring)."""

    name: str
    title: str
    recognizes: Callable[[Any], bool]
    reference_loss: Callable
    student_gradients: Callable = call_backpropagation
    model_loss: Callable = call_cross_entropy_loss
    parameter_specs: Callable = layer_pair_specs
    output_bias: Optional[Callable] = last_layer_bias
    hypotheses: tuple = ()
    # How the diagnosis words its findings for this exercise (grading.diagnosis.vocabulary); None: generic.
    vocabulary: Optional[Any] = None
    build_model: Optional[Callable] = None
    load_data: Optional[Callable] = None
    # True when the exercise is the forward pass itself (PyTorch MLP): a loss that differs from
    # the reference is then the student's error, not a broken set-up.
    grades_forward: bool = False
    # True when reference_loss leaves out a constant of the model's loss: the losses are shown, not judged.
    loss_offset_allowed: bool = False
    # specs -> the spec of the weight applied as ``input @ W.T`` (its columns are the input features),
    # or None: lets the reference skip the features absent from a batch (grading/gradient_check/input_columns.py).
    input_weight: Optional[Callable] = None
    # How the exercise is scored outside the student's kernel: a grading.trusted.check_spec.TrustedCheck, a
    # tuple of them (run in that order), or None when no assignment autogrades it with trusted checks.
    trusted: Optional[Any] = None
    # A module of grading/exercises whose ``record(package)`` (NumPy only, shipped into the sandbox) probes the
    # student's package part by part, and whose ``judge(record)`` (in the grader) names the first wrong part:
    # ``(cause, sentence)`` or None.
    localise_module: str = ""
    # The assignment whose notebook asks for this exercise, when the exercise module declares it (a
    # grading.course.assignments.AssignmentRow: its shipped modules and the test cells its trusted checks score);
    # None: no assignment, or one that a module declares with grading.course.assignments.register_assignment.
    assignment: Optional[Any] = None

    def trusted_checks(self):
        """The exercise's trusted checks as a tuple: none, one or several."""
        if self.trusted is None:
            return ()
        return self.trusted if isinstance(self.trusted, tuple) else (self.trusted,)


class UnknownExerciseError(LookupError):
    """No registered exercise matches a name or a model."""


_REGISTRY = {}  # filled by the modules of grading.exercises as they are imported

EXERCISES_PACKAGE = "grading.exercises"  # imported by name: it sits above every user of this registry
_loading = False


def _load_exercises():
    """Import the course's exercises once, on the first lookup or registration (so that they are tried
    before an exercise registered later); a failed import is retried on the next call."""
    global _loading
    if _loading:
        return
    _loading = True
    try:
        importlib.import_module(EXERCISES_PACKAGE)
    except BaseException:
        _loading = False
        raise


def register_exercise(exercise):
    """Add (or replace, by name) an exercise in the registry; returns it."""
    if not isinstance(exercise, GradientExercise):
        raise TypeError(f"register_exercise expects a GradientExercise, got {type(exercise).__name__}")
    _load_exercises()
    _REGISTRY[exercise.name] = exercise
    return exercise


_TRUSTED_CHECKS = {}  # trusted checks of test cells no gradient exercise covers (given functions, training runs)


def register_trusted_check(check):
    """Add (or replace, by name) a trusted check that is not a gradient exercise's own
    (``GradientExercise.trusted``): e.g. an inverse link, a training run, an accuracy. Returns it."""
    _load_exercises()
    _TRUSTED_CHECKS[check.name] = check
    return check


def registered_trusted_checks():
    """The checks of :func:`register_trusted_check`, in registration order."""
    _load_exercises()
    return dict(_TRUSTED_CHECKS)


def registered_exercises():
    """All registered exercises in registration order, ``{name: GradientExercise}``."""
    _load_exercises()
    return dict(_REGISTRY)


def get_exercise(name):
    """The exercise registered under ``name``."""
    exercises = registered_exercises()
    if name not in exercises:
        raise UnknownExerciseError(f"no gradient exercise named {name!r}; registered: {sorted(exercises)}")
    return exercises[name]


def find_exercise(model):
    """The first registered exercise whose ``recognizes(model)`` is true."""
    for exercise in registered_exercises().values():
        try:
            if exercise.recognizes(model):
                return exercise
        except Exception:  # a recogniser must never break the search for the others
            continue
    raise UnknownExerciseError(
        f"no registered gradient exercise recognises a {type(model).__name__}; pass exercise=<name>, "
        f"one of {sorted(registered_exercises())}"
    )


def is_numpy_parameter_list(model):
    """``model.parameters`` is ``[[W, b], ...]`` of NumPy arrays (the NumPy labs' layout)."""
    parameters = getattr(model, "parameters", None)
    return (isinstance(parameters, (list, tuple)) and len(parameters) > 0
            and all(isinstance(pair, (list, tuple)) and len(pair) == 2
                    and all(isinstance(array, np.ndarray) for array in pair) for pair in parameters))
